/**
 * The SDK's one way to the server: fetch only (Node 20, browsers, Deno, workers), bearer token,
 * JSON in and out, and every failure turned into a LicensepoolError with the problem's `code`.
 */
import { ClaimRefusedError, LicensepoolError, SyncRefusedError, type Problem } from './errors.js';
import type { BorrowRequest, CheckoutRequest, Claim, Jwks, NewClaim, RefusalReason, SyncRequest, SyncResult, Ticket } from './types.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

interface SendOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** The JWKS is public: it is fetched without the token. */
  authenticated?: boolean;
  accept?: string;
  /**
   * Safe to send again when no answer came or the server failed (5xx): the request is idempotent
   * by nature (check-in, cancel), or carries an `Idempotency-Key` so the server answers a repeat
   * with the first answer instead of acting twice.
   */
  retry?: boolean;
  idempotencyKey?: string;
}

/** A claim answer: 201 for a new claim, 200 for the live lease this client already held. */
export interface ClaimAnswer<C = Claim> {
  status: number;
  claim: C;
}

/** POST /v1/claims answers a claim, or (queue: true) 202 with a ticket and why it waits. */
export type CreateClaimAnswer = ({ queued: false } & ClaimAnswer<NewClaim>) | { queued: true; ticket: Ticket; reasons: RefusalReason[] };

/** Pauses before the 2nd and 3rd attempt of a retried request. */
const RETRY_DELAYS_MS = [250, 1000];

export class Api {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #fetch: FetchLike;

  constructor(baseUrl: string, token: string, fetchImpl: FetchLike) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#token = token;
    this.#fetch = fetchImpl;
  }

  async createClaim(body: (CheckoutRequest & { kind: 'lease' | 'assignment' }) | (BorrowRequest & { kind: 'borrow' })): Promise<CreateClaimAnswer> {
    const res = await this.#send('POST', '/v1/claims', { body, retry: true, idempotencyKey: newIdempotencyKey() });
    const answer = await readJson(res, 'POST /v1/claims');
    if (res.status === 202) return { queued: true, ...(answer as { ticket: Ticket; reasons: RefusalReason[] }) };
    return { queued: false, status: res.status, claim: answer as NewClaim };
  }

  async heartbeat(id: string): Promise<Claim> {
    return (await this.#json('POST', `/v1/claims/${encodeURIComponent(id)}/heartbeat`)) as Claim;
  }

  async checkIn(id: string): Promise<void> {
    await this.#send('DELETE', `/v1/claims/${encodeURIComponent(id)}`, { retry: true });
  }

  async getTicket(id: string, signal?: AbortSignal): Promise<Ticket> {
    return (await this.#json('GET', `/v1/tickets/${encodeURIComponent(id)}`, { signal })) as Ticket;
  }

  /** Claiming a ticket twice answers the same lease (200), so it may be retried. */
  async claimTicket(id: string): Promise<ClaimAnswer> {
    const res = await this.#send('POST', `/v1/tickets/${encodeURIComponent(id)}/claim`, { retry: true });
    return { status: res.status, claim: (await readJson(res, 'POST /v1/tickets/{id}/claim')) as Claim };
  }

  async cancelTicket(id: string): Promise<void> {
    await this.#send('DELETE', `/v1/tickets/${encodeURIComponent(id)}`, { retry: true });
  }

  /** The ticket's server-sent event stream; the caller reads the body. */
  ticketEvents(id: string, signal: AbortSignal): Promise<Response> {
    return this.#send('GET', `/v1/tickets/${encodeURIComponent(id)}/events`, { signal, accept: 'text/event-stream' });
  }

  /** Sync changes nothing on the server, so it is safe to send again. */
  async sync(body: SyncRequest): Promise<SyncResult> {
    return (await this.#json('POST', '/v1/sync', { body, retry: true })) as SyncResult;
  }

  async jwks(): Promise<Jwks> {
    return (await this.#json('GET', '/.well-known/jwks.json', { authenticated: false })) as Jwks;
  }

  async #json(method: string, path: string, options: SendOptions = {}): Promise<unknown> {
    return readJson(await this.#send(method, path, options), `${method} ${path}`);
  }

  async #send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#sendOnce(method, path, options);
      } catch (error) {
        const again = options.retry && attempt < RETRY_DELAYS_MS.length && error instanceof LicensepoolError && (error.retryable || error.code === 'IDEMPOTENCY_KEY_IN_USE');
        if (!again) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  async #sendOnce(method: string, path: string, options: SendOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (options.authenticated !== false) headers.authorization = `Bearer ${this.#token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let res: Response;
    try {
      res = await this.#fetch(this.#baseUrl + path, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      // An abort is the caller's own doing: it surfaces as the abort reason, not as a network error.
      if (options.signal?.aborted) throw options.signal.reason;
      throw new LicensepoolError('NETWORK_ERROR', null, `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`, null, { cause: error });
    }
    if (!res.ok) throw await errorOf(res, `${method} ${path}`);
    return res;
  }
}

/** 128 random bits as hex; getRandomValues, unlike randomUUID, also exists on plain-http pages. */
function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function readJson(res: Response, what: string): Promise<unknown> {
  try {
    return await res.json();
  } catch (error) {
    throw new LicensepoolError('UNEXPECTED_RESPONSE', res.status, `${what} answered ${res.status} without JSON`, null, { cause: error });
  }
}

async function errorOf(res: Response, what: string): Promise<LicensepoolError> {
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch {
    body = null;
  }
  if (!isProblem(body)) return new LicensepoolError('UNEXPECTED_RESPONSE', res.status, `${what} answered ${res.status}`);
  if (Array.isArray(body.reasons)) {
    const refusal = body as Problem & { reasons: RefusalReason[] };
    if (body.code === 'CLAIM_REFUSED') return new ClaimRefusedError(refusal);
    if (body.code === 'SYNC_REFUSED') return new SyncRefusedError(refusal);
  }
  return new LicensepoolError(body.code, res.status, body.detail, body);
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string' && typeof (body as Problem).detail === 'string';
}
