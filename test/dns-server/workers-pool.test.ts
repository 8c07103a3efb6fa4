// The --workers primary (workers.ts WorkerPool) validates each update and reports it before the
// build; its report must say what the single-process server's says for the same input (reload.ts).
// A pool of one (the main thread, worker 0, and no threads) runs that logic on any Node; the
// threads themselves are workers.test.ts's.
import { expect } from 'chai';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { Shard, UnhashedShard } from '../../dns-server/config/index.js';
import { VALIDATOR } from '../../dns-server/config/validate.js';
import type { DnsServer } from '../../dns-server/index.js';
import { WorkerPool } from '../../dns-server/workers.js';
import { bundle, exampleZone, zoneShard } from '../helpers/bundles.js';
import { udpQuery } from '../helpers/dns-client.js';
import { silent, startTestServer } from '../helpers/server.js';

const a = async (port: number, name: string) => (await udpQuery(port, { name })).answers!.map((x) => (x as { data: unknown }).data);
/** The id of the example.org zone, as a hosts shard: a kind change, refused by the server. */
const asHosts = (addr: string): Shard => withHash({
  apiVersion: CONFIG_API_VERSION, kind: 'hosts', id: 'zone/example.org', reverse: [],
  rrsets: [{ name: 'www.example.org.', type: 'A', ttl: 60, data: [addr] }],
} as UnhashedShard) as Shard;
const zoneWith = (addr: string): Shard => zoneShard('example.org.', [{ name: 'www.example.org.', type: 'A', ttl: 60, data: [addr] }]);

describe('dns-server: the --workers primary reports a reload as the single-process server does', () => {
  let single: DnsServer;
  let local: DnsServer;
  let pool: WorkerPool;
  beforeEach(async () => {
    single = await startTestServer();
    const gate = new Int32Array(new SharedArrayBuffer(4));
    local = await startTestServer(undefined, { worker: { index: 0, gate } });
    pool = new WorkerPool({ role: 'primary', workers: 1, index: 0, gate }, local, VALIDATOR, silent, []);
  });
  afterEach(async () => { await single.close(); await local.close(); });

  /** Applies one input to both; returns the pool's report once the pool has swapped it in. */
  async function both(apply: (s: Pick<DnsServer, 'applyBundle' | 'applyShards'>) => ReturnType<DnsServer['applyBundle']>) {
    const want = apply(single);
    const got = apply(pool);
    await pool.settled();
    expect(got, 'the pool\'s report against the single-process server\'s').to.deep.equal(want);
    expect(await counted(local), 'refusals and reload results counted as the single-process server counts them').to.deep.equal(await counted(single));
    return got;
  }

  /** The reload counters an on-call engineer reads: refusals per shard, reloads per result. */
  async function counted(s: DnsServer): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const name of ['splitdns_dns_shard_reload_failures_total', 'splitdns_dns_reloads_total']) {
      const m = s.registry.getSingleMetric(name);
      out[name] = m ? (await m.get()).values.map((v) => `${JSON.stringify(v.labels)} ${v.value}`).sort() : [];
    }
    return out;
  }

  it('an invalid shard, and a bundle refused whole: counted once per arrival, as the single-process server counts them', async () => {
    const bad = zoneShard('example.net.', [{ name: 'www.example.net.', type: 'A', ttl: 60, data: ['not-an-address'] }]);
    expect((await both((s) => s.applyBundle(bundle(exampleZone(), bad)))).refused.map((r) => r.id)).to.deep.equal(['zone/example.net']);
    expect((await both((s) => s.applyBundle(bundle(exampleZone(), bad)))).unchanged).to.deep.equal(['zone/example.org']);
    expect((await both((s) => s.applyShards([bad], []))).refused.map((r) => r.id)).to.deep.equal(['zone/example.net']);
    expect((await both((s) => s.applyShards([exampleZone()], []))).unchanged).to.deep.equal(['zone/example.org']);
    expect((await both((s) => s.applyBundle({ apiVersion: 'nonsense' }))).refused.map((r) => r.id)).to.deep.equal(['(bundle)']);
    const failures = (await counted(local)).splitdns_dns_shard_reload_failures_total;
    expect(failures, 'three refusals of the shard, one of the bundle').to.deep.equal(['{"shard":"(bundle)"} 1', '{"shard":"zone/example.net"} 3']);
    expect((await counted(local)).splitdns_dns_reloads_total).to.deep.equal(['{"result":"failed"} 2', '{"result":"ok"} 1', '{"result":"partial"} 2']);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
  });

  it('a bundle whose shard changed kind: refused, not applied, the last good version serving; refused again when it comes again; an honest version after it applied', async () => {
    expect((await both((s) => s.applyBundle(bundle(exampleZone())))).applied).to.deep.equal(['zone/example.org']);
    const changed = await both((s) => s.applyBundle(bundle(asHosts('192.0.2.99'))));
    expect(changed.refused).to.deep.equal([{ id: 'zone/example.org', errors: ['kind changed'] }]);
    expect(changed.applied).to.deep.equal([]);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
    // The same refused version again: refused again, never reported as held (unchanged)
    expect((await both((s) => s.applyBundle(bundle(asHosts('192.0.2.99'))))).refused.map((r) => r.id)).to.deep.equal(['zone/example.org']);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
    expect((await both((s) => s.applyBundle(bundle(zoneWith('192.0.2.2'))))).applied).to.deep.equal(['zone/example.org']);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.2']);
    expect(local.servedShards().map((x) => x.hash)).to.deep.equal(single.servedShards().map((x) => x.hash));
  });

  it('changed shards (the ConfigMap source) with a kind change: refused, not applied, the last good version serving', async () => {
    expect((await both((s) => s.applyShards([exampleZone()], []))).applied).to.deep.equal(['zone/example.org']);
    const changed = await both((s) => s.applyShards([asHosts('192.0.2.99')], []));
    expect(changed.refused).to.deep.equal([{ id: 'zone/example.org', errors: ['kind changed'] }]);
    expect(changed.applied).to.deep.equal([]);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
    expect((await both((s) => s.applyShards([asHosts('192.0.2.99')], []))).refused.map((r) => r.id)).to.deep.equal(['zone/example.org']);
    expect((await both((s) => s.applyShards([zoneWith('192.0.2.2')], []))).applied).to.deep.equal(['zone/example.org']);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.2']);
    expect(local.servedShards().map((x) => x.hash)).to.deep.equal(single.servedShards().map((x) => x.hash));
  });

  it('a shard the build refuses (its slab not built) is tried again when the same version comes again, not passed as held', async () => {
    // The local server's build refuses one version, as a failed buildShardSlab would: it reports the refusal and keeps the version it serves.
    const failing = zoneWith('192.0.2.3');
    const tried: string[] = [];
    const wrapped: DnsServer = {
      ...local,
      applyValidated(seq, u) {
        tried.push(...u.shards.map((x) => x.hash));
        const bad = u.shards.filter((x) => x.hash === failing.hash);
        const keep = u.form === 'bundle' ? [...u.keep, ...bad.map((x) => x.id)] : [];
        const applied = local.applyValidated(seq, u.form === 'bundle' ? { ...u, shards: u.shards.filter((x) => !bad.includes(x)), keep } : { ...u, shards: u.shards.filter((x) => !bad.includes(x)) });
        applied.report.refused.push(...bad.map((x) => ({ id: x.id, errors: ['slab too large'] })));
        return applied;
      },
    };
    pool = new WorkerPool({ role: 'primary', workers: 1, index: 0, gate: new Int32Array(new SharedArrayBuffer(4)) }, wrapped, VALIDATOR, silent, []);
    pool.applyBundle(bundle(exampleZone()));
    pool.applyBundle(bundle(failing));
    await pool.settled();
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
    const again = pool.applyBundle(bundle(failing));
    await pool.settled();
    expect(again.unchanged, 'not reported as held').to.deep.equal([]);
    expect(tried.filter((h) => h === failing.hash), 'the failed version handed to the build again').to.have.length(2);
    expect(await a(local.port, 'www.example.org')).to.deep.equal(['192.0.2.1']);
  });
});

describe('dns-server: the --workers primary lets go of an update once it is built (issue 14: memory per worker)', () => {
  it('while the workers build, the validated update (the parsed shards) is garbage: the collection after a large load frees it', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const local = await startTestServer(undefined, { worker: { index: 0, gate } });
    try {
      const pool = new WorkerPool({ role: 'primary', workers: 1, index: 0, gate }, local, VALIDATOR, silent, []);
      // A worker thread that has not built yet (it never answers): the pool waits for it, as for
      // a real one that is slower than the main thread, with the update's slabs sent.
      const sent: unknown[] = [];
      (pool as unknown as { workers: unknown[] }).workers[1] = { postMessage: (m: unknown) => sent.push(m) };
      const shard = (() => { const s = exampleZone(); pool.applyBundle(bundle(s)); return new WeakRef(s); })();
      await new Promise((r) => setImmediate(r)); // the build runs in the publish chain, then the load's own collection would
      expect(sent.map((m) => (m as { type: string }).type), 'the slabs were handed out, the pool waits').to.deep.equal(['apply']);
      gc();
      expect(shard.deref(), 'the parsed shard is still held while the workers build').to.equal(undefined);
      expect(await a(local.port, 'www.example.org'), 'what was built serves once committed (not yet)').to.deep.equal([]);
    } finally { await local.close(); }
  });
});
