/**
 * Authentications remembered per process, so a request does not pay a database round trip to
 * learn who it is. Exact across processes: a trigger on tokens, role bindings, accounts and pools
 * (migration 0004) notifies `licensepool_auth` when a change commits, and every process drops
 * all it remembers. While the listening connection is down the cache is bypassed, and a lookup
 * that ran while a notification arrived is not kept (the generation check), so nothing revoked
 * is remembered past the notification. Only found tokens are kept; the clock still checks each
 * token's expiry on every use.
 */
import type { Database } from '../../db/client.js';
import type { findLiveTokenBySecretHash } from './auth.repo.js';

type Found = NonNullable<Awaited<ReturnType<typeof findLiveTokenBySecretHash>>>;

export const AUTH_CHANNEL = 'licensepool_auth';
/** A safety net, not the mechanism: entries are dropped on every change notification. */
const ENTRY_TTL_MS = 60_000;
const MAX_ENTRIES = 50_000;

export class AuthCache {
  readonly #entries = new Map<string, { found: Found; at: number }>();
  #generation = 0;
  #listening = false;
  #stop: (() => Promise<void>) | null = null;

  /** Starts following the change notifications of `database`. */
  static async follow(database: Database): Promise<AuthCache> {
    const cache = new AuthCache();
    cache.#stop = await database.listen(AUTH_CHANNEL, () => cache.#invalidate(), (listening) => {
      cache.#listening = listening;
      cache.#invalidate();
    });
    return cache;
  }

  /** What a lookup must hand back to `put`: results read across a change are not kept. */
  get generation(): number {
    return this.#generation;
  }

  get(secretHash: string): Found | undefined {
    if (!this.#listening) return undefined;
    const entry = this.#entries.get(secretHash);
    if (!entry) return undefined;
    if (Date.now() - entry.at > ENTRY_TTL_MS) {
      this.#entries.delete(secretHash);
      return undefined;
    }
    return entry.found;
  }

  put(secretHash: string, found: Found, generation: number): void {
    if (!this.#listening || generation !== this.#generation) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(secretHash, { found, at: Date.now() });
  }

  async stop(): Promise<void> {
    await this.#stop?.();
    this.#stop = null;
  }

  #invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}
