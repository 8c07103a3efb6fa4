// The forwarded query's callback path (docs/adr/0016): a fallback that answers later through
// FallbackQuery.answer() (resolve() returned PENDING), over real UDP and TCP sockets, and the
// forwarder's own use of it (PENDING for a query sent upstream, a Buffer for a cache hit).
import dgram from 'node:dgram';
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { createForwarder, PENDING } from '../../dns-server/index.js';
import type { DnsServer, Fallback, FallbackQuery, ForwardersShard } from '../../dns-server/index.js';
import { VALIDATOR } from '../../dns-server/config/validate.js';
import { handleQuery, PROTO_UDP } from '../../dns-server/handler.js';
import type { HandlerState } from '../../dns-server/handler.js';
import { ServerMetrics } from '../../dns-server/metrics.js';
import { TAP_OFF } from '../../dns-server/query-log.js';
import { ShardStore } from '../../dns-server/reload.js';
import { EMPTY_TABLES } from '../../dns-server/tables/build.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { replyBytes } from '../../dns-server/wire/response.js';
import type { Reply } from '../../dns-server/wire/response.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, frame, rcodeOf, tcpConnect, udpQuery } from '../helpers/dns-client.js';
import { askFallback, forwardersShard } from '../helpers/forwarders.js';
import { silent, startTestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';
import { answerFrom, startUpstream } from '../helpers/upstream.js';
import type { FakeUpstream } from '../helpers/upstream.js';

/** A fallback that holds each query (resolve() returns PENDING) until the test answers it through the query itself. */
function callbackFallback(): { held: FallbackQuery[]; fallback: Fallback } {
  const held: FallbackQuery[] = [];
  const fallback: Fallback = {
    resolve: (q) => { held.push(q); return PENDING; },
    applyForwarders: () => undefined, status: () => null, close: async () => undefined,
  };
  return { held, fallback };
}

/** A response to `q` with one A record, made from its own bytes (ID, question as the client sent them). */
function answerTo(q: FallbackQuery, address: string): Buffer {
  const p = dnsPacket.decode(q.msg);
  return dnsPacket.encode({ id: p.id, type: 'response', flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: p.questions,
    answers: [{ name: p.questions![0].name, type: 'A', class: 'IN', ttl: 60, data: address }] });
}

describe('forwarder: answers through FallbackQuery.answer() (no promise per query)', () => {
  let server: DnsServer | undefined;
  let up: FakeUpstream | undefined;
  afterEach(async () => { await server?.close(); server = undefined; await up?.close(); up = undefined; });

  it('sends a UDP client the answer given later through answer(), out of order, each to its own client and counted', async () => {
    const registry = new Registry();
    const { held, fallback } = callbackFallback();
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    const first = udpQuery(server.port, { name: 'first.example.net', id: 101 });
    const second = udpQuery(server.port, { name: 'second.example.net', id: 202 });
    await until('both queries held', () => held.length === 2);
    const byName = (n: string) => held.find((q) => q.key === nameToKey(n))!;
    byName('second.example.net.').answer(answerTo(byName('second.example.net.'), '10.0.0.2'));
    byName('first.example.net.').answer(null); // no route: REFUSED
    const [a, b] = [await first, await second];
    expect([a.id, rcodeOf(a.raw), a.questions![0].name]).to.deep.equal([101, 5, 'first.example.net']);
    expect([b.id, rcodeOf(b.raw), (b.answers![0] as { data: string }).data]).to.deep.equal([202, 0, '10.0.0.2']);
    const m = await registry.metrics();
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="REFUSED"\} 1/);
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="NOERROR"\} 1/);
  });

  it('sends a TCP client its pipelined answers given through answer(), each framed, in the order given', async () => {
    const { held, fallback } = callbackFallback();
    server = await startTestServer(bundle(exampleZone()), { fallback });
    const c = await tcpConnect(server.port);
    try {
      c.sock.write(Buffer.concat([frame(buildQuery({ name: 'one.example.net', id: 11 })), frame(buildQuery({ name: 'two.example.net', id: 22 }))]));
      await until('both queries held', () => held.length === 2);
      held[1].answer(answerTo(held[1], '10.0.0.22'));
      held[0].answer(answerTo(held[0], '10.0.0.11'));
      const answers = (await c.next(2)).map((r) => dnsPacket.decode(r));
      expect(answers.map((a) => [a.id, (a.answers![0] as { data: string }).data])).to.deep.equal([[22, '10.0.0.22'], [11, '10.0.0.11']]);
    } finally {
      c.sock.destroy();
    }
  });

  it('takes an answer() made before resolve() returns PENDING (a fallback that settles at once)', async () => {
    const fallback: Fallback = {
      resolve: (q) => { q.answer(answerTo(q, '10.0.0.3')); return PENDING; },
      applyForwarders: () => undefined, status: () => null, close: async () => undefined,
    };
    server = await startTestServer(bundle(exampleZone()), { fallback });
    const r = await udpQuery(server.port, { name: 'now.example.net', id: 303 });
    expect([r.id, (r.answers![0] as { data: string }).data]).to.deep.equal([303, '10.0.0.3']);
  });

  it('the forwarder answers a query it sends upstream through answer() (PENDING), a cache hit at once, each exactly once', async () => {
    up = await startUpstream(answerFrom({ 'p.example.com': ['10.9.9.9'] }));
    const fb = createForwarder({ logger: silent, registry: new Registry() });
    fb.applyForwarders(forwardersShard({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: up.port, protocol: 'udp' }] }) as ForwardersShard);
    try {
      const msg = buildQuery({ name: 'P.example.com', id: 9 });
      const key = nameToKey('p.example.com.');
      const q = { msg, qend: 12 + key.length + 4, key, qtype: 1, qclass: 1, maxSize: 512, optSize: -1, dnssecOk: false };
      const answered: Buffer[] = [];
      expect(fb.resolve({ ...q, answer: (b) => answered.push(b!) })).to.equal(PENDING);
      await until('answered', () => answered.length === 1);
      const a = dnsPacket.decode(answered[0]);
      expect([a.id, a.questions![0].name, (a.answers![0] as { data: string }).data]).to.deep.equal([9, 'P.example.com', '10.9.9.9']);
      const hit = fb.resolve({ ...q, answer: () => expect.fail('a cache hit is returned, not answered') });
      expect(Buffer.isBuffer(hit), 'a Buffer at once').to.equal(true);
      expect(dnsPacket.decode(hit as Buffer).id).to.equal(9);
      expect(answered).to.have.length(1);
    } finally {
      await fb.close();
    }
  });

  it('the forwarder keeps its own copy of a query that is a view into a larger buffer, and answers through the original query', async () => {
    up = await startUpstream(answerFrom({ 'v.example.com': ['10.9.9.8'] }));
    const fb = createForwarder({ logger: silent, registry: new Registry() });
    fb.applyForwarders(forwardersShard({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: up.port, protocol: 'udp' }], cache: { enabled: false } }) as ForwardersShard);
    try {
      const query = buildQuery({ name: 'V.example.com', id: 77 });
      const big = Buffer.alloc(query.length + 100);
      query.copy(big, 50);
      const key = nameToKey('v.example.com.');
      const reply = askFallback(fb, { msg: big.subarray(50, 50 + query.length), qend: 12 + key.length + 4, key, qtype: 1, qclass: 1, maxSize: 512, optSize: -1, dnssecOk: false });
      big.fill(0); // the caller reuses its buffer while the query is in flight
      const a = dnsPacket.decode((await reply)!);
      expect([a.id, a.questions![0].name, (a.answers![0] as { data: string }).data]).to.deep.equal([77, 'V.example.com', '10.9.9.8']);
    } finally {
      await fb.close();
    }
  });

  it('routes the root name itself to the "." forwarder, a deeper domain to its own, and forgets "." on a reload without it', async () => {
    up = await startUpstream(answerFrom({ 'r.example.com': ['10.7.7.7'] }));
    const other = await startUpstream(answerFrom({ 'r.corp.example.com': ['10.7.7.8'] }));
    const fb = createForwarder({ logger: silent, registry: new Registry() });
    const route = (name: string, port: number) => ({ name, domains: [name === 'root' ? '.' : 'corp.example.com.'], upstreams: [{ address: '127.0.0.1', port, protocol: 'udp' as const }] });
    const ask = async (name: string) => {
      const key = nameToKey(name);
      const b = await askFallback(fb, { msg: buildQuery({ name, id: 5 }), qend: 12 + key.length + 4, key, qtype: 1, qclass: 1, maxSize: 512, optSize: -1, dnssecOk: false });
      return b === null ? null : [rcodeOf(b), ...(dnsPacket.decode(b).answers ?? []).map((a) => (a as { data: string }).data)];
    };
    try {
      fb.applyForwarders(forwardersShard(route('root', up.port), route('corp', other.port)) as ForwardersShard);
      expect(await ask('r.example.com.')).to.deep.equal([0, '10.7.7.7']);
      expect(await ask('r.corp.example.com.')).to.deep.equal([0, '10.7.7.8']);
      expect(await ask('.')).to.deep.equal([3]); // the root name itself, asked upstream (NXDOMAIN from answerFrom)
      expect(up.queries.map((q) => q.packet.questions![0].name)).to.include('.');
      fb.applyForwarders(forwardersShard(route('corp', other.port)) as ForwardersShard);
      expect(await ask('r.example.com.')).to.equal(null); // no route: the server answers REFUSED
      expect(await ask('r.corp.example.com.')).to.deep.equal([0, '10.7.7.8']);
    } finally {
      await fb.close();
      await other.close();
    }
  });

  it('the transports\' tap when query logging is off (TAP_OFF.handle) takes its 4th argument as the client, not as a sink: a forwarded query gives a promise of its answer', async () => {
    const { held, fallback } = callbackFallback();
    const metrics = new ServerMetrics();
    const st: HandlerState = { tables: EMPTY_TABLES, fallback, metrics, udpPayloadSize: 1232 };
    new ShardStore(st, metrics, silent, VALIDATOR).applyBundle(bundle(exampleZone()));
    const out = TAP_OFF.handle(buildQuery({ name: 'tap.example.net', id: 404 }), PROTO_UDP, st, '127.0.0.1');
    expect(out, 'a promise, as QueryTap.handle promises').to.be.instanceOf(Promise);
    await until('the query held', () => held.length === 1);
    held[0].answer(answerTo(held[0], '10.0.0.4'));
    const r = dnsPacket.decode(replyBytes((await out)!));
    expect([r.id, (r.answers![0] as { data: string }).data]).to.deep.equal([404, '10.0.0.4']);
  });

  it('a TCP client gone before its answer: the answer is dropped, counted once, and the server answers the next client', async () => {
    const registry = new Registry();
    const { held, fallback } = callbackFallback();
    server = await startTestServer(bundle(exampleZone()), { registry, fallback });
    const c = await tcpConnect(server.port);
    c.sock.write(frame(buildQuery({ name: 'gone.example.net', id: 55 })));
    await until('the query held', () => held.length === 1);
    const closed = new Promise((r) => c.sock.once('close', r));
    c.sock.destroy();
    await closed;
    await until('the server saw the connection go', async () => /splitdns_dns_tcp_connections 0/.test(await registry.metrics()));
    held[0].answer(answerTo(held[0], '10.0.0.55'));
    const next = udpQuery(server.port, { name: 'next.example.net', id: 66 });
    await until('the next query held', () => held.length === 2);
    held[1].answer(answerTo(held[1], '10.0.0.66'));
    expect(rcodeOf((await next).raw)).to.equal(0);
    expect(await registry.metrics()).to.match(/splitdns_dns_responses_total\{rcode="NOERROR"\} 2/);
  });

  it('a sink that throws is not thrown back into the fallback: the next client of the same flight is answered, each counted once', async () => {
    const metrics = new ServerMetrics();
    const { held, fallback } = callbackFallback();
    const st: HandlerState = { tables: EMPTY_TABLES, fallback, metrics, udpPayloadSize: 1232 };
    new ShardStore(st, metrics, silent, VALIDATOR).applyBundle(bundle(exampleZone()));
    const sent: number[] = [];
    const sink = (r: Reply, to: number) => { if (to === 1) throw new Error('transport gone'); sent.push(dnsPacket.decode(replyBytes(r)).id!); };
    expect(handleQuery(buildQuery({ name: 'same.example.net', id: 1 }), PROTO_UDP, st, sink, 1)).to.equal(PENDING);
    expect(handleQuery(buildQuery({ name: 'same.example.net', id: 2 }), PROTO_UDP, st, sink, 2)).to.equal(PENDING);
    // What a flight does on its answer: each waiting client in turn, in one call.
    for (const q of held) q.answer(answerTo(q, '10.0.0.7'));
    expect(sent).to.deep.equal([2]);
    expect(await metrics.registry.metrics()).to.match(/splitdns_dns_responses_total\{rcode="NOERROR"\} 2/);
  });

  it('a fallback that keeps the query and then throws inside resolve(): one answer (SERVFAIL, counted once), its later answer() dropped', async () => {
    const metrics = new ServerMetrics();
    const held: FallbackQuery[] = [];
    // Registers the query (as the forwarder's flight.wait() does), then fails before returning.
    const fallback: Fallback = {
      resolve: (q) => { held.push(q); throw new Error('launch failed'); },
      applyForwarders: () => undefined, status: () => null, close: async () => undefined,
    };
    const st: HandlerState = { tables: EMPTY_TABLES, fallback, metrics, udpPayloadSize: 1232 };
    new ShardStore(st, metrics, silent, VALIDATOR).applyBundle(bundle(exampleZone()));
    const sent: Reply[] = [];
    const out = handleQuery(buildQuery({ name: 'thrown.example.net', id: 9 }), PROTO_UDP, st, (r: Reply) => { sent.push(r); }, 0);
    expect(out).to.be.instanceOf(Buffer);
    expect(rcodeOf(out as Buffer)).to.equal(2); // SERVFAIL, at once
    expect(held).to.have.length(1);
    held[0].answer(answerTo(held[0], '10.0.0.9')); // what the flight would do when it lands
    expect(sent).to.have.length(0);
    const m = await metrics.registry.metrics();
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="SERVFAIL"\} 1/);
    expect(m).not.to.match(/splitdns_dns_responses_total\{rcode="NOERROR"\}/);
  });

  it('dgram hands each datagram in a buffer of its own at offset 0 (what the handler\'s UDP ownership test rests on: checked on every Node version CI runs)', async () => {
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    try {
      const got: Buffer[] = [];
      rx.on('message', (m) => { got.push(m); });
      await new Promise<void>((resolve) => rx.bind(0, '127.0.0.1', resolve));
      const sizes = [12, 33, 512, 1400];
      for (const n of sizes) tx.send(Buffer.alloc(n, n & 0xff), rx.address().port, '127.0.0.1');
      await until('every datagram received', () => got.length === sizes.length);
      expect(got.map((m) => [m.length, m.byteOffset, m.buffer.byteLength]).sort((a, b) => a[0]! - b[0]!)).to.deep.equal(sizes.map((n) => [n, 0, n]));
      expect(new Set(got.map((m) => m.buffer)).size, 'no two share memory').to.equal(sizes.length);
    } finally { rx.close(); tx.close(); }
  });

  it('the handler keeps a UDP datagram of its own as the held query (msgOwned), and copies one that is a view into a larger buffer before the caller reuses it', () => {
    const metrics = new ServerMetrics();
    const { held, fallback } = callbackFallback();
    const st: HandlerState = { tables: EMPTY_TABLES, fallback, metrics, udpPayloadSize: 1232 };
    new ShardStore(st, metrics, silent, VALIDATOR).applyBundle(bundle(exampleZone()));
    const sent: Reply[] = [];
    const sink = (r: Reply) => { sent.push(r); };
    // A datagram as dgram hands it: a buffer of its own.
    const q1 = buildQuery({ name: 'own.example.net', id: 1 });
    const own = Buffer.from(new ArrayBuffer(q1.length));
    q1.copy(own);
    expect(handleQuery(own, PROTO_UDP, st, sink, 0)).to.equal(PENDING);
    expect(held[0].msg, 'kept as it is').to.equal(own);
    expect(held[0].msgOwned).to.equal(true);
    // A view into a larger buffer, rewritten by its owner once handleQuery has returned.
    const query = buildQuery({ name: 'View.example.net', id: 2 });
    const big = Buffer.alloc(query.length + 100);
    query.copy(big, 50);
    expect(handleQuery(big.subarray(50, 50 + query.length), PROTO_UDP, st, sink, 0)).to.equal(PENDING);
    big.fill(0);
    expect(held[1].msgOwned).to.equal(true);
    held[1].answer(answerTo(held[1], '10.0.0.2'));
    const a = dnsPacket.decode(replyBytes(sent[0]!));
    expect([a.id, a.questions![0].name, (a.answers![0] as { data: string }).data]).to.deep.equal([2, 'View.example.net', '10.0.0.2']);
  });
});
