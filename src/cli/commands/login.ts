import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { apiOf, CliError, print, withApiOptions, type ApiOptions } from '../api.js';
import { action } from '../command.js';

/** The password: the first line of standard input, or typed at a prompt that does not echo it. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk;
    return text.split(/\r?\n/)[0] ?? '';
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write('password: ');
  // Echo nothing of what is typed (readline writes through _writeToOutput).
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  const password = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return password;
}

export function registerLogin(program: Command): void {
  withApiOptions(
    program
      .command('login')
      .description(
        'log in and print a new API token for the other commands (export LICENSEPOOL_TOKEN=…); the password is read from standard input, or asked for on a terminal',
      )
      .requiredOption('--email <email>', 'your account')
      .option('--token-name <name>', 'the name the token is listed under (GET /v1/tokens)', `licensepool CLI on ${hostname()}`)
      .option('--json', "print the API's answer (the token and its id)"),
    { token: false },
  ).action(
    action(async (options: ApiOptions & { email: string; tokenName: string; json?: boolean }) => {
      const password = await readPassword();
      if (!password) throw new CliError('no password given (standard input was empty)', 2);
      const api = apiOf(options);
      const session = await api.json<{ token: string }>('POST', '/v1/auth/login', { auth: false, body: { email: options.email, password } });
      const withSession = apiOf({ url: options.url, token: session.token });
      let token: { id: string; token: string };
      try {
        token = await withSession.json<{ id: string; token: string }>('POST', '/v1/tokens', { body: { name: options.tokenName } });
      } finally {
        // The session was only the way to the token: end it, whether or not the token came.
        await withSession.send('POST', '/v1/auth/logout').catch(() => undefined);
      }
      print(!!options.json, token, () => [token.token]);
    }),
  );
}
