// The reverse index: every shard's PTR names merged into one node per reverse name, and the
// answers it owns. Shared by all shards and large (one name per Service and endpoint address in
// a cluster), so it is updated in place, name by name, for the shards that changed, instead of
// being copied on every reload. That is safe because a reload runs to completion synchronously:
// Node handles no packet while it runs, so no query sees a half-updated index, and a query that
// awaits (forwarding) has finished its local lookups before it awaits.
//
// Its explicit state, besides the entries: `#prepared`, a name's PTR answer made on its first
// query (few of the many names are ever asked) and dropped when an update touches the name.

import type { RRSet } from '../config/types.js';
import { TYPE } from '../wire/constants.js';
import { nameToKey } from '../wire/name.js';
import { nextRotation, prepareAnswers } from './prepare.js';
import { answerOfType } from './types.js';
import type { NameNode, PreparedAnswers } from './types.js';

/** What one shard contributes to a reverse name. */
interface Part { readonly shardId: string; readonly ttl: number; readonly data: readonly string[] }

interface Entry {
  readonly name: string;
  /**
   * The PTR targets each shard contributes; nearly always one shard, so an array (a Map per
   * reverse name cost about 200 bytes more, issue 14).
   */
  parts: readonly Part[];
  /** The merged node (rebuilt when parts change). */
  node: NameNode;
}

export class ReverseIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #prepared = new Map<string, PreparedAnswers>();

  get size(): number { return this.#entries.size; }

  /** The merged node of a reverse name (key: wire/name.ts form), if any shard has it. */
  node(key: string): NameNode | undefined {
    return this.#entries.get(key)?.node;
  }

  /** The prepared response for (key, qtype), made on the name's first query; as NameTable.answerFor. */
  answerFor(key: string, qtype: number): Buffer | undefined {
    let byType = this.#prepared.get(key);
    if (byType === undefined) {
      const node = this.#entries.get(key)?.node;
      if (node === undefined) return undefined;
      // The node alone is the scope: a PTR answer needs nothing else.
      const table = { names: new Map([[key, node]]), ents: new Set<string>(), wildcardParents: new Set<string>() };
      byType = prepareAnswers(key, node, { find: (k) => (k === key ? { kind: 'node', node, zone: undefined, table } : { kind: 'outside' }) });
      this.#prepared.set(key, byType);
    }
    const ans = answerOfType(byType, qtype);
    return ans === undefined ? undefined : nextRotation(ans);
  }

  /** Replaces what `shardId` contributes: its PTR RRsets were `before`, are `after` now. */
  update(shardId: string, before: readonly RRSet[], after: readonly RRSet[]): void {
    const touched = new Map<string, string>();
    for (const rs of before) {
      const key = nameToKey(rs.name);
      const e = this.#entries.get(key);
      if (e !== undefined) e.parts = e.parts.filter((p) => p.shardId !== shardId);
      touched.set(key, rs.name);
    }
    for (const rs of after) {
      const key = nameToKey(rs.name);
      const part: Part = { shardId, ttl: rs.ttl, data: rs.data as string[] };
      const e = this.#entries.get(key);
      if (e === undefined) this.#entries.set(key, { name: rs.name, parts: [part], node: undefined as never });
      else e.parts = [...e.parts.filter((p) => p.shardId !== shardId), part];
      touched.set(key, rs.name);
    }
    for (const [key, name] of touched) {
      this.#prepared.delete(key);
      const e = this.#entries.get(key);
      if (e === undefined) continue;
      if (e.parts.length === 0) { this.#entries.delete(key); continue; }
      e.node = mergedNode(name, e.parts);
    }
  }
}

/** One reverse name's node from the PTR targets every shard contributes (lowest TTL, targets sorted). */
function mergedNode(name: string, parts: readonly Part[]): NameNode {
  let ttl = Infinity;
  const data: string[] = [];
  for (const p of parts) { ttl = Math.min(ttl, p.ttl); for (const d of p.data) if (!data.includes(d)) data.push(d); }
  data.sort();
  // Exact size (an array grown by push reserves 17 slots); one shard's sorted list as it is.
  const single = parts.length === 1 && parts[0].data.length === data.length && parts[0].data.every((d, i) => d === data[i]);
  return { name, rrsets: [{ type: TYPE.PTR, ttl: ttl === Infinity ? 0 : ttl, data: single ? parts[0].data : data.slice() }], cname: false };
}
