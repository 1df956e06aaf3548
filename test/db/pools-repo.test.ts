import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../src/db/client.js';
import { SYSTEM_ACTOR, type Actor } from '../../src/lib/context.js';
import { AppError } from '../../src/lib/errors.js';
import { newId } from '../../src/lib/ids.js';
import { auditEventRow } from '../../src/modules/audit/audit.repo.js';
import { findPool, insertChildPool, type ChildPoolFields } from '../../src/modules/pools/pools.repo.js';
import { changePoolStatus, createPool } from '../../src/modules/pools/pools.service.js';
import { backends, createTestApp, type TestApp } from '../helpers.js';

for (const backend of backends()) {
  describe(`creating child pools in one statement (${backend})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const childFields = (t: TestApp): ChildPoolFields => {
      const now = t.clock.now();
      return { id: newId('pool'), name: 'Child', kind: 'shop', restricted: false, validUntil: null, maxBorrowDays: null, queue: { enabled: false, claimTimeoutSeconds: 300 }, billingAddress: null, createdAt: now, updatedAt: now };
    };
    const eventFor = (fields: ChildPoolFields) =>
      auditEventRow(SYSTEM_ACTOR, t.clock.now(), { action: 'pool.created', entityType: 'pool', entityId: fields.id, poolId: fields.id, after: fields });
    const eventsOf = async (id: string) =>
      (await rowsOf<{ n: number }>(t.deps.db, sql`SELECT count(*)::int AS n FROM audit_events WHERE entity_id = ${id}`))[0]!.n;

    test('a parent closed after it was read gets no child and no audit event', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root', kind: 'vendor', restricted: false });
      const parent = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Parent', kind: 'dealer', parentId: root.id, restricted: false });
      await changePoolStatus(t.deps, SYSTEM_ACTOR, parent.id, 'close');
      const fields = childFields(t);
      assert.equal(await insertChildPool(t.deps.db, parent.id, 'all', fields, eventFor(fields)), undefined);
      assert.equal(await findPool(t.deps.db, fields.id), undefined);
      assert.equal(await eventsOf(fields.id), 0);
    });

    test('a parent outside the caller\'s reach gets no child and no audit event', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root A', kind: 'vendor', restricted: false });
      const other = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root B', kind: 'vendor', restricted: false });
      const fields = childFields(t);
      assert.equal(await insertChildPool(t.deps.db, root.id, [other.id], fields, eventFor(fields)), undefined);
      assert.equal(await findPool(t.deps.db, fields.id), undefined);
      assert.equal(await eventsOf(fields.id), 0);
      assert.ok(await insertChildPool(t.deps.db, root.id, [other.id, root.id], fields, eventFor(fields)));
    });

    test('an open parent gets the child, placed under it, and its audit event with the whole row', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root 2', kind: 'vendor', restricted: false });
      const child = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Child', kind: 'dealer', parentId: root.id, restricted: true, validUntil: '2030-01-01T00:00:00Z' });
      assert.deepEqual([child.rootId, child.parentId, child.path, child.depth, child.status], [root.id, root.id, [root.id, child.id], 1, 'initializing']);
      assert.deepEqual(await findPool(t.deps.db, child.id), child);
      const [event] = await rowsOf<{ action: string; root_id: string; after: Record<string, unknown> }>(
        t.deps.db,
        sql`SELECT action, root_id, after FROM audit_events WHERE entity_id = ${child.id}`,
      );
      assert.equal(event!.action, 'pool.created');
      assert.equal(event!.root_id, root.id);
      assert.deepEqual(event!.after, JSON.parse(JSON.stringify(child)), 'the event holds the pool as stored');
    });

    test('when nothing is added the answer says why: 404 unseen, 403 not allowed', async () => {
      const root = await createPool(t.deps, SYSTEM_ACTOR, { name: 'Root 3', kind: 'vendor', restricted: false });
      const manager: Actor = { principal: { accountId: 'acc_x', superuser: false, bindings: [{ poolId: root.id, role: 'manager' }] }, tokenId: null, requestId: null };
      const stranger: Actor = { principal: { accountId: 'acc_y', superuser: false, bindings: [] }, tokenId: null, requestId: null };
      const codeOf = (p: Promise<unknown>) => p.then(() => 'created', (e) => (e instanceof AppError ? e.code : String(e)));
      assert.equal(await codeOf(createPool(t.deps, manager, { name: 'x', kind: 'x', parentId: root.id, restricted: false })), 'FORBIDDEN');
      assert.equal(await codeOf(createPool(t.deps, stranger, { name: 'x', kind: 'x', parentId: root.id, restricted: false })), 'NOT_FOUND');
    });
  });
}
