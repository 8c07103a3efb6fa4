// A table's name data (types.ts NameData: nodes, empty non-terminals, wildcard parents) read
// from its slab (slab.ts). Lookups probe the shared memory and allocate nothing; a node's
// RRsets are decoded from its record only when asked (a name's first query in this thread, to
// prepare its answers, and the slow path). Nothing decoded is kept here: prepared answers are
// the per-thread state (table.ts), the slab the shared one.

import type { RRData, KeySet, NameData, NameNode, NodeMap } from './types.js';
import type { RRSet } from '../config/types.js';
import { RR_TYPE_BY_NAME, TYPE } from '../wire/constants.js';
import { keyToName } from '../wire/name.js';
import { CNAME, ENT, NODE, Slab, SlabWriter, typeBit, WILDCARD_PARENT } from './slab.js';

/**
 * A node's record in a slab: its RRsets as the shard's canonical JSON writes them (hash.ts), in
 * a list: [{"data":[...],"name":"...","ttl":N,"type":"A"}, ...]. That form lets a record be
 * copied out of the text a shard was validated from (writeRuns) instead of written again.
 */
type NodeRecord = { data: readonly unknown[]; name: string; ttl: number; type: string }[];

/** RR type names by code (the inverse of RR_TYPE_BY_NAME). */
const TYPE_NAME = new Map<number, string>(Object.entries(RR_TYPE_BY_NAME).map(([k, v]) => [v, k]));

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

/** A record's JSON text (NodeRecord): what writeRecord writes, as a string. */
export function recordText(r: NameRecord): string {
  return JSON.stringify(r.sets.map((s, i) => ({ data: s.data, name: r.name, ttl: s.ttl, type: TYPE_NAME.get(r.types[i]) })));
}

/** Writes one RRset as the canonical JSON writes it: {"data":...,"name":"...","ttl":N,"type":"..."}. */
export function writeRRSet(w: SlabWriter, name: string, type: string | undefined, set: SetData): void {
  w.raw('{"data":');
  w.json(set.data);
  w.raw(',"name":');
  w.str(name);
  w.raw(',"ttl":');
  w.num(set.ttl);
  w.raw(',"type":');
  w.json(type);
  w.raw('}');
}

/**
 * Writes a record's JSON (NodeRecord) into the writer's current entry: the RRsets sets[from] to
 * sets[to - 1], their type names from the codes in `types` (same index) or, when it is
 * undefined, the sets' own (config RRsets).
 */
function writeRecord(w: SlabWriter, name: string, sets: readonly SetData[], from: number, to: number, types: readonly number[] | undefined): void {
  w.raw('[');
  for (let i = from; i < to; i++) {
    if (i > from) w.raw(',');
    writeRRSet(w, name, types === undefined ? (sets[i] as RRSet).type : TYPE_NAME.get(types[i]), sets[i]);
  }
  w.raw(']');
}

/** A node from its record (NodeRecord); `key`: its key, which names a node without RRsets. */
export function decodeNode(rec: unknown, flags: number, key?: string): NameNode {
  const sets = rec as NodeRecord;
  const rrsets = new Array<RRData>(sets.length);
  for (let i = 0; i < sets.length; i++) rrsets[i] = { type: RR_TYPE_BY_NAME[sets[i].type], ttl: sets[i].ttl, data: sets[i].data };
  const name = sets.length > 0 ? sets[0].name : key !== undefined ? keyToName(key) : '';
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
 * Where each RRset of a shard's list lies in the text its hash was checked on (config/hash.ts
 * takeHashedText: every member before the hash as the canonical JSON writes it): `at[i]` is where
 * RRset i begins, `at[rrsets.length]` one past the end of the list (so RRsets i to j - 1 are
 * text.slice(at[i], at[j] - 1)); and the reverse list's text (`[...]`). Undefined when the text
 * is not laid out so (then the records are written from the RRsets).
 *
 * In JSON text a quote inside a string is escaped, so a bare quote opens or closes a string, and
 * `"reverse":[`, `,"rrsets":[` and `,{"data":` are keys with what follows them. A valid shard has
 * one `reverse` and one `rrsets` member, and objects with a `data` key only in its RRset lists
 * (its data items' keys are the schema's: port, target, exchange...), where canonical order makes
 * it an RRset's first key: so after `,"rrsets":[`, `,{"data":` begins each RRset after the first.
 * The last RRset's end is checked against its name, TTL and type, and that it closes the list.
 */
export function rrsetsInText(text: string, rrsets: readonly RRSet[]): { at: number[]; reverse: string } | undefined {
  const rev = text.indexOf('"reverse":[');
  const key = rev < 0 ? -1 : text.indexOf(',"rrsets":[', rev);
  if (key < 0 || text.charCodeAt(key - 1) !== 93) return undefined; // ']'
  const n = rrsets.length;
  const at = new Array<number>(n + 1);
  let p = key + 11;
  if (n === 0) {
    if (text.charCodeAt(p) !== 93) return undefined;
    at[0] = p + 1;
  } else {
    at[0] = p;
    for (let i = 1; i < n; i++) {
      p = text.indexOf(',{"data":', p + 1);
      if (p < 0) return undefined;
      at[i] = ++p;
    }
    const last = rrsets[n - 1];
    const q = text.indexOf(',"name":"', p);
    if (q < 0) return undefined;
    const tail = ',"name":"' + last.name + '","ttl":' + last.ttl + ',"type":"' + last.type + '"}]';
    if (!text.startsWith(tail, q)) return undefined;
    at[n] = q + tail.length;
  }
  return { at, reverse: text.slice(rev + 10, key) };
}

/**
 * writeNames for a list in runs: the same entries in the same order, written from the RRsets
 * themselves (no NameRecord, no map of them). `byName`: the runs, ENTs and wildcard parents are
 * names, not keys (runsOf with the names themselves, build.ts), each key written straight from its
 * name; returns false when a name was not in the form that makes that sound (keys.ts: lower-case
 * ASCII, so that two names have one key only when they are one name): the writer's entries are
 * then to be thrown away. `source`: the list's text and where its RRsets lie (rrsetsInText):
 * each record is copied from it, the same bytes writeRecord writes for a list in canonical form.
 */
export function writeRuns(w: SlabWriter, rrsets: readonly RRSet[], runs: Runs, ents: Iterable<string>, wildcardParents: Iterable<string>, byName = false, source?: { text: string; at: readonly number[] }): boolean {
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
    if (source === undefined) writeRecord(w, rrsets[from].name, rrsets, from, to, undefined);
    else {
      w.raw('[');
      w.utf8(source.text.slice(source.at[from], source.at[to] - 1));
      w.raw(']');
    }
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
        return f & NODE ? decodeNode(s.recordAt(i), f, key) : undefined;
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
