// End to end: the operator and two real DNS servers (ConfigMap source) against the Kubernetes
// API double. Names are asked through c-ares (node:dns Resolver). The only time bound is the
// issue's: a change is answered by both servers within 2 s.

import { expect } from 'chai';
import { condition, eventually, kube, lookupA, NS, startHarness } from './harness.js';
import type { Harness } from './harness.js';

const SH = (ns: string, name = '') => `/apis/splitdns.io/v1alpha1/namespaces/${ns}/statichosts${name ? '/' + name : ''}`;
const LIMIT = 2000;

function staticHost(name: string, hostnames: string[], addresses: string[]) {
  return { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name }, spec: { hostnames, addresses } };
}

async function servedEverywhere(h: Harness, name: string, want: string[]): Promise<void> {
  await eventually(`${name} → ${want.join(',') || 'nothing'} on both servers`, LIMIT, async () => {
    const answers = await Promise.all(h.servers.map((s) => lookupA(s, name)));
    return answers.every((a) => JSON.stringify(a) === JSON.stringify(want)) ? true : undefined;
  });
}

async function waitCondition(h: Harness, path: string, type: string, status: string, generation?: number): Promise<any> {
  return eventually(`${path} ${type}=${status}`, 5000, async () => {
    const o = await kube(h.api, 'GET', path);
    const c = condition(o, type);
    return c?.status === status && (generation === undefined || (c.observedGeneration === generation && o.status.observedGeneration === generation)) ? o : undefined;
  });
}

describe('e2e: operator + two DNS servers against the API double', function () {
  this.timeout(20000);
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness({ namespaces: { 'team-a': {}, 'team-b': {}, 'team-c': {} } });
    await kube(h.api, 'POST', '/apis/splitdns.io/v1alpha1/dnszones', {
      apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'corp' },
      spec: { domain: 'corp.example', ttl: 60, delegation: { namespaces: ['team-a', 'team-b'] } },
    });
    await h.startOperator();
  });
  afterEach(async () => { await h.close(); });

  it('serves a new StaticHost on both servers and reports Programmed for its generation, with Events', async () => {
    await kube(h.api, 'POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    const o = await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 1);
    expect(condition(o, 'Accepted').status).to.equal('True');
    expect(condition(o, 'Ready').status).to.equal('True');
    const reasons = await eventually('events', 2000, () => {
      const r = h.api.list('events', NS, 'events.k8s.io').filter((e) => e.regarding?.name === 'db').map((e) => e.reason).sort();
      return r.includes('Programmed') ? r : undefined;
    });
    expect(reasons).to.include.members(['Accepted', 'Programmed']);
    // Both shards' ConfigMaps are labelled as ours and carry the hash the servers serve.
    const cm = h.api.list('configmaps', NS).find((c) => c.metadata.annotations?.['splitdns.io/shard-id'] === 'hosts');
    expect(cm?.metadata.labels).to.include({ 'app.kubernetes.io/managed-by': 'splitdns' });
    for (const s of h.servers) expect(s.servedShards().find((x) => x.id === 'hosts')?.hash).to.equal(cm?.metadata.annotations['splitdns.io/shard-hash']);
  });

  it('serves an update and then the deletion on both servers; observedGeneration follows the spec', async () => {
    await kube(h.api, 'POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    await kube(h.api, 'PATCH', SH(NS, 'db'), { spec: { addresses: ['10.0.0.6', '10.0.0.7'] } }, 'application/merge-patch+json');
    await servedEverywhere(h, 'db.example.org', ['10.0.0.6', '10.0.0.7']);
    await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 2);
    await kube(h.api, 'DELETE', SH(NS, 'db'));
    await servedEverywhere(h, 'db.example.org', []);
  });

  it('writes neither ConfigMaps nor status when a change does not alter the output', async () => {
    await kube(h.api, 'POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 1);
    await new Promise((r) => setTimeout(r, 300)); // let confirmation settle
    const from = h.api.requests.length;
    await kube(h.api, 'PATCH', SH(NS, 'db'), { metadata: { annotations: { note: 'metadata only' } } }, 'application/merge-patch+json');
    // A later, real change proves the operator ran after the no-op one.
    await kube(h.api, 'POST', SH(NS), staticHost('web', ['web.example.org'], ['10.0.0.9']));
    await waitCondition(h, SH(NS, 'web'), 'Programmed', 'True', 1);
    const since = h.api.requests.slice(from);
    expect(since.filter((r) => r.path.endsWith('/statichosts/db/status')), 'status writes of the unchanged resource').to.have.length(0);
    const cmWrites = since.filter((r) => r.path.includes('/configmaps/') && r.method !== 'GET');
    expect(cmWrites.map((r) => r.path), 'only the hosts shard moved').to.deep.equal([`/api/v1/namespaces/${NS}/configmaps/splitdns-hosts`]);
  });

  it('removes a name deleted while the watches were down, after they reconnect (relist)', async () => {
    await kube(h.api, 'POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    h.api.outage = true;
    h.api.dropWatches();
    await kube(h.api, 'DELETE', SH(NS, 'db'));
    h.api.compact();
    await new Promise((r) => setTimeout(r, 300));
    // Blind while the API is down: the name is still served (the test exercises the gap).
    expect(await lookupA(h.servers[0], 'db.example.org')).to.deep.equal(['10.0.0.5']);
    h.api.outage = false;
    await servedEverywhere(h, 'db.example.org', []);
  });

  it('relists after a 410 Gone in the middle of a watch and keeps serving changes', async () => {
    await kube(h.api, 'POST', SH(NS), staticHost('db', ['db.example.org'], ['10.0.0.5']));
    await servedEverywhere(h, 'db.example.org', ['10.0.0.5']);
    const lists = () => h.api.requests.filter((r) => r.method === 'GET' && r.path === '/apis/splitdns.io/v1alpha1/statichosts').length;
    const before = lists();
    h.api.expireWatches();
    await eventually('the StaticHost informer relisted', LIMIT, () => (lists() > before ? true : undefined));
    await kube(h.api, 'PATCH', SH(NS, 'db'), { spec: { addresses: ['10.0.0.8'] } }, 'application/merge-patch+json');
    await servedEverywhere(h, 'db.example.org', ['10.0.0.8']);
    await waitCondition(h, SH(NS, 'db'), 'Programmed', 'True', 2);
  });

  it('reports Conflict on the younger of two StaticHosts claiming one name and serves the older', async () => {
    await kube(h.api, 'POST', SH('team-a'), staticHost('build', ['build.corp.example'], ['10.0.1.1']));
    await servedEverywhere(h, 'build.corp.example', ['10.0.1.1']);
    await kube(h.api, 'POST', SH('team-b'), staticHost('zz-build', ['build.corp.example'], ['10.0.2.2']));
    const o = await waitCondition(h, SH('team-b', 'zz-build'), 'Accepted', 'False');
    expect(condition(o, 'Accepted').reason).to.equal('Conflict');
    expect(condition(o, 'Accepted').message).to.contain('build');
    expect(condition(o, 'Ready').status).to.equal('False');
    await waitCondition(h, SH('team-a', 'build'), 'Programmed', 'True', 1);
    for (const s of h.servers) expect(await lookupA(s, 'build.corp.example')).to.deep.equal(['10.0.1.1']);
  });

  it('reports NotPermitted for a StaticHost in a namespace without delegation and never serves it', async () => {
    await kube(h.api, 'POST', SH('team-c'), staticHost('sneaky', ['sneaky.corp.example'], ['10.0.3.3']));
    const o = await waitCondition(h, SH('team-c', 'sneaky'), 'Accepted', 'False');
    expect(condition(o, 'Accepted').reason).to.equal('NotPermitted');
    // A later accepted change is Programmed, so the servers carry a config compiled with the rejected one.
    await kube(h.api, 'POST', SH('team-a'), staticHost('ok', ['ok.corp.example'], ['10.0.1.2']));
    await waitCondition(h, SH('team-a', 'ok'), 'Programmed', 'True', 1);
    for (const s of h.servers) expect(await lookupA(s, 'sneaky.corp.example')).to.deep.equal([]);
    const warn = h.api.list('events', 'team-c', 'events.k8s.io').find((e) => e.regarding?.name === 'sneaky');
    expect(warn?.reason).to.equal('NotPermitted');
    expect(warn?.type).to.equal('Warning');
  });

  it('elects one leader of two operators and fails over when the leader stops', async () => {
    const second = await h.startOperator({ identity: 'second' });
    const [first] = h.operators;
    await eventually('a leader', LIMIT, () => (first.isLeader || second.isLeader ? true : undefined));
    for (let i = 0; i < 5; i++) {
      expect(first.isLeader && second.isLeader, 'both lead').to.equal(false);
      await new Promise((r) => setTimeout(r, 100));
    }
    const [leader, standby] = first.isLeader ? [first, second] : [second, first];
    expect(standby.synced).to.equal(true);
    await leader.close();
    h.operators.splice(h.operators.indexOf(leader), 1);
    await eventually('the standby takes over', 5000, () => (standby.isLeader ? true : undefined));
    const lease = await kube(h.api, 'GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/splitdns-operator`);
    expect(lease.spec.leaseTransitions).to.be.greaterThan(0);
    await kube(h.api, 'POST', SH(NS), staticHost('after', ['after.example.org'], ['10.0.0.42']));
    await servedEverywhere(h, 'after.example.org', ['10.0.0.42']);
    await waitCondition(h, SH(NS, 'after'), 'Programmed', 'True', 1);
  });
});
