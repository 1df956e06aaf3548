/**
 * N6: how a webhook delivery is signed, after the Standard Webhooks specification
 * (standardwebhooks.com), so a receiver can check it with that project's libraries or a few
 * lines of its own. The secret is `whsec_` and 32 random bytes in base64; the signature is
 * `v1,` and the base64 HMAC-SHA256, under those bytes, of `{id}.{timestamp}.{body}`: the
 * delivery's id (the same on every attempt), the Unix time of this attempt in seconds, and the
 * exact body. Signing the timestamp is what makes a replay detectable: a receiver refuses a
 * timestamp more than a few minutes from its clock, and remembers the ids it has processed.
 */
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export function signWebhook(secret: string, id: string, at: Date, body: string): WebhookHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
