/**
 * Running the `licensepool` command as a person does: a child process talking to a server over
 * HTTP. The server is the app of a fresh test database listening on 127.0.0.1 in the test
 * process (cheap, and the test reads the same database back); test/cli/first-steps.test.ts
 * runs the server as a real process too.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestApp, type Backend, type TestApp } from '../helpers.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'licensepool.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `licensepool` command with `env` over a clean environment (no database or server
 * settings of the test's own), `input` on standard input.
 */
export function licensepool(args: string[], env: Record<string, string>, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const { DATABASE_URL: _url, LICENSEPOOL_DATA_DIR: _dir, LICENSEPOOL_URL: _server, LICENSEPOOL_TOKEN: _token, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...inherited, LOG_LEVEL: 'silent', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface CliServer {
  /** The test app behind the server, for setting things up and reading them back. */
  t: TestApp;
  url: string;
  /** LICENSEPOOL_URL and the superuser's LICENSEPOOL_TOKEN. */
  env: Record<string, string>;
  /** The same with another token. */
  as(token: string): Record<string, string>;
  close(): Promise<void>;
}

/** A fresh database's app listening on 127.0.0.1 (a free port), for the command to talk to. */
export async function cliServer(backend: Backend): Promise<CliServer> {
  const t = await createTestApp(backend);
  const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
  const as = (token: string) => ({ LICENSEPOOL_URL: address, LICENSEPOOL_TOKEN: token });
  return { t, url: address, env: as(t.superuser), as, close: () => t.close() };
}
