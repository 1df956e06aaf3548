import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { SYSTEM_ACTOR } from '../../src/lib/context.js';
import { auditEventRow } from '../../src/modules/audit/audit.repo.js';
import { findPool, insertChildPool } from '../../src/modules/pools/pools.repo.js';
import { changePoolStatus, createPool } from '../../src/modules/pools/pools.service.js';
import { backends, createTestApp, type TestApp } from '../helpers.js';

for (const backend of backends()) {
  describe(`insertChildPool (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    test('a parent closed after it was read gets no child and no audit event', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root', kind: 'vendor', restricted: false });
      const parent = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Parent', kind: 'dealer', parentId: root.id, restricted: false });
      // The caller read the parent while it was open; it closes before the write.
      const child = { ...parent, id: 'pool_01m8300000000000000000000x', parentId: parent.id, path: [...parent.path, 'pool_01m8300000000000000000000x'], depth: 2 };
      const event = auditEventRow(SYSTEM_ACTOR, t.clock.now(), { action: 'pool.created', entityType: 'pool', entityId: child.id, poolId: child.id, after: child });
      await changePoolStatus(t.deps, SYSTEM_ACTOR, parent.id, 'close');
      assert.equal(await insertChildPool(t.deps.db, child, event), false);
      assert.equal(await findPool(t.deps.db, child.id), undefined);
      const [events] = await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM audit_events WHERE entity_id = ${child.id}`);
      assert.equal(events!.n, 0);
    });

    test('an open parent gets the child and its audit event, stored as given', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root 2', kind: 'vendor', restricted: false });
      const child = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Child', kind: 'dealer', parentId: root.id, restricted: true, validUntil: '2030-01-01T00:00:00Z' });
      assert.deepEqual(await findPool(t.deps.db, child.id), child);
      const [event] = await rowsOf<{ action: string; after: { name: string; validUntil: string } }>(
        t.deps.db,
        sql`SELECT action, after FROM audit_events WHERE entity_id = ${child.id}`,
      );
      assert.equal(event!.action, 'pool.created');
      assert.deepEqual([event!.after.name, event!.after.validUntil], ['Child', '2030-01-01T00:00:00.000Z']);
    });
  });
}
