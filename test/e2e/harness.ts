// End-to-end harness: the Kubernetes API double, two real DNS servers on loopback fed by the
// ConfigMap source, and operators pointed at the double. Everything on 127.0.0.1, port 0.

import { Resolver } from 'node:dns/promises';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/server.js';
import type { DnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import type { ConfigMapSource } from '../../dns-server/source/configmap.js';
import { Operator, startOperator } from '../../operator/controller/controller.js';
import type { OperatorOptions } from '../../operator/controller/controller.js';
import { loadKubeConfig } from '../../kube/kube-client.js';
import { KubeApiDouble } from '../kube-api-double/server.js';

export const NS = 'splitdns';
export const silent = pino({ level: 'silent' });

export interface Harness {
  api: KubeApiDouble;
  servers: DnsServer[];
  sources: ConfigMapSource[];
  operators: Operator[];
  startOperator(extra?: Partial<OperatorOptions>): Promise<Operator>;
  close(): Promise<void>;
}

/** A request to the double over HTTP, as kubectl would make it. */
export async function kube(api: KubeApiDouble, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const res = await fetch(api.url + path, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message}`);
  return json;
}

export function dnsPod(name: string, httpPort: number): object {
  return {
    metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'splitdns-dns' } },
    spec: { containers: [{ name: 'dns-server', ports: [{ name: 'http', containerPort: httpPort }] }] },
    status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export async function startHarness(opts: { replicas?: number; namespaces?: Record<string, Record<string, string>> } = {}): Promise<Harness> {
  const api = await KubeApiDouble.start({ bookmarkMs: 200 });
  const kubeConfig = loadKubeConfig(api.url);
  for (const [name, labels] of Object.entries({ [NS]: {}, ...(opts.namespaces ?? {}) })) {
    await kube(api, 'POST', '/api/v1/namespaces', { metadata: { name, labels } });
  }
  const servers: DnsServer[] = [];
  const sources: ConfigMapSource[] = [];
  for (let i = 0; i < (opts.replicas ?? 2); i++) {
    const server = await startDnsServer({ port: 0, httpPort: 0, logger: silent, lameDuckMs: 0 });
    servers.push(server);
    sources.push(await startConfigMapSource({ kubeConfig, namespace: NS, server, logger: silent, backoff: { initialMs: 50, maxMs: 400 } }));
    await kube(api, 'POST', `/api/v1/namespaces/${NS}/pods`, dnsPod(`dns-${i}`, server.httpPort!));
  }
  const operators: Operator[] = [];
  const h: Harness = {
    api, servers, sources, operators,
    async startOperator(extra = {}) {
      const op = await startOperator({
        kubeConfig, namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns',
        debounceMs: 20, leaseDurationSeconds: 1, renewDeadlineMs: 800, retryPeriodMs: 100, confirmIntervalMs: 50,
        informerBackoff: { initialMs: 50, maxMs: 400 }, logger: silent, ...extra,
      });
      operators.push(op);
      return op;
    },
    async close() {
      await Promise.all(operators.map((o) => o.close()));
      for (const s of sources) s.close();
      await Promise.all(servers.map((s) => s.close()));
      await api.close();
    },
  };
  return h;
}

/** A resolver pointed at one DNS server (c-ares), no retries, short timeout. */
export function resolverFor(server: DnsServer): Resolver {
  const r = new Resolver({ timeout: 500, tries: 1 });
  r.setServers([`127.0.0.1:${server.port}`]);
  return r;
}

/** The A records a server answers for a name; [] for NXDOMAIN/NODATA/REFUSED. */
export async function lookupA(server: DnsServer, name: string): Promise<string[]> {
  try { return (await resolverFor(server).resolve4(name)).sort(); }
  catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED') return [];
    throw err;
  }
}

/** Polls until check() returns a value that is not undefined, or fails after limitMs. */
export async function eventually<T>(what: string, limitMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) { last = err; }
    if (Date.now() > end) throw new Error(`${what}: not within ${limitMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function condition(obj: any, type: string): any {
  return (obj?.status?.conditions ?? []).find((c: any) => c.type === type);
}
