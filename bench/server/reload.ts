// Reload cost on a large config: a synthetic cluster of SERVICES Services in NAMESPACES
// namespaces (ClusterIP A + SRV + PTR each; every tenth headless with ENDPOINTS endpoint
// addresses and hostnames), served in-process. Prints full-load time, resident memory, and the
// time to apply one changed namespace shard, measured while dnsperf drives queries at a fixed
// rate at the server, and dnsperf's lost count over the whole run.
// Usage: node reload.js [SERVICES=10000] [NAMESPACES=100] [ENDPOINTS=10] [PORT=5460]; env
// BASE_DIST=<another build's dist/> runs that build's DNS server on the same config (a side-by-side
// comparison: run both in turn). CPU figures are the process's (all threads), wall and CPU alike
// printed: on a busy machine the wall time mostly measures the wait for a core.
// The full load is printed for three forms of the same configuration, each the first load of a
// fresh process (as a restarted server's): `compiler`, the bundle as objects as the operator's
// compiler makes them (keys sorted, RRsets sorted; the run that goes on to the reloads; hashed by
// the compiler's own hashShard, which hands the text it wrote to a server in this process, as in
// local mode, so the server hashes that text instead of serialising the shards again: ADR 0024);
// `text`,
// the same bundle's JSON parsed as the file source parses it (the parse timed apart); and
// `handwritten`, the form this bench used to hand over (keys and RRsets in no order: the slow
// path of the hash and of the semantic checks). FORM=<one of them> runs that one alone (with the
// reloads), LOAD_ONLY=1 the load alone; COUNT_BASELINE=1 stops just before the load (a run to
// subtract from a LOAD_ONLY run's instruction count, e.g. under valgrind's callgrind).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { RRSet, Shard, UnhashedShard } from '../../dns-server/config/index.js';
import { hashShard } from '../../operator/compile/rrsets.js';

const from = (p: string) => (process.env.BASE_DIST ? pathToFileURL(path.resolve(process.env.BASE_DIST, p)).href : new URL(`../../${p}`, import.meta.url).href);
const { startDnsServer } = await import(from('dns-server/index.js')) as typeof import('../../dns-server/index.js');
const { parseBundleJson } = await import(from('dns-server/config/hash.js')) as typeof import('../../dns-server/config/hash.js');
const cpuMs = (c0: NodeJS.CpuUsage) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; };

const [SERVICES, NAMESPACES, ENDPOINTS, PORT] = [10000, 100, 10, 5460].map((d, i) => Number(process.argv[2 + i] ?? d));
const ZONE = 'cluster.local.';
const FORMS = ['compiler', 'text', 'handwritten'] as const;
const FORM = (process.env.FORM ?? 'compiler') as typeof FORMS[number];
if (!FORMS.includes(FORM)) throw new Error(`FORM: one of ${FORMS.join(', ')}`);
/** LOAD_ONLY=1: the full load alone (its line), then exit: the other forms' first loads, each in a fresh process. */
const LOAD_ONLY = process.env.LOAD_ONLY === '1';

/**
 * The shard's RRsets as this bench first wrote them by hand: keys { name, type, ttl, data }, the
 * RRsets in the order the loop makes them (form `handwritten`).
 */
function nsRRSets(n: number, version: number): { rrsets: RRSet[]; reverse: RRSet[] } {
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
  return { rrsets, reverse };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** An RRset as the operator's compiler writes it (operator/compile/rrsets.ts toRRSets): keys sorted, data sorted, SRV data's keys sorted. */
const compiled = (rs: RRSet): RRSet => {
  const data = (rs.data as unknown[]).map((d) => (typeof d === 'string' ? d : (({ port, priority, target, weight }) => ({ port, priority, target, weight }))(d as { port: number; priority: number; target: string; weight: number })));
  data.sort((a, b) => cmp(typeof a === 'string' ? a : JSON.stringify(a), typeof b === 'string' ? b : JSON.stringify(b)));
  return { data, name: rs.name, ttl: rs.ttl, type: rs.type } as RRSet;
};
const byNameType = (a: RRSet, b: RRSet) => cmp(a.name, b.name) || cmp(a.type, b.type);

/**
 * Namespace n's shard. FORM `compiler` (the default) and `text`: as the operator's compiler writes
 * it (every object's keys sorted, the hash last; RRsets sorted by name then type); `handwritten`:
 * the RRsets as nsRRSets makes them and the shard's keys in no order (what this bench handed over
 * before: every hash then takes the slow path, config/hash.ts ordered()).
 */
function nsShard(n: number, version: number): Shard {
  const { rrsets, reverse } = nsRRSets(n, version);
  if (FORM === 'handwritten') {
    return withHash({ apiVersion: CONFIG_API_VERSION, kind: 'services', id: `services/ns${n}`, zone: ZONE, namespace: `ns${n}`, rrsets, reverse } as UnhashedShard) as Shard;
  }
  return hashShard({
    apiVersion: CONFIG_API_VERSION, id: `services/ns${n}`, kind: 'services', namespace: `ns${n}`,
    reverse: reverse.map(compiled).sort(byNameType), rrsets: rrsets.map(compiled).sort(byNameType), zone: ZONE,
  } as UnhashedShard) as Shard;
}

const zone = hashShard({
  apiVersion: CONFIG_API_VERSION, clusterDomain: true, id: 'zone/cluster.local', kind: 'zone', origin: ZONE, reverse: [],
  rrsets: [{ data: [['1.1.0']], name: `dns-version.${ZONE}`, ttl: 30, type: 'TXT' }],
  soa: { expire: 86400, minimum: 5, mname: `ns.dns.${ZONE}`, refresh: 7200, retry: 1800, rname: `hostmaster.${ZONE}`, serial: 1, ttl: 30 },
} as UnhashedShard) as Shard;

// The compiler's bundle: shards sorted by id (operator/compile/compiler.ts).
const shards = [zone, ...Array.from({ length: NAMESPACES }, (_, n) => nsShard(n, 0))];
if (FORM !== 'handwritten') shards.sort((a, b) => cmp(a.id, b.id));
const bundle = { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
const bundleText = JSON.stringify(bundle);
const bytes = Buffer.byteLength(bundleText);
const records = shards.reduce((a, s) => a + ('rrsets' in s ? s.rrsets.length : 0) + s.reverse.length, 0);
const nsShard0 = shards.find((s) => s.id === 'services/ns0')!;

if (process.env.DUMP) { fs.writeFileSync(process.env.DUMP, bundleText); process.exit(0); }
const rssBefore = process.memoryUsage().rss;
const server = await startDnsServer({ port: LOAD_ONLY ? 0 : PORT, logger: pino({ level: 'warn' }) });
if (global.gc) global.gc();
// The text form: parsed as the file source parses it (keeping the text for the shards' hash
// check), its parse timed apart; the load is applyBundle's, as for the other forms.
let parseMs = 0, parseCpu = 0;
let input: unknown = bundle;
if (FORM === 'text') {
  const p0 = process.cpuUsage();
  const pt = performance.now();
  input = parseBundleJson(bundleText);
  parseMs = performance.now() - pt;
  parseCpu = cpuMs(p0);
  if (global.gc) global.gc();
}
// COUNT_BASELINE=1: everything but the load (for instruction counts: a run with the load less one without it).
if (process.env.COUNT_BASELINE === '1') { await server.close(); process.exit(0); }
const c0 = process.cpuUsage();
const t0 = performance.now();
const r = server.applyBundle(input);
const loadMs = performance.now() - t0;
const loadCpu = cpuMs(c0);
input = undefined;
if (r.refused.length) throw new Error(JSON.stringify(r.refused));
const parsed = FORM === 'text' ? ` (parse before it ${parseMs.toFixed(1)} ms, cpu ${parseCpu.toFixed(1)} ms)` : '';
const loadLine = `reload: full_load_ms=${loadMs.toFixed(1)} cpu_ms=${loadCpu.toFixed(1)} form=${FORM}${parsed}`;
if (LOAD_ONLY) { console.log(loadLine); await server.close(); process.exit(0); }
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
console.log(`reload: services=${SERVICES} namespaces=${NAMESPACES} records=${records} config_bytes=${bytes} shard_records=${('rrsets' in nsShard0 ? nsShard0.rrsets.length : 0) + nsShard0.reverse.length}`);
console.log(`${loadLine} rss_mb=${(rssAfter / 1048576).toFixed(1)} (before load ${(rssBefore / 1048576).toFixed(1)})`);
console.log(`reload: one_shard_ms p50=${pick(0.5)} p99=${pick(0.99)} max=${times[times.length - 1].toFixed(2)}; cpu p50=${pick(0.5, cpuTimes)} p99=${pick(0.99, cpuTimes)} (n=${times.length}, under dnsperf -Q ${RATE})`);
console.log(`reload: dnsperf sent=${num(/Queries sent:\s+(\d+)/)} lost=${num(/Queries lost:\s+(\d+)/)} qps=${num(/Queries per second:\s+([\d.]+)/)}`);
// The other forms' first loads, each in a fresh process of its own (a full load is a cold start).
if (process.env.FORM === undefined) {
  for (const form of FORMS.filter((f) => f !== FORM)) {
    const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { env: { ...process.env, FORM: form, LOAD_ONLY: '1' }, encoding: 'utf8' });
    process.stdout.write(out);
  }
}
