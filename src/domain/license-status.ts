/**
 * L2 the life of a license [003], as one pure function: what an event does to a license's
 * status, start and end at a given moment, or why it is refused.
 *
 * - activate: `pending_provision` → `in_use` (start rule `on_activation`) or `pending_start`
 *   (`on_connections`);
 * - connections: `pending_start` → `in_use` once `threshold` distinct devices have connected,
 *   that moment being the start (L5);
 * - suspend / resume: `in_use` ⇄ `access_denied` (the vendor denies access [003]);
 * - finalize: any status that has not ended → `finalized` (ended by the vendor);
 * - the clock: past its end a license is `expired` (cut-off); `expire` writes that down.
 *
 * Stored status is what was last written; the clock has the last word: a license whose end has
 * passed *is* expired (`effectiveStatus`) before any sweep writes it, and every event is judged
 * on that effective status. So an expired license can be neither suspended, resumed nor
 * finalized, whether or not the sweep has run.
 *
 * A superset of `nextLicenseStatus` (src/domain/status.ts) for the licenses placed straight on a
 * pool: same statuses, and suspend / resume / finalize allowed from the same statuses. The one
 * difference is by L2: an `access_denied` license past its end reads `expired` too (the cut-off
 * does not wait for a resume).
 */
import type { LicenseStatus } from '../db/schema.js';

export const DEFAULT_CONNECTION_THRESHOLD = 5;

/** L1 start rule: time runs from activation, or from the moment `threshold` distinct devices have connected. */
export type StartRule = { type: 'on_activation' } | { type: 'on_connections'; threshold: number };

/**
 * What the machine reads of a license. `termMonths` and `startRule` are optional so a license
 * row without them (placed on a pool, dated) fits: no term, starts on activation.
 * Once started, `validFrom` is the start and `validUntil` the end (null: no end).
 */
export interface LicenseLifecycle {
  status: LicenseStatus;
  validFrom: Date | null;
  validUntil: Date | null;
  termMonths?: number | null;
  startRule?: StartRule | null;
}

export type LicenseEvent =
  /** "Send Key" (L4): the key is bound to a pool. */
  | { type: 'activate' }
  /** L5: `distinctDevices` have now connected to the license's pool since activation. */
  | { type: 'connections'; distinctDevices: number }
  | { type: 'suspend' }
  | { type: 'resume' }
  | { type: 'finalize' }
  /** The sweep recording the clock's verdict (cut-off). */
  | { type: 'expire' };

export type LicenseEventType = LicenseEvent['type'];
export const LICENSE_EVENT_TYPES: readonly LicenseEventType[] = ['activate', 'connections', 'suspend', 'resume', 'finalize', 'expire'];

/**
 * `KEY_ALREADY_ACTIVATED` and `LICENSE_ENDED` answer activation (L4, distinct codes); every other
 * impossible event is `INVALID_TRANSITION`, as the other status machines answer.
 */
export type TransitionRefusal = 'INVALID_TRANSITION' | 'KEY_ALREADY_ACTIVATED' | 'LICENSE_ENDED';

export type Transition =
  | {
      ok: true;
      status: LicenseStatus;
      validFrom: Date | null;
      validUntil: Date | null;
      /** False when the event leaves the license as it was (connections below the threshold). */
      changed: boolean;
    }
  | { ok: false; reason: TransitionRefusal; detail: string; currentStatus: LicenseStatus };

/** Statuses a license never leaves. */
export const FINAL_LICENSE_STATUSES: readonly LicenseStatus[] = ['expired', 'finalized'];

/**
 * `date` plus `months` calendar months in UTC, the time of day kept. A day the target month
 * lacks becomes its last day: 31 January + 1 month = 28 (29) February, 29 February + 12 months
 * = 28 February. That is how a contract signed on the 31st is read by people, and what
 * date-fns `addMonths` and Java's `plusMonths` do.
 */
export function addMonthsUtc(date: Date, months: number): Date {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const d = new Date(date);
  d.setUTCFullYear(year, month, Math.min(date.getUTCDate(), lastDay));
  return d;
}

/**
 * The end of a license starting at `start`: start + `termMonths`, or the fixed `validUntil`;
 * with both, the earlier (the effective end is the earliest end, P2). Null: no end.
 */
export function licenseEnd(start: Date, termMonths: number | null | undefined, validUntil: Date | null): Date | null {
  if (termMonths === null || termMonths === undefined) return validUntil;
  const byTerm = addMonthsUtc(start, termMonths);
  return validUntil !== null && validUntil < byTerm ? validUntil : byTerm;
}

/**
 * The status as the clock sees it: a license that has not been finalized reads `expired` once its
 * end has passed. A license with a term has no end before it starts, so only a dated one can
 * expire while still pending.
 */
export function effectiveStatus(license: Pick<LicenseLifecycle, 'status' | 'validUntil'>, now: Date): LicenseStatus {
  if (license.status === 'finalized') return 'finalized';
  if (license.validUntil !== null && license.validUntil <= now) return 'expired';
  return license.status;
}

/** L6: the license gives what it carries now: `in_use` and `now` inside its validity. */
export function isInEffect(license: Pick<LicenseLifecycle, 'status' | 'validFrom' | 'validUntil'>, now: Date): boolean {
  return effectiveStatus(license, now) === 'in_use' && (license.validFrom === null || license.validFrom <= now);
}

/** Distinct devices needed to start: 0 when the license starts on activation. */
function thresholdOf(rule: StartRule | null | undefined): number {
  return rule?.type === 'on_connections' ? rule.threshold : 0;
}

const refuse = (reason: TransitionRefusal, detail: string, currentStatus: LicenseStatus): Transition => ({
  ok: false,
  reason,
  detail,
  currentStatus,
});

const unchanged = (license: LicenseLifecycle): Transition => ({
  ok: true,
  status: license.status,
  validFrom: license.validFrom,
  validUntil: license.validUntil,
  changed: false,
});

/**
 * Time starts running: from `now`, or from a later `validFrom` the license was given. The result
 * already reads as of `now` (an end at or before `now` gives `expired`).
 */
function start(license: LicenseLifecycle, now: Date): Transition {
  const from = license.validFrom !== null && license.validFrom > now ? license.validFrom : now;
  const until = licenseEnd(from, license.termMonths, license.validUntil);
  const status: LicenseStatus = until !== null && until <= now ? 'expired' : 'in_use';
  return { ok: true, status, validFrom: from, validUntil: until, changed: true };
}

/**
 * What `event` does to `license` at `now`: the new status, start (`validFrom`) and end
 * (`validUntil`), or a refusal with a stable reason. Judged on the effective status, so the
 * answer never depends on whether the expiry sweep has run.
 */
export function transition(license: LicenseLifecycle, event: LicenseEvent, now: Date): Transition {
  const current = effectiveStatus(license, now);
  const ended = FINAL_LICENSE_STATUSES.includes(current);
  const same = (status: LicenseStatus): Transition => ({
    ok: true,
    status,
    validFrom: license.validFrom,
    validUntil: license.validUntil,
    changed: status !== license.status,
  });

  switch (event.type) {
    case 'activate': {
      if (ended) return refuse('LICENSE_ENDED', `the license is ${current}`, current);
      if (current !== 'pending_provision') return refuse('KEY_ALREADY_ACTIVATED', 'the key has already been activated', current);
      if (thresholdOf(license.startRule) > 0) return same('pending_start');
      return start(license, now);
    }
    case 'connections': {
      if (current !== 'pending_start') return refuse('INVALID_TRANSITION', `a license that is ${current} does not wait for connections`, current);
      if (event.distinctDevices < thresholdOf(license.startRule)) return unchanged(license);
      return start(license, now);
    }
    case 'suspend':
      if (current !== 'in_use') return refuse('INVALID_TRANSITION', `cannot suspend a license that is ${current}`, current);
      return same('access_denied');
    case 'resume':
      // The term keeps running while access is denied: resuming never moves the end.
      if (current !== 'access_denied') return refuse('INVALID_TRANSITION', `cannot resume a license that is ${current}`, current);
      return same('in_use');
    case 'finalize':
      if (ended) return refuse('INVALID_TRANSITION', `cannot finalize a license that is ${current}`, current);
      return same('finalized');
    case 'expire':
      // Writes down what the clock already says; only a license whose end has passed.
      if (current !== 'expired' || license.status === 'expired') {
        return refuse('INVALID_TRANSITION', current === 'expired' ? 'the expiry is already recorded' : `the license is ${current}, its end has not come`, current);
      }
      return same('expired');
  }
}
