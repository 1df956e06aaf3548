import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkTarget, isPublicAddress, PUBLIC_TARGETS_ONLY, refusedLiteral } from './webhooks.targets.js';

test('only addresses of the public internet count as public', () => {
  for (const address of ['93.184.215.14', '8.8.8.8', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '2a00:1450:4001:82a::200e']) {
    assert.equal(isPublicAddress(address), true, address);
  }
  const inward = [
    '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'ff02::1', 'not an address',
  ];
  for (const address of inward) assert.equal(isPublicAddress(address), false, address);
});

test('a URL on an inward address or name is refused unless the policy allows it', async () => {
  for (const url of ['http://127.0.0.1:8080/hook', 'https://10.1.2.3/', 'http://[::1]:9000/x', 'http://[::ffff:192.168.0.1]/', 'http://localhost:3000/']) {
    await assert.rejects(checkTarget(new URL(url), PUBLIC_TARGETS_ONLY), { code: 'WEBHOOK_TARGET_FORBIDDEN' }, url);
    await checkTarget(new URL(url), { allowPrivate: true });
  }
  await checkTarget(new URL('https://93.184.215.14/hook'), PUBLIC_TARGETS_ONLY);
  await assert.rejects(checkTarget(new URL('https://no-such-host.invalid/hook'), PUBLIC_TARGETS_ONLY), { code: 'WEBHOOK_TARGET_UNRESOLVABLE' });
  assert.equal(refusedLiteral(new URL('http://127.0.0.1/'), PUBLIC_TARGETS_ONLY)?.code, 'WEBHOOK_TARGET_FORBIDDEN');
  assert.equal(refusedLiteral(new URL('http://127.0.0.1/'), { allowPrivate: true }), null);
  assert.equal(refusedLiteral(new URL('http://example.test/'), PUBLIC_TARGETS_ONLY), null);
});
