// The query planner: which table holds a name (locate), and a scope over all the live tables
// for composing the answers no single table could prepare (the slow path: wildcards, CNAME
// chains that leave their shard, ANY; tables/plan.ts planAnswer does the composing). Pure: no
// I/O, no clock (but for a count: each name new to this thread's recall index is told to
// heap.ts, as a burst of them leaves garbage: ADR 0031). The handler (handler.ts) asks the located table for its prepared answer first.

import { noteNewName } from './heap.js';
import { findInTable } from './tables/plan.js';
import { ASCII_LOWER } from './wire/query.js';
import type { Found, Scope } from './tables/plan.js';
import { NameTable } from './tables/table.js';
import { Slab, SlabWriter } from './tables/slab.js';
import type { Tables, ZoneTable } from './tables/types.js';

/** Where a name lives. */
export type Location =
  | { kind: 'zone'; zone: ZoneTable; table: NameTable; /** offset of the zone's origin inside the key */ originOffset: number; /** the name is `<ns>.svc.<zone>` or above it, with no table of its own */ clusterEnt?: boolean }
  | { kind: 'hosts'; table: NameTable }
  /** A name of the reverse index (its node is decoded only when the slow path needs it). */
  | { kind: 'reverse' }
  | { kind: 'none' };

const ARPA = '\x04arpa\x00';

/**
 * What locate needs of one Tables, indexed for the query path: the zones by the length of their
 * origin key (a name's suffixes are tried by length first, so most need no string made and no
 * hash), and each cluster zone's Services tables by namespace label (no `zone|ns` key to build
 * per query). Made on the first query of each Tables (a reload publishes a new one: reload.ts),
 * in this thread; a few hundred entries at most, one per zone and namespace shard. It also
 * holds the names recalled (see recall).
 */
interface LocateIndex {
  readonly tables: Tables;
  /** zones[length of origin key]: the zones whose origin key has that length. */
  readonly zonesByLength: (readonly ZoneTable[] | undefined)[];
  /** origin key of a cluster zone → namespace label → its Services table. */
  readonly services: Map<string, Map<string, NameTable>>;
  /** recall's slots, by the name's hash (2 × RECALL_SETS of them, made on the first remember). */
  recalled: (Recalled | undefined)[] | undefined;
  /** The names answered NXDOMAIN (2 × MISSING_SETS slots, made on the first rememberMissing): apart, so that random names churn only these. */
  missing: (Recalled | undefined)[] | undefined;
}

/**
 * A name this thread answered from a zone or the hosts table of one Tables (or handed to the fallback): its key and where
 * it lives, so that the next query for it needs neither a key string nor locate() (recall).
 */
export interface Recalled {
  /** The name's hash (wire/query.ts nameHash, tables/slab.ts hashKey of `key`). */
  readonly hash: number;
  readonly key: string;
  /** locate(tables, key), kept: its own object, never rewritten. */
  readonly location: Location;
  /**
   * A name of the missing set (rememberMissing): answered NXDOMAIN from its zone (no node, no
   * wildcard above it), whatever the type; the handler answers so again without the table.
   */
  readonly nxdomain: boolean;
  /**
   * The query types (their tables/slab.ts typeBit; other types are never noted) this name was answered NODATA for with its zone's SOA
   * (the handler sets them as it answers): answered so again without the table. The tables of
   * one Tables never change, nor do these answers.
   */
  nodata: number;
  /**
   * The ref of the name's prepared answers in its table's answer arena (tables/arena.ts; 0:
   * none yet), once a query has been answered from them: the next takes its type's answer
   * through it (the table's pick), without probing the slab. The table never changes for this
   * Tables, nor do its prepared answers once made.
   */
  answers: number;
}

/**
 * Sets of the recalled names, two slots each (two-way set-associative): a name goes to the set
 * of its hash, in its first slot, the name there moving to the second and the second's leaving.
 * Direct-mapped (one slot a set), two hot names sharing a slot kept evicting each other: with
 * 1,000 cluster names in 4,096 slots about a fifth of the queries went to locate() (issue 14).
 */
export const RECALL_SETS = 4096;
/** Sets of the names answered NXDOMAIN (two slots each, as RECALL_SETS): search-path misses (`name.<ns>.svc.<zone>`) are a tenth of a cluster's queries. */
export const MISSING_SETS = 1024;

let index: LocateIndex | undefined;

function indexOf(t: Tables): LocateIndex {
  if (index !== undefined && index.tables === t) return index;
  const zonesByLength: (ZoneTable[] | undefined)[] = new Array<undefined>(256).fill(undefined); // a key is at most 255 bytes
  for (const zone of t.zones.values()) (zonesByLength[zone.originKey.length] ??= []).push(zone);
  const services = new Map<string, Map<string, NameTable>>();
  for (const table of t.services.values()) {
    let byNs = services.get(table.zoneKey);
    if (byNs === undefined) services.set(table.zoneKey, (byNs = new Map()));
    byNs.set(table.namespace, table);
  }
  return (index = { tables: t, zonesByLength, services, recalled: undefined, missing: undefined });
}

/**
 * The name of a parsed question among those remembered for `t`: its bytes are msg[12..nameEnd]
 * (as received: ASCII letters compare lower-cased, as in the key), `hash` the parse's nameHash.
 * Undefined when it is not there (the caller makes the key and locates it). Answers from a
 * recalled name are those of locate(): the same Location (kept for this Tables, whose tables
 * never change: a reload publishes a new Tables, and with it a new, empty index).
 */
export function recall(t: Tables, msg: Buffer, nameEnd: number, hash: number): Recalled | undefined {
  const ix = indexOf(t);
  const slots = ix.recalled;
  if (slots === undefined) return undefined;
  return probe(slots, RECALL_SETS, msg, nameEnd, hash) ?? (ix.missing === undefined ? undefined : probe(ix.missing, MISSING_SETS, msg, nameEnd, hash));
}

/** The entry of `slots` (`sets` sets of two) for the name msg[12..nameEnd] of hash `hash`, compared byte for byte. */
function probe(slots: (Recalled | undefined)[], sets: number, msg: Buffer, nameEnd: number, hash: number): Recalled | undefined {
  const at = (hash & (sets - 1)) << 1;
  let r = slots[at];
  if (r === undefined) return undefined;
  if (r.hash !== hash) {
    r = slots[at + 1];
    if (r === undefined || r.hash !== hash) return undefined;
  }
  const key = r.key;
  const n = nameEnd - 11;
  if (key.length !== n) return undefined;
  const lower = ASCII_LOWER; // a local: a module binding is checked for its dead zone at each use in the loop
  for (let i = 0; i < n; i++) if (lower[msg[12 + i]] !== key.charCodeAt(i)) return undefined;
  return r;
}

/**
 * Keeps `key` (hash `hash`) and its Location (a zone or the hosts: names that exist there; or
 * none: a name handed to the fallback; a copy, as locate() rewrites its result) for recall on `t`.
 * Returns the entry kept.
 */
export function remember(t: Tables, hash: number, key: string, loc: Location): Recalled {
  const ix = indexOf(t);
  return keep((ix.recalled ??= new Array<undefined>(2 * RECALL_SETS).fill(undefined)), RECALL_SETS, hash, key, loc, false);
}

/**
 * Keeps a name answered NXDOMAIN from its zone (`loc`: a zone's; no node, no wildcard above it)
 * for recall on `t`, in sets of its own: names that do not exist are as many as clients make
 * up, and push out only each other.
 */
export function rememberMissing(t: Tables, hash: number, key: string, loc: Location): void {
  const ix = indexOf(t);
  ix.recalled ??= new Array<undefined>(2 * RECALL_SETS).fill(undefined); // recall() looks here first
  keep((ix.missing ??= new Array<undefined>(2 * MISSING_SETS).fill(undefined)), MISSING_SETS, hash, key, loc, true);
}

function keep(slots: (Recalled | undefined)[], sets: number, hash: number, key: string, loc: Location, nxdomain: boolean): Recalled {
  noteNewName(); // a burst of new names leaves garbage: heap.ts collects it once the burst is over
  const location: Location = loc.kind === 'zone'
    ? { kind: 'zone', zone: loc.zone, table: loc.table, originOffset: loc.originOffset, clusterEnt: loc.clusterEnt }
    : loc.kind === 'hosts' ? { kind: 'hosts', table: loc.table } : loc;
  const at = (hash & (sets - 1)) << 1;
  const first = slots[at];
  // Another name of the same hash in the first slot (only the bytes tell them apart) is replaced, not kept twice.
  if (first !== undefined && first.hash !== hash) slots[at + 1] = first;
  const r: Recalled = { hash, key, location, nxdomain, nodata: 0, answers: 0 };
  slots[at] = r;
  return r;
}

/** Whether the label at `at` is "svc" (a length byte 3, then the three letters; keys are lower-case). */
function isSvcLabel(key: string, at: number): boolean {
  return key.charCodeAt(at) === 3 && key.charCodeAt(at + 1) === 0x73 && key.charCodeAt(at + 2) === 0x76 && key.charCodeAt(at + 3) === 0x63;
}

/**
 * The zone and hosts Locations locate() returns: one object each, rewritten by every call (the
 * query path makes no object per query for them). Read a Location before the next locate().
 */
const AT_ZONE = { kind: 'zone' as const, zone: undefined as unknown as ZoneTable, table: undefined as unknown as NameTable, originOffset: 0, clusterEnt: false };
const AT_HOSTS = { kind: 'hosts' as const, table: undefined as unknown as NameTable };

function inZone(zone: ZoneTable, table: NameTable, originOffset: number, clusterEnt: boolean): Location {
  AT_ZONE.zone = zone;
  AT_ZONE.table = table;
  AT_ZONE.originOffset = originOffset;
  AT_ZONE.clusterEnt = clusterEnt;
  return AT_ZONE;
}

/**
 * Finds the table responsible for `key`: the longest zone, the cluster namespace shard, hosts,
 * the reverse index. The result is valid until the next call (see AT_ZONE).
 */
export function locate(t: Tables, key: string): Location {
  // The reverse index (PTRs the compiler let through) answers first, also inside an authoritative reverse zone (the cluster's Service and Pod CIDRs, docs/compiler.md).
  if (key.endsWith(ARPA) && t.reverse.has(key)) return REVERSE;
  const ix = indexOf(t);
  const byLength = ix.zonesByLength;
  const len = key.length;
  // The two labels before `off` (-1: none): "<ns>.svc." right above a cluster zone's origin.
  let prev = -1;
  let prev2 = -1;
  for (let off = 0; off < len; off += key.charCodeAt(off) + 1) {
    const candidates = byLength[len - off];
    if (candidates !== undefined) {
      for (let c = 0; c < candidates.length; c++) {
        const zone = candidates[c];
        if (!key.endsWith(zone.originKey)) continue;
        if (zone.clusterDomain && prev >= 0 && prev === off - 4 && isSvcLabel(key, prev)) {
          if (prev === 0) return inZone(zone, zone, off, true);
          const table = ix.services.get(zone.originKey)?.get(key.substring(prev2 + 1, prev));
          if (table === undefined) return inZone(zone, EMPTY_TABLE, off, false);
          return inZone(zone, table, off, prev2 === 0);
        }
        return inZone(zone, zone, off, false);
      }
    }
    prev2 = prev;
    prev = off;
  }
  const hosts = t.hosts;
  if (hosts !== undefined && hosts.names.has(key)) { AT_HOSTS.table = hosts; return AT_HOSTS; }
  if (t.reverse.has(key)) return REVERSE;
  return NONE;
}

const REVERSE: Location = { kind: 'reverse' };
const NONE: Location = { kind: 'none' };

/** A namespace of the cluster domain with no Services shard: every name below it is NXDOMAIN. */
const EMPTY_TABLE = new NameTable(new Slab(new SlabWriter().finish(null)), () => ({ find: () => ({ kind: 'outside' }) }));

/** Scope over the live tables (query time). */
export function tablesScope(t: Tables): Scope {
  return {
    find(key: string): Found {
      const loc = locate(t, key);
      switch (loc.kind) {
        case 'none': return { kind: 'outside' };
        case 'reverse': return { kind: 'node', node: t.reverse.node(key)!, zone: undefined, table: EMPTY_TABLE };
        case 'hosts': return { kind: 'node', node: loc.table.names.get(key)!, zone: undefined, table: loc.table };
        case 'zone': return findInTable(loc.table, key, loc.zone, loc.clusterEnt === true);
      }
    },
  };
}
