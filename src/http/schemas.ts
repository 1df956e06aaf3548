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
  .strict()
  .meta({ id: 'PostalAddress' });

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50).describe('Page size'),
  cursor: z.string().max(64).optional().describe('`nextCursor` of the previous page'),
};

/** The page schema of each item schema, made once: one named with an id is `<id>Page` in the OpenAPI document. */
const pages = new WeakMap<z.ZodType, z.ZodType>();

export function Page<T extends z.ZodType>(item: T) {
  const known = pages.get(item);
  if (known) return known as ReturnType<typeof pageOf<T>>;
  const page = pageOf(item);
  const id = z.globalRegistry.get(item)?.id;
  const named = id ? page.meta({ id: `${id}Page` }) : page;
  pages.set(item, named);
  return named;
}

function pageOf<T extends z.ZodType>(item: T) {
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
    type: z.string().describe('`urn:licensepool:problem:<code>`'),
    title: z.string().describe('The title of the code in the error table'),
    status: z.number().int().describe('The HTTP status'),
    detail: z.string().describe('What went wrong in this request, for people'),
    code: z.string().describe('Stable error code (the error table, src/lib/errors.ts)'),
    instance: z.string().describe('The path of the request'),
    requestId: z.string().describe('The request id, also in the `X-Request-Id` header and the server log'),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional().describe('The invalid fields (`body.limits.seats`) and what is wrong with each'),
    reasons: z
      .array(z.looseObject({ code: z.string() }))
      .optional()
      .describe('Why a claim or sync is refused: every reason, each with its code and the figures it concerns'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** The error answers every authenticated route can give, for the OpenAPI document. */
export const ERROR_RESPONSES = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  422: Problem,
};
