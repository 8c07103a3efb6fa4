// A table of names (a zone, a namespace's cluster Services, the hosts) and the answers it owns.
// Its name data is immutable and shared by every thread: a slab (slab.ts, slab-names.ts), built
// once by the main thread. With worker threads its prepared answers (the ready response bytes
// by name and query type) are shared too: they live in the slab's answer arena (arena.ts, ADR
// 0031), made by the first thread to query a name (decoding its record from the slab once) and
// read by every thread after it, for the life of the slab (one shard version; a reload builds a
// new slab, with a new arena). What is this thread's own: the table object, its AnswerArena view
// (the rotation cursors, and the answers it prepared itself when the arena was full, or had no
// room: a process without worker threads gives its arenas none, slab.ts answerRoom). (Before the slabs, zone
// and hosts tables prepared every name at build; until ADR 0031 each thread prepared and kept
// its own copy of every answer it gave.)

import { AnswerArena, PICKED, pickedBuffer } from './arena.js';
import type { Scope } from './plan.js';
import { prepareAnswers } from './prepare.js';
import { NODE } from './slab.js';
import type { Slab } from './slab.js';
import { decodeNode, SlabNames } from './slab-names.js';
import type { KeySet, NameData, NodeMap } from './types.js';

export class NameTable implements NameData {
  #scope: Scope | undefined;
  readonly #data: SlabNames;
  /** This thread's view of the slab's answer arena. */
  readonly arena: AnswerArena;
  /** The ref (arena.ts) of the name answerOrFlags last picked from: for the handler to keep on its recall entry. */
  lastRef = 0;

  /**
   * @param scopeOf the scope this table's answers are composed in (its own names only: an
   *   answer that leaves it is not prepared and goes the slow path)
   */
  constructor(slab: Slab, private readonly scopeOf: (t: NameTable) => Scope) {
    this.#data = new SlabNames(slab);
    this.arena = new AnswerArena(slab);
  }

  get slab(): Slab { return this.#data.slab; }
  get names(): NodeMap { return this.#data.names; }
  get ents(): KeySet { return this.#data.ents; }
  get wildcardParents(): KeySet & { readonly size: number } { return this.#data.wildcardParents; }

  /** The flags of `key` (slab.ts: NODE, ENT, WILDCARD_PARENT, CNAME, one bit per RR type held), 0 when absent. */
  flagsOf(key: string): number {
    return this.#data.flagsOf(key);
  }

  /**
   * The prepared response for (key, qtype) as a Buffer (a view of the arena's bytes, never to be
   * written to): a message with ID 0 and the canonical question; each call gives the next
   * rotation of a multi-record RRset. Undefined when there is none (no such name, no such type,
   * or an answer this table cannot give alone). For tools and tests: the query path takes
   * answerOrFlags and the arena's bytes as they are.
   */
  answerFor(key: string, qtype: number): Buffer | undefined {
    return this.answerOrFlags(key, qtype) === PICKED ? pickedBuffer() : undefined;
  }

  /**
   * PICKED when (key, qtype) has a prepared answer (its next rotation is in arena.ts `picked`,
   * and `lastRef` holds the name's ref), else the name's flags (as flagsOf; 0: absent), so that
   * a miss (NXDOMAIN, NODATA) probes the slab once. `hash`: the key's (slab.ts hashKey), when
   * the caller has it. A name's first query in any thread prepares its answers into the arena.
   */
  answerOrFlags(key: string, qtype: number, hash?: number): number {
    const slab = this.#data.slab;
    const i = slab.find(key, hash);
    if (i < 0) return 0;
    const f = slab.flagsAt(i);
    if (!(f & NODE)) return f;
    const arena = this.arena;
    let ref = arena.refOf(i);
    if (ref === 0) ref = arena.publish(i, prepareAnswers(key, decodeNode(slab.recordAt(i), f, key), (this.#scope ??= this.scopeOf(this))));
    if (!arena.pick(ref, qtype)) return f;
    this.lastRef = ref;
    return PICKED;
  }

  /** The answer of `qtype` among a name's answers (`ref`: lastRef after a pick), as answerOrFlags picks it: true when there is one. */
  pick(ref: number, qtype: number): boolean {
    return this.arena.pick(ref, qtype);
  }
}
