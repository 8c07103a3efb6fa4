// Deopts of the compiler on the operator's path, without an API server (issue 16; operator/compile/
// README.md "Shapes"): the scale-api bench's objects (bench/scale-api/run.ts: 100 namespaces,
// Services 1 in 10 headless, one 10-endpoint slice each, StaticHosts in the operator's namespace),
// JSON-parsed and stripped as the informers strip them (operator/controller/strip.ts), compiled by
// one compiler as steps, then endpoint changes (one headless Service's slice replaced each time),
// each compiled. A child process runs them under `node --trace-deopt`; this one counts the deopts
// in the cold compile, the first 20 changes and the rest, and prints the mean recompile time.
//   npm run build:bench && node dist/bench/scale/recompile-deopts.js [ROOT...]
// With --slices first: no --trace-deopt; the same compiles, each cold compile (a fresh compiler,
// as on a restart) and each change run as steps, timed step by step: the longest step (by the
// phase it is in; CPU time too, the process's, which a busy machine's preemption does not
// lengthen) and the slices runSliced (operator/controller/slices.ts) makes of them.
// ROOT: other built checkouts (their dist/) to run the same way, interleaved with this one,
// BENCH_REPS times (1). Env: BENCH_SERVICES (10000), BENCH_STATICHOSTS (1000), BENCH_CHANGES (60).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { loadavg } from 'node:os';

const N = Number(process.env.BENCH_SERVICES ?? 10000), SH = Number(process.env.BENCH_STATICHOSTS ?? 1000), CHANGES = Number(process.env.BENCH_CHANGES ?? 60);
const NAMESPACES = 100, EP = 10;

async function child(root: string, slices: boolean): Promise<void> {
  const { createCompiler } = await import(`${root}/dist/operator/compile/index.js`);
  const { runSliced } = await import(`${root}/dist/operator/controller/slices.js`);
  // Runs steps to the end; with `slices`, times each step (the phase it ended in, told by onPhase after it) and prints the longest, then runs them as runSliced does.
  let phase = '';
  const finish = async (steps: Generator<void, unknown, void>) => {
    if (!slices) { for (;;) if (steps.next().done) return; }
    let n = 0;
    const sliceMs: number[] = [], cpu: number[] = [];
    const top: [number, string][] = [];
    const timed = (function* () {
      for (;;) {
        const c0 = process.cpuUsage(), t0 = performance.now(), before = phase, r = steps.next(), ms = performance.now() - t0, c = process.cpuUsage(c0);
        n++;
        cpu.push((c.user + c.system) / 1000);
        top.push([ms, before === phase ? `after ${before || 'start'}` : phase]);
        if (r.done) return r.value;
        yield;
      }
    })();
    await runSliced(timed, { onSlice: (ms: number) => { sliceMs.push(ms); } });
    const q = (xs: number[], f: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * f))]!.toFixed(1);
    const by = new Map<string, number[]>();
    for (const [ms, where] of top) by.set(where, [...(by.get(where) ?? []), ms]);
    const longest = [...by].map(([where, l]) => [where, Math.max(...l), l.length] as const).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([where, ms, k]) => `${where} ${ms.toFixed(1)} (${k})`).join(', ');
    console.log(`=== steps ${n} (wall p99 ${q(top.map(([ms]) => ms), 0.99)} ms; CPU p99 ${q(cpu, 0.99)}, longest ${q(cpu, 1)} ms), longest wall by phase ${longest}; slices ${sliceMs.length}: p99 ${q(sliceMs, 0.99)}, longest ${q(sliceMs, 1)} ms, ${sliceMs.filter((x) => x > 50).length} over 50 ms`);
  };
  const strip = await import(`${root}/dist/operator/controller/strip.js`);
  let rv = 1000;
  const j = (o: object) => JSON.parse(JSON.stringify(o));
  const md = (name: string, namespace: string | undefined, extra: Record<string, unknown> = {}) =>
    ({ name, ...(namespace ? { namespace } : {}), uid: `uid-${namespace}-${name}`, resourceVersion: String(++rv), creationTimestamp: '2026-11-27T20:00:00Z', managedFields: [{ manager: 'x' }], ...extra });
  const nss = Array.from({ length: NAMESPACES }, (_, i) => `scale-${i}`);
  const svcs = Array.from({ length: N }, (_, i) => ({ ns: nss[i % NAMESPACES]!, name: `svc-${Math.floor(i / NAMESPACES)}`, i, headless: i % 10 === 0 }));
  const epIp = (i: number, k: number) => { const n = i * EP + k; return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`; };
  type S = typeof svcs[0];
  const ip = (s: S) => `10.96.${s.i >> 8}.${s.i & 255}`;
  const svcObj = (s: S) => j({ apiVersion: 'v1', kind: 'Service', metadata: md(s.name, s.ns, { labels: { app: s.name }, annotations: { 'example.com/team': 'bench' } }),
    spec: { type: 'ClusterIP', ...(s.headless ? { clusterIP: 'None', clusterIPs: ['None'] } : { clusterIP: ip(s), clusterIPs: [ip(s)] }), selector: { app: s.name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }, status: { loadBalancer: {} } });
  const sliceObj = (s: S, first?: string) => j({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: md(`${s.name}-a`, s.ns, { labels: { 'kubernetes.io/service-name': s.name }, generation: 1 }), addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: EP }, (_, k) => ({ addresses: [k === 0 && first ? first : epIp(s.i, k)], conditions: { ready: true, serving: true, terminating: false }, nodeName: `node-${k}`, targetRef: { kind: 'Pod', name: `${s.name}-${k}`, namespace: s.ns } })) });
  const namespaces = ['splitdns-scale', ...nss].map((n) => strip.stripNamespace(j({ apiVersion: 'v1', kind: 'Namespace', metadata: md(n, undefined, { labels: { 'kubernetes.io/metadata.name': n } }) })));
  const services = svcs.map((s) => strip.stripService(svcObj(s)));
  let endpointSlices = svcs.map((s) => strip.stripEndpointSlice(sliceObj(s)));
  const staticHosts = Array.from({ length: SH }, (_, i) => strip.stripCustomResource(j({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: md(`h-${i}`, 'splitdns-scale', { generation: 1 }),
    spec: { hostnames: [`h-${i}.static.example`], addresses: [`10.250.${Math.floor(i / 250)}.${(i % 250) + 1}`] } })));
  // As the controller makes it: one literal per reconcile.
  const snapshot = () => ({ zones: [], forwarders: [], staticHosts, services, endpointSlices, namespaces });
  const opts = { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns-scale', onPhase: (p: string) => { phase = p; } };
  let compiler = createCompiler(opts);
  let t = performance.now();
  await finish(compiler.steps(snapshot()));
  if (slices) for (let k = 0; k < 3; k++) { compiler = createCompiler(opts); await finish(compiler.steps(snapshot())); } // restarts: warm code, cold compiler
  console.log(`=== cold ${(performance.now() - t).toFixed(1)}`);
  const headless = svcs.filter((s) => s.headless);
  for (let k = 0; k < CHANGES; k++) {
    const s = headless[k % headless.length]!;
    endpointSlices = endpointSlices.slice();
    endpointSlices[s.i] = strip.stripEndpointSlice(sliceObj(s, `10.251.${k >> 8}.${(k & 255) + 1}`));
    console.log(`=== change ${k}`);
    t = performance.now();
    await finish(compiler.steps(snapshot()));
    console.log(`=== took ${(performance.now() - t).toFixed(2)}`);
  }
}

function measure(root: string): string {
  const r = spawnSync(process.execPath, ['--trace-deopt', fileURLToPath(import.meta.url), '--child', root], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  let phase = -1, change = -1;
  const deopts = [0, 0, 0], took: number[] = [];
  let cold = 0;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('[bailout (kind')) deopts[phase < 0 ? 0 : phase]++;
    else if (line.startsWith('=== cold ')) { cold = Number(line.slice(9)); phase = 1; }
    else if (line.startsWith('=== change ')) { change = Number(line.slice(11)); phase = change < 20 ? 1 : 2; }
    else if (line.startsWith('=== took ')) took.push(Number(line.slice(9)));
  }
  const mean = (xs: number[]) => (xs.length ? (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1) : '-');
  return `deopts: cold compile ${deopts[0]}, first 20 changes ${deopts[1]}, next ${Math.max(0, took.length - 20)} ${deopts[2]}; cold compile ${cold.toFixed(0)} ms (traced), recompile mean ${mean(took.slice(0, 20))} ms (first 20), ${mean(took.slice(20))} ms (rest)`;
}

if (process.argv[2] === '--child') await child(process.argv[3]!, false);
else if (process.argv[2] === '--slices-child') await child(process.argv[3]!, true);
else if (process.argv[2] === '--slices') {
  const here = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
  for (let rep = 0; rep < Number(process.env.BENCH_REPS ?? 1); rep++) {
    for (const root of [here, ...process.argv.slice(3).map((p) => resolve(p))]) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--slices-child', root], { encoding: 'utf8', maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
      console.log(`${root === here ? 'this checkout' : root} (load ${loadavg()[0]!.toFixed(1)}):\n${r.stdout.split('\n').filter((l) => l.startsWith('=== steps')).join('\n')}`);
    }
  }
} else {
  const here = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
  const roots = [here, ...process.argv.slice(2).map((p) => resolve(p))];
  console.log(`${N} Services, ${SH} StaticHosts, ${CHANGES} endpoint changes; --trace-deopt`);
  for (let rep = 0; rep < Number(process.env.BENCH_REPS ?? 1); rep++) {
    for (const root of roots) console.log(`${root === here ? 'this checkout' : root}: ${measure(root)}`);
  }
}
