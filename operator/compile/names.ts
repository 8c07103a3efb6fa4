// Names and addresses, normalised in one place: domain names lower-case with the trailing dot
// (the generated config's Fqdn), IPv6 in one canonical text form, reverse (PTR) owner names.

import { isIPv4, isIPv6 } from 'node:net';

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

export type IpFamily = 4 | 6;

/** The canonical text of an address (IPv6 compressed, lower-case), or undefined when it is not one. */
export function canonicalIp(text: string): { ip: string; family: IpFamily } | undefined {
  const t = text.trim();
  if (isIPv4(t)) return { ip: t.split('.').map((o) => String(Number(o))).join('.'), family: 4 };
  if (isIPv6(t) && !t.includes('%')) return { ip: compressIPv6(expandIPv6(t)), family: 6 };
  return undefined;
}

/** Eight groups of four hex digits. Accepts an embedded IPv4 tail ("::ffff:192.0.2.1"). */
export function expandIPv6(ip: string): string[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + ((o[0] << 8) | o[1]).toString(16) + ':' + ((o[2] << 8) | o[3]).toString(16);
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

/** RFC 5952 text form: no leading zeros, the longest run of zero groups (>1) as "::". */
function compressIPv6(groups: string[]): string {
  const g = groups.map((x) => x.replace(/^0+(?=.)/, ''));
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
  return expandIPv6(ip).join('').split('').reverse().join('.') + '.ip6.arpa.';
}

/** A system-assigned endpoint hostname (as CoreDNS does): the address with '.'/':' as '-'. */
export function dashedIp(ip: string, family: IpFamily): string {
  return family === 4 ? ip.replace(/\./g, '-') : expandIPv6(ip).join('-').replace(/(^|-)0+(?=[0-9a-f])/g, '$1');
}

/** Stable sort key comparison. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
