import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { newWebhookSecret, signWebhook } from './webhook-signature.js';

test('signatures are the ones the Standard Webhooks reference library makes', () => {
  // The example of the specification's own test suite.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const at = new Date(1614265330 * 1000);
  const headers = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', at, '{"test": 2432232314}');
  assert.deepEqual(headers, {
    'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    'webhook-timestamp': '1614265330',
    'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  });
  for (let i = 0; i < 20; i++) {
    const fresh = newWebhookSecret();
    const body = JSON.stringify({ type: 'license.created', n: i, text: 'ünïcode ✓' });
    assert.equal(signWebhook(fresh, `dlv_${i}`, at, body)['webhook-signature'], new Webhook(fresh).sign(`dlv_${i}`, at, body));
  }
});

test('the signature covers the id, the timestamp and every byte of the body', () => {
  const secret = newWebhookSecret();
  const at = new Date('2026-05-01T12:00:00.999Z');
  const base = signWebhook(secret, 'dlv_a', at, '{"a":1}');
  assert.equal(base['webhook-timestamp'], String(Date.parse('2026-05-01T12:00:00Z') / 1000));
  assert.notEqual(signWebhook(secret, 'dlv_b', at, '{"a":1}')['webhook-signature'], base['webhook-signature']);
  assert.notEqual(signWebhook(secret, 'dlv_a', new Date(at.getTime() + 1000), '{"a":1}')['webhook-signature'], base['webhook-signature']);
  assert.notEqual(signWebhook(secret, 'dlv_a', at, '{"a":2}')['webhook-signature'], base['webhook-signature']);
  assert.notEqual(signWebhook(newWebhookSecret(), 'dlv_a', at, '{"a":1}')['webhook-signature'], base['webhook-signature']);
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
});
