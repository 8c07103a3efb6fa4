// What query logging costs when off (npm run bench -- server runs this after dnsperf): the
// transports call `tap.enabled ? tap.handle(...) : handleQuery(...)`. In one process,
// interleaved, the same query answered by handleQuery directly and through that check, median
// ns per query of 21 rounds each, and the cost when on (a silent logger: parse + locate + line).
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { HandlerState } from '../../dns-server/handler.js';
import { handleQuery, PROTO_UDP } from '../../dns-server/handler.js';
import { ServerMetrics } from '../../dns-server/metrics.js';
import { createQueryTap } from '../../dns-server/query-log.js';
import { VALIDATOR } from '../../dns-server/config/validate.js';
import { ShardStore } from '../../dns-server/reload.js';
import { EMPTY_TABLES } from '../../dns-server/tables/build.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { withHash } from '../../dns-server/config/hash.js';

const silent = pino({ level: 'silent' });
const metrics = new ServerMetrics(new Registry());
const st: HandlerState = { tables: EMPTY_TABLES, fallback: undefined, metrics, udpPayloadSize: 1232 };
const zone = {
  apiVersion: CONFIG_API_VERSION, id: 'zone/example.org', kind: 'zone', origin: 'example.org.', clusterDomain: false, reverse: [],
  soa: { mname: 'ns1.example.org.', rname: 'hostmaster.example.org.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60, ttl: 3600 },
  rrsets: [{ name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.1'] }],
};
const r = new ShardStore(st, metrics, silent, VALIDATOR).applyBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [withHash(zone as never)] });
if (r.refused.length) throw new Error(`bench bundle refused: ${JSON.stringify(r.refused)}`);
const msg = dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.example.org', class: 'IN' }] });
const tap = createQueryTap(silent, false);
const N = 200000;
const time = (f: () => void, n: number) => { const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) f(); return Number(process.hrtime.bigint() - t) / n; };
const direct = () => handleQuery(msg, PROTO_UDP, st);
const tapped = () => (tap.enabled ? tap.handle(msg, PROTO_UDP, st, '127.0.0.1') : handleQuery(msg, PROTO_UDP, st));
for (let i = 0; i < 5; i++) { time(direct, N); time(tapped, N); } // warm up (JIT)
const a: number[] = [];
const b: number[] = [];
for (let round = 0; round < 21; round++) {
  if (round % 2) { a.push(time(direct, N)); b.push(time(tapped, N)); } else { b.push(time(tapped, N)); a.push(time(direct, N)); }
}
tap.enabled = true;
const on = time(tapped, 20000);
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
console.log(`query log tap: handleQuery direct ${med(a).toFixed(1)} ns/query, through the check with logging off ${med(b).toFixed(1)} ns/query (ratio ${(med(b) / med(a)).toFixed(3)}); logging on (silent logger) ${on.toFixed(0)} ns/query`);
