// Header checks, EDNS0 and truncation, over real UDP and TCP sockets with raw packets.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, flagsOf, rcodeOf, tcpQuery, udpExchange, udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

// 60 A records: far over 512 bytes, under 1232.
const big = Array.from({ length: 60 }, (_, i) => `198.51.100.${i + 1}`);
// 150 A records: over 1232 bytes.
const huge = Array.from({ length: 150 }, (_, i) => `203.0.${i >> 8}.${i & 255}`);

describe('dns-server: protocol handling', () => {
  let server: DnsServer;
  before(async () => {
    server = await startTestServer(bundle(exampleZone([
      { name: 'big.example.org.', type: 'A', ttl: 60, data: big },
      { name: 'huge.example.org.', type: 'A', ttl: 60, data: huge },
    ])));
  });
  after(() => server.close());

  const header = (id: number, flags2: number, flags3: number, qd: number, an = 0, ns = 0, ar = 0) =>
    Buffer.from([id >> 8, id & 255, flags2, flags3, 0, qd, 0, an, 0, ns, 0, ar]);
  const question = buildQuery({ name: 'www.example.org', id: 1 }).subarray(12);

  it('drops a packet shorter than a header, and answers the next query', async () => {
    expect(await udpExchange(server.port, Buffer.from([1, 2, 3]), 300)).to.equal(null);
    expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.org' })).raw)).to.equal(0);
  });

  it('drops a packet with QR set (a response must never be answered)', async () => {
    const resp = Buffer.concat([header(9, 0x80, 0, 1), question]);
    expect(await udpExchange(server.port, resp, 300)).to.equal(null);
  });

  it('answers NOTIMP for an opcode other than QUERY, echoing the opcode', async () => {
    const notify = Buffer.concat([header(10, 4 << 3, 0, 1), question]);
    const r = (await udpExchange(server.port, notify))!;
    expect(r.readUInt16BE(0)).to.equal(10);
    expect(rcodeOf(r)).to.equal(4);
    expect((r[2] >> 3) & 0x0f).to.equal(4);
    expect(flagsOf(r).qr).to.equal(true);
  });

  for (const qd of [0, 2]) {
    it(`answers FORMERR for QDCOUNT ${qd}`, async () => {
      const r = (await udpExchange(server.port, Buffer.concat([header(11, 0, 0, qd), question])))!;
      expect(rcodeOf(r)).to.equal(1);
      expect(r.readUInt16BE(0)).to.equal(11);
    });
  }

  const malformed: [string, Buffer][] = [
    ['a label running past the end', Buffer.concat([header(12, 0, 0, 1), Buffer.from([10, 97, 98])])],
    ['a compression pointer in the question', Buffer.concat([header(13, 0, 0, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])])],
    ['no type and class after the name', Buffer.concat([header(14, 0, 0, 1), Buffer.from([3, 119, 119, 119, 0, 0])])],
    ['an additional record running past the end', Buffer.concat([header(15, 0, 0, 1, 0, 0, 1), question, Buffer.from([0, 0, 41, 4])])],
    ['two OPT records', Buffer.concat([header(16, 0, 0, 1, 0, 0, 2), question, Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0])])],
  ];
  for (const [what, pkt] of malformed) {
    it(`answers FORMERR for ${what}`, async () => {
      const r = (await udpExchange(server.port, pkt))!;
      expect(r, what).to.not.equal(null);
      expect(rcodeOf(r)).to.equal(1);
    });
  }

  it('echoes OPT with our payload size and the DO bit', async () => {
    const r = await udpQuery(server.port, { name: 'www.example.org', edns: { udpSize: 4096, do: true } });
    const opt = r.additionals!.find((a) => a.type === 'OPT') as unknown as { udpPayloadSize: number; flags: number };
    expect(opt.udpPayloadSize).to.equal(1232);
    expect(opt.flags & dnsPacket.DNSSEC_OK).to.not.equal(0);
  });

  it('answers BADVERS (extended rcode 16) for EDNS version 1', async () => {
    const r = await udpQuery(server.port, { name: 'www.example.org', edns: { version: 1 } });
    const opt = r.raw.subarray(r.raw.length - 11);
    expect(opt[2]).to.equal(41); // OPT
    expect(opt[5]).to.equal(1); // extended rcode upper bits: 16 >> 4
    expect(opt[6]).to.equal(0); // version we speak
    expect(rcodeOf(r.raw)).to.equal(0);
    expect(r.answers).to.have.length(0);
  });

  it('truncates with TC=1 over 512 bytes without EDNS, and answers in full over TCP', async () => {
    const udp = await udpQuery(server.port, { name: 'big.example.org' });
    expect(flagsOf(udp.raw).tc).to.equal(true);
    expect(udp.answers).to.have.length(0);
    expect(udp.questions![0].name).to.equal('big.example.org');
    const tcp = await tcpQuery(server.port, { name: 'big.example.org' });
    expect(flagsOf(tcp.raw).tc).to.equal(false);
    expect(tcp.answers).to.have.length(60);
  });

  it('honours a larger EDNS payload, never below 512 and never above ours', async () => {
    const r = await udpQuery(server.port, { name: 'big.example.org', edns: 1400 });
    expect(flagsOf(r.raw).tc).to.equal(false);
    expect(r.answers).to.have.length(60);
    const small = await udpQuery(server.port, { name: 'www.example.org', edns: 100 });
    expect(flagsOf(small.raw).tc).to.equal(false); // 100 is floored to 512
    const tooBig = await udpQuery(server.port, { name: 'huge.example.org', edns: 4096 });
    expect(tooBig.raw.length).to.be.at.most(1232);
    expect(flagsOf(tooBig.raw).tc).to.equal(true);
    expect(tooBig.additionals!.map((a) => a.type)).to.deep.equal(['OPT']);
  });

  it('compresses names: a 60-record answer repeats the owner as a 2-byte pointer', async () => {
    const r = await tcpQuery(server.port, { name: 'big.example.org' });
    // header 12 + question 21 + 60 × (pointer 2 + type/class/ttl/len 10 + 4)
    expect(r.raw.length).to.equal(12 + 21 + 60 * 16);
  });

  it('answers REFUSED for a class other than IN', async () => {
    const pkt = buildQuery({ name: 'www.example.org' });
    pkt.writeUInt16BE(3, pkt.length - 2); // CH
    expect(rcodeOf((await udpExchange(server.port, pkt))!)).to.equal(5);
  });

  it('serves over IPv6 loopback', async function () {
    let s6: DnsServer;
    try {
      s6 = await startTestServer(bundle(exampleZone()), { address: '::1' });
    } catch (err) {
      throw new Error(`IPv6 loopback unavailable on this machine: ${(err as Error).message}`);
    }
    try {
      const raw = await udpExchange(s6.port, buildQuery({ name: 'www.example.org' }), 1000, '::1');
      expect(dnsPacket.decode(raw!).answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.1']);
    } finally {
      await s6.close();
    }
  });
});
