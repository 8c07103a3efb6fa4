// Names and addresses, normalised in one place: domain names lower-case with the trailing dot
// (the generated config's Fqdn), one IPv4/IPv6 parser (pure: no node:net), IPv6 in one
// canonical text form, reverse (PTR) owner names.

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

/** The record type that carries an address of this family. */
export const addressRecordType = (family: IpFamily): 'A' | 'AAAA' => (family === 4 ? 'A' : 'AAAA');

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted-quad IPv4: four decimal octets 0-255 without leading zeros (as inet_pton). */
function parseIPv4(t: string): number[] | undefined {
  const parts = t.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!DEC_OCTET.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** Colon-separated 16-bit groups; an IPv4 tail only as the last part when `tail`. */
function groupsOf(text: string, tail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (HEX_GROUP.test(p)) { out.push(parseInt(p, 16)); continue; }
    const v4 = tail && i === parts.length - 1 ? parseIPv4(p) : undefined;
    if (!v4) return undefined;
    out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
  }
  return out;
}

/**
 * IPv6 text forms of RFC 4291 §2.2: eight groups of 1-4 hex digits, one "::" standing for one
 * or more zero groups, an IPv4 tail for the last 32 bits; no zone index. The eight groups.
 */
function parseIPv6(t: string): number[] | undefined {
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  if (halves.length === 1) {
    const g = groupsOf(t, true);
    return g?.length === 8 ? g : undefined;
  }
  const head = groupsOf(halves[0], false);
  const tail = groupsOf(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

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
