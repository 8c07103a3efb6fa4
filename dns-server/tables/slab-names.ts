// A table's name data (types.ts NameData: nodes, empty non-terminals, wildcard parents) read
// from its slab (slab.ts). Lookups probe the shared memory and allocate nothing; a node's
// RRsets are decoded from its record only when asked (a name's first query in this thread, to
// prepare its answers, and the slow path). Nothing decoded is kept here: prepared answers are
// the per-thread state (table.ts), the slab the shared one.

import type { RRData, KeySet, NameData, NameNode, NodeMap } from './types.js';
import { CNAME, ENT, NODE, Slab, SlabWriter, typeBit, WILDCARD_PARENT } from './slab.js';

/** A node's record in a slab: [name, [[type, ttl, data], ...]]. */
type NodeRecord = [string, [number, number, readonly unknown[]][]];

/** A node's record as JSON text (assembled around JSON.stringify of each part: about twice as fast as one call on a new array of arrays). */
export function nodeRecord(node: NameNode): string {
  let s = '[' + JSON.stringify(node.name) + ',[';
  const sets = node.rrsets;
  for (let i = 0; i < sets.length; i++) s += (i === 0 ? '[' : ',[') + sets[i].type + ',' + sets[i].ttl + ',' + JSON.stringify(sets[i].data) + ']';
  return s + ']]';
}

/** The flags of a node: NODE, CNAME and one bit per RR type it holds. */
export function nodeFlags(node: NameNode): number {
  let f = NODE | (node.cname ? CNAME : 0);
  for (const rs of node.rrsets) f |= typeBit(rs.type);
  return f;
}

export function decodeNode(rec: unknown, flags: number): NameNode {
  const [name, sets] = rec as NodeRecord;
  const rrsets = new Array<RRData>(sets.length);
  for (let i = 0; i < sets.length; i++) rrsets[i] = { type: sets[i][0], ttl: sets[i][1], data: sets[i][2] };
  return { name, rrsets, cname: (flags & CNAME) !== 0 };
}

/** Writes a table's name data: one entry per key, flags merged (a key can be an ENT and a wildcard parent). */
export function writeNames(w: SlabWriter, nodes: ReadonlyMap<string, NameNode>, ents: Iterable<string>, wildcardParents: Iterable<string>): void {
  const extra = new Map<string, number>();
  for (const k of ents) extra.set(k, (extra.get(k) ?? 0) | ENT);
  for (const k of wildcardParents) extra.set(k, (extra.get(k) ?? 0) | WILDCARD_PARENT);
  for (const [key, node] of nodes) {
    const more = extra.get(key) ?? 0;
    extra.delete(key);
    w.add(key, nodeFlags(node) | more, nodeRecord(node));
  }
  for (const [key, flags] of extra) w.add(key, flags);
}

/** NameData over a slab. */
export class SlabNames implements NameData {
  readonly names: NodeMap;
  readonly ents: KeySet;
  readonly wildcardParents: KeySet & { readonly size: number };

  constructor(readonly slab: Slab) {
    const s = slab;
    this.names = {
      size: s.nodes,
      has: (key) => (s.flagsOf(key) & NODE) !== 0,
      get: (key) => {
        const i = s.find(key);
        if (i < 0) return undefined;
        const f = s.flagsAt(i);
        return f & NODE ? decodeNode(s.recordAt(i), f) : undefined;
      },
    };
    this.ents = { has: (key) => (s.flagsOf(key) & ENT) !== 0 };
    this.wildcardParents = { size: s.wildcardParents, has: (key) => (s.flagsOf(key) & WILDCARD_PARENT) !== 0 };
  }

  /** The flags of `key` (slab.ts: NODE, ENT, WILDCARD_PARENT, CNAME, type bits), 0 when absent. */
  flagsOf(key: string): number {
    return this.slab.flagsOf(key);
  }
}
