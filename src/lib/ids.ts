import { typeid } from 'typeid-js';

/**
 * Every id in licensepool is a TypeID: a type prefix and a UUIDv7 in base32, so ids say what
 * they name (`pool_…`, `lic_…`) and sort by creation time, which keeps cursor pagination and
 * B-tree inserts cheap.
 */
export const ID_PREFIXES = {
  account: 'acc',
  token: 'tok',
  pool: 'pool',
  role: 'role',
  meter: 'mtr',
  feature: 'feat',
  license: 'lic',
  device: 'dev',
  member: 'mem',
  event: 'evt',
  request: 'req',
  accessRule: 'acr',
  claim: 'clm',
  signingKey: 'key',
  ticket: 'tkt',
  application: 'app',
  package: 'pkg',
  job: 'job',
  message: 'msg',
  template: 'tpl',
  webhook: 'hook',
  webhookDelivery: 'dlv',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return typeid(ID_PREFIXES[kind]).toString();
}

const ID_SHAPE = /^[a-z]{2,8}_[0-7][0-9a-hjkmnp-tv-z]{25}$/;

/** True when `value` has the shape of an id of `kind`; used to answer 404 without a query. */
export function isIdOf(kind: IdKind, value: string): boolean {
  return value.startsWith(`${ID_PREFIXES[kind]}_`) && ID_SHAPE.test(value);
}
