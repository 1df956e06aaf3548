/**
 * N6: the event types a webhook endpoint may ask for, and the body it receives. Event types
 * are audit actions: every action that mails (NOTIFYING_ACTIONS) and these, which mail nobody
 * but are what a vendor's systems follow (a license made, a member added). The SQL function
 * `licensepool_webhook_action` of migration 0016 lists the same (a test compares them).
 */
import type { AuditEventRow } from '../audit/audit.repo.js';
import { NOTIFYING_ACTIONS } from '../notifications/events.js';

export const WEBHOOK_ONLY_ACTIONS = [
  'device.registered',
  'device.reported',
  'license.created',
  'license.updated',
  'member.added',
  'member.rejected',
  'member.removed',
  'pool.activate',
  'pool.close',
  'pool.created',
  'pool.resume',
  'pool.suspend',
  'pool.updated',
] as const;

export const WEBHOOK_EVENTS: readonly string[] = [...new Set([...NOTIFYING_ACTIONS, ...WEBHOOK_ONLY_ACTIONS])].sort();
const KNOWN = new Set(WEBHOOK_EVENTS);

/** An endpoint's filter entry that takes every event type, present and future. */
export const ALL_EVENTS = '*';

export const isWebhookEvent = (action: string) => KNOWN.has(action);

/**
 * The body of every delivery of an event, in the Standard Webhooks shape: `type`, `timestamp`
 * (when it happened) and `data`, the audit event — what changed, where, by whom, before and
 * after. `data.eventId` is the same for every endpoint that hears of it.
 */
export function webhookBody(e: AuditEventRow): string {
  return JSON.stringify({
    type: e.action,
    timestamp: e.at.toISOString(),
    data: {
      eventId: e.id,
      rootId: e.rootId,
      poolId: e.poolId,
      licenseId: e.licenseId,
      memberId: e.memberId,
      entityType: e.entityType,
      entityId: e.entityId,
      actorId: e.actorId,
      requestId: e.requestId,
      before: e.before,
      after: e.after,
    },
  });
}
