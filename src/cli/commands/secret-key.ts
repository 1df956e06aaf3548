import type { Command } from 'commander';
import { action, withMigratedDatabase } from '../command.js';

/**
 * `licensepool secret-key rotate`: re-encrypts every private signing key under
 * LICENSEPOOL_SECRET_KEY (docs/architecture.md, "Signing keys"). Direct on the database, like
 * `migrate`: the secret key is the operator's, never something to send to a server.
 */
export function registerSecretKey(program: Command): void {
  const secretKey = program.command('secret-key').description('the key that encrypts the roots’ private signing keys at rest');
  secretKey
    .command('rotate')
    .description(
      're-encrypt every private signing key under LICENSEPOOL_SECRET_KEY, opening those sealed under LICENSEPOOL_SECRET_KEY_PREVIOUS; exit 1 when a key is sealed under neither. Opens the database itself, so not while a server runs on the same embedded data directory',
    )
    .action(
      action(async () => {
        const { loadSecretKeys } = await import('../../lib/secret-keys.js');
        const { reencryptSigningKeys } = await import('../../modules/signing/signing.secrets.js');
        return withMigratedDatabase(async (database, config) => {
          const { keys } = await loadSecretKeys({ secretKey: config.secretKey, previousSecretKey: config.previousSecretKey, dataDir: config.databaseUrl ? null : config.dataDir });
          const result = await reencryptSigningKeys({ db: database.db, secretKeys: keys });
          for (const k of result.unreadable) {
            process.stdout.write(`${k.kid}\t${k.rootId}\t${k.status}\tsealed under secret key ${k.secretKeyId}: not given, left as it is\n`);
          }
          process.stdout.write(
            `signing keys now under secret key ${result.secretKeyId}: ${result.reencrypted} re-encrypted, ${result.sealed} encrypted (were clear text), ${result.unchanged} already under it, ${result.unreadable.length} unreadable\n`,
          );
          return result.unreadable.length > 0 ? 1 : 0;
        });
      }),
    );
}
