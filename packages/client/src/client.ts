/**
 * The licensepool client: check out leases that renew themselves, borrow licenses for offline
 * use, wait in a pool's queue. Runs wherever `fetch` does (Node 20, browsers): no Node-only
 * imports; the wire types are its own (types.ts).
 */
import { LicensepoolError, TicketEndedError } from './errors.js';
import { Api, type FetchLike } from './http.js';
import { Lease, type ErrorReporter, type LeaseOptions } from './lease.js';
import { readServerSentEvents } from './sse.js';
import type { BorrowRequest, CheckoutRequest, Claim, Jwks, RefusalReason, SyncRequest, SyncResult, Ticket } from './types.js';
import { LicenseVerificationError, verifyLicense, type SyncLicensePayload } from './verify.js';

export interface ClientOptions {
  /** Where the server is, e.g. `https://licenses.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** A bearer token: an API token (`POST /v1/tokens`) or a session token from login. */
  token: string;
  /** The fetch to use; default the global one. */
  fetch?: FetchLike;
  /**
   * Trouble in background work that no promise can report: a heartbeat that failed and will be
   * retried, an event stream that dropped (the SDK falls back to polling), a callback that threw.
   */
  onError?: ErrorReporter;
}

/** `checkout` with `queue: true` was refused for now and put in line. */
export interface Queued {
  type: 'queued';
  ticket: Ticket;
  /** Why it was not granted now (empty when this client already held this ticket). */
  reasons: RefusalReason[];
}

export interface Borrowed {
  claim: Claim;
  /** A compact JWS (EdDSA, `typ: license+jwt`) to keep and check offline with `verifyLicense`. */
  licenseFile: string;
}

/** One license of a sync, verified: the token to keep and what it says. */
export interface SyncedLicense {
  subject: 'member' | 'device';
  memberId: string;
  device: { serial: string; type: string } | null;
  token: string;
  payload: SyncLicensePayload;
}

export interface Synced {
  /** The server's answer: entitlements, refresh-by, packages. */
  result: SyncResult;
  /** The member's own license first, then one per verified device of its pool; each verified. */
  licenses: SyncedLicense[];
  /** The keys they verified against: keep them to verify the tokens again offline. */
  jwks: Jwks;
}

export interface SyncOptions {
  /** Keys fetched earlier; fetched again when a token names a key they lack (rotation). */
  jwks?: Jwks;
  /** The instant to check the tokens' `exp` against; default now. */
  currentDate?: Date;
}

export interface WaitOptions extends LeaseOptions {
  /** Aborting stops waiting and cancels the ticket; the promise rejects with the abort reason. */
  signal?: AbortSignal;
  /** Called when the ticket's place in line changes (1 = next). */
  onPosition?: (position: number, ticket: Ticket) => void;
  /** How often to read the ticket when the event stream is unavailable; default 2000 ms. */
  pollIntervalMs?: number;
}

export interface Client {
  /**
   * Takes a lease (renewed by heartbeats until released) or an assignment. Throws
   * ClaimRefusedError with every reason when refused; with `queue: true` on a pool whose queue is
   * on, a refusal answers `Queued` instead.
   */
  checkout(request: CheckoutRequest & { queue?: false | undefined }, options?: LeaseOptions): Promise<Lease>;
  checkout(request: CheckoutRequest, options?: LeaseOptions): Promise<Lease | Queued>;
  /** Follows a ticket until it holds units, claims them and answers the lease; rejects with TicketEndedError if it lapses or is cancelled. */
  waitInQueue(ticket: Ticket | string, options?: WaitOptions): Promise<Lease>;
  getTicket(ticketId: string): Promise<Ticket>;
  /** Leaves the queue (idempotent). */
  cancelTicket(ticketId: string): Promise<void>;
  /** Checks out for offline use, with a signed license file. */
  borrow(request: BorrowRequest): Promise<Borrowed>;
  /** Checks a borrowed license in early (idempotent). */
  returnBorrow(claimId: string): Promise<void>;
  /** The public keys that verify license files: keep them to verify offline. */
  fetchJwks(): Promise<Jwks>;
  /**
   * Fetches the member's signed licenses (its own and its pool's verified devices') and its
   * packages, and verifies every token before answering. Throws SyncRefusedError with every
   * reason when the member may not use licenses now (not verified, removed, pool not active…).
   */
  sync(request?: SyncRequest, options?: SyncOptions): Promise<Synced>;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;

export function createClient(options: ClientOptions): Client {
  // Called unbound, the browser's fetch throws "Illegal invocation".
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const api = new Api(options.baseUrl, options.token, fetchImpl);
  const report: ErrorReporter = (error, context) => {
    try {
      options.onError?.(error, context);
    } catch {
      // The reporter is the last resort; its own failure has nowhere left to go.
    }
  };

  const leaseOf = (claim: Claim, sentAt: number, status: number, leaseOptions: LeaseOptions) =>
    new Lease(api, report, claim, sentAt, { ...leaseOptions, renewNow: status === 200 });

  async function checkout(request: CheckoutRequest, leaseOptions: LeaseOptions = {}): Promise<Lease | Queued> {
    const sentAt = Date.now();
    const answer = await api.createClaim({ ...request, kind: request.kind ?? 'lease' });
    if (answer.queued) return { type: 'queued', ticket: answer.ticket, reasons: answer.reasons };
    return leaseOf(answer.claim, sentAt, answer.status, leaseOptions);
  }

  /** Ticket states as they come: from the event stream, or by polling once the stream fails. */
  async function* ticketUpdates(ticketId: string, signal: AbortSignal, pollIntervalMs: number): AsyncGenerator<Ticket> {
    try {
      const res = await api.ticketEvents(ticketId, signal);
      if (!res.body) throw new LicensepoolError('UNEXPECTED_RESPONSE', res.status, 'the ticket event stream has no body');
      for await (const message of readServerSentEvents(res.body)) {
        if (message.event === 'ticket') yield JSON.parse(message.data) as Ticket;
      }
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      // Polling gives the same answers, only later; what polling cannot get past, it throws.
      report(error, { operation: 'ticket-events', ticketId });
    }
    for (;;) {
      try {
        yield await api.getTicket(ticketId, signal);
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!(error instanceof LicensepoolError) || !error.retryable) throw error;
        report(error, { operation: 'ticket-events', ticketId });
      }
      await sleep(pollIntervalMs, signal);
    }
  }

  /** Claims a held ticket; null while it holds nothing yet (the hold raced the event). */
  async function claimTicket(ticketId: string, leaseOptions: LeaseOptions): Promise<Lease | null> {
    const sentAt = Date.now();
    try {
      const answer = await api.claimTicket(ticketId);
      return leaseOf(answer.claim, sentAt, answer.status, leaseOptions);
    } catch (error) {
      if (error instanceof LicensepoolError && error.code === 'TICKET_NOT_HELD') return null;
      if (error instanceof LicensepoolError && error.code === 'TICKET_ENDED') throw new TicketEndedError(await api.getTicket(ticketId), error.problem);
      throw error;
    }
  }

  async function waitInQueue(ticket: Ticket | string, waitOptions: WaitOptions = {}): Promise<Lease> {
    const ticketId = typeof ticket === 'string' ? ticket : ticket.id;
    const { signal, onPosition, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS, ...leaseOptions } = waitOptions;
    signal?.throwIfAborted();
    // Ends the stream (or the polling) once waiting is over, however it ends.
    const following = new AbortController();
    const stopFollowing = () => following.abort(signal?.reason);
    signal?.addEventListener('abort', stopFollowing, { once: true });
    let position: number | null = null;
    const see = (t: Ticket) => {
      if (t.status !== 'waiting' || t.position === null || t.position === position) return;
      position = t.position;
      try {
        onPosition?.(t.position, t);
      } catch (error) {
        report(error, { operation: 'callback', ticketId });
      }
    };
    try {
      if (typeof ticket !== 'string') see(ticket);
      for await (const update of ticketUpdates(ticketId, following.signal, pollIntervalMs)) {
        see(update);
        if (update.status === 'lapsed' || update.status === 'cancelled') throw new TicketEndedError(update);
        if (update.status !== 'held' && update.status !== 'claimed') continue;
        const lease = await claimTicket(ticketId, leaseOptions);
        if (!lease) continue;
        // Aborted while the claim was on its way: the units are ours now, so give them back.
        if (signal?.aborted) {
          await lease.release().catch((error: unknown) => report(error, { operation: 'release', claimId: lease.id, ticketId }));
          throw signal.reason;
        }
        return lease;
      }
      throw new LicensepoolError('UNEXPECTED_RESPONSE', null, 'the ticket updates ended before the ticket did');
    } catch (error) {
      if (signal?.aborted) {
        await api.cancelTicket(ticketId).catch((cancelError: unknown) => report(cancelError, { operation: 'cancel', ticketId }));
        throw signal.reason;
      }
      throw error;
    } finally {
      signal?.removeEventListener('abort', stopFollowing);
      following.abort();
    }
  }

  async function sync(request: SyncRequest = {}, syncOptions: SyncOptions = {}): Promise<Synced> {
    const result = await api.sync(request);
    let jwks = syncOptions.jwks ?? (await api.jwks());
    const verifyAll = () =>
      Promise.all(result.tokens.map(async (t) => ({ ...t, payload: (await verifyLicense(t.token, jwks, { rootId: result.rootId, ...(syncOptions.currentDate ? { currentDate: syncOptions.currentDate } : {}) })) as SyncLicensePayload })));
    try {
      return { result, licenses: await verifyAll(), jwks };
    } catch (error) {
      // Keys given by the caller may predate a rotation: fetch them once more.
      if (!(error instanceof LicenseVerificationError && error.code === 'UNKNOWN_KEY' && syncOptions.jwks)) throw error;
      jwks = await api.jwks();
      return { result, licenses: await verifyAll(), jwks };
    }
  }

  return {
    checkout: checkout as Client['checkout'],
    sync,
    waitInQueue,
    getTicket: (ticketId) => api.getTicket(ticketId),
    cancelTicket: (ticketId) => api.cancelTicket(ticketId),
    async borrow(request) {
      const answer = await api.createClaim({ ...request, kind: 'borrow' });
      if (answer.queued) throw new LicensepoolError('UNEXPECTED_RESPONSE', 202, 'a borrow was answered with a queue ticket');
      const { licenseFile, ...claim } = answer.claim;
      if (licenseFile === undefined) throw new LicensepoolError('UNEXPECTED_RESPONSE', answer.status, 'the borrow was answered without a license file');
      return { claim, licenseFile };
    },
    returnBorrow: (claimId) => api.checkIn(claimId),
    fetchJwks: () => api.jwks(),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const done = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
