// The JavaScript cost of one cached forwarded answer, without sockets in the measured loop: the
// real handler (parse, locate, the forwarder's cache hit, the reply) driven directly, as the UDP
// transport calls it, over the harness's query names (every one cached first, through a small
// upstream on loopback). CPU time per query, best of ROUNDS: steadier than a dnsperf run on a
// shared machine, and a way to compare two builds (ROOT: another build's root, default this one;
// run the two in turn). Usage: node dist/bench/forward/micro.js [ROOT] [QUERY_FILE] [ROUNDS]
// (bench/forward.sh runs it after the dnsperf runs, with FORWARD_BASE too when set).
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.argv[2] ?? path.join(here, '../../..'));
const queryFile = process.argv[3] ?? path.join(process.env.TMPDIR ?? '/tmp', 'splitdns-bench-forward/data/queries.txt'); // made by bench/forward.sh
const rounds = Number(process.argv[4] ?? 7);
const dist = (p: string) => import(path.join(root, 'dist', p));

/* eslint-disable @typescript-eslint/no-explicit-any -- another build's modules, loaded by path */
const [{ handleQuery }, { ShardStore }, { ServerMetrics }, { VALIDATOR }, { EMPTY_TABLES }, { createForwarder }, { Registry }, config]: any[] = await Promise.all([
  dist('dns-server/handler.js'), dist('dns-server/reload.js'), dist('dns-server/metrics.js'), dist('dns-server/config/validate.js'),
  dist('dns-server/tables/build.js'), dist('dns-server/forward/index.js'), dist('dns-server/prom.js'), dist('dns-server/config/index.js'),
]);

// The upstream: answers every question with one A record (TTL one day), echoing the question.
const up = dgram.createSocket('udp4');
up.on('message', (m, r) => {
  let p = 12;
  while (m[p] !== 0) p += m[p] + 1;
  const qend = p + 5;
  const out = Buffer.alloc(qend + 16);
  m.copy(out, 0, 0, qend);
  out[2] = 0x81; out[3] = 0x80; out[7] = 1; out[9] = 0; out[11] = 0;
  out.set([0xc0, 12, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4, 10, 0, 0, 1], qend);
  up.send(out, r.port, r.address);
});
await new Promise<void>((r) => up.bind(0, '127.0.0.1', () => r()));

const logger = pino({ level: 'warn' });
const registry = new Registry();
const metrics = new ServerMetrics(registry);
const state = { tables: EMPTY_TABLES, fallback: createForwarder({ logger, registry }), metrics, udpPayloadSize: 1232 };
const store = new ShardStore(state, metrics, logger, VALIDATOR);
const shard = config.withHash({
  apiVersion: config.CONFIG_API_VERSION, kind: 'forwarders', id: 'forwarders', reverse: [],
  forwarders: [{
    name: 'bench', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: (up.address()).port, protocol: 'udp' }],
    policy: 'sequential', timeoutMs: 2000, deadlineMs: 5000, failFast: false, maxConcurrent: 100000,
    healthCheck: { enabled: false, intervalMs: 1000, failures: 3, name: '.' },
    cache: { enabled: true, maxEntries: 100000, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 0,
      prefetch: { enabled: false, minHits: 2, percent: 10 }, serveStale: { enabled: false, maxStale: 0, ttl: 30 } },
  }],
});
store.applyBundle({ apiVersion: config.CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [shard] });

const TYPES: Record<string, number> = { A: 1, AAAA: 28 };
const msgs = fs.readFileSync(queryFile, 'utf8').split('\n').filter(Boolean).map((line, i) => {
  const [name, type] = line.trim().split(/\s+/);
  const labels = name.replace(/\.$/, '').split('.');
  const q = Buffer.alloc(12 + labels.reduce((n, l) => n + l.length + 1, 1) + 4);
  q.writeUInt16BE(i & 0xffff, 0); q[2] = 1; q[5] = 1;
  let p = 12;
  for (const l of labels) { q[p++] = l.length; p += q.write(l, p, 'latin1'); }
  q[p++] = 0; q.writeUInt16BE(TYPES[type] ?? 1, p); q.writeUInt16BE(1, p + 2);
  return q;
});
for (const m of msgs) {
  const r = await handleQuery(Buffer.from(m), 0, state);
  if (r === null || (r[3] & 0x0f) !== 0) throw new Error('warm-up: no answer');
}
// Fresh copies per query, as the transport hands over a new datagram each time.
const N = msgs.length * 20;
let best = Infinity;
for (let round = 0; round < rounds; round++) {
  const copies = Array.from({ length: N }, (_, i) => Buffer.from(msgs[i % msgs.length]));
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const r = handleQuery(copies[i], 0, state);
    if (!Buffer.isBuffer(r)) throw new Error('not answered from the cache');
  }
  const c = process.cpuUsage(c0);
  best = Math.min(best, (c.user + c.system) * 1000 / N);
}
console.log(`cached answer, JS only: ${best.toFixed(0)} ns per query (best of ${rounds} rounds of ${N}; ${root})`);
up.close();
await state.fallback.close();
