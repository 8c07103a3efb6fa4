// IP addresses as the contract carries them (A and AAAA data, upstream addresses): the one
// parser of IPv4 and IPv6 text, the family → record type choice, and the bytes of an address
// (the wire encoder of A/AAAA RDATA writes these). Plain code, no I/O module: the operator's
// compile phase and the DNS server may both use it.

export type IpFamily = 4 | 6;

/** The record type that carries an address of a family. */
export function addressRecordType(family: IpFamily): 'A' | 'AAAA' {
  return family === 4 ? 'A' : 'AAAA';
}

/** The four octets of a dotted-quad IPv4 literal (decimal, no leading zeros, as node:net's isIPv4), or undefined. */
export function parseIPv4(text: string): number[] | undefined {
  const out: number[] = [];
  let v = 0, digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || v > 255 || out.length === 4) return undefined;
      out.push(v); v = 0; digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3 || (digits === 2 && v === 0)) return undefined; // "01": not a decimal octet
      v = v * 10 + c - 48;
    } else return undefined;
  }
  return out.length === 4 ? out : undefined;
}

/** The eight 16-bit groups of an IPv6 literal ("::" and an embedded IPv4 tail allowed, no zone), or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (s.indexOf('.', lastColon) !== -1) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    s = s.slice(0, lastColon + 1) + '0'; // a placeholder group, replaced below
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]);
  const rest = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length - (tail.length ? 1 : 0);
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else groups = head;
  if (tail.length) {
    if (groups.length !== 7) return undefined;
    groups = [...groups.slice(0, 6), ...tail];
  }
  return groups.length === 8 ? groups : undefined;
}

/**
 * Writes the RDATA of an A (4 bytes) or AAAA (16 bytes) record for `addr` at `at`; returns the
 * offset after it. Throws on a literal that is not of the type's family (validated config
 * never holds one).
 */
export function writeAddress(out: Uint8Array, at: number, family: IpFamily, addr: string): number {
  if (family === 4) {
    const o = parseIPv4(addr);
    if (o === undefined) throw new Error(`bad IPv4 ${addr}`);
    out[at] = o[0]; out[at + 1] = o[1]; out[at + 2] = o[2]; out[at + 3] = o[3];
    return at + 4;
  }
  const g = parseIPv6(addr);
  if (g === undefined) throw new Error(`bad IPv6 ${addr}`);
  for (let i = 0; i < 8; i++) { out[at + 2 * i] = g[i] >> 8; out[at + 2 * i + 1] = g[i] & 0xff; }
  return at + 16;
}
