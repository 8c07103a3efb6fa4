// A slab: one shard's name data (or the merged reverse index) in one SharedArrayBuffer, built
// once by the main thread and read by every worker thread without a copy (posting a
// SharedArrayBuffer shares it; ADR 0010). Immutable once built; freed by the garbage collector
// when no thread holds it any more.
//
// Layout (little-endian Uint32 words, then bytes):
//   header   16 words: MAGIC, capacity, entries, nodes, wildcard parents, data start,
//            meta offset, meta length, aux offset, aux length
//   index    capacity × 5 words: hash, data offset, key length, record length, flags
//            (open addressing, linear probing, load at most 1/2; key length 0: empty slot)
//   data     per entry: the key (wire/name.ts nameToKey: latin1, one byte per char) and right
//            after it the record (UTF-8 JSON, decoded on demand); then the meta and aux blobs
// The hash is FNV-1a over the key's char codes, so a lookup from a JavaScript key string
// allocates nothing: hash, probe, compare bytes.

import { TYPE } from '../wire/constants.js';

const MAGIC = 0x534c4231; // "SLB1"
const HEADER_WORDS = 16;
const SLOT_WORDS = 5;

/** Entry flags (the low byte), and one bit per RR type the node holds from bit 8 up (typeBit). */
export const NODE = 1;
/** An empty non-terminal: no data, names below it (NODATA, not NXDOMAIN). */
export const ENT = 2;
/** The name has a "*" child (RFC 4592 source of synthesis). */
export const WILDCARD_PARENT = 4;
/** The node holds a CNAME. */
export const CNAME = 8;

const TYPE_BITS: ReadonlyMap<number, number> = new Map([
  TYPE.A, TYPE.NS, TYPE.CNAME, TYPE.SOA, TYPE.PTR, TYPE.MX, TYPE.TXT, TYPE.AAAA, TYPE.SRV, TYPE.CAA,
].map((t, i) => [t, 1 << (8 + i)]));

/** The flag bit of RR type `type` (0 for a type no configuration holds: the config contract has these ten). */
export function typeBit(type: number): number {
  return TYPE_BITS.get(type) ?? 0;
}

/** FNV-1a (32 bits) over a key's char codes (each < 256). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A read view of a slab (cheap: views over the shared memory, no copy). */
export class Slab {
  readonly u32: Uint32Array;
  readonly bytes: Buffer;
  readonly #mask: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.u32 = new Uint32Array(sab, 0, sab.byteLength >>> 2);
    this.bytes = Buffer.from(sab);
    if (this.u32[0] !== MAGIC) throw new Error('not a table slab');
    this.#mask = this.u32[1] - 1;
  }

  get capacity(): number { return this.u32[1]; }
  /** Entries (nodes, empty non-terminals, wildcard parents: one per key). */
  get entries(): number { return this.u32[2]; }
  /** Keys that hold data (names.size). */
  get nodes(): number { return this.u32[3]; }
  get wildcardParents(): number { return this.u32[4]; }

  /** The slot of `key`, or -1. */
  find(key: string, hash = hashKey(key)): number {
    const u32 = this.u32;
    const u8 = this.bytes;
    const len = key.length;
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const w = HEADER_WORDS + i * SLOT_WORDS;
      const klen = u32[w + 2];
      if (klen === 0) return -1;
      if (u32[w] !== hash || klen !== len) continue;
      let p = u32[w + 1];
      let j = 0;
      while (j < len && u8[p] === key.charCodeAt(j)) { p++; j++; }
      if (j === len) return i;
    }
  }

  /** The flags of `key` (NODE, ENT, WILDCARD_PARENT, CNAME, type bits), 0 when absent. */
  flagsOf(key: string): number {
    const i = this.find(key);
    return i < 0 ? 0 : this.u32[HEADER_WORDS + i * SLOT_WORDS + 4];
  }

  /** Whether slot `i` is in use. */
  used(i: number): boolean { return this.u32[HEADER_WORDS + i * SLOT_WORDS + 2] !== 0; }
  hashAt(i: number): number { return this.u32[HEADER_WORDS + i * SLOT_WORDS]; }
  flagsAt(i: number): number { return this.u32[HEADER_WORDS + i * SLOT_WORDS + 4]; }

  keyAt(i: number): string {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const p = this.u32[w + 1];
    return this.bytes.toString('latin1', p, p + this.u32[w + 2]);
  }

  /** The record of slot `i`, parsed (JSON). */
  recordAt(i: number): unknown {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const p = this.u32[w + 1] + this.u32[w + 2];
    return JSON.parse(this.bytes.toString('utf8', p, p + this.u32[w + 3]));
  }

  /** The entry of slot `i` as raw bytes (key then record), for copying into another slab. */
  rawAt(i: number): { hash: number; flags: number; keyLen: number; bytes: Uint8Array } {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const p = this.u32[w + 1];
    return { hash: this.u32[w], flags: this.u32[w + 4], keyLen: this.u32[w + 2], bytes: this.bytes.subarray(p, p + this.u32[w + 2] + this.u32[w + 3]) };
  }

  /** The meta blob, parsed (what kind of table, its shard's id and hash...). */
  meta(): unknown { return JSON.parse(this.bytes.toString('utf8', this.u32[6], this.u32[6] + this.u32[7])); }
  /** The aux blob, parsed (a shard slab: its reverse RRsets; read by the main thread only). */
  aux(): unknown { return JSON.parse(this.bytes.toString('utf8', this.u32[8], this.u32[8] + this.u32[9])); }
}

/** An entry to write: a key, its flags and its record (JSON text; empty for an ENT or wildcard parent). */
interface NewEntry { hash: number; key: string; flags: number; record: string; recordBytes: number }
type Pending = NewEntry | { raw: ReturnType<Slab['rawAt']> };

/** Builds a slab: add entries (each key once), then finish(). */
export class SlabWriter {
  readonly #pending: Pending[] = [];
  #dataBytes = 0;
  #nodes = 0;
  #wildcardParents = 0;

  add(key: string, flags: number, record = ''): void {
    const recordBytes = Buffer.byteLength(record, 'utf8');
    this.#pending.push({ hash: hashKey(key), key, flags, record, recordBytes });
    this.#count(flags, key.length + recordBytes);
  }

  /** Copies an entry of another slab as it is (bytes and hash), without decoding it. */
  copy(from: Slab, slot: number): void {
    const raw = from.rawAt(slot);
    this.#pending.push({ raw });
    this.#count(raw.flags, raw.bytes.length);
  }

  #count(flags: number, bytes: number): void {
    this.#dataBytes += bytes;
    if (flags & NODE) this.#nodes++;
    if (flags & WILDCARD_PARENT) this.#wildcardParents++;
  }

  finish(meta: unknown, aux: unknown = null): SharedArrayBuffer {
    const metaText = JSON.stringify(meta);
    const auxText = JSON.stringify(aux);
    const n = this.#pending.length;
    let capacity = 8;
    while (capacity < n * 2) capacity *= 2;
    const dataStart = (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
    const metaBytes = Buffer.byteLength(metaText, 'utf8');
    const total = dataStart + this.#dataBytes + metaBytes + Buffer.byteLength(auxText, 'utf8');
    const sab = new SharedArrayBuffer(total);
    const u32 = new Uint32Array(sab, 0, dataStart >>> 2);
    const u8 = Buffer.from(sab);
    const mask = capacity - 1;
    let p = dataStart;
    for (const e of this.#pending) {
      const hash = 'raw' in e ? e.raw.hash : e.hash;
      let i = hash & mask;
      while (u32[HEADER_WORDS + i * SLOT_WORDS + 2] !== 0) i = (i + 1) & mask;
      const w = HEADER_WORDS + i * SLOT_WORDS;
      u32[w] = hash;
      u32[w + 1] = p;
      if ('raw' in e) {
        u32[w + 2] = e.raw.keyLen; u32[w + 3] = e.raw.bytes.length - e.raw.keyLen; u32[w + 4] = e.raw.flags;
        u8.set(e.raw.bytes, p);
        p += e.raw.bytes.length;
      } else {
        if (e.key.length === 0) throw new Error('a slab key is never empty');
        u32[w + 2] = e.key.length; u32[w + 3] = e.recordBytes; u32[w + 4] = e.flags;
        p += u8.write(e.key, p, e.key.length, 'latin1');
        p += u8.write(e.record, p, e.recordBytes, 'utf8');
      }
    }
    u32[6] = p; u32[7] = metaBytes;
    p += u8.write(metaText, p, metaBytes, 'utf8');
    u32[8] = p; u32[9] = total - p;
    u8.write(auxText, p, total - p, 'utf8');
    u32[0] = MAGIC; u32[1] = capacity; u32[2] = n; u32[3] = this.#nodes; u32[4] = this.#wildcardParents; u32[5] = dataStart;
    return sab;
  }
}
