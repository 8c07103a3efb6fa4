// Reading a query without building objects (the hot path). The 12-byte header is checked
// first and the cheapest decision taken (miekg/dns acceptfunc.go does the same):
//   - shorter than a header, or QR set (a response: answering it could reflect traffic) → drop
//   - opcode other than QUERY → NOTIMP when the whole message decodes (every section within
//     its bounds), FORMERR when it does not: the opcode bits of garbage mean nothing
//   - QDCOUNT ≠ 1, ANCOUNT or NSCOUNT ≠ 0 (RFC 1035 §4.1: a query carries neither), a question
//     we cannot read, a record that runs past the end, a second OPT or one not at the root
//     (RFC 6891 §6.1.1) → FORMERR
// The question name is read label by label, lower-cased into the lookup key (name.ts), and
// hashed on the way (FNV-1a over the key's bytes, tables/slab.ts hashKey): the handler looks the
// name up among those it answered before by that hash and the bytes (lookup.ts recall), so a
// repeated name needs no key string (parseQuery with `keyed` false leaves it to questionKey).
// The OPT record (RFC 6891) is looked for in the additional section.
// Class and type rules (only IN; no AXFR/IXFR) are the handler's: REFUSED, with the question.

import { FNV_BASIS, FNV_PRIME, TYPE } from './constants.js';
import { skipName } from './name.js';

// Buffer#latin1Slice is the undocumented fast path under toString('latin1', s, e) (no argument checks).
const latin1 = (b: Buffer, s: number, e: number): string => (b as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(s, e);

/** Each byte lower-cased the DNS way: ASCII letters only (RFC 4343; latin1 0xC0-0xDE stay). */
export const ASCII_LOWER = new Uint8Array(256);
for (let c = 0; c < 256; c++) ASCII_LOWER[c] = c >= 65 && c <= 90 ? c + 32 : c;

export const enum Verdict { Ok = 0, Drop = 1, NotImp = 2, FormErr = 3 }

/** One parsed query. The handler reuses a single instance: read it before any await. */
export interface ParsedQuery {
  verdict: Verdict;
  id: number;
  /** Byte 2 of the header as received (opcode, RD...). */
  flags2: number;
  /** Lower-cased wire key of the question name (name.ts); '' when parsed without it (questionKey makes it). */
  key: string;
  /** Offset of the question name's last byte (its root label, 0). */
  nameEnd: number;
  /** FNV-1a of the key's bytes (the name lower-cased): tables/slab.ts hashKey(key). */
  nameHash: number;
  /** Whether the name has an ASCII upper-case letter: false, its bytes are the key's (no case to restore in a prepared answer). */
  upper: boolean;
  /** Offset just past the question (name + type + class). */
  qend: number;
  qtype: number;
  qclass: number;
  ednsPresent: boolean;
  ednsVersion: number;
  ednsUdpSize: number;
  ednsDo: boolean;
}

export function newParsedQuery(): ParsedQuery {
  return { verdict: Verdict.Drop, id: 0, flags2: 0, key: '', nameEnd: 0, nameHash: 0, upper: false, qend: 0, qtype: 0, qclass: 0, ednsPresent: false, ednsVersion: 0, ednsUdpSize: 512, ednsDo: false };
}

/**
 * Parses msg into q. Never throws; q.verdict says what to do. Without `keyed`, q.key is left ''
 * (questionKey(msg, q) makes it when it is needed).
 */
export function parseQuery(msg: Buffer, q: ParsedQuery, keyed = true): void {
  const len = msg.length;
  q.ednsPresent = false; q.ednsVersion = 0; q.ednsUdpSize = 512; q.ednsDo = false;
  q.key = ''; q.nameEnd = 12; q.nameHash = 0; q.upper = false; q.qend = 12; q.qtype = 0; q.qclass = 0;
  if (len < 12 || (msg[2] & 0x80) !== 0) { q.verdict = Verdict.Drop; return; }
  q.id = (msg[0] << 8) | msg[1];
  q.flags2 = msg[2];
  const opcode = (msg[2] >> 3) & 0x0f;
  if (opcode !== 0) { q.verdict = decodes(msg) ? Verdict.NotImp : Verdict.FormErr; return; }
  if (msg[4] !== 0 || msg[5] !== 1 || msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0) { q.verdict = Verdict.FormErr; return; }
  // Question name: no compression allowed here (nothing precedes it to point to).
  // The loop reads locals only: an imported constant or a module-level table is checked for its
  // temporal dead zone at every use inside it, and a hash that starts as a double (FNV_BASIS is
  // over 2^31) keeps the loop's variable boxed; as int32 locals the loop costs about a third less.
  let p = 12;
  let h = FNV_BASIS | 0;
  const prime = FNV_PRIME | 0;
  const lower = ASCII_LOWER;
  let changed = 0; // non-zero once a byte was lower-cased: an upper-case letter
  for (;;) {
    if (p >= len) { q.verdict = Verdict.FormErr; return; }
    const l = msg[p];
    h = Math.imul(h ^ l, prime);
    if (l === 0) break;
    if (l > 63) { q.verdict = Verdict.FormErr; return; }
    const end = p + 1 + l;
    if (end > len) { q.verdict = Verdict.FormErr; return; }
    for (let i = p + 1; i < end; i++) {
      const c = msg[i];
      const lc = lower[c];
      changed |= lc ^ c;
      h = Math.imul(h ^ lc, prime);
    }
    p = end;
  }
  if (p - 12 + 1 > 255) { q.verdict = Verdict.FormErr; return; } // RFC 1035 §2.3.4
  if (p + 5 > len) { q.verdict = Verdict.FormErr; return; }
  q.nameEnd = p;
  q.nameHash = h >>> 0;
  q.upper = changed !== 0;
  if (keyed) q.key = questionKey(msg, q);
  q.qtype = (msg[p + 1] << 8) | msg[p + 2];
  q.qclass = (msg[p + 3] << 8) | msg[p + 4];
  q.qend = p + 5;
  q.verdict = Verdict.Ok;
  // EDNS: find OPT in the additional section (the answer and authority sections are empty, above).
  const ar = (msg[10] << 8) | msg[11];
  if (ar === 0) return;
  let r = q.qend;
  for (let i = 0; i < ar; i++) {
    const nameStart = r;
    r = skipName(msg, r);
    if (r < 0 || r + 10 > len) { q.verdict = Verdict.FormErr; return; }
    const type = (msg[r] << 8) | msg[r + 1];
    const rdlen = (msg[r + 8] << 8) | msg[r + 9];
    if (type === TYPE.OPT) {
      if (q.ednsPresent || msg[nameStart] !== 0) { q.verdict = Verdict.FormErr; return; } // RFC 6891 §6.1.1
      q.ednsPresent = true;
      const size = (msg[r + 2] << 8) | msg[r + 3];
      q.ednsUdpSize = size < 512 ? 512 : size;
      q.ednsVersion = msg[r + 5];
      q.ednsDo = (msg[r + 6] & 0x80) !== 0;
    }
    r += 10 + rdlen;
    if (r > len) { q.verdict = Verdict.FormErr; return; }
  }
}

/** Whether every section of a message lies within it: QDCOUNT questions, then ANCOUNT + NSCOUNT + ARCOUNT records. */
function decodes(msg: Buffer): boolean {
  const len = msg.length;
  const qd = (msg[4] << 8) | msg[5];
  const records = ((msg[6] << 8) | msg[7]) + ((msg[8] << 8) | msg[9]) + ((msg[10] << 8) | msg[11]);
  let p = 12;
  for (let i = 0; i < qd; i++) {
    p = skipName(msg, p);
    if (p < 0 || p + 4 > len) return false;
    p += 4;
  }
  for (let i = 0; i < records; i++) {
    p = skipName(msg, p);
    if (p < 0 || p + 10 > len) return false;
    p += 10 + ((msg[p + 8] << 8) | msg[p + 9]);
    if (p > len) return false;
  }
  return true;
}

/** The lookup key of a parsed question's name (q.nameEnd and q.upper set by parseQuery): its bytes, ASCII letters lower-cased. */
export function questionKey(msg: Buffer, q: ParsedQuery): string {
  const end = q.nameEnd + 1;
  if (!q.upper) return latin1(msg, 12, end); // the parse saw no upper-case letter: the bytes are the key
  // String.toLowerCase also folds latin1 0xC0-0xDE, which DNS does not (RFC 4343: ASCII only).
  for (let i = 12; i < end; i++) {
    const c = msg[i];
    if (c >= 0xc0 && c <= 0xde) return asciiLower(msg, 12, end);
  }
  return latin1(msg, 12, end).toLowerCase();
}

/** Lower-cases ASCII letters only (DNS names compare case-insensitively in ASCII, RFC 4343). */
function asciiLower(msg: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(ASCII_LOWER[msg[i]]);
  return s;
}
