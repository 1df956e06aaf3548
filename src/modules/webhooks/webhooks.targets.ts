/**
 * N6: where deliveries may go. A webhook URL is a request the server makes on a customer's
 * behalf, so by default it may reach only public addresses: not loopback, private, link-local,
 * unique-local, carrier-grade NAT, multicast or reserved ones (server-side request forgery
 * into the operator's own network). The check runs when an endpoint is saved, with a clear
 * refusal, and again on every connection, on the addresses the connection actually uses, so a
 * name that later resolves inwards (DNS rebinding) is refused too.
 * `LICENSEPOOL_WEBHOOK_PRIVATE_TARGETS=true` lifts it, for receivers on the operator's network.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../../lib/errors.js';

export interface TargetPolicy {
  /** Deliver to private and loopback addresses too. */
  allowPrivate: boolean;
}

export const PUBLIC_TARGETS_ONLY: TargetPolicy = { allowPrivate: false };

/** True for an address of the public internet (ipaddr.js's `unicast` range, IPv4-mapped IPv6 unwrapped). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** The host of a URL as an address or a name (IPv6 without its brackets). */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

// The addresses a name resolves to stay unsaid: they would map the operator's network for a tenant.
const forbidden = (host: string, literal: boolean) =>
  new AppError('WEBHOOK_TARGET_FORBIDDEN', `${literal ? `${host} is` : `${host} resolves to`} a non-public address; the server's operator may allow such targets (LICENSEPOOL_WEBHOOK_PRIVATE_TARGETS)`);

/** Refuses, when an endpoint is saved, a URL whose host is or resolves to a non-public address. */
export async function checkTarget(url: URL, policy: TargetPolicy): Promise<void> {
  if (policy.allowPrivate) return;
  const host = hostOf(url);
  if (ipaddr.isValid(host)) {
    if (!isPublicAddress(host)) throw forbidden(host, true);
    return;
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new AppError('WEBHOOK_TARGET_UNRESOLVABLE', `${host} does not resolve`, { host });
  }
  const inward = addresses.find((a) => !isPublicAddress(a.address));
  if (inward) throw forbidden(host, false);
}

/** The error a delivery attempt ends with when its connection would reach a non-public address. */
export class TargetRefused extends Error {
  readonly code = 'WEBHOOK_TARGET_FORBIDDEN';
}

/**
 * A `lookup` for node:http(s) that resolves as usual and fails the connection when the
 * policy refuses any address the name resolves to. Addresses in the URL itself are not looked
 * up by Node: `refusedLiteral` covers them.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const inward = policy.allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a.address));
      if (inward) return callback(new TargetRefused(`${hostname} resolves to a non-public address`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      return callback(null, first!.address, first!.family);
    });
  };
}

/** The refusal of a URL whose host is a non-public address, or null. */
export function refusedLiteral(url: URL, policy: TargetPolicy): TargetRefused | null {
  const host = hostOf(url);
  if (policy.allowPrivate || !ipaddr.isValid(host) || isPublicAddress(host)) return null;
  return new TargetRefused(`${host} is a non-public address`);
}
