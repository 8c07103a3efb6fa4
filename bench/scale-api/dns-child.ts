// Child of the scale-api bench: one DNS server with its ConfigMap source, in its own process as an
// install runs it (dns-server/main.ts holds the young generation first), so that the bench's own
// work (query polling, audit log reading, RSS sampling) and its GCs stay out of the server's path.
// Reports over IPC each applyShards() call ({ applied: { ids, start, end } }, wall ms) and each of
// its GC pauses ({ gc: { start, ms, major } }: major, any but a scavenge); { ready: true } once the first list is applied.
// Usage: dns-child.js KUBECONFIG NAMESPACE DNS_PORT HTTP_PORT
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { holdYoungGeneration } from '../../dns-server/heap.js';
import { startDnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';

const [kubeconfig, namespace, port, httpPort] = process.argv.slice(2);
const send = (m: object) => { if (process.connected) process.send!(m); };
const wallMs = () => performance.timeOrigin + performance.now();

holdYoungGeneration();
new PerformanceObserver((list) => { for (const e of list.getEntries()) send({ gc: { start: performance.timeOrigin + e.startTime, ms: e.duration, major: ((e as { detail?: { kind?: number } }).detail?.kind ?? 0) !== constants.NODE_PERFORMANCE_GC_MINOR } }); }).observe({ entryTypes: ['gc'] });
const log = pino({ level: 'warn' });
const server = await startDnsServer({ port: Number(port), httpPort: Number(httpPort), logger: log, lameDuckMs: 0 });
const kc = new KubeConfig();
kc.loadFromString(readFileSync(kubeconfig!, 'utf8'));
const traced = { applyShards: (changed: unknown[], removed: string[]) => {
  const start = wallMs();
  const report = server.applyShards(changed, removed);
  send({ applied: { ids: changed.map((c) => String((c as { id?: unknown }).id)), start, end: wallMs() } });
  return report;
} };
const source = await startConfigMapSource({ kubeConfig: kc, namespace: namespace!, server: traced, logger: log });
send({ ready: true });
process.on('disconnect', () => { source.close(); void server.close().then(() => process.exit(0)); });
