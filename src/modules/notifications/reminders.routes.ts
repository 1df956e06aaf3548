import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorOf } from '../../http/auth.js';
import { ERROR_RESPONSES, IdParams, Timestamp } from '../../http/schemas.js';
import type { Deps } from '../../lib/context.js';
import { MAX_OFFSET, MIN_OFFSET, REMINDER_EVERY } from './reminders.rules.js';
import { deleteReminderRule, getReminderRule, putReminderRule, type ReminderRuleRow, type RuleInput, type RuleView, type ScopeType } from './reminders.service.js';

const Offset = z.number().int().min(MIN_OFFSET).max(MAX_OFFSET);

/** A list of offsets in days from the end (−30 … 0 cut-off, +1 renewal), or "from N days before the end, once / daily / weekly / every 30 days". */
export const PutReminderRuleBody = z
  .object({
    offsets: z.array(Offset).min(1).max(64).optional().describe('Days from the end: negative before it, 0 the cut-off, positive after it'),
    fromDays: z.number().int().min(1).max(-MIN_OFFSET).optional().describe('With `every`: how many days before the end the reminders start'),
    every: z.enum(REMINDER_EVERY).optional().describe('With `fromDays`: once, daily, weekly or every_30_days until the end; the cut-off (0) and renewal (+1) notices follow'),
  })
  .strict()
  .superRefine((b, ctx) => {
    const recurring = b.fromDays !== undefined || b.every !== undefined;
    if (b.offsets !== undefined && recurring) ctx.addIssue({ code: 'custom', path: [b.fromDays !== undefined ? 'fromDays' : 'every'], message: 'either offsets, or fromDays with every' });
    else if (b.offsets === undefined && !recurring) ctx.addIssue({ code: 'custom', path: ['offsets'], message: 'offsets, or fromDays with every, is required' });
    else if (recurring && b.fromDays === undefined) ctx.addIssue({ code: 'custom', path: ['fromDays'], message: 'fromDays is required with every' });
    else if (recurring && b.every === undefined) ctx.addIssue({ code: 'custom', path: ['every'], message: 'every is required with fromDays' });
  })
  .meta({ examples: [{ offsets: [-30, -15, -7, -1, 0, 1] }] });

const RuleBody = z.object({
  scopeType: z.enum(['pool', 'license']),
  scopeId: z.string(),
  offsets: z.array(z.number().int()).nullable(),
  fromDays: z.number().int().nullable(),
  every: z.enum(REMINDER_EVERY).nullable(),
  updatedAt: Timestamp,
});

export const ReminderRule = z.object({
  scopeType: z.enum(['pool', 'license']),
  scopeId: z.string(),
  own: RuleBody.nullable().describe('The rule set on this pool or license; null: inherited'),
  source: z.object({ type: z.enum(['license', 'pool', 'default']), id: z.string().nullable() }).describe('Where the rule that applies is set'),
  rule: RuleBody.nullable().describe('The rule that applies; null: the default'),
  offsets: z.array(z.number().int()).describe('The days from the end reminders go out at, under the rule that applies'),
}).meta({ id: 'ReminderRule' });

const presentRow = (r: ReminderRuleRow | null) =>
  r ? { scopeType: r.scopeType, scopeId: r.scopeId, offsets: r.offsets, fromDays: r.fromDays, every: r.every, updatedAt: r.updatedAt.toISOString() } : null;
const present = (v: RuleView) => ({ scopeType: v.scopeType, scopeId: v.scopeId, own: presentRow(v.own), source: v.source, rule: presentRow(v.rule), offsets: v.offsets });

const toInput = (b: z.infer<typeof PutReminderRuleBody>): RuleInput =>
  b.offsets ? { offsets: b.offsets } : { fromDays: b.fromDays!, every: b.every! };

/** N1 reminder rules on pools (roots too) and licenses; docs/notifications.md "Reminders". */
export const reminderRoutes: FastifyPluginAsyncZod<{ deps: Deps }> = async (app, { deps }) => {
  const routes: { type: ScopeType; base: string; tag: string; noun: string }[] = [
    { type: 'pool', base: '/v1/pools/:id/reminder-rule', tag: 'pools', noun: 'PoolReminderRule' },
    { type: 'license', base: '/v1/licenses/:id/reminder-rule', tag: 'licenses', noun: 'LicenseReminderRule' },
  ];
  for (const { type, base, tag, noun } of routes) {
    app.get(base, {
      schema: {
        tags: [tag],
        operationId: `get${noun}`,
        description: `The rule that schedules the ${type}'s expiry reminders: the days from the end they are sent on. The ${type}'s own rule if it has one, else the nearest one above it, else the default; \`source\` says which.`,
        summary: `The expiry reminder rule that applies to the ${type}: its own, inherited, or the default`,
        params: IdParams,
        response: { 200: ReminderRule, ...ERROR_RESPONSES },
      },
    }, async (request) => present(await getReminderRule(deps, actorOf(request), type, request.params.id)));

    app.put(base, {
      schema: {
        tags: [tag],
        operationId: `set${noun}`,
        description: `Sets the ${type}'s own reminder rule, as a list of day offsets from the end or as a start and interval; it applies to the ${type} and what lies below it that has no rule of its own (operators).`,
        summary: `Sets the ${type}'s own expiry reminder rule (operators)`,
        params: IdParams,
        body: PutReminderRuleBody,
        response: { 200: ReminderRule, ...ERROR_RESPONSES },
      },
    }, async (request) => present(await putReminderRule(deps, actorOf(request), type, request.params.id, toInput(request.body))));

    app.delete(base, {
      schema: {
        tags: [tag],
        operationId: `delete${noun}`,
        description: `Removes the ${type}'s own reminder rule and answers the rule that applies now: the inherited one, or the default (operators).`,
        summary: `Removes the ${type}'s own rule: the inherited one applies (operators)`,
        params: IdParams,
        response: { 200: ReminderRule, ...ERROR_RESPONSES },
      },
    }, async (request) => present(await deleteReminderRule(deps, actorOf(request), type, request.params.id)));
  }
};
