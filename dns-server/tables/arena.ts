// The answer arena: a slab's prepared answers, one copy for every thread (ADR 0031). Each slab
// (slab.ts) carries, after its data, a zeroed region made with it by the main thread and shared
// with the slab itself: a header, one slot word per index slot of the slab, and the bytes of the
// answers. The first thread to query a name prepares its answers (prepare.ts), reserves room by
// Atomics.add on the bump word, writes a directory (per query type: the type, the number of
// rotations, a rotation-cursor number, and each rotation's offset and length) and the messages,
// then publishes the directory in the name's slot by Atomics.compareExchange. A thread that
// loses that race takes the winner's (its own bytes are left unused, counted as wasted). Readers
// Atomics.load the slot: the bytes written before the publishing exchange are then visible.
// Published bytes are never written again, so a reply over TCP may send them as they are.
//
// Per thread (AnswerArena, one per slab view): the rotation cursors (one byte per cursor number:
// each thread goes round a name's rotations by itself, as before; a shared cursor would write
// to memory every thread reads) and, when the arena is full or has no room (a process without
// worker threads gives it none: slab.ts answerRoom), the answers this thread prepared itself
// (the arena's `full` word counts such preparations).
//
// A reference to a name's answers (`ref`) is the directory's word index in the slab (> 0), or
// for an answer prepared by this thread alone -(its index in `#own` + 1); 0: none.

import { Buffer } from 'node:buffer';
import { ARENA_AT, ARENA_BYTES, ARENA_HEADER_WORDS } from './slab.js';
import type { Slab } from './slab.js';
import { answerOfType } from './types.js';
import type { PreparedAnswers } from './types.js';

/** Arena header words (from the arena's first word). */
const BUMP = 0;
const CURSORS = 1;
const WASTED = 2;
const FULL = 3;

/**
 * Where the answer picked last lies (pick(), answerFor...): its bytes are
 * `new Uint8Array(picked.ab, picked.at, picked.len)`. One object, rewritten by every pick: read
 * it before the next (the query path makes no object per query for it).
 */
export const picked = { ab: new ArrayBuffer(0) as ArrayBufferLike, at: 0, len: 0 };

/** NameTable.answerOrFlags()'s word for "an answer was picked" (see `picked`); flags are never negative. */
export const PICKED = -1;

/** Bytes of the arena in use and wasted, and the preparations it had no room for (tests, the bench). */
export interface ArenaUse { used: number; wasted: number; full: number; capacity: number }

/** One thread's view of a slab's answer arena. */
export class AnswerArena {
  readonly #u32: Uint32Array;
  readonly #ab: SharedArrayBuffer;
  readonly #bytes: Buffer;
  /** Word index of the arena's header; its slot table follows. */
  readonly #hdr: number;
  /** First byte of the answers' room, and its end. */
  readonly #data: number;
  readonly #end: number;
  /** This thread's rotation cursors, by cursor number. */
  #cursors: Uint8Array = new Uint8Array(16);
  /** Answers prepared by this thread alone (the arena was full), and by slot. */
  #own: PreparedAnswers[] | undefined;
  #ownBySlot: Map<number, number> | undefined;

  constructor(slab: Slab) {
    const u32 = slab.u32;
    this.#u32 = u32;
    this.#ab = slab.sab;
    this.#bytes = slab.bytes;
    const at = u32[ARENA_AT];
    this.#hdr = at >>> 2;
    this.#data = (this.#hdr + ARENA_HEADER_WORDS + slab.capacity) * 4;
    this.#end = at + u32[ARENA_BYTES];
  }

  /** The answers of slot `i` (the slab's index slot of the name) when some thread has prepared them, else 0. */
  refOf(i: number): number {
    const ref = Atomics.load(this.#u32, this.#hdr + ARENA_HEADER_WORDS + i);
    if (ref !== 0 || this.#ownBySlot === undefined) return ref;
    return this.#ownBySlot.get(i) ?? 0;
  }

  /**
   * Puts `answers` (just prepared for slot `i`) in the arena and returns their ref: ours, or the
   * one another thread published first. When the arena has no room, kept by this thread alone.
   */
  publish(i: number, answers: PreparedAnswers): number {
    const u32 = this.#u32;
    let words = 1;
    let bytes = 0;
    let multi = 0;
    for (const a of answers) {
      words += 2 + 2 * a.bufs.length;
      for (const b of a.bufs) bytes += b.length;
      if (a.bufs.length > 1) multi++;
    }
    const size = words * 4 + ((bytes + 3) & ~3);
    const hdr = this.#hdr;
    const room = this.#end - this.#data;
    // Checked before the reservation too, so that a full arena's bump word stops growing.
    if (Atomics.load(u32, hdr + BUMP) + size > room) return this.#keep(i, answers);
    const off = Atomics.add(u32, hdr + BUMP, size);
    if (off + size > room) return this.#keep(i, answers);
    const dir = (this.#data + off) >>> 2;
    let cursor = multi > 0 ? Atomics.add(u32, hdr + CURSORS, multi) : 0;
    const bytesOut = this.#bytes;
    let at = this.#data + off + words * 4;
    let w = dir + 1;
    u32[dir] = answers.length;
    for (const a of answers) {
      const n = a.bufs.length;
      u32[w] = a.qtype | (n << 16);
      u32[w + 1] = n > 1 ? cursor++ : 0;
      w += 2;
      for (const b of a.bufs) {
        bytesOut.set(b, at);
        u32[w] = at; u32[w + 1] = b.length;
        w += 2;
        at += b.length;
      }
    }
    const was = Atomics.compareExchange(u32, hdr + ARENA_HEADER_WORDS + i, 0, dir);
    if (was === 0) return dir;
    Atomics.add(u32, hdr + WASTED, size);
    return was;
  }

  #keep(i: number, answers: PreparedAnswers): number {
    Atomics.add(this.#u32, this.#hdr + FULL, 1);
    const own = (this.#own ??= []);
    own.push(answers);
    (this.#ownBySlot ??= new Map()).set(i, -own.length);
    return -own.length;
  }

  /**
   * Picks the answer of `qtype` among the answers `ref` (refOf, publish; not 0) as its next
   * rotation in this thread: sets `picked` and returns true; false when the name has none of that type.
   */
  pick(ref: number, qtype: number): boolean {
    if (ref < 0) return this.#pickOwn(this.#own![-ref - 1], qtype);
    const u32 = this.#u32;
    const n = u32[ref];
    let w = ref + 1;
    for (let k = 0; k < n; k++) {
      const head = u32[w];
      const rotations = head >>> 16;
      if ((head & 0xffff) === qtype) {
        let r = 0;
        if (rotations > 1) {
          const c = u32[w + 1];
          let cursors = this.#cursors;
          if (c >= cursors.length) cursors = this.#grow(c);
          r = cursors[c];
          cursors[c] = r + 1 === rotations ? 0 : r + 1;
        }
        const at = w + 2 + 2 * r;
        picked.ab = this.#ab;
        picked.at = u32[at];
        picked.len = u32[at + 1];
        return true;
      }
      w += 2 + 2 * rotations;
    }
    return false;
  }

  #grow(c: number): Uint8Array {
    let len = this.#cursors.length * 2;
    while (len <= c) len *= 2;
    const next = new Uint8Array(len);
    next.set(this.#cursors);
    return (this.#cursors = next);
  }

  /** pick() among answers this thread keeps itself: the answer's Buffer (its ArrayBuffer looked up here, off the common path). */
  #pickOwn(answers: PreparedAnswers, qtype: number): boolean {
    const a = answerOfType(answers, qtype);
    if (a === undefined) return false;
    const bufs = a.bufs;
    const b = bufs.length === 1 ? bufs[0] : bufs[a.next++ % bufs.length];
    picked.ab = b.buffer;
    picked.at = b.byteOffset;
    picked.len = b.length;
    return true;
  }

  /** What the arena holds (all threads' work). */
  use(): ArenaUse {
    const u32 = this.#u32, hdr = this.#hdr;
    return { used: Atomics.load(u32, hdr + BUMP), wasted: Atomics.load(u32, hdr + WASTED), full: Atomics.load(u32, hdr + FULL), capacity: this.#end - this.#data };
  }
}

/** The bytes `picked` points at, as a Buffer (a view: off the query path, for tools and tests). */
export function pickedBuffer(): Buffer {
  return Buffer.from(picked.ab, picked.at, picked.len);
}
