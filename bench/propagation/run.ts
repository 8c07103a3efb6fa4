// Propagation bench: the operator and two DNS servers (ConfigMap source) against the
// Kubernetes API double, everything in this process on loopback (ports 5500-5549).
//  1. Service change → answered by EVERY replica: p50/p99 over N new Services (default debounce).
//  2. StaticHost / DNSZone / DNSForwarder change → status Programmed=True for the new generation: p99.
// Targets (issue 5): (1) p50 < 100 ms, p99 < 500 ms; (2) p99 < 2 s. Prints figures; never fails on one.
//   bash bench/propagation.sh [N]        (env BENCH_DEBOUNCE_MS overrides the default debounce)

import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/server.js';
import type { DnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import { OPERATOR_DEFAULTS, startOperator } from '../../operator/controller/controller.js';
import { loadKubeConfig } from '../../kube/kube-client.js';
import { KubeApiDouble } from '../../test/kube-api-double/server.js';

const N = Number(process.argv[2] ?? 50);
const DEBOUNCE = Number(process.env.BENCH_DEBOUNCE_MS ?? OPERATOR_DEFAULTS.debounceMs);
const PORTS = { api: 5500, dns: [5510, 5511], http: [5520, 5521] };
const NS = 'splitdns';
const log = pino({ level: 'warn' });

async function kube(api: KubeApiDouble, method: string, path: string, body?: unknown, ct = 'application/json'): Promise<any> {
  const res = await fetch(api.url + path, { method, headers: body === undefined ? {} : { 'content-type': ct }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message}`);
  return json;
}

const sock = dgram.createSocket('udp4');
const waiting = new Map<number, (addrs: string[]) => void>();
sock.on('message', (m) => {
  try {
    const p = dnsPacket.decode(m);
    waiting.get(p.id!)?.((p.answers ?? []).filter((a) => a.type === 'A').map((a) => String((a as { data: unknown }).data)));
    waiting.delete(p.id!);
  } catch { /* ignore */ }
});
let nextId = 1;
function queryA(port: number, name: string): Promise<string[]> {
  const id = (nextId = (nextId % 65535) + 1);
  return new Promise((resolve) => {
    const t = setTimeout(() => { waiting.delete(id); resolve([]); }, 200);
    waiting.set(id, (a) => { clearTimeout(t); resolve(a); });
    sock.send(dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

async function until(limitMs: number, check: () => Promise<boolean>, everyMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) { if (await check()) return true; await new Promise((r) => setTimeout(r, everyMs)); }
  return false;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const fmt = (xs: number[]) => xs.length ? `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms (n=${xs.length})` : 'no samples';

async function main(): Promise<void> {
  const api = await KubeApiDouble.start({ port: PORTS.api, bookmarkMs: 1000 });
  const kubeConfig = loadKubeConfig(api.url);
  for (const ns of [NS, 'bench']) await kube(api, 'POST', '/api/v1/namespaces', { metadata: { name: ns } });
  const servers: DnsServer[] = [];
  const sources: { close(): void }[] = [];
  for (let i = 0; i < 2; i++) {
    const s = await startDnsServer({ port: PORTS.dns[i], httpPort: PORTS.http[i], logger: log, lameDuckMs: 0 });
    servers.push(s);
    sources.push(await startConfigMapSource({ kubeConfig, namespace: NS, server: s, logger: log }));
    await kube(api, 'POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: `dns-${i}`, labels: { 'app.kubernetes.io/name': 'splitdns-dns' } },
      spec: { containers: [{ name: 'dns-server', ports: [{ name: 'http', containerPort: PORTS.http[i] }] }] },
      status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  await kube(api, 'POST', '/apis/splitdns.io/v1alpha1/dnszones', { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'corp' }, spec: { domain: 'corp.example', ttl: 60, records: [] } });
  const op = await startOperator({ kubeConfig, namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns', debounceMs: DEBOUNCE, httpPort: null, logger: log });
  await until(10000, async () => op.isLeader && op.synced && op.lastConfirmed !== undefined, 20);
  console.log(`propagation bench: operator + 2 DNS servers against the API double (in one process), debounce ${DEBOUNCE} ms, N=${N}`);

  // 1. Services: create one, wait until every replica answers its ClusterIP.
  const svc: number[] = [];
  let missed = 0;
  for (let i = 0; i < N; i++) {
    const ip = `10.96.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const name = `svc-${i}.bench.svc.cluster.local`;
    const t0 = performance.now();
    await kube(api, 'POST', '/api/v1/namespaces/bench/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'bench' }, spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    const ok = await until(5000, async () => (await Promise.all(servers.map((s) => queryA(s.port, name)))).every((a) => a.includes(ip)), 1);
    if (ok) svc.push(performance.now() - t0); else missed++;
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`Service change → answered by every replica: ${fmt(svc)}${missed ? `, ${missed} not answered within 5 s` : ''}  [target p50 < 100 ms, p99 < 500 ms]`);

  // 2. Custom resources: wait for Programmed=True with the new generation.
  const SH = `/apis/splitdns.io/v1alpha1/namespaces/${NS}/statichosts`;
  const programmed = async (path: string, gen: number) => until(10000, async () => {
    const o = await kube(api, 'GET', path);
    return (o.status?.conditions ?? []).some((c: any) => c.type === 'Programmed' && c.status === 'True' && c.observedGeneration === gen);
  }, 5);
  const crs: Record<string, number[]> = { StaticHost: [], DNSZone: [], DNSForwarder: [] };
  const m = Math.max(5, Math.floor(N / 3));
  await kube(api, 'POST', '/apis/splitdns.io/v1alpha1/dnsforwarders', { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'fwd' }, spec: { domains: ['fwd-0.example'], upstreams: [{ address: '127.0.0.1', port: 5549, protocol: 'udp' }] } });
  for (let i = 0; i < m; i++) {
    let t0 = performance.now();
    await kube(api, 'POST', SH, { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: `h-${i}` }, spec: { hostnames: [`h-${i}.example.org`], addresses: [`10.1.0.${i % 250 + 1}`] } });
    if (await programmed(`${SH}/h-${i}`, 1)) crs.StaticHost.push(performance.now() - t0);
    t0 = performance.now();
    const z = await kube(api, 'PATCH', '/apis/splitdns.io/v1alpha1/dnszones/corp', { spec: { records: [{ name: `r${i}`, type: 'A', a: [`192.0.2.${i % 250 + 1}`] }] } }, 'application/merge-patch+json');
    if (await programmed('/apis/splitdns.io/v1alpha1/dnszones/corp', z.metadata.generation)) crs.DNSZone.push(performance.now() - t0);
    t0 = performance.now();
    const f = await kube(api, 'PATCH', '/apis/splitdns.io/v1alpha1/dnsforwarders/fwd', { spec: { domains: [`fwd-${i + 1}.example`] } }, 'application/merge-patch+json');
    if (await programmed('/apis/splitdns.io/v1alpha1/dnsforwarders/fwd', f.metadata.generation)) crs.DNSForwarder.push(performance.now() - t0);
  }
  for (const [k, xs] of Object.entries(crs)) console.log(`${k} change → Programmed: ${fmt(xs)}${xs.length < m ? `, ${m - xs.length} not Programmed within 10 s` : ''}  [target p99 < 2000 ms]`);
  const prop = (await op.metrics.propagationSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'));
  console.log(`operator metric splitdns_operator_propagation_seconds_count = ${prop?.value ?? 0}`);

  await op.close();
  for (const s of sources) s.close();
  await Promise.all(servers.map((s) => s.close()));
  await api.close();
  sock.close();
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
