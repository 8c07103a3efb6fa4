// The query path without sockets (issue 14): what handleQuery costs per query, in ns, on a
// bundle and a dnsperf query file, UDP, from the parsed datagram to the reply bytes. The
// transports' and kernel's share is what node-echo measures; this is the rest, and on a shared
// machine it moves far less than queries per second do. With BASE (another build's root, e.g. a
// worktree of main with `npm run build` done), both builds run in this one process, interleaved,
// on the same queries: a side-by-side comparison in one sitting.
//   node dist/bench/server/handler.js BUNDLE.json QUERIES.txt [BASE]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import dnsPacket from 'dns-packet';
import pino from 'pino';

const [bundleFile, queryFile, base] = process.argv.slice(2);
if (bundleFile === undefined || queryFile === undefined) {
  process.stderr.write('usage: node dist/bench/server/handler.js BUNDLE.json QUERIES.txt [BASE_ROOT]\n');
  process.exit(2);
}
const bundle: unknown = JSON.parse(readFileSync(bundleFile, 'utf8'));
const queries = readFileSync(queryFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, i) => {
  const [name, type] = l.trim().split(/\s+/);
  return dnsPacket.encode({ type: 'query', id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name: name!.replace(/\.$/, ''), class: 'IN' }] });
});

type Handle = (msg: Buffer) => unknown;
/** The handler of the build under `root`, loaded with `bundle`. */
async function load(root: string): Promise<Handle> {
  const at = (p: string) => import(pathToFileURL(resolve(root, 'dist/dns-server', p)).href);
  const { handleQuery, PROTO_UDP } = await at('handler.js');
  const { ServerMetrics } = await at('metrics.js');
  const { Registry } = await at('prom.js');
  const { VALIDATOR } = await at('config/validate.js');
  const { ShardStore } = await at('reload.js');
  const { EMPTY_TABLES } = await at('tables/build.js');
  const metrics = new ServerMetrics(new Registry());
  const st = { tables: EMPTY_TABLES, fallback: undefined, metrics, udpPayloadSize: 1232 };
  const r = new ShardStore(st, metrics, pino({ level: 'silent' }), VALIDATOR).applyBundle(bundle);
  if (r.refused.length) throw new Error(`${root}: bundle refused: ${JSON.stringify(r.refused)}`);
  return (msg) => handleQuery(msg, PROTO_UDP, st);
}

const builds: [string, Handle][] = [['this', await load(resolve(import.meta.dirname, '../../..'))]];
if (base !== undefined) builds.unshift(['base', await load(base)]);
const n = queries.length;
// CPU time (this thread's user + system), not wall time: on a shared machine a round is often
// preempted, which wall time would count.
const round = (h: Handle): number => {
  const t = process.cpuUsage();
  for (let rep = 0; rep < 20; rep++) for (let i = 0; i < n; i++) h(queries[i]!);
  const d = process.cpuUsage(t);
  return ((d.user + d.system) * 1000) / (20 * n);
};
for (const [, h] of builds) for (let i = 0; i < 5; i++) round(h); // warm up: prepared answers, JIT
const times = builds.map((): number[] => []);
for (let r = 0; r < 21; r++) {
  const order = r % 2 ? builds.map((_, i) => i) : builds.map((_, i) => builds.length - 1 - i);
  for (const i of order) times[i]!.push(round(builds[i]![1]));
}
// Heap bytes allocated per query: one pass with no collection in between (run with --expose-gc
// and a young generation large enough for a pass, e.g. --min-semi-space-size=64 --max-semi-space-size=64).
const gc = (globalThis as { gc?: () => void }).gc;
const allocated = (h: Handle): number => {
  gc!();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) h(queries[i]!);
  return (process.memoryUsage().heapUsed - before) / n;
};
const bytes = gc === undefined ? undefined : builds.map(([, h]) => Math.min(allocated(h), allocated(h), allocated(h)));
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
const line = builds.map(([name], i) => `${name} ${med(times[i]!).toFixed(0)} ns/query`).join(', ');
if (bytes !== undefined) console.log(`handler: heap bytes allocated per query: ${builds.map(([name], i) => `${name} ${bytes[i]!.toFixed(0)}`).join(', ')}`);
console.log(`handler (${queries.length} queries from ${queryFile}, median of 21 rounds, CPU time): ${line}${base !== undefined ? ` (this/base ${(med(times[1]!) / med(times[0]!)).toFixed(3)})` : ''}`);
