// End to end on the real kube-apiserver: the operator and two real DNS servers, each as its own
// ServiceAccount with the roles rendered from config/, replicas as real Pods. Names are asked
// through c-ares (node:dns Resolver). The only time bound is the issue's: a change is answered by
// both servers within 2 s. Faults the real server does not make on demand come from the proxy.
// After each test: the apiserver's audit log shows no request of either ServiceAccount refused.

import { expect } from 'chai';
import type { Envtest } from '../envtest/apiserver.js';
import { useEnvtest } from '../envtest/shared.js';
import { DNS_SA, installInto, OPERATOR_SA } from '../envtest/splitdns.js';
import { condition, CR, denials, ensureNamespaces, eventually, lookupA, servedEverywhere, startHarness, waitCondition } from './harness.js';
import type { Harness } from './harness.js';

const NS = 'e2e-splitdns';
const SH = (ns: string, name = '') => `${CR}/namespaces/${ns}/statichosts${name ? '/' + name : ''}`;
/** How long to wait for a change to show: generous, a busy 2-core machine is slow; each wait ends as soon as its condition holds. */
const LIMIT = 10000;

export function staticHost(name: string, hostnames: string[], addresses: string[]) {
  return { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name }, spec: { hostnames, addresses } };
}

/** The Events the events API lists for one object (by uid). */
async function eventsFor(h: Harness, obj: any): Promise<any[]> {
  const list = await h.kube('GET', `/apis/events.k8s.io/v1/namespaces/${obj.metadata.namespace}/events`);
  return list.items.filter((e: any) => e.regarding?.uid === obj.metadata.uid);
}

describe('real API e2e: operator + two DNS servers, each as its own ServiceAccount', function () {
  this.timeout(30000);
  let env: Envtest;
  let h: Harness;

  before(async function () {
    env = await useEnvtest(this);
    await installInto(env, NS);
    await ensureNamespaces(env, { 'team-a': {}, 'team-b': {}, 'team-c': {} });
  });
  beforeEach(async () => {
    h = await startHarness(env, NS);
    await h.kube('POST', `${CR}/dnszones`, {
      apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'corp' },
      spec: { domain: 'corp.example', ttl: 60, delegation: { namespaces: ['team-a', 'team-b'] } },
    });
    await h.startOperator();
  });
  afterEach(async () => {
    await h.close();
    expect(denials(env, NS), 'RBAC denials').to.deep.equal([]);
  });

  it('serves a new StaticHost on both servers, reports Programmed for its generation, and the events API lists its Events', async () => {
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    const o = await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 1);
    expect(condition(o, 'Accepted').status).to.equal('True');
    expect(condition(o, 'Ready').status).to.equal('True');
    const reasons = await eventually('Events for db', LIMIT, async () => {
      const r = (await eventsFor(h, o)).map((e) => e.reason).sort();
      return r.includes('Programmed') ? r : undefined;
    });
    expect(reasons).to.include.members(['Accepted', 'Programmed']);
    // The shards' ConfigMaps are labelled as ours and carry the hash the servers serve.
    const cms = await h.kube('GET', `/api/v1/namespaces/${NS}/configmaps`);
    const cm = cms.items.find((c: any) => c.metadata.annotations?.['splitdns.io/shard-id'] === 'hosts');
    expect(cm?.metadata.labels).to.include({ 'app.kubernetes.io/managed-by': 'splitdns' });
    for (const s of h.servers) expect(s.servedShards().find((x) => x.id === 'hosts')?.hash).to.equal(cm?.metadata.annotations['splitdns.io/shard-hash']);
  });

  it('serves an update and then the deletion on both servers; observedGeneration follows the spec', async () => {
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    await h.kube('PATCH', SH(NS, 'db'), { spec: { addresses: ['10.0.0.6', '10.0.0.7'] } }, 'application/merge-patch+json');
    await servedEverywhere(h, 'db.example.org', ['10.0.0.6', '10.0.0.7']);
    await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 2);
    await h.kube('DELETE', SH(NS, 'db'));
    await servedEverywhere(h, 'db.example.org', []);
  });

  it('writes neither ConfigMaps nor status when a change does not alter the output', async () => {
    const user = `system:serviceaccount:${NS}:${OPERATOR_SA}`;
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 1);
    await eventually('status settled (Ready)', LIMIT, async () => (condition(await h.kube('GET', SH(NS, 'db')), 'Ready')?.status === 'True' ? true : undefined));
    const from = env.audit(user).length;
    await h.kube('PATCH', SH(NS, 'db'), { metadata: { annotations: { note: 'metadata only' } } }, 'application/merge-patch+json');
    // A later, real change proves the operator ran after the no-op one.
    await h.kube('POST', SH(NS), staticHost('web', ['web.example.org'], ['10.0.0.9']));
    await waitCondition(h, SH(NS, 'web'), 'Programmed', 'True', 1);
    const since = env.audit(user).slice(from);
    const writes = (resource: string) => since.filter((e) => e.objectRef?.resource === resource && !['get', 'list', 'watch'].includes(e.verb));
    expect(writes('statichosts').filter((e) => e.objectRef?.name === 'db'), 'status writes of the unchanged resource').to.have.length(0);
    expect([...new Set(writes('configmaps').map((e) => e.objectRef?.name))], 'only the hosts shard moved').to.deep.equal(['splitdns-hosts']);
  });

  it('removes a name deleted while its watches were cut and the API unreachable, once it is back', async () => {
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    h.proxy.refuse = true;
    h.proxy.cut();
    await h.kube('DELETE', SH(NS, 'db'));
    // Blind while the API is unreachable: the name is still served (the test exercises the gap).
    expect(await lookupA(h.servers[0]!, 'db.example.org')).to.deep.equal(['10.0.0.5']);
    h.proxy.refuse = false;
    await servedEverywhere(h, 'db.example.org', []);
  });

  it('removes a name deleted while no operator runs, when one starts again', async () => {
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    await h.operators.pop()!.close();
    await h.kube('DELETE', SH(NS, 'db'));
    expect(await lookupA(h.servers[0]!, 'db.example.org')).to.deep.equal(['10.0.0.5']);
    await h.startOperator();
    await servedEverywhere(h, 'db.example.org', []);
  });

  it('keeps serving changes across an apiserver restart, including one made while its watches were away', async function () {
    this.timeout(120000);
    await h.kube('POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    h.proxy.refuse = true;
    h.proxy.cut();
    await h.kube('PATCH', SH(NS, 'db'), { spec: { addresses: ['10.0.0.8'] } }, 'application/merge-patch+json');
    await env.restartApiServer(); // a fresh watch cache: watches resumed from before may get 410 Gone and relist
    h.proxy.refuse = false;
    await servedEverywhere(h, 'db.example.org', ['10.0.0.8'], 10000);
    try { await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 2, 10000); } catch (err) {
      // Say what the operator last did: its status and its last requests as the apiserver saw them.
      const status = JSON.stringify((await h.kube('GET', SH(NS, 'db'))).status);
      const last = env.audit(`system:serviceaccount:${NS}:${OPERATOR_SA}`).filter((e) => e.objectRef?.resource !== 'leases').slice(-15)
        .map((e) => `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''} ${e.objectRef?.name ?? ''} → ${e.responseStatus?.code}`);
      throw new Error(`${(err as Error).message}; status ${status}; the operator's last requests: ${last.join('; ')}`, { cause: err });
    }
    await h.kube('PATCH', SH(NS, 'db'), { spec: { addresses: ['10.0.0.9'] } }, 'application/merge-patch+json');
    await servedEverywhere(h, 'db.example.org', ['10.0.0.9']);
  });

  it('reports Conflict on the younger of two StaticHosts claiming one name and serves the older', async () => {
    await h.kube('POST', SH('team-a'), staticHost('build', ['build.corp.example'], ['10.0.1.1']));
    await servedEverywhere(h, 'build.corp.example', ['10.0.1.1']);
    await h.kube('POST', SH('team-b'), staticHost('zz-build', ['build.corp.example'], ['10.0.2.2']));
    const o = await waitCondition(h, SH('team-b', 'zz-build'), 'Accepted', 'False');
    expect(condition(o, 'Accepted').reason).to.equal('Conflict');
    expect(condition(o, 'Accepted').message).to.contain('build');
    expect(condition(o, 'Ready').status).to.equal('False');
    await waitCondition(h, SH('team-a', 'build'), 'Programmed', 'True', 1);
    for (const s of h.servers) expect(await lookupA(s, 'build.corp.example')).to.deep.equal(['10.0.1.1']);
  });

  it('reports NotPermitted for a StaticHost in a namespace without delegation, with a Warning Event, and never serves it', async () => {
    const created = await h.kube('POST', SH('team-c'), staticHost('sneaky', ['sneaky.corp.example'], ['10.0.3.3']));
    const o = await waitCondition(h, SH('team-c', 'sneaky'), 'Accepted', 'False');
    expect(condition(o, 'Accepted').reason).to.equal('NotPermitted');
    // A later accepted change is Programmed, so the servers carry a config compiled with the rejected one.
    await h.kube('POST', SH('team-a'), staticHost('ok', ['ok.corp.example'], ['10.0.1.2']));
    await waitCondition(h, SH('team-a', 'ok'), 'Programmed', 'True', 1);
    for (const s of h.servers) expect(await lookupA(s, 'sneaky.corp.example')).to.deep.equal([]);
    const warn = await eventually('a NotPermitted Event', LIMIT, async () => (await eventsFor(h, created)).find((e) => e.reason === 'NotPermitted'));
    expect(warn.type).to.equal('Warning');
  });

  it('elects one leader of two operators and fails over when the leader stops', async () => {
    const second = await h.startOperator({ identity: 'second' });
    const [first] = h.operators;
    await eventually('a leader', LIMIT, () => (first!.isLeader || second.isLeader ? true : undefined));
    for (let i = 0; i < 5; i++) {
      expect(first!.isLeader && second.isLeader, 'both lead').to.equal(false);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [leader, standby] = first!.isLeader ? [first!, second] : [second, first!];
    expect(standby.synced).to.equal(true);
    await leader.close();
    h.operators.splice(h.operators.indexOf(leader), 1);
    await eventually('the standby takes over', LIMIT, () => (standby.isLeader ? true : undefined));
    const lease = await h.kube('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/splitdns-operator`);
    expect(lease.spec.leaseTransitions).to.be.greaterThan(0);
    await h.kube('POST', SH(NS), staticHost('after', ['after.example.org'], ['10.0.0.42']));
    await servedEverywhere(h, 'after.example.org', ['10.0.0.42']);
    await waitCondition(h, SH(NS, 'after'), 'Programmed', 'True', 1);
  });
});

describe('real API e2e: a role missing one rule', function () {
  this.timeout(30000);
  const NS2 = 'e2e-short-rbac';

  it('the audit log shows the operator refused (status patch of StaticHosts dropped from its ClusterRole)', async function () {
    const env = await useEnvtest(this);
    await installInto(env, NS2, (o) => {
      if (o.kind !== 'ClusterRole' || !o.rules) return;
      for (const r of o.rules) r.resources = r.resources.filter((x) => x !== 'statichosts/status');
    });
    const h = await startHarness(env, NS2);
    try {
      await h.startOperator();
      await h.kube('POST', SH(NS2), staticHost('db', ['db.example.org'], ['10.0.0.5']));
      await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
      const refused = await eventually('a 403', 5000, () => {
        const d = denials(env, NS2);
        return d.length ? d : undefined;
      });
      expect(refused).to.include(`system:serviceaccount:${NS2}:${OPERATOR_SA}: patch statichosts/status ${NS2}`);
    } finally { await h.close(); }
  });
});
