import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { parseSecretKey, SecretKeys, sealedKeyId } from './secret-keys.js';

const bytes = randomBytes(32);

test('a secret key is 32 bytes as hex or base64 (standard or URL-safe, padded or not); anything else is refused with how to make one', () => {
  for (const text of [bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url'), ` ${bytes.toString('base64')}\n`]) {
    assert.deepEqual(parseSecretKey(text, 'LICENSEPOOL_SECRET_KEY'), bytes, text);
  }
  for (const text of ['', 'secret', randomBytes(31).toString('base64'), randomBytes(33).toString('hex'), bytes.toString('hex').slice(1)]) {
    assert.throws(() => parseSecretKey(text, 'LICENSEPOOL_SECRET_KEY'), /LICENSEPOOL_SECRET_KEY must be 32 random bytes.*openssl rand -base64 32/, text);
  }
});

test('sealing: v1 format naming the key, a fresh nonce each time, bound to its label; the previous key opens but does not seal', () => {
  const keys = SecretKeys.of(bytes);
  const plaintext = randomBytes(48);
  const [a, b] = [keys.seal(plaintext, 'key_a'), keys.seal(plaintext, 'key_a')];
  assert.notEqual(a, b, 'a nonce of its own');
  assert.match(a, /^v1:[0-9a-f]{12}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{86}$/);
  assert.equal(sealedKeyId(a), keys.currentId);
  assert.deepEqual(keys.open(a, 'key_a'), plaintext);
  assert.throws(() => keys.open(a, 'key_b'), /key_b does not open under secret key/);
  const [v, id, nonce, sealed] = a.split(':') as [string, string, string, string];
  const flipped = Buffer.from(sealed, 'base64url');
  flipped[0]! ^= 1;
  assert.throws(() => keys.open([v, id, nonce, flipped.toString('base64url')].join(':'), 'key_a'), /was altered/);

  const next = SecretKeys.of(randomBytes(32), [bytes]);
  assert.deepEqual(next.open(a, 'key_a'), plaintext);
  assert.equal(sealedKeyId(next.seal(plaintext, 'key_a')), next.currentId);
  assert.notEqual(next.currentId, keys.currentId);
  assert.throws(() => SecretKeys.of(randomBytes(32)).open(a, 'key_a'), new RegExp(`key_a is encrypted under secret key ${keys.currentId}, and this server holds [0-9a-f]{12}`));
  assert.throws(() => SecretKeys.unavailable('LICENSEPOOL_SECRET_KEY is not set').seal(plaintext, 'key_a'), /LICENSEPOOL_SECRET_KEY is not set/);
});
