// A table of names (a zone, a namespace's cluster Services, the hosts) and the answers it owns.
// Its name data is immutable and shared by every thread: a slab (slab.ts, slab-names.ts), built
// once by the main thread. Its one piece of mutable state is this thread's own: `#prepared`,
// the ready response bytes by name and query type, made on a name's first query in this thread
// (decoding its record from the slab once) and kept for the life of this table (one shard
// version; a reload builds a new table). The rotation cursor inside each prepared answer moves
// on every use. (Before the slabs, zone and hosts tables prepared every name at build; with
// tables shared by all threads that would repeat the work and the memory in each thread.)

import type { Scope } from './plan.js';
import { prepareAnswers } from './prepare.js';
import { preparedAnswer } from './types.js';
import { NODE } from './slab.js';
import type { Slab } from './slab.js';
import { decodeNode, SlabNames } from './slab-names.js';
import type { KeySet, NameData, NodeMap, PreparedAnswers } from './types.js';

export class NameTable implements NameData {
  /** Prepared answers: name key → query type → answer. See the file comment. */
  readonly #prepared = new Map<string, PreparedAnswers>();
  #scope: Scope | undefined;
  readonly #data: SlabNames;

  /**
   * @param scopeOf the scope this table's answers are composed in (its own names only: an
   *   answer that leaves it is not prepared and goes the slow path)
   */
  constructor(slab: Slab, private readonly scopeOf: (t: NameTable) => Scope) {
    this.#data = new SlabNames(slab);
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
   * The prepared response for (key, qtype): a message with ID 0 and the canonical question, for
   * the caller to patch (wire/response.ts patchPrepared); each call gives the next rotation of
   * a multi-record RRset. Undefined when there is none (no such name, no such type, or an
   * answer this table cannot give alone: the caller takes the slow path).
   */
  answerFor(key: string, qtype: number): Buffer | undefined {
    const r = this.answerOrFlags(key, qtype);
    return typeof r === 'number' ? undefined : r;
  }

  /**
   * The name's prepared answers when a query has had them made (answerOrFlags), else undefined:
   * for the handler to keep on the name's recall entry (lookup.ts Recalled.answers), so that its
   * next query takes them without this table's Map.
   */
  preparedOf(key: string): PreparedAnswers | undefined {
    return this.#prepared.get(key);
  }

  /**
   * answerFor, or when there is no prepared answer the name's flags (as flagsOf; 0: absent),
   * so that a miss (NXDOMAIN, NODATA) probes the slab once, not once here and again for its flags.
   */
  answerOrFlags(key: string, qtype: number): Buffer | number {
    let byType = this.#prepared.get(key);
    if (byType === undefined) {
      const slab = this.#data.slab;
      const i = slab.find(key);
      if (i < 0) return 0;
      const f = slab.flagsAt(i);
      if (!(f & NODE)) return f;
      byType = prepareAnswers(key, decodeNode(slab.recordAt(i), f, key), (this.#scope ??= this.scopeOf(this)));
      this.#prepared.set(key, byType);
      return preparedAnswer(byType, qtype) ?? f;
    }
    return preparedAnswer(byType, qtype) ?? this.#data.flagsOf(key);
  }
}
