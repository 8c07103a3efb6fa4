// Authoritative zone shards: a DNSZone's own records, its NS and an SOA whose serial is derived
// from the content, plus what StaticHosts and published Services contribute; and the cluster
// domain's own zone shard (the Services themselves live in the per-namespace shards).

import { createHash } from 'node:crypto';
import type { RecordType, Soa, ZoneShard } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { CLUSTER_TTL, DNS_SCHEMA_VERSION } from './cluster-services.js';
import type { ParsedZone } from './parse-crs.js';
import type { RecordData } from './records.js';
import { RRSetBag, hashShard } from './rrsets.js';

/** Records one resource adds to a shard (the unit of conflict resolution and memoisation). */
export interface Contribution {
  /** "StaticHost team-a/db", "Service prod/web". */
  owner: string;
  /** Identity of the inputs (objects' uid@resourceVersion) for memoisation. */
  ident: string;
  records: { name: string; type: RecordType; ttl: number; data: RecordData }[];
  reverse: { name: string; ttl: number; target: string }[];
}

export const shardIdOfZone = (origin: string): string => `zone/${origin === '.' ? '.' : origin.slice(0, -1)}`;

/** A serial from the content: the first 32 bits of its sha256 (stable for equal content). */
function serialOf(rrsetsJson: string): number {
  return parseInt(createHash('sha256').update(rrsetsJson).digest('hex').slice(0, 8), 16);
}

function soaOf(fields: Omit<Soa, 'serial'>, serial: number): Soa {
  const { expire, minimum, mname, refresh, retry, rname, ttl } = fields;
  return { expire, minimum, mname, refresh, retry, rname, serial, ttl };
}

export interface BuiltZone { shard: ZoneShard; records: number }

export function buildZoneShard(zone: ParsedZone, contributions: readonly Contribution[]): BuiltZone {
  const origin = zone.domain;
  const bag = new RRSetBag();
  const reverse = new RRSetBag();
  for (const r of zone.records) {
    for (const d of r.data) bag.add(r.name, r.type, r.ttl, d);
  }
  const mname = zone.soa.mname ?? zone.nameServers[0] ?? `ns.${origin}`;
  if (!bag.has(origin, 'NS')) for (const ns of zone.nameServers.length ? zone.nameServers : [mname]) bag.add(origin, 'NS', zone.ttl, ns);
  for (const c of contributions) {
    for (const r of c.records) bag.add(r.name, r.type, r.ttl, r.data);
    for (const p of c.reverse) reverse.add(p.name, 'PTR', p.ttl, p.target);
  }
  const rrsets = bag.toRRSets();
  const rev = reverse.toRRSets();
  // Serialised once: for the serial, then as part of the shard's JSON (hash and output).
  const pre = { rrsets: JSON.stringify(rrsets), reverse: JSON.stringify(rev) };
  const soa = soaOf({
    expire: zone.soa.expire, minimum: zone.soa.minimum, mname, refresh: zone.soa.refresh, retry: zone.soa.retry,
    rname: zone.soa.rname ?? `hostmaster.${origin}`, ttl: zone.ttl,
  }, serialOf(pre.rrsets + pre.reverse));
  const shard = hashShard({
    apiVersion: CONFIG_API_VERSION, clusterDomain: false, id: shardIdOfZone(origin), kind: 'zone', origin,
    reverse: rev, rrsets, soa,
  } as Omit<ZoneShard, 'hash'>, pre) as ZoneShard;
  let records = 0;
  for (const rs of rrsets) records += rs.data.length;
  return { shard, records };
}

/** The cluster domain's zone: SOA and dns-version; Service names come from the namespace shards. */
export function buildClusterZoneShard(clusterZone: string): ZoneShard {
  const rrsets = [{ data: [[DNS_SCHEMA_VERSION]], name: `dns-version.${clusterZone}`, ttl: CLUSTER_TTL, type: 'TXT' as const }];
  const pre = { rrsets: JSON.stringify(rrsets) };
  const soa = soaOf({
    expire: 86400, minimum: CLUSTER_TTL, mname: `ns.dns.${clusterZone}`, refresh: 7200, retry: 1800,
    rname: `hostmaster.${clusterZone}`, ttl: CLUSTER_TTL,
  }, serialOf(pre.rrsets));
  return hashShard({
    apiVersion: CONFIG_API_VERSION, clusterDomain: true, id: shardIdOfZone(clusterZone), kind: 'zone', origin: clusterZone,
    reverse: [], rrsets, soa,
  } as Omit<ZoneShard, 'hash'>, pre) as ZoneShard;
}
