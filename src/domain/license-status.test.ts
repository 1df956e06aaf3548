import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LICENSE_STATUSES, type LicenseStatus } from '../db/schema.js';
import {
  addMonthsUtc,
  effectiveStatus,
  isInEffect,
  licenseEnd,
  transition,
  type LicenseEvent,
  type LicenseLifecycle,
  type Transition,
} from './license-status.js';

const d = (iso: string) => new Date(iso);
// The 31st on purpose: a 12-month term started now ends on 31 March next year.
const NOW = d('2026-03-31T10:00:00Z');
const A_YEAR_ON = d('2027-03-31T10:00:00Z');
const CONNECTIONS = { type: 'on_connections', threshold: 5 } as const;

/** One license in each status, none past its end at NOW. */
const RUNNING = { validFrom: d('2025-06-01T00:00:00Z'), validUntil: d('2026-06-01T00:00:00Z'), termMonths: 12 };
const STATES: Record<LicenseStatus, LicenseLifecycle> = {
  pending_provision: { status: 'pending_provision', validFrom: null, validUntil: null, termMonths: 12, startRule: { type: 'on_activation' } },
  pending_start: { status: 'pending_start', validFrom: null, validUntil: null, termMonths: 12, startRule: CONNECTIONS },
  in_use: { status: 'in_use', ...RUNNING },
  access_denied: { status: 'access_denied', ...RUNNING },
  expired: { status: 'expired', validFrom: d('2025-01-01T00:00:00Z'), validUntil: d('2026-01-01T00:00:00Z'), termMonths: 12 },
  finalized: { status: 'finalized', ...RUNNING },
};

const EVENTS: Record<string, LicenseEvent> = {
  activate: { type: 'activate' },
  '4 connections': { type: 'connections', distinctDevices: 4 },
  '5 connections': { type: 'connections', distinctDevices: 5 },
  suspend: { type: 'suspend' },
  resume: { type: 'resume' },
  finalize: { type: 'finalize' },
  expire: { type: 'expire' },
};

type Expected = { to: LicenseStatus; from?: Date | null; until?: Date | null; changed?: boolean } | { refused: string };
const started = { from: NOW, until: A_YEAR_ON };
const refused = (reason: string): Expected => ({ refused: reason });
const INVALID = refused('INVALID_TRANSITION');

/** Every (status, event) pair, spelled out. Dates not named stay as they were. */
const TABLE: Record<LicenseStatus, Record<keyof typeof EVENTS, Expected>> = {
  pending_provision: {
    activate: { to: 'in_use', ...started }, // on_activation; on_connections is below
    '4 connections': INVALID,
    '5 connections': INVALID,
    suspend: INVALID,
    resume: INVALID,
    finalize: { to: 'finalized' },
    expire: INVALID,
  },
  pending_start: {
    activate: refused('KEY_ALREADY_ACTIVATED'),
    '4 connections': { to: 'pending_start', changed: false },
    '5 connections': { to: 'in_use', ...started },
    suspend: INVALID,
    resume: INVALID,
    finalize: { to: 'finalized' },
    expire: INVALID,
  },
  in_use: {
    activate: refused('KEY_ALREADY_ACTIVATED'),
    '4 connections': INVALID,
    '5 connections': INVALID,
    suspend: { to: 'access_denied' },
    resume: INVALID,
    finalize: { to: 'finalized' },
    expire: INVALID,
  },
  access_denied: {
    activate: refused('KEY_ALREADY_ACTIVATED'),
    '4 connections': INVALID,
    '5 connections': INVALID,
    suspend: INVALID,
    resume: { to: 'in_use' },
    finalize: { to: 'finalized' },
    expire: INVALID,
  },
  expired: {
    activate: refused('LICENSE_ENDED'),
    '4 connections': INVALID,
    '5 connections': INVALID,
    suspend: INVALID,
    resume: INVALID,
    finalize: INVALID,
    expire: INVALID, // already recorded
  },
  finalized: {
    activate: refused('LICENSE_ENDED'),
    '4 connections': INVALID,
    '5 connections': INVALID,
    suspend: INVALID,
    resume: INVALID,
    finalize: INVALID,
    expire: INVALID,
  },
};

function assertOutcome(actual: Transition, expected: Expected, before: LicenseLifecycle) {
  if ('refused' in expected) {
    assert.equal(actual.ok, false, JSON.stringify(actual));
    if (actual.ok) return;
    assert.equal(actual.reason, expected.refused);
    assert.equal(actual.currentStatus, effectiveStatus(before, NOW));
    assert.ok(actual.detail.length > 0);
    return;
  }
  assert.deepEqual(actual, {
    ok: true,
    status: expected.to,
    validFrom: expected.from === undefined ? before.validFrom : expected.from,
    validUntil: expected.until === undefined ? before.validUntil : expected.until,
    changed: expected.changed ?? true,
  });
}

describe('license status machine (L2), every status × every event', () => {
  for (const status of LICENSE_STATUSES) {
    for (const [name, event] of Object.entries(EVENTS)) {
      const expected = TABLE[status][name]!;
      const label = 'refused' in expected ? `refused ${expected.refused}` : expected.to;
      test(`${status} + ${name} → ${label}`, () => assertOutcome(transition(STATES[status], event, NOW), expected, STATES[status]));
    }
  }

  test('the table covers every status and event', () => {
    assert.deepEqual(Object.keys(TABLE).sort(), [...LICENSE_STATUSES].sort());
    for (const row of Object.values(TABLE)) assert.deepEqual(Object.keys(row).sort(), Object.keys(EVENTS).sort());
  });

  test('activating an on_connections license waits: pending_start, no dates yet', () => {
    const license: LicenseLifecycle = { ...STATES.pending_provision, startRule: CONNECTIONS };
    assertOutcome(transition(license, { type: 'activate' }, NOW), { to: 'pending_start', from: null, until: null }, license);
  });

  test('a license without a start rule starts on activation (rows placed on a pool have none)', () => {
    const license: LicenseLifecycle = { status: 'pending_provision', validFrom: null, validUntil: null };
    assertOutcome(transition(license, { type: 'activate' }, NOW), { to: 'in_use', from: NOW, until: null }, license);
  });

  test('more connections than the threshold start it as well', () => {
    assertOutcome(transition(STATES.pending_start, { type: 'connections', distinctDevices: 9 }, NOW), { to: 'in_use', ...started }, STATES.pending_start);
  });
});

describe('the clock (cut-off)', () => {
  const pastEnd = d('2026-06-01T00:00:00Z'); // RUNNING's end, to the millisecond

  test('a license reads expired from the instant of its end, before any sweep', () => {
    assert.equal(effectiveStatus(STATES.in_use, new Date(pastEnd.getTime() - 1)), 'in_use');
    assert.equal(effectiveStatus(STATES.in_use, pastEnd), 'expired');
    assert.equal(effectiveStatus(STATES.access_denied, pastEnd), 'expired', 'a suspension does not outlive the contract');
    assert.equal(effectiveStatus(STATES.finalized, pastEnd), 'finalized', 'ended by the vendor stays so');
    assert.equal(effectiveStatus(STATES.pending_start, d('2100-01-01T00:00:00Z')), 'pending_start', 'a term has no end before it starts');
  });

  const cases: { name: string; license: LicenseLifecycle; event: LicenseEvent; expected: Expected }[] = [
    { name: 'the sweep records the expiry of a running license', license: STATES.in_use, event: { type: 'expire' }, expected: { to: 'expired' } },
    { name: 'and of a suspended one', license: STATES.access_denied, event: { type: 'expire' }, expected: { to: 'expired' } },
    { name: 'suspending a license past its end is refused', license: STATES.in_use, event: { type: 'suspend' }, expected: INVALID },
    { name: 'resuming a license that ran out while suspended is refused', license: STATES.access_denied, event: { type: 'resume' }, expected: INVALID },
    { name: 'finalizing a license past its end is refused', license: STATES.in_use, event: { type: 'finalize' }, expected: INVALID },
    { name: 'activating the key of a license past its end is LICENSE_ENDED', license: STATES.in_use, event: { type: 'activate' }, expected: refused('LICENSE_ENDED') },
    {
      name: 'a dated key whose end passed before activation is LICENSE_ENDED',
      license: { status: 'pending_provision', validFrom: null, validUntil: d('2026-05-01T00:00:00Z') },
      event: { type: 'activate' },
      expected: refused('LICENSE_ENDED'),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const actual = transition(c.license, c.event, pastEnd);
      if ('refused' in c.expected) {
        assert.deepEqual(actual.ok ? actual : { ok: false, reason: actual.reason, currentStatus: actual.currentStatus }, {
          ok: false,
          reason: c.expected.refused,
          currentStatus: 'expired',
        });
      } else {
        assert.deepEqual(actual, { ok: true, status: c.expected.to, validFrom: c.license.validFrom, validUntil: c.license.validUntil, changed: true });
      }
    });
  }

  test('isInEffect (L6): in_use and now inside the validity', () => {
    const future: LicenseLifecycle = { status: 'in_use', validFrom: d('2026-04-01T00:00:00Z'), validUntil: null };
    const rows: [LicenseLifecycle, Date, boolean][] = [
      [STATES.in_use, NOW, true],
      [STATES.in_use, new Date(pastEnd.getTime() - 1), true],
      [STATES.in_use, pastEnd, false],
      [future, NOW, false],
      [future, d('2026-04-01T00:00:00Z'), true],
      [{ status: 'in_use', validFrom: null, validUntil: null }, NOW, true],
      ...(['pending_provision', 'pending_start', 'access_denied', 'expired', 'finalized'] as const).map(
        (s): [LicenseLifecycle, Date, boolean] => [STATES[s], NOW, false],
      ),
    ];
    for (const [license, at, expected] of rows) assert.equal(isInEffect(license, at), expected, `${license.status} at ${at.toISOString()}`);
  });
});

describe('seed 003 walk-through', () => {
  test('pending_provision → pending_start → 5th device: in_use for 3 contract years → suspend → resume → cut-off', () => {
    let license: LicenseLifecycle = { status: 'pending_provision', validFrom: null, validUntil: null, termMonths: 36, startRule: CONNECTIONS };
    const apply = (event: LicenseEvent, at: Date) => {
      const t = transition(license, event, at);
      assert.ok(t.ok, JSON.stringify(t));
      license = { ...license, status: t.status, validFrom: t.validFrom, validUntil: t.validUntil };
      return t;
    };
    apply({ type: 'activate' }, d('2026-01-10T09:00:00Z'));
    assert.equal(license.status, 'pending_start');
    for (let n = 1; n <= 4; n++) assert.equal(apply({ type: 'connections', distinctDevices: n }, d(`2026-01-1${n}T09:00:00Z`)).changed, false);
    assert.equal(license.status, 'pending_start');
    const fifth = d('2026-01-20T17:45:00Z');
    apply({ type: 'connections', distinctDevices: 5 }, fifth);
    assert.deepEqual([license.status, license.validFrom, license.validUntil], ['in_use', fifth, d('2029-01-20T17:45:00Z')]);
    apply({ type: 'suspend' }, d('2027-01-01T00:00:00Z'));
    assert.equal(isInEffect(license, d('2027-01-02T00:00:00Z')), false);
    apply({ type: 'resume' }, d('2027-02-01T00:00:00Z'));
    assert.equal(license.validUntil?.toISOString(), '2029-01-20T17:45:00.000Z', 'the term kept running while suspended');
    assert.equal(isInEffect(license, d('2029-01-20T17:44:59Z')), true);
    assert.equal(effectiveStatus(license, d('2029-01-20T17:45:00Z')), 'expired');
    apply({ type: 'expire' }, d('2029-01-20T17:46:00Z'));
    assert.equal(license.status, 'expired');
    assert.equal(transition(license, { type: 'activate' }, d('2029-02-01T00:00:00Z')).ok, false);
  });
});

describe('start and end', () => {
  test('calendar months in UTC; a day the month lacks becomes its last day', () => {
    const rows: [string, number, string][] = [
      ['2026-01-31T08:30:00Z', 1, '2026-02-28T08:30:00.000Z'],
      ['2028-01-31T08:30:00Z', 1, '2028-02-29T08:30:00.000Z'],
      ['2024-02-29T00:00:00Z', 12, '2025-02-28T00:00:00.000Z'],
      ['2024-02-29T00:00:00Z', 48, '2028-02-29T00:00:00.000Z'],
      ['2026-08-31T23:59:59Z', 1, '2026-09-30T23:59:59.000Z'],
      ['2026-03-31T10:00:00Z', 12, '2027-03-31T10:00:00.000Z'],
      ['2026-11-15T00:00:00Z', 3, '2027-02-15T00:00:00.000Z'],
      ['2026-01-20T17:45:00Z', 60, '2031-01-20T17:45:00.000Z'],
      ['2026-03-31T00:00:00Z', -1, '2026-02-28T00:00:00.000Z'],
    ];
    for (const [from, months, to] of rows) assert.equal(addMonthsUtc(d(from), months).toISOString(), to, `${from} + ${months}`);
  });

  test('the end: start + term, a fixed validUntil, the earlier of both, or none', () => {
    const start = d('2026-01-31T00:00:00Z');
    assert.deepEqual(licenseEnd(start, 1, null), d('2026-02-28T00:00:00Z'));
    assert.deepEqual(licenseEnd(start, null, d('2026-12-31T00:00:00Z')), d('2026-12-31T00:00:00Z'));
    assert.deepEqual(licenseEnd(start, 12, d('2026-06-30T00:00:00Z')), d('2026-06-30T00:00:00Z'));
    assert.deepEqual(licenseEnd(start, 1, d('2026-06-30T00:00:00Z')), d('2026-02-28T00:00:00Z'));
    assert.equal(licenseEnd(start, undefined, null), null);
  });

  test('a license given a later validFrom starts then, and is in effect only from then', () => {
    const license: LicenseLifecycle = { status: 'pending_provision', validFrom: d('2026-05-01T00:00:00Z'), validUntil: null, termMonths: 6 };
    const t = transition(license, { type: 'activate' }, NOW);
    assert.deepEqual(t, { ok: true, status: 'in_use', validFrom: d('2026-05-01T00:00:00Z'), validUntil: d('2026-11-01T00:00:00Z'), changed: true });
    const after = { ...license, status: 'in_use' as const, validFrom: d('2026-05-01T00:00:00Z') };
    assert.equal(isInEffect(after, NOW), false);
    assert.equal(isInEffect(after, d('2026-05-01T00:00:00Z')), true);
  });

  test('an earlier validFrom does not backdate the start: time runs from activation', () => {
    const license: LicenseLifecycle = { status: 'pending_provision', validFrom: d('2025-01-01T00:00:00Z'), validUntil: null, termMonths: 12 };
    assertOutcome(transition(license, { type: 'activate' }, NOW), { to: 'in_use', ...started }, license);
  });
});
