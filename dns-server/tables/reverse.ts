// The reverse index: every shard's PTR names merged into one entry per reverse name, in one slab
// (slab.ts) that the main thread builds and every thread reads (ADR 0010). On a reload the main
// thread builds the next slab from the current one (buildReverseSlab, slab.ts patchSlab): the
// index and the entries are copied as bytes (not decoded), and only the names the changed
// shards touch are merged again and replaced. Each record keeps what every shard contributes, so the next update needs
// nothing but the slab and the changed shards' own RRsets, and the merge itself (lowest TTL,
// targets sorted) is done when a name is decoded.
//
// Per thread (ReverseIndex): the slab in service, swapped at commit (reload.ts), and
// `#prepared`, a name's PTR answer made on its first query in this thread (few of the many
// names are ever asked) and dropped when an update touches the name. The index object lives as
// long as its shard store; the swap and the drops happen in one synchronous step, so no query
// sees one without the other.

import type { RRSet } from '../config/types.js';
import { TYPE } from '../wire/constants.js';
import { nameToKey } from '../wire/name.js';
import { nextRotation, prepareAnswers } from './prepare.js';
import { NODE, patchSlab, Slab, SlabWriter, typeBit } from './slab.js';
import { answerOfType } from './types.js';
import type { NameNode, PreparedAnswers } from './types.js';

/** What one shard contributes to a reverse name: [shard id, TTL, PTR targets]. */
type Part = [string, number, readonly string[]];
/** A reverse name's record: [name, parts]. */
type ReverseRecord = [string, Part[]];

const FLAGS = NODE | typeBit(TYPE.PTR);

/** A reverse slab with no names. */
export const EMPTY_REVERSE_SLAB = new SlabWriter().finish({ kind: 'reverse' });

/** Above this many touched names an update drops every prepared reverse answer instead of each. */
const TOUCHED_MAX = 4096;

/** A new reverse slab and the names whose answers changed (null: all of them). */
export interface ReverseUpdate { slab: SharedArrayBuffer; touched: readonly string[] | null }

export class ReverseIndex {
  #slab: Slab;
  readonly #prepared = new Map<string, PreparedAnswers>();

  constructor(sab: SharedArrayBuffer = EMPTY_REVERSE_SLAB) {
    this.#slab = new Slab(sab);
  }

  /** The slab in service (the main thread builds the next one from it). */
  get slab(): Slab { return this.#slab; }

  get size(): number { return this.#slab.nodes; }

  /** Whether a shard has the reverse name (key: wire/name.ts form): a probe, nothing decoded. */
  has(key: string): boolean {
    return this.#slab.find(key) >= 0;
  }

  /** The merged node of a reverse name, if any shard has it (decoded: the slow path and a first query). */
  node(key: string): NameNode | undefined {
    const i = this.#slab.find(key);
    return i < 0 ? undefined : mergedNode(this.#slab.recordAt(i) as ReverseRecord);
  }

  /** The prepared response for (key, qtype), made on the name's first query; as NameTable.answerFor. */
  answerFor(key: string, qtype: number): Buffer | undefined {
    let byType = this.#prepared.get(key);
    if (byType === undefined) {
      const node = this.node(key);
      if (node === undefined) return undefined;
      // The node alone is the scope: a PTR answer needs nothing else.
      const table = { names: new Map([[key, node]]), ents: new Set<string>(), wildcardParents: new Set<string>() };
      byType = prepareAnswers(key, node, { find: (k) => (k === key ? { kind: 'node', node, zone: undefined, table } : { kind: 'outside' }) });
      this.#prepared.set(key, byType);
    }
    const ans = answerOfType(byType, qtype);
    return ans === undefined ? undefined : nextRotation(ans);
  }

  /** Serves `u.slab` from now on, dropping the prepared answers of the names it changed. */
  swap(u: ReverseUpdate): void {
    this.#slab = new Slab(u.slab);
    if (u.touched === null) this.#prepared.clear();
    else for (const key of u.touched) this.#prepared.delete(key);
  }
}

/** A change of one shard's reverse RRsets: they were `before`, are `after` now. */
export interface ReverseChange { id: string; before: readonly RRSet[]; after: readonly RRSet[] }

/** The next reverse slab after `changes` (the main thread, at reload). */
export function buildReverseSlab(current: Slab, changes: readonly ReverseChange[]): ReverseUpdate {
  const changed = new Set(changes.map((c) => c.id));
  const touched = new Map<string, ReverseRecord>();
  const entry = (name: string): ReverseRecord => {
    const key = nameToKey(name);
    let rec = touched.get(key);
    if (rec === undefined) {
      const i = current.find(key);
      const parts = i < 0 ? [] : (current.recordAt(i) as ReverseRecord)[1].filter((p) => !changed.has(p[0]));
      touched.set(key, (rec = [name, parts]));
    }
    return rec;
  };
  for (const c of changes) for (const rs of c.before) entry(rs.name);
  for (const c of changes) for (const rs of c.after) entry(rs.name)[1].push([c.id, rs.ttl, rs.data as string[]]);
  const add: [string, number, string][] = [];
  for (const [key, rec] of touched) {
    if (rec[1].length === 0) continue; // no shard has it any more
    rec[1].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    add.push([key, FLAGS, JSON.stringify(rec)]);
  }
  const slab = patchSlab(current, touched.keys(), add, { kind: 'reverse' });
  return { slab, touched: current.nodes === 0 || touched.size > TOUCHED_MAX ? null : [...touched.keys()] };
}

/** One reverse name's node from the PTR targets every shard contributes (lowest TTL, targets sorted). */
function mergedNode([name, parts]: ReverseRecord): NameNode {
  let ttl = Infinity;
  const data: string[] = [];
  for (const p of parts) { ttl = Math.min(ttl, p[1]); for (const d of p[2]) if (!data.includes(d)) data.push(d); }
  data.sort();
  return { name, rrsets: [{ type: TYPE.PTR, ttl: ttl === Infinity ? 0 : ttl, data }], cname: false };
}

