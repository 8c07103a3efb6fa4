// The operator against a real kube-apiserver (test/envtest): two DNS servers fed by the
// ConfigMap source, their Pods made Running/Ready through the status subresource (no kubelet
// here), the operator as its own ServiceAccount. Bugs of issue 9 that only a real API shows:
// Event names (2), status rewritten on every restart (3), transition times (4), informer
// backoff after an outage (5), field manager and User-Agent (6), and the Lease on an injected
// clock (issue 13).

import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { configMapName } from '../../../dns-server/config/configmap-form.js';
import { startDnsServer } from '../../../dns-server/server.js';
import type { DnsServer } from '../../../dns-server/server.js';
import { startConfigMapSource } from '../../../dns-server/source/configmap.js';
import type { ConfigMapSource } from '../../../dns-server/source/configmap.js';
import { startOperator } from '../../../operator/controller/controller.js';
import type { Operator, OperatorOptions } from '../../../operator/controller/controller.js';
import { ResourceInformer } from '../../../kube/informer.js';
import { createKubeClient, OPERATOR_FIELD_MANAGER } from '../../../kube/kube-client.js';
import { LeaderElector } from '../../../operator/controller/leader.js';
import { StatusWriter } from '../../../operator/controller/status-writer.js';
import type { AuditEvent, Envtest } from '../../envtest/apiserver.js';
import { apply, createNamespace, createServiceAccount, kubeConfigFor } from '../../envtest/kube.js';
import { ApiProxy } from '../../envtest/proxy.js';
import { useEnvtest } from '../../envtest/shared.js';
import { installCrds } from '../../envtest/splitdns.js';
import { until as waitUntil } from '../../helpers/until.js';

const NS = 'op-real';
const SA = `system:serviceaccount:${NS}:operator`;
const silent = pino({ level: 'silent' });

/** Waits up to 15 s, an API error counting as "not yet" (test/helpers/until.ts). */
const until = <T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, limitMs = 15000) => waitUntil(what, check, limitMs, { pollMs: 25, retryErrors: true });

const cond = (o: any, type: string) => (o?.status?.conditions ?? []).find((c: any) => c.type === type);
const k8sTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A fake clock for condition and Event times: starts a day ago, moves only when told. */
function fakeClock() {
  let t = Date.parse('2026-01-01T00:00:00Z');
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('real API: operator', function () {
  let env: Envtest;
  const servers: DnsServer[] = [];
  const sources: ConfigMapSource[] = [];
  const operators: Operator[] = [];
  let opKubeConfig: any;

  const hostPath = (name: string) => `/apis/splitdns.io/v1alpha1/namespaces/${NS}/statichosts/${name}`;
  const getHost = (name: string) => env.request('GET', hostPath(name));
  const staticHost = (name: string, address: string) => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name, namespace: NS }, spec: { hostnames: [`${name}.example.org`], addresses: [address] } });

  async function runOperator(extra: Partial<OperatorOptions> = {}): Promise<Operator> {
    const op = await startOperator({
      kubeConfig: opKubeConfig, namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns',
      debounceMs: 20, leaseDurationSeconds: 2, renewDeadlineMs: 1500, retryPeriodMs: 200, confirmIntervalMs: 50,
      logger: silent, registry: new Registry(), ...extra,
    });
    operators.push(op);
    return op;
  }
  async function stopOperators(): Promise<void> {
    for (const op of operators.splice(0)) await op.close();
  }

  before(async function () {
    env = await useEnvtest(this);
    await installCrds(env);
    await createNamespace(env, NS);
    await createServiceAccount(env, NS, 'operator');
    await apply(env, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'op-real-operator' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: NS }] } as any);
    opKubeConfig = await kubeConfigFor(env, NS, 'operator');
    for (let i = 0; i < 2; i++) {
      const server = await startDnsServer({ port: 0, httpPort: 0, logger: silent, lameDuckMs: 0 });
      servers.push(server);
      sources.push(await startConfigMapSource({ kubeConfig: env.kubeConfig(), namespace: NS, server, logger: silent, backoff: { initialMs: 50, maxMs: 400 } }));
      const name = `dns-${i}`;
      await env.request('POST', `/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels: { 'app.kubernetes.io/name': 'splitdns-dns' } },
        spec: { containers: [{ name: 'dns-server', image: 'splitdns:test', ports: [{ name: 'http', containerPort: server.httpPort! }] }] },
      });
      await env.request('PATCH', `/api/v1/namespaces/${NS}/pods/${name}/status`, {
        status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] },
      }, 'application/merge-patch+json');
    }
  });
  afterEach(stopOperators);
  after(async () => {
    for (const s of sources) s.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  const programmedHost = (name: string, generation = 1) => until(`${name} generation ${generation} Programmed`, async () => {
    const o = await getHost(name);
    const p = cond(o, 'Programmed');
    return p?.status === 'True' && p.observedGeneration === generation ? o : undefined;
  });
  const createHost = (name: string, address: string) => env.request('POST', `/apis/splitdns.io/v1alpha1/namespaces/${NS}/statichosts`, staticHost(name, address));

  it('stamps condition times from its clock at the real transition and keeps them while the status holds', async () => {
    const clock = fakeClock();
    const startedAt = clock.now();
    const op = await runOperator({ now: clock.now });
    await until('leader and synced', () => op.isLeader && op.synced);
    clock.advance(60_000);
    const created = clock.now();
    await createHost('db', '10.1.0.1');
    const db = await programmedHost('db');
    // Bug 4: the time of the transition, not the operator's start time.
    expect(cond(db, 'Accepted').lastTransitionTime).to.equal(k8sTime(created));
    expect(cond(db, 'Ready').lastTransitionTime).to.equal(k8sTime(created));
    expect(cond(db, 'Accepted').lastTransitionTime).to.not.equal(k8sTime(startedAt));
    // Another resource moves the same shard later: db's status (and its times) stay as they are.
    clock.advance(60_000);
    await createHost('web', '10.1.0.2');
    const web = await programmedHost('web');
    expect(cond(web, 'Accepted').lastTransitionTime).to.equal(k8sTime(clock.now()));
    expect((await getHost('db')).status).to.deep.equal(db.status);
    // A spec change: Accepted holds (its time too). Programmed transitions only if a status
    // saying it was not (yet) Programmed was written for generation 2, at the clock's time; when
    // the replicas already served generation 2 at the operator's first write after the publish
    // (the usual case), it stays True throughout and keeps its time.
    clock.advance(60_000);
    const changed = clock.now();
    await env.request('PATCH', hostPath('db'), { spec: { addresses: ['10.1.0.3'] } }, 'application/merge-patch+json');
    const db3 = await programmedHost('db', 2);
    expect(cond(db3, 'Accepted').lastTransitionTime).to.equal(k8sTime(created));
    expect(cond(db3, 'Programmed').observedGeneration).to.equal(2);
    expect(cond(db3, 'Programmed').lastTransitionTime).to.be.oneOf([k8sTime(created), k8sTime(changed)]);
  });

  it('records Events for a StaticHost accepted and programmed', async () => {
    await runOperator();
    await createHost('ev', '10.1.1.1');
    await programmedHost('ev');
    // Bug 2: Events are created (their name used to be refused, 422).
    const events = await until('Events for ev', async () => {
      const list = await env.request('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('regarding.name=ev')}`);
      const reasons = list.items.map((e: any) => e.reason).sort();
      return reasons.join() === 'Accepted,Programmed' ? list.items : undefined;
    }, 5000);
    for (const e of events) {
      expect(e.regarding).to.include({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', name: 'ev', namespace: NS });
      expect(e).to.include({ reportingController: 'splitdns.io/operator', type: 'Normal' });
    }
  });

  it('writes everything as field manager splitdns-operator and sends its User-Agent', async () => {
    const op = await runOperator();
    await createHost('fm', '10.1.2.1');
    const fm = await programmedHost('fm');
    await until('Events for fm', async () => (await env.request('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('regarding.name=fm')}`)).items.length === 2);
    const managers = (o: any) => (o.metadata.managedFields ?? []).map((f: any) => `${f.manager}${f.subresource ? '/' + f.subresource : ''}`);
    expect(managers(fm)).to.include(`${OPERATOR_FIELD_MANAGER}/status`);
    const cms = await env.request('GET', `/api/v1/namespaces/${NS}/configmaps?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=splitdns')}`);
    expect(cms.items).to.not.have.length(0);
    for (const cm of cms.items) expect(managers(cm)).to.deep.equal([OPERATOR_FIELD_MANAGER]);
    const lease = await env.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/splitdns-operator`);
    expect(managers(lease)).to.deep.equal([OPERATOR_FIELD_MANAGER]);
    const events = (await env.request('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('regarding.name=fm')}`)).items;
    for (const e of events) expect(managers(e)).to.deep.equal([OPERATOR_FIELD_MANAGER]);
    await op.close();
    const audit = env.audit(SA);
    const agents = new Set(audit.map((e) => (e as any).userAgent as string));
    expect([...agents].every((a) => /^splitdns-operator\/\d+\.\d+\.\d+$/.test(a)), [...agents].join(', ')).to.equal(true);
    expect(audit.some((e) => e.verb === 'watch'), 'watches are in the audit too').to.equal(true);
    // 404/409 are expected answers (a Lease not there yet, a stale resourceVersion); 429: a CR
    // list while its CRD was still being set up, retried.
    const failed = audit.filter((e) => (e.responseStatus?.code ?? 0) >= 400 && ![404, 409, 429].includes(e.responseStatus!.code));
    expect(failed.map((e) => `${e.verb} ${e.requestURI} ${e.responseStatus?.code}`)).to.deep.equal([]);
  });

  it('a change elsewhere leaves a settled status alone: the status writer is not asked to diff it again (issue 16)', async () => {
    // write() is what diffs a status against the live one; settled() is asked first. Both spied on the prototype.
    const proto = StatusWriter.prototype as any;
    const { write, settled } = proto;
    const calls: { fn: string; r: any }[] = [];
    proto.write = function (r: any, ...rest: unknown[]) { calls.push({ fn: 'write', r }); return write.call(this, r, ...rest); };
    proto.settled = function (r: any, ...rest: unknown[]) { calls.push({ fn: 'settled', r }); return settled.call(this, r, ...rest); };
    try {
      const op = await runOperator();
      await createHost('quiet', '10.3.0.1');
      await programmedHost('quiet');
      // A Service: a new compile, whose result for 'quiet' is a new object with the same status.
      // The first one also carries quiet's live object as its status write left it (a new object:
      // compared once); the second finds both as before.
      const svc = (name: string) => env.request('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } });
      const passWith = async (name: string) => {
        const before = op.lastResult;
        await svc(name);
        const quiet = await until(`a compile with Service ${name}`, () => op.lastResult !== before && op.lastResult?.bundle.shards.find((s) => s.id === `services/${NS}`) && JSON.stringify(op.lastResult.bundle.shards).includes(name) && op.lastResult.resources.find((r) => r.name === 'quiet'));
        await until('a status pass over that compile has looked at quiet', () => calls.some((c) => c.r === quiet));
      };
      await passWith('busy');
      calls.length = 0;
      await passWith('busy2');
      expect(calls.filter((c) => c.fn === 'write' && c.r.name === 'quiet').length, 'write() calls for quiet').to.equal(0);
    } finally {
      proto.write = write;
      proto.settled = settled;
      for (const name of ['busy', 'busy2']) await env.request('DELETE', `/api/v1/namespaces/${NS}/services/${name}`).catch(() => undefined);
    }
  });

  it('an endpoint-like change (one Services shard, no custom resource shard): the replicas are first polled after that shard is written (ADR 0021)', async () => {
    const op = await runOperator();
    await until('the first bundle confirmed and its polling done', () => op.lastConfirmed !== undefined && op.confirmerIdle);
    const confirmedAt = op.lastConfirmed!.at;
    const auditBefore = env.audit(SA).length;
    const shardCm = configMapName(`services/${NS}`);
    try {
      await env.request('POST', `/api/v1/namespaces/${NS}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'edge', namespace: NS }, spec: { ports: [{ name: 'http', port: 80 }] } });
      await until('the change confirmed on the replicas', () => op.lastConfirmed !== undefined && op.lastConfirmed.at !== confirmedAt);
      // The audit log may trail the responses: wait for both entries.
      const isShardWrite = (e: AuditEvent) => e.objectRef?.resource === 'configmaps' && e.objectRef?.name === shardCm && ['create', 'update'].includes(e.verb);
      const isPodList = (e: AuditEvent) => e.objectRef?.resource === 'pods' && e.verb === 'list';
      const events = await until('the shard write and a pod list in the audit log', () => {
        const ev = env.audit(SA).slice(auditBefore);
        return ev.some(isShardWrite) && ev.some(isPodList) ? ev : undefined;
      });
      expect(events.filter((e) => e.objectRef?.resource === 'configmaps' && ['create', 'update'].includes(e.verb)).map((e) => e.objectRef?.name), 'ConfigMap writes: the Services shard alone').to.deep.equal([shardCm]);
      const written = events.find(isShardWrite)!.stageTimestamp!;
      const listed = events.filter(isPodList).map((e) => e.requestReceivedTimestamp!);
      expect(written, 'audit timestamps').to.match(/\.\d{6}Z$/);
      // Polled beside the write (before ADR 0021), the first pod list reached the apiserver before the write's response left it.
      expect(listed.filter((t) => t <= written), `pod lists received before the shard write completed at ${written}`).to.deep.equal([]);
    } finally {
      await env.request('DELETE', `/api/v1/namespaces/${NS}/services/edge`).catch(() => undefined);
    }
  });

  it('a restart with nothing changed writes nothing: no status patch, no Event, no ConfigMap write', async () => {
    for (const [name, addr] of [['r1', '10.2.0.1'], ['r2', '10.2.0.2']]) await apply(env, staticHost(name, addr) as any);
    const first = await runOperator({ identity: 'first' });
    const programmed = async () => {
      for (const n of ['r1', 'r2']) if (cond(await getHost(n), 'Programmed')?.status !== 'True') return false;
      return true;
    };
    await until('r1 and r2 Programmed', programmed);
    await until('first confirmed', () => first.lastConfirmed !== undefined);
    await stopOperators();
    const eventsBefore = (await env.request('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`)).items.length;
    const rv = { r1: (await getHost('r1')).metadata.resourceVersion, r2: (await getHost('r2')).metadata.resourceVersion };
    const auditBefore = env.audit(SA).length;

    const second = await runOperator({ identity: 'second' });
    await until('second leads and confirmed what the replicas serve', () => second.isLeader && second.lastConfirmed !== undefined);
    const m = await second.metrics.registry.getMetricsAsJSON();
    const value = (name: string) => (m.find((x) => x.name === name)?.values ?? []).reduce((a, v) => a + v.value, 0);
    expect(value('splitdns_operator_status_writes_total'), 'status patches').to.equal(0);
    expect(value('splitdns_operator_publish_total'), 'ConfigMap writes').to.equal(0);
    const writes = env.audit(SA).slice(auditBefore).filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb) && e.objectRef?.resource !== 'leases');
    expect(writes.map((e) => `${e.verb} ${e.requestURI}`)).to.deep.equal([]);
    expect((await env.request('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`)).items).to.have.length(eventsBefore);
    expect({ r1: (await getHost('r1')).metadata.resourceVersion, r2: (await getHost('r2')).metadata.resourceVersion }).to.deep.equal(rv);
  });

  it('retries an informer at most 2 s apart however long the API is unreachable, and resumes at once', async function () {
    this.timeout(30000);
    const proxy = await ApiProxy.start(env.port);
    const delays: number[] = [];
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    const inf = new ResourceInformer({ client: createKubeClient(env.kubeConfig(undefined, proxy.url)), path, logger: silent, onChange: () => {}, backoff: { initialMs: 5 }, onRestart: (d) => delays.push(d) });
    try {
      await inf.start();
      proxy.refuse = true;
      proxy.cut();
      // 11 failures in a row: 5 ms doubling passes 2 s at the 10th.
      await until('11 failed tries', () => delays.length >= 11, 20000);
      expect(Math.max(...delays), delays.map(Math.round).join(' ')).to.be.at.most(2000);
      proxy.refuse = false;
      await env.request('POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-outage', namespace: NS } });
      await until('the informer lists again', () => inf.list().some((o) => o.metadata?.name === 'after-outage'), 5000);
      // A success resets the backoff: the next failure retries after the first step again.
      const before = delays.length;
      proxy.cut();
      await until('a restart after the cut', () => delays.length > before, 5000);
      expect(delays[before]).to.be.at.most(5);
    } finally { await inf.stop(); await proxy.close(); }
  });

  it('elects on an injected clock: one leader, handover on release, takeover once the record is a lease old, none after stop', async () => {
    const clock = fakeClock();
    const events: string[] = [];
    const client = createKubeClient(opKubeConfig);
    const make = (identity: string) => new LeaderElector({
      client, namespace: NS, name: 'election-test', identity, leaseDurationSeconds: 10, renewDeadlineMs: 5000, retryPeriodMs: 1000,
      logger: silent, now: clock.now, onStart: () => events.push(`${identity}+`), onStop: () => events.push(`${identity}-`),
    });
    const [a, b, c] = [make('a'), make('b'), make('c')];
    await a.tick();
    await b.tick();
    expect([a.isLeader, b.isLeader]).to.deep.equal([true, false]);
    clock.advance(5000);
    await a.tick(); // renews
    clock.advance(6000);
    await b.tick(); // 11 s after b first saw it, but renewed 6 s ago: not expired
    expect(b.isLeader).to.equal(false);
    await a.stop(); // releases
    await b.tick();
    expect(b.isLeader).to.equal(true);
    // b stops without releasing (a crash): c sees the record, and takes it only after 10 s on its own clock.
    await b.stop({ release: false });
    await c.tick();
    expect(c.isLeader).to.equal(false);
    clock.advance(9000);
    await c.tick();
    expect(c.isLeader).to.equal(false);
    clock.advance(2000);
    await c.tick();
    expect(c.isLeader).to.equal(true);
    // A standby started after the holder died counts the record's age from its renewTime: it
    // does not wait a whole lease more from the moment it first saw it.
    await c.stop({ release: false });
    clock.advance(9000);
    const e = make('e');
    await e.tick();
    expect(e.isLeader).to.equal(false);
    clock.advance(2000);
    await e.tick();
    expect(e.isLeader).to.equal(true);
    // A round in flight when stop() is called does not take leadership afterwards.
    const d = make('d');
    await e.stop();
    const round = d.tick();
    await d.stop();
    await round;
    expect(d.isLeader).to.equal(false);
    expect(events).to.deep.equal(['a+', 'a-', 'b+', 'b-', 'c+', 'c-', 'e+', 'e-']);
    const lease = await env.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/election-test`);
    expect(lease.spec.holderIdentity ?? null, 'released by e, not taken by d').to.equal(null);
    expect(lease.spec.leaseTransitions).to.equal(3);
  });
});
