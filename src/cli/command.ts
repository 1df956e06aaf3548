/** What every command file shares: how an action answers its exit code, and option parsers. */
import { InvalidArgumentError } from 'commander';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';

/** The exit code the command that ran answered; main() returns it. */
export const outcome = { code: 0 };

/** Wraps a command's action: its answer (a number, or nothing for 0) becomes the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    outcome.code = (await fn(...args)) ?? 0;
  };
}

/** Option parser: a whole number, or a usage error naming the value. */
export function integer(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return Number(value);
}

/** Option parser: a comma-separated list. */
export function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * For the commands that open the database themselves (`migrate`, `secret-key rotate`): the
 * database the environment names, migrated, for `fn`, closed after. Loaded on use, so `--help`
 * stays light.
 */
export async function withMigratedDatabase<T>(fn: (database: Database, config: Config) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../config.js');
  const { openDatabase } = await import('../db/client.js');
  const config = loadConfig();
  const database = await openDatabase(config.databaseUrl ? { driver: 'postgres', url: config.databaseUrl, poolSize: 1 } : { driver: 'pglite', dataDir: config.dataDir });
  try {
    await database.migrate();
    return await fn(database, config);
  } finally {
    await database.close();
  }
}
