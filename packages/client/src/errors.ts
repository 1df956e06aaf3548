import type { RefusalReason, ServerErrorCode, Ticket } from './types.js';

/**
 * - a code from the server's error table (`NOT_FOUND`, `CLAIM_ENDED`, …);
 * - `NETWORK_ERROR`: no answer (server down, connection reset, DNS); `status` is null;
 * - `UNEXPECTED_RESPONSE`: an answer that is not licensepool's (a proxy's HTML page, a 502).
 */
export type LicensepoolErrorCode = ServerErrorCode | 'NETWORK_ERROR' | 'UNEXPECTED_RESPONSE' | (string & {});

/** An RFC 9457 problem document as licensepool answers errors. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
  [extra: string]: unknown;
}

/** Every failure of an SDK call that is not a refused claim. */
export class LicensepoolError extends Error {
  readonly code: LicensepoolErrorCode;
  /** The HTTP status; null when no answer came. */
  readonly status: number | null;
  readonly detail: string;
  /** The problem document, when the server sent one. */
  readonly problem: Problem | null;

  constructor(code: LicensepoolErrorCode, status: number | null, detail: string, problem: Problem | null = null, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'LicensepoolError';
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.problem = problem;
  }

  /** Worth trying again: no answer, or the server (or a proxy) was briefly unable to answer. */
  get retryable(): boolean {
    return this.status === null || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** A refusal that lists every reason with its stable code (`MEMBER_NOT_VERIFIED`, `LIMIT_REACHED`, …). */
export class RefusedError extends LicensepoolError {
  readonly reasons: RefusalReason[];
  constructor(problem: Problem & { reasons: RefusalReason[] }) {
    super(problem.code, problem.status, problem.detail, problem);
    this.name = 'RefusedError';
    this.reasons = problem.reasons;
  }
}

/** The server refused the claim (409 `CLAIM_REFUSED`); `reasons` says why. */
export class ClaimRefusedError extends RefusedError {
  override readonly name = 'ClaimRefusedError';
}

/** The server refused to sync the member (409 `SYNC_REFUSED`: not verified, removed, pool not active…); `reasons` says why. */
export class SyncRefusedError extends RefusedError {
  override readonly name = 'SyncRefusedError';
}

/** A queue ticket lapsed (its hold was not claimed in time) or was cancelled: no lease will come from it. */
export class TicketEndedError extends LicensepoolError {
  readonly ticket: Ticket;
  constructor(ticket: Ticket, problem: Problem | null = null) {
    super('TICKET_ENDED', problem?.status ?? 410, `the queue ticket is ${ticket.status}`, problem);
    this.name = 'TicketEndedError';
    this.ticket = ticket;
  }
}
