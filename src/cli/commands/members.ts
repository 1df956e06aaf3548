import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ApiProblem, apiOf, CliError, withApiOptions, type ApiOptions } from '../api.js';
import { action } from '../command.js';

interface RowResult {
  line: number;
  status: 'added' | 'failed';
  code?: string;
  detail?: string;
}

async function readInput(file: string): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let text = '';
  for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk;
  return text;
}

export function registerMembers(program: Command): void {
  const members = program.command('members').description('members of pools');
  withApiOptions(
    members
      .command('import')
      .description(
        'add the members a CSV file names, pending, as adding them one by one would (header: email, or serial and type); prints each failed row by line and a summary; exit 1 when any row failed',
      )
      .argument('<file>', 'the CSV file; - reads standard input')
      .requiredOption('--pool <id>', 'the pool they join')
      .option('--atomic', 'write nothing when any row is bad')
      .option('--json', "print the API's answer"),
  ).action(
    action(async (file: string, options: ApiOptions & { pool: string; atomic?: boolean; json?: boolean }) => {
      const csv = await readInput(file);
      const rows = csv.split('\n').filter((l) => l.trim()).length - 1;
      // For a person watching a long import; logs and pipes get the result alone.
      if (process.stderr.isTTY) process.stderr.write(`importing ${Math.max(rows, 0)} rows into ${options.pool}…\n`);
      let result: { imported: number; failed: number; rows: RowResult[] };
      try {
        result = await apiOf(options).json('POST', `/v1/pools/${encodeURIComponent(options.pool)}/members/import`, {
          query: { atomic: options.atomic ? 'true' : undefined },
          csv,
        });
      } catch (err) {
        if (!(err instanceof ApiProblem && err.problem.code === 'IMPORT_REJECTED')) throw err;
        const failed = err.problem.rows as RowResult[];
        if (options.json) process.stdout.write(`${JSON.stringify({ imported: 0, failed: failed.length, rows: failed })}\n`);
        else {
          for (const r of failed) process.stdout.write(`line ${r.line}\t${r.code}\t${r.detail}\n`);
          process.stdout.write(`0 imported, ${failed.length} failed: nothing was imported (--atomic)\n`);
        }
        return 1;
      }
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else {
        for (const r of result.rows) if (r.status === 'failed') process.stdout.write(`line ${r.line}\t${r.code}\t${r.detail}\n`);
        process.stdout.write(`${result.imported} imported, ${result.failed} failed, of ${result.rows.length} rows\n`);
      }
      return result.failed > 0 ? 1 : 0;
    }),
  );
}
