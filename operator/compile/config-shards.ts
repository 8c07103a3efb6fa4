// Shards phase: the zone shards (each accepted DNSZone with what won its names, plus the
// cluster domain's own zone), the hosts shard and the forwarders shard; and the verdicts of the
// zones and forwarders, which depend on what went into their shards.

import type { ForwardersShard, HostsShard } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import type { ClaimsOutcome, CompileCache } from './cache.js';
import type { DomainsOutcome } from './domains.js';
import { byString } from './names.js';
import { RRSetBag, hashShard, sortKeys } from './rrsets.js';
import type { Shard } from './rrsets.js';
import type { Verdicts } from './status.js';
import { recordsInClusterRanges } from './reverse-zones.js';
import type { ClusterRange, ReverseRanges } from './reverse-zones.js';
import { buildClusterZoneShard, buildZoneShard, shardIdOfZone } from './zones.js';

/** Shards phase: every shard but the Services' (unsorted), and the zones' and forwarders' verdicts. */
export function buildConfigShards(domains: DomainsOutcome, claims: ClaimsOutcome, clusterZone: string, cache: CompileCache, verdicts: Verdicts, clusterRanges?: ReverseRanges<ClusterRange>): Shard[] {
  const shards: Shard[] = [];
  cache.clusterShard ??= buildClusterZoneShard(clusterZone);
  shards.push(cache.clusterShard);
  // Zone shards, memoised on the zone's identity and what was contributed to it.
  const liveZones = new Set<string>();
  for (const { p, id } of domains.acceptedZones.values()) {
    const shardId = shardIdOfZone(p.domain);
    liveZones.add(shardId);
    let memo = cache.zoneShards.get(shardId);
    if (!memo || memo.claims !== claims || memo.id !== id) {
      const contribs = claims.contributions.get(shardId) ?? [];
      let key = id;
      for (const c of contribs) key += '|' + c.owner + '@' + (c.ident || JSON.stringify(c.records) + JSON.stringify(c.reverse));
      if (!memo || memo.key !== key) memo = { key, id, claims, built: buildZoneShard(p, contribs) };
      else memo = { ...memo, id, claims };
      cache.zoneShards.set(shardId, memo);
    }
    shards.push(memo.built.shard);
    const n = claims.zoneNotes.get(p.domain);
    let message = `Serving ${memo.built.records} records for ${p.domain}`;
    if (n?.skipped.length) message += `; not published: ${n.skipped.slice(0, 3).join('; ')}${n.skipped.length > 3 ? ` (and ${n.skipped.length - 3} more)` : ''}`;
    // Records inside the cluster's reverse ranges are not served (the cluster's PTRs win): PartiallyRefused.
    const refused = clusterRanges ? recordsInClusterRanges(p.records, clusterRanges) : undefined;
        // `routes` only for zones that publish routes (spec.ingresses or spec.routes).
    const figures: Record<string, unknown> = { records: memo.built.records, services: n?.services ?? 0 };
    if (p.ingresses || p.routes) figures.routes = n?.routes ?? 0;
    verdicts.accept(p.meta, message, [shardId], figures, refused);
  }
  for (const id of cache.zoneShards.keys()) if (!liveZones.has(id)) cache.zoneShards.delete(id);

  // Hosts outside every zone (operator namespace only); no shard when there are none.
  const hostContribs = claims.contributions.get('hosts') ?? [];
  if (hostContribs.length) {
    let memo = cache.hostsShard;
    if (!memo || memo.claims !== claims) {
      const key = hostContribs.map((c) => c.owner + '@' + c.ident).join('|');
      if (memo && memo.key === key) memo.claims = claims;
      else {
        const bag = new RRSetBag();
        const rev = new RRSetBag();
        for (const c of hostContribs) {
          for (const r of c.records) bag.add(r.name, r.type, r.ttl, r.data);
          for (const p of c.reverse) rev.add(p.name, 'PTR', p.ttl, p.target);
        }
        const shard = hashShard({ apiVersion: CONFIG_API_VERSION, id: 'hosts', kind: 'hosts', reverse: rev.toRRSets(), rrsets: bag.toRRSets() } as Omit<HostsShard, 'hash'>) as HostsShard;
        cache.hostsShard = memo = { key, claims, shard: cache.reuse(shard) };
      }
    }
    shards.push(memo.shard);
  }

  // Forwarders: always a shard (an empty list when none).
  const fwdList = domains.acceptedFwds.map((f) => f.forwarder).sort((a, b) => byString(a.name, b.name));
  shards.push(cache.reuse(hashShard({ apiVersion: CONFIG_API_VERSION, forwarders: sortKeys(fwdList), id: 'forwarders', kind: 'forwarders', reverse: [] } as Omit<ForwardersShard, 'hash'>) as ForwardersShard));
  for (const f of domains.acceptedFwds) {
    verdicts.accept(f.meta, `Forwarding ${f.forwarder.domains.join(', ')} to ${f.forwarder.upstreams.length} upstream(s)`, ['forwarders'], { domains: f.forwarder.domains.length, upstreams: f.forwarder.upstreams.length });
  }
  return shards;
}
