/**
 * N1: the reminder scan (`reminders.scan`, every minute, transactional). Finds, set-based, the
 * licenses with a reminder occurrence due — the instant `valid_until + offset days` has passed,
 * within the last day, not yet sent — and queues its mail in the same transaction that records
 * the occurrence in `reminders_sent`. An occurrence is therefore mailed once, across restarts,
 * retries and replicas (two scans at once: the second waits on the first's key and inserts
 * nothing). See docs/notifications.md, "Reminders".
 */
import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, textArray, type Executor } from '../../db/client.js';
import type { Logger } from 'pino';
import { isUnavailableDbError } from '../../db/errors.js';
import type { Deps } from '../../lib/context.js';
import { runIsolated } from '../../lib/isolate.js';
import type { JobRunner } from '../jobs/jobs.runner.js';
import { poolRecipients } from './events.js';
import { addressKey, queueMail, type MailIntent, type MailSettings, type Recipient } from './mail.queue.js';
import { daysText, DEFAULT_OFFSETS, nearestRule, reminderEvent, ruleOffsets, type RuleShape } from './reminders.rules.js';

export const REMINDER_SCAN_JOB = 'reminders.scan';
const DAY_MS = 86_400_000;
/** Occurrences older than this are not sent: a rule set (or a date moved) late mails no backlog. */
export const REMINDER_LOOKBACK_MS = DAY_MS;
/** Licenses read per batch of a scan. */
export const REMINDER_BATCH = 5_000;

const RUNNING = new Set(['in_use', 'access_denied']);

export interface DueCandidate {
  id: string;
  root_id: string;
  pool_id: string;
  name: string | null;
  key: string | null;
  status: string;
  valid_until: Date | string;
  path: string[];
}

/**
 * The offsets to search: the default's (any license may be under it), and those only some
 * rules add (`extra`), searched only for licenses under one of those rules (`scopes`: the
 * licenses and pools they are set on).
 */
export interface OffsetsInUse {
  general: number[];
  extra: number[];
  scopes: string[];
}

export async function offsetsInUse(tx: Executor): Promise<OffsetsInUse> {
  const rules = await rowsOf<{ offsets: number[] | null; from_days: number | null; every: RuleShape['every']; scopes: string[] }>(
    tx,
    sql`SELECT offsets, from_days, every, array_agg(scope_id) AS scopes FROM reminder_rules GROUP BY offsets, from_days, every`,
  );
  const general = new Set<number>(DEFAULT_OFFSETS);
  const extra = new Set<number>();
  const scopes = new Set<string>();
  for (const r of rules) {
    const own = ruleOffsets({ offsets: r.offsets, fromDays: r.from_days, every: r.every }).filter((o) => !general.has(o));
    if (own.length === 0) continue;
    for (const o of own) extra.add(o);
    for (const id of r.scopes) scopes.add(id);
  }
  return { general: [...general].sort((x, y) => x - y), extra: [...extra].sort((x, y) => x - y), scopes: [...scopes].sort() };
}

/**
 * The ranges of `valid_until` that put an occurrence of one of `offsets` in (now − lookback,
 * now]: for offset o, (now − o days − lookback, now − o days]. Adjacent ranges merged.
 */
export function endRanges(offsets: readonly number[], now: Date): { from: Date; to: Date }[] {
  const ranges = offsets
    .map((o) => ({ from: now.getTime() - o * DAY_MS - REMINDER_LOOKBACK_MS, to: now.getTime() - o * DAY_MS }))
    .sort((a, b) => a.from - b.from);
  const merged: { from: number; to: number }[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to) last.to = Math.max(last.to, r.to);
    else merged.push({ ...r });
  }
  return merged.map((r) => ({ from: new Date(r.from), to: new Date(r.to) }));
}

/**
 * The licenses that may have an occurrence due now: ends in one of the ranges (an index range
 * scan of `licenses_reminder_until_idx` per range), on a pool, and no occurrence of the current
 * window recorded yet. Which offset is due is decided per license by its rule.
 */
export async function findDueCandidates(tx: Executor, now: Date, offsets: OffsetsInUse, limit = REMINDER_BATCH, after?: Cursor): Promise<DueCandidate[]> {
  const query = dueCandidatesQuery(now, offsets, limit, after);
  return query ? rowsOf<DueCandidate>(tx, query) : [];
}

export interface Cursor {
  validUntil: string;
  id: string;
}

const inRanges = (ranges: { from: Date; to: Date }[]) =>
  sql.join(
    ranges.map((r) => sql`(l.valid_until > ${r.from.toISOString()}::timestamptz AND l.valid_until <= ${r.to.toISOString()}::timestamptz)`),
    sql` OR `,
  );

/** The statement of `findDueCandidates` (the benchmark EXPLAINs it); null when no range. */
export function dueCandidatesQuery(now: Date, offsets: OffsetsInUse, limit = REMINDER_BATCH, after?: Cursor): SQL | null {
  const general = endRanges(offsets.general, now);
  const extra = offsets.scopes.length > 0 ? endRanges(offsets.extra, now) : [];
  const parts: SQL[] = [];
  if (general.length > 0) parts.push(inRanges(general));
  if (extra.length > 0) {
    const scopes = textArray(offsets.scopes);
    parts.push(sql`((${inRanges(extra)}) AND (l.id = ANY(${scopes}) OR p.path && ${scopes}))`);
  }
  if (parts.length === 0) return null;
  const since = new Date(now.getTime() - REMINDER_LOOKBACK_MS).toISOString();
  const page = after ? sql`AND (l.valid_until, l.id) > (${after.validUntil}::timestamptz, ${after.id})` : sql``;
  return sql`SELECT l.id, l.root_id, l.pool_id, l.name, l.key, l.status, l.valid_until, p.path
        FROM licenses l JOIN pools p ON p.id = l.pool_id
        WHERE l.status IN ('in_use', 'access_denied', 'expired') AND l.pool_id IS NOT NULL AND l.valid_until IS NOT NULL
          AND (${sql.join(parts, sql` OR `)})
          AND NOT EXISTS (
            SELECT 1 FROM reminders_sent s
            WHERE s.license_id = l.id AND s.ends_at = l.valid_until
              AND s.ends_at + s.offset_days * interval '24 hours' > ${since}::timestamptz
              AND s.ends_at + s.offset_days * interval '24 hours' <= ${now.toISOString()}::timestamptz)
          ${page}
        ORDER BY l.valid_until, l.id
        LIMIT ${limit}`;
}

/** The offset due for a license now under its offsets: the latest whose instant is in (now − lookback, now], if its status fits. */
export function dueOffset(offsets: readonly number[], end: Date, status: string, now: Date): number | null {
  let due: number | null = null;
  for (const o of offsets) {
    const at = end.getTime() + o * DAY_MS;
    if (at > now.getTime() || at <= now.getTime() - REMINDER_LOOKBACK_MS) continue;
    // "Ends in N days" is about a running license; the cut-off and renewal notices also about an expired one.
    if (o < 0 && !RUNNING.has(status)) continue;
    if (due === null || o > due) due = o;
  }
  return due;
}

/** Members for member-facing notices: the cut-off goes to the pool's verified members with an account too. */
async function memberRecipients(tx: Executor, poolId: string): Promise<Recipient[]> {
  const rows = await rowsOf<{ id: string; email: string; name: string }>(
    tx,
    sql`SELECT a.id, a.email, a.name FROM members m JOIN accounts a ON a.id = m.account_id
        WHERE m.pool_id = ${poolId} AND m.status = 'verified' ORDER BY a.id`,
  );
  return rows.map((r) => ({ accountId: r.id, email: r.email, name: r.name }));
}

/** One scan: answers the occurrences recorded (each with its mail queued). */
export async function scanReminders(tx: Executor, settings: MailSettings, now: Date, log?: Logger): Promise<number> {
  return (await scanRemindersDetailed(tx, settings, now, log)).sent;
}

/**
 * One scan, batch after batch in (valid_until, id) order until no candidate is left: candidates
 * whose rule has nothing due are passed over, never in the way of those after them.
 */
export async function scanRemindersDetailed(tx: Executor, settings: MailSettings, now: Date, log?: Logger): Promise<{ candidates: number; sent: number }> {
  const offsets = await offsetsInUse(tx);
  let after: Cursor | undefined;
  let candidates = 0;
  let sent = 0;
  for (;;) {
    const found = await findDueCandidates(tx, now, offsets, REMINDER_BATCH, after);
    candidates += found.length;
    sent += await sendDueIsolated(tx, found, settings, now, log);
    if (found.length < REMINDER_BATCH) return { candidates, sent };
    const last = found[found.length - 1]!;
    after = { validUntil: new Date(last.valid_until).toISOString(), id: last.id };
  }
}

/**
 * `sendDue` with batch isolation: the candidates are sent in a savepoint, and a part that fails
 * is sent again in halves, so one license whose notices the database refuses stops no other
 * license's. Its occurrence is not recorded, so the next scan tries it again (and fails it
 * alone again, logged) until it passes or falls out of the look-back day.
 */
async function sendDueIsolated(tx: Executor, candidates: readonly DueCandidate[], settings: MailSettings, now: Date, log?: Logger): Promise<number> {
  const settled = await runIsolated(
    candidates,
    async (part) => {
      const recorded = await tx.transaction((sp) => sendDue(sp, part, settings, now));
      return part.map((c) => recorded.has(c.id));
    },
    { splittable: (err) => !isUnavailableDbError(err) },
  );
  const failed = candidates.flatMap((c, i) => {
    const r = settled[i]!;
    return r.ok ? [] : [{ licenseId: c.id, err: r.error }];
  });
  const down = failed.find((f) => isUnavailableDbError(f.err));
  if (down) throw down.err;
  if (failed.length > 0) log?.error({ failed: failed.map((f) => ({ licenseId: f.licenseId, err: String(f.err) })) }, 'reminders of these licenses could not be queued; the next scan tries again');
  return settled.filter((r) => r.ok && r.value).length;
}

/** Records and queues the due occurrences of `candidates`; answers the licenses whose occurrence this scan recorded. */
async function sendDue(tx: Executor, candidates: readonly DueCandidate[], settings: MailSettings, now: Date): Promise<Set<string>> {
  if (candidates.length === 0) return new Set();
  const scopes = [...new Set(candidates.flatMap((c) => [c.id, ...c.path]))];
  const ruleRows = await rowsOf<{ scope_id: string; offsets: number[] | null; from_days: number | null; every: RuleShape['every'] }>(
    tx,
    sql`SELECT scope_id, offsets, from_days, every FROM reminder_rules WHERE scope_id = ANY(${textArray(scopes)})`,
  );
  const rules = new Map(ruleRows.map((r) => [r.scope_id, ruleOffsets({ offsets: r.offsets, fromDays: r.from_days, every: r.every })]));

  const due = candidates.flatMap((c) => {
    const end = new Date(c.valid_until);
    const offset = dueOffset(nearestRule(rules, c.id, c.path)?.rule ?? DEFAULT_OFFSETS, end, c.status, now);
    return offset === null ? [] : [{ c, end, offset }];
  });
  if (due.length === 0) return new Set();

  // Claim the occurrences: a concurrent scan that inserted one first keeps it (its key waits, then conflicts).
  const values = sql.join(due.map((d) => sql`(${d.c.id}, ${d.offset}, ${d.end.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz, 0)`), sql`, `);
  const claimed = await rowsOf<{ license_id: string; offset_days: number }>(
    tx,
    sql`INSERT INTO reminders_sent (license_id, offset_days, ends_at, sent_at, recipients) VALUES ${values}
        ON CONFLICT DO NOTHING RETURNING license_id, offset_days`,
  );
  const mine = new Set(claimed.map((r) => `${r.license_id} ${r.offset_days}`));

  const poolRecipientsCache = new Map<string, Recipient[]>();
  const memberCache = new Map<string, Recipient[]>();
  const intents: MailIntent[] = [];
  const counts = new Map<string, number>();
  for (const { c, end, offset } of due) {
    if (!mine.has(`${c.id} ${offset}`)) continue;
    const pool = { id: c.pool_id, parentId: c.path.length > 1 ? c.path[c.path.length - 2]! : null, rootId: c.root_id, path: c.path };
    if (!poolRecipientsCache.has(pool.id)) poolRecipientsCache.set(pool.id, await poolRecipients(tx, pool));
    let to = poolRecipientsCache.get(pool.id)!;
    if (offset === 0) {
      if (!memberCache.has(pool.id)) memberCache.set(pool.id, await memberRecipients(tx, pool.id));
      const seen = new Set(to.map((r) => addressKey(r.email)));
      to = [...to, ...memberCache.get(pool.id)!.filter((r) => !seen.has(addressKey(r.email)))];
    }
    const endIso = end.toISOString();
    const daysLeft = -offset;
    for (const r of to) {
      intents.push({
        key: `reminder:${c.id}:${offset}:${endIso}:${addressKey(r.email)}`,
        event: reminderEvent(offset),
        rootId: c.root_id,
        poolId: c.pool_id,
        licenseId: c.id,
        to: r,
        variables: {
          licenseId: c.id,
          licenseKey: c.key ?? '',
          licenseName: c.name ?? '',
          licenseLabel: c.name ?? c.key ?? c.id,
          endDate: endIso.slice(0, 10),
          daysLeft,
          daysLeftText: daysText(daysLeft),
        },
      });
    }
    counts.set(`${c.id} ${offset}`, to.length);
  }
  // In chunks: one INSERT of the outbox takes 18 parameters a message (PostgreSQL allows 65,535).
  for (let i = 0; i < intents.length; i += 1_000) await queueMail(tx, intents.slice(i, i + 1_000), settings, now);
  // The recipients counted on each occurrence, for reading: one statement.
  const counted = [...counts].filter(([, n]) => n > 0);
  if (counted.length > 0) {
    const rows = sql.join(counted.map(([k, n]) => { const [id, o] = k.split(' '); return sql`(${id!}, ${Number(o)}::int, ${n}::int)`; }), sql`, `);
    await tx.execute(sql`UPDATE reminders_sent s SET recipients = v.n FROM (VALUES ${rows}) AS v(license_id, offset_days, n)
      WHERE s.license_id = v.license_id AND s.offset_days = v.offset_days AND s.sent_at = ${now.toISOString()}::timestamptz`);
  }
  return new Set(claimed.map((r) => r.license_id));
}

/** Registers the scan and its schedule (every minute, once per minute across the fleet). */
export function registerReminderJobs(runner: JobRunner, deps: Deps, settings: MailSettings): void {
  runner
    .register(REMINDER_SCAN_JOB, async (_ctx, tx) => {
      await scanReminders(tx, settings, deps.clock.now(), deps.log);
    }, { transactional: true })
    .schedule(REMINDER_SCAN_JOB, { kind: REMINDER_SCAN_JOB, everySeconds: 60 });
}
