/**
 * N6: one HTTP attempt of a delivery. node:http(s) rather than fetch, because only they take a
 * `lookup` of our own, which is where the target policy sees the addresses a connection uses.
 * Redirects are not followed (a 3xx is a failed attempt): the receiver is the URL registered.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { guardedLookup, refusedLiteral, TargetRefused, type TargetPolicy } from './webhooks.targets.js';

/** How long one attempt may take, connection to the end of the answer. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How much of an answer the delivery log keeps. */
const KEPT_ANSWER_BYTES = 1024;

export interface AttemptResult {
  /** The receiver's HTTP status; null when no answer came (refused, unreachable, timed out). */
  statusCode: number | null;
  /** Why the attempt failed; null when it succeeded (2xx). */
  error: string | null;
  responseBody: string | null;
  durationMs: number;
}

export async function postWebhook(url: string, headers: Record<string, string>, body: string, policy: TargetPolicy): Promise<AttemptResult> {
  const started = performance.now();
  const target = new URL(url);
  const elapsed = () => Math.round(performance.now() - started);
  const refused = refusedLiteral(target, policy);
  if (refused) return { statusCode: null, error: refused.message, responseBody: null, durationMs: elapsed() };
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  try {
    const answer = await new Promise<{ statusCode: number; text: string }>((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          // No shared keep-alive pool: a reused connection would skip the lookup, and with it the target check.
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'licensepool-webhooks/1', ...headers },
          lookup: guardedLookup(policy),
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        },
        (res: IncomingMessage) => {
          const kept: Buffer[] = [];
          let size = 0;
          // PostgreSQL text holds no NUL; the log shows it as U+FFFD.
          const answer = () => ({ statusCode: res.statusCode ?? 0, text: Buffer.concat(kept).toString('utf8').replaceAll('\u0000', '\uFFFD') });
          res.on('data', (chunk: Buffer) => {
            kept.push(chunk.subarray(0, KEPT_ANSWER_BYTES - size));
            size += Math.min(chunk.length, KEPT_ANSWER_BYTES - size);
            // The status is in and the log keeps no more: the rest of a large answer is not read.
            if (size >= KEPT_ANSWER_BYTES) {
              resolve(answer());
              res.destroy();
            }
          });
          res.on('end', () => resolve(answer()));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    const ok = answer.statusCode >= 200 && answer.statusCode < 300;
    const error = ok ? null : answer.statusCode >= 300 && answer.statusCode < 400 ? `answered ${answer.statusCode}; redirects are not followed` : `answered ${answer.statusCode}`;
    return { statusCode: answer.statusCode, error, responseBody: answer.text, durationMs: elapsed() };
  } catch (err) {
    const e = err as Error & { code?: string };
    const reason =
      e.name === 'TimeoutError' || e.name === 'AbortError'
        ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s`
        : e instanceof TargetRefused || !e.code || e.message.includes(e.code)
          ? e.message
          : `${e.code}: ${e.message}`;
    return { statusCode: null, error: reason, responseBody: null, durationMs: elapsed() };
  }
}
