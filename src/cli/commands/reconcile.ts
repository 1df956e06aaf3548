import type { Command } from 'commander';
import { apiOf, withApiOptions, type ApiOptions } from '../api.js';
import { action } from '../command.js';

interface Drift {
  poolId: string;
  meter: string;
  counted: number;
  actual: number;
}

export function registerReconcile(program: Command): void {
  withApiOptions(
    program
      .command('reconcile')
      .description('compare every usage counter with the live claims, in one root or every root you operate (all, for a superuser); exit 1 when drift is left')
      .option('--root <id>', 'only this root')
      .option('--fix', 'set the drifted counters right')
      .option('--json', "print the API's answer"),
  ).action(
    action(async (options: ApiOptions & { root?: string; fix?: boolean; json?: boolean }) => {
      const api = apiOf(options);
      const method = options.fix ? 'POST' : 'GET';
      const answer = options.root
        ? await api.json<{ drift: Drift[]; fixed: boolean }>(method, `/v1/pools/${encodeURIComponent(options.root)}/reconcile`).then((a) => ({
            data: [{ rootId: options.root!, drift: a.drift }],
            fixed: a.fixed,
          }))
        : await api.json<{ data: { rootId: string; drift: Drift[] }[]; fixed: boolean }>(method, '/v1/reconcile');
      if (options.json) process.stdout.write(`${JSON.stringify(answer)}\n`);
      else {
        if (answer.data.length === 0) process.stdout.write('no root to reconcile\n');
        for (const { rootId, drift } of answer.data) {
          for (const d of drift) process.stdout.write(`${rootId}\t${d.poolId}\t${d.meter}\tcounted ${d.counted}\tactual ${d.actual}${answer.fixed ? '\tfixed' : ''}\n`);
          process.stdout.write(`${rootId}: ${drift.length} counters drifted${answer.fixed && drift.length > 0 ? ', fixed' : ''}\n`);
        }
      }
      const left = answer.fixed ? 0 : answer.data.reduce((n, r) => n + r.drift.length, 0);
      return left > 0 ? 1 : 0;
    }),
  );
}
