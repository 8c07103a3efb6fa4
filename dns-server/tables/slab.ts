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
//   arena    (8-aligned, header words 12 and 13: its offset and length) the answer arena:
//            the names' prepared answers, written by whichever thread asks a name first and
//            read by all (tables/arena.ts). Zero when built; its pages untouched until an
//            answer is written there, so it is sized generously (arenaBytes).
// The hash is FNV-1a over the key's char codes, so a lookup from a JavaScript key string
// allocates nothing: hash, probe, compare bytes. (The machine's byte order: writer and readers
// are threads of one process.)

import { FNV_BASIS, FNV_PRIME, TYPE } from '../wire/constants.js';
import { keyOfName, writeKeyOfName } from './keys.js';

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

/** The flag bit of each RR type a configuration holds, indexed by type code (up to CAA's 257). */
const TYPE_BITS = new Uint32Array(TYPE.CAA + 1);
for (const [i, t] of [TYPE.A, TYPE.NS, TYPE.CNAME, TYPE.SOA, TYPE.PTR, TYPE.MX, TYPE.TXT, TYPE.AAAA, TYPE.SRV, TYPE.CAA].entries()) TYPE_BITS[t] = 1 << (8 + i);

/** The flag bit of RR type `type` (0 for a type no configuration holds: the config contract has these ten). */
export function typeBit(type: number): number {
  return type < TYPE_BITS.length ? TYPE_BITS[type]! : 0;
}

/** FNV-1a (32 bits) over a key's char codes (each < 256). */
export function hashKey(key: string): number {
  let h = FNV_BASIS;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
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

  /** The record of slot `i` as text, unparsed (what the writer wrote: its tests compare it with JSON.stringify). */
  recordTextAt(i: number): string {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const p = this.u32[w + 1] + this.u32[w + 2];
    return this.bytes.toString('utf8', p, p + this.u32[w + 3]);
  }

  /** The meta blob, parsed (what kind of table, its shard's id and hash...). */
  meta(): unknown { return JSON.parse(this.bytes.toString('utf8', this.u32[6], this.u32[6] + this.u32[7])); }
  /** The aux blob, parsed (a shard slab: its reverse RRsets; read by the main thread only). */
  aux(): unknown { return JSON.parse(this.auxText()); }
  /** The aux blob as text, unparsed. */
  auxText(): string { return this.bytes.toString('utf8', this.u32[8], this.u32[8] + this.u32[9]); }
}

/** Words of the header past the first ten: where the entries' data ends, and how much of it is dead (patchSlab). */
const DATA_END = 10;
const DEAD_BYTES = 11;
/** Header words: the answer arena's byte offset and length (tables/arena.ts). */
export const ARENA_AT = 12;
export const ARENA_BYTES = 13;
/** Words at the arena's start before its slot table (tables/arena.ts reads them). */
export const ARENA_HEADER_WORDS = 4;
/** At most this many bytes of answers per slab's arena (address space only until written). */
const ARENA_DATA_MAX = 64 << 20;

/**
 * Room for answers in a slab's arena, as a multiple of its entries' bytes: none (the answers
 * prepared per thread, arena.ts's fallback) unless threads share the slabs. A process with
 * worker threads sets it (main.ts: SHARED_ANSWER_ROOM) before its first slab; one thread has
 * no one to share answers with, and the room is not free: a SharedArrayBuffer is zeroed by
 * calloc, which writes, and so makes resident, whatever of it malloc hands out of reused memory.
 * The scale bench's one server held 137 MiB against 112 with room for four times, 129 against
 * 115 with one and a half, 114 against 115 with none (ADR 0031).
 */
let answerRoom = 0;

/**
 * The room with worker threads: four times the entries (every services name of 10,000 Services
 * asked took 0.98 times on average, but a headless Service's eight rotations take some ten times
 * its key and record; a name whose answers do not fit is prepared per thread instead).
 */
export const SHARED_ANSWER_ROOM = 4;

/** Sets the room of the answer arenas of the slabs built from now on (see answerRoom). */
export function setAnswerRoom(times: number): void {
  answerRoom = times;
}

/** The bytes of a slab's answer arena: its header, one slot word per index slot, and the room for answers. */
function arenaBytes(capacity: number, entryBytes: number): number {
  const room = answerRoom === 0 ? 0 : Math.min(ARENA_DATA_MAX, answerRoom * entryBytes + 4096);
  return (ARENA_HEADER_WORDS + capacity) * 4 + room;
}

/** The slab's bytes before its answer arena: its index, names, records and blobs (what a load measures itself by). */
export function slabBytes(sab: SharedArrayBuffer): number {
  return new Uint32Array(sab, 0, HEADER_WORDS)[ARENA_AT];
}

/**
 * The last writer done, kept (it holds nothing but its shape). A writer's map (the shape its
 * private fields give it) lives only while some writer does, and optimised code holds the maps
 * it was made for weakly: the full collection after a large load (heap.ts) found no writer,
 * dropped the map, and with it the optimised code of every writer method and of the slab
 * builders that inline them, so the first changes after a load ran them unoptimised until V8
 * optimised them again. The last one, not one made at start: a map V8 replaced since (a field
 * generalised) would keep nothing alive.
 */
let lastWriter: SlabWriter | undefined;

/** A writer's scratch memory between slabs (one at a time; a writer whose build failed just loses it). */
let spare: Buffer | undefined;
/**
 * The largest scratch kept for the next writer (a shard's slab fits; a larger one, such as the
 * reverse base's, is let go, not held for good). 512 KiB: at 256 KiB the scratch of a 10,000
 * Service namespace shard (its records in the canonical form, its reverse list as the aux blob:
 * about 190 KiB, doubled past 256 KiB) was allocated and freed once per shard, and the malloc
 * churn of a full load left the process 7-9 MiB more resident.
 */
const SPARE_MAX = 1 << 19;
const EMPTY_BUF = Buffer.alloc(0);

/**
 * Builds a slab: add entries (each key once), then finish(). Keys are latin1, records UTF-8 JSON.
 * An entry's key and record are written as bytes into scratch memory as they are made (begin(),
 * the record's parts, end(); or add() with the record as text): no JSON string per record, no
 * pass to measure it. finish() sizes the SharedArrayBuffer exactly, copies the bytes in once and
 * writes the index. The JSON writer (json(), str()) gives the bytes of JSON.stringify: by hand for
 * printable-ASCII strings, small integers, arrays and plain objects, through JSON.stringify for
 * the rest (escapes, non-ASCII, other numbers).
 */
export class SlabWriter {
  #buf: Buffer;
  #p = 0;
  /** Per entry: [data offset, key length, record length, flags] in scratch. */
  readonly #ents: number[] = [];
  #at = -1;

  /** @param bytes the bytes the entries are expected to take (a large slab: its scratch allocated once, not doubled up to it) */
  constructor(bytes = 0) {
    this.#buf = spare !== undefined && spare.length >= bytes ? spare : Buffer.allocUnsafeSlow(Math.max(1 << 16, bytes));
    if (this.#buf === spare) spare = undefined;
  }

  /** Entries added so far. */
  get count(): number { return this.#ents.length >>> 2; }
  /** Bytes of keys and records so far. */
  get bytes(): number { return this.#p; }

  #room(n: number): void {
    if (this.#p + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.#buf.length * 2, this.#p + n));
    this.#buf.copy(next, 0, 0, this.#p);
    this.#buf = next;
  }

  /** Starts an entry: its key; the record's bytes follow (json(), str(), raw()...), then end(). */
  begin(key: string, flags: number): void {
    if (key.length === 0) throw new Error('a slab key is never empty');
    this.#room(key.length);
    const b = this.#buf;
    let p = this.#p;
    this.#ents.push(p, key.length, 0, flags);
    for (let i = 0; i < key.length; i++) b[p++] = key.charCodeAt(i);
    this.#p = p;
    this.#at = p;
  }

  /**
   * begin() with the key of a configuration name (keys.ts keyOfName), written straight from the
   * name: no key string. Returns true when it was (a lower-case ASCII absolute name, as validated),
   * false when the key was made by nameToKey (the same key).
   */
  beginName(name: string, flags: number): boolean {
    this.#room(name.length + 1);
    const p = this.#p;
    const n = writeKeyOfName(name, this.#buf, p);
    if (n < 0) { this.begin(keyOfName(name), flags); return false; }
    this.#ents.push(p, n, 0, flags);
    this.#p = p + n;
    this.#at = this.#p;
    return true;
  }

  end(): void {
    this.#ents[this.#ents.length - 2] = this.#p - this.#at;
  }

  add(key: string, flags: number, record = ''): void {
    this.begin(key, flags);
    if (record.length > 0) this.utf8(record);
    this.end();
  }

  /** Adds slot `i` of `slab` as it is (its bytes copied, nothing decoded). */
  copyEntry(slab: Slab, i: number): void {
    const w = HEADER_WORDS + i * SLOT_WORDS;
    const at = slab.u32[w + 1];
    const klen = slab.u32[w + 2];
    const rlen = slab.u32[w + 3];
    this.#room(klen + rlen);
    this.#ents.push(this.#p, klen, rlen, slab.u32[w + 4]);
    this.#p += slab.bytes.copy(this.#buf, this.#p, at, at + klen + rlen);
  }

  /** Adds every entry of `other` (an unfinished writer), bytes copied. */
  copyEntries(other: SlabWriter): void {
    this.#room(other.#p);
    const base = this.#p;
    this.#p += other.#buf.copy(this.#buf, base, 0, other.#p);
    const e = other.#ents;
    for (let i = 0; i < e.length; i += 4) this.#ents.push(e[i] + base, e[i + 1], e[i + 2], e[i + 3]);
  }

  /** Text as UTF-8. */
  utf8(s: string): void {
    this.#room(s.length * 3);
    this.#p += this.#buf.write(s, this.#p, 'utf8');
  }

  /** Text known to be ASCII (punctuation of the record's JSON). */
  raw(s: string): void {
    this.#room(s.length);
    const b = this.#buf;
    let p = this.#p;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.#p = p;
  }

  /** A JSON number. */
  num(n: number): void {
    if (!(n >= 0 && n < 0x80000000 && n === (n | 0))) { this.utf8(JSON.stringify(n) ?? 'null'); return; }
    this.#room(10);
    const b = this.#buf;
    if (n < 100) { // TTLs and type codes, mostly
      if (n < 10) b[this.#p++] = 0x30 + n;
      else { const t = (n / 10) | 0; b[this.#p] = 0x30 + t; b[this.#p + 1] = 0x30 + n - t * 10; this.#p += 2; }
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) digits++;
    let p = this.#p + digits;
    this.#p = p;
    let x = n;
    do { b[--p] = 0x30 + (x % 10); x = (x / 10) | 0; } while (x > 0);
  }

  /** A JSON string. */
  str(s: string): void {
    this.#room(s.length + 2);
    const b = this.#buf;
    const start = this.#p;
    let p = start;
    b[p++] = 0x22;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // Escaped or non-ASCII: JSON.stringify's text instead (as UTF-8).
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) { this.#p = start; this.utf8(JSON.stringify(s)); return; }
      b[p++] = c;
    }
    b[p++] = 0x22;
    this.#p = p;
  }

  /** Any JSON value (the bytes of JSON.stringify(v); undefined as null, as in an array). */
  json(v: unknown): void {
    if (typeof v === 'string') this.str(v);
    else if (typeof v === 'number') this.num(v);
    else if (Array.isArray(v)) {
      this.raw('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.raw(',');
        const x: unknown = v[i];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') this.raw('null');
        else this.json(x);
      }
      this.raw(']');
    } else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      this.raw('{');
      let first = true;
      for (const k in v) {
        const x: unknown = (v as Record<string, unknown>)[k];
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
        if (!first) this.raw(',');
        first = false;
        this.str(k);
        this.raw(':');
        this.json(x);
      }
      this.raw('}');
    } else this.utf8(JSON.stringify(v) ?? 'null');
  }

  /**
   * @param aux the aux blob: a JSON value, or a function that writes it with this writer (a
   *   large one, written as bytes with no copy of it made first; build.ts reverseAux)
   * @param room entries the index should take besides these, at most half full (a slab that patchSlab will grow)
   */
  finish(meta: unknown, aux: unknown = null, room = 0): SharedArrayBuffer {
    return this.#finish(meta, aux, room, false)!;
  }

  /** finish(), or undefined (and the writer done) when two entries have the same key. */
  finishUnique(meta: unknown, aux: unknown = null, room = 0): SharedArrayBuffer | undefined {
    return this.#finish(meta, aux, room, true);
  }

  #finish(meta: unknown, aux: unknown, room: number, unique: boolean): SharedArrayBuffer | undefined {
    const ents = this.#ents;
    const n = ents.length >>> 2;
    let capacity = 8;
    while (capacity < (n + room) * 2) capacity *= 2;
    const dataStart = (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
    // The meta and aux blobs follow the entries, written by the same encoder (no JSON string).
    const metaAt = this.#p;
    this.json(meta);
    const auxAt = this.#p;
    if (typeof aux === 'function') (aux as (w: SlabWriter) => void)(this);
    else this.json(aux);
    const end = this.#p;
    const arenaAt = (dataStart + end + 7) & ~7;
    const sab = new SharedArrayBuffer(arenaAt + arenaBytes(capacity, metaAt));
    const u32 = new Uint32Array(sab, 0, dataStart >>> 2);
    const u8 = Buffer.from(sab);
    header(u32, capacity, dataStart + metaAt, auxAt - metaAt, end - auxAt, arenaAt, sab.byteLength - arenaAt);
    let ok = true;
    this.drain(u8, dataStart, (e) => { ok = indexEntries(u32, u8, e, dataStart, unique); });
    return ok ? sab : undefined;
  }

  /** Copies the entries' bytes to `u8` at `at`, has `index` index them, and gives the scratch back (the writer is done). */
  drain(u8: Uint8Array, at: number, index: (ents: readonly number[]) => void): void {
    u8.set(this.#buf.subarray(0, this.#p), at);
    index(this.#ents);
    this.discard();
  }

  /** Gives the scratch back (the writer is done). */
  discard(): void {
    const buf = this.#buf;
    this.#buf = EMPTY_BUF;
    this.#p = 0;
    this.#ents.length = 0;
    if (buf.length > 0 && buf.length <= SPARE_MAX) spare = buf;
    lastWriter = this;
  }
}

/** FNV-1a over bytes (as hashKey over the key's chars: keys are latin1). */
function hashBytes(u8: Uint8Array, p: number, len: number): number {
  let h = FNV_BASIS;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ u8[p + i], FNV_PRIME);
  return h >>> 0;
}

/** Whether the `len` bytes at `a` and at `b` are the same. */
function sameBytes(u8: Uint8Array, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (u8[a + i] !== u8[b + i]) return false;
  return true;
}

/**
 * Puts entries (their bytes already at `base` + offset in `u8`) into the slab's index. `unique`:
 * compares each with the keys of its hash already in and stops, false, at a key seen before.
 */
function indexEntries(u32: Uint32Array, u8: Uint8Array, ents: readonly number[], base: number, unique = false): boolean {
  const mask = u32[1] - 1;
  for (let e = 0; e < ents.length; e += 4) {
    const p = ents[e] + base;
    const klen = ents[e + 1];
    const flags = ents[e + 3];
    const hash = hashBytes(u8, p, klen);
    let i = hash & mask;
    for (let w = HEADER_WORDS + i * SLOT_WORDS; u32[w + 2] !== 0; i = (i + 1) & mask, w = HEADER_WORDS + i * SLOT_WORDS) {
      if (unique && u32[w] === hash && u32[w + 2] === klen && sameBytes(u8, u32[w + 1], p, klen)) return false;
    }
    const w = HEADER_WORDS + i * SLOT_WORDS;
    u32[w] = hash; u32[w + 1] = p; u32[w + 2] = klen; u32[w + 3] = ents[e + 2]; u32[w + 4] = flags;
    u32[2]++;
    countEntry(u32, flags, 1);
  }
  return true;
}

/** A new slab's memory with its header, meta and aux written; the index and entries are the caller's. */
function allocate(capacity: number, dataEnd: number, meta: unknown, aux: unknown): { sab: SharedArrayBuffer; u32: Uint32Array; u8: Buffer } {
  const metaText = JSON.stringify(meta);
  const auxText = JSON.stringify(aux);
  const metaBytes = Buffer.byteLength(metaText, 'utf8');
  const total = dataEnd + metaBytes + Buffer.byteLength(auxText, 'utf8');
  const arenaAt = (total + 7) & ~7;
  const sab = new SharedArrayBuffer(arenaAt + arenaBytes(capacity, dataEnd - (HEADER_WORDS + capacity * SLOT_WORDS) * 4));
  const u32 = new Uint32Array(sab, 0, HEADER_WORDS + capacity * SLOT_WORDS);
  const u8 = Buffer.from(sab);
  u8.write(metaText, dataEnd, metaBytes, 'utf8');
  u8.write(auxText, dataEnd + metaBytes, total - dataEnd - metaBytes, 'utf8');
  header(u32, capacity, dataEnd, metaBytes, total - dataEnd - metaBytes, arenaAt, sab.byteLength - arenaAt);
  return { sab, u32, u8 };
}

/** Writes a new slab's header: the entries end at `dataEnd`, the meta and aux blobs follow, then the answer arena. */
function header(u32: Uint32Array, capacity: number, dataEnd: number, metaBytes: number, auxBytes: number, arenaAt: number, arenaLen: number): void {
  u32[0] = MAGIC; u32[1] = capacity; u32[5] = (HEADER_WORDS + capacity * SLOT_WORDS) * 4;
  u32[6] = dataEnd; u32[7] = metaBytes; u32[8] = dataEnd + metaBytes; u32[9] = auxBytes;
  u32[DATA_END] = dataEnd;
  u32[ARENA_AT] = arenaAt; u32[ARENA_BYTES] = arenaLen;
}

function countEntry(u32: Uint32Array, flags: number, by: number): void {
  if (flags & NODE) u32[3] += by;
  if (flags & WILDCARD_PARENT) u32[4] += by;
}

/**
 * A copy of `old` with the entries of `remove` taken out and those of `add` (an unfinished
 * writer) put in (a key in both is replaced), for a large slab that changes a little at a time
 * (the reverse index): the index and the entries' bytes are copied whole (memory copies, nothing
 * decoded), then patched; the removed entries' bytes stay behind as dead space. When the dead
 * space passes the live data, or the index would be more than half full, the entries are written
 * afresh instead (compaction).
 */
export function patchSlab(old: Slab, remove: Iterable<string>, add: SlabWriter, meta: unknown, aux: unknown = null): SharedArrayBuffer {
  const ou32 = old.u32;
  const removeSlots: number[] = [];
  let deadBytes = ou32[DEAD_BYTES];
  for (const key of old.entries === 0 ? [] : new Set(remove)) {
    const i = old.find(key);
    if (i < 0) continue;
    removeSlots.push(i);
    const w = HEADER_WORDS + i * SLOT_WORDS;
    deadBytes += ou32[w + 2] + ou32[w + 3];
  }
  const addBytes = add.bytes;
  const count = old.entries - removeSlots.length + add.count;
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
  add.drain(u8, oldEnd, (ents) => indexEntries(u32, u8, ents, oldEnd));
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

/** patchSlab's compaction: every live entry written afresh (its bytes copied, nothing decoded). */
function rewrite(old: Slab, removeSlots: readonly number[], add: SlabWriter, meta: unknown, aux: unknown): SharedArrayBuffer {
  // Nothing of the old slab left (a first load's reverse base): the additions are the slab.
  if (removeSlots.length === old.entries) return add.finish(meta, aux, Math.min(4096, add.count));
  const removed = new Set(removeSlots);
  const w = new SlabWriter();
  for (let i = 0; i < old.capacity; i++) if (old.used(i) && !removed.has(i)) w.copyEntry(old, i);
  w.copyEntries(add);
  add.discard();
  // Room for as many again (up to 4,096: a large slab's index keeps its own slack), so that the
  // next patches of a growing slab (the reverse overlay) copy instead of rewriting.
  return w.finish(meta, aux, Math.min(4096, w.count));
}
