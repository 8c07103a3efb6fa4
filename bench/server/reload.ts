// Reload cost on a large config: a synthetic cluster of SERVICES Services in NAMESPACES
// namespaces (ClusterIP A + SRV + PTR each; every tenth headless with ENDPOINTS endpoint
// addresses and hostnames), served in-process. Prints full-load time, resident memory, and the
// time to apply one changed namespace shard, measured while dnsperf drives queries at a fixed
// rate at the server, and dnsperf's lost count over the whole run.
// Usage: node reload.js [SERVICES=10000] [NAMESPACES=100] [ENDPOINTS=10] [PORT=5460]; env
// BASE_DIST=<another build's dist/> runs that build's DNS server on the same config (a side-by-side
// comparison: run both in turn). CPU figures are the process's (all threads), wall and CPU alike
// printed: on a busy machine the wall time mostly measures the wait for a core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { RRSet, Shard, UnhashedShard } from '../../dns-server/config/index.js';

const { startDnsServer } = await import(process.env.BASE_DIST ? pathToFileURL(path.resolve(process.env.BASE_DIST, 'dns-server/index.js')).href : '../../dns-server/index.js') as typeof import('../../dns-server/index.js');
const cpuMs = (c0: NodeJS.CpuUsage) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; };

const [SERVICES, NAMESPACES, ENDPOINTS, PORT] = [10000, 100, 10, 5460].map((d, i) => Number(process.argv[2 + i] ?? d));
const ZONE = 'cluster.local.';

function nsShard(n: number, version: number): Shard {
  const ns = `ns${n}`;
  const rrsets: RRSet[] = [];
  const reverse: RRSet[] = [];
  for (let s = n; s < SERVICES; s += NAMESPACES) {
    const name = `svc${s}.${ns}.svc.${ZONE}`;
    if (s % 10 === 9) {
      const addrs: string[] = [];
      for (let e = 0; e < ENDPOINTS; e++) {
        const ip = `10.${128 + (s >> 8 & 63)}.${s & 255}.${e + 1 + (s === 0 ? version : 0)}`;
        addrs.push(ip);
        rrsets.push({ name: `ep${e}.${name}`, type: 'A', ttl: 5, data: [ip] });
        reverse.push({ name: ip.split('.').reverse().join('.') + '.in-addr.arpa.', type: 'PTR', ttl: 5, data: [`ep${e}.${name}`] });
      }
      rrsets.push({ name, type: 'A', ttl: 5, data: addrs });
    } else {
      const ip = `10.96.${s >> 8 & 255}.${(s & 255)}`;
      rrsets.push({ name, type: 'A', ttl: 5, data: [ip] });
      reverse.push({ name: ip.split('.').reverse().join('.') + '.in-addr.arpa.', type: 'PTR', ttl: 5, data: [name] });
    }
    rrsets.push({ name: `_http._tcp.${name}`, type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 100, port: 8080 + (n === 0 ? version : 0), target: name }] });
  }
  return withHash({ apiVersion: CONFIG_API_VERSION, kind: 'services', id: `services/${ns}`, zone: ZONE, namespace: ns, rrsets, reverse } as UnhashedShard) as Shard;
}

const zone = withHash({
  apiVersion: CONFIG_API_VERSION, kind: 'zone', id: 'zone/cluster.local', origin: ZONE, clusterDomain: true,
  soa: { mname: `ns.dns.${ZONE}`, rname: `hostmaster.${ZONE}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 5, ttl: 30 },
  rrsets: [{ name: `dns-version.${ZONE}`, type: 'TXT', ttl: 30, data: [['1.1.0']] }], reverse: [],
} as UnhashedShard) as Shard;

const shards = [zone, ...Array.from({ length: NAMESPACES }, (_, n) => nsShard(n, 0))];
const bundle = { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
const bytes = Buffer.byteLength(JSON.stringify(bundle));
const records = shards.reduce((a, s) => a + ('rrsets' in s ? s.rrsets.length : 0) + s.reverse.length, 0);

if (process.env.DUMP) { fs.writeFileSync(process.env.DUMP, JSON.stringify(bundle)); process.exit(0); }
const rssBefore = process.memoryUsage().rss;
const server = await startDnsServer({ port: PORT, logger: pino({ level: 'warn' }) });
if (global.gc) global.gc();
const c0 = process.cpuUsage();
const t0 = performance.now();
const r = server.applyBundle(bundle);
const loadMs = performance.now() - t0;
const loadCpu = cpuMs(c0);
if (r.refused.length) throw new Error(JSON.stringify(r.refused));
if (global.gc) global.gc();
const rssAfter = process.memoryUsage().rss;

// queries: a mix over the namespaces, written for dnsperf
const qfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'splitdns-reload-')), 'queries.txt');
const lines: string[] = [];
for (let i = 0; i < 5000; i++) { const s = (i * 7919) % SERVICES; lines.push(`svc${s}.ns${s % NAMESPACES}.svc.${ZONE} A`); }
fs.writeFileSync(qfile, lines.join('\n') + '\n');
const RATE = Number(process.env.RATE ?? 20000);
const SECS = Number(process.env.SECS ?? 6);
const perf = spawn('dnsperf', ['-s', '127.0.0.1', '-p', String(PORT), '-d', qfile, '-l', String(SECS), '-Q', String(RATE), '-c', '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
let perfOut = '';
perf.stdout.on('data', (d) => { perfOut += d; });
const perfDone = new Promise((res) => perf.on('exit', res));

// one changed namespace shard, applied every 100 ms while dnsperf runs
const times: number[] = [];
const cpuTimes: number[] = [];
await new Promise((res) => setTimeout(res, 500));
for (let v = 1; v <= (SECS - 1) * 10; v++) {
  const changed = nsShard(0, v);
  const s0 = performance.now();
  const sc = process.cpuUsage();
  const rr = server.applyShards([changed], []);
  times.push(performance.now() - s0);
  cpuTimes.push(cpuMs(sc));
  if (rr.applied.length !== 1) throw new Error('shard not applied');
  await new Promise((res) => setTimeout(res, 100));
}
await perfDone;
await server.close();
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
const pick = (p: number, of = times) => of[Math.min(of.length - 1, Math.floor(p * of.length))].toFixed(2);
const num = (re: RegExp) => (perfOut.match(re) ?? [])[1] ?? 'NA';
console.log(`reload: services=${SERVICES} namespaces=${NAMESPACES} records=${records} config_bytes=${bytes} shard_records=${('rrsets' in shards[1] ? shards[1].rrsets.length : 0) + shards[1].reverse.length}`);
console.log(`reload: full_load_ms=${loadMs.toFixed(1)} cpu_ms=${loadCpu.toFixed(1)} rss_mb=${(rssAfter / 1048576).toFixed(1)} (before load ${(rssBefore / 1048576).toFixed(1)})`);
console.log(`reload: one_shard_ms p50=${pick(0.5)} p99=${pick(0.99)} max=${times[times.length - 1].toFixed(2)}; cpu p50=${pick(0.5, cpuTimes)} p99=${pick(0.99, cpuTimes)} (n=${times.length}, under dnsperf -Q ${RATE})`);
console.log(`reload: dnsperf sent=${num(/Queries sent:\s+(\d+)/)} lost=${num(/Queries lost:\s+(\d+)/)} qps=${num(/Queries per second:\s+([\d.]+)/)}`);
