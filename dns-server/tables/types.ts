// Immutable lookup tables, one per shard, built at reload time (build.ts) and never changed
// afterwards. A query reads the current Tables object into a local once and uses only it.

import type { Soa } from '../config/types.js';

/** One RRset in lookup form: wire type, TTL and the records' data as in config/types.ts. */
export interface RRData {
  type: number;
  ttl: number;
  data: readonly unknown[];
}

/**
 * A prepared answer: complete response messages for the canonical (lower-case) question, ID 0.
 * Several when the answer carries an RRset of more than one record: each a rotation of its
 * order, served in turn so clients taking the first address spread their load.
 */
export interface Answer {
  readonly bufs: readonly Buffer[];
  /** Rotation cursor: the only mutable field, a counter with no meaning across reloads. */
  next: number;
}

export interface NameNode {
  /** dotted, lower-case owner name */
  readonly name: string;
  readonly rrsets: ReadonlyMap<number, RRData>;
  /**
   * Ready responses by query type (types present, and CNAME answers chased inside the shard).
   * Made at reload time for zones and hosts; for the generated Service records and the reverse
   * index, on the name's first query (then kept for the life of this shard version).
   */
  prepared: ReadonlyMap<number, Answer>;
  /** Whether `prepared` has been made. */
  ready: boolean;
  /** Set when the name holds a CNAME: the chase may need other tables (slow path). */
  readonly cname: boolean;
}

export interface NameTable {
  readonly names: ReadonlyMap<string, NameNode>;
  /** Keys of empty non-terminals: names with no data but with names below them (NODATA, not NXDOMAIN). */
  readonly ents: ReadonlySet<string>;
  /** Keys of the names that have a "*" child (RFC 4592 sources of synthesis). */
  readonly wildcardParents: ReadonlySet<string>;
}

interface ShardTableBase {
  readonly shardId: string;
  readonly hash: string;
  /** ISO time at which this version started being served. */
  readonly since: string;
}

export interface ZoneTable extends NameTable, ShardTableBase {
  readonly kind: 'zone';
  readonly originKey: string;
  readonly origin: string;
  readonly soa: Soa;
  /** The SOA record as it goes in a negative answer's authority section, after its owner name: TYPE CLASS TTL RDLENGTH RDATA. */
  readonly soaTail: Buffer;
  readonly clusterDomain: boolean;
}

export interface ServicesTable extends NameTable, ShardTableBase {
  readonly kind: 'services';
  readonly zoneKey: string;
  /** Key of "<namespace>.svc.<zone>": every name of the shard is below it. */
  readonly baseKey: string;
  readonly namespace: string;
}

export interface HostsTable extends NameTable, ShardTableBase {
  readonly kind: 'hosts';
}

/** Shards that carry no lookup data of their own (the forwarders) are still tracked for /status. */
export interface OtherShard extends ShardTableBase {
  readonly kind: 'forwarders';
}

export type ShardTable = ZoneTable | ServicesTable | HostsTable | OtherShard;

/** Reverse index entry: the PTR targets each shard contributes for one reverse name. */
export interface ReverseEntry {
  readonly name: string;
  readonly byShard: ReadonlyMap<string, { ttl: number; data: readonly string[] }>;
  readonly node: NameNode;
}

/** Everything a query needs, swapped as a whole by one assignment on reload. */
export interface Tables {
  readonly zones: ReadonlyMap<string, ZoneTable>;
  /** services tables by `${zoneKey}|${namespace}` */
  readonly services: ReadonlyMap<string, ServicesTable>;
  readonly hosts: HostsTable | undefined;
  readonly reverse: ReadonlyMap<string, ReverseEntry>;
  readonly shards: ReadonlyMap<string, ShardTable>;
  readonly generation: number;
}

export const EMPTY_TABLES: Tables = {
  zones: new Map(), services: new Map(), hosts: undefined, reverse: new Map(), shards: new Map(), generation: 0,
};
