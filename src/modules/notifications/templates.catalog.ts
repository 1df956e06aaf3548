/**
 * N3: the mail every event sends, as shipped. A root may replace any of them
 * (`PUT /v1/pools/{rootId}/templates/{event}`); the defaults apply where it has not.
 * Templates are Mustache: `{{name}}` inserts a variable (HTML-escaped in the HTML part),
 * `{{#name}}…{{/name}}` shows its content only when the variable is set, `{{^name}}…{{/name}}`
 * only when it is not.
 */

export const TEMPLATE_EVENTS = [
  'application.received',
  'application.approved',
  'application.rejected',
  'pool.opened',
  'member.verified',
  'ticket.held',
  'pool.limit_reached',
  'license.status_changed',
  'license.expiring',
  'license.cut_off',
  'license.renewal',
] as const;
export type TemplateEvent = (typeof TEMPLATE_EVENTS)[number];

export const isTemplateEvent = (value: string): value is TemplateEvent => (TEMPLATE_EVENTS as readonly string[]).includes(value);

export type Variables = Record<string, string | number>;

export interface TemplateText {
  subject: string;
  text: string;
  html: string;
}

interface VariableDoc {
  description: string;
  sample: string | number;
}

/** Variables every mail has. */
const COMMON: Record<string, VariableDoc> = {
  rootName: { description: 'The vendor (root pool) the mail is sent for', sample: 'Acme Access' },
  poolName: { description: 'The pool the mail is about', sample: 'Sunset Towers' },
  poolId: { description: "The pool's id", sample: 'pool_01jz3k8m0qf3vtw6h1x2y3z4a5' },
  recipientName: { description: "The recipient's name", sample: 'Maria Rossi' },
  recipientEmail: { description: "The recipient's e-mail address", sample: 'maria.rossi@example.com' },
  publicUrl: { description: 'Where licensepool is reached (PUBLIC_URL)', sample: 'https://licenses.example.com' },
};

const APPLICATION: Record<string, VariableDoc> = {
  company: { description: 'The company applying', sample: 'Sunset Towers Ltd' },
  contactName: { description: 'Its contact person', sample: 'John Smith' },
  applicantEmail: { description: 'E-mail of the account that applied', sample: 'john.smith@example.com' },
  managerEmail: { description: 'E-mail of the manager named in the application', sample: 'maria.rossi@example.com' },
  parentName: { description: 'The pool applied to', sample: 'Alpine Distribution' },
  applicationId: { description: "The application's id", sample: 'app_01jz3k8m0qf3vtw6h1x2y3z4a5' },
};

const LICENSE: Record<string, VariableDoc> = {
  licenseId: { description: "The license's id", sample: 'lic_01jz3k8m0qf3vtw6h1x2y3z4a5' },
  licenseKey: { description: 'Its key (empty for a license placed straight on a pool)', sample: 'K7Q2-M9XH-3TPB-W4RD-6NCF-V' },
  licenseName: { description: 'Its name (may be empty)', sample: 'Premium' },
  licenseLabel: { description: 'Its name, else its key, else its id', sample: 'Premium' },
  endDate: { description: 'The end of the license (YYYY-MM-DD, UTC; empty when it has none)', sample: '2026-12-31' },
};

const REMINDER: Record<string, VariableDoc> = {
  ...LICENSE,
  daysLeft: { description: 'Whole days until the end (negative after it)', sample: 15 },
  daysLeftText: { description: 'The same in words: "1 day", "15 days"', sample: '15 days' },
};

export interface EventTemplate {
  /** What the event is, for the template list. */
  description: string;
  /** Who gets it by default (N2). */
  recipients: string;
  variables: Record<string, VariableDoc>;
  template: TemplateText;
}

/** The HTML part: the same words as the text part, in a plain page. */
function page(body: string): string {
  return [
    '<!doctype html>',
    '<html><body style="font-family: Helvetica, Arial, sans-serif; color: #222; line-height: 1.5">',
    body,
    '<p style="color: #777; font-size: 12px">{{rootName}} · sent by licensepool to {{recipientEmail}}</p>',
    '</body></html>',
  ].join('\n');
}

const FOOTER = '\n\n--\n{{rootName}} · sent by licensepool to {{recipientEmail}}\n';
const RENEW = 'In case you require a new license or a modification or renewal of existing licenses, please contact your distributor.';

export const EVENT_TEMPLATES: Record<TemplateEvent, EventTemplate> = {
  'application.received': {
    description: 'A company applied for a pool under one of yours',
    recipients: 'Admins of the pool applied to, and the root operators',
    variables: { ...COMMON, ...APPLICATION },
    template: {
      subject: '[{{rootName}}] New application from {{company}}',
      text: `Hello {{recipientName}},\n\n{{company}} ({{contactName}}, {{applicantEmail}}) applied for a pool under {{parentName}}, with {{managerEmail}} as its manager.\n\nReview it: {{publicUrl}}/applications/{{applicationId}}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p><strong>{{company}}</strong> ({{contactName}}, {{applicantEmail}}) applied for a pool under {{parentName}}, with {{managerEmail}} as its manager.</p>\n<p><a href="{{publicUrl}}/applications/{{applicationId}}">Review the application</a></p>',
      ),
    },
  },
  'application.approved': {
    description: 'An application was approved: the pool exists, waiting for its set-up',
    recipients: 'The applicant and the named manager',
    variables: { ...COMMON, ...APPLICATION },
    template: {
      subject: '[{{rootName}}] Your application for {{company}} was approved',
      text: `Hello {{recipientName}},\n\nthe application of {{company}} under {{parentName}} was approved. The pool {{poolName}} now waits for its manager ({{managerEmail}}) to give the billing address, accept the terms and give the payment details.\n\n{{publicUrl}}/pools/{{poolId}}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>The application of <strong>{{company}}</strong> under {{parentName}} was approved. The pool {{poolName}} now waits for its manager ({{managerEmail}}) to give the billing address, accept the terms and give the payment details.</p>\n<p><a href="{{publicUrl}}/pools/{{poolId}}">Open the pool</a></p>',
      ),
    },
  },
  'application.rejected': {
    description: 'An application was rejected',
    recipients: 'The applicant and the named manager',
    variables: { ...COMMON, ...APPLICATION, reason: { description: 'Why it was rejected', sample: 'We do not serve this region.' } },
    template: {
      subject: '[{{rootName}}] Your application for {{company}} was rejected',
      text: `Hello {{recipientName}},\n\nthe application of {{company}} under {{parentName}} was rejected.\n\nReason: {{reason}}${FOOTER}`,
      html: page('<p>Hello {{recipientName}},</p>\n<p>The application of <strong>{{company}}</strong> under {{parentName}} was rejected.</p>\n<p>Reason: {{reason}}</p>'),
    },
  },
  'pool.opened': {
    description: 'A pool was opened for its manager (an application approved)',
    recipients: "The pool's manager",
    variables: { ...COMMON, managerEmail: APPLICATION.managerEmail! },
    template: {
      subject: '[{{rootName}}] {{poolName}} is open: complete its set-up',
      text: `Hello {{recipientName}},\n\nyou are the manager of {{poolName}}. To start using it, give its billing address, accept the terms and give the payment details:\n\n{{publicUrl}}/pools/{{poolId}}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>You are the manager of <strong>{{poolName}}</strong>. To start using it, give its billing address, accept the terms and give the payment details.</p>\n<p><a href="{{publicUrl}}/pools/{{poolId}}">Complete the set-up</a></p>',
      ),
    },
  },
  'member.verified': {
    description: 'A member of a pool was verified and may now use licenses',
    recipients: "The pool's manager and deputies",
    variables: {
      ...COMMON,
      memberId: { description: "The member's id", sample: 'mem_01jz3k8m0qf3vtw6h1x2y3z4a5' },
      memberLabel: { description: "The member's e-mail, or its device's serial and type", sample: 'tenant@example.com' },
      memberEmail: { description: "The member's e-mail (empty for a device)", sample: 'tenant@example.com' },
      deviceSerial: { description: "The device's serial (empty for a person)", sample: '' },
    },
    template: {
      subject: '[{{rootName}}] {{memberLabel}} was verified in {{poolName}}',
      text: `Hello {{recipientName}},\n\n{{memberLabel}} was verified as a member of {{poolName}} and may now use its licenses.${FOOTER}`,
      html: page('<p>Hello {{recipientName}},</p>\n<p><strong>{{memberLabel}}</strong> was verified as a member of {{poolName}} and may now use its licenses.</p>'),
    },
  },
  'ticket.held': {
    description: "A queue ticket's turn came: units are held for its member until a deadline",
    recipients: 'The member',
    variables: {
      ...COMMON,
      meter: { description: 'The meter waited for', sample: 'seats' },
      quantity: { description: 'Units held', sample: 1 },
      heldUntil: { description: 'Until when the units are held (ISO 8601, UTC)', sample: '2026-01-01T10:05:00.000Z' },
      ticketId: { description: "The ticket's id", sample: 'tkt_01jz3k8m0qf3vtw6h1x2y3z4a5' },
    },
    template: {
      subject: '[{{rootName}}] Your {{meter}} license is ready until {{heldUntil}}',
      text: `Hello {{recipientName}},\n\nyour turn in the queue of {{poolName}} has come: {{quantity}} × {{meter}} is held for you until {{heldUntil}}. Claim it before then, or it passes to the next in line.\n\nTicket: {{ticketId}}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>Your turn in the queue of {{poolName}} has come: <strong>{{quantity}} × {{meter}}</strong> is held for you until {{heldUntil}}. Claim it before then, or it passes to the next in line.</p>\n<p>Ticket: {{ticketId}}</p>',
      ),
    },
  },
  'pool.limit_reached': {
    description: 'A claim was refused because a pool has no more licenses of a meter (at most one mail an hour per pool and meter)',
    recipients: "The pool's manager and deputies, the parent's admins (as the root configures) and the root operators",
    variables: {
      ...COMMON,
      meter: { description: 'The meter that ran out', sample: 'seats' },
      limit: { description: "The pool's limit", sample: 50 },
      used: { description: 'Units in use', sample: 50 },
    },
    template: {
      subject: '[{{rootName}}] No more {{meter}} licenses in {{poolName}}',
      text: `Hello {{recipientName}},\n\n{{poolName}} has no more {{meter}} licenses: {{used}} of {{limit}} are in use, and a request was refused.\n\n${RENEW}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p><strong>{{poolName}}</strong> has no more {{meter}} licenses: {{used}} of {{limit}} are in use, and a request was refused.</p>\n<p>' + RENEW + '</p>',
      ),
    },
  },
  'license.status_changed': {
    description: 'A license was activated, started, suspended, resumed, finalized or expired',
    recipients: "The pool's manager and deputies, and the parent's admins (as the root configures)",
    variables: {
      ...COMMON,
      ...LICENSE,
      status: { description: 'The new status (pending_start, in_use, access_denied, expired, finalized…)', sample: 'access_denied' },
      statusLabel: { description: 'The new status in words', sample: 'Access denied' },
      previousStatus: { description: 'The status before', sample: 'in_use' },
      previousStatusLabel: { description: 'The status before, in words', sample: 'In use' },
    },
    template: {
      subject: '[{{rootName}}] License {{licenseLabel}} of {{poolName}}: {{statusLabel}}',
      text: `Hello {{recipientName}},\n\nthe license {{licenseLabel}} of {{poolName}} changed from "{{previousStatusLabel}}" to "{{statusLabel}}".{{#endDate}}\nIt ends on {{endDate}}.{{/endDate}}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>The license <strong>{{licenseLabel}}</strong> of {{poolName}} changed from “{{previousStatusLabel}}” to “{{statusLabel}}”.</p>{{#endDate}}\n<p>It ends on {{endDate}}.</p>{{/endDate}}',
      ),
    },
  },
  'license.expiring': {
    description: 'Reminder before the end of a license (N1: 30, 15, 7 and 1 days before, or the pool\'s rule)',
    recipients: "The pool's manager and deputies, and the parent's admins (as the root configures)",
    variables: { ...COMMON, ...REMINDER },
    template: {
      subject: '[{{rootName}}] License {{licenseLabel}} of {{poolName}} ends in {{daysLeftText}}',
      text: `Hello {{recipientName}},\n\nthe license {{licenseLabel}} of {{poolName}} ends on {{endDate}}, in {{daysLeftText}}. After that the service it gives stops.\n\n${RENEW}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>The license <strong>{{licenseLabel}}</strong> of {{poolName}} ends on <strong>{{endDate}}</strong>, in {{daysLeftText}}. After that the service it gives stops.</p>\n<p>' + RENEW + '</p>',
      ),
    },
  },
  'license.cut_off': {
    description: 'The license ended today: end of contract with cut-off',
    recipients: "The pool's manager and deputies, the parent's admins (as the root configures), and the pool's verified members with an account",
    variables: { ...COMMON, ...REMINDER },
    template: {
      subject: '[{{rootName}}] License {{licenseLabel}} of {{poolName}} has ended',
      text: `Hello {{recipientName}},\n\nthe contract of the license {{licenseLabel}} of {{poolName}} ended on {{endDate}}, and the service it gave is cut off.\n\n${RENEW}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>The contract of the license <strong>{{licenseLabel}}</strong> of {{poolName}} ended on {{endDate}}, and the service it gave is cut off.</p>\n<p>' + RENEW + '</p>',
      ),
    },
  },
  'license.renewal': {
    description: 'The day after the end: a reminder of a possible renewal',
    recipients: "The pool's manager and deputies, and the parent's admins (as the root configures)",
    variables: { ...COMMON, ...REMINDER },
    template: {
      subject: '[{{rootName}}] Renew license {{licenseLabel}} of {{poolName}}',
      text: `Hello {{recipientName}},\n\nthe license {{licenseLabel}} of {{poolName}} ended on {{endDate}}. It can be renewed.\n\n${RENEW}${FOOTER}`,
      html: page(
        '<p>Hello {{recipientName}},</p>\n<p>The license <strong>{{licenseLabel}}</strong> of {{poolName}} ended on {{endDate}}. It can be renewed.</p>\n<p>' + RENEW + '</p>',
      ),
    },
  },
};

/** The sample variables of an event, for previews. */
export function sampleVariables(event: TemplateEvent): Variables {
  return Object.fromEntries(Object.entries(EVENT_TEMPLATES[event].variables).map(([k, v]) => [k, v.sample]));
}
