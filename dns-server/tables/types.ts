// Lookup tables, one per shard. Their name data (nodes, empty non-terminals, wildcard parents)
// lives in a slab (slab.ts: a SharedArrayBuffer built once by the main thread, build.ts, and
// read by every worker thread) and is immutable. The names' prepared answers live beside it, in
// the slab's answer arena (arena.ts: made on a name's first query in any thread, then read by
// all; ADR 0031). A table's per-thread state is its view of that arena (rotation cursors).
// A query reads the current Tables object into a local once and uses only it.

import type { ForwardersShard, Soa } from '../config/types.js';
import type { Slab } from './slab.js';
import type { NameTable } from './table.js';
import type { ReverseIndex } from './reverse.js';

/** One RRset in lookup form: wire type, TTL and the records' data as in config/types.ts. */
export interface RRData {
  type: number;
  ttl: number;
  data: readonly unknown[];
}

/**
 * A prepared answer as prepare.ts makes it: complete response messages for the canonical
 * (lower-case) question, ID 0. Several when the answer carries an RRset of more than one record:
 * each a rotation of its order, served in turn so clients taking the first address spread their
 * load. Copied into the slab's answer arena (arena.ts), or kept by the thread that made it when
 * the arena is full.
 */
export interface Answer {
  /** The query type it answers. */
  readonly qtype: number;
  readonly bufs: readonly Buffer[];
  /** Rotation cursor (an answer kept by one thread): the only mutable field, a counter with no meaning across reloads. */
  next: number;
}

/** A name's prepared answers, one per query type, searched in order. */
export type PreparedAnswers = readonly Answer[];

/** The answer for `qtype` among a name's prepared answers. */
export function answerOfType(answers: PreparedAnswers, qtype: number): Answer | undefined {
  for (let i = 0; i < answers.length; i++) if (answers[i].qtype === qtype) return answers[i];
  return undefined;
}

/** One owner name's records. Immutable. */
export interface NameNode {
  /** dotted, lower-case owner name */
  readonly name: string;
  /**
   * Its RRsets, one per type (rrsetOf finds one). An array rather than a Map: most names hold
   * one or two, and a Map per name was the largest part of the tables (issue 14).
   */
  readonly rrsets: readonly RRData[];
  /** Set when the name holds a CNAME: the chase may need other tables (slow path). */
  readonly cname: boolean;
}

/** The RRset of `type` at a node. */
export function rrsetOf(node: NameNode, type: number): RRData | undefined {
  const rrsets = node.rrsets;
  for (let i = 0; i < rrsets.length; i++) if (rrsets[i].type === type) return rrsets[i];
  return undefined;
}

/** A set of name keys (a Set satisfies it; a slab's view does, slab-names.ts). */
export interface KeySet {
  has(key: string): boolean;
}

/** Name keys with their nodes (a Map satisfies it; a slab's view does). */
export interface NodeMap extends KeySet {
  get(key: string): NameNode | undefined;
  readonly size: number;
}

/** The name data of a table: what answer composition (plan.ts) reads. Immutable. */
export interface NameData {
  readonly names: NodeMap;
  /** Keys of empty non-terminals: names with no data but with names below them (NODATA, not NXDOMAIN). */
  readonly ents: KeySet;
  /** Keys of the names that have a "*" child (RFC 4592 sources of synthesis). */
  readonly wildcardParents: KeySet & { readonly size: number };
}

interface ShardInfo {
  readonly shardId: string;
  readonly hash: string;
  /** ISO time at which this version started being served. */
  readonly since: string;
}

export interface ZoneInfo extends ShardInfo {
  readonly kind: 'zone';
  readonly originKey: string;
  readonly origin: string;
  readonly soa: Soa;
  /** The SOA record as it goes in a negative answer's authority section, after its owner name: TYPE CLASS TTL RDLENGTH RDATA. */
  readonly soaTail: Buffer;
  readonly clusterDomain: boolean;
}

export interface ServicesInfo extends ShardInfo {
  readonly kind: 'services';
  readonly zoneKey: string;
  /** Key of "<namespace>.svc.<zone>": every name of the shard is below it. */
  readonly baseKey: string;
  readonly namespace: string;
}

export interface HostsInfo extends ShardInfo {
  readonly kind: 'hosts';
}

export type ZoneTable = NameTable & ZoneInfo;
export type ServicesTable = NameTable & ServicesInfo;
export type HostsTable = NameTable & HostsInfo;

/** Shards that carry no lookup data of their own (the forwarders) are still tracked for /status. */
export interface OtherShard extends ShardInfo {
  readonly kind: 'forwarders';
  readonly forwarders: ForwardersShard;
  readonly slab: Slab;
}

export type ShardTable = ZoneTable | ServicesTable | HostsTable | OtherShard;

/** Everything a query needs, swapped as a whole by one assignment on reload. */
export interface Tables {
  readonly zones: ReadonlyMap<string, ZoneTable>;
  /** services tables by `${zoneKey}|${namespace}` */
  readonly services: ReadonlyMap<string, ServicesTable>;
  readonly hosts: HostsTable | undefined;
  /** The PTR names of every shard, merged (updated in place on reload: reverse.ts says why that is safe). */
  readonly reverse: ReverseIndex;
  readonly shards: ReadonlyMap<string, ShardTable>;
  readonly generation: number;
}
