// Hot reload: only changed shards are rebuilt, a refused shard keeps its last good version,
// and under a steady query stream every query is answered from the old or the new config.
import { expect } from 'chai';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dnsPacket from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import { startFileSource } from '../../dns-server/source/file.js';
import { VALIDATOR } from '../../dns-server/config/validate.js';
import { canonicalJson, withHash } from '../../dns-server/config/index.js';
import { parseShardJson } from '../../dns-server/config/hash.js';
import type { RRSet, UnhashedShard } from '../../dns-server/config/index.js';
import { ServerMetrics } from '../../dns-server/metrics.js';
import { Registry } from '../../dns-server/prom.js';
import { CollectionPacer } from '../../dns-server/heap.js';
import { ShardStore } from '../../dns-server/reload.js';
import type { ReloadReport } from '../../dns-server/reload.js';
import { buildShardSlab, EMPTY_TABLES } from '../../dns-server/tables/build.js';
import type { ServicesTable, Tables } from '../../dns-server/tables/types.js';
import { WorkerPool } from '../../dns-server/workers.js';
import { bundle, exampleZone, hostsShard, servicesShard, zoneShard } from '../helpers/bundles.js';
import { buildQuery, rcodeOf, udpQuery } from '../helpers/dns-client.js';
import { silent, startTestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';
import { garbageThenCollection, runProbe } from '../helpers/probe.js';

const other = (addr: string) => zoneShard('example.net.', [{ name: 'www.example.net.', type: 'A', ttl: 60, data: [addr] }]);
const cluster = zoneShard('cluster.local.', [], { clusterDomain: true });
const ns = (addr: string) => servicesShard('cluster.local.', 'team-a', [
  { name: 'api.team-a.svc.cluster.local.', type: 'A', ttl: 5, data: [addr] },
  { name: 'api2.team-a.svc.cluster.local.', type: 'A', ttl: 5, data: [addr] },
]);

const a = async (port: number, name: string) => (await udpQuery(port, { name })).answers!.map((x) => (x as { data: unknown }).data);

describe('dns-server: hot reload', () => {
  let server: DnsServer;
  beforeEach(async () => { server = await startTestServer(); });
  afterEach(() => server.close());

  it('rebuilds only the shards whose hash changed, and removes the ones gone from a bundle', async () => {
    expect(server.applyBundle(bundle(exampleZone(), other('192.0.2.1'))).applied.sort()).to.deep.equal(['zone/example.net', 'zone/example.org']);
    const r = server.applyBundle(bundle(exampleZone(), other('192.0.2.2')));
    expect(r.applied).to.deep.equal(['zone/example.net']);
    expect(r.unchanged).to.deep.equal(['zone/example.org']);
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.2']);
    const gone = server.applyBundle(bundle(other('192.0.2.2')));
    expect(gone.removed).to.deep.equal(['zone/example.org']);
    expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.org' })).raw)).to.equal(5);
  });

  it('applies shards incrementally (the ConfigMap source path)', async () => {
    server.applyShards([exampleZone(), cluster, ns('10.0.0.1')], []);
    expect(await a(server.port, 'api.team-a.svc.cluster.local')).to.deep.equal(['10.0.0.1']);
    const r = server.applyShards([ns('10.0.0.2')], []);
    expect(r.applied).to.deep.equal(['services/team-a']);
    expect(await a(server.port, 'api.team-a.svc.cluster.local')).to.deep.equal(['10.0.0.2']);
    server.applyShards([], ['services/team-a']);
    expect(rcodeOf((await udpQuery(server.port, { name: 'api.team-a.svc.cluster.local' })).raw)).to.equal(3);
  });

  it('refuses an invalid shard, keeps serving its last good version, and counts it', async () => {
    server.applyBundle(bundle(exampleZone(), other('192.0.2.1')));
    const bad = { ...other('192.0.2.9'), hash: 'a'.repeat(64) };
    const r = server.applyBundle(bundle(exampleZone(), bad));
    expect(r.refused.map((x) => x.id)).to.deep.equal(['zone/example.net']);
    expect(r.refused[0].errors.join()).to.match(/hash/);
    expect(r.removed).to.deep.equal([]);
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
    expect(server.servedShards().find((s) => s.id === 'zone/example.net')!.hash).to.equal(other('192.0.2.1').hash);
    const metrics = await server.registry.metrics();
    expect(metrics).to.match(/splitdns_dns_shard_reload_failures_total\{shard="zone\/example.net"\} 1/);
    expect(metrics).to.match(/splitdns_dns_reloads_total\{result="partial"\} 1/);
  });

  it('checks only the changed shards of a bundle applied again (a held version is not validated twice) and serves the held one', async () => {
    server.applyBundle(bundle(exampleZone(), other('192.0.2.1')));
    // zone/example.net with the held hash but other content: taken as the held version, not built.
    const same = { ...other('192.0.2.7'), hash: other('192.0.2.1').hash };
    const r = server.applyBundle(bundle(exampleZone(), same));
    expect(r).to.deep.include({ applied: [], refused: [], removed: [] });
    expect(r.unchanged.sort()).to.deep.equal(['zone/example.net', 'zone/example.org']);
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
  });

  it('refuses a bundle with a bad envelope and keeps everything', async () => {
    server.applyBundle(bundle(exampleZone()));
    const r = server.applyBundle({ apiVersion: 'wrong', kind: 'ConfigBundle', shards: [] });
    expect(r.refused[0].id).to.equal('(bundle)');
    expect(await a(server.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
  });

  it('answers every query of a steady stream during reloads, each from the old or the new config', async () => {
    const v1 = bundle(exampleZone(), other('192.0.2.1'), cluster, ns('10.0.0.1'));
    const v2 = bundle(exampleZone(), other('192.0.2.2'), cluster, ns('10.0.0.2'));
    server.applyBundle(v1);
    const sock = dgram.createSocket('udp4');
    const answers = new Map<number, string[]>();
    sock.on('message', (m) => {
      const p = dnsPacket.decode(m);
      answers.set(p.id!, p.answers!.map((x) => `${x.name}=${(x as { data: unknown }).data}`));
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const names = ['www.example.net', 'api.team-a.svc.cluster.local'];
    const N = 3000;
    const BATCH = 30;
    // Client and server share this thread: each batch is queued in the server's socket buffer,
    // then a reload runs before the server reads any of it, then we wait for the batch's answers
    // (bounded), so the socket buffer never overflows and loss would be the server's.
    for (let i = 0; i < N; i += BATCH) {
      for (let j = i; j < i + BATCH; j++) sock.send(buildQuery({ name: names[j % 2], id: j }), server.port, '127.0.0.1');
      await new Promise((r) => setImmediate(r));
      server.applyBundle((i / BATCH) % 2 === 0 ? v2 : v1);
      await until(`the answers to batch ${i / BATCH}`, () => answers.size >= i + BATCH, 10000, { pollMs: 1 });
    }
    sock.close();
    expect(answers.size, 'every query answered').to.equal(N);
    const seen = new Set<string>();
    for (const [id, ans] of answers) {
      expect(ans, `query ${id}`).to.have.length(1);
      expect(ans[0]).to.be.oneOf(['www.example.net=192.0.2.1', 'www.example.net=192.0.2.2', 'api.team-a.svc.cluster.local=10.0.0.1', 'api.team-a.svc.cluster.local=10.0.0.2']);
      seen.add(ans[0]);
    }
    expect(seen.size, 'both versions were served').to.equal(4);
  });

  it('keeps the reverse index right when one shard changes and another still holds the name', async () => {
    const ptr = (target: string) => [{ name: '5.0.0.10.in-addr.arpa.', type: 'PTR' as const, ttl: 5, data: [target] }];
    server.applyBundle(bundle(cluster, servicesShard('cluster.local.', 'a', [], ptr('x.a.svc.cluster.local.')), servicesShard('cluster.local.', 'b', [], ptr('y.b.svc.cluster.local.'))));
    const both = await udpQuery(server.port, { name: '5.0.0.10.in-addr.arpa', type: 'PTR' });
    expect(both.answers!.map((x) => (x as { data: unknown }).data).sort()).to.deep.equal(['x.a.svc.cluster.local', 'y.b.svc.cluster.local']);
    server.applyShards([], ['services/a']);
    const one = await udpQuery(server.port, { name: '5.0.0.10.in-addr.arpa', type: 'PTR' });
    expect(one.answers!.map((x) => (x as { data: unknown }).data)).to.deep.equal(['y.b.svc.cluster.local']);
  });
});

describe('dns-server: file source', () => {
  let dir: string;
  let server: DnsServer;
  beforeEach(async () => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitdns-file-')); server = await startTestServer(); });
  afterEach(async () => { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  it('leaves no watch or poll behind when its first apply throws (the start fails with that error)', async () => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(bundle(other('192.0.2.1'))));
    const watches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = watches();
    let applies = 0;
    let err: Error | undefined;
    try { await startFileSource({ file, apply: () => { applies++; throw new Error('apply failed'); }, logger: silent, debounceMs: 10, pollMs: 10 }); } catch (e) { err = e as Error; }
    expect(err?.message).to.equal('apply failed');
    expect(applies).to.equal(1);
    // A watch closes on a later turn of the loop: wait for it (at most: one an earlier test closed may be going too).
    await until('the directory watch closed', () => watches() <= before);
  });

  it('loads the file, follows changes, and keeps the last good config when the file turns bad', async () => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(bundle(other('192.0.2.1'))));
    const src = await startFileSource({ file, apply: (b) => server.applyBundle(b), logger: silent, debounceMs: 10, pollMs: 200 });
    try {
      expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
      fs.writeFileSync(file + '.tmp', JSON.stringify(bundle(other('192.0.2.2'))));
      fs.renameSync(file + '.tmp', file); // an atomic replace, as editors and kubelet do
      await until('the new address served', async () => (await a(server.port, 'www.example.net'))[0] === '192.0.2.2');
      expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.2']);
      fs.writeFileSync(file, '{ not json');
      await src.reload();
      expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.2']);
    } finally {
      src.close();
    }
  });

  it('reads the file again only when its stat changed (an old, unchanged bundle is not re-read every poll)', async () => {
    const file = path.join(dir, 'config.json');
    const old = new Date(Date.now() - 3600_000);
    fs.writeFileSync(file, JSON.stringify(bundle(other('192.0.2.1'))));
    fs.utimesSync(file, old, old);
    const src = await startFileSource({ file, apply: (b) => server.applyBundle(b), logger: silent, debounceMs: 1, pollMs: 10 });
    try {
      expect(src.counts.reads).to.equal(1);
      await until('five polls', () => src.counts.checks >= 5);
      expect(src.counts.reads, 'polls of an unchanged file read it').to.equal(1);
      // The same size and the same modification time, other text: the change time still moves.
      fs.writeFileSync(file, JSON.stringify(bundle(other('192.0.2.9'))));
      fs.utimesSync(file, old, old);
      await until('the new address served', async () => (await a(server.port, 'www.example.net'))[0] === '192.0.2.9');
      expect(src.counts.reads).to.equal(2);
    } finally {
      src.close();
    }
  });

  it('reads a file modified moments ago at every check (a same-size write in the same timestamp tick is not missed)', async () => {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(bundle(other('192.0.2.1'))));
    // A modification time ahead of the clock: within the racy window however long the start takes.
    const soon = new Date(Date.now() + 3600_000);
    fs.utimesSync(file, soon, soon);
    const src = await startFileSource({ file, apply: (b) => server.applyBundle(b), logger: silent, debounceMs: 1, pollMs: 10 });
    try {
      await until('three polls', () => src.counts.checks >= 3);
      expect(src.counts.reads, 'a racily new file is read at each check').to.be.at.least(3);
    } finally {
      src.close();
    }
  });
});

describe('dns-server: the worker pool\'s bundle reload', () => {
  let server: DnsServer;
  let pool: WorkerPool;
  beforeEach(async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    server = await startTestServer(undefined, { worker: { index: 0, gate } });
    // One worker: the main thread's own server alone (no threads), the same reload protocol.
    pool = new WorkerPool({ role: 'primary', workers: 1, index: 0, gate }, server, VALIDATOR, silent, []);
  });
  afterEach(() => server.close());

  it('builds nothing from a shard passed unchecked whose hash was handed in before but refused when applied (a kind change)', async () => {
    const zone = (addr: string) => withHash({ ...other(addr), id: 'x', hash: undefined } as unknown as UnhashedShard);
    pool.applyBundle(bundle(zone('192.0.2.1')));
    await pool.settled();
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
    // The same id as a hosts shard: valid, but the server refuses a kind change and keeps the zone.
    const hosts = withHash({ ...hostsShard([{ name: 'h.example.com.', type: 'A', ttl: 60, data: ['192.0.2.5'] }]), id: 'x', hash: undefined } as unknown as UnhashedShard);
    pool.applyBundle(bundle(hosts));
    await pool.settled();
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
    // A zone shard claiming the hosts shard's hash (content that does not match it): passed
    // unchecked as a version handed in before, so it must be taken as the held one, not built.
    const forged = { ...zone('192.0.2.9'), hash: hosts.hash };
    const r = pool.applyBundle(bundle(forged));
    await pool.settled();
    expect(r.applied).to.deep.equal([]);
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.1']);
  });
});

describe('dns-server: the shard store\'s published tables (reload.ts)', () => {
  const ns1 = (addr: string) => servicesShard('cluster.local.', 'ns1', [{ name: 'a.ns1.svc.cluster.local.', type: 'A', ttl: 5, data: [addr] }], [{ name: `${addr.split('.').reverse().join('.')}.in-addr.arpa.`, type: 'PTR', ttl: 5, data: ['a.ns1.svc.cluster.local.'] }]);
  const hosts = (addr: string) => hostsShard([{ name: 'h.internal.example.', type: 'A', ttl: 60, data: [addr] }]);
  /** The maps publish() derived before it was incremental: from every held shard. */
  const derived = (t: Tables) => {
    const zones = new Map<string, unknown>();
    const services = new Map<string, unknown>();
    let hostsTable: unknown;
    for (const s of t.shards.values()) {
      if (s.kind === 'zone') zones.set(s.originKey, s);
      else if (s.kind === 'services') services.set(s.zoneKey + '|' + s.namespace, s);
      else if (s.kind === 'hosts') hostsTable = s;
    }
    return { zones, services, hosts: hostsTable };
  };
  const snapshot = (t: Tables) => ({ zones: [...t.zones.entries()], services: [...t.services.entries()], shards: [...t.shards.entries()] });

  it('publishes the held shards\' tables and one config-info series per shard after every update, never changing a published map', async () => {
    const metrics = new ServerMetrics(new Registry());
    const state = { tables: EMPTY_TABLES, fallback: undefined };
    const store = new ShardStore(state, metrics, silent, VALIDATOR);
    const steps: [string, () => ReloadReport][] = [
      ['first bundle', () => store.applyBundle(bundle(exampleZone(), other('192.0.2.1'), cluster, ns1('10.0.0.1'), hosts('172.16.0.1')))],
      ['a services shard changes', () => store.applyShards([ns1('10.0.0.2')], [])],
      ['a zone goes', () => store.applyShards([], ['zone/example.net'])],
      ['hosts change, a zone comes back', () => store.applyShards([hosts('172.16.0.2'), other('192.0.2.3')], [])],
      ['a bundle without the hosts and a zone', () => store.applyBundle(bundle(exampleZone(), cluster, ns1('10.0.0.3')))],
      ['nothing changes', () => store.applyBundle(bundle(exampleZone(), cluster, ns1('10.0.0.3')))],
    ];
    for (const [what, step] of steps) {
      const before = state.tables;
      const was = snapshot(before);
      expect(step().refused, what).to.deep.equal([]);
      const t = state.tables;
      expect(snapshot(before), `${what}: the tables published before`).to.deep.equal(was);
      const want = derived(t);
      expect([...t.zones.entries()], `${what}: zones`).to.have.deep.members([...want.zones.entries()]);
      expect([...t.services.entries()], `${what}: services`).to.have.deep.members([...want.services.entries()]);
      expect(t.hosts, `${what}: hosts`).to.equal(want.hosts);
      const series = (await metrics.registry.metrics()).split('\n').filter((l) => l.startsWith('splitdns_dns_config_info{')).sort();
      const served = store.servedShards().map((x) => `splitdns_dns_config_info{shard="${x.id}",hash="${x.hash}"} 1`).sort();
      expect(series, `${what}: config info`).to.deep.equal(served);
    }
  });

  it('builds a changed shard\'s slab from the text it received, the slab written from its RRsets (config/hash.ts takeHashedText)', () => {
    const state = { tables: EMPTY_TABLES, fallback: undefined };
    const store = new ShardStore(state, new ServerMetrics(new Registry()), silent, VALIDATOR);
    for (const addr of ['10.0.0.1', '10.0.0.2']) {
      const shard = ns1(addr);
      const { hash, ...rest } = shard;
      const text = canonicalJson(rest).slice(0, -1) + `,"hash":"${hash}"}`;
      for (const received of [parseShardJson(text), JSON.parse(text)]) {
        store.applyShards([], [shard.id]);
        expect(store.applyShards([received], []).applied).to.deep.equal([shard.id]);
        const table = state.tables.shards.get(shard.id) as ServicesTable;
        expect(Buffer.from(table.slab.sab).equals(Buffer.from(buildShardSlab(shard)))).to.equal(true);
      }
    }
  });
});

describe('dns-server: the collection after a large load (heap.ts, issue 14)', () => {
  // Services in one namespace, each with an A RRset and a PTR: about 250 slab bytes each.
  const manyServices = (n: number, addrBase: number) => {
    const rrsets: RRSet[] = [];
    const reverse: RRSet[] = [];
    for (let i = 0; i < n; i++) {
      const name = `svc-${String(i).padStart(6, '0')}.team-a.svc.cluster.local.`;
      const ip = `10.${addrBase}.${i >> 8 & 255}.${i & 255}`;
      rrsets.push({ name, type: 'A', ttl: 5, data: [ip] });
      reverse.push({ name: ip.split('.').reverse().join('.') + '.in-addr.arpa.', type: 'PTR', ttl: 5, data: [name] });
    }
    return servicesShard('cluster.local.', 'team-a', rrsets, reverse);
  };
  const storeCountingCollections = () => {
    let asked = 0;
    const state = { tables: EMPTY_TABLES, fallback: undefined };
    const store = new ShardStore(state, new ServerMetrics(new Registry()), silent, VALIDATOR, false, () => new Date(), () => { asked++; });
    return { store, asked: () => asked };
  };

  it('asks for one after an update that built LARGE_LOAD_BYTES of slabs or more, not after a small one', () => {
    const { store, asked } = storeCountingCollections();
    store.applyBundle(bundle(exampleZone()));
    expect(asked(), 'one small zone').to.equal(0);
    const large = manyServices(20000, 1);
    const r = store.applyBundle(bundle(exampleZone(), cluster, large));
    expect(r.applied).to.include('services/team-a');
    expect(asked(), 'a large namespace').to.equal(1);
    store.applyShards([ns('10.0.0.9')], []); // the namespace replaced by two names
    expect(asked(), 'one small shard').to.equal(1);
  });

  it('paces the collections: asked for on five turns in a row (a large namespace changing often), one of ours runs, not five (a fresh process; V8 may add one of its own)', () => {
    const heap = new URL('../../dns-server/heap.ts', import.meta.url).href;
    // Major collections seen by a PerformanceObserver while collectGarbageSoon is asked for on
    // five successive turns, each after the previous turn's collection would have run.
    const probe = `const { collectGarbageSoon } = await import(${JSON.stringify(heap)});
      const { PerformanceObserver, constants } = await import('node:perf_hooks');
      const turn = () => new Promise((r) => setImmediate(r));
      let major = 0;
      const count = (list) => { for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; };
      const obs = new PerformanceObserver(count);
      obs.observe({ entryTypes: ['gc'] });
      for (let i = 0; i < 5; i++) { collectGarbageSoon(); await turn(); await turn(); }
      await new Promise((r) => setTimeout(r, 0)); await turn();
      count({ getEntries: () => obs.takeRecords() });
      obs.disconnect();
      console.log(JSON.stringify({ major }));`;
    const m = runProbe<{ major: number }>(probe);
    expect(m.major, 'major collections').to.be.within(1, 2);
  });

  it('paces by the clock: a first ask runs in a turn of its own, asks within the gap run once at its end', () => {
    let t = 1000;
    const runs: number[] = [];
    const timers: { at: number; fn: () => void }[] = [];
    const pacer = new CollectionPacer(() => runs.push(t), 30_000, () => t, (fn, ms) => { timers.push({ at: t + ms, fn }); });
    const fire = () => { const x = timers.shift()!; t = Math.max(t, x.at); x.fn(); };
    pacer.ask(); pacer.ask();
    expect(timers.map((x) => x.at), 'one turn, at once').to.deep.equal([1000]);
    fire();
    expect(runs).to.deep.equal([1000]);
    t = 6000; pacer.ask(); t = 9000; pacer.ask();
    expect(timers.map((x) => x.at), 'one, at the gap\'s end').to.deep.equal([31000]);
    fire();
    expect(runs).to.deep.equal([1000, 31000]);
    t = 100_000; pacer.ask();
    expect(timers.map((x) => x.at), 'past the gap: at once').to.deep.equal([100_000]);
  });

  it('gives the pages of that garbage back to the system, not only the objects (a fresh process without V8\'s memory reducer; under Node 24 a plain gc() kept them resident)', function () {
    this.timeout(60000);
    const heap = new URL('../../dns-server/heap.ts', import.meta.url).href;
    // ~80 MB of garbage dropped, one collection asked for, then the resident size waited for (up
    // to 40 s: with the memory reducer off, only that collection gives pages back).
    const probe = `const { collectGarbageSoon } = await import(${JSON.stringify(heap)});
      const fs = await import('node:fs');
      const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      const before = rss();
      (() => { let junk = []; for (let i = 0; i < 400000; i++) { junk.push({ i, s: 'x' + i, a: [i, i] }); if (junk.length > 200000) junk = junk.slice(100000); } globalThis.keep = junk; })();
      globalThis.keep = undefined;
      const peak = rss();
      collectGarbageSoon();
      const deadline = Date.now() + 40000;
      while (rss() > before + (peak - before) / 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ before, peak, after: rss() }));`;
    const m = runProbe<{ before: number; peak: number; after: number }>(probe, { flags: ['--no-memory-reducer'], timeout: 50000 });
    expect(m.peak - m.before, 'the probe made garbage').to.be.above(40 * 1048576);
    expect(m.after - m.before).to.be.at.most((m.peak - m.before) / 2);
  });

  it('gives the garbage of a load back without --expose-gc (a fresh process, the way main.ts runs)', () => {
    // 60 MB of garbage made and dropped, then one collection asked for: the heap after the
    // collection's turn is measured without a collection of the probe's own.
    const probe = `${garbageThenCollection(600000)}
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      console.log(JSON.stringify({ before, dropped, after: used(), gcGlobal: typeof globalThis.gc }));`;
    const m = runProbe<{ before: number; dropped: number; after: number; gcGlobal: string }>(probe);
    expect(m.dropped - m.before, 'the probe made garbage').to.be.above(30 * 1048576);
    expect(m.after - m.before, `heap used: ${m.before} before, ${m.dropped} with the garbage, ${m.after} after`).to.be.below((m.dropped - m.before) / 4);
    expect(m.gcGlobal, 'no global gc appears').to.equal('undefined');
  });
});
