/**
 * PGlite is one connection: if two requests' statements interleaved, one would run inside the
 * other's transaction. These tests prove the driver serializes them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import { rowsOf, type Database } from '../../src/db/client.js';
import { rateLimits } from '../../src/db/schema.js';
import { openTestDatabase } from '../helpers.js';

let database: Database;
before(async () => {
  database = await openTestDatabase('pglite');
});
after(() => database.close());

test('concurrent read-modify-write transactions lose no update', async () => {
  const { db } = database;
  await db.insert(rateLimits).values({ key: 'counter', windowStart: new Date(), count: 0 });
  await Promise.all(
    Array.from({ length: 25 }, () =>
      db.transaction(async (tx) => {
        const [row] = await tx.select().from(rateLimits).where(eq(rateLimits.key, 'counter'));
        await sleep(2); // give another request every chance to step in
        await tx.update(rateLimits).set({ count: row!.count + 1 }).where(eq(rateLimits.key, 'counter'));
      }),
    ),
  );
  const [row] = await db.select().from(rateLimits).where(eq(rateLimits.key, 'counter'));
  assert.equal(row!.count, 25);
});

test('a query outside a transaction never runs inside another request\'s open transaction', async () => {
  const { db } = database;
  let seenInside = -1;
  const failing = db
    .transaction(async (tx) => {
      await tx.insert(rateLimits).values({ key: 'uncommitted', windowStart: new Date(), count: 1 });
      await sleep(20);
      throw new Error('roll back');
    })
    .catch(() => 'rolled back');
  await sleep(5); // the transaction is open now
  const outside = rowsOf<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM rate_limits WHERE key = 'uncommitted'`).then((r) => {
    seenInside = r[0]!.n;
  });
  assert.equal(await failing, 'rolled back');
  await outside;
  assert.equal(seenInside, 0, 'the outside query waited for the rollback');
});
