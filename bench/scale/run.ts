// The scale bench (bench/scale.sh): compile a synthetic cluster of 10,000 Services / 100,000
// endpoints + 1,000 StaticHosts; time the full compile and a recompile after one Service and
// one endpoint change; peak memory; shard sizes. Then the DNS server in a child process: full
// load time, resident memory serving it, one changed shard's load time, and lost queries.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { createCompiler } from '../../operator/compile/index.js';
import { DEFAULT_SYNTH, sliceObject, svcObject, synthCluster } from './synth.js';

// compile() reads no clock: it names each phase as it ends, and the bench times them.
let phaseMarks: [string, number][] = [];
const onPhase = (name: string) => phaseMarks.push([name, performance.now()]);
const opts = { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns', onPhase };
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const mib = (b: number) => (b / 1048576).toFixed(1) + ' MiB';
let peakRss = 0;
const sample = () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); };
const sampler = setInterval(sample, 5);

const snap = synthCluster();
const endpoints = snap.endpointSlices.reduce((n, s) => n + (s as { endpoints: unknown[] }).endpoints.length, 0);
console.log(`synthetic cluster: ${snap.services.length} Services, ${snap.endpointSlices.length} EndpointSlices, ${endpoints} endpoints, ${snap.staticHosts.length} StaticHosts, ${snap.namespaces.length} namespaces`);

const fulls: number[] = [];
let compiler = createCompiler(opts);
let result = compiler.compile(snap);
for (let i = 0; i < 3; i++) {
  compiler = createCompiler(opts);
  const t0 = process.hrtime.bigint();
  result = compiler.compile(snap);
  fulls.push(ms(t0));
  sample();
}
console.log(`full compile (fresh compiler): ${fulls.map((x) => x.toFixed(0)).join(' / ')} ms (target < 1000 ms)`);

// One Service changes (its cluster IP), then one endpoint (an address in one slice); each
// BENCH_RECOMPILES (60) times in a row (a new object with a new resourceVersion each time, as an
// informer gives; the slice's addresses cycle through ten offsets, so they never reach the next
// headless Service's and make a PTR conflict that is not part of this figure).
const svcIdx = 4243; // a ClusterIP Service (4243 % 3 != 0)
const sliceIdx = 4242; // a headless Service's slice (4242 % 3 == 0)
const changed = (a: typeof result, b: typeof result) => { const h = new Map(a.bundle.shards.map((s) => [s.id, s.hash])); return b.bundle.shards.filter((s) => h.get(s.id) !== s.hash).map((s) => s.id); };
const stats = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return `min ${v[0].toFixed(1)} / median ${v[Math.floor(v.length / 2)].toFixed(1)} / p90 ${v[Math.ceil(v.length * 0.9) - 1].toFixed(1)} / max ${v[v.length - 1].toFixed(1)} ms (n=${v.length})`; };
const RECOMPILES = Number(process.env.BENCH_RECOMPILES ?? 60);
// Per recompile also its CPU time (the process's, every thread: GC and JIT helpers too; on a
// shared machine wall time also counts the time other processes held the cores) and the GC
// pauses that fell inside it (a young-generation scavenge every few recompiles, its frequency
// set by what a recompile allocates: operator/compile/README.md "Recompile").
const gcs: [number, number][] = [];
const gcObserver = new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push([e.startTime, e.duration]); });
gcObserver.observe({ entryTypes: ['gc'] });
const windows: { label: string; t0: number; t1: number }[] = [];
const svcCpu: number[] = [];
const epCpu: number[] = [];
let cur = snap;
let prev = result;
const svcTimes: number[] = [];
const epTimes: number[] = [];
let svcChanged: string[] = [];
let epChanged: string[] = [];
let r1 = result, r2 = result;
let svcPhases = '', epPhases = '';
/** Runs one compile, returning its phases' milliseconds as "parse 1.2, domains 0.0, ...". */
const timedCompile = (s: typeof snap, label: string, cpu: number[]): [typeof result, string] => {
  const c0 = process.cpuUsage();
  phaseMarks = [['', performance.now()]];
  const r = compiler.compile(s);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  windows.push({ label, t0: phaseMarks[0][1], t1: performance.now() });
  return [r, phaseMarks.slice(1).map(([n, t], i) => `${n} ${(t - phaseMarks[i][1]).toFixed(1)}`).join(', ')];
};
for (let k = 0; k < RECOMPILES; k++) {
  const s1 = { ...cur, services: [...cur.services] };
  s1.services[svcIdx] = svcObject(svcIdx % DEFAULT_SYNTH.namespaces, svcIdx, `10.99.${k >> 8 & 255}.${(k & 255) + 1}`, false);
  let t0 = process.hrtime.bigint();
  [r1, svcPhases] = timedCompile(s1, 'svc', svcCpu);
  svcTimes.push(ms(t0));
  svcChanged = changed(prev, r1);
  const s2 = { ...s1, endpointSlices: [...s1.endpointSlices] };
  s2.endpointSlices[sliceIdx] = sliceObject(sliceIdx % DEFAULT_SYNTH.namespaces, sliceIdx, DEFAULT_SYNTH.endpointsPerService, sliceIdx, (k % 10) + 1);
  t0 = process.hrtime.bigint();
  [r2, epPhases] = timedCompile(s2, 'ep', epCpu);
  epTimes.push(ms(t0));
  epChanged = changed(r1, r2);
  cur = s2;
  prev = r2;
  sample();
}
await new Promise((r) => setTimeout(r, 50)); // the GC entries are delivered asynchronously
gcObserver.disconnect();
/** The GC pauses inside the recompiles of one label: how many recompiles had one, and their lengths. */
const gcIn = (label: string) => {
  const ws = windows.filter((w) => w.label === label);
  const hit = ws.map((w) => gcs.filter(([t, d]) => t < w.t1 && t + d > w.t0).reduce((a, [, d]) => a + d, 0)).filter((x) => x > 0);
  return `${hit.length} of ${ws.length} recompiles had a GC pause in them${hit.length ? ` (${hit.sort((a, b) => a - b).map((x) => x.toFixed(1)).join(', ')} ms)` : ''}`;
};
// The first changes after the cold compiles also pay for their JIT compilation and for the
// collection of the cold compiles' garbage on the other threads: told apart after WARM changes.
const WARM = 10;
const steady = (wall: number[], cpu: number[]) => (wall.length > WARM + 1 ? `\n  after the first ${WARM} changes: wall ${stats(wall.slice(WARM))}; CPU ${stats(cpu.slice(WARM))}` : '');
console.log(`recompile after one Service change: ${stats(svcTimes)}; shards changed: ${svcChanged.join(', ')} (target < 10 ms, issue 14)`);
console.log(`  CPU time (all threads): ${stats(svcCpu)}; ${gcIn('svc')}${steady(svcTimes, svcCpu)}`);
console.log(`  phases of the last one: ${svcPhases}`);
console.log(`recompile after one endpoint change: ${stats(epTimes)}; shards changed: ${epChanged.join(', ')} (target < 10 ms, issue 14)`);
console.log(`  CPU time (all threads): ${stats(epCpu)}; ${gcIn('ep')}${steady(epTimes, epCpu)}`);
console.log(`  phases of the last one: ${epPhases}`);
sample();
clearInterval(sampler);
console.log(`compiler peak RSS: ${mib(peakRss)}, heap used now: ${mib(process.memoryUsage().heapUsed)}`);

const sizes = result.bundle.shards.map((s) => { const j = JSON.stringify(s); return { id: s.id, raw: Buffer.byteLength(j), gz: gzipSync(j).length }; });
sizes.sort((a, b) => b.raw - a.raw);
const total = sizes.reduce((a, s) => ({ raw: a.raw + s.raw, gz: a.gz + s.gz }), { raw: 0, gz: 0 });
console.log(`shards: ${sizes.length}; largest ${sizes[0].id} ${(sizes[0].raw / 1024).toFixed(0)} KiB raw / ${(sizes[0].gz / 1024).toFixed(0)} KiB gzip (limit 1024 KiB); total ${mib(total.raw)} raw / ${mib(total.gz)} gzip; over 1 MiB: ${sizes.filter((s) => s.raw > 1048576).length}`);

// The DNS server in its own process, so its RSS is its own.
const dir = mkdtempSync(join(tmpdir(), 'splitdns-scale-'));
try {
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(result.bundle));
  const changedShard = r2.bundle.shards.find((s) => s.id === epChanged[0])!;
  writeFileSync(join(dir, 'changed.json'), JSON.stringify(changedShard));
  const child = fileURLToPath(new URL('./server-child.js', import.meta.url));
  // SCALE_BASE: another build's dist/ (main's, say), whose DNS server runs interleaved with this
  // one's on the same bundle, SCALE_REPS times (default 3; 1 without a base): a side-by-side
  // comparison in one run. Each load in a fresh process: a full load is a cold start.
  const builds: [string, string[]][] = [['this build', []], ...(process.env.SCALE_BASE ? [['base ' + process.env.SCALE_BASE, [process.env.SCALE_BASE]] as [string, string[]]] : [])];
  const reps = Number(process.env.SCALE_REPS ?? (builds.length > 1 ? 3 : 1));
  console.log('dns server full load: from the call that starts it to its return with every shard\'s tables built and published (objects: applyBundle of the bundle parsed beforehand, the parse not counted; ConfigMaps: from the decode of the first ConfigMap, base64 + gunzip + JSON.parse as the ConfigMap source does, to applyShards\' return); the collection after a large load (ADR 0018) runs later and is not counted. Each load the first of a fresh process.');
  const results = new Map<string, { full: number; fullCpu: number; decodeMs: number; rss?: number; rssGc?: number }[]>();
  for (let r = 0; r < reps; r++) {
    for (const [label, dist] of builds) {
      for (const form of ['bundle', 'configmap']) {
        const raw = execFileSync(process.execPath, ['--expose-gc', child, join(dir, 'bundle.json'), join(dir, 'changed.json'), form, ...dist], { encoding: 'utf8', timeout: 120000 });
        const key = `${label}|${form}`;
        for (const m of raw.matchAll(/^SCALE_RESULT (.*)$/gm)) results.set(key, [...(results.get(key) ?? []), JSON.parse(m[1])]);
        const out = raw.replace(/^SCALE_RESULT .*\n/gm, '');
        process.stdout.write(builds.length > 1 || reps > 1 ? out.replace(/^/gm, `[${label}, run ${r + 1}] `).replace(/\[[^\]]*\] $/, '') : out);
      }
    }
  }
  // The full loads side by side: every run's wall time, then the median (target < 300 ms, issue 14).
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const list = (xs: number[]) => `${xs.map((x) => x.toFixed(0)).join(' / ')} ms (median ${med(xs).toFixed(0)})`;
  console.log(`dns server full load, ${reps} run(s) each, wall (CPU): target < 300 ms`);
  for (const [key, rs] of results) {
    const [label, form] = key.split('|');
    const rss = rs[0].rss !== undefined ? `; RSS serving it ${list(rs.map((x) => x.rss! / 1048576)).replace(/ ms/, ' MiB')}` : '';
    const decode = form === 'configmap' ? `; decode ${list(rs.map((x) => x.decodeMs))}` : '';
    console.log(`  ${label}, ${form === 'bundle' ? 'objects' : 'ConfigMaps'}: ${list(rs.map((x) => x.full))} (CPU ${list(rs.map((x) => x.fullCpu))})${decode}${rss}`);
  }
} finally {
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); // KEEP=1 leaves bundle.json for profiling the server
}
