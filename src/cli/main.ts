/**
 * The `licensepool` command. Each command lives in its own file under commands/ and imports the
 * heavy parts (the server, the database) inside its action, so `licensepool --help` loads
 * nothing but commander. Commands that read or change data talk to a running server over HTTP
 * (--url, --token); `serve` and `migrate` open the database themselves.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError } from './api.js';
import { outcome } from './command.js';
import { registerCreateRoot } from './commands/create-root.js';
import { registerLicenses } from './commands/licenses.js';
import { registerLogin } from './commands/login.js';
import { registerMembers } from './commands/members.js';
import { registerMigrate } from './commands/migrate.js';
import { registerReconcile } from './commands/reconcile.js';
import { registerSecretKey } from './commands/secret-key.js';
import { registerServe } from './commands/serve.js';

/** Exit code of a mistake in the command line itself. */
const USAGE_EXIT = 2;

function packageVersion(): string {
  // src/cli/ and a compiled dist/cli/ both sit two levels below the package root.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function buildProgram(): Command {
  const program = new Command('licensepool')
    .description('licensepool: license pools, claims and signed offline licenses')
    .version(packageVersion(), '-V, --version', 'print the version')
    // Settings before the commands: commander copies them into each command made by .command().
    .exitOverride()
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
Commands that read or change data talk to a running server: --url (LICENSEPOOL_URL, default
http://localhost:3000) and --token (LICENSEPOOL_TOKEN; \`licensepool login\` prints one).
serve and migrate open the database themselves: DATABASE_URL for PostgreSQL, otherwise the
embedded database in LICENSEPOOL_DATA_DIR (./data), which one process at a time may open.`,
    );
  registerServe(program);
  registerMigrate(program);
  registerLogin(program);
  registerCreateRoot(program);
  registerReconcile(program);
  registerMembers(program);
  registerLicenses(program);
  registerSecretKey(program);
  return program;
}

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  outcome.code = 0;
  const program = buildProgram();
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return USAGE_EXIT;
    }
    await program.parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (err) {
    // Commander has printed the help, the version, or the mistake and the usage already.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : USAGE_EXIT;
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    // DataDirLockedError and the like: their message is the whole story; a bug's too, on one line.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return 1;
  }
}
