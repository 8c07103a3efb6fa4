// Names and addresses, normalised in one place: domain names lower-case with the trailing dot
// (the generated config's Fqdn), one IPv4/IPv6 parser (pure: no node:net), IPv6 in one
// canonical text form, reverse (PTR) owner names.

import { parseIPv4, parseIPv6 } from '../../dns-server/config/address.js';
import type { IpFamily } from '../../dns-server/config/address.js';

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Lower-cases and adds the trailing dot; "" and "." are the root. */
export function toFqdn(name: string): string {
  const n = name.trim().toLowerCase();
  if (n === '' || n === '.') return '.';
  return n.endsWith('.') ? n : n + '.';
}

/** Why `fqdn` is not a valid host-style domain name, or undefined when it is. A leading "*." is allowed with `wildcard`. */
export function checkDomainName(fqdn: string, opts: { wildcard?: boolean } = {}): string | undefined {
  if (fqdn === '.') return undefined;
  if (fqdn.length > 254) return `${fqdn} is longer than 253 characters`;
  const labels = fqdn.slice(0, -1).split('.');
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === '*' && i === 0 && opts.wildcard) continue;
    if (!LABEL.test(l)) return `${fqdn} has an invalid label ${JSON.stringify(l)} (letters, digits, '-' and '_', 1-63 characters, not starting or ending with '-')`;
  }
  return undefined;
}

/** True when `name` is `suffix` or below it (both Fqdn). */
export function isBelow(name: string, suffix: string): boolean {
  return suffix === '.' || name === suffix || name.endsWith('.' + suffix);
}

/** Resolves a zone-relative record name: "@" is the origin, a name ending in "." is absolute. */
export function resolveRelative(name: string, origin: string): string {
  const n = name.trim().toLowerCase();
  if (n === '@' || n === '') return origin;
  if (n.endsWith('.')) return n;
  return origin === '.' ? n + '.' : `${n}.${origin}`;
}

// The one IPv4/IPv6 parser and the family → record type choice are the contract's (plain code,
// no I/O module): compile and the DNS server read addresses the same way.
export type { IpFamily } from '../../dns-server/config/address.js';
export { addressRecordType } from '../../dns-server/config/address.js';

/** The canonical text of an address (IPv6 compressed, lower-case), or undefined when it is not one. */
export function canonicalIp(text: string): { ip: string; family: IpFamily } | undefined {
  const t = text.trim();
  const v4 = parseIPv4(t);
  if (v4) return { ip: v4.join('.'), family: 4 };
  const v6 = t.includes(':') ? parseIPv6(t) : undefined;
  if (v6) return { ip: compressIPv6(v6), family: 6 };
  return undefined;
}

/** The eight groups of a canonical IPv6 address (from canonicalIp). */
function groupsOfIPv6(ip: string): number[] {
  const g = parseIPv6(ip);
  if (!g) throw new TypeError(`not an IPv6 address: ${ip}`);
  return g;
}

/** RFC 5952 text form: no leading zeros, the longest run of zero groups (>1) as "::". */
function compressIPv6(groups: number[]): string {
  const g = groups.map((x) => x.toString(16));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return g.join(':');
  return g.slice(0, best).join(':') + '::' + g.slice(best + bestLen).join(':');
}

/** The reverse owner name of an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(ip: string, family: IpFamily): string {
  if (family === 4) return ip.split('.').reverse().join('.') + '.in-addr.arpa.';
  return groupsOfIPv6(ip).map((x) => x.toString(16).padStart(4, '0')).join('').split('').reverse().join('.') + '.ip6.arpa.';
}

/** A system-assigned endpoint hostname (as CoreDNS does): the address with '.'/':' as '-'. */
export function dashedIp(ip: string, family: IpFamily): string {
  return family === 4 ? ip.replace(/\./g, '-') : groupsOfIPv6(ip).map((x) => x.toString(16)).join('-');
}

/** Stable sort key comparison. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
