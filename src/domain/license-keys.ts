/**
 * L3 license keys: human-typable, grouped, made with a CSPRNG, and ending in a check character
 * that catches a mistyped key before any lookup (the `KEY_INVALID` refusal of activation).
 *
 * Format: 25 characters in 5 groups of 5, `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`; 24 random characters
 * (24 · log2 23 ≈ 108 bits, far beyond guessing) and a check character last.
 *
 * Alphabet (23 characters, a prime number, see the check below): `34679ACDEFGHJKMNPRTVWXY`.
 * Left out because they are read or heard as one another: 0 O Q, 1 I L, 2 Z, 5 S, 8 B, U (V).
 * Both members of each pair are left out, so a look-alike typed by mistake is never silently
 * taken for the other; U alone is read as V (see `normalizeLicenseKey`).
 *
 * The check. Each character has a value v (its index in the alphabet, 0–22) and each position i
 * a weight w(i); a key is valid when Σ w(i)·v(i) ≡ 0 (mod 23). 23 is prime, so the integers
 * mod 23 form a field: a product of two nonzero numbers is never 0 there.
 * - A single substitution v → v' at position i changes the sum by w(i)·(v' − v). w(i) is nonzero
 *   mod 23 and v' − v is nonzero mod 23 (two different values in 0–22), so the sum is no longer
 *   0: every single-character error is caught.
 * - Swapping distinct neighbours a, b at positions i, i+1 changes the sum by
 *   (w(i) − w(i+1))·(b − a). Neighbouring weights differ mod 23 and a ≠ b, so again the change
 *   is nonzero: every neighbour swap is caught.
 * The weights, last position first, run 1, 2, …, 22, 1, 2, 3: all nonzero, neighbours always
 * different (…, 22, 1, … included). Positions 22 apart share a weight, so a swap of characters
 * that far apart (and only that far) can slip through; swaps two apart are caught too. The last
 * weight is 1, so the check character is simply −Σ of the others. (Luhn mod N was not used: it
 * misses the neighbour swap of values 0 and N − 1, whatever N.)
 *
 * A wrong number of characters is caught by the length, so a dropped or doubled character never
 * reaches the sum.
 */
import { randomBytes } from 'node:crypto';

export const KEY_ALPHABET = '34679ACDEFGHJKMNPRTVWXY';
const P = KEY_ALPHABET.length; // 23, prime
export const KEY_GROUPS = 5;
export const KEY_GROUP_LENGTH = 5;
/** Characters in a key, separators excluded. */
export const KEY_LENGTH = KEY_GROUPS * KEY_GROUP_LENGTH;
/** Characters that never appear in a key, named in the refusal when typed. */
export const KEY_LOOK_ALIKES = '0OQ1IL2Z5S8B';

/** w(i) for each position, 0-based: last position 1, then 2, 3, …, 22, 1, 2, … going left. */
const WEIGHTS = Uint8Array.from({ length: KEY_LENGTH }, (_, i) => ((KEY_LENGTH - 1 - i) % (P - 1)) + 1);

/** Character code (upper case) → value, or -1. */
const VALUE_OF = new Int8Array(128).fill(-1);
for (let v = 0; v < P; v++) VALUE_OF[KEY_ALPHABET.charCodeAt(v)] = v;

/** Spaces and every kind of dash (keys are pasted from PDFs and mail, which turn '-' into '–'). */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g;
/** Longer input is refused before any work on it. */
const MAX_INPUT_LENGTH = 100;

/** Σ w(i)·v(i) mod 23 over the first `length` values. */
function weightedSum(values: ArrayLike<number>, length: number): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum += WEIGHTS[i]! * values[i]!;
  return sum % P;
}

/** The check value for 24 payload values: the one that brings the weighted sum to 0 (its weight is 1). */
export function checkValueFor(payload: ArrayLike<number>): number {
  return (P - weightedSum(payload, KEY_LENGTH - 1)) % P;
}

/**
 * Whether 25 alphabet values (payload and check) form a valid key. The arithmetic behind
 * `checkLicenseKey`, exposed so the property test can try every mutation of 100,000 keys.
 */
export function hasValidCheck(values: ArrayLike<number>): boolean {
  return values.length === KEY_LENGTH && weightedSum(values, KEY_LENGTH) === 0;
}

/** Groups 25 key characters as `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`. */
export function formatLicenseKey(chars: string): string {
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += KEY_GROUP_LENGTH) groups.push(chars.slice(i, i + KEY_GROUP_LENGTH));
  return groups.join('-');
}

/**
 * A new key, in its canonical (stored) form. 24 values come from the CSPRNG by rejection
 * sampling: a byte is used only below 230 (10 · 23) and then taken mod 23, so every value is
 * exactly as likely (a plain `byte % 23` would favour 0, 1 and 2). Uniqueness is the database's
 * to enforce (a unique index; on the rare collision, draw again).
 */
export function generateLicenseKey(): string {
  const values = new Uint8Array(KEY_LENGTH);
  const limit = 256 - (256 % P);
  let n = 0;
  while (n < KEY_LENGTH - 1) {
    // 32 bytes give the 24 values needed in all but about 1 draw in 40.
    for (const byte of randomBytes(32)) {
      if (byte >= limit) continue;
      values[n++] = byte % P;
      if (n === KEY_LENGTH - 1) break;
    }
  }
  values[KEY_LENGTH - 1] = checkValueFor(values);
  let chars = '';
  for (const v of values) chars += KEY_ALPHABET[v];
  return formatLicenseKey(chars);
}

/**
 * What a person typed, made comparable: separators (spaces, dashes) removed, upper case, U read
 * as V (U never appears in a key, and handwritten or spoken it is taken for V). Not validated:
 * other characters stay as typed.
 */
export function normalizeLicenseKey(text: string): string {
  return text.replace(SEPARATORS, '').toUpperCase().replaceAll('U', 'V');
}

export type KeyRefusal = 'WRONG_LENGTH' | 'BAD_CHARACTER' | 'CHECK_FAILED';

export type KeyCheck =
  | { ok: true; /** The canonical form: stored, looked up, shown. */ key: string }
  | { ok: false; reason: KeyRefusal; detail: string };

/**
 * Judges a typed key by its form alone (no lookup): the characters, their number and the check
 * character. Case, spaces and dashes do not matter. A refusal here is `KEY_INVALID`.
 */
export function checkLicenseKey(text: string): KeyCheck {
  if (text.length > MAX_INPUT_LENGTH) {
    return { ok: false, reason: 'WRONG_LENGTH', detail: `a key has ${KEY_LENGTH} characters` };
  }
  const chars = normalizeLicenseKey(text);
  const values = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) {
    const code = chars.charCodeAt(i);
    const value = code < 128 ? VALUE_OF[code]! : -1;
    if (value < 0) {
      const c = chars[i]!;
      const hint = KEY_LOOK_ALIKES.includes(c) ? ` (keys never use ${[...KEY_LOOK_ALIKES].join(' ')}: look-alikes)` : '';
      return { ok: false, reason: 'BAD_CHARACTER', detail: `'${c}' (character ${i + 1}) is not a key character${hint}` };
    }
    values[i] = value;
  }
  if (values.length !== KEY_LENGTH) {
    return { ok: false, reason: 'WRONG_LENGTH', detail: `a key has ${KEY_LENGTH} characters, not ${values.length}` };
  }
  if (!hasValidCheck(values)) {
    return { ok: false, reason: 'CHECK_FAILED', detail: 'the key is mistyped: its check character does not match' };
  }
  let canonical = '';
  for (const v of values) canonical += KEY_ALPHABET[v];
  return { ok: true, key: formatLicenseKey(canonical) };
}

/** The canonical form of a typed key (for storage and lookup), or null when it is not a valid key. */
export function canonicalLicenseKey(text: string): string | null {
  const check = checkLicenseKey(text);
  return check.ok ? check.key : null;
}
