/**
 * N4: which audit events are mailed, to whom (N2) and with what. The audit trail is the one
 * record of every change; the trigger of migration `0013_notify_trigger` turns each event whose
 * action is listed in the SQL function `licensepool_notifying_action` into a `notify` job in the
 * same transaction, and the handler here (`mailEvent`) resolves recipients and renders the
 * messages into the outbox. `NOTIFYING_ACTIONS` must name the same actions (a test checks it).
 */
import type { Executor } from '../../db/client.js';
import type { Role } from '../../db/schema.js';
import type { AuditEventRow } from '../audit/audit.repo.js';
import { findApplication } from '../applications/applications.repo.js';
import { findLicense } from '../licenses/licenses.repo.js';
import { findMember } from '../members/members.repo.js';
import { findTicket } from '../queue/tickets.repo.js';
import { addressKey, queueMail, type MailIntent, type MailSettings, type Recipient } from './mail.queue.js';
import { findAccountsByIds, findPoolsByIds, findRoleHolders, findSettings } from './notifications.repo.js';
import type { TemplateEvent, Variables } from './templates.catalog.js';

/** What one audit event mails: one template, to these people, about this pool. */
interface EventMail {
  event: TemplateEvent;
  rootId: string;
  poolId: string;
  licenseId?: string | null;
  memberId?: string | null;
  recipients: Recipient[];
  variables: Variables;
}

type Resolver = (tx: Executor, e: AuditEventRow) => Promise<EventMail | null>;

const STATUS_LABELS: Record<string, string> = {
  pending_provision: 'Pending provision',
  pending_start: 'Pending start',
  in_use: 'In use',
  access_denied: 'Access denied',
  expired: 'Expired',
  finalized: 'Contract finalized',
};

const dateOnly = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 10) : '');
const field = (value: unknown, key: string): unknown => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined);
const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');

/** Distinct addresses, first one kept, in a stable order. */
function distinct(recipients: Recipient[]): Recipient[] {
  const seen = new Map<string, Recipient>();
  for (const r of recipients) if (!seen.has(addressKey(r.email))) seen.set(addressKey(r.email), r);
  return [...seen.values()].sort((a, b) => addressKey(a.email).localeCompare(addressKey(b.email)));
}

const asRecipient = (a: { accountId?: string; id?: string; email: string; name: string }): Recipient => ({ accountId: a.accountId ?? a.id ?? null, email: a.email, name: a.name });

/**
 * N2: the people a notice about a pool goes to: its manager and deputies; the admins of its
 * parent (the reseller) unless the root turned that off; and `extra` roles held on its path
 * (e.g. the root's operators for "limit reached").
 */
export async function poolRecipients(
  tx: Executor,
  pool: { id: string; parentId: string | null; rootId: string; path: readonly string[] },
  options: { parentAdmins?: boolean; pathRoles?: readonly Role[] } = {},
): Promise<Recipient[]> {
  const parentAdmins = options.parentAdmins ?? (await findSettings(tx, pool.rootId))?.notifyParentAdmins ?? true;
  const wanted: { poolIds: string[]; roles: Role[] }[] = [{ poolIds: [pool.id], roles: ['manager', 'deputy'] }];
  if (parentAdmins && pool.parentId) wanted.push({ poolIds: [pool.parentId], roles: ['admin'] });
  if (options.pathRoles?.length) wanted.push({ poolIds: [...pool.path], roles: [...options.pathRoles] });
  return distinct((await findRoleHolders(tx, wanted)).map(asRecipient));
}

async function poolOf(tx: Executor, id: string | null) {
  if (!id) return undefined;
  const [pool] = await findPoolsByIds(tx, [id]);
  return pool;
}

async function applicationMail(tx: Executor, e: AuditEventRow, event: TemplateEvent): Promise<EventMail | null> {
  const application = await findApplication(tx, e.entityId);
  if (!application) return null;
  const [parent, pool] = [await poolOf(tx, application.parentId), await poolOf(tx, application.poolId)];
  if (!parent || !pool) return null;
  const people = new Map((await findAccountsByIds(tx, [application.applicantId, application.managerId])).map((a) => [a.id, a]));
  let recipients: Recipient[];
  if (event === 'application.received') {
    // Those who decide it: the parent's admins, and the vendor's operators.
    recipients = distinct(
      (await findRoleHolders(tx, [{ poolIds: [parent.id], roles: ['admin'] }, { poolIds: [...parent.path], roles: ['operator'] }])).map(asRecipient),
    );
  } else {
    recipients = distinct([application.applicantId, application.managerId].flatMap((id) => (people.has(id) ? [asRecipient(people.get(id)!)] : [])));
  }
  return {
    event,
    rootId: pool.rootId,
    poolId: pool.id,
    recipients,
    variables: {
      company: application.company,
      contactName: application.contactName,
      applicantEmail: people.get(application.applicantId)?.email ?? '',
      managerEmail: people.get(application.managerId)?.email ?? '',
      parentName: parent.name,
      applicationId: application.id,
      reason: application.reason ?? text(field(e.after, 'reason')),
    },
  };
}

const licenseStatusChanged: Resolver = async (tx, e) => {
  const license = e.licenseId ? await findLicense(tx, e.licenseId) : undefined;
  const pool = await poolOf(tx, license?.poolId ?? e.poolId);
  if (!license || !pool) return null;
  const status = text(field(e.after, 'status')) || license.status;
  const previous = text(field(e.before, 'status'));
  return {
    event: 'license.status_changed',
    rootId: pool.rootId,
    poolId: pool.id,
    licenseId: license.id,
    recipients: await poolRecipients(tx, pool),
    variables: {
      licenseId: license.id,
      licenseKey: license.key ?? '',
      licenseName: license.name ?? '',
      licenseLabel: license.name ?? license.key ?? license.id,
      endDate: dateOnly(license.validUntil),
      status,
      statusLabel: STATUS_LABELS[status] ?? status,
      previousStatus: previous,
      previousStatusLabel: STATUS_LABELS[previous] ?? previous,
    },
  };
};

/** Audit action → what it mails. Keep in step with `licensepool_notifying_action` (SQL). */
const RESOLVERS: Record<string, Resolver> = {
  'application.received': (tx, e) => applicationMail(tx, e, 'application.received'),
  'application.approved': (tx, e) => applicationMail(tx, e, 'application.approved'),
  'application.rejected': (tx, e) => applicationMail(tx, e, 'application.rejected'),
  'pool.opened': async (tx, e) => {
    const pool = await poolOf(tx, e.poolId);
    if (!pool) return null;
    const managerId = text(field(e.after, 'managerId'));
    const managers = managerId
      ? (await findAccountsByIds(tx, [managerId])).map(asRecipient)
      : (await findRoleHolders(tx, [{ poolIds: [pool.id], roles: ['manager'] }])).map(asRecipient);
    return { event: 'pool.opened', rootId: pool.rootId, poolId: pool.id, recipients: distinct(managers), variables: { managerEmail: managers[0]?.email ?? '' } };
  },
  'member.verified': async (tx, e) => {
    const view = e.memberId ? await findMember(tx, e.memberId) : undefined;
    const pool = await poolOf(tx, view?.member.poolId ?? e.poolId);
    if (!view || !pool) return null;
    const label = view.account ? view.account.email : view.device ? `device ${view.device.serial} (${view.device.type})` : view.member.id;
    return {
      event: 'member.verified',
      rootId: pool.rootId,
      poolId: pool.id,
      memberId: view.member.id,
      // [000]: the pool's managers; a reseller's admins are not told of every tenant.
      recipients: await poolRecipients(tx, pool, { parentAdmins: false }),
      variables: { memberId: view.member.id, memberLabel: label, memberEmail: view.account?.email ?? '', deviceSerial: view.device?.serial ?? '' },
    };
  },
  'ticket.held': async (tx, e) => {
    const ticket = await findTicket(tx, e.entityId);
    const view = ticket ? await findMember(tx, ticket.memberId) : undefined;
    const pool = await poolOf(tx, ticket?.poolId ?? null);
    // A device has no mailbox: its app learns of the hold from the ticket.
    if (!ticket || !view?.account || !pool) return null;
    const heldUntil = text(field(e.after, 'heldUntil')) || (ticket.heldUntil ? ticket.heldUntil.toISOString() : '');
    return {
      event: 'ticket.held',
      rootId: pool.rootId,
      poolId: pool.id,
      memberId: view.member.id,
      recipients: [asRecipient(view.account)],
      variables: { meter: ticket.meterKey, quantity: ticket.quantity, heldUntil, ticketId: ticket.id },
    };
  },
  'pool.limit_reached': async (tx, e) => {
    const pool = await poolOf(tx, e.poolId);
    if (!pool) return null;
    return {
      event: 'pool.limit_reached',
      rootId: pool.rootId,
      poolId: pool.id,
      // [004]: the managers and the vendor.
      recipients: await poolRecipients(tx, pool, { pathRoles: ['operator'] }),
      variables: { meter: text(field(e.after, 'meter')), limit: text(field(e.after, 'limit')), used: text(field(e.after, 'used')) },
    };
  },
  'license.activated': licenseStatusChanged,
  'license.started': licenseStatusChanged,
  'license.suspend': licenseStatusChanged,
  'license.resume': licenseStatusChanged,
  'license.finalize': licenseStatusChanged,
  'license.expired': licenseStatusChanged,
};

/** The actions mailed; the SQL function `licensepool_notifying_action` lists the same. */
export const NOTIFYING_ACTIONS = Object.keys(RESOLVERS).sort();

/** Writes the mail of one audit event to the outbox (idempotent: keyed by event, template and recipient). */
export async function mailEvent(tx: Executor, e: AuditEventRow, settings: MailSettings, now: Date): Promise<number> {
  const resolve = RESOLVERS[e.action];
  const mail = resolve ? await resolve(tx, e) : null;
  if (!mail) return 0;
  const intents: MailIntent[] = mail.recipients.map((to) => ({
    key: `${e.id}:${mail.event}:${addressKey(to.email)}`,
    event: mail.event,
    rootId: mail.rootId,
    poolId: mail.poolId,
    licenseId: mail.licenseId ?? e.licenseId,
    memberId: mail.memberId ?? e.memberId,
    sourceEventId: e.id,
    to,
    variables: mail.variables,
  }));
  return (await queueMail(tx, intents, settings, now)).length;
}
