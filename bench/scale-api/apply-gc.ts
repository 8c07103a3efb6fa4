// Experiment (not a bench yet): the DNS server's applyShards of one changed Services shard at
import v8 from 'node:v8';
// 10,000 Services, with its GC pauses, in this process as dns-child runs it.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import pino from 'pino';
import { holdYoungGeneration } from '../../dns-server/heap.js';
import { startDnsServer } from '../../dns-server/server.js';
import { createCompiler, shardJson } from '../../operator/compile/index.js';
import { parseShardJson } from '../../dns-server/config/hash.js';
import { DEFAULT_SYNTH, sliceObject, synthCluster } from '../scale/synth.js';

if (process.env.HOLD !== '0') holdYoungGeneration();
const gcs: { start: number; ms: number; kind: number }[] = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ start: e.startTime, ms: e.duration, kind: (e as any).detail?.kind }); }).observe({ entryTypes: ['gc'] });
const server = await startDnsServer({ port: 0, httpPort: 0, logger: pino({ level: 'silent' }), lameDuckMs: 0 });
const snap = synthCluster();
const compiler = createCompiler({ clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' });
let r = compiler.compile(snap);
server.applyShards(r.bundle.shards.map((s) => parseShardJson(shardJson(s))), []);
const N = Number(process.env.N ?? 60);
const times: number[] = [], gcms: number[] = [], spans: [number, number][] = [];
let cur = snap;
for (let k = 0; k < N; k++) {
  const idx = (k * 3 * 7) % 9999; // headless (every 3rd)
  const s2 = { ...cur, endpointSlices: [...cur.endpointSlices] };
  s2.endpointSlices[idx] = sliceObject(idx % DEFAULT_SYNTH.namespaces, idx, 10, idx, (k % 10) + 1);
  cur = s2;
  const prev = new Map(r.bundle.shards.map((s) => [s.id, s.hash]));
  r = compiler.compile(s2);
  const texts = r.bundle.shards.filter((s) => prev.get(s.id) !== s.hash).map((s) => shardJson(s));
  await new Promise((res) => setTimeout(res, 100));
  const t0 = performance.now();
  server.applyShards(texts.map((t) => parseShardJson(t)), []);
  const t1 = performance.now();
  await new Promise((res) => setImmediate(res));
  times.push(t1 - t0);
  spans.push([t0, t1]);
  if (k === 0) console.log(`shard JSON ${texts.map((t) => t.length)} bytes`);
}
await new Promise((res) => setTimeout(res, 200));
for (const [a, b] of spans) gcms.push(gcs.filter((g) => g.start >= a && g.start < b).reduce((x, g) => x + g.ms, 0));
const s = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return `median ${v[Math.floor(v.length / 2)]!.toFixed(1)} p90 ${v[Math.ceil(v.length * 0.9) - 1]!.toFixed(1)} max ${v.at(-1)!.toFixed(1)}`; };
console.log(`HOLD=${process.env.HOLD ?? 1} flags=${process.execArgv.join(' ')}: apply ${s(times)} ms; GC inside apply ${s(gcms)} ms; GCs by kind over the run: ${JSON.stringify(gcs.reduce((m: Record<string, number>, g) => { m[g.kind] = (m[g.kind] ?? 0) + 1; return m; }, {}))} (1 minor, 2 major, 4 incremental, 8 weakcb)`);
console.log(`  rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB, new space ${(v8.getHeapSpaceStatistics().find((x) => x.space_name === "new_space")!.space_size / 1048576).toFixed(1)} MiB`);
await server.close();
process.exit(0);
