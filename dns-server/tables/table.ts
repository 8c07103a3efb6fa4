// A table of names (a zone, a namespace's cluster Services, the hosts) and the answers it owns.
// Its name data is immutable. Its one piece of mutable state is explicit: `#prepared`, the
// ready response bytes by name and query type, filled
//   - at build for an eager table (zones, hosts: small, admin-written, mostly asked), or
//   - on a name's first query for a lazy one (cluster Services: many names, few ever asked, so
//     reloads and memory stay small),
// and kept for the life of this table (one shard version; a reload builds a new table). The
// rotation cursor inside each prepared answer moves on every use.

import type { Scope } from './plan.js';
import { nextRotation, prepareAnswers } from './prepare.js';
import { answerOfType } from './types.js';
import type { NameData, NameNode, PreparedAnswers } from './types.js';

export class NameTable implements NameData {
  /** Prepared answers: name key → query type → answer. See the file comment. */
  readonly #prepared = new Map<string, PreparedAnswers>();
  #scope: Scope | undefined;

  /**
   * @param scopeOf the scope this table's answers are composed in (its own names only: an
   *   answer that leaves it is not prepared and goes the slow path)
   * @param lazy prepare a name on its first query rather than now
   */
  constructor(
    readonly names: ReadonlyMap<string, NameNode>,
    readonly ents: ReadonlySet<string>,
    readonly wildcardParents: ReadonlySet<string>,
    private readonly scopeOf: (t: NameTable) => Scope,
    readonly lazy: boolean,
  ) {
    if (!lazy) for (const [key, node] of names) this.#prepare(key, node);
  }

  /**
   * The prepared response for (key, qtype): a message with ID 0 and the canonical question, for
   * the caller to patch (wire/response.ts patchPrepared); each call gives the next rotation of
   * a multi-record RRset. Undefined when there is none (no such name, no such type, or an
   * answer this table cannot give alone: the caller takes the slow path).
   */
  answerFor(key: string, qtype: number): Buffer | undefined {
    let byType = this.#prepared.get(key);
    if (byType === undefined) {
      if (!this.lazy) return undefined;
      const node = this.names.get(key);
      if (node === undefined) return undefined;
      byType = this.#prepare(key, node);
    }
    const ans = answerOfType(byType, qtype);
    return ans === undefined ? undefined : nextRotation(ans);
  }

  #prepare(key: string, node: NameNode): PreparedAnswers {
    const byType = prepareAnswers(key, node, (this.#scope ??= this.scopeOf(this)));
    this.#prepared.set(key, byType);
    return byType;
  }
}
