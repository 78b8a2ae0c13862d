import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';

/*
 * The connect-time address check of webhook deliveries (docs/spec.md §12): the name is resolved by the lookup the
 * socket itself uses, and an address that is not public refuses the connection before anything is sent. A name
 * that resolved to a public address at registration and to a private one now (DNS rebinding) is refused here.
 */

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['64:ff9b::', 96], // NAT64 (embeds an IPv4 address)
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID...)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4 (embeds an IPv4 address)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

/** True when `address` (an IPv4 or IPv6 literal) is a public unicast address a webhook may be sent to. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return !blocked.check(address, 'ipv4');
  const groups = expandIpv6(address);
  if (groups === undefined) return false;
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d): judged by the IPv4 address inside.
  const zeros = (n: number): boolean => groups.slice(0, n).every((g) => g === 0);
  const embedded =
    (zeros(5) && groups[5] === 0xffff) || (zeros(4) && groups[4] === 0xffff && groups[5] === 0);
  if (embedded) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return !blocked.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
  }
  return !blocked.check(address, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 literal (a trailing dotted IPv4 part included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)?.[1];
  if (v4 !== undefined) {
    const b = v4.split('.').map(Number);
    text = `${text.slice(0, -v4.length)}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...new Array<number>(Math.max(0, fill)).fill(0), ...t];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

/** Thrown (as a connection error) when a webhook host resolves to an address that is not public. */
export class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOKADDRESS';
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    super(`Webhook host ${hostname} resolved to ${address}, which is not a public address`);
    this.name = 'RefusedAddressError';
  }
}

/** The resolver under the check (the system's by default; tests inject one). */
export type Resolver = LookupFunction;

/**
 * A `lookup` for an agent or socket that resolves with `resolve` and fails the connection when any address it
 * would connect to is not public. Handles both forms Node uses (`all: true` for family auto-selection).
 */
export function publicOnlyLookup(resolve: Resolver = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options, (error, address, family) => {
      if (error) return callback(error, address, family);
      const addresses: { address: string; family: number }[] = Array.isArray(address)
        ? address
        : [{ address: address, family: family ?? isIP(address) }];
      const bad = addresses.find((a) => !isPublicAddress(a.address));
      if (bad || addresses.length === 0) {
        return callback(new RefusedAddressError(hostname, bad?.address ?? '(none)'), '', 0);
      }
      if (Array.isArray(address)) {
        (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      } else {
        callback(null, address, family);
      }
    });
  };
}
