/**
 * How the commands that read or change data reach them: the HTTP API of a running server, the
 * same for the embedded database and for PostgreSQL, on this machine or another. Light on
 * purpose (fetch, no server code), so `licensepool --help` stays fast.
 */
import { Option, type Command } from 'commander';

export const DEFAULT_URL = 'http://localhost:3000';

/** A failure the command reports as one line on standard error, exit code `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The API answered with a problem (RFC 9457): its `code`, `detail` and the rest of its fields. */
export class ApiProblem extends CliError {
  constructor(
    readonly status: number,
    readonly problem: { code?: string; detail?: string; title?: string; [field: string]: unknown },
  ) {
    super(`${problem.code ?? `HTTP ${status}`}: ${problem.detail ?? problem.title ?? 'the server refused the request'}`);
  }
}

export interface ApiOptions {
  url: string;
  token?: string | undefined;
}

/** `--url` and `--token` (LICENSEPOOL_URL, LICENSEPOOL_TOKEN) on a command that talks to the server. */
export function withApiOptions(command: Command, options: { token?: boolean } = {}): Command {
  command.addOption(new Option('--url <url>', 'the licensepool server').env('LICENSEPOOL_URL').default(DEFAULT_URL));
  if (options.token !== false) {
    command.addOption(new Option('--token <token>', 'an API token (licensepool login prints one)').env('LICENSEPOOL_TOKEN'));
  }
  return command;
}

type Query = Record<string, string | number | boolean | undefined>;

export class ApiClient {
  private readonly base: string;

  constructor(private readonly options: ApiOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  /** One request; the parsed JSON answer, or ApiProblem / CliError. */
  async json<T = any>(method: string, path: string, options: { query?: Query; body?: unknown; csv?: string; auth?: boolean } = {}): Promise<T> {
    const res = await this.send(method, path, options);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** One request whose answer is read as a stream (a CSV export). */
  async send(method: string, path: string, options: { query?: Query; body?: unknown; csv?: string; auth?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, text/csv' };
    if (options.auth !== false) {
      if (!this.options.token) throw new CliError('no API token: pass --token or set LICENSEPOOL_TOKEN (licensepool login prints one)', 2);
      headers.authorization = `Bearer ${this.options.token}`;
    }
    let body: string | undefined;
    if (options.csv !== undefined) {
      headers['content-type'] = 'text/csv; charset=utf-8';
      body = options.csv;
    } else if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const url = new URL(`${this.base}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    let res: Response;
    try {
      res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the server at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is it running? --url / LICENSEPOOL_URL)`);
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: ConstructorParameters<typeof ApiProblem>[1];
    try {
      problem = JSON.parse(text);
    } catch {
      problem = { detail: `${res.status} ${res.statusText} from ${url.origin}: not a licensepool server?` };
    }
    throw new ApiProblem(res.status, problem);
  }
}

/** The client for a command's `--url` / `--token`. */
export const apiOf = (options: ApiOptions) => new ApiClient(options);

/** Prints data: the API's JSON with --json, otherwise the lines given. */
export function print(json: boolean, data: unknown, lines: () => string[]): void {
  if (json) process.stdout.write(`${JSON.stringify(data)}\n`);
  else for (const line of lines()) process.stdout.write(`${line}\n`);
}
