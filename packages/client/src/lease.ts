import { LicensepoolError } from './errors.js';
import type { Api } from './http.js';
import type { Claim } from './types.js';

/**
 * How a lease ended:
 * - `released`: checked in (by this handle's `release()`, or by a manager);
 * - `expired`: not renewed in time, as the server saw it;
 * - `revoked`: taken back by the server (the member was removed, a limit dropped below use…);
 * - `lost`: this client could not keep it: no heartbeat got through before it expired, or the
 *   server refused to renew it (`error` says why). The server gives its units back at expiry.
 */
export interface LeaseEnd {
  status: 'released' | 'expired' | 'revoked' | 'lost';
  reason: string | null;
  error?: LicensepoolError;
}

export interface LeaseOptions {
  /** Time between heartbeats; default a third of the lease's `ttlSeconds`. */
  heartbeatIntervalMs?: number;
  /** Called once when the lease ends, however it ends (same value as `lease.ended`). */
  onEnded?: (end: LeaseEnd) => void;
}

/** Reports trouble in background work (a failed heartbeat that will be retried, a dropped event stream). */
export type ErrorReporter = (error: unknown, context: { operation: 'heartbeat' | 'release' | 'ticket-events' | 'cancel' | 'callback'; claimId?: string; ticketId?: string }) => void;

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * A claim this client holds. A lease renews itself with heartbeats until `release()` or until
 * the server says it has ended; an assignment just waits for `release()`.
 */
export class Lease {
  readonly type = 'lease' as const;
  /** Resolves (never rejects) once the lease has ended, with how. */
  readonly ended: Promise<LeaseEnd>;

  #claim: Claim;
  #end: LeaseEnd | null = null;
  #resolveEnded!: (end: LeaseEnd) => void;
  #releasing: Promise<void> | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Local time (ms) by which the server may let the lease expire if no heartbeat gets through. */
  #deadline: number;
  #failures = 0;
  readonly #api: Api;
  readonly #report: ErrorReporter;
  readonly #intervalMs: number;
  readonly #onEnded: ((end: LeaseEnd) => void) | undefined;

  /**
   * @param sentAt local time the request that gave this claim was sent: the server started its
   *   time to live after that, so counting from it never overestimates what is left.
   * @param renewNow heartbeat at once: a lease given back by the server (same fingerprint) may
   *   have little time left, and the server's clock cannot be compared with ours.
   */
  constructor(api: Api, report: ErrorReporter, claim: Claim, sentAt: number, options: LeaseOptions & { renewNow?: boolean } = {}) {
    this.#api = api;
    this.#report = report;
    this.#claim = claim;
    this.#onEnded = options.onEnded;
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    const ttlMs = (claim.ttlSeconds ?? 0) * 1000;
    this.#intervalMs = options.heartbeatIntervalMs ?? ttlMs / 3;
    this.#deadline = sentAt + ttlMs;
    if (claim.kind === 'lease' && claim.ttlSeconds !== null) this.#schedule(options.renewNow ? 0 : this.#intervalMs);
  }

  /** The claim as last answered by the server (refreshed by every heartbeat). */
  get claim(): Claim {
    return this.#claim;
  }

  get id(): string {
    return this.#claim.id;
  }

  /** True until the lease has ended (however it ended). */
  get live(): boolean {
    return this.#end === null;
  }

  /**
   * Checks the claim in (gives its units back) and stops the heartbeats. Idempotent: calling it
   * again returns the same promise. If the check-in cannot reach the server, it rejects and the
   * lease ends `lost` (the server frees the units when the lease expires); calling again retries.
   */
  release(): Promise<void> {
    this.#releasing ??= this.#checkIn();
    return this.#releasing;
  }

  async #checkIn(): Promise<void> {
    this.#stopTimer();
    // Ended by the server already: nothing is left to give back.
    if (this.#end && this.#end.status !== 'lost') return;
    try {
      await this.#api.checkIn(this.#claim.id);
    } catch (error) {
      this.#releasing = null;
      this.#finish({ status: 'lost', reason: 'the check-in did not reach the server', ...(error instanceof LicensepoolError ? { error } : {}) });
      throw error;
    }
    this.#finish({ status: 'released', reason: 'checked in' });
  }

  #schedule(delayMs: number): void {
    this.#stopTimer();
    this.#timer = setTimeout(() => void this.#beat(), delayMs);
    // A held lease does not by itself keep a Node process running (where timers can be unref'd).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #beat(): Promise<void> {
    this.#timer = null;
    if (!this.#canRenew()) return;
    const sentAt = Date.now();
    try {
      const claim = await this.#api.heartbeat(this.#claim.id);
      if (!this.#canRenew()) return;
      this.#claim = claim;
      this.#deadline = sentAt + (claim.ttlSeconds ?? 0) * 1000;
      this.#failures = 0;
      this.#schedule(this.#intervalMs);
    } catch (error) {
      if (!this.#canRenew()) return;
      if (error instanceof LicensepoolError && error.code === 'CLAIM_ENDED') return this.#finish(endedByServer(error));
      this.#report(error, { operation: 'heartbeat', claimId: this.#claim.id });
      // The claim is gone from this member's view: the member was removed from its pool.
      if (error instanceof LicensepoolError && error.code === 'NOT_FOUND') return this.#finish({ status: 'revoked', reason: error.detail, error });
      if (!(error instanceof LicensepoolError) || !error.retryable) {
        return this.#finish({ status: 'lost', reason: 'the server refused to renew the lease', ...(error instanceof LicensepoolError ? { error } : {}) });
      }
      this.#retry(error);
    }
  }

  /** Network trouble: try again, sooner at first, until the lease would have expired. */
  #retry(error: LicensepoolError): void {
    this.#failures += 1;
    const base = Math.min(1000, this.#intervalMs / 4);
    const delay = Math.min(base * 2 ** (this.#failures - 1), this.#intervalMs, MAX_RETRY_DELAY_MS);
    const now = Date.now();
    if (now >= this.#deadline) {
      this.#finish({ status: 'lost', reason: 'no heartbeat reached the server before the lease expired', error });
      return;
    }
    this.#schedule(Math.min(delay, this.#deadline - now));
  }

  #canRenew(): boolean {
    return this.#end === null && this.#releasing === null;
  }

  #finish(end: LeaseEnd): void {
    this.#stopTimer();
    if (this.#end) return;
    this.#end = end;
    this.#resolveEnded(end);
    if (!this.#onEnded) return;
    try {
      this.#onEnded(end);
    } catch (error) {
      this.#report(error, { operation: 'callback', claimId: this.#claim.id });
    }
  }
}

/** A heartbeat's 410 says how the claim ended: `claimStatus` (released, expired, revoked) and `endReason`. */
function endedByServer(error: LicensepoolError): LeaseEnd {
  const reason = typeof error.problem?.endReason === 'string' ? error.problem.endReason : null;
  const status = error.problem?.claimStatus;
  if (status === 'released' || status === 'expired' || status === 'revoked') return { status, reason };
  return { status: 'revoked', reason: reason ?? error.detail };
}
