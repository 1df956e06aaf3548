import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { ilike, sql, type Column, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type pg from 'pg';
import { lockDataDir } from './data-dir-lock.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** The database, whichever driver is behind it. Repositories take this or a transaction. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
/** What a query runs on: the database itself or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  migrate(): Promise<void>;
  /**
   * Follows NOTIFY on `channel`. `onState(true)` once listening, `onState(false)` whenever
   * notifications may have been missed (the connection dropped; it is retried every second).
   * Resolves with a function that stops listening.
   */
  listen(channel: string, onNotify: () => void, onState: (listening: boolean) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * Session advisory locks this process holds while it works on something, so that another process
 * can tell a live holder from a dead one: PostgreSQL releases them when the holder's connection
 * ends, which it does when the process dies. On PostgreSQL they live on one connection of their
 * own per database handle (not one of the pool's: it is held for the process's life). PGlite is
 * opened by one process only, so there the process's own record is the whole truth. Within the
 * process a lock is exclusive too (a session lock would be re-entrant on the shared connection).
 */
export interface SessionLocks {
  /** Takes the lock if nobody holds it: true when taken. */
  tryLock(id: bigint): Promise<boolean>;
  unlock(id: bigint): Promise<void>;
  close(): Promise<void>;
}

const sessionLocksByDb = new WeakMap<object, SessionLocks>();

/** The session locks of the database handle `db` (of `openDatabase`). */
export function sessionLocksOf(db: Db): SessionLocks {
  const locks = sessionLocksByDb.get(db);
  if (!locks) throw new Error('not a database handle of openDatabase');
  return locks;
}

/** Locks held by this process alone: PGlite, which one process opens at a time. */
function processLocks(): SessionLocks {
  const held = new Set<bigint>();
  return {
    async tryLock(id) {
      if (held.has(id)) return false;
      held.add(id);
      return true;
    },
    async unlock(id) {
      held.delete(id);
    },
    async close() {
      held.clear();
    },
  };
}

/**
 * Locks on a PostgreSQL connection of their own, opened at the first lock. If it drops, the
 * server has let its locks go: the locks still in hand are taken again on the next connection,
 * best effort (another process may have taken one meanwhile; what the lock guards must survive
 * that, e.g. by a compare-and-set).
 */
function postgresLocks(Client: typeof pg.Client, url: string): SessionLocks {
  /** Lock → the connection it was taken on. */
  const held = new Map<bigint, pg.Client | null>();
  let connection: Promise<pg.Client> | null = null;
  let closed = false;
  const connect = (): Promise<pg.Client> => {
    if (connection) return connection;
    const attempt = open();
    connection = attempt;
    return attempt;
    async function open(): Promise<pg.Client> {
      const client = new Client({ connectionString: url, application_name: 'licensepool session locks' });
      const lost = () => {
        if (connection === attempt) connection = null;
        client.end().catch(() => {});
      };
      client.on('error', lost);
      client.on('end', lost);
      try {
        await client.connect();
      } catch (err) {
        lost();
        throw err;
      }
      // Locks taken on a connection that dropped: take them again here.
      for (const [id, on] of held) {
        if (on === null || on === client) continue;
        const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [id.toString()])).rows;
        held.set(id, row?.locked ? client : null);
      }
      return client;
    }
  };
  return {
    async tryLock(id) {
      if (closed) throw new Error('the session locks are closed');
      if (held.has(id)) return false;
      // Marked before the round trip, so a second request of this process sees it at once.
      held.set(id, null);
      try {
        const client = await connect();
        const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [id.toString()])).rows;
        if (row?.locked) {
          held.set(id, client);
          return true;
        }
      } catch (err) {
        held.delete(id);
        throw err;
      }
      held.delete(id);
      return false;
    },
    async unlock(id) {
      const client = held.get(id);
      held.delete(id);
      if (client) await client.query('SELECT pg_advisory_unlock($1::bigint)', [id.toString()]).catch(() => {});
    },
    async close() {
      closed = true;
      held.clear();
      const pending = connection;
      connection = null;
      if (pending) await pending.then((c) => c.end(), () => {}).catch(() => {});
    },
  };
}

/** How long a dropped listening connection waits before it connects again. */
const RELISTEN_MS = 1000;

function listenOnPostgres(Client: typeof pg.Client, url: string, channel: string, onNotify: () => void, onState: (listening: boolean) => void) {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async () => {
    retry = null;
    if (stopped) return;
    const c = new Client({ connectionString: url });
    client = c;
    const lost = () => {
      if (client !== c) return;
      client = null;
      onState(false);
      c.end().catch(() => {});
      if (!stopped) retry = setTimeout(() => void connect(), RELISTEN_MS);
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      if (client === c && !stopped) onState(true);
    } catch {
      lost();
    }
  };
  return {
    start: connect,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      onState(false);
      await c?.end().catch(() => {});
    },
  };
}

const MIGRATIONS = fileURLToPath(new URL('./migrations', import.meta.url));
/** Serializes migrations across processes starting at once against one PostgreSQL. */
const MIGRATION_LOCK = 4_172_023_001;

export type DatabaseOptions =
  | { driver: 'postgres'; url: string; poolSize?: number }
  | { driver: 'pglite'; dataDir?: string | undefined };

/**
 * Opens the embedded PGlite database (a directory, or memory when `dataDir` is absent) or a
 * PostgreSQL server. PGlite runs one transaction at a time: its `transaction()` holds an
 * exclusive lock that every other query waits for, so concurrent requests never interleave
 * inside a transaction. A directory is opened by one process at a time: another process's
 * opening throws DataDirLockedError (data-dir-lock.ts) until this one closes or dies.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.driver === 'postgres') {
    // Loaded here, not at the top: the embedded database's start-up does without them (README, "Start-up").
    const [{ default: pg }, { drizzle: drizzlePg }, { migrate: migratePg }] = await Promise.all([
      import('pg'),
      import('drizzle-orm/node-postgres'),
      import('drizzle-orm/node-postgres/migrator'),
    ]);
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 20 });
    // A pool error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    const db = drizzlePg(pool, { schema }) as unknown as Db;
    const locks = postgresLocks(pg.Client, options.url);
    sessionLocksByDb.set(db, locks);
    return {
      db,
      driver: 'postgres',
      async migrate() {
        const client = await pool.connect();
        try {
          await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
          await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS });
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
          client.release();
        }
      },
      async listen(channel, onNotify, onState) {
        const listener = listenOnPostgres(pg.Client, options.url, channel, onNotify, onState);
        await listener.start();
        return listener.stop;
      },
      async close() {
        await locks.close();
        await pool.end();
      },
    };
  }
  let unlock = () => {};
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    // One process per directory (src/db/data-dir-lock.ts): refused here, before PGlite reads a byte.
    unlock = lockDataDir(options.dataDir);
  }
  // pg_trgm (trigram indexes of the license lists' text search) is a contrib extension PGlite
  // must be given when it starts; the migration then creates it as on PostgreSQL.
  // shared_buffers 16 MB instead of 128: PGlite sets up the whole buffer pool at every start
  // (0.5 s of CPU at 128 MB), and a page outside it is one read from the OS's cache away.
  const startParams = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];
  let client: PGlite;
  try {
    client = new PGlite({ ...(options.dataDir ? { dataDir: options.dataDir } : {}), extensions: { pg_trgm }, startParams });
    await client.waitReady;
  } catch (err) {
    unlock();
    throw err;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  sessionLocksByDb.set(db, processLocks());
  return {
    db,
    driver: 'pglite',
    migrate: () => migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS }),
    async listen(channel, onNotify, onState) {
      // One process, one connection: nothing is ever missed while the database is open.
      const unlisten = await client.listen(channel, () => onNotify());
      onState(true);
      return async () => {
        onState(false);
        if (!client.closed) await unlisten();
      };
    },
    async close() {
      try {
        await client.close();
      } finally {
        unlock();
      }
    },
  };
}

/** Rows of a raw SQL statement; both drivers answer with `{ rows }`. */
export async function rowsOf<T>(executor: Executor, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await executor.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** A text[] literal of bound parameters (portable across both drivers' array handling). */
export function textArray(values: readonly string[]): SQL {
  if (values.length === 0) return sql`ARRAY[]::text[]`;
  return sql`ARRAY[${sql.join(values.map((v) => sql`${v}`), sql`, `)}]::text[]`;
}

/** Case-insensitive "contains" on a text column, with LIKE's wildcards in `text` taken literally. */
export function containsText(column: Column, text: string): SQL {
  return ilike(column, `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
}

/**
 * A statement built and named once per database handle, for the queries every request runs
 * (authentication, the claim lookups): Drizzle skips rebuilding the SQL, and PostgreSQL parses
 * and plans a named statement once per connection. Only for statements run on the database
 * handle itself, not inside a transaction.
 */
export function preparedOn<P>(build: (db: Db) => P): (db: Executor) => P {
  const byDb = new WeakMap<object, P>();
  return (db) => {
    let prepared = byDb.get(db);
    if (!prepared) byDb.set(db, (prepared = build(db as Db)));
    return prepared;
  };
}
