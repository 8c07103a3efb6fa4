// Building the lookup tables of one shard (off the query path, at reload): the name nodes, the
// empty non-terminals and wildcard parents, and a NameTable (table.ts) that prepares its own
// answers: now for zones and hosts, on first query for a namespace's cluster Services.

import type { RRSet, ServicesShard, Soa, HostsShard, ZoneShard } from '../config/types.js';
import { RR_TYPE_BY_NAME, TYPE } from '../wire/constants.js';
import { nameToKey, parentKey } from '../wire/name.js';
import { WireWriter } from '../wire/writer.js';
import { tableScope } from './plan.js';
import { ReverseIndex } from './reverse.js';
import { NameTable } from './table.js';
import type { HostsTable, NameNode, RRData, ServicesTable, Tables, ZoneInfo, ZoneTable } from './types.js';

interface MutableNode { name: string; rrsets: RRData[]; cname: boolean }

function nodesFrom(rrsets: readonly RRSet[], extra?: (nodes: Map<string, MutableNode>) => void): Map<string, NameNode> {
  const nodes = new Map<string, MutableNode>();
  for (const rs of rrsets) {
    const key = nameToKey(rs.name);
    const type = RR_TYPE_BY_NAME[rs.type];
    const rrset: RRData = { type, ttl: rs.ttl, data: rs.data };
    let node = nodes.get(key);
    // A literal of one: an empty array grown by push reserves 17 slots (136 bytes) per name.
    if (node === undefined) nodes.set(key, (node = { name: rs.name, rrsets: [rrset], cname: false }));
    else node.rrsets.push(rrset); // one RRset per name and type: validated
    if (type === TYPE.CNAME) node.cname = true;
  }
  extra?.(nodes);
  return nodes;
}

/** Empty non-terminals and wildcard parents of a set of names below `baseKey`. */
function structure(nodes: ReadonlyMap<string, NameNode>, baseKey: string): { ents: Set<string>; wildcardParents: Set<string> } {
  const ents = new Set<string>();
  const wildcardParents = new Set<string>();
  for (const key of nodes.keys()) {
    if (key.startsWith('\x01*')) wildcardParents.add(key.substring(2));
    let p = parentKey(key);
    while (p !== undefined && p.length >= baseKey.length && p !== baseKey) {
      if (!nodes.has(p)) ents.add(p);
      p = parentKey(p);
    }
    if (p === baseKey && !nodes.has(p)) ents.add(p);
  }
  return { ents, wildcardParents };
}

/** The SOA record as it follows its owner in a negative answer: TYPE CLASS TTL RDLENGTH RDATA (names uncompressed). */
export function soaTail(soa: Soa): Buffer {
  const w = new WireWriter(128);
  w.u16(TYPE.SOA); w.u16(1); w.u32(Math.min(soa.minimum, soa.ttl));
  const at = w.len; w.u16(0);
  w.name(soa.mname, false); w.name(soa.rname, false);
  w.u32(soa.serial); w.u32(soa.refresh); w.u32(soa.retry); w.u32(soa.expire); w.u32(soa.minimum);
  w.endRecord(at);
  return w.result();
}

export function buildZoneTable(shard: ZoneShard, since: string): ZoneTable {
  const originKey = nameToKey(shard.origin);
  const nodes = nodesFrom(shard.rrsets, (ns) => {
    let apex = ns.get(originKey);
    if (apex === undefined) ns.set(originKey, (apex = { name: shard.origin, rrsets: [], cname: false }));
    apex.rrsets.push({ type: TYPE.SOA, ttl: shard.soa.ttl, data: [shard.soa] });
  });
  const { ents, wildcardParents } = structure(nodes, originKey);
  const info: ZoneInfo = {
    kind: 'zone', shardId: shard.id, hash: shard.hash, since, originKey, origin: shard.origin, soa: shard.soa,
    soaTail: soaTail(shard.soa), clusterDomain: shard.clusterDomain,
  };
  return Object.assign(new NameTable(nodes, ents, wildcardParents, (t) => tableScope(t, info, originKey), false), info);
}

export function buildServicesTable(shard: ServicesShard, since: string): ServicesTable {
  const zoneKey = nameToKey(shard.zone);
  const baseKey = nameToKey(`${shard.namespace}.svc.${shard.zone}`);
  const nodes = nodesFrom(shard.rrsets);
  const { ents, wildcardParents } = structure(nodes, baseKey);
  // Lazy: a cluster's generated names are many and mostly never asked; each is prepared on its
  // first query, which keeps reloads and memory small.
  return Object.assign(new NameTable(nodes, ents, wildcardParents, (t) => tableScope(t, undefined, baseKey), true), {
    kind: 'services' as const, shardId: shard.id, hash: shard.hash, since, zoneKey, baseKey, namespace: shard.namespace,
  });
}

export function buildHostsTable(shard: HostsShard, since: string): HostsTable {
  const nodes = nodesFrom(shard.rrsets);
  // Hosts names stand alone (no zone, no structure): the scope is the names themselves.
  const scopeOf = (table: NameTable) => ({ find: (key: string) => { const node = nodes.get(key); return node ? { kind: 'node' as const, node, zone: undefined, table } : { kind: 'outside' as const }; } });
  return Object.assign(new NameTable(nodes, new Set(), new Set(), scopeOf, false), { kind: 'hosts' as const, shardId: shard.id, hash: shard.hash, since });
}

/** The tables before the first configuration (generation 0: the handler answers SERVFAIL). */
export const EMPTY_TABLES: Tables = {
  zones: new Map(), services: new Map(), hosts: undefined, reverse: new ReverseIndex(), shards: new Map(), generation: 0,
};
