// Where the per-change path allocates (issue 16: about half of the operator's CPU per endpoint
// change is V8's garbage collector). In process, no API server: the scale bench's synthetic
// cluster (bench/scale/synth.ts), compiled once, then BENCH_CHANGES (20) endpoint changes, each
// compiled and its changed shards turned into ConfigMaps as the publisher does (JSON, gzip level
// 1), under V8's sampling heap profiler with the objects the GCs collected kept in the profile:
// so it counts every allocation, short-lived ones included. Prints bytes allocated per change,
// the top functions by bytes allocated (self), and the GCs over the changes.
//   node dist/bench/scale-api/alloc-profile.js [TOP]
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { createCompiler } from '../../operator/compile/index.js';
import { shardConfigMap } from '../../dns-server/config/configmap-form.js';
import { DEFAULT_SYNTH, sliceObject, synthCluster } from '../scale/synth.js';

const CHANGES = Number(process.env.BENCH_CHANGES ?? 20);
const TOP = Number(process.argv[2] ?? 25);
const compiler = createCompiler({ clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' });
let snap = synthCluster();
let prev = compiler.compile(snap);
const change = (k: number) => {
  const sliceIdx = (21 * (k + 1)) % 9999; // headless Services' slices (index % 3 == 0), a different one each time
  const s = { ...snap, endpointSlices: [...snap.endpointSlices] };
  s.endpointSlices[sliceIdx] = sliceObject(sliceIdx % DEFAULT_SYNTH.namespaces, sliceIdx, DEFAULT_SYNTH.endpointsPerService, sliceIdx, (k % 10) + 1);
  snap = s;
  const r = compiler.compile(s);
  const h = new Map(prev.bundle.shards.map((x) => [x.id, x.hash]));
  for (const sh of r.bundle.shards) if (h.get(sh.id) !== sh.hash) shardConfigMap('splitdns', sh, 256 * 1024, JSON.stringify(sh), 1);
  prev = r;
};
for (let k = 0; k < 5; k++) change(1000 + k); // warm-up: the JIT, the compiler's caches

const gcs: { kind: number; ms: number }[] = [];
const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ kind: (e as unknown as { detail: { kind: number } }).detail.kind, ms: e.duration }); });
obs.observe({ entryTypes: ['gc'] });
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
const a0 = (getHeapStatistics() as { total_allocated_bytes?: number }).total_allocated_bytes;
const t0 = performance.now();
for (let k = 0; k < CHANGES; k++) change(k);
const wall = performance.now() - t0;
await new Promise((r) => setImmediate(r)); // the GC observer's entries arrive asynchronously
const a1 = (getHeapStatistics() as { total_allocated_bytes?: number }).total_allocated_bytes;
const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: Node } };
obs.disconnect();
interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }

const self = new Map<string, number>();
let total = 0;
// A builtin's allocations (Map#set, Array#join, a generator's next(), ...: no url) go to the
// nearest caller of ours, named with the builtin.
const walk = (n: Node, caller: string) => {
  const f = n.callFrame;
  const here = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
  const k = f.url === '' && caller !== '' ? `${caller} via ${f.functionName || '(builtin)'}` : here;
  self.set(k, (self.get(k) ?? 0) + n.selfSize);
  total += n.selfSize;
  for (const c of n.children) walk(c, f.url === '' ? caller : here);
};
walk(profile.head, '');
const kb = (b: number) => `${(b / 1024 / CHANGES).toFixed(0)} KiB`;
console.log(`${CHANGES} endpoint changes (compile + changed shards' ConfigMaps), ${(wall / CHANGES).toFixed(1)} ms each; allocated per change: ${a1 !== undefined && a0 !== undefined ? kb(a1 - a0) : 'n/a'} (v8 total_allocated_bytes), ${kb(total)} sampled`);
const kinds: Record<number, string> = { 1: 'major', 2: 'minor', 4: 'incremental', 8: 'weakcb' };
const byKind = new Map<string, { n: number; ms: number }>();
for (const g of gcs) { const k = kinds[g.kind] ?? String(g.kind); const b = byKind.get(k) ?? { n: 0, ms: 0 }; b.n++; b.ms += g.ms; byKind.set(k, b); }
console.log(`GCs over the changes (main-thread pause): ${[...byKind].map(([k, b]) => `${k} ${b.n}× ${b.ms.toFixed(1)} ms`).join(', ') || 'none'}`);
console.log(`top ${TOP} allocating functions (self, per change):`);
for (const [k, b] of [...self].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${kb(b).padStart(9)}  ${(100 * b / total).toFixed(1).padStart(5)}%  ${k}`);
