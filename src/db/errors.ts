/**
 * What a database error means for the request that caused it: PostgreSQL's SQLSTATE (both
 * drivers carry it as `code`; Drizzle wraps it in `cause`) sorted into what a caller can act on.
 */
import { AppError } from '../lib/errors.js';

/** The SQLSTATE of a database error (five characters), or null for anything else. */
export function sqlStateOf(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return null;
}

/** Serialization failure, deadlock: the same transaction run again may well pass. */
export function isTransientDbError(err: unknown): boolean {
  const state = sqlStateOf(err);
  return state === '40001' || state === '40P01';
}

/**
 * The database (or the way to it) is not working — connection errors (class 08, or a socket
 * error without SQLSTATE), out of resources (53), shut down (57P), system errors (58): no
 * request is at fault, so splitting a batch to find one would only repeat the failure.
 */
export function isUnavailableDbError(err: unknown): boolean {
  const state = sqlStateOf(err);
  if (state) return /^(08|53|57P|58)/.test(state);
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E(CONN|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|AI_AGAIN)/.test(code)) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end/i.test(message)) return true;
  }
  return false;
}

/**
 * The refusal to answer when the database refused one request's own data: class 22 (data
 * exception: a value out of range, an invalid text or JSON value) → 422 DATA_REJECTED, class 23
 * (integrity constraint) → 409 CONSTRAINT_VIOLATED. Null for any other error. The database's own
 * message is not echoed (it may quote other rows); the SQLSTATE is.
 */
export function refusalOfDbError(err: unknown): AppError | null {
  const state = sqlStateOf(err);
  if (state?.startsWith('22')) return new AppError('DATA_REJECTED', `the database refused a value of this request (SQLSTATE ${state})`, { sqlState: state });
  if (state?.startsWith('23')) return new AppError('CONSTRAINT_VIOLATED', `the request conflicts with a rule of the database (SQLSTATE ${state})`, { sqlState: state });
  return null;
}
