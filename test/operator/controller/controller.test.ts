// Operator parts against the API double: flags, publish (hash-gated writes, gzip, 409 retry,
// deletion), the ConfigMap source, informer restart after an outage, readiness. (Lease
// election runs on the real apiserver with an injected clock: real-api.test.ts.)

import { expect } from 'chai';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { startDnsServer } from '../../../dns-server/server.js';
import { decodeShardConfigMap } from '../../../dns-server/config/configmap-form.js';
import { startConfigMapSource } from '../../../dns-server/source/configmap.js';
import { ResourceInformer } from '../../../kube/informer.js';
import { createKubeClient, loadKubeConfig } from '../../../kube/kube-client.js';
import { startOperator } from '../../../operator/controller/controller.js';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';
import { parseOptions } from '../../../operator/controller/options.js';
import { configMapName, HASH_ANNOTATION, SHARD_ID_ANNOTATION } from '../../../dns-server/config/configmap-form.js';
import { PUBLISH_CONCURRENCY, Publisher } from '../../../operator/controller/publish.js';
import { withHash } from '../../../dns-server/config/index.js';
import { KubeApiDouble } from '../../kube-api-double/server.js';
import { until } from '../../helpers/until.js';

const silent = pino({ level: 'silent' });
const NS = 'splitdns';

function hostsShard(address: string): any {
  return withHash({ apiVersion: 'splitdns.io/config.v1', id: 'hosts', kind: 'hosts', rrsets: [{ name: 'db.example.org.', type: 'A', ttl: 60, data: [address] }], reverse: [] } as any);
}


describe('operator controller: flags', () => {
  it('takes defaults, environment, then flags', () => {
    const o = parseOptions([], {});
    expect(o).to.include({ namespace: 'splitdns', clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns', debounceMs: 50, statusPortName: 'http', httpPort: 8081 });
    expect(parseOptions([], { POD_NAMESPACE: 'dns' }).namespace).to.equal('dns');
    expect(parseOptions(['--namespace', 'x'], { SPLITDNS_NAMESPACE: 'y' }).namespace).to.equal('x');
    expect(parseOptions([], { SPLITDNS_DEBOUNCE_MS: '0' }).debounceMs).to.equal(0);
  });
  const bad: [string[], RegExp][] = [
    [['--namespace', 'Bad_NS'], /--namespace must be/],
    [['--cluster-domain', 'a..b'], /--cluster-domain must be/],
    [['--debounce-ms=-1'], /--debounce-ms must be an integer from 0 to 60000/],
    [['--dns-selector', 'a in (b)'], /--dns-selector must be/],
    [['--renew-deadline-ms', '20000'], /must be less than --lease-duration-seconds/],
    [['--kube-api', 'ftp://x'], /--kube-api must be a URL/],
    [['--nope'], /Unknown option/],
  ];
  for (const [argv, msg] of bad) it(`rejects ${argv.join(' ')} with a clear message`, () => { expect(() => parseOptions(argv, {})).to.throw(msg); });
});

describe('operator controller: against the API double', function () {
  this.timeout(10000);
  let api: KubeApiDouble;
  beforeEach(async () => { api = await KubeApiDouble.start({ bookmarkMs: 0 }); });
  afterEach(async () => { await api.close(); });
  const client = () => createKubeClient(loadKubeConfig(api.url));

  it('publishes a ConfigMap per shard only when its hash moves, gzips large ones, retries a 409 and deletes a vanished shard', async () => {
    const metrics = new OperatorMetrics(new Registry());
    const pub = new Publisher(client(), NS, silent, metrics, 100);
    const fwd = withHash({ apiVersion: 'splitdns.io/config.v1', id: 'forwarders', kind: 'forwarders', forwarders: [] } as any) as any;
    const r1 = await pub.publish([hostsShard('10.0.0.1'), fwd]);
    expect(r1.written.sort()).to.deep.equal(['forwarders', 'hosts']);
    const cm = api.list('configmaps', NS).find((c) => c.metadata.name === configMapName('hosts'))!;
    expect(cm.binaryData['shard.json.gz'], 'large shard is gzipped').to.be.a('string');
    expect(decodeShardConfigMap(cm)).to.deep.equal(hostsShard('10.0.0.1'));
    expect((await pub.publish([hostsShard('10.0.0.1'), fwd])).unchanged).to.equal(2);
    // Someone else writes the ConfigMap: our resourceVersion is stale → 409 → re-read → retry.
    await fetch(`${api.url}/api/v1/namespaces/${NS}/configmaps/${cm.metadata.name}`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { labels: { touched: 'yes' } } }) });
    const r3 = await pub.publish([hostsShard('10.0.0.2'), fwd]);
    expect(r3.written).to.deep.equal(['hosts']);
    expect(api.requests.some((r) => r.method === 'PUT' && r.status === 409)).to.equal(true);
    expect(decodeShardConfigMap(api.list('configmaps', NS).find((c) => c.metadata.name === cm.metadata.name))).to.deep.equal(hostsShard('10.0.0.2'));
    const r4 = await pub.publish([fwd]);
    expect(r4.deleted).to.deep.equal(['hosts']);
    expect(api.list('configmaps', NS).map((c) => c.metadata.name)).to.deep.equal([configMapName('forwarders')]);
    // A fresh publisher (a new leader) learns the existing ConfigMaps and rewrites nothing.
    expect((await new Publisher(client(), NS, silent, metrics).publish([fwd])).unchanged).to.equal(1);
  });

  it('writes the custom resources\' shards first and says so before any Services shard is written (the statuses need not wait for 100+ of them)', async () => {
    const pub = new Publisher(client(), NS, silent, new OperatorMetrics(new Registry()));
    const svc = (ns: string) => withHash({ apiVersion: 'splitdns.io/config.v1', id: `services/${ns}`, kind: 'services', namespace: ns, zone: 'cluster.local.', rrsets: [], reverse: [] } as any) as any;
    const services = Array.from({ length: 20 }, (_, i) => svc(`ns-${i}`));
    const seen: { written: number; toWrite: number; names: string[] }[] = [];
    const r = await pub.publish([...services, hostsShard('10.0.0.1')], (written, toWrite) => seen.push({ written, toWrite, names: api.list('configmaps', NS).map((c) => c.metadata.name) }));
    expect(r.written).to.have.length(21);
    expect(seen).to.have.length(1);
    expect(seen[0].written).to.equal(1);
    expect(seen[0].toWrite, 'the Services shards about to be written (the controller polls before them only when there are many)').to.equal(20);
    expect(seen[0].names, 'when called: the hosts shard written, no Services shard yet').to.deep.equal([configMapName('hosts')]);
    // Nothing of theirs changed: called all the same (with 0), once.
    const again: number[][] = [];
    await pub.publish([...services, hostsShard('10.0.0.1')], (written, toWrite) => again.push([written, toWrite]));
    expect(again).to.deep.equal([[0, 0]]);
    // One namespace's Services shard changed (an endpoint change): 0 written, 1 to write.
    const one: number[][] = [];
    const changed = withHash({ ...services[0], hash: undefined, rrsets: [{ name: 'a.ns-0.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.0.0.9'] }] } as any) as any;
    await pub.publish([changed, ...services.slice(1), hostsShard('10.0.0.1')], (written, toWrite) => one.push([written, toWrite]));
    expect(one).to.deep.equal([[0, 1]]);
  });

  it('deletes vanished shards\' ConfigMaps PUBLISH_CONCURRENCY at a time, like its writes (the kube client\'s sockets are sized for that)', async () => {
    // A client that lists 100 shard ConfigMaps and answers each DELETE a macrotask later, counting those in flight.
    let inFlight = 0;
    let most = 0;
    const deleted: string[] = [];
    const fake = {
      async request(method: string, path: string) {
        if (method === 'GET') {
          return { items: Array.from({ length: 100 }, (_, i) => ({ metadata: { name: `shard-${i}`, resourceVersion: '1', annotations: { [SHARD_ID_ANNOTATION]: `services/ns-${i}`, [HASH_ANNOTATION]: 'x' } } })) };
        }
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        deleted.push(path);
        return {};
      },
    };
    const r = await new Publisher(fake as never, NS, silent, new OperatorMetrics(new Registry())).publish([]);
    expect(r.deleted).to.have.length(100);
    expect(deleted).to.have.length(100);
    expect(most).to.equal(PUBLISH_CONCURRENCY);
  });

  it('feeds the DNS server from the ConfigMaps (ConfigMap source) and removes a shard whose ConfigMap goes', async () => {
    const server = await startDnsServer({ port: 0, logger: silent });
    const pub = new Publisher(client(), NS, silent, new OperatorMetrics(new Registry()), 100);
    await pub.publish([hostsShard('10.0.0.1')]);
    // The source's errors are collected, so the test can wait for the broken ConfigMap's refusal.
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, new Writable({ write(chunk, _e, cb) { errors.push(String(chunk)); cb(); } }));
    const src = await startConfigMapSource({ kubeConfig: loadKubeConfig(api.url), namespace: NS, server, logger });
    try {
      expect(server.servedShards().map((s) => s.hash)).to.deep.equal([hostsShard('10.0.0.1').hash]);
      await pub.publish([hostsShard('10.0.0.3')]);
      await until('new hash served', () => server.servedShards()[0]?.hash === hostsShard('10.0.0.3').hash);
      // A broken ConfigMap is refused; the last good shard keeps serving.
      const name = configMapName('hosts');
      const cur = api.list('configmaps', NS)[0];
      await fetch(`${api.url}/api/v1/namespaces/${NS}/configmaps/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...cur, binaryData: undefined, data: { 'shard.json': '{not json' }, metadata: { ...cur.metadata, annotations: { ...cur.metadata.annotations, 'splitdns.io/shard-hash': 'x' } } }) });
      await until('broken ConfigMap refused', () => errors.some((l) => l.includes('cannot decode shard ConfigMap')));
      expect(server.servedShards()[0]?.hash).to.equal(hostsShard('10.0.0.3').hash);
      await pub.publish([]);
      await until('shard removed', () => server.servedShards().length === 0);
    } finally { src.close(); await server.close(); }
  });

  it('restarts an informer with a fresh list after an outage and sees a deletion made meanwhile', async () => {
    const path = `/api/v1/namespaces/${NS}/configmaps`;
    await fetch(api.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'a' } }) });
    let changes = 0;
    const inf = new ResourceInformer({ client: client(), path, logger: silent, onChange: () => { changes++; }, backoff: { initialMs: 20, maxMs: 100 } });
    await inf.start();
    try {
      expect(inf.list().map((o) => o.metadata?.name)).to.deep.equal(['a']);
      api.outage = true;
      api.dropWatches();
      await fetch(`${api.url}${path}/a`, { method: 'DELETE' });
      api.compact();
      await until('a failed reconnect', () => api.requests.some((r) => r.status === 503));
      expect(inf.list()).to.have.length(1);
      api.outage = false;
      await until('the deletion seen', () => inf.list().length === 0);
      expect(inf.restarts).to.be.greaterThan(0);
      expect(changes).to.be.greaterThan(1);
    } finally { await inf.stop(); }
  });

  it('is unready until every informer has synced, then serves /readyz, /healthz and its metrics', async () => {
    api.outage = true;
    const op = await startOperator({ kubeConfig: loadKubeConfig(api.url), namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app=dns', httpPort: 0, httpAddress: '127.0.0.1', logger: silent, informerBackoff: { initialMs: 20, maxMs: 100 }, retryPeriodMs: 50 });
    try {
      const get = async (p: string) => { const r = await fetch(`http://127.0.0.1:${op.httpPort}${p}`); return { status: r.status, text: await r.text() }; };
      expect((await get('/healthz')).status).to.equal(200);
      expect((await get('/readyz')).status).to.equal(503);
      api.outage = false;
      await until('ready', async () => (await get('/readyz')).status === 200);
      await until('first compile', async () => /splitdns_operator_compile_duration_seconds_count [1-9]/.test((await get('/metrics')).text));
      const m = (await get('/metrics')).text;
      for (const name of ['splitdns_operator_config_bytes', 'splitdns_operator_publish_total', 'splitdns_operator_propagation_seconds_bucket', 'splitdns_operator_workqueue_depth', 'splitdns_operator_informer_restarts_total']) expect(m).to.contain(name);
      expect(m).to.match(/splitdns_operator_informer_restarts_total [1-9]/);
    } finally { await op.close(); }
  });
});
