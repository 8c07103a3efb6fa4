// Writes the config bundle that serves ../shared/bench's data set (gen.js): zone bench.example
// with SOA, NS, ns1 and h0..h999 A 10.0.(i>>8).(i&255), TTL 3600. Usage: node gen-bundle.js FILE
import fs from 'node:fs';
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { RRSet, UnhashedShard } from '../../dns-server/config/index.js';

const ZONE = 'bench.example.';
const rrsets: RRSet[] = [
  { name: ZONE, type: 'NS', ttl: 3600, data: [`ns1.${ZONE}`] },
  { name: `ns1.${ZONE}`, type: 'A', ttl: 3600, data: ['10.255.0.1'] },
];
for (let i = 0; i < 1000; i++) rrsets.push({ name: `h${i}.${ZONE}`, type: 'A', ttl: 3600, data: [`10.0.${i >> 8}.${i & 255}`] });
const shard = withHash({
  apiVersion: CONFIG_API_VERSION, kind: 'zone', id: 'zone/bench.example', origin: ZONE, clusterDomain: false,
  soa: { mname: `ns1.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 3600, retry: 900, expire: 604800, minimum: 300, ttl: 3600 },
  rrsets, reverse: [],
} as UnhashedShard);
fs.writeFileSync(process.argv[2] ?? '/dev/stdout', JSON.stringify({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [shard] }));
