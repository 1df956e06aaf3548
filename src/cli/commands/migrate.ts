import type { Command } from 'commander';
import { action, withMigratedDatabase } from '../command.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations and exit (the server applies them at start as well); opens the database itself, so not while a server runs on the same embedded data directory')
    .action(
      action(async () => {
        await withMigratedDatabase(async () => undefined);
        process.stdout.write('migrations applied\n');
      }),
    );
}
