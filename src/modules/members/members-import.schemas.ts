import { z } from 'zod';
import { Email } from '../../http/schemas.js';

/** The request body may be this large: about 100,000 rows of e-mails (the other routes take 1 MiB). */
export const IMPORT_BODY_LIMIT = 5 * 1024 * 1024;

/** A person's row: checked as the add-member body checks its e-mail. */
export const ImportPersonRow = z.object({ email: Email });

export const ImportMembersQuery = z
  .object({
    atomic: z
      .enum(['true', 'false'])
      .default('false')
      .describe('true: all or nothing — when any row is bad nothing is written and the answer is 422 IMPORT_REJECTED listing the bad rows'),
  })
  .strict();
export type ImportMembersQuery = z.infer<typeof ImportMembersQuery>;

export const ImportMembersBody = z
  .string()
  .describe(
    'The CSV file (text/csv, UTF-8). Its first line is a header naming the columns `email`, or `serial` and `type`, or all three (other columns are ignored); then one member per line: a person by the e-mail of an existing account, or a device by serial and type. Separator: comma, semicolon or tab, as the header uses. Blank lines are skipped.',
  )
  .meta({ examples: ['email,serial,type\nanna.muster@example.com,,\n,SN-000123,AV-07\n'] });

export const ImportRowResult = z.object({
  line: z.number().int().describe("The row's line in the file (the header is line 1)"),
  status: z.enum(['added', 'failed']),
  memberId: z.string().optional().describe('The new member (pending), when added'),
  code: z.string().optional().describe('Why the row failed: the code the add-member route would answer (ACCOUNT_NOT_FOUND, DEVICE_BLOCKED, MEMBER_IN_OTHER_POOL, MEMBER_EXISTS, VALIDATION_FAILED…), or DUPLICATE_ROW'),
  detail: z.string().optional(),
}).meta({ id: 'ImportRowResult' });

export const ImportMembersResult = z.object({
  imported: z.number().int().describe('Rows added as members'),
  failed: z.number().int().describe('Rows not added'),
  rows: z.array(ImportRowResult).describe('One result per data row, in line order'),
}).meta({ id: 'ImportMembersResult' });
