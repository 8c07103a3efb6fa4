// The query `splitdns explain` hands the in-process handler, and the reply read back as
// presentation lines ("name. TTL TYPE data", as dig prints them). A small reader of our own
// instead of dns-packet: production code depends on no devDependency, and explain only prints
// the answer section of replies our own server made.

import { RR_TYPE_BY_NAME, TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE).map(([n, v]) => [v, n]));

/** A query for `fqdn` (trailing dot) and `type` (a name such as "A" or "ANY"), ID 1, RD set. */
export function encodeQuery(fqdn: string, type: string): Buffer {
  const qtype = type === 'ANY' ? TYPE.ANY : RR_TYPE_BY_NAME[type];
  if (qtype === undefined) throw new Error(`unknown record type ${JSON.stringify(type)} (one of ${Object.keys(RR_TYPE_BY_NAME).join(', ')}, ANY)`);
  const qname = Buffer.from(nameToKey(fqdn), 'latin1');
  const out = Buffer.alloc(12 + qname.length + 4);
  out.writeUInt16BE(1, 0); // ID
  out.writeUInt16BE(0x0100, 2); // RD
  out.writeUInt16BE(1, 4); // QDCOUNT
  qname.copy(out, 12);
  out.writeUInt16BE(qtype, 12 + qname.length);
  out.writeUInt16BE(1, 14 + qname.length); // class IN
  return out;
}

/** The (possibly compressed, RFC 1035 §4.1.4) name at `p`: its dotted text and the offset after it. */
function readName(msg: Buffer, p: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let hops = 0; hops < 128; hops++) {
    const len = msg[p];
    if (len === undefined) throw new Error('name runs past the message');
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = p + 2;
      p = ((len & 0x3f) << 8) | msg[p + 1];
      continue;
    }
    if (len === 0) return [labels.length ? labels.join('.') + '.' : '.', end < 0 ? p + 1 : end];
    labels.push(msg.toString('latin1', p + 1, p + 1 + len));
    p += 1 + len;
  }
  throw new Error('name compression loop');
}

function rdataText(msg: Buffer, type: number, p: number, len: number): string {
  const name = (at: number) => readName(msg, at)[0];
  switch (type) {
    case TYPE.A: return [...msg.subarray(p, p + 4)].join('.');
    case TYPE.AAAA: {
      const g: number[] = [];
      for (let i = 0; i < 16; i += 2) g.push(msg.readUInt16BE(p + i));
      // RFC 5952: the longest run of two or more zero groups becomes "::".
      let at = -1, run = 0;
      for (let i = 0; i < 8;) {
        if (g[i] !== 0) { i++; continue; }
        let j = i; while (j < 8 && g[j] === 0) j++;
        if (j - i > run && j - i >= 2) { at = i; run = j - i; }
        i = j;
      }
      const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
      return at < 0 ? hex(g) : `${hex(g.slice(0, at))}::${hex(g.slice(at + run))}`;
    }
    case TYPE.NS: case TYPE.CNAME: case TYPE.PTR: return name(p);
    case TYPE.MX: return `${msg.readUInt16BE(p)} ${name(p + 2)}`;
    case TYPE.SRV: return `${msg.readUInt16BE(p)} ${msg.readUInt16BE(p + 2)} ${msg.readUInt16BE(p + 4)} ${name(p + 6)}`;
    case TYPE.SOA: {
      const [mname, a] = readName(msg, p);
      const [rname, b] = readName(msg, a);
      const n = [0, 4, 8, 12, 16].map((o) => msg.readUInt32BE(b + o));
      return `${mname} ${rname} ${n.join(' ')}`;
    }
    case TYPE.TXT: {
      const parts: string[] = [];
      for (let i = p; i < p + len;) { const l = msg[i]; parts.push(JSON.stringify(msg.toString('latin1', i + 1, i + 1 + l))); i += 1 + l; }
      return parts.join(' ');
    }
    case TYPE.CAA: {
      const tl = msg[p + 1];
      return `${msg[p]} ${msg.toString('latin1', p + 2, p + 2 + tl)} ${JSON.stringify(msg.toString('latin1', p + 2 + tl, p + len))}`;
    }
    default: return `\\# ${len} ${msg.toString('hex', p, p + len)}`; // RFC 3597
  }
}

/** The rcode's name and the answer section of a reply, one presentation line per record. */
export function readAnswers(msg: Buffer): { rcode: string; answers: string[] } {
  const code = msg[3] & 0x0f;
  const rcode = RCODES[code] ?? `RCODE${code}`;
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let p = 12;
  for (let i = 0; i < qd; i++) p = readName(msg, p)[1] + 4;
  const answers: string[] = [];
  for (let i = 0; i < an; i++) {
    const [owner, q] = readName(msg, p);
    const type = msg.readUInt16BE(q);
    const ttl = msg.readUInt32BE(q + 4);
    const len = msg.readUInt16BE(q + 8);
    answers.push(`${owner} ${ttl} ${TYPE_NAME.get(type) ?? `TYPE${type}`} ${rdataText(msg, type, q + 10, len)}`);
    p = q + 10 + len;
  }
  return { rcode, answers };
}
