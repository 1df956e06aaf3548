/** Schema pieces shared by every resource's schemas. */
import { z } from 'zod';

export const Email = z
  .string()
  .trim()
  .max(254)
  .email()
  .describe('E-mail address; compared case-insensitively');

export const Name = z.string().trim().min(1).max(200);

/** An id in a path or body; its prefix is checked by the service, which answers 404. */
export const IdParam = z.string().min(1).max(64);
export const IdParams = z.object({ id: IdParam }).strict();

export const Timestamp = z.string().describe('ISO 8601 UTC timestamp');
/** The instants PostgreSQL and JavaScript both hold: years 0001 to 9999 (UTC). */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');
export const TimestampInput = z.iso
  .datetime({ offset: true })
  .refine((s) => {
    const at = Date.parse(s);
    return at >= EARLIEST && at <= LATEST;
  }, 'must fall between the years 0001 and 9999 (UTC)')
  .describe('ISO 8601 timestamp');

export const PostalAddress = z
  .object({
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).optional(),
    postalCode: z.string().trim().min(1).max(20),
    city: z.string().trim().min(1).max(100),
    region: z.string().trim().max(100).optional(),
    country: z.string().trim().length(2).describe('ISO 3166-1 alpha-2 country code'),
  })
  .strict();

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size'),
  cursor: z.string().max(64).optional().describe('`nextCursor` of the previous page'),
};

export function Page<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page'),
  });
}

/** Builds a page from `limit + 1` rows fetched in id order. */
export function toPage<R extends { id: string }, T>(rows: R[], limit: number, present: (row: R) => T) {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return { data: pageRows.map(present), nextCursor: more ? pageRows[pageRows.length - 1]!.id : null };
}

export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable error code'),
    instance: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .describe('RFC 9457 problem details');

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  422: Problem,
};
