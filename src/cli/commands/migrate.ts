import type { Command } from 'commander';
import { action } from '../command.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations and exit (the server applies them at start as well); opens the database itself, so not while a server runs on the same embedded data directory')
    .action(
      action(async () => {
        const { loadConfig } = await import('../../config.js');
        const { openDatabase } = await import('../../db/client.js');
        const config = loadConfig();
        const database = await openDatabase(
          config.databaseUrl ? { driver: 'postgres', url: config.databaseUrl, poolSize: 1 } : { driver: 'pglite', dataDir: config.dataDir },
        );
        try {
          await database.migrate();
        } finally {
          await database.close();
        }
        process.stdout.write('migrations applied\n');
      }),
    );
}
