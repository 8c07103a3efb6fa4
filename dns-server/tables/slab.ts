// A slab: one shard's name data (or the merged reverse index) in one SharedArrayBuffer, built
// once by the main thread and read by every worker thread without a copy (posting a
// SharedArrayBuffer shares it; ADR 0010). Immutable once built; freed by the garbage collector
// when no thread holds it any more.
//
// Layout (little-endian Uint32 words, then bytes):
//   header   16 words: MAGIC, capacity, entries, nodes, wildcard parents, data start,
//            meta offset, meta length, aux offset, aux length, data end, dead bytes (patchSlab)
//   index    capacity × 5 words: hash, data offset, key length, record length, flags
//            (open addressing, linear probing, load at most 1/2; key length 0: empty slot)
//   data     per entry: the key (wire/name.ts nameToKey: latin1, one byte per char) and right
//            after it the record (UTF-8 JSON, decoded on demand); then the meta and aux blobs
// The hash is FNV-1a over the key's char codes, so a lookup from a JavaScript key string
// allocates nothing: hash, probe, compare bytes. (The machine's byte order: writer and readers
// are threads of one process.)

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

  /** The record of slot `i` as text (copied into another slab without parsing). */
  recordTextAt(i: number): string {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const p = this.u32[w + 1] + this.u32[w + 2];
    return this.bytes.toString('utf8', p, p + this.u32[w + 3]);
  }

  /** The meta blob, parsed (what kind of table, its shard's id and hash...). */
  meta(): unknown { return JSON.parse(this.bytes.toString('utf8', this.u32[6], this.u32[6] + this.u32[7])); }
  /** The aux blob, parsed (a shard slab: its reverse RRsets; read by the main thread only). */
  aux(): unknown { return JSON.parse(this.bytes.toString('utf8', this.u32[8], this.u32[8] + this.u32[9])); }
}

/** Words of the header past the first ten: where the entries' data ends, and how much of it is dead (patchSlab). */
const DATA_END = 10;
const DEAD_BYTES = 11;

/** Builds a slab: add entries (each key once), then finish(). Keys are latin1, records UTF-8. */
export class SlabWriter {
  readonly #keys: string[] = [];
  readonly #records: string[] = [];
  readonly #flags: number[] = [];

  add(key: string, flags: number, record = ''): void {
    if (key.length === 0) throw new Error('a slab key is never empty');
    this.#keys.push(key);
    this.#records.push(record);
    this.#flags.push(flags);
  }

  /** @param room entries the index should take besides these, at most half full (a slab that patchSlab will grow) */
  finish(meta: unknown, aux: unknown = null, room = 0): SharedArrayBuffer {
    const keys = this.#keys;
    const records = this.#records;
    const n = keys.length;
    // Records are JSON of validated names and data: nearly always ASCII, so bytes = chars and
    // each is written with no UTF-8 pass; one that is not is measured and written as UTF-8.
    const sizes = new Uint32Array(n);
    let dataBytes = 0;
    for (let i = 0; i < n; i++) {
      const r = records[i];
      sizes[i] = isAscii(r) ? r.length : Buffer.byteLength(r, 'utf8');
      dataBytes += keys[i].length + sizes[i];
    }
    let capacity = 8;
    while (capacity < (n + room) * 2) capacity *= 2;
    const dataStart = (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
    const out = allocate(capacity, dataStart + dataBytes, meta, aux);
    const { u32, u8 } = out;
    const mask = capacity - 1;
    // ASCII entries are gathered into chunks of about 64 KB and written with one call each (a
    // write per key and record was most of the build: about half a microsecond a call).
    let chunk = '';
    let chunkAt = dataStart;
    let p = dataStart;
    for (let e = 0; e < n; e++) {
      const key = keys[e];
      const hash = hashKey(key);
      let i = hash & mask;
      while (u32[HEADER_WORDS + i * SLOT_WORDS + 2] !== 0) i = (i + 1) & mask;
      const w = HEADER_WORDS + i * SLOT_WORDS;
      const rlen = sizes[e];
      if (rlen === records[e].length) {
        chunk += key + records[e];
      } else {
        u8.write(chunk, chunkAt, chunk.length, 'latin1');
        u8.write(key, p, key.length, 'latin1');
        u8.write(records[e], p + key.length, rlen, 'utf8');
        chunk = '';
        chunkAt = p + key.length + rlen;
      }
      u32[w] = hash; u32[w + 1] = p; u32[w + 2] = key.length; u32[w + 3] = rlen; u32[w + 4] = this.#flags[e];
      p += key.length + rlen;
      countEntry(u32, this.#flags[e], 1);
      if (chunk.length >= 65536) { u8.write(chunk, chunkAt, chunk.length, 'latin1'); chunk = ''; chunkAt = p; }
    }
    u8.write(chunk, chunkAt, chunk.length, 'latin1');
    u32[2] = n;
    return out.sab;
  }
}

/** Whether a string is all ASCII (then its UTF-8 and latin1 forms are its chars). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** A new slab's memory with its header, meta and aux written; the index and entries are the caller's. */
function allocate(capacity: number, dataEnd: number, meta: unknown, aux: unknown): { sab: SharedArrayBuffer; u32: Uint32Array; u8: Buffer } {
  const metaText = JSON.stringify(meta);
  const auxText = JSON.stringify(aux);
  const metaBytes = Buffer.byteLength(metaText, 'utf8');
  const total = dataEnd + metaBytes + Buffer.byteLength(auxText, 'utf8');
  const sab = new SharedArrayBuffer(total);
  const dataStart = (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
  const u32 = new Uint32Array(sab, 0, dataStart >>> 2);
  const u8 = Buffer.from(sab);
  u8.write(metaText, dataEnd, metaBytes, 'utf8');
  u8.write(auxText, dataEnd + metaBytes, total - dataEnd - metaBytes, 'utf8');
  u32[0] = MAGIC; u32[1] = capacity; u32[5] = dataStart;
  u32[6] = dataEnd; u32[7] = metaBytes; u32[8] = dataEnd + metaBytes; u32[9] = total - dataEnd - metaBytes;
  u32[DATA_END] = dataEnd;
  return { sab, u32, u8 };
}

function countEntry(u32: Uint32Array, flags: number, by: number): void {
  if (flags & NODE) u32[3] += by;
  if (flags & WILDCARD_PARENT) u32[4] += by;
}

/**
 * A copy of `old` with the entries of `remove` taken out and `add` put in (a key in both is
 * replaced), for a large slab that changes a little at a time (the reverse index): the index and
 * the entries' bytes are copied whole (two memory copies, nothing decoded), then patched; the
 * removed entries' bytes stay behind as dead space. When the dead space passes the live data, or
 * the index would be more than half full, the entries are written afresh instead (compaction).
 */
export function patchSlab(old: Slab, remove: Iterable<string>, add: readonly (readonly [string, number, string])[], meta: unknown, aux: unknown = null): SharedArrayBuffer {
  const ou32 = old.u32;
  const removeSlots: number[] = [];
  let deadBytes = ou32[DEAD_BYTES];
  for (const key of new Set(remove)) {
    const i = old.find(key);
    if (i < 0) continue;
    removeSlots.push(i);
    const w = HEADER_WORDS + i * SLOT_WORDS;
    deadBytes += ou32[w + 2] + ou32[w + 3];
  }
  let addBytes = 0;
  let ascii = true;
  for (const [key, , record] of add) {
    const b = Buffer.byteLength(record, 'utf8');
    if (b !== record.length) ascii = false;
    addBytes += key.length + b;
  }
  const count = old.entries - removeSlots.length + add.length;
  const liveBytes = ou32[DATA_END] - ou32[5] - deadBytes + addBytes;
  if (count * 2 > old.capacity || deadBytes > liveBytes) return rewrite(old, removeSlots, add, meta, aux);
  const oldEnd = ou32[DATA_END];
  const out = allocate(old.capacity, oldEnd + addBytes, meta, aux);
  const { u32, u8 } = out;
  u8.set(old.bytes.subarray(HEADER_WORDS * 4, oldEnd), HEADER_WORDS * 4); // the index and the entries, as they are
  u32[2] = ou32[2]; u32[3] = ou32[3]; u32[4] = ou32[4];
  // Deleting moves entries within the index: find each removed key's slot again in the copy.
  const removeKeys = removeSlots.map((i) => old.keyAt(i));
  const view = new Slab(out.sab);
  for (const key of removeKeys) deleteSlot(u32, view.find(key));
  let p = oldEnd;
  const mask = old.capacity - 1;
  for (const [key, flags, record] of add) {
    if (key.length === 0) throw new Error('a slab key is never empty');
    const hash = hashKey(key);
    let i = hash & mask;
    while (u32[HEADER_WORDS + i * SLOT_WORDS + 2] !== 0) i = (i + 1) & mask;
    const w = HEADER_WORDS + i * SLOT_WORDS;
    u8.write(key, p, key.length, 'latin1');
    const rlen = ascii ? u8.write(record, p + key.length, record.length, 'latin1') : u8.write(record, p + key.length, 'utf8');
    u32[w] = hash; u32[w + 1] = p; u32[w + 2] = key.length; u32[w + 3] = rlen; u32[w + 4] = flags;
    p += key.length + rlen;
    u32[2]++;
    countEntry(u32, flags, 1);
  }
  u32[DEAD_BYTES] = deadBytes;
  return out.sab;
}

/** Linear-probing deletion by backward shift (no tombstones): later entries of the same run move up. */
function deleteSlot(u32: Uint32Array, slot: number): void {
  const mask = u32[1] - 1;
  const flags = u32[HEADER_WORDS + slot * SLOT_WORDS + 4];
  u32[2]--;
  countEntry(u32, flags, -1);
  let i = slot;
  for (let j = (i + 1) & mask; u32[HEADER_WORDS + j * SLOT_WORDS + 2] !== 0; j = (j + 1) & mask) {
    const home = u32[HEADER_WORDS + j * SLOT_WORDS] & mask;
    // The entry at j stays when its home lies cyclically in (i, j].
    if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
    u32.copyWithin(HEADER_WORDS + i * SLOT_WORDS, HEADER_WORDS + j * SLOT_WORDS, HEADER_WORDS + (j + 1) * SLOT_WORDS);
    i = j;
  }
  u32.fill(0, HEADER_WORDS + i * SLOT_WORDS, HEADER_WORDS + (i + 1) * SLOT_WORDS);
}

/** patchSlab's compaction: every live entry written afresh (decoded as text, not parsed). */
function rewrite(old: Slab, removeSlots: readonly number[], add: readonly (readonly [string, number, string])[], meta: unknown, aux: unknown): SharedArrayBuffer {
  const removed = new Set(removeSlots);
  const w = new SlabWriter();
  const u32 = old.u32;
  for (let i = 0; i < old.capacity; i++) {
    if (!old.used(i) || removed.has(i)) continue;
    w.add(old.keyAt(i), u32[HEADER_WORDS + i * SLOT_WORDS + 4], old.recordTextAt(i));
  }
  for (const [key, flags, record] of add) w.add(key, flags, record);
  // Room for as many again (up to 4,096: a large slab's index keeps its own slack), so that the
  // next patches of a growing slab (the reverse overlay) copy instead of rewriting.
  return w.finish(meta, aux, Math.min(4096, old.entries - removeSlots.length + add.length));
}
