// RBAC grants exactly what the code calls. The real operator and the real DNS server with its
// ConfigMap source run against the Kubernetes API double, each behind its own recording proxy,
// through a scenario that exercises every write path (create, update after a conflict, delete,
// status, events, leader election). Every recorded request must be allowed by the service
// account's roles as rendered from config/, and every rule in those roles must have been used.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/server.js';
import type { DnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import type { ConfigMapSource } from '../../dns-server/source/configmap.js';
import { startOperator } from '../../operator/controller/controller.js';
import type { Operator } from '../../operator/controller/controller.js';
import { loadKubeConfig } from '../../kube/kube-client.js';
import { KubeApiDouble } from '../kube-api-double/server.js';
import { ApiRecorder } from './api-recorder.js';
import type { RbacNeed } from './api-recorder.js';
import { renderKustomization } from './render.js';
import type { K8sObject } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const NS = 'splitdns';
const silent = pino({ level: 'silent' });

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
interface Grant { group: string; resource: string; verb: string; namespace?: string /* undefined: cluster-wide */ }

async function kube(api: KubeApiDouble, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const res = await fetch(api.url + path, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${json.message}`);
  return json;
}

async function eventually<T>(what: string, limitMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a service account may do, from the RoleBindings and ClusterRoleBindings in `objs`. */
function grantsOf(objs: K8sObject[], sa: string): Grant[] {
  const boundTo = (b: K8sObject) => ((b.subjects ?? []) as { kind: string; name: string; namespace?: string }[])
    .some((s) => s.kind === 'ServiceAccount' && s.name === sa && (s.namespace ?? b.metadata.namespace) === NS);
  const role = (kind: string, name: string, namespace?: string) => objs.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace);
  const out: Grant[] = [];
  const add = (rules: Rule[], namespace?: string) => {
    for (const r of rules) for (const group of r.apiGroups) for (const resource of r.resources) for (const verb of r.verbs) out.push({ group, resource, verb, namespace });
  };
  for (const b of objs.filter((o) => o.kind === 'ClusterRoleBinding' && boundTo(o))) add((role('ClusterRole', (b.roleRef as { name: string }).name)?.rules ?? []) as Rule[]);
  for (const b of objs.filter((o) => o.kind === 'RoleBinding' && boundTo(o))) {
    const ref = b.roleRef as { kind: string; name: string };
    add(((ref.kind === 'Role' ? role('Role', ref.name, b.metadata.namespace) : role('ClusterRole', ref.name))?.rules ?? []) as Rule[], b.metadata.namespace);
  }
  return out;
}

const allows = (g: Grant, n: RbacNeed) => g.group === n.group && g.resource === n.resource && g.verb === n.verb && (g.namespace === undefined || g.namespace === n.namespace);
const show = (x: { group: string; resource: string; verb: string; namespace?: string }) => `${x.verb} ${x.group || 'core'}/${x.resource}${x.namespace ? ` in ${x.namespace}` : ' (cluster-wide)'}`;

function sampleCrs(): any[] {
  return ['corp-zone.yaml', 'forwarder.yaml', 'statichosts.yaml']
    .flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'samples', f), 'utf8')).map((d) => d.toJS()));
}

const PATHS: Record<string, (o: any) => string> = {
  DNSZone: () => '/apis/splitdns.io/v1alpha1/dnszones',
  DNSForwarder: () => '/apis/splitdns.io/v1alpha1/dnsforwarders',
  StaticHost: (o) => `/apis/splitdns.io/v1alpha1/namespaces/${o.metadata.namespace}/statichosts`,
};

describe('install: RBAC against the calls the code makes', function () {
  this.timeout(60000);
  let api: KubeApiDouble;
  let opProxy: ApiRecorder, dnsProxy: ApiRecorder;
  let server: DnsServer | undefined;
  let source: ConfigMapSource | undefined;
  let operator: Operator | undefined;
  let rendered: K8sObject[];

  before(async () => {
    rendered = renderKustomization(join(ROOT, 'config'));
    api = await KubeApiDouble.start({ bookmarkMs: 200 });
    opProxy = await ApiRecorder.start(api.port);
    dnsProxy = await ApiRecorder.start(api.port);
    for (const name of [NS, 'team-a']) await kube(api, 'POST', '/api/v1/namespaces', { metadata: { name } });

    // The DNS server, fed by its ConfigMap source through its own proxy.
    server = await startDnsServer({ port: 0, httpPort: 0, logger: silent, lameDuckMs: 0 });
    source = await startConfigMapSource({ kubeConfig: loadKubeConfig(dnsProxy.url), namespace: NS, server, logger: silent, backoff: { initialMs: 50, maxMs: 400 } });
    await kube(api, 'POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'dns-0', namespace: NS, labels: { 'app.kubernetes.io/name': 'splitdns-dns' } },
      spec: { containers: [{ name: 'dns-server', ports: [{ name: 'http', containerPort: server.httpPort }] }] },
      status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
    });

    operator = await startOperator({
      kubeConfig: loadKubeConfig(opProxy.url), namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns',
      debounceMs: 20, leaseDurationSeconds: 1, renewDeadlineMs: 800, retryPeriodMs: 100, confirmIntervalMs: 50,
      informerBackoff: { initialMs: 50, maxMs: 400 }, httpPort: null, logger: silent,
    });

    // 1. The samples: creates, status patches, events.
    for (const o of sampleCrs()) await kube(api, 'POST', PATHS[o.kind]!(o), o);
    const zoneReady = async (gen: number) => {
      const z = await kube(api, 'GET', '/apis/splitdns.io/v1alpha1/dnszones/corp');
      const ready = (z.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
      return z.status?.observedGeneration === gen && ready?.status === 'True' ? z : undefined;
    };
    await eventually('DNSZone corp Ready', 15000, () => zoneReady(1));

    // 2. Someone else touches the zone's shard ConfigMap, then the zone changes: the operator's
    //    update meets a 409, re-reads the ConfigMap and writes again.
    const cms = await kube(api, 'GET', `/api/v1/namespaces/${NS}/configmaps`);
    const cm = cms.items.find((c: any) => c.metadata.annotations?.['splitdns.io/shard-id'] === 'zone/corp.example');
    expect(cm, 'the zone shard ConfigMap').to.not.equal(undefined);
    await kube(api, 'PUT', `/api/v1/namespaces/${NS}/configmaps/${cm.metadata.name}`, { ...cm, metadata: { ...cm.metadata, labels: { ...cm.metadata.labels, touched: 'yes' } } });
    await kube(api, 'PATCH', '/apis/splitdns.io/v1alpha1/dnszones/corp', { spec: { ttl: 120 } }, 'application/merge-patch+json');
    await eventually('DNSZone corp Ready at generation 2', 15000, () => zoneReady(2));

    // 3. A resource goes away: its shard ConfigMap is deleted.
    await kube(api, 'DELETE', '/apis/splitdns.io/v1alpha1/dnszones/corp');
    await eventually('the zone shard ConfigMap deleted', 15000, async () => opProxy.calls.some((c) => c.method === 'DELETE') ? true : undefined);
    // 4. Leader election renews its Lease.
    await eventually('a Lease renewal', 15000, async () => opProxy.calls.some((c) => c.method === 'PUT' && c.url.includes('/leases/')) ? true : undefined);
  });

  after(async () => {
    await operator?.close();
    source?.close();
    await server?.close();
    await api?.close();
    await opProxy?.close();
    await dnsProxy?.close();
  });

  for (const [who, sa, proxy] of [['operator', 'splitdns-operator', () => opProxy], ['DNS server', 'splitdns-dns', () => dnsProxy]] as const) {
    it(`allows every call the ${who} made`, () => {
      const grants = grantsOf(rendered, sa);
      const needs = proxy().needs();
      expect(needs.length).to.be.greaterThan(0);
      const denied = [...new Set(needs.filter((n) => !grants.some((g) => allows(g, n))).map(show))];
      expect(denied, `${who} calls that ${sa}'s roles do not allow`).to.deep.equal([]);
    });

    it(`grants the ${who} nothing it did not use`, () => {
      const needs = proxy().needs();
      const unused = grantsOf(rendered, sa).filter((g) => !needs.some((n) => allows(g, n)));
      expect(unused.map(show), `${sa} rules no call used`).to.deep.equal([]);
    });
  }

  it('exercised the paths it meant to: a 409 re-read, a delete, status patches and events', () => {
    const calls = opProxy.calls.map((c) => `${c.method} ${new URL(c.url, 'http://x').pathname}`);
    expect(calls.some((c) => /^GET \/api\/v1\/namespaces\/splitdns\/configmaps\/[^/]+$/.test(c)), 'GET of one ConfigMap after the conflict').to.equal(true);
    expect(calls.some((c) => c.startsWith('PATCH ') && c.endsWith('/status'))).to.equal(true);
    expect(calls.some((c) => c.startsWith('POST /apis/events.k8s.io/'))).to.equal(true);
  });

  it('matches the verbs table in operator/controller/README.md', () => {
    const md = readFileSync(join(ROOT, 'operator/controller/README.md'), 'utf8');
    const section = md.split(/^### RBAC/m)[1]?.split(/^#/m)[0] ?? '';
    const documented = new Set<string>();
    for (const line of section.split('\n').filter((l) => /^\| `/.test(l))) {
      const [group, resources, verbs, scope] = line.split('|').slice(1, 5).map((c) => c.trim());
      const ticks = (c: string) => [...c.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
      const g = ticks(group!)[0] === '""' ? '' : ticks(group!)[0]!;
      for (const r of ticks(resources!)) for (const v of ticks(verbs!)) documented.add(`${v} ${g || 'core'}/${r}${scope!.startsWith('cluster') ? ' (cluster-wide)' : ` in ${NS}`}`);
    }
    expect(documented.size, 'rows parsed from the README table').to.be.greaterThan(5);
    expect([...new Set(grantsOf(rendered, 'splitdns-operator').map(show))].sort()).to.deep.equal([...documented].sort());
  });
});
