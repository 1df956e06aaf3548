import type { Command } from 'commander';
import { apiOf, print, withApiOptions, type ApiOptions } from '../api.js';
import { action } from '../command.js';

interface CreatedRoot {
  pool: { id: string; name: string };
  operator: { accountId: string; email: string; created: boolean; password: string | null };
}

export function registerCreateRoot(program: Command): void {
  withApiOptions(
    program
      .command('create-root')
      .description("create a vendor root and make an account its operator (POST /v1/roots; a superuser's token); the account is created when no account has the e-mail")
      .requiredOption('--name <name>', "the vendor's name")
      .requiredOption('--operator-email <email>', "the operator's e-mail")
      .option('--operator-name <name>', "the operator's name, for a new account (default: the e-mail's local part)")
      .option('--operator-password <password>', 'the password of a new account (default: generated and printed once)')
      .option('--json', "print the API's answer"),
  ).action(
    action(async (options: ApiOptions & { name: string; operatorEmail: string; operatorName?: string; operatorPassword?: string; json?: boolean }) => {
      const created = await apiOf(options).json<CreatedRoot>('POST', '/v1/roots', {
        body: {
          name: options.name,
          operator: { email: options.operatorEmail, name: options.operatorName, password: options.operatorPassword },
        },
      });
      const { operator } = created;
      print(!!options.json, created, () => [
        created.pool.id,
        operator.created
          ? `operator ${operator.email}: account created${operator.password ? `, password ${operator.password} (shown once)` : ''}`
          : `operator ${operator.email}: the existing account`,
      ]);
    }),
  );
}
