// End-to-end harness on the real kube-apiserver (test/envtest): config/'s install moved into a
// namespace of the suite's own, two real DNS servers on loopback fed by the ConfigMap source,
// each replica a real Pod (the Deployment's Pod template, Ready through the status subresource),
// and operators. The operator and the DNS servers each act as their own ServiceAccount (tokens
// from TokenRequest) with the roles rendered from config/, through a TCP proxy the tests can cut.

import { Resolver } from 'node:dns/promises';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/server.js';
import type { DnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import type { ConfigMapSource } from '../../dns-server/source/configmap.js';
import { startOperator } from '../../operator/controller/controller.js';
import type { Operator, OperatorOptions } from '../../operator/controller/controller.js';
import type { Envtest } from '../envtest/apiserver.js';
import { createNamespace, kubeConfigFor } from '../envtest/kube.js';
import { ApiProxy } from '../envtest/proxy.js';
import { createReplicaPod, DNS_SA, DNS_SELECTOR, OPERATOR_SA } from '../envtest/splitdns.js';

export const silent = pino({ level: 'silent' });
export const CR = '/apis/splitdns.io/v1alpha1';

export interface Harness {
  env: Envtest;
  /** The operator's namespace. */
  ns: string;
  proxy: ApiProxy;
  servers: DnsServer[];
  sources: ConfigMapSource[];
  operators: Operator[];
  startOperator(extra?: Partial<OperatorOptions>): Promise<Operator>;
  /** A request as the admin (kubectl), straight to the apiserver. */
  kube(method: string, path: string, body?: unknown, contentType?: string): Promise<any>;
  close(): Promise<void>;
}

/** Creates (or keeps) namespaces; suites reuse them, as no controller here would finish deleting one. */
export async function ensureNamespaces(env: Envtest, names: Record<string, Record<string, string>>): Promise<void> {
  for (const [name, labels] of Object.entries(names)) await createNamespace(env, name, labels);
}

/** Deletes every DNSZone, DNSForwarder and StaticHost (cluster-wide) and the operator's ConfigMaps, Pods and Lease in `ns`. */
export async function cleanUp(env: Envtest, ns: string): Promise<void> {
  for (const plural of ['dnszones', 'dnsforwarders']) await env.request('DELETE', `${CR}/${plural}`);
  const hosts = await env.request('GET', `${CR}/statichosts`);
  for (const h of hosts.items) await env.request('DELETE', `${CR}/namespaces/${h.metadata.namespace}/statichosts/${h.metadata.name}`);
  await env.request('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dsplitdns`);
  await env.request('DELETE', `/api/v1/namespaces/${ns}/pods?gracePeriodSeconds=0`);
  await env.request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`);
}

export async function startHarness(env: Envtest, ns: string, opts: { replicas?: number } = {}): Promise<Harness> {
  const proxy = await ApiProxy.start(env.port);
  const dnsKc = await kubeConfigFor(env, ns, DNS_SA, proxy.url);
  const opKc = await kubeConfigFor(env, ns, OPERATOR_SA, proxy.url);
  const servers: DnsServer[] = [];
  const sources: ConfigMapSource[] = [];
  const operators: Operator[] = [];
  const h: Harness = {
    env, ns, proxy, servers, sources, operators,
    kube: (method, path, body, contentType) => env.request(method, path, body, contentType),
    async startOperator(extra = {}) {
      const op = await startOperator({
        kubeConfig: opKc, namespace: ns, clusterDomain: 'cluster.local', dnsSelector: DNS_SELECTOR,
        // A Lease long enough that a busy machine does not make the leader step down between
        // renewals (a 1 s Lease with an 800 ms deadline did: leadership flapped, every new term
        // reset what the operator knew). A stopping operator releases it, so failover stays prompt.
        debounceMs: 20, leaseDurationSeconds: 4, renewDeadlineMs: 3000, retryPeriodMs: 100, confirmIntervalMs: 50,
        // Retries scaled down as the informers' are: a reconcile that failed while the API was
        // away (writes refused, 429 while its storage reinitialises) is retried within 400 ms,
        // not after the production backoff (1 s doubling to 30 s) that outlasts the tests' waits.
        informerBackoff: { initialMs: 50, maxMs: 400 }, reconcileBackoff: { initialMs: 50, maxMs: 400 }, logger: silent, ...extra,
      });
      operators.push(op);
      return op;
    },
    async close() {
      await Promise.all(operators.map((o) => o.close()));
      for (const s of sources) s.close();
      await Promise.all(servers.map((s) => s.close()));
      await proxy.close();
      await cleanUp(env, ns);
    },
  };
  try {
    for (let i = 0; i < (opts.replicas ?? 2); i++) {
      const server = await startDnsServer({ port: 0, httpPort: 0, logger: silent, lameDuckMs: 0 });
      servers.push(server);
      sources.push(await startConfigMapSource({ kubeConfig: dnsKc, namespace: ns, server, logger: silent, backoff: { initialMs: 50, maxMs: 400 } }));
      await createReplicaPod(env, ns, `dns-${i}`, server.httpPort!);
    }
  } catch (err) { await h.close(); throw err; }
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

/** The operator's change limit in the e2e suites: a change is answered by both servers within 2 s. */
const LIMIT = 2000;

export async function servedEverywhere(h: Harness, name: string, want: string[], limitMs = LIMIT): Promise<void> {
  await eventually(`${name} → ${want.join(',') || 'nothing'} on both servers`, limitMs, async () => {
    const answers = await Promise.all(h.servers.map((s) => lookupA(s, name)));
    return answers.every((a) => JSON.stringify(a) === JSON.stringify(want)) ? true : undefined;
  });
}

export async function waitCondition(h: Harness, path: string, type: string, status: string, generation?: number, limitMs = 5000): Promise<any> {
  return eventually(`${path} ${type}=${status}`, limitMs, async () => {
    const o = await h.kube('GET', path);
    const c = condition(o, type);
    return c?.status === status && (generation === undefined || (c.observedGeneration === generation && o.status.observedGeneration === generation)) ? o : undefined;
  });
}

/** Requests of the suite's ServiceAccounts that the apiserver refused (403), from its audit log. */
export function denials(env: Envtest, ns: string): string[] {
  return [OPERATOR_SA, DNS_SA].flatMap((sa) => env.audit(`system:serviceaccount:${ns}:${sa}`))
    .filter((e) => e.responseStatus?.code === 403)
    .map((e) => `${e.user.username}: ${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''} ${e.objectRef?.namespace ?? ''}`);
}
