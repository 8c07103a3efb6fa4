// RBAC grants exactly what the code calls. The real operator and the real DNS server with its
// ConfigMap source run against the real kube-apiserver (test/envtest), each as its own
// ServiceAccount bound to the roles rendered from config/, through a scenario that exercises
// every write path (create, update after a conflict, delete, status, events and an Event series,
// leader election).
// The apiserver's audit log records every request each ServiceAccount made: every one must have
// been allowed (no 403), each must be allowed by the rendered roles, and every rule in those
// roles must have been used.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { AuditEvent, Envtest } from '../envtest/apiserver.js';
import { ROOT } from '../envtest/assets.js';
import { createNamespace } from '../envtest/kube.js';
import { useEnvtest } from '../envtest/shared.js';
import { DNS_SA, installInto, OPERATOR_SA } from '../envtest/splitdns.js';
import { eventually, startHarness } from '../e2e/harness.js';
import type { Harness } from '../e2e/harness.js';
import type { K8sObject } from './render.js';

const NS = 'rbac-calls';

interface RbacNeed { group: string; resource: string; verb: string; namespace?: string }

/** The RBAC a request needed, as the apiserver's authorizer saw it (from its audit entry). */
function needOf(e: AuditEvent): RbacNeed {
  const r = e.objectRef ?? {};
  return { group: r.apiGroup ?? '', resource: `${r.resource}${r.subresource ? `/${r.subresource}` : ''}`, verb: e.verb, namespace: r.namespace };
}

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }
interface Grant { group: string; resource: string; verb: string; namespace?: string /* undefined: cluster-wide */ }

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
    .flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'samples', f), 'utf8')).map((d) => d.toJS()))
    .map((o) => (o.metadata.namespace === 'splitdns' ? { ...o, metadata: { ...o.metadata, namespace: NS } } : o));
}

const PATHS: Record<string, (o: any) => string> = {
  DNSZone: () => '/apis/splitdns.io/v1alpha1/dnszones',
  DNSForwarder: () => '/apis/splitdns.io/v1alpha1/dnsforwarders',
  StaticHost: (o) => `/apis/splitdns.io/v1alpha1/namespaces/${o.metadata.namespace}/statichosts`,
};

describe('real API: RBAC against the calls the code makes', function () {
  this.timeout(60000);
  let env: Envtest;
  let h: Harness | undefined;
  let rendered: K8sObject[];
  const user = (sa: string) => `system:serviceaccount:${NS}:${sa}`;

  before(async function () {
    env = await useEnvtest(this);
    rendered = await installInto(env, NS) as unknown as K8sObject[];
    for (const name of ['team-a', 'shop']) await createNamespace(env, name);
    h = await startHarness(env, NS, { replicas: 1 });
    await h.startOperator({ httpPort: null });
    const kube = h.kube;

    // 1. The samples: creates, status patches, events.
    for (const o of sampleCrs()) await kube('POST', PATHS[o.kind]!(o), o);
    const zoneReady = async (gen: number) => {
      const z = await kube('GET', '/apis/splitdns.io/v1alpha1/dnszones/corp');
      const ready = (z.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
      return z.status?.observedGeneration === gen && ready?.status === 'True' ? z : undefined;
    };
    await eventually('DNSZone corp Ready', 15000, () => zoneReady(1));

    // 2. Someone else touches the zone's shard ConfigMap, then the zone changes: the operator's
    //    update meets a 409, re-reads the ConfigMap and writes again.
    const cms = await kube('GET', `/api/v1/namespaces/${NS}/configmaps`);
    const cm = cms.items.find((c: any) => c.metadata.annotations?.['splitdns.io/shard-id'] === 'zone/corp.example');
    expect(cm, 'the zone shard ConfigMap').to.not.equal(undefined);
    await kube('PUT', `/api/v1/namespaces/${NS}/configmaps/${cm.metadata.name}`, { ...cm, metadata: { ...cm.metadata, labels: { ...cm.metadata.labels, touched: 'yes' } } });
    await kube('PATCH', '/apis/splitdns.io/v1alpha1/dnszones/corp', { spec: { ttl: 120 } }, 'application/merge-patch+json');
    await eventually('DNSZone corp Ready at generation 2', 15000, () => zoneReady(2));

    // 2b. A StaticHost is refused, then accepted again: the second Accepted Event of the same
    //     object is a repeat, recorded as a series (PATCH of the existing Event).
    const host = `/apis/splitdns.io/v1alpha1/namespaces/team-a/statichosts/build-farm`;
    const accepted = async (status: string) => {
      const o = await kube('GET', host);
      const c = (o.status?.conditions ?? []).find((x: any) => x.type === 'Accepted');
      return c?.status === status && c?.observedGeneration === o.metadata.generation ? o : undefined;
    };
    await eventually('StaticHost build-farm Accepted', 15000, () => accepted('True'));
    await kube('PATCH', host, { spec: { hostnames: ['build.elsewhere.example'] } }, 'application/merge-patch+json');
    await eventually('StaticHost build-farm NotPermitted', 15000, () => accepted('False'));
    await kube('PATCH', host, { spec: { hostnames: ['build.corp.example'] } }, 'application/merge-patch+json');
    await eventually('StaticHost build-farm Accepted again', 15000, () => accepted('True'));
    const opCalls = () => env.audit(user(OPERATOR_SA));
    await eventually('an Event series patched', 15000, () => (opCalls().some((e) => e.verb === 'patch' && e.objectRef?.apiGroup === 'events.k8s.io') ? true : undefined));

    // 3. A resource goes away: its shard ConfigMap is deleted.
    await kube('DELETE', '/apis/splitdns.io/v1alpha1/dnszones/corp');
    const op = () => env.audit(user(OPERATOR_SA));
    await eventually('the zone shard ConfigMap deleted', 15000, () => (op().some((e) => e.verb === 'delete' && e.objectRef?.resource === 'configmaps') ? true : undefined));
    // 4. Leader election renews its Lease.
    await eventually('a Lease renewal', 15000, () => (op().some((e) => e.verb === 'update' && e.objectRef?.resource === 'leases') ? true : undefined));
  });

  after(async () => { await h?.close(); });

  for (const [who, sa] of [['operator', OPERATOR_SA], ['DNS server', DNS_SA]] as const) {
    it(`the apiserver allowed every call the ${who} made`, () => {
      const calls = env.audit(user(sa));
      expect(calls.length).to.be.greaterThan(0);
      const refused = calls.filter((e) => e.responseStatus?.code === 403).map((e) => show(needOf(e)));
      expect([...new Set(refused)], `${who} calls refused`).to.deep.equal([]);
    });

    it(`the rendered roles allow every call the ${who} made`, () => {
      const grants = grantsOf(rendered, sa);
      const needs = env.audit(user(sa)).map(needOf);
      const denied = [...new Set(needs.filter((n) => !grants.some((g) => allows(g, n))).map(show))];
      expect(denied, `${who} calls that ${sa}'s roles do not allow`).to.deep.equal([]);
    });

    it(`grants the ${who} nothing it did not use`, () => {
      const needs = env.audit(user(sa)).map(needOf);
      const unused = grantsOf(rendered, sa).filter((g) => !needs.some((n) => allows(g, n)));
      expect(unused.map(show), `${sa} rules no call used`).to.deep.equal([]);
    });
  }

  it('exercised the paths it meant to: a 409 re-read, a delete, status patches and events', () => {
    const calls = env.audit(user(OPERATOR_SA));
    expect(calls.some((e) => e.verb === 'update' && e.objectRef?.resource === 'configmaps' && e.responseStatus?.code === 409), 'a ConfigMap update that met 409').to.equal(true);
    expect(calls.some((e) => e.verb === 'get' && e.objectRef?.resource === 'configmaps'), 'GET of one ConfigMap after the conflict').to.equal(true);
    expect(calls.some((e) => e.verb === 'patch' && e.objectRef?.subresource === 'status')).to.equal(true);
    expect(calls.some((e) => e.verb === 'create' && e.objectRef?.apiGroup === 'events.k8s.io' && (e.responseStatus?.code ?? 0) < 300), 'an Event created').to.equal(true);
    expect(calls.some((e) => e.verb === 'patch' && e.objectRef?.apiGroup === 'events.k8s.io' && (e.responseStatus?.code ?? 0) < 300), 'an Event series patched').to.equal(true);
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
    expect([...new Set(grantsOf(rendered, OPERATOR_SA).map(show))].sort()).to.deep.equal([...documented].sort());
  });
});
