import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { apiOf, print, withApiOptions, type ApiOptions } from '../api.js';
import { action, integer, list } from '../command.js';

/** `seats=5,rooms=20,sip=unlimited` → { seats: 5, rooms: 20, sip: null }. */
function limits(text: string): Record<string, number | null> {
  return Object.fromEntries(
    text.split(',').filter(Boolean).map((pair) => {
      const [key, value] = pair.split('=');
      if (!key?.trim() || value === undefined) throw new InvalidArgumentError(`meter=count pairs, not ${pair}`);
      if (value.trim() === 'unlimited') return [key.trim(), null];
      return [key.trim(), integer(value)];
    }),
  );
}

/** The list filters of `licenses list` and `licenses export`, as the API's query. */
function withFilters(command: Command): Command {
  return command
    .option('--status <list>', 'statuses, comma-separated (active, expired, pending_provision, …)')
    .option('--pool <id>', 'licenses of this pool')
    .option('--subtree <id>', "licenses of this pool's subtree")
    .option('--ends-after <iso>', 'ending after this time')
    .option('--ends-before <iso>', 'ending before this time')
    .option('--q <text>', 'text in the name, key, partner or distributor')
    .option('--sort <order>', 'id | createdAt | -createdAt | validUntil | -validUntil');
}

interface Filters {
  status?: string;
  pool?: string;
  subtree?: string;
  endsAfter?: string;
  endsBefore?: string;
  q?: string;
  sort?: string;
}

const filterQuery = (o: Filters) => ({ status: o.status, poolId: o.pool, subtree: o.subtree, endsAfter: o.endsAfter, endsBefore: o.endsBefore, q: o.q, sort: o.sort });

interface License {
  id: string;
  key: string | null;
  status: string;
  poolId: string | null;
  validUntil: string | null;
  name: string | null;
}

interface CreateOptions extends ApiOptions {
  root: string;
  name?: string;
  limits?: Record<string, number | null>;
  features?: string[];
  termMonths?: number;
  validUntil?: string;
  billing?: string;
  contractYears?: number;
  startRule?: string;
  threshold?: number;
  pool?: string;
  partner?: string;
  distributor?: string;
  accessPoints?: number;
  rooms?: number;
  modules?: string[];
  json?: boolean;
}

export function registerLicenses(program: Command): void {
  const licenses = program.command('licenses').description('licenses: make one by request, list them, export them as CSV');

  withApiOptions(
    licenses
      .command('create')
      .description('make a license by request (pending_provision) and print its key, id and status')
      .requiredOption('--root <id>', 'the vendor root')
      .option('--name <name>', 'a name for it')
      .option('--limits <pairs>', 'meter=count pairs: seats=5,rooms=20 (unlimited for no limit)', limits)
      .option('--features <list>', 'feature keys, comma-separated', list)
      .option('--term-months <n>', 'its term in months', integer)
      .option('--valid-until <iso>', 'its end, instead of a term')
      .option('--billing <interval>', 'monthly | annual')
      .option('--contract-years <n>', 'with --billing: 1 to 5', integer)
      .option('--start-rule <rule>', 'on_activation | on_connections')
      .option('--threshold <n>', 'with --start-rule on_connections: connections that start it', integer)
      .option('--pool <id>', 'request: the pool it is for')
      .option('--partner <name>', 'request: the partner')
      .option('--distributor <name>', 'request: the distributor')
      .option('--access-points <n>', 'request: access points', integer)
      .option('--rooms <n>', 'request: rooms', integer)
      .option('--modules <list>', 'request: modules, comma-separated', list)
      .option('--json', "print the API's license"),
  ).action(
    action(async (o: CreateOptions) => {
      const request = { poolId: o.pool, partner: o.partner, distributor: o.distributor, accessPoints: o.accessPoints, rooms: o.rooms, modules: o.modules };
      const license = await apiOf(o).json<License>('POST', '/v1/licenses', {
        body: {
          rootId: o.root,
          name: o.name,
          limits: o.limits,
          features: o.features,
          termMonths: o.termMonths,
          validUntil: o.validUntil,
          startRule: o.startRule ? { type: o.startRule, threshold: o.threshold } : undefined,
          billing: o.billing || o.contractYears !== undefined ? { interval: o.billing, contractYears: o.contractYears } : undefined,
          request: Object.values(request).some((v) => v !== undefined) ? request : undefined,
        },
      });
      print(!!o.json, license, () => [`${license.key}\t${license.id}\t${license.status}`]);
    }),
  );

  withApiOptions(
    withFilters(licenses.command('list').description('one page of the licenses you can see'))
      .option('--limit <n>', 'licenses on the page', integer)
      .option('--cursor <cursor>', 'the page after the one that printed this cursor')
      .option('--json', "print the API's page"),
  ).action(
    action(async (o: ApiOptions & Filters & { limit?: number; cursor?: string; json?: boolean }) => {
      const page = await apiOf(o).json<{ data: License[]; nextCursor: string | null }>('GET', '/v1/licenses', {
        query: { ...filterQuery(o), limit: o.limit, cursor: o.cursor },
      });
      print(!!o.json, page, () => page.data.map((l) => [l.id, l.key ?? '-', l.status, l.poolId ?? '-', l.validUntil ?? '-', l.name ?? ''].join('\t')));
      if (!o.json && page.nextCursor) process.stderr.write(`more: --cursor ${page.nextCursor}\n`);
    }),
  );

  withApiOptions(
    withFilters(licenses.command('export').description('every license the filters select, as CSV (GET /v1/licenses.csv)')).option('--out <file>', 'write to this file (default: standard output)'),
  ).action(
    action(async (o: ApiOptions & Filters & { out?: string }) => {
      const res = await apiOf(o).send('GET', '/v1/licenses.csv', { query: filterQuery(o) });
      await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), o.out ? createWriteStream(o.out) : process.stdout);
    }),
  );
}
