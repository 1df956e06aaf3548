/**
 * N1 reminder rules: what a rule means (the offsets in days from a license's end it mails at)
 * and which rule applies to a license (the nearest: the license's own, its pool's, up the path,
 * the root's, else the default of [003]). Pure; the scan (reminders.scan.ts) and the routes
 * (reminders.routes.ts) use it.
 */

export const REMINDER_EVERY = ['once', 'daily', 'weekly', 'every_30_days'] as const;
export type ReminderEvery = (typeof REMINDER_EVERY)[number];

/** [003]: a month, 15 days, 7 days and a day before the end, the cut-off, the renewal reminder. */
export const DEFAULT_OFFSETS: readonly number[] = [-30, -15, -7, -1, 0, 1];
/** Bounds of a rule: a year before the end to a month after. */
export const MIN_OFFSET = -365;
export const MAX_OFFSET = 30;

export interface RuleShape {
  offsets: readonly number[] | null;
  fromDays: number | null;
  every: ReminderEvery | null;
}

const STEP: Record<ReminderEvery, number> = { once: 0, daily: 1, weekly: 7, every_30_days: 30 };

/**
 * The offsets a rule mails at, ascending. A list of offsets is taken as given. "From N days
 * before the end, <every>" mails N days before and then every step while before the end, and
 * keeps the cut-off (0) and the renewal reminder (+1) of the default.
 */
export function ruleOffsets(rule: RuleShape | null | undefined): number[] {
  if (!rule) return [...DEFAULT_OFFSETS];
  if (rule.offsets) return [...new Set(rule.offsets)].sort((a, b) => a - b);
  const from = rule.fromDays ?? 30;
  const step = STEP[rule.every ?? 'once'];
  const out: number[] = [];
  if (step === 0) out.push(-from);
  else for (let o = -from; o < 0; o += step) out.push(o);
  return [...new Set([...out, 0, 1])].sort((a, b) => a - b);
}

/** The template event of an offset. */
export const reminderEvent = (offset: number) => (offset < 0 ? 'license.expiring' : offset === 0 ? 'license.cut_off' : 'license.renewal');

/** The nearest rule: the license's, then its pool's and up the path (`path` is root first, the pool last). */
export function nearestRule<R>(rules: ReadonlyMap<string, R>, licenseId: string, path: readonly string[]): { rule: R; scopeId: string } | null {
  for (const id of [licenseId, ...[...path].reverse()]) {
    const rule = rules.get(id);
    if (rule) return { rule, scopeId: id };
  }
  return null;
}

/** "1 day", "15 days". */
export const daysText = (days: number) => `${Math.abs(days)} day${Math.abs(days) === 1 ? '' : 's'}`;
