// A table's name data (types.ts NameData: nodes, empty non-terminals, wildcard parents) read
// from its slab (slab.ts). Lookups probe the shared memory and allocate nothing; a node's
// RRsets are decoded from its record only when asked (a name's first query in this thread, to
// prepare its answers, and the slow path). Nothing decoded is kept here: prepared answers are
// the per-thread state (table.ts), the slab the shared one.

import type { RRData, KeySet, NameData, NameNode, NodeMap } from './types.js';
import type { RRSet } from '../config/types.js';
import { RR_TYPE_BY_NAME, TYPE } from '../wire/constants.js';
import { CNAME, ENT, NODE, Slab, SlabWriter, typeBit, WILDCARD_PARENT } from './slab.js';

/** A node's record in a slab: [name, [[type, ttl, data], ...]]. */
type NodeRecord = [string, [number, number, readonly unknown[]][]];

/** An RRset as a record holds it (config RRSet and types.ts RRData both fit). */
interface SetData { ttl: number; data: readonly unknown[] }

/**
 * A name's record while its slab is built: the owner, its RRsets (the shard's own objects, in
 * the shard's order) with their types, and its flags. Written as bytes by writeRecord.
 */
export interface NameRecord { name: string; types: number[]; sets: SetData[]; flags: number }

/** The flags an RRset of `type` gives its node (its type bit; CNAME). */
const flagsOfType = (type: number): number => typeBit(type) | (type === TYPE.CNAME ? CNAME : 0);

/** `r` with one more RRset (a new record when `r` is undefined). */
export function addRRSet(r: NameRecord | undefined, name: string, type: number, set: SetData): NameRecord {
  const flags = flagsOfType(type);
  if (r === undefined) return { name, types: [type], sets: [set], flags: NODE | flags };
  r.types.push(type);
  r.sets.push(set);
  r.flags |= flags;
  return r;
}

/** The record of a node (NODE, CNAME and one bit per RR type in its flags). */
export function recordOf(node: NameNode): NameRecord {
  let r: NameRecord | undefined;
  for (const rs of node.rrsets) r = addRRSet(r, node.name, rs.type, rs);
  return r ?? { name: node.name, types: [], sets: [], flags: NODE };
}

/** A record's JSON text, [name, [[type, ttl, data], ...]]: what writeRecord writes, as a string. */
export function recordText(r: NameRecord): string {
  return JSON.stringify([r.name, r.sets.map((s, i) => [r.types[i], s.ttl, s.data])]);
}

/**
 * Writes a record's JSON ([name, [[type, ttl, data], ...]]) into the writer's current entry:
 * the RRsets sets[from] to sets[to - 1], their type codes from `types` (same index) or, when it
 * is undefined, from the sets' own type names (config RRsets).
 */
function writeRecord(w: SlabWriter, name: string, sets: readonly SetData[], from: number, to: number, types: readonly number[] | undefined): void {
  w.raw('[');
  w.str(name);
  w.raw(',[');
  for (let i = from; i < to; i++) {
    w.raw(i === from ? '[' : ',[');
    w.num(types === undefined ? RR_TYPE_BY_NAME[(sets[i] as RRSet).type] : types[i]);
    w.raw(',');
    w.num(sets[i].ttl);
    w.raw(',');
    w.json(sets[i].data);
    w.raw(']');
  }
  w.raw(']]');
}

export function decodeNode(rec: unknown, flags: number): NameNode {
  const [name, sets] = rec as NodeRecord;
  const rrsets = new Array<RRData>(sets.length);
  for (let i = 0; i < sets.length; i++) rrsets[i] = { type: sets[i][0], ttl: sets[i][1], data: sets[i][2] };
  return { name, rrsets, cname: (flags & CNAME) !== 0 };
}

/** The ENT and wildcard-parent flags by key (a key can be both). */
function extraFlags(ents: Iterable<string>, wildcardParents: Iterable<string>): Map<string, number> {
  const extra = new Map<string, number>();
  for (const k of ents) extra.set(k, (extra.get(k) ?? 0) | ENT);
  for (const k of wildcardParents) extra.set(k, (extra.get(k) ?? 0) | WILDCARD_PARENT);
  return extra;
}

/** Writes a table's name data: one entry per key, flags merged (a key can be an ENT and a wildcard parent). */
export function writeNames(w: SlabWriter, records: ReadonlyMap<string, NameRecord>, ents: Iterable<string>, wildcardParents: Iterable<string>): void {
  const extra = extraFlags(ents, wildcardParents);
  // forEach, not for-of over entries: no [key, value] array per name (a full load writes 140,000)
  records.forEach((r, key) => {
    const more = extra.get(key) ?? 0;
    if (more !== 0) extra.delete(key);
    w.begin(key, r.flags | more);
    writeRecord(w, r.name, r.sets, 0, r.sets.length, r.types);
    w.end();
  });
  extra.forEach((flags, key) => w.add(key, flags));
}

/** runsOf's answer: each run's key and first index (`starts` ends with the list's length), and the set of keys. */
export interface Runs { keys: string[]; starts: number[]; nodes: Set<string> }

/**
 * A list's runs of RRsets of one name (compile() sorts a shard's list by name, so a name's
 * RRsets are neighbours); undefined when a name comes back after another (then the caller makes
 * NameRecords, recordsFrom in build.ts).
 */
export function runsOf(rrsets: readonly RRSet[], keyOf: (name: string) => string): Runs | undefined {
  const keys: string[] = [];
  const starts: number[] = [];
  const nodes = new Set<string>();
  for (let i = 0; i < rrsets.length; i++) {
    if (i > 0 && rrsets[i].name === rrsets[i - 1].name) continue;
    const key = keyOf(rrsets[i].name);
    if (nodes.has(key)) return undefined;
    nodes.add(key);
    keys.push(key);
    starts.push(i);
  }
  starts.push(rrsets.length);
  return { keys, starts, nodes };
}

/**
 * writeNames for a list in runs: the same entries in the same order, written from the RRsets
 * themselves (no NameRecord, no map of them). `byName`: the runs, ENTs and wildcard parents are
 * names, not keys (runsOf with the names themselves, build.ts), each key written straight from its
 * name; returns false when a name was not in the form that makes that sound (keys.ts: lower-case
 * ASCII, so that two names have one key only when they are one name): the writer's entries are
 * then to be thrown away.
 */
export function writeRuns(w: SlabWriter, rrsets: readonly RRSet[], runs: Runs, ents: Iterable<string>, wildcardParents: Iterable<string>, byName = false): boolean {
  const extra = extraFlags(ents, wildcardParents);
  const { keys, starts } = runs;
  let straight = true;
  for (let r = 0; r < keys.length; r++) {
    const from = starts[r];
    const to = starts[r + 1];
    let flags = NODE;
    for (let i = from; i < to; i++) flags |= flagsOfType(RR_TYPE_BY_NAME[rrsets[i].type]);
    const more = extra.get(keys[r]) ?? 0;
    if (more !== 0) extra.delete(keys[r]);
    if (!byName) w.begin(keys[r], flags | more);
    else if (!w.beginName(keys[r], flags | more)) straight = false;
    writeRecord(w, rrsets[from].name, rrsets, from, to, undefined);
    w.end();
  }
  extra.forEach((flags, key) => {
    if (!byName) w.begin(key, flags);
    else if (!w.beginName(key, flags)) straight = false;
    w.end();
  });
  return straight;
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
