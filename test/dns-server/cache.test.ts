// The forwarder's cache, with an injected clock so TTLs count down without sleeping.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { Registry } from 'prom-client';
import { createForwarder } from '../../dns-server/index.js';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle } from '../helpers/bundles.js';
import { rcodeOf, udpQuery } from '../helpers/dns-client.js';
import { forwardersShard } from '../helpers/forwarders.js';
import type { ForwarderSpec } from '../helpers/forwarders.js';
import { silent, startTestServer } from '../helpers/server.js';
import { answerFrom, startUpstream } from '../helpers/upstream.js';
import type { Behaviour, FakeUpstream } from '../helpers/upstream.js';

const ttls = (r: Packet) => (r.answers ?? []).map((a) => (a as { ttl: number }).ttl);
const A = (r: Packet) => (r.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);

describe('forwarder: cache', () => {
  let clock = 1_000_000;
  let server: DnsServer;
  let registry: Registry;
  let u: FakeUpstream;
  let behaviour: Behaviour;
  const spec = (extra: Partial<ForwarderSpec> = {}): ForwarderSpec => ({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: u.port, protocol: 'udp' }], timeoutMs: 1000, deadlineMs: 3000, ...extra });
  // An upstream that stops answering is waited for until the deadline: those tests set it short.
  const dying = { timeoutMs: 300, deadlineMs: 1000 };

  beforeEach(async () => {
    clock = 1_000_000;
    behaviour = answerFrom({ 'c.example.com': ['10.0.0.1'], 'nodata.example.com': ['10.0.0.2'] }, 300);
    u = await startUpstream((q, p) => behaviour(q, p));
    registry = new Registry();
    server = await startTestServer(undefined, { registry, fallback: createForwarder({ logger: silent, registry, now: () => clock }) });
  });
  afterEach(async () => { await server.close(); await u.close(); });

  it('serves a cached answer with its TTL counted down, without asking upstream again', async () => {
    server.applyBundle(bundle(forwardersShard(spec())));
    expect(ttls(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal([300]);
    clock += 100;
    const r = await udpQuery(server.port, { name: 'C.EXAMPLE.com', id: 77 });
    expect(r.id).to.equal(77);
    expect(r.questions![0].name).to.equal('C.EXAMPLE.com');
    expect(ttls(r)).to.deep.equal([200]);
    expect(u.queries).to.have.length(1);
    clock += 200; // expired
    expect(ttls(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal([300]);
    expect(u.queries).to.have.length(2);
    const m = await registry.metrics();
    expect(m).to.match(/splitdns_cache_hits_total\{forwarder="f"\} 1/);
    expect(m).to.match(/splitdns_cache_misses_total\{forwarder="f"\} 2/);
    expect(m).to.match(/splitdns_cache_entries\{forwarder="f"\} 1/);
  });

  it('caches NXDOMAIN and NODATA for the SOA\'s min(TTL, MINIMUM) (RFC 2308)', async () => {
    server.applyBundle(bundle(forwardersShard(spec())));
    const nx = await udpQuery(server.port, { name: 'nx.example.com' });
    expect(rcodeOf(nx.raw)).to.equal(3);
    expect(rcodeOf((await udpQuery(server.port, { name: 'nodata.example.com', type: 'AAAA' })).raw)).to.equal(0);
    clock += 59;
    const again = await udpQuery(server.port, { name: 'nx.example.com' });
    expect(rcodeOf(again.raw)).to.equal(3);
    expect((again.authorities![0] as { ttl: number }).ttl).to.equal(60 - 59); // capped at the negative TTL, counted down
    await udpQuery(server.port, { name: 'nodata.example.com', type: 'AAAA' });
    expect(u.queries).to.have.length(2);
    clock += 2; // past the 60 s negative TTL
    await udpQuery(server.port, { name: 'nx.example.com' });
    expect(u.queries).to.have.length(3);
  });

  it('clamps TTLs to the forwarder\'s min and max', async () => {
    server.applyBundle(bundle(forwardersShard(spec({ cache: { minTtl: 0, maxTtl: 30 } }))));
    await udpQuery(server.port, { name: 'c.example.com' });
    clock += 10;
    expect(ttls(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal([20]);
    clock += 21;
    await udpQuery(server.port, { name: 'c.example.com' });
    expect(u.queries).to.have.length(2);
  });

  it('caches SERVFAIL only briefly, and not at all by default', async () => {
    behaviour = (q) => ({ id: q.id, type: 'response', flags: 2, questions: q.questions, answers: [] } as Packet);
    server.applyBundle(bundle(forwardersShard(spec())));
    await udpQuery(server.port, { name: 'sf.example.com' });
    await udpQuery(server.port, { name: 'sf.example.com' });
    expect(u.queries).to.have.length(2);
    server.applyBundle(bundle(forwardersShard(spec({ cache: { servfailTtl: 5 } }))));
    await udpQuery(server.port, { name: 'sf.example.com' });
    clock += 4;
    expect(rcodeOf((await udpQuery(server.port, { name: 'sf.example.com' })).raw)).to.equal(2);
    expect(u.queries).to.have.length(3);
    clock += 2;
    await udpQuery(server.port, { name: 'sf.example.com' });
    expect(u.queries).to.have.length(4);
  });

  it('evicts the least recently used entry beyond its size', async () => {
    behaviour = answerFrom({ 'a.example.com': ['10.0.0.1'], 'b.example.com': ['10.0.0.2'], 'c.example.com': ['10.0.0.3'] });
    server.applyBundle(bundle(forwardersShard(spec({ cache: { maxEntries: 2 } }))));
    await udpQuery(server.port, { name: 'a.example.com' });
    await udpQuery(server.port, { name: 'b.example.com' });
    await udpQuery(server.port, { name: 'a.example.com' }); // a is now the most recent
    expect(A(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal(['10.0.0.3']); // cached: evicts b
    expect(u.queries).to.have.length(3);
    await udpQuery(server.port, { name: 'a.example.com' });
    expect(u.queries).to.have.length(3);
    await udpQuery(server.port, { name: 'b.example.com' });
    expect(u.queries).to.have.length(4);
    expect(await registry.metrics()).to.match(/splitdns_cache_evictions_total\{forwarder="f"\} [1-9]/);
  });

  it('keeps the types of one name apart, and evicts them one at a time by use', async () => {
    behaviour = answerFrom({ 'a.example.com': ['10.0.0.1'], 'b.example.com': ['10.0.0.2'] });
    server.applyBundle(bundle(forwardersShard(spec({ cache: { maxEntries: 2 } }))));
    await udpQuery(server.port, { name: 'a.example.com' }); // A: an answer
    await udpQuery(server.port, { name: 'a.example.com', type: 'AAAA' }); // AAAA: NODATA, cached for the SOA's 60 s
    await udpQuery(server.port, { name: 'a.example.com' }); // A is now the most recent of the two
    expect(u.queries).to.have.length(2);
    await udpQuery(server.port, { name: 'b.example.com' }); // evicts a/AAAA, not a/A
    await udpQuery(server.port, { name: 'a.example.com' });
    expect(u.queries).to.have.length(3);
    await udpQuery(server.port, { name: 'a.example.com', type: 'AAAA' });
    expect(u.queries.map((q) => `${q.packet.questions![0].name}/${q.packet.questions![0].type}`)).to.deep.equal(['a.example.com/A', 'a.example.com/AAAA', 'b.example.com/A', 'a.example.com/AAAA']);
    clock += 59; // both of a's entries are still served in their TTLs, counted down
    const r = await udpQuery(server.port, { name: 'a.example.com' });
    expect(ttls(r)).to.deep.equal([300 - 59]);
    expect(u.queries).to.have.length(4);
  });

  it('serves stale answers (RFC 8767) while every upstream fails, when enabled', async () => {
    server.applyBundle(bundle(forwardersShard(spec({ ...dying, cache: { serveStale: { enabled: true, maxStale: 3600, ttl: 30 } } }))));
    expect(A(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal(['10.0.0.1']);
    behaviour = () => null; // the upstream dies
    clock += 400; // expired 100 s ago
    const r = await udpQuery(server.port, { name: 'c.example.com' });
    expect(A(r)).to.deep.equal(['10.0.0.1']);
    expect(ttls(r)).to.deep.equal([30]);
    expect(await registry.metrics()).to.match(/splitdns_cache_stale_served_total\{forwarder="f"\} 1/);
    clock += 3600; // beyond maxStale
    expect(rcodeOf((await udpQuery(server.port, { name: 'c.example.com' })).raw)).to.equal(2);
  });

  it('does not serve stale when serve-stale is off (the default)', async () => {
    server.applyBundle(bundle(forwardersShard(spec(dying))));
    await udpQuery(server.port, { name: 'c.example.com' });
    behaviour = () => null;
    clock += 400;
    expect(rcodeOf((await udpQuery(server.port, { name: 'c.example.com' })).raw)).to.equal(2);
  });

  it('prefetches a popular entry near expiry, when enabled', async () => {
    server.applyBundle(bundle(forwardersShard(spec({ cache: { prefetch: { enabled: true, minHits: 2, percent: 10 } } }))));
    await udpQuery(server.port, { name: 'c.example.com' });
    await udpQuery(server.port, { name: 'c.example.com' });
    clock += 280; // 20 s of 300 left: under 10%
    await udpQuery(server.port, { name: 'c.example.com' }); // second hit, near expiry: served from cache, refreshed behind
    // wait until the refresh's answer has been received and counted (then it is stored at this clock)
    const answered = async () => /splitdns_forward_requests_total\{forwarder="f",upstream="[^"]+",rcode="NOERROR"\} 2/.test(await registry.metrics());
    for (let i = 0; i < 100 && !(await answered()); i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setImmediate(r));
    expect(u.queries).to.have.length(2);
    clock += 100; // the old entry would have expired; the prefetched one is fresh
    expect(ttls(await udpQuery(server.port, { name: 'c.example.com' }))).to.deep.equal([200]);
    expect(u.queries).to.have.length(2);
    expect(await registry.metrics()).to.match(/splitdns_cache_prefetches_total\{forwarder="f"\} 1/);
  });

  it('drops only the changed forwarder\'s cache on reload', async () => {
    behaviour = answerFrom({ 'a.corp.example.com': ['10.1.0.1'], 'b.example.net': ['10.2.0.1'] });
    const corp = spec({ name: 'corp', domains: ['corp.example.com.'] });
    const net = spec({ name: 'net', domains: ['example.net.'] });
    server.applyBundle(bundle(forwardersShard(corp, net)));
    await udpQuery(server.port, { name: 'a.corp.example.com' });
    await udpQuery(server.port, { name: 'b.example.net' });
    expect(u.queries).to.have.length(2);
    server.applyBundle(bundle(forwardersShard({ ...corp, timeoutMs: 150 }, net))); // corp changed, net not
    await udpQuery(server.port, { name: 'a.corp.example.com' });
    await udpQuery(server.port, { name: 'b.example.net' });
    expect(u.queries.map((q) => q.packet.questions![0].name)).to.deep.equal(['a.corp.example.com', 'b.example.net', 'a.corp.example.com']);
  });

  it('keeps DO-bit answers apart from plain ones', async () => {
    server.applyBundle(bundle(forwardersShard(spec())));
    await udpQuery(server.port, { name: 'c.example.com', edns: { do: true } });
    await udpQuery(server.port, { name: 'c.example.com' });
    expect(u.queries).to.have.length(2);
    expect((u.queries[0].packet.additionals![0] as unknown as { flags: number }).flags & dnsPacket.DNSSEC_OK).to.not.equal(0);
  });

  it('answers a cached name with the client\'s question as sent, whatever case the upstream echoed (the cached body takes the key\'s bytes)', async () => {
    // An upstream that echoes the question upper-cased: its bytes are not what the client sent.
    const inner = behaviour;
    behaviour = (q, p) => {
      const r = inner(q, p);
      return r === null || Buffer.isBuffer(r) || r instanceof Promise ? r : { ...r, questions: r.questions!.map((x) => ({ ...x, name: x.name.toUpperCase() })) };
    };
    server.applyBundle(bundle(forwardersShard(spec())));
    const first = await udpQuery(server.port, { name: 'c.example.com' });
    expect(first.questions![0].name, 'sent upstream').to.equal('c.example.com');
    for (const [name, id] of [['c.example.com', 5], ['C.Example.COM', 6], ['c.example.com', 7]] as const) {
      const r = await udpQuery(server.port, { name, id });
      expect([r.id, r.questions![0].name, A(r)], `cached, asked as ${name}`).to.deep.equal([id, name, ['10.0.0.1']]);
    }
    expect(u.queries).to.have.length(1);
  });
});
