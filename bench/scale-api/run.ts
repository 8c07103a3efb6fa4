// Scale bench against a real kube-apiserver (test/envtest), issue 16. Loads 100 namespaces,
// 10,000 Services (1 in 10 headless), one EndpointSlice each with 10 endpoints (100,000), and
// 1,000 StaticHosts, with bounded concurrency; then runs ONE operator as its own process
// (`splitdns operator`, as its ServiceAccount) and one DNS server (its own process, dns-child.ts, or this one with
// BENCH_DNS_IN_PROCESS=1; ConfigMap source,
// a replica Pod), and prints the issue's figures:
//   operator peak RSS (VmHWM from /proc), the longest unanswered /healthz (polled every 100 ms),
//   start → first shard ConfigMap / first DNS answer, start → all StaticHosts Programmed,
//   a restart with nothing changed (writes from the audit log; any Programmed flip),
//   operator CPU per endpoint change (/proc utime+stime around N changes), endpoint change →
//   answered p50/p99. Prints figures; never fails on one.
// BENCH_OPERATOR_NODE_ARGS: node flags of the operator processes only, space-separated (e.g.
// `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses: each operator writes its
// profile when SIGTERM ends it).
// Every operator gets the environment its checkout's Deployment (config/base/operator-deployment.yaml)
// sets (NODE_OPTIONS, MALLOC_ARENA_MAX), as the Deployment starts it. BENCH_COMPARE_NODE_ARGS="A|B|...":
// more operators of this checkout in the compare rounds, each with those node flags (and its
// NAME=value words as environment) instead of the Deployment's (heap settings).
// BENCH_OPERATOR_MEMORY=1: mem-probe.ts preloaded, the memory split at each peak printed. BENCH_OPERATOR_TRACE_GC=1: the operators run with --trace-gc and
// each series prints their GCs (count and main-thread pause by kind). BENCH_COLD_SERIES (1): series
// of changes on the cold-started operator before its restart.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { startDnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import { configMapName } from '../../dns-server/config/configmap-form.js';
import { Envtest, etcdVersion } from '../../test/envtest/apiserver.js';
import type { AuditEvent } from '../../test/envtest/apiserver.js';
import { findAssets, ROOT } from '../../test/envtest/assets.js';
import { createNamespace, kubeConfigFor } from '../../test/envtest/kube.js';
import { createReplicaPod, DNS_SA, installInto, OPERATOR_SA } from '../../test/envtest/splitdns.js';
import { createProber, until } from '../lib/probe.js';
import type { MemSample } from './mem-probe.js';

const NAMESPACES = 100;
const SERVICES = Number(process.env.BENCH_SERVICES ?? 10000);
const ENDPOINTS_PER_SLICE = 10;
const STATIC_HOSTS = Number(process.env.BENCH_STATICHOSTS ?? 1000);
// 100 by default: the p99 of n changes is the slowest one below n = 100 (pct: the ceil(0.99 n)-th),
// so a smaller series reports its maximum as its p99.
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const NS = 'splitdns-scale';
/** A port free on 127.0.0.1 for TCP and UDP alike, not in `taken`: several benches on one machine must not share fixed ones. */
async function freePort(taken: number[]): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => { udp.once('error', () => r(false)); udp.bind(port, '127.0.0.1', () => r(true)); });
    await new Promise((r) => tcp.close(r));
    if (ok) await new Promise<void>((r) => udp.close(() => r()));
    if (ok && !taken.includes(port)) return port;
  }
}
const DNS_PORT = await freePort([]), DNS_HTTP = await freePort([DNS_PORT]), OP_HTTP = await freePort([DNS_PORT, DNS_HTTP]);
const log = pino({ level: 'warn' });
const NODE_ARGS = (process.env.BENCH_OPERATOR_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const VARIANTS = (process.env.BENCH_COMPARE_NODE_ARGS ?? '').split('|').map((v) => v.trim()).filter((v) => v !== '');
const TRACE_GC = process.env.BENCH_OPERATOR_TRACE_GC === '1';
/**
 * BENCH_OPERATOR_TRACE=1: the operators log at debug and each of their runs' 'reconciled' line
 * (first seen → started → compiled → written, wall ms) is kept: the path of each slow change then
 * splits the operator's step (watch delivery, debounce wait, compile, publish).
 */
const TRACE_OP = process.env.BENCH_OPERATOR_TRACE === '1';
/** One run of an operator's reconcile loop (its 'reconciled' debug line), wall ms. */
interface Run { seenAt: number; startedAt: number; compiledAt: number; publishedAt: number; written: string[] }
const opRuns: Run[] = [];
/** BENCH_OPERATOR_STDOUT=DIR: each operator's stdout (e.g. --trace-deopt's lines) to DIR/<name>.out. */
const STDOUT_DIR = process.env.BENCH_OPERATOR_STDOUT;
/** BENCH_OPERATOR_HEAP_SNAPSHOT=DIR: the cold-started operator writes a heap snapshot into DIR when its write queue is empty (its peak), via --heapsnapshot-signal. */
const SNAPSHOT_DIR = process.env.BENCH_OPERATOR_HEAP_SNAPSHOT;
/**
 * BENCH_OPERATOR_MEMORY=1: every operator runs with mem-probe.js preloaded, which keeps its
 * memory split at its highest resident size; the bench prints it beside each VmHWM figure.
 */
const MEMORY = process.env.BENCH_OPERATOR_MEMORY === '1';
const memFiles = new Map<ChildProcess, string>();
/** What the operator's highest RSS sample (mem-probe.ts, 100 ms) was made of: '' without BENCH_OPERATOR_MEMORY. */
function memSplit(child: ChildProcess): string {
  const file = memFiles.get(child);
  let m: MemSample;
  try { m = JSON.parse(readFileSync(file ?? '', 'utf8')) as MemSample; } catch { return ''; }
  const f = (x: number) => x.toFixed(0);
  const spaces = Object.entries(m.spaces).filter(([, [c]]) => c >= 0.5).map(([k, [c, u]]) => `${k} ${f(c)}/${f(u)}`).join(', ');
  return `\n  its highest RSS sample (mem-probe, at ${(m.at / 1000).toFixed(1)} s): RSS ${f(m.rss)} MiB = V8 heap ${f(m.heapTotal)} committed (${f(m.heapUsed)} used; by space committed/used: ${spaces}) + ${f(m.rss - m.heapTotal)} outside the heap (external ${f(m.external)}, of it array buffers ${f(m.arrayBuffers)}; the rest: the binary's code and data, malloc, thread stacks)`;
}
const SH = `/apis/splitdns.io/v1alpha1/namespaces/${NS}/statichosts`;

const prober = createProber(300);
const queryA = (name: string) => prober.queryA(DNS_PORT, name);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Runs `fn` over `items`, `width` at a time. */
async function pool<T>(items: T[], width: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (i < items.length) await fn(items[i++]!); }));
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const fmt = (xs: number[]) => xs.length ? `p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length})` : 'no samples';
const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

function procStatus(pid: number, key: string): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}
/** Wall-clock milliseconds (the audit log's clock), from the monotonic clock. */
const wallMs = () => performance.timeOrigin + performance.now();
const COMPARE = process.env.BENCH_COMPARE;

/**
 * The environment a checkout's Deployment gives the operator container: its entries with a
 * literal value (NODE_OPTIONS, MALLOC_ARENA_MAX, ...; not those from the downward API), with
 * NODE_OPTIONS always present ('' when not set).
 */
function deploymentEnv(root: string): Record<string, string> {
  let doc: any;
  try { doc = parseYaml(readFileSync(join(root, 'config/base/operator-deployment.yaml'), 'utf8')); } catch { return { NODE_OPTIONS: '' }; }
  const c = (doc?.spec?.template?.spec?.containers ?? []).find((x: any) => x.name === 'operator');
  const env: Record<string, string> = { NODE_OPTIONS: '' };
  for (const e of c?.env ?? []) if (typeof e?.value === 'string') env[e.name] = e.value;
  return env;
}
/** A variant of BENCH_COMPARE_NODE_ARGS: `NAME=value` words are its environment (NODE_OPTIONS '' unless given), the rest node flags. */
function variantOf(v: string): { env: Record<string, string>; args: string[] } {
  const words = v.split(' ').filter((a) => a !== '');
  const env: Record<string, string> = { NODE_OPTIONS: '' };
  for (const w of words.filter((x) => /^[A-Z_][A-Z0-9_]*=/.test(x))) env[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  return { env, args: words.filter((x) => !/^[A-Z_][A-Z0-9_]*=/.test(x)) };
}

/** One GC of an operator, from --trace-gc: when (bench ms), kind, main-thread pause ms. */
interface Gc { at: number; kind: string; ms: number }
const opGcs = new Map<ChildProcess, Gc[]>();
/** The GCs of an operator between two bench times, by kind: count and main-thread pause. */
function gcSummary(child: ChildProcess, from: number, to: number): string {
  const by = new Map<string, { n: number; ms: number }>();
  for (const g of opGcs.get(child) ?? []) {
    if (g.at < from || g.at >= to) continue;
    const b = by.get(g.kind) ?? { n: 0, ms: 0 };
    b.n++; b.ms += g.ms; by.set(g.kind, b);
  }
  return by.size === 0 ? 'none' : [...by].map(([k, b]) => `${k} ${b.n}× ${b.ms.toFixed(1)} ms`).join(', ');
}

/** One applyShards() call of the DNS server's ConfigMap source: the shards, when it began and ended (wall ms). */
interface Applied { ids: string[]; start: number; end: number }

/**
 * Where the time of each endpoint change went, from the audit log (the apiserver's clock is
 * this machine's) and the DNS server's applyShards() calls: bench sends the PATCH → apiserver
 * received it → apiserver answered → operator's PUT of the namespace's shard received (watch
 * delivery, debounce, compile, serialise, gzip) → PUT answered → DNS server's source calls
 * applyShards (watch delivery, gunzip, JSON.parse) → applyShards returns (validation, tables,
 * swap) → the bench's query answered (polled every 2 ms). Prints the median of each step and
 * the steps of the slowest change.
 */
function printPath(sent: { s: { ns: string; name: string }; at: number; answered?: number }[], audit: AuditEvent[], applied: Applied[]): void {
  const t = (x: string | undefined) => (x ? Date.parse(x) + Number((x.match(/\.\d{3}(\d*)Z$/)?.[1] ?? '').padEnd(3, '0').slice(0, 3)) / 1000 : NaN);
  type A = AuditEvent & { requestReceivedTimestamp?: string; stageTimestamp?: string };
  const rows: number[][] = [];
  for (const c of sent) {
    if (c.answered === undefined) continue;
    const patch = (audit as A[]).find((e) => e.verb === 'patch' && e.objectRef?.resource === 'endpointslices' && e.objectRef.namespace === c.s.ns && e.objectRef.name === `${c.s.name}-a` && t(e.requestReceivedTimestamp) >= c.at - 5);
    if (!patch) continue;
    const cm = configMapName(`services/${c.s.ns}`);
    const put = (audit as A[]).find((e) => e.verb === 'update' && e.objectRef?.resource === 'configmaps' && e.objectRef.name === cm && t(e.requestReceivedTimestamp) >= t(patch.requestReceivedTimestamp));
    // From when the PUT was received: the audit log's "answered" time can come after the watch delivered it.
    const apply = applied.find((a) => a.ids.includes(`services/${c.s.ns}`) && put !== undefined && a.start >= t(put.requestReceivedTimestamp));
    if (!put || !apply) continue;
    const marks = [c.at, t(patch.requestReceivedTimestamp), t(patch.stageTimestamp), t(put.requestReceivedTimestamp), t(put.stageTimestamp), apply.start, apply.end, c.answered];
    // The operator's run that wrote it (BENCH_OPERATOR_TRACE): PATCH written → seen, → started, → compiled, → PUT received.
    const run = opRuns.find((r) => r.written.includes(`services/${c.s.ns}`) && r.publishedAt >= t(put.requestReceivedTimestamp) - 2);
    // The run before it: one started less than the debounce (50 ms) before the change was seen makes it wait.
    const prev = run ? opRuns[opRuns.indexOf(run) - 1] : undefined;
    const op = run ? [run.seenAt - t(patch.stageTimestamp), run.startedAt - run.seenAt, run.compiledAt - run.startedAt, t(put.requestReceivedTimestamp) - run.compiledAt, prev ? run.seenAt - prev.startedAt : NaN] : [];
    rows.push([...marks.slice(1).map((m, i) => m - marks[i]!), gcBetween(t(put.requestReceivedTimestamp), c.answered), ...op]);
  }
  if (rows.length === 0) { console.log('  path: no change matched in the audit log'); return; }
  const names = ['bench → apiserver', 'PATCH written', '→ operator PUT (watch, compile, gzip)', 'PUT written', '→ DNS applyShards (watch, gunzip, parse)', 'applyShards (validate, tables)', '→ answered (2 ms polls)'];
  const med = (i: number) => pct(rows.map((r) => r[i]!), 50);
  const total = (r: number[]) => r.slice(0, names.length).reduce((x, y) => x + y, 0);
  const slowest = rows.reduce((a, b) => (total(b) > total(a) ? b : a));
  console.log(`  path of a change, ms (median of ${rows.length} / the slowest): ${names.map((n, i) => `${n} ${med(i).toFixed(1)} / ${slowest[i]!.toFixed(1)}`).join('; ')}`);
  // The tail is made of a few changes, each stretched at another step: the three slowest, whole.
  // BENCH_PATH_SLOW_MS (default: the three slowest): every change slower than that.
  const slowMs = Number(process.env.BENCH_PATH_SLOW_MS ?? NaN);
  const slow = [...rows].sort((a, b) => total(b) - total(a));
  const opSplit = (r: number[]) => (r.length > names.length + 1 ? `; operator: watch → seen ${r[names.length + 1]!.toFixed(0)}, → run ${r[names.length + 2]!.toFixed(0)}, compile ${r[names.length + 3]!.toFixed(0)}, → PUT ${r[names.length + 4]!.toFixed(0)} (the run before started ${r[names.length + 5]!.toFixed(0)} ms before it was seen)` : '');
  for (const r of Number.isFinite(slowMs) ? slow.filter((x) => total(x) > slowMs) : slow.slice(0, 3)) console.log(`    a slow change, ${total(r).toFixed(0)} ms: ${r.slice(0, names.length).map((x) => x.toFixed(1)).join(' / ')}; DNS server GC ${r[names.length]!.toFixed(1)} ms${opSplit(r)}`);
  console.log(`  the DNS server's process's (${DNS_IN_PROCESS ? 'this one' : 'its own'}) GC pauses from the operator's PUT to the answer: median ${pct(rows.map((r) => r[names.length]!), 50).toFixed(1)} ms, the slowest change ${slowest[names.length]!.toFixed(1)} ms`);
}

/**
 * BENCH_DNS_IN_PROCESS=1: the DNS server runs in this process (the bench's shape before): the
 * bench's own work (2 ms query polls, audit log reading, RSS sampling) and GCs then land in the
 * server's path. Default: its own process (dns-child.ts), as an install runs it, with the node
 * flags of BENCH_DNS_NODE_ARGS (space-separated; e.g. heap settings).
 */
const DNS_IN_PROCESS = process.env.BENCH_DNS_IN_PROCESS === '1';
/** GC pauses of the DNS server's process (this one, or the child's over IPC): start (wall ms) and duration. */
const gcPauses: { start: number; ms: number; major?: boolean }[] = [];
if (DNS_IN_PROCESS) new PerformanceObserver((list) => { for (const e of list.getEntries()) gcPauses.push({ start: performance.timeOrigin + e.startTime, ms: e.duration, major: ((e as { detail?: { kind?: number } }).detail?.kind ?? 0) !== constants.NODE_PERFORMANCE_GC_MINOR }); }).observe({ entryTypes: ['gc'] });
const gcBetween = (a: number, b: number) => gcPauses.filter((g) => g.start >= a && g.start < b).reduce((n, g) => n + g.ms, 0);

/** A performance.now() time on the monotonic clock of V8's CPU profiles (process.hrtime), in µs. */
const monoUs = (t: number) => Math.round(Number(process.hrtime.bigint() / 1000n) - (performance.now() - t) * 1000);
/** utime + stime of a process's threads, the main thread apart from the others (V8's GC and compiler workers, libuv's), in ms. */
function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Node 20 leaves V8's and libuv's threads named "node": the main thread is the one whose id is the process's.
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')')).replace(/\d+$/, '').trim();
      const name = tid === String(pid) ? 'main' : comm === 'node' ? 'other threads (GC, JIT, libuv)' : comm;
      const f = st.slice(st.lastIndexOf(') ') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch { /* the thread ended */ }
  }
  return out;
}
/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * Polls /healthz every 100 ms from its own process (this one runs the DNS server, whose loading
 * of a cold start's shards would otherwise count as the operator's silence); the longest wait
 * for an answer (an unanswered request keeps counting).
 */
const PROBE_CHILD = `
const http = require('node:http');
const port = Number(process.argv[1]);
let max = 0; const open = new Set();
const timer = setInterval(() => {
  const t0 = performance.now(); open.add(t0);
  const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => { res.resume(); res.on('end', () => { open.delete(t0); max = Math.max(max, performance.now() - t0); }); });
  req.on('error', () => { open.delete(t0); });
}, 100);
process.on('message', () => { const now = performance.now(); let w = max; for (const t of open) w = Math.max(w, now - t); process.send(w); });
process.on('disconnect', () => { clearInterval(timer); process.exit(0); });
`;
class OpsProbe {
  #child?: ChildProcess;
  #last = 0;
  start(port: number): void {
    this.#child = spawn(process.execPath, ['-e', PROBE_CHILD, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  /** The worst so far, an unanswered request included. */
  async worst(): Promise<number> {
    const c = this.#child;
    if (!c?.connected) return this.#last;
    return new Promise((resolve) => { c.once('message', (w) => resolve((this.#last = Number(w)))); c.send('worst'); });
  }
  stop(): void { if (this.#child?.connected) this.#child.disconnect(); }
}

/** The operator's /metrics text ('' when it does not answer). */
const opsMetrics = () => new Promise<string>((resolve) => http.get({ host: '127.0.0.1', port: OP_HTTP, path: '/metrics' }, (res) => { let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b)); }).on('error', () => resolve('')));

/** The operator's event-loop lag max (its gauge covers the last 5 s window), read every 2 s: the highest seen until stop(). */
function trackLag(): { stop: () => string } {
  let max = 0;
  const timer = setInterval(() => void opsMetrics().then((m) => { const x = m.match(/splitdns_operator_event_loop_lag_seconds\{quantile="1"\} ([\d.e+-]+)/); if (x) max = Math.max(max, Number(x[1])); }), 2000);
  return { stop: () => { clearInterval(timer); return `${(max * 1000).toFixed(0)} ms (5 s windows, read every 2 s)`; } };
}

async function main(): Promise<void> {
  const assets = findAssets();
  if (typeof assets === 'string') throw new Error(`scale-api bench needs a kube-apiserver: ${assets}`);
  const env = await Envtest.start(assets);
  const kube = env.request.bind(env);
  const work = mkdtempSync(join(tmpdir(), 'splitdns-scale-api-'));
  const children = new Set<ChildProcess>();
  try {
    console.log(`envtest: kube-apiserver ${env.version} (etcd ${etcdVersion(assets.etcd)}) on ${env.url}`);
    await installInto(env, NS);

    // Load: namespaces, Services, EndpointSlices, StaticHosts, 32 requests at a time.
    let t0 = performance.now();
    const nss = Array.from({ length: NAMESPACES }, (_, i) => `scale-${i}`);
    await pool(nss, 16, (n) => createNamespace(env, n));
    const svcs = Array.from({ length: SERVICES }, (_, i) => ({ ns: nss[i % NAMESPACES]!, name: `svc-${Math.floor(i / NAMESPACES)}`, i, headless: i % 10 === 0 }));
    const epIp = (i: number, j: number) => { const n = i * ENDPOINTS_PER_SLICE + j; return `10.${128 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`; };
    await pool(svcs, 32, async (s) => {
      await kube('POST', `/api/v1/namespaces/${s.ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.ns, labels: { app: s.name }, annotations: { 'example.com/team': 'bench' } },
        spec: { ...(s.headless ? { clusterIP: 'None' } : {}), selector: { app: s.name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] } });
      await kube('POST', `/apis/discovery.k8s.io/v1/namespaces/${s.ns}/endpointslices`, { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { name: `${s.name}-a`, namespace: s.ns, labels: { 'kubernetes.io/service-name': s.name } }, addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: Array.from({ length: ENDPOINTS_PER_SLICE }, (_, j) => ({ addresses: [epIp(s.i, j)], conditions: { ready: true }, nodeName: `node-${j}`, targetRef: { kind: 'Pod', name: `${s.name}-${j}`, namespace: s.ns } })) });
    });
    await pool(Array.from({ length: STATIC_HOSTS }, (_, i) => i), 32, (i) => kube('POST', SH, { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: `h-${i}` },
      spec: { hostnames: [`h-${i}.static.example`], addresses: [`10.250.${Math.floor(i / 250)}.${(i % 250) + 1}`] } }));
    console.log(`loaded ${NAMESPACES} namespaces, ${SERVICES} Services (${svcs.filter((s) => s.headless).length} headless), ${SERVICES} EndpointSlices (${SERVICES * ENDPOINTS_PER_SLICE} endpoints), ${STATIC_HOSTS} StaticHosts in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    // One DNS server (its own process, or this one: BENCH_DNS_IN_PROCESS) with its replica Pod; the operator as its own process.
    const dnsKc = await kubeConfigFor(env, NS, DNS_SA);
    // The source hands decoded shards to applyShards (validation, tables, swap): timed, for the path of a change.
    const applied: Applied[] = [];
    let closeDns: () => Promise<void>;
    if (DNS_IN_PROCESS) {
      const server = await startDnsServer({ port: DNS_PORT, httpPort: DNS_HTTP, logger: log, lameDuckMs: 0 });
      const traced = { applyShards: (changed: unknown[], removed: string[]) => {
        const start = wallMs();
        const report = server.applyShards(changed, removed);
        applied.push({ ids: changed.map((c) => String((c as { id?: unknown }).id)), start, end: wallMs() });
        return report;
      } };
      const source = await startConfigMapSource({ kubeConfig: dnsKc, namespace: NS, server: traced, logger: log });
      closeDns = async () => { source.close(); await server.close(); };
    } else {
      const dnsKubeconfig = join(work, 'dns-kubeconfig.json');
      writeFileSync(dnsKubeconfig, dnsKc.exportConfig(), { mode: 0o600 });
      const dnsArgs = (process.env.BENCH_DNS_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
      const dns = spawn(process.execPath, [...dnsArgs, join(ROOT, 'dist/bench/scale-api/dns-child.js'), dnsKubeconfig, NS, String(DNS_PORT), String(DNS_HTTP)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.add(dns);
      await new Promise<void>((resolve, reject) => {
        dns.on('message', (m: { ready?: boolean; applied?: Applied; gc?: { start: number; ms: number; major?: boolean } }) => {
          if (m.applied) applied.push(m.applied);
          if (m.gc) gcPauses.push(m.gc);
          if (m.ready) resolve();
        });
        dns.once('exit', (code) => reject(new Error(`DNS server child exited (${code})`)));
      });
      // A child that already died has no 'exit' left to wait for (the wait would never end).
      closeDns = async () => {
        if (dns.exitCode !== null || dns.signalCode !== null) return;
        const gone = new Promise((r) => dns.once('exit', r));
        if (dns.connected) dns.disconnect(); else dns.kill();
        await gone;
      };
    }
    console.log(`  DNS server: ${DNS_IN_PROCESS ? 'in this process (BENCH_DNS_IN_PROCESS=1)' : `its own process, as installed, node flags "${process.env.BENCH_DNS_NODE_ARGS ?? ''}"`}`);
    await createReplicaPod(env, NS, 'dns-0', DNS_HTTP);
    const kubeconfig = join(work, 'kubeconfig.json');
    writeFileSync(kubeconfig, (await kubeConfigFor(env, NS, OPERATOR_SA)).exportConfig(), { mode: 0o600 });
    const startOp = (name: string, root = ROOT, nodeArgs?: string): ChildProcess => {
      // As the Deployment starts it: its environment (NODE_OPTIONS, ...), unless a variant's replaces it.
      const variant = nodeArgs === undefined ? { env: deploymentEnv(root), args: [] } : variantOf(nodeArgs);
      const args = [...NODE_ARGS, ...variant.args, ...(TRACE_GC ? ['--trace-gc'] : []),
        ...(SNAPSHOT_DIR && name === 'op-0' ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOT_DIR}`] : []),
        ...(MEMORY ? ['--import', pathToFileURL(join(ROOT, 'dist/bench/scale-api/mem-probe.js')).href] : [])];
      const memFile = join(work, `${name}.mem.json`);
      const stdout = TRACE_GC || TRACE_OP ? 'pipe' : STDOUT_DIR ? openSync(join(STDOUT_DIR, `${name}.out`), 'w') : 'ignore';
      const child = spawn(process.execPath, [...args, join(root, 'bin/splitdns.js'), 'operator', `--namespace=${NS}`, `--pod-name=${name}`, `--http-port=${OP_HTTP}`, '--http-address=127.0.0.1', `--log-level=${TRACE_OP ? 'debug' : 'warn'}`],
        { env: { ...process.env, KUBECONFIG: kubeconfig, ...variant.env, ...(MEMORY ? { SPLITDNS_BENCH_MEM_PROBE: memFile } : {}) }, stdio: ['ignore', stdout, 'inherit'] });
      if (MEMORY) memFiles.set(child, memFile);
      console.log(`  operator ${name}: ${root === ROOT ? 'this checkout' : root}, environment ${Object.entries(variant.env).map(([k, v]) => `${k}="${v}"`).join(' ')}, node flags "${args.join(' ')}"`);
      children.add(child);
      child.once('exit', () => children.delete(child));
      if (TRACE_GC || TRACE_OP) {
        // "[pid:0x..]   1234 ms: Scavenge 10.2 (12.0) -> 9.8 (13.0) MB, 0.85 / 0.00 ms ...": ms since the isolate started, about the spawn.
        const started = performance.now(), gcs: Gc[] = [];
        opGcs.set(child, gcs);
        let rest = '';
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          const lines = (rest + d).split('\n');
          rest = lines.pop()!;
          for (const l of lines) {
            const m = l.match(/\s(\d+) ms: (Scavenge|Mark-Compact \(reduce\)|Mark-Compact|Minor Mark-Compact|Mark-sweep)\b[^,]*, ([\d.]+) \/ [\d.]+ ms/);
            if (m) gcs.push({ at: started + Number(m[1]), kind: m[2]!, ms: Number(m[3]) });
            if (TRACE_OP && l.includes('"reconciled"')) { try { opRuns.push(JSON.parse(l) as Run); } catch { /* not a whole line */ } }
          }
        });
      }
      return child;
    };
    const programmedCount = async () => (await kube('GET', SH)).items.filter((h: any) => (h.status?.conditions ?? []).some((c: any) => c.type === 'Programmed' && c.status === 'True')).length;
    const shardCount = async () => (await kube('GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dsplitdns`)).items.length;
    const probeName = `${svcs[1]!.name}.${svcs[1]!.ns}.svc.cluster.local`;

    const user = `system:serviceaccount:${NS}:${OPERATOR_SA}`;
    type Timed = AuditEvent & { requestReceivedTimestamp?: string; stageTimestamp?: string };
    const auditMs = (x: string | undefined) => (x ? Date.parse(x) + Number((x.match(/\.\d{3}(\d*)Z$/)?.[1] ?? '').padEnd(3, '0').slice(0, 3)) / 1000 : NaN);
    /**
     * A cold start of an operator (ROOT: this checkout; else another's): start → first publish,
     * DNS answers, all StaticHosts Programmed; the longest unanswered /healthz; its RSS over time
     * and peak once its status and Event queue is empty; its status patches and Events (audit log).
     */
    const coldStart = async (name: string, root = ROOT): Promise<{ op: ChildProcess; coldPeak: number }> => {
    const probe = new OpsProbe();
    const since = new Date().toISOString();
    const wall0 = wallMs();
    const applied0 = applied.length;
    t0 = performance.now();
    const op = startOp(name, root);
    probe.start(OP_HTTP);
    // The operator's resident memory every 100 ms: when its peak came (VmHWM says only how high).
    const rss: { at: number; kb: number }[] = [];
    const rssTimer = setInterval(() => { try { rss.push({ at: performance.now() - t0, kb: procStatus(op.pid!, 'VmRSS') }); } catch { /* gone */ } }, 100);
    const lag = trackLag();
    let firstPublish = 0, firstAnswer = 0, allProgrammed = 0;
    await until(300000, async () => {
      if (!firstPublish && (await shardCount()) > 0) firstPublish = performance.now() - t0;
      if (!firstAnswer && (await queryA(probeName)).length > 0) firstAnswer = performance.now() - t0;
      return firstPublish > 0 && firstAnswer > 0;
    }, 50);
    // Polled once a second (a list of 1,000 StaticHosts 4 times a second was a load of its own on
    // the apiserver the operator writes to); the moment is then taken from the audit log: when
    // the apiserver answered the last status patch received before the count was complete.
    await until(300000, async () => (await programmedCount()) >= STATIC_HOSTS, 1000);
    const seenAll = wallMs();
    await sleep(2000); // the audit log is written with a lag
    const lastPatch = Math.max(...(env.audit(user) as Timed[]).filter((e) => (e.requestReceivedTimestamp ?? '') >= since && e.objectRef?.subresource === 'status' && auditMs(e.requestReceivedTimestamp) <= seenAll).map((e) => auditMs(e.stageTimestamp)));
    allProgrammed = (Number.isFinite(lastPatch) && lastPatch <= seenAll ? lastPatch - wall0 : seenAll - wall0);
    console.log(`cold start: start → first publish ${(firstPublish / 1000).toFixed(1)} s, → DNS answers ${(firstAnswer / 1000).toFixed(1)} s, → all ${STATIC_HOSTS} StaticHosts Programmed ${(allProgrammed / 1000).toFixed(1)} s (${((allProgrammed - firstPublish) / 1000).toFixed(1)} s after the first publish)  [target ≤ 10 s after]`);
    console.log(`  longest unanswered /healthz during the cold start: ${(await probe.worst()).toFixed(0)} ms (polled from another process)  [target < 1000 ms]`);
    // Its figure is taken: the poll (10/s, a new connection each) would count in the CPU per change below.
    probe.stop();
    // When the replica served the hosts shard, from the operator's start.
    const hosts = applied.slice(applied0).find((x) => x.ids.includes('hosts'));
    const publishWall = wall0 + firstPublish;
    // The status patches of the cold start (audit log): how many, when, how long the apiserver took.
    const patches = (env.audit(user) as Timed[]).filter((e) => (e.requestReceivedTimestamp ?? '') >= since && e.objectRef?.subresource === 'status');
    const took = patches.map((e) => auditMs(e.stageTimestamp) - auditMs(e.requestReceivedTimestamp)).filter((x) => x >= 0);
    const at = patches.map((e) => auditMs(e.requestReceivedTimestamp) - publishWall);
    if (patches.length) console.log(`  replica served the hosts shard ${hosts ? `${((hosts.end - publishWall) / 1000).toFixed(1)} s` : '(not seen)'} after the first publish; ${patches.length} status patches, received ${(Math.min(...at) / 1000).toFixed(1)}..${(Math.max(...at) / 1000).toFixed(1)} s after the first publish, apiserver time ${fmt(took)}`);

    // The cold start's Events (2 per StaticHost, behind the status patches in the write queue)
    // are still being sent: wait until the queue is empty, so the endpoint changes below measure
    // the changes, not that backlog.
    const tq = performance.now();
    const drained = await until(180000, async () => /splitdns_operator_write_queue_depth 0\b/.test(await opsMetrics()), 250);
    console.log(`  status and Event write queue ${drained ? `empty ${((performance.now() - tq) / 1000).toFixed(1)} s after all Programmed` : 'not empty after 180 s'}; event-loop lag max ${lag.stop()}`);
    // The cold start's peak: after its status and Event backlog, which can raise it (VmHWM only grows).
    const coldPeak = procStatus(op.pid!, 'VmHWM');
    clearInterval(rssTimer);
    const top = rss.reduce((x, y) => (y.kb > x.kb ? y : x), { at: 0, kb: 0 });
    const rssAt = (ms: number) => rss.filter((r) => r.at <= ms).at(-1)?.kb ?? 0;
    console.log(`  operator RSS (100 ms samples): highest ${mib(top.kb)} at ${(top.at / 1000).toFixed(1)} s; at first publish ${mib(rssAt(firstPublish))}, all Programmed ${mib(rssAt(allProgrammed))}, queue empty ${mib(rss.at(-1)?.kb ?? 0)}; VmHWM ${mib(coldPeak)}${memSplit(op)}`);
    if (SNAPSHOT_DIR) {
      const before = new Set(readdirSync(SNAPSHOT_DIR));
      op.kill('SIGUSR2');
      await until(120000, () => readdirSync(SNAPSHOT_DIR).some((f) => !before.has(f) && f.endsWith('.heapsnapshot')), 500);
      await sleep(5000);
      console.log(`  heap snapshot of the cold-started operator written to ${SNAPSHOT_DIR}`);
    }
    return { op, coldPeak };
    };

    // Endpoint changes: one headless Service's slice gets a new first address; wait until answered.
    // Each series takes the next CHANGES headless Services and new addresses.
    const headlessAll = svcs.filter((s) => s.headless);
    let series = 0, changeNo = 0;
    const measureChanges = async (child: ChildProcess): Promise<void> => {
      const headless = headlessAll.slice((series * CHANGES) % headlessAll.length).slice(0, CHANGES);
      series++;
      await sleep(2000);
      const lat: number[] = [];
      const sent: { s: typeof svcs[0]; at: number; answered?: number }[] = [];
      const cpu0 = cpuMs(child.pid!);
      const threads0 = threadCpuMs(child.pid!);
      const w0 = performance.now();
      for (const s of headless) {
        const k = changeNo++;
        const ip = `10.251.${Math.floor(k / 250) % 250}.${(k % 250) + 1}`;
        const name = `${s.name}.${s.ns}.svc.cluster.local`;
        const t = performance.now();
        const one: typeof sent[0] = { s, at: wallMs() };
        sent.push(one);
        await kube('PATCH', `/apis/discovery.k8s.io/v1/namespaces/${s.ns}/endpointslices/${s.name}-a`, { endpoints: [{ addresses: [ip], conditions: { ready: true } }, ...Array.from({ length: ENDPOINTS_PER_SLICE - 1 }, (_, j) => ({ addresses: [epIp(s.i, j + 1)], conditions: { ready: true } }))] }, 'application/merge-patch+json');
        if (await until(5000, async () => (await queryA(name)).includes(ip), 2)) { lat.push(performance.now() - t); one.answered = wallMs(); }
        await sleep(100);
      }
      const cpuPer = (cpuMs(child.pid!) - cpu0) / headless.length;
      const byThread = [...threadCpuMs(child.pid!)].map(([n, ms]) => [n, (ms - (threads0.get(n) ?? 0)) / headless.length] as const).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
      const wall = performance.now() - w0;
      // For a profile of the operator (BENCH_OPERATOR_NODE_ARGS=--cpu-prof): the window of the
      // changes on the profile's clock, for profile-window.js.
      console.log(`changes window (monotonic µs): ${monoUs(w0)}..${monoUs(w0 + wall)}, ${headless.length} changes`);
      // Idle CPU over the same wall time, for comparison (Lease renewals, watch traffic, this bench's /healthz polls).
      const idle0 = cpuMs(child.pid!);
      await sleep(wall);
      const idlePer = (cpuMs(child.pid!) - idle0) / headless.length;
      console.log(`endpoint change → answered: ${fmt(lat)}  [target p99 < 150 ms]`);
      console.log(`operator CPU per endpoint change: ${cpuPer.toFixed(1)} ms (idle over the same time: ${idlePer.toFixed(1)} ms per change-interval)  [target < 50 ms]`);
      console.log(`  by thread (ms per change): ${byThread.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')}`);
      console.log(`  operator peak RSS so far (VmHWM) ${mib(procStatus(child.pid!, 'VmHWM'))}${memSplit(child)}`);
      if (TRACE_GC) console.log(`  operator GCs over the changes (--trace-gc: count, main-thread pause): ${gcSummary(child, w0, w0 + wall)}; over as long idle after: ${gcSummary(child, w0 + wall, w0 + 2 * wall)}`);
      const dnsGcs = gcPauses.filter((g) => g.start >= performance.timeOrigin + w0 && g.start < performance.timeOrigin + w0 + 2 * wall);
      const sum = (xs: typeof gcPauses) => `${xs.length}× ${xs.reduce((a, g) => a + g.ms, 0).toFixed(0)} ms (longest ${Math.max(0, ...xs.map((g) => g.ms)).toFixed(0)} ms)`;
      console.log(`  DNS server GCs over the changes and as long after: scavenges ${sum(dnsGcs.filter((g) => !g.major))}, others (mark-compact, incremental steps, weak callbacks) ${sum(dnsGcs.filter((g) => g.major))}`);
      printPath(sent, env.audit(), applied);
    };
    // BENCH_COLD_COMPARE=1 (with BENCH_COMPARE): the other checkout's operator cold-starts first
    // and runs its first series of changes (its cold, JIT-warming one); then its shards and the
    // StaticHosts' statuses are removed, and this one cold-starts the same way.
    if (COMPARE && process.env.BENCH_COLD_COMPARE === '1') {
      console.log(`\ncold start of the other (BENCH_COMPARE) operator (${COMPARE})`);
      const other = (await coldStart('op-cold-other', COMPARE)).op;
      console.log(`  operator peak RSS (VmHWM) after its queue emptied: ${mib(procStatus(other.pid!, 'VmHWM'))}`);
      await measureChanges(other);
      other.kill('SIGTERM');
      await new Promise((r) => other.once('exit', r));
      // Back to a cluster no operator has seen: no shard ConfigMaps (the replica drops them), no statuses.
      await kube('DELETE', `/api/v1/namespaces/${NS}/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dsplitdns`);
      await pool(Array.from({ length: STATIC_HOSTS }, (_, i) => i), 32, (i) => kube('PATCH', `${SH}/h-${i}/status`, { status: null }, 'application/merge-patch+json'));
      await until(60000, async () => (await shardCount()) === 0 && (await queryA(probeName)).length === 0 && (await programmedCount()) === 0, 250);
      await sleep(5000);
      console.log('\ncold start of this operator');
    }
    const cold = await coldStart('op-0');
    let op = cold.op;
    const coldPeak = cold.coldPeak;

    // BENCH_COLD_SERIES=N: more series on the cold-started operator, one after another (is the
    // first one's cost the cold start's wake, or this operator's lasting state?).
    for (let i = 0; i < Number(process.env.BENCH_COLD_SERIES ?? 1); i++) await measureChanges(op);

    // Restart with nothing changed: SIGTERM, start another, count its writes in the audit log.
    op.kill('SIGTERM');
    await new Promise((r) => op.once('exit', r));
    // Only requests the apiserver received after the first operator exited count (the audit
    // log is written with a lag: a count taken at SIGTERM would charge the restart with them).
    const since = new Date().toISOString();
    const probe2 = new OpsProbe();
    let minProgrammed = STATIC_HOSTS;
    t0 = performance.now();
    op = startOp('op-1');
    probe2.start(OP_HTTP);
    const lag2 = trackLag();
    // Until it has compiled, confirmed and settled: 20 s, watching for a Programmed flip.
    await until(20000, async () => { minProgrammed = Math.min(minProgrammed, await programmedCount()); return false; }, 500);
    const writes = env.audit(user).filter((e) => ((e as { requestReceivedTimestamp?: string }).requestReceivedTimestamp ?? '') >= since && ['create', 'update', 'patch', 'delete'].includes(e.verb));
    const by = (f: (e: typeof writes[0]) => boolean) => writes.filter(f).length;
    console.log(`restart with nothing changed (20 s): ${by((e) => e.objectRef?.resource === 'configmaps')} ConfigMap writes, ${by((e) => e.objectRef?.subresource === 'status')} status patches, ${by((e) => e.objectRef?.resource === 'events')} Events, ${by((e) => e.objectRef?.resource === 'leases')} Lease writes; fewest StaticHosts Programmed meanwhile ${minProgrammed}/${STATIC_HOSTS}  [target 0 writes but the Lease, no flip]`);
    console.log(`  longest unanswered /healthz during the restart: ${(await probe2.worst()).toFixed(0)} ms (polled from another process)  [target < 1000 ms]; event-loop lag max ${lag2.stop()}`);
    const restartPeak = procStatus(op.pid!, 'VmHWM');
    console.log(`operator peak RSS (VmHWM): cold start ${mib(coldPeak)}, restart ${mib(restartPeak)}  [target < 300 MiB]${memSplit(op)}`);
    const metrics = await opsMetrics();
    console.log(`  operator metrics: ${metrics.split('\n').filter((l) => /^splitdns_operator_(event_loop_lag_seconds|compile_duration_seconds_(sum|count)|compile_longest_slice_seconds|status_writes_total|events_total)/.test(l)).join('; ')}`);
    probe2.stop();
    // Ended with SIGTERM, so that a profiling flag (BENCH_OPERATOR_NODE_ARGS) writes its profile.
    op.kill('SIGTERM');
    await new Promise((r) => op.once('exit', r));

    // BENCH_COMPARE=ROOT (another checkout, built): its operator and this one take turns on the
    // same loaded apiserver, two rounds each (other, this, other, this), each a new series of
    // endpoint changes once it leads and its write queue is empty.
    const turns: [string, string, string | undefined][] = [
      ...(COMPARE ? [['other (BENCH_COMPARE)', COMPARE, undefined] as [string, string, undefined]] : []),
      ...(COMPARE || VARIANTS.length > 0 ? [['this', ROOT, undefined] as [string, string, undefined]] : []),
      ...VARIANTS.map((v) => [`this with ${v}`, ROOT, v] as [string, string, string]),
    ];
    for (let round = 1; turns.length > 0 && round <= Number(process.env.BENCH_COMPARE_ROUNDS ?? 2); round++) {
      for (const [label, root, nodeArgs] of turns) {
        console.log(`\ncompare, round ${round}: ${label} operator (${root})`);
        const o = startOp(`op-${round}-${turns.findIndex((t) => t[0] === label)}`, root, nodeArgs);
        const ready = await until(120000, async () => { const m = await opsMetrics(); return /splitdns_operator_leader 1\b/.test(m) && /splitdns_operator_write_queue_depth 0\b/.test(m) && /splitdns_operator_compile_duration_seconds_count [1-9]/.test(m); }, 250);
        if (!ready) console.log('  not leading with an empty write queue after 120 s');
        await sleep(3000);
        await measureChanges(o);
        o.kill('SIGTERM');
        await new Promise((r) => o.once('exit', r));
      }
    }
    await closeDns();
  } finally {
    for (const c of children) c.kill('SIGKILL');
    prober.close();
    await env.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
