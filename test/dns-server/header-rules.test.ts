// Header, opcode, type and class rules against hostile packets, over real sockets, with a
// forwarder behind the server (a fake upstream that records what reaches it).
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import { createForwarder } from '../../dns-server/index.js';
import type { DnsServer, FallbackQuery, ForwardersShard } from '../../dns-server/index.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, rcodeOf, tcpQuery, udpExchange } from '../helpers/dns-client.js';
import { askFallback, forwardersShard } from '../helpers/forwarders.js';
import { silent, startTestServer } from '../helpers/server.js';
import { answerFrom, startUpstream } from '../helpers/upstream.js';
import type { FakeUpstream } from '../helpers/upstream.js';

const header = (id: number, flags2: number, qd: number, an = 0, ns = 0, ar = 0) => Buffer.from([id >> 8, id & 255, flags2, 0, 0, qd, 0, an, 0, ns, 0, ar]);
const question = buildQuery({ name: 'www.example.org', id: 1 }).subarray(12);
/** An A record for www.example.org, its owner a pointer to the question. */
const record = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 99]);
const withClass = (name: string, type: string, qclass: number) => { const p = buildQuery({ name, type, id: 3 }); p.writeUInt16BE(qclass, p.length - 2); return p; };

describe('dns-server: header, opcode, type and class rules', () => {
  let server: DnsServer;
  let up: FakeUpstream;
  before(async () => {
    up = await startUpstream(answerFrom({ 'fw.example.com': ['10.1.1.1'] }));
    const registry = new Registry();
    server = await startTestServer(bundle(exampleZone(), forwardersShard({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: up.port, protocol: 'udp' }] })), { registry, fallback: createForwarder({ logger: silent, registry }) });
  });
  after(async () => { await server.close(); await up.close(); });

  it('answers FORMERR for a QUERY carrying an answer record', async () => {
    const r = (await udpExchange(server.port, Buffer.concat([header(20, 0, 1, 1), question, record])))!;
    expect(rcodeOf(r)).to.equal(1);
    expect(r.readUInt16BE(0)).to.equal(20);
  });

  it('answers FORMERR for a QUERY carrying an authority record', async () => {
    const r = (await udpExchange(server.port, Buffer.concat([header(21, 0, 1, 0, 1), question, record])))!;
    expect(rcodeOf(r)).to.equal(1);
  });

  for (const opcode of [1, 2, 4, 5, 15]) {
    it(`answers FORMERR, not NOTIMP, for an undecodable message with opcode ${opcode}`, async () => {
      const r = (await udpExchange(server.port, Buffer.concat([header(22, opcode << 3, 1), Buffer.from([10, 97, 98])])))!;
      expect(rcodeOf(r)).to.equal(1);
    });
  }

  it('answers NOTIMP for a well-formed UPDATE (opcode 5) with records', async () => {
    const r = (await udpExchange(server.port, Buffer.concat([header(23, 5 << 3, 1, 0, 1), question, record])))!;
    expect(rcodeOf(r)).to.equal(4);
  });

  for (const type of ['AXFR', 'IXFR']) {
    it(`answers ${type} for a zone of ours REFUSED, over UDP and TCP`, async () => {
      expect(rcodeOf((await udpExchange(server.port, buildQuery({ name: 'example.org', type })))!)).to.equal(5);
      expect(rcodeOf((await tcpQuery(server.port, { name: 'example.org', type })).raw)).to.equal(5);
    });
  }

  it('answers REFUSED for CH version.bind and id.server TXT', async () => {
    for (const name of ['version.bind', 'id.server']) expect(rcodeOf((await udpExchange(server.port, withClass(name, 'TXT', 3)))!), name).to.equal(5);
  });

  it('answers every class but IN REFUSED, for our names and forwarded ones, and never forwards it', async () => {
    const before = up.queries.length;
    for (const qclass of [3, 4, 254, 255]) {
      for (const name of ['www.example.org', 'fw.example.com', 'nx.example.com']) {
        const r = (await udpExchange(server.port, withClass(name, 'A', qclass)))!;
        expect(rcodeOf(r), `${name} class ${qclass}`).to.equal(5);
      }
    }
    expect(up.queries.length - before, 'queries of other classes that reached the upstream').to.equal(0);
    // The IN lookups are untouched.
    expect(rcodeOf((await udpExchange(server.port, buildQuery({ name: 'nx.example.com' })))!)).to.equal(3);
    const ok = dnsPacket.decode((await udpExchange(server.port, buildQuery({ name: 'fw.example.com' })))!);
    expect(ok.answers!.map((a) => (a as { data: string }).data)).to.deep.equal(['10.1.1.1']);
  });
});

describe('forwarder: the class is part of the cache and coalescing key', () => {
  let up: FakeUpstream;
  afterEach(async () => { await up?.close(); });

  /** A query handed straight to the Fallback, as the server would for class `qclass`. */
  const fq = (name: string, qclass: number): Omit<FallbackQuery, 'answer'> => {
    const msg = withClass(name, 'A', qclass);
    const key = nameToKey(name + '.');
    return { msg, qend: 12 + key.length + 4, key, qtype: 1, qclass, maxSize: 512, optSize: -1, dnssecOk: false };
  };

  it('never serves an IN query from an answer to another class, cached or in flight', async () => {
    const inner = answerFrom({ 'c.example.com': ['10.2.2.2'] });
    // NXDOMAIN (with an SOA, so cacheable) for any class but IN. The first two questions are held
    // until both have arrived, so they are surely in flight together; the bound only matters
    // when the IN query joined the ANY one (the bug) and no second question comes.
    let release!: () => void;
    const bothArrived = new Promise<void>((r) => { release = r; setTimeout(r, 2000).unref(); });
    up = await startUpstream(async (q) => {
      if (up.queries.length === 2) release();
      if (up.queries.length <= 2) await bothArrived;
      if (q.questions![0].class === 'IN') return inner(q, 'udp');
      const soa = { name: 'example.com', type: 'SOA' as const, ttl: 900, data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } };
      return { id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE | 3, questions: q.questions, answers: [], authorities: [soa] } as dnsPacket.Packet;
    });
    const registry = new Registry();
    const fb = createForwarder({ logger: silent, registry });
    fb.applyForwarders(forwardersShard({ name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: up.port, protocol: 'udp' }] }) as ForwardersShard);
    const rcode = async (r: Promise<Buffer | null>) => { const b = await r; return b === null ? -1 : rcodeOf(b); };
    // In flight together: the IN query must not join the ANY one.
    const [any, inq] = await Promise.all([rcode(askFallback(fb, fq('c.example.com', 255))), rcode(askFallback(fb, fq('c.example.com', 1)))]);
    expect({ any, inq }).to.deep.equal({ any: 3, inq: 0 });
    // Cached: the ANY answer (NXDOMAIN) is cached; the IN one is a separate entry.
    expect(await rcode(askFallback(fb, fq('c.example.com', 255)))).to.equal(3);
    expect(await rcode(askFallback(fb, fq('c.example.com', 1)))).to.equal(0);
    await fb.close();
  });
});
