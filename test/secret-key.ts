import { SecretKeys } from '../src/lib/secret-keys.js';

/**
 * The secret key every test database's signing keys are sealed under (a fixed value, so a
 * server process a test starts reads what the test's app wrote). Never a production key.
 */
export const TEST_SECRET_KEY = 'dGVzdCBzZWNyZXQga2V5IG9mIGxpY2Vuc2Vwb29sISE=';

export const testSecretKeys = () => SecretKeys.of(Buffer.from(TEST_SECRET_KEY, 'base64'));
