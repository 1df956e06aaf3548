import type { Deps } from '../lib/context.js';
import { SecretKeyError } from '../lib/secret-keys.js';
import { reencryptSigningKeys } from '../modules/signing/signing.secrets.js';

export const SECRET_KEY_USAGE = `  secret-key rotate                       re-encrypt every private signing key under LICENSEPOOL_SECRET_KEY,
                                          opening those sealed under LICENSEPOOL_SECRET_KEY_PREVIOUS; exit 1 when
                                          a key is sealed under neither (docs/architecture.md, "Signing keys")`;

/**
 * `licensepool secret-key rotate`: the command's whole logic is `reencryptSigningKeys`; this
 * prints what it did. `withDeps` opens the database with the secret keys of the environment.
 */
export async function secretKeyCommand(args: string[], withDeps: <T>(fn: (deps: Deps) => Promise<T>) => Promise<T>): Promise<number> {
  if (args.length !== 1 || args[0] !== 'rotate') {
    process.stderr.write(`usage:\n${SECRET_KEY_USAGE}\n`);
    return 2;
  }
  try {
    const result = await withDeps((deps) => reencryptSigningKeys(deps));
    for (const k of result.unreadable) {
      process.stdout.write(`${k.kid}\t${k.rootId}\t${k.status}\tsealed under secret key ${k.secretKeyId}: not given, left as it is\n`);
    }
    process.stdout.write(
      `signing keys now under secret key ${result.secretKeyId}: ${result.reencrypted} re-encrypted, ${result.sealed} encrypted (were clear text), ${result.unchanged} already under it, ${result.unreadable.length} unreadable\n`,
    );
    return result.unreadable.length > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof SecretKeyError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
}
