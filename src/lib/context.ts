import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { Principal } from '../domain/access.js';
import type { AuthCache } from '../modules/auth/auth.cache.js';
import type { Clock } from './clock.js';
import type { SecretKeys } from './secret-keys.js';

/** What every service needs: the database and the clock. */
export interface Deps {
  db: Db;
  clock: Clock;
  log: Logger;
  /** Seal and open the private signing keys at rest (LICENSEPOOL_SECRET_KEY, or the embedded database's secret.key). */
  secretKeys: SecretKeys;
  /** Remembered authentications, exact through change notifications; absent: every request asks the database. */
  authCache?: AuthCache | undefined;
}

/** Who is acting, for authorization and the audit trail. */
export interface Actor {
  principal: Principal;
  tokenId: string | null;
  requestId: string | null;
}

/** The actor of work the system does by itself (start-up, sweeps, the CLI). */
export const SYSTEM_ACTOR: Actor = {
  principal: { accountId: 'system', superuser: true, bindings: [] },
  tokenId: null,
  requestId: null,
};
