import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  KEY_ALPHABET,
  KEY_LENGTH,
  canonicalLicenseKey,
  checkLicenseKey,
  generateLicenseKey,
  hasValidCheck,
  normalizeLicenseKey,
} from './license-keys.js';

const KEY_SHAPE = new RegExp(`^[${KEY_ALPHABET}]{5}(-[${KEY_ALPHABET}]{5}){4}$`);
const COUNT = 100_000;
/** Keys also mutated through the string API (normalization and all), not only the arithmetic. */
const STRING_SAMPLE = 2_000;

const valuesOf = (key: string) => Uint8Array.from(key.replaceAll('-', ''), (c) => KEY_ALPHABET.indexOf(c));
const charsOf = (values: ArrayLike<number>) => Array.from(values, (v) => KEY_ALPHABET[v]).join('');

describe('license keys (L3)', () => {
  test('the alphabet has a prime number of characters and no look-alikes', () => {
    assert.equal(KEY_ALPHABET.length, 23);
    assert.equal(new Set(KEY_ALPHABET).size, 23);
    for (const c of '0OQ1IL2Z5S8BU') assert.ok(!KEY_ALPHABET.includes(c), `${c} is not used`);
  });

  test('the check is frozen: keys already issued stay valid', () => {
    // Worked by hand: payload '4' (value 1) then 23 × '3' (value 0); the first weight is 3,
    // so the check value is 23 − 3 = 20, 'W'. Changing the weights or the alphabet breaks this.
    assert.deepEqual(checkLicenseKey('43333-33333-33333-33333-3333W'), { ok: true, key: '43333-33333-33333-33333-3333W' });
    assert.equal(checkLicenseKey('43333-33333-33333-33333-3333X').ok, false);
  });

  describe(`${COUNT.toLocaleString('en')} generated keys`, () => {
    const keys: string[] = [];
    for (let i = 0; i < COUNT; i++) keys.push(generateLicenseKey());

    test('are grouped, valid and all different', () => {
      for (const key of keys) {
        assert.match(key, KEY_SHAPE);
        assert.ok(hasValidCheck(valuesOf(key)), key);
      }
      assert.equal(new Set(keys).size, COUNT);
      for (const key of keys.slice(0, STRING_SAMPLE)) assert.deepEqual(checkLicenseKey(key), { ok: true, key });
    });

    test('every single-character change and every neighbour swap is refused', () => {
      let substitutions = 0;
      let swaps = 0;
      for (const key of keys) {
        const values = valuesOf(key);
        for (let i = 0; i < KEY_LENGTH; i++) {
          const original = values[i]!;
          for (let v = 0; v < KEY_ALPHABET.length; v++) {
            if (v === original) continue;
            values[i] = v;
            if (hasValidCheck(values)) assert.fail(`${key}: character ${i + 1} → ${KEY_ALPHABET[v]} passes`);
            substitutions++;
          }
          values[i] = original;
        }
        for (let i = 0; i + 1 < KEY_LENGTH; i++) {
          const a = values[i]!;
          const b = values[i + 1]!;
          if (a === b) continue;
          values[i] = b;
          values[i + 1] = a;
          if (hasValidCheck(values)) assert.fail(`${key}: swap of characters ${i + 1} and ${i + 2} passes`);
          values[i] = a;
          values[i + 1] = b;
          swaps++;
        }
      }
      assert.equal(substitutions, COUNT * KEY_LENGTH * (KEY_ALPHABET.length - 1));
      assert.ok(swaps > COUNT * (KEY_LENGTH - 1) * 0.9, `${swaps} swaps tried`);
    });

    test('through the string API too: a mistyped key is KEY_INVALID (CHECK_FAILED), typed any way', () => {
      for (const key of keys.slice(0, STRING_SAMPLE)) {
        const chars = key.replaceAll('-', '');
        for (let i = 0; i < KEY_LENGTH; i++) {
          for (const c of KEY_ALPHABET) {
            if (c === chars[i]) continue;
            const typo = chars.slice(0, i) + c + chars.slice(i + 1);
            // Lower case and without dashes: normalization must not hide the typo.
            const check = checkLicenseKey(typo.toLowerCase());
            if (check.ok || check.reason !== 'CHECK_FAILED') assert.fail(`${key}: ${typo} → ${JSON.stringify(check)}`);
          }
        }
        for (let i = 0; i + 1 < KEY_LENGTH; i++) {
          if (chars[i] === chars[i + 1]) continue;
          const swapped = chars.slice(0, i) + chars[i + 1] + chars[i] + chars.slice(i + 2);
          const check = checkLicenseKey(swapped);
          if (check.ok || check.reason !== 'CHECK_FAILED') assert.fail(`${key}: ${swapped} → ${JSON.stringify(check)}`);
        }
      }
    });

    test('characters are drawn evenly (no modulo bias)', () => {
      // χ² with 22 degrees of freedom; 70 is exceeded by chance about once in 1.5 million runs.
      // `byte % 23` without rejection would score about 2,000 over all positions.
      const chiSquare = (counts: number[]) => {
        const expected = counts.reduce((a, b) => a + b, 0) / counts.length;
        return counts.reduce((s, n) => s + (n - expected) ** 2 / expected, 0);
      };
      const all = new Array<number>(KEY_ALPHABET.length).fill(0);
      for (let position = 0; position < KEY_LENGTH - 1; position++) {
        const counts = new Array<number>(KEY_ALPHABET.length).fill(0);
        for (const key of keys) {
          const v = KEY_ALPHABET.indexOf(key.replaceAll('-', '')[position]!);
          counts[v]!++;
          all[v]!++;
        }
        assert.ok(chiSquare(counts) < 90, `position ${position + 1}: χ² ${chiSquare(counts).toFixed(1)}`);
      }
      assert.ok(chiSquare(all) < 70, `all positions: χ² ${chiSquare(all).toFixed(1)}`);
    });
  });

  describe('what a person types', () => {
    const key = generateLicenseKey();
    const chars = key.replaceAll('-', '');
    const cases: { name: string; typed: string }[] = [
      { name: 'as printed', typed: key },
      { name: 'lower case', typed: key.toLowerCase() },
      { name: 'without dashes', typed: chars },
      { name: 'in groups separated by spaces', typed: key.replaceAll('-', ' ') },
      { name: 'with spaces around and a newline', typed: `  ${key}\n` },
      { name: 'with typographic dashes from a PDF', typed: key.replaceAll('-', '\u2013') },
      { name: 'in odd groups', typed: `${chars.slice(0, 3)}-${chars.slice(3, 11)} ${chars.slice(11)}` },
    ];
    for (const c of cases) {
      test(`${c.name}: accepted in the canonical form`, () => assert.deepEqual(checkLicenseKey(c.typed), { ok: true, key }));
    }

    test('U is read as V (U is never in a key)', () => {
      // A key with a V first: value 19 at weight 3, so the check value is 23 − (57 mod 23) = 12, 'J'.
      const values = new Uint8Array(KEY_LENGTH);
      values[0] = KEY_ALPHABET.indexOf('V');
      values[KEY_LENGTH - 1] = KEY_ALPHABET.indexOf('J');
      assert.ok(hasValidCheck(values));
      const vKey = charsOf(values);
      assert.deepEqual(checkLicenseKey(`u${vKey.slice(1)}`), { ok: true, key: 'V3333-33333-33333-33333-3333J' });
      assert.equal(checkLicenseKey(`4${vKey.slice(1)}`).ok, false, 'the U is not a wildcard');
      assert.equal(normalizeLicenseKey('uu-V u'), 'VVVV');
    });

    const refusals: { name: string; typed: string; reason: string; detail?: RegExp }[] = [
      { name: 'empty', typed: '', reason: 'WRONG_LENGTH' },
      { name: 'only dashes', typed: '-----', reason: 'WRONG_LENGTH' },
      { name: 'a character dropped', typed: chars.slice(1), reason: 'WRONG_LENGTH', detail: /25 characters, not 24/ },
      { name: 'a character doubled', typed: chars[0] + chars, reason: 'WRONG_LENGTH' },
      { name: 'a whole extra group', typed: `${key}-${chars.slice(0, 5)}`, reason: 'WRONG_LENGTH' },
      { name: 'very long input', typed: 'A'.repeat(10_000), reason: 'WRONG_LENGTH' },
      { name: 'an O for a zero-like character', typed: `O${chars.slice(1)}`, reason: 'BAD_CHARACTER', detail: /'O' \(character 1\).*look-alikes/ },
      { name: 'a 1', typed: `${chars.slice(0, 7)}1${chars.slice(8)}`, reason: 'BAD_CHARACTER', detail: /'1' \(character 8\)/ },
      { name: 'an S', typed: `${chars.slice(0, 24)}s`, reason: 'BAD_CHARACTER', detail: /'S' \(character 25\)/ },
      { name: 'punctuation', typed: `${chars.slice(0, 24)}.`, reason: 'BAD_CHARACTER', detail: /'\.'/ },
      { name: 'a non-Latin letter', typed: `${chars.slice(0, 24)}Ж`, reason: 'BAD_CHARACTER' },
      { name: 'an emoji', typed: `${chars.slice(0, 24)}🔑`, reason: 'BAD_CHARACTER' },
    ];
    for (const c of refusals) {
      test(`${c.name}: refused ${c.reason}`, () => {
        const check = checkLicenseKey(c.typed);
        assert.equal(check.ok, false);
        if (check.ok) return;
        assert.equal(check.reason, c.reason);
        if (c.detail) assert.match(check.detail, c.detail);
        assert.equal(canonicalLicenseKey(c.typed), null);
      });
    }
  });
});
