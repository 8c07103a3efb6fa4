// Forwarding through a real server to fake upstreams on loopback (UDP, TCP, TLS).
import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import fs from 'node:fs';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';
import { Registry } from 'prom-client';
import { createForwarder } from '../../dns-server/index.js';
import type { DnsServer, Fallback } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, flagsOf, frame, rcodeOf, tcpConnect, udpExchange, udpQuery } from '../helpers/dns-client.js';
import { forwardersShard } from '../helpers/forwarders.js';
import type { ForwarderSpec } from '../helpers/forwarders.js';
import { silent, startTestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';
import { answerFrom, makeTestCerts, startUpstream } from '../helpers/upstream.js';
import type { FakeUpstream } from '../helpers/upstream.js';

const A = (r: Packet) => (r.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data);
const udp = (port: number) => ({ address: '127.0.0.1', port, protocol: 'udp' as const });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forwarder: routing, policies, failover', () => {
  const ups: FakeUpstream[] = [];
  let server: DnsServer;
  let registry: Registry;
  async function serve(...specs: ForwarderSpec[]) {
    registry = new Registry();
    server = await startTestServer(undefined, { registry, fallback: createForwarder({ logger: silent, registry }) });
    const r = server.applyBundle(bundle(exampleZone(), forwardersShard(...specs)));
    expect(r.refused).to.deep.equal([]);
  }
  /** Resolves once the server under test has counted n UDP A queries (or after 10 s: the test's assertions then say what went wrong). */
  async function received(n: number): Promise<void> {
    const want = new RegExp(`splitdns_dns_requests_total\\{proto="udp",type="A"\\} ${n}\\b`);
    for (const end = Date.now() + 10000; Date.now() < end && !want.test(await registry.metrics());) await sleep(10);
  }
  async function upstream(table: Record<string, string[]>) {
    const u = await startUpstream(answerFrom(table));
    ups.push(u);
    return u;
  }
  afterEach(async () => {
    await server?.close();
    for (const u of ups.splice(0)) await u.close();
  });

  it('routes by the longest matching domain, with "." as the default, and local zones win', async () => {
    const corp = await upstream({ 'a.corp.example.com': ['10.0.0.1'] });
    const deep = await upstream({ 'a.eng.corp.example.com': ['10.0.0.2'] });
    const def = await upstream({ 'www.example.net': ['198.51.100.1'], 'www.example.org': ['203.0.113.99'] });
    await serve(
      { name: 'corp', domains: ['corp.example.com.'], upstreams: [udp(corp.port)] },
      { name: 'eng', domains: ['eng.corp.example.com.'], upstreams: [udp(deep.port)] },
      { name: 'default', domains: ['.'], upstreams: [udp(def.port)] },
    );
    expect(A(await udpQuery(server.port, { name: 'a.corp.example.com' }))).to.deep.equal(['10.0.0.1']);
    expect(A(await udpQuery(server.port, { name: 'a.eng.corp.example.com' }))).to.deep.equal(['10.0.0.2']);
    expect(A(await udpQuery(server.port, { name: 'www.example.net' }))).to.deep.equal(['198.51.100.1']);
    expect(A(await udpQuery(server.port, { name: 'www.example.org' }))).to.deep.equal(['192.0.2.1']); // our zone
    expect(def.queries.map((q) => q.packet.questions![0].name)).to.deep.equal(['www.example.net']);
  });

  it('answers REFUSED when no forwarder routes the name', async () => {
    const corp = await upstream({});
    await serve({ name: 'corp', domains: ['corp.example.com.'], upstreams: [udp(corp.port)] });
    expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.net' })).raw)).to.equal(5);
  });

  it('restores the client ID, question case and RD, and sends upstream a fresh ID with RD set', async () => {
    const u = await upstream({ 'mixed.example.com': ['10.9.9.9'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false } });
    const r = await udpQuery(server.port, { name: 'MiXeD.ExAmPlE.CoM', id: 1234, flags: 0 });
    expect(r.id).to.equal(1234);
    expect(r.questions![0].name).to.equal('MiXeD.ExAmPlE.CoM');
    expect(flagsOf(r.raw).rd).to.equal(false);
    expect(A(r)).to.deep.equal(['10.9.9.9']);
    const sent = u.queries[0];
    expect(sent.packet.id).to.not.equal(1234);
    expect(sent.packet.flags! & dnsPacket.RECURSION_DESIRED).to.not.equal(0);
    expect(sent.packet.additionals!.map((a) => a.type)).to.deep.equal(['OPT']); // EDNS on our hop
  });

  it('sequential always asks the first healthy upstream; roundRobin alternates; random uses them all', async () => {
    const u1 = await upstream({ 'x.example.com': ['10.0.0.1'] });
    const u2 = await upstream({ 'x.example.com': ['10.0.0.2'] });
    const base = { domains: ['.'], upstreams: [udp(u1.port), udp(u2.port)], cache: { enabled: false } };
    await serve({ name: 'seq', ...base, policy: 'sequential' });
    for (let i = 0; i < 6; i++) await udpQuery(server.port, { name: 'x.example.com' });
    expect([u1.queries.length, u2.queries.length]).to.deep.equal([6, 0]);
    server.applyBundle(bundle(forwardersShard({ name: 'rr', ...base, policy: 'roundRobin' })));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(A(await udpQuery(server.port, { name: 'x.example.com' }))[0]);
    expect(seen.filter((a) => a === '10.0.0.1')).to.have.length(3);
    expect(seen.slice(0, 2).sort()).to.deep.equal(['10.0.0.1', '10.0.0.2']);
    server.applyBundle(bundle(forwardersShard({ name: 'rnd', ...base, policy: 'random' })));
    const r = new Set<string>();
    for (let i = 0; i < 40; i++) r.add(A(await udpQuery(server.port, { name: 'x.example.com' }))[0]);
    expect([...r].sort()).to.deep.equal(['10.0.0.1', '10.0.0.2']);
  });

  it('fails over to the next upstream on a timeout and on a dead upstream', async () => {
    const silentUp = await startUpstream(() => null);
    ups.push(silentUp);
    const dead = dgram.createSocket('udp4');
    await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
    const deadPort = dead.address().port;
    dead.close(); // nothing listens there now
    const good = await upstream({ 'f.example.com': ['10.1.1.1'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(silentUp.port), udp(deadPort), udp(good.port)], timeoutMs: 150, cache: { enabled: false } });
    expect(A(await udpQuery(server.port, { name: 'f.example.com' }))).to.deep.equal(['10.1.1.1']);
    expect(silentUp.queries).to.have.length(1);
  });

  it('counts each attempt\'s outcome under its upstream: timeout, error, closed, an rcode by name, other rcodes as "other"', async () => {
    const silentUp = await startUpstream(() => null);
    ups.push(silentUp);
    const refusing = await startUpstream((q) => ({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 5, questions: q.questions, answers: [] }) as Packet);
    ups.push(refusing);
    const notauth = await startUpstream((q) => ({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 9, questions: q.questions, answers: [] }) as Packet);
    ups.push(notauth);
    const closing = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => closing.listen(0, '127.0.0.1', () => r()));
    const closingPort = (closing.address() as net.AddressInfo).port;
    const nobody = net.createServer();
    await new Promise<void>((r) => nobody.listen(0, '127.0.0.1', () => r()));
    const nobodyPort = (nobody.address() as net.AddressInfo).port;
    await new Promise<void>((r) => nobody.close(() => r())); // nothing listens there now
    try {
      const tcp = (port: number) => ({ address: '127.0.0.1', port, protocol: 'tcp' as const });
      await serve({ name: 'f', domains: ['.'], upstreams: [udp(silentUp.port), tcp(nobodyPort), tcp(closingPort), udp(refusing.port), udp(notauth.port)], timeoutMs: 150, cache: { enabled: false } });
      expect(rcodeOf((await udpQuery(server.port, { name: 'o.example.com' })).raw)).to.equal(9);
      const m = await registry.metrics();
      const count = (upstream: string, rcode: string) => new RegExp(`splitdns_forward_requests_total\\{forwarder="f",upstream="${upstream}",rcode="${rcode}"\\} 1\\n`);
      expect(m).to.match(count(`udp://127.0.0.1:${silentUp.port}`, 'timeout'));
      expect(m).to.match(count(`tcp://127.0.0.1:${nobodyPort}`, 'error'));
      expect(m).to.match(count(`tcp://127.0.0.1:${closingPort}`, 'closed'));
      expect(m).to.match(count(`udp://127.0.0.1:${refusing.port}`, 'REFUSED'));
      expect(m).to.match(count(`udp://127.0.0.1:${notauth.port}`, 'other'));
      expect(m.match(/^splitdns_forward_requests_total\{/gm)).to.have.length(5);
    } finally {
      await new Promise<void>((r) => closing.close(() => r()));
    }
  });

  it('answers SERVFAIL when every upstream fails within the deadline', async () => {
    const s1 = await startUpstream(() => null);
    ups.push(s1);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(s1.port)], timeoutMs: 100, deadlineMs: 300, cache: { enabled: false } });
    const r = await udpQuery(server.port, { name: 'gone.example.com' });
    expect(rcodeOf(r.raw)).to.equal(2);
    expect(await registry.metrics()).to.match(/splitdns_forward_servfail_total\{forwarder="f"\} 1/);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const big = Array.from({ length: 30 }, (_, i) => `10.2.0.${i + 1}`); // ~950 bytes uncompressed: over 512, under 1232
    const full = answerFrom({ 'big.example.com': big });
    const u = await startUpstream(async (q, proto) => {
      if (proto === 'udp') return { id: q.id, type: 'response', flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [] };
      return full(q, proto);
    });
    ups.push(u);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false } });
    const r = await udpQuery(server.port, { name: 'big.example.com', edns: 1232 });
    expect(A(r)).to.have.length(30);
    expect(u.queries.map((q) => q.proto)).to.deep.equal(['udp', 'tcp']);
    // a client without EDNS gets TC=1 from us (over 512 bytes), and the full answer over TCP
    const small = await udpQuery(server.port, { name: 'big.example.com' });
    expect(flagsOf(small.raw).tc).to.equal(true);
  });

  it('truncates a forwarded answer over an EDNS client\'s smaller payload size', async () => {
    const big = Array.from({ length: 30 }, (_, i) => `10.2.1.${i + 1}`); // ~950 bytes
    const u = await upstream({ 'big.example.com': big });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)] });
    const r = await udpQuery(server.port, { name: 'big.example.com', edns: 700 });
    expect(flagsOf(r.raw).tc).to.equal(true);
    expect(r.raw.length).to.be.at.most(700);
    expect(r.additionals!.map((a) => a.type)).to.deep.equal(['OPT']);
    const full = await udpQuery(server.port, { name: 'big.example.com', edns: 1232 }); // now from the cache
    expect(A(full)).to.have.length(30);
  });

  it('a reload that changes a forwarder\'s upstreams starts its health afresh', async () => {
    const dead = await startUpstream(() => null);
    ups.push(dead);
    const good = await upstream({ 'r.example.com': ['10.13.0.1'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(dead.port)], timeoutMs: 50, failFast: true, healthCheck: { enabled: true, intervalMs: 60000, failures: 1 } });
    await until('the dead upstream marked down', async () => /splitdns_forward_upstream_up\{forwarder="f",upstream="udp:\/\/127\.0\.0\.1:\d+"\} 0/.test(await registry.metrics()), 10000);
    server.applyBundle(bundle(exampleZone(), forwardersShard({ name: 'f', domains: ['.'], upstreams: [udp(good.port)], timeoutMs: 50, failFast: true, healthCheck: { enabled: true, intervalMs: 60000, failures: 1 } })));
    expect(await registry.metrics()).to.match(new RegExp(`splitdns_forward_upstream_up\\{forwarder="f",upstream="udp://127\\.0\\.0\\.1:${good.port}"\\} 1`));
    expect(A(await udpQuery(server.port, { name: 'r.example.com' }))).to.deep.equal(['10.13.0.1']);
  });

  it('uses TCP upstreams with reused, pipelined connections', async () => {
    const u = await upstream({ 't1.example.com': ['10.3.0.1'], 't2.example.com': ['10.3.0.2'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: u.port, protocol: 'tcp' }], cache: { enabled: false } });
    const rs = await Promise.all(['t1', 't2', 't1', 't2'].map((n) => udpQuery(server.port, { name: `${n}.example.com` })));
    expect(rs.map((r) => A(r)[0])).to.deep.equal(['10.3.0.1', '10.3.0.2', '10.3.0.1', '10.3.0.2']);
    expect(u.queries.every((q) => q.proto === 'tcp')).to.equal(true);
    expect(new Set(u.queries.map((q) => q.from)).size, 'one connection').to.equal(1);
  });

  describe('TLS (RFC 7858)', () => {
    let certs: ReturnType<typeof makeTestCerts>;
    before(() => { certs = makeTestCerts('dns.example.test'); });
    after(() => fs.rmSync(certs.dir, { recursive: true, force: true }));

    it('verifies the server name against the CA bundle and answers', async () => {
      const u = await startUpstream(answerFrom({ 'tls.example.com': ['10.4.0.1'] }), { tls: { key: certs.key, cert: certs.cert } });
      ups.push(u);
      await serve({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: u.port, protocol: 'tls', serverName: 'dns.example.test', caBundle: certs.ca }], cache: { enabled: false } });
      expect(A(await udpQuery(server.port, { name: 'tls.example.com' }))).to.deep.equal(['10.4.0.1']);
      expect(u.queries[0].proto).to.equal('tls');
    });

    it('refuses an upstream whose certificate does not carry the server name (SERVFAIL, nothing sent)', async () => {
      const u = await startUpstream(answerFrom({ 'tls.example.com': ['10.4.0.1'] }), { tls: { key: certs.key, cert: certs.cert } });
      ups.push(u);
      await serve({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: u.port, protocol: 'tls', serverName: 'wrong.example.test', caBundle: certs.ca }], cache: { enabled: false }, timeoutMs: 500 });
      expect(rcodeOf((await udpQuery(server.port, { name: 'tls.example.com' })).raw)).to.equal(2);
      expect(u.queries).to.have.length(0);
    });
  });

  it('ignores spoofed answers: wrong ID, wrong source port, wrong question', async () => {
    const liar = dgram.createSocket('udp4');
    await new Promise<void>((r) => liar.bind(0, '127.0.0.1', () => r()));
    const real = answerFrom({ 'spoof.example.com': ['10.5.0.1'] });
    const u = await startUpstream(async (q, proto) => {
      const from = u.queries[u.queries.length - 1].from;
      const fake = (id: number, name: string) => dnsPacket.encode({ id, type: 'response', flags: 0, questions: [{ name, type: 'A', class: 'IN' }], answers: [{ name, type: 'A', ttl: 300, data: '6.6.6.6' }] });
      // Each lie is sent before the real answer; the two from the upstream's own socket reach the
      // forwarder first, in order, so they are counted by the time the real answer is read.
      const send = (s: dgram.Socket, b: Buffer) => new Promise<void>((r) => s.send(b, from, '127.0.0.1', () => r()));
      await send(u.udpSocket, fake((q.id! + 1) & 0xffff, 'spoof.example.com')); // wrong ID
      await send(u.udpSocket, fake(q.id!, 'other.example.com')); // wrong question
      await send(liar, fake(q.id!, 'spoof.example.com')); // right ID and question, wrong source port
      return real(q, proto);
    });
    ups.push(u);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false } });
    expect(A(await udpQuery(server.port, { name: 'spoof.example.com' }))).to.deep.equal(['10.5.0.1']);
    liar.close();
    // The wrong-ID and wrong-question answers reach us and are dropped and counted; the one from
    // a wrong source port never does: the socket is connected, so the kernel drops it first.
    expect(await registry.metrics()).to.match(/splitdns_forward_spoofed_total 2/);
  });

  describe('an upstream address written otherwise than Node reports an answer\'s source', () => {
    it('answers from an IPv4 upstream configured as an IPv4-mapped IPv6 address in upper case (::FFFF:127.0.0.1)', async () => {
      const u = await upstream({ 'mapped.example.com': ['10.7.0.1'] });
      await serve({ name: 'f', domains: ['.'], upstreams: [{ address: '::FFFF:127.0.0.1', port: u.port, protocol: 'udp' }], cache: { enabled: false } });
      expect(A(await udpQuery(server.port, { name: 'mapped.example.com' }))).to.deep.equal(['10.7.0.1']);
      expect(await registry.metrics()).to.match(/splitdns_forward_spoofed_total 0/);
    });

    it('answers from an upstream on ::1 configured as 0:0:0:0:0:0:0:1', async function () {
      const v6 = dgram.createSocket('udp6');
      const bound = await new Promise<boolean>((r) => { v6.once('error', () => r(false)); v6.bind(0, '::1', () => r(true)); });
      if (!bound) {
        try { v6.close(); } catch { /* never bound */ }
        console.log('      (skipped: this machine has no IPv6 loopback ::1 to bind)');
        this.skip();
      }
      const answer = answerFrom({ 'six.example.com': ['10.7.0.2'] });
      v6.on('message', (m, rinfo) => {
        const reply = answer(dnsPacket.decode(m), 'udp') as Packet;
        v6.send(dnsPacket.encode(reply), rinfo.port, rinfo.address);
      });
      try {
        await serve({ name: 'f', domains: ['.'], upstreams: [{ address: '0:0:0:0:0:0:0:1', port: v6.address().port, protocol: 'udp' }], cache: { enabled: false } });
        expect(A(await udpQuery(server.port, { name: 'six.example.com' }))).to.deep.equal(['10.7.0.2']);
        expect(await registry.metrics()).to.match(/splitdns_forward_spoofed_total 0/);
      } finally { v6.close(); }
    });

    it('refuses an IPv4 upstream address with leading zeros (127.000.000.001), naming the field', async () => {
      await serve({ name: 'ok', domains: ['.'], upstreams: [udp(53)] });
      const r = server.applyBundle(bundle(exampleZone(), forwardersShard({ name: 'f', domains: ['.'], upstreams: [{ address: '127.000.000.001', port: 53, protocol: 'udp' }] })));
      expect(r.refused.map((x) => x.id)).to.deep.equal(['forwarders']);
      expect(r.refused[0].errors).to.include('forwarders: /forwarders/0/upstreams/0/address must match format "ipv4"');
    });
  });

  it('uses a random source port and ID per upstream query', async () => {
    const u = await upstream({ 'p.example.com': ['10.6.0.1'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false } });
    for (let i = 0; i < 30; i++) await udpQuery(server.port, { name: 'p.example.com' });
    expect(new Set(u.queries.map((q) => q.from)).size).to.be.greaterThan(10);
    expect(new Set(u.queries.map((q) => q.packet.id)).size).to.be.greaterThan(25);
  });

  it('coalesces identical questions in flight into one upstream query', async () => {
    const real = answerFrom({ 'slow.example.com': ['10.7.0.1'] });
    // The upstream answers once the server has received all ten questions: they are in flight together.
    const u = await startUpstream(async (q, p) => { await received(10); return real(q, p); });
    ups.push(u);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false } });
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => udpQuery(server.port, { name: 'slow.example.com', id: 500 + i })));
    expect(rs.map((r) => r.id)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 500 + i));
    for (const r of rs) expect(A(r)).to.deep.equal(['10.7.0.1']);
    expect(u.queries).to.have.length(1);
  });

  it('answers REFUSED over the cap of concurrent upstream queries', async () => {
    const real = answerFrom({});
    // The two admitted questions are answered once the server has received all five.
    const u = await startUpstream(async (q, p) => { await received(5); return real(q, p); });
    ups.push(u);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], maxConcurrent: 2, cache: { enabled: false } });
    const rs = await Promise.all(Array.from({ length: 5 }, (_, i) => udpQuery(server.port, { name: `n${i}.example.com` })));
    expect(rs.filter((r) => rcodeOf(r.raw) === 5)).to.have.length(3);
    expect(await registry.metrics()).to.match(/splitdns_forward_overload_total\{forwarder="f"\} 3/);
  });

  it('never delivers one client\'s answer to another under concurrency', async () => {
    const u = await startUpstream(async (q) => {
      await sleep(Math.floor(Math.random() * 20));
      const name = q.questions![0].name;
      const n = Number(name.split('.')[0].slice(1));
      return { id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name, type: 'A', ttl: 60, data: `10.8.${n >> 8}.${n & 255}` }] };
    });
    ups.push(u);
    // Timeouts far above the upstream's 20 ms: what is tested is who gets which answer, and on a
    // busy machine the helper's 300 ms try timeout could turn a slow answer into a SERVFAIL.
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], cache: { enabled: false }, timeoutMs: 2000, deadlineMs: 4500 });
    // 300 queries from 300 client sockets, all sent at once: all in flight together (the
    // upstream holds each up to 20 ms). The server's 4 MiB receive buffer takes the burst (the
    // OS default, about 256 datagrams, dropped queries 256-299 here). Where the kernel caps
    // buffers lower (net.core.rmem_max), waves of 100, each all in flight, each awaited.
    const N = 300;
    const wave = Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) >= 4 * 1024 * 1024 ? N : 100;
    const rs: Awaited<ReturnType<typeof udpQuery>>[] = [];
    for (let from = 0; from < N; from += wave) {
      rs.push(...await Promise.all(Array.from({ length: Math.min(wave, N - from) }, (_, i) => udpQuery(server.port, { name: `c${from + i}.example.com`, id: from + i }))));
    }
    for (let n = 0; n < N; n++) {
      expect(rs[n].id).to.equal(n);
      expect(rs[n].questions![0].name).to.equal(`c${n}.example.com`);
      expect(A(rs[n])).to.deep.equal([`10.8.${n >> 8}.${n & 255}`]);
    }
  });

  it('answers REFUSED when a fallback\'s promise settles to null, and SERVFAIL when it rejects', async () => {
    registry = new Registry();
    const fallback: Fallback = {
      resolve: (q) => (q.key.startsWith('\x04none') ? Promise.resolve(null) : Promise.reject(new Error('broken fallback'))),
      applyForwarders: () => undefined, status: () => null, close: async () => undefined,
    };
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    expect(rcodeOf((await udpQuery(server.port, { name: 'none.example.net' })).raw)).to.equal(5);
    expect(rcodeOf((await udpQuery(server.port, { name: 'fail.example.net' })).raw)).to.equal(2);
    const m = await registry.metrics();
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="REFUSED"\} 1/);
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="SERVFAIL"\} 1/);
  });

  it('maps a fallback\'s null or rejection to the reply of its own query while other queries came in meanwhile', async () => {
    registry = new Registry();
    const { held, fallback } = holdingFallback();
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    const first = udpQuery(server.port, { name: 'first.example.net' });
    await until('the first query held', () => held.length === 1);
    const second = udpQuery(server.port, { name: 'second.example.net', type: 'AAAA' });
    await until('the second query held', () => held.length === 2);
    held[0].settle();
    const a = await first;
    expect(rcodeOf(a.raw)).to.equal(5);
    expect(a.questions).to.deep.equal([{ name: 'first.example.net', type: 'A', class: 'IN' }]);
    held[1].settle(new Error('broken fallback'));
    const b = await second;
    expect(rcodeOf(b.raw)).to.equal(2);
    expect(b.questions).to.deep.equal([{ name: 'second.example.net', type: 'AAAA', class: 'IN' }]);
    const third = udpQuery(server.port, { name: 'third.example.net' });
    await until('the third query held', () => held.length === 3);
    held[2].settle(new Error('broken fallback'));
    expect((await third).questions![0].name).to.equal('third.example.net');
  });

  it('hands the fallback a TCP query in bytes of its own, not a view that keeps the connection\'s read while it waits', async () => {
    registry = new Registry();
    const { held, fallback } = holdingFallback();
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    const c = await tcpConnect(server.port);
    try {
      const queries = [buildQuery({ name: 'One.example.net', id: 11 }), buildQuery({ name: 'two.example.net', type: 'AAAA', id: 22 })];
      c.sock.write(Buffer.concat(queries.map(frame))); // one read: both queries are views into it
      await until('both queries held', () => held.length === 2);
      held.forEach((h, i) => {
        expect(h.msg.byteLength, 'owns its memory').to.equal(h.msg.buffer.byteLength);
        expect(h.msg.equals(queries[i].subarray(0, h.msg.length)), 'the query\'s own bytes').to.equal(true);
      });
      for (const h of held) h.settle();
      const answers = await c.next(2);
      expect(answers.map((r) => { const a = dnsPacket.decode(r); return [a.id, rcodeOf(r), a.questions![0].name, a.questions![0].type]; }))
        .to.deep.equal([[11, 5, 'One.example.net', 'A'], [22, 5, 'two.example.net', 'AAAA']]);
    } finally {
      c.sock.destroy();
    }
  });

  it('keeps of a large UDP query only its header and question while the fallback holds it', async () => {
    registry = new Registry();
    const { held, fallback } = holdingFallback();
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    // A valid query padded to 8 KB (an EDNS padding option, RFC 7830): what a hostile client
    // sends to have every query it keeps waiting cost the server 8 KB or more.
    const query = dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name: 'Big.example.net', type: 'A', class: 'IN' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [{ code: 12, data: Buffer.alloc(8000) }] } as dnsPacket.Answer] });
    const reply = udpExchange(server.port, query);
    await until('the query held', () => held.length === 1);
    expect(held[0].msg.length).to.equal(12 + 'Big.example.net'.length + 2 + 4); // header and question
    held[0].settle();
    const r = await reply;
    expect(r, 'answered').to.not.equal(null);
    const a = dnsPacket.decode(r!);
    expect([a.id, rcodeOf(r!), a.questions![0].name]).to.deep.equal([7, 5, 'Big.example.net']);
  });

  it('answers Node\'s dns.Resolver (c-ares) through the forwarder', async () => {
    const u = await upstream({ 'cares.example.com': ['10.10.0.1'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)] });
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    expect(await r.resolve4('cares.example.com')).to.deep.equal(['10.10.0.1']);
    await r.resolve4('nx.example.com').then(() => expect.fail('resolved'), (e: { code: string }) => expect(e.code).to.equal('ENOTFOUND'));
  });

  it('health: checks from start-up mark an upstream down after consecutive failures, and up again', async () => {
    let alive = false;
    const real = answerFrom({ 'h.example.com': ['10.11.0.1'] });
    const u = await startUpstream((q, p) => (alive ? real(q, p) : null));
    ups.push(u);
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)], timeoutMs: 50, healthCheck: { enabled: true, intervalMs: 100, failures: 2 }, failFast: true });
    const upMetric = /splitdns_forward_upstream_up\{forwarder="f",upstream="udp:\/\/127\.0\.0\.1:\d+"\} 1/;
    await until('marked down by health checks alone', async () => !upMetric.test(await registry.metrics()), 10000);
    expect(u.queries.length).to.be.at.least(2);
    expect(u.queries.every((q) => q.packet.questions![0].type === 'NS')).to.equal(true);
    // fail fast: SERVFAIL at once while down
    expect(rcodeOf((await udpQuery(server.port, { name: 'h.example.com' })).raw)).to.equal(2);
    alive = true;
    await until('up again after a successful check', async () => upMetric.test(await registry.metrics()), 10000);
    expect(A(await udpQuery(server.port, { name: 'h.example.com' }))).to.deep.equal(['10.11.0.1']);
    expect(await registry.metrics()).to.match(/splitdns_forward_healthcheck_failures_total\{forwarder="f",upstream="[^"]+"\} [2-9]/);
  });

  it('reports forwarders and upstream health in /status', async () => {
    const u = await upstream({});
    registry = new Registry();
    server = await startTestServer(undefined, { registry, httpPort: 0, fallback: createForwarder({ logger: silent, registry }) });
    server.applyBundle(bundle(forwardersShard({ name: 'corp', domains: ['corp.example.com.'], upstreams: [udp(u.port)] })));
    const s = await (await fetch(`http://127.0.0.1:${server.httpPort}/status`)).json() as { fallback: { forwarders: { name: string; upstreams: { up: boolean }[] }[] } };
    expect(s.fallback.forwarders.map((f) => [f.name, f.upstreams.map((x) => x.up)])).to.deep.equal([['corp', [true]]]);
  });

  it('sends an EDNS client our OPT, and a non-EDNS client none', async () => {
    const u = await upstream({ 'e.example.com': ['10.12.0.1'] });
    await serve({ name: 'f', domains: ['.'], upstreams: [udp(u.port)] });
    const withOpt = await udpQuery(server.port, { name: 'e.example.com', edns: 4096 });
    const opt = withOpt.additionals!.find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number };
    expect(opt.udpPayloadSize).to.equal(1232);
    const without = dnsPacket.decode((await udpExchange(server.port, buildQuery({ name: 'e.example.com' })))!);
    expect((without.additionals ?? []).map((a) => a.type)).to.deep.equal([]);
  });
});

/** A fallback that holds every query it is handed until the test settles it: with null (REFUSED), or an error (SERVFAIL). */
function holdingFallback(): { held: { msg: Buffer; settle: (err?: Error) => void }[]; fallback: Fallback } {
  const held: { msg: Buffer; settle: (err?: Error) => void }[] = [];
  const fallback: Fallback = {
    resolve: (q) => new Promise((res, rej) => { held.push({ msg: q.msg, settle: (err) => (err ? rej(err) : res(null)) }); }),
    applyForwarders: () => undefined, status: () => null, close: async () => undefined,
  };
  return { held, fallback };
}
