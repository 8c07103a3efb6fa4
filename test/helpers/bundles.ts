// Config bundles for tests, built with the real contract helpers (withHash).
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { ConfigBundle, RRSet, Shard, Soa, UnhashedShard } from '../../dns-server/config/index.js';

export const SOA: Soa = { mname: 'ns1.example.org.', rname: 'hostmaster.example.org.', serial: 7, refresh: 3600, retry: 600, expire: 86400, minimum: 60, ttl: 3600 };

export function zoneShard(origin: string, rrsets: RRSet[], opts: { soa?: Partial<Soa>; reverse?: RRSet[]; clusterDomain?: boolean } = {}): Shard {
  return withHash({
    apiVersion: CONFIG_API_VERSION, kind: 'zone', id: `zone/${origin.replace(/\.$/, '')}`, origin,
    soa: { ...SOA, ...opts.soa }, clusterDomain: opts.clusterDomain ?? false, rrsets, reverse: opts.reverse ?? [],
  } as UnhashedShard) as Shard;
}

export function servicesShard(zone: string, namespace: string, rrsets: RRSet[], reverse: RRSet[] = []): Shard {
  return withHash({ apiVersion: CONFIG_API_VERSION, kind: 'services', id: `services/${namespace}`, zone, namespace, rrsets, reverse } as UnhashedShard) as Shard;
}

export function hostsShard(rrsets: RRSet[], reverse: RRSet[] = []): Shard {
  return withHash({ apiVersion: CONFIG_API_VERSION, kind: 'hosts', id: 'hosts', rrsets, reverse } as UnhashedShard) as Shard;
}

export function bundle(...shards: Shard[]): ConfigBundle {
  return { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
}

/** The example.org zone most server tests use. */
export function exampleZone(extra: RRSet[] = []): Shard {
  return zoneShard('example.org.', [
    { name: 'example.org.', type: 'NS', ttl: 3600, data: ['ns1.example.org.'] },
    { name: 'ns1.example.org.', type: 'A', ttl: 3600, data: ['192.0.2.53'] },
    { name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.1'] },
    { name: 'www.example.org.', type: 'AAAA', ttl: 300, data: ['2001:db8::1'] },
    { name: 'multi.example.org.', type: 'A', ttl: 30, data: ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14'] },
    { name: 'alias.example.org.', type: 'CNAME', ttl: 120, data: ['www.example.org.'] },
    { name: 'chain.example.org.', type: 'CNAME', ttl: 120, data: ['alias.example.org.'] },
    { name: 'dangling.example.org.', type: 'CNAME', ttl: 120, data: ['missing.example.org.'] },
    { name: 'out.example.org.', type: 'CNAME', ttl: 120, data: ['www.example.net.'] },
    { name: 'txt.example.org.', type: 'TXT', ttl: 60, data: [['v=spf1 -all'], ['a', 'b']] },
    { name: 'example.org.', type: 'MX', ttl: 300, data: [{ preference: 10, exchange: 'mail.example.org.' }] },
    { name: 'mail.example.org.', type: 'A', ttl: 300, data: ['192.0.2.25'] },
    { name: '_http._tcp.www.example.org.', type: 'SRV', ttl: 60, data: [{ priority: 10, weight: 5, port: 8080, target: 'www.example.org.' }] },
    { name: 'a.b.c.example.org.', type: 'A', ttl: 60, data: ['192.0.2.99'] },
    { name: '*.wild.example.org.', type: 'A', ttl: 45, data: ['192.0.2.77'] },
    { name: 'example.org.', type: 'CAA', ttl: 300, data: [{ flags: 0, tag: 'issue', value: 'letsencrypt.org' }] },
    ...extra,
  ], { reverse: [{ name: '1.2.0.192.in-addr.arpa.', type: 'PTR', ttl: 300, data: ['www.example.org.'] }] });
}
