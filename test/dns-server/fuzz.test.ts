// Malformed input never stops the server: thousands of random and mutated packets (a fixed,
// seeded sequence, so a failure reproduces), then a normal query must still be answered.
import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, frame, tcpConnect, udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

function rng(seed: number): () => number {
  return () => { seed = (seed + 0x6d2b79f5) >>> 0; let t = seed; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

function packets(n: number, seed: number): Buffer[] {
  const rnd = rng(seed);
  const seeds = ['www.example.org', 'WWW.example.org', 'wild.example.org', 'nope.example.org', 'chain.example.org', 'x.wild.example.org']
    .flatMap((name) => [buildQuery({ name, id: 1 }), buildQuery({ name, id: 2, edns: 4096 }), buildQuery({ name, type: 'SRV', id: 3 })]);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0) { // random bytes of random length
      out.push(Buffer.from(Array.from({ length: Math.floor(rnd() * 80) }, () => Math.floor(rnd() * 256))));
      continue;
    }
    const p = Buffer.from(seeds[Math.floor(rnd() * seeds.length)]);
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) p[Math.floor(rnd() * p.length)] = Math.floor(rnd() * 256);
    out.push(rnd() < 0.2 ? p.subarray(0, Math.floor(rnd() * p.length)) : p);
  }
  return out;
}

describe('dns-server: malformed and random packets', () => {
  let server: DnsServer;
  before(async () => { server = await startTestServer(bundle(exampleZone())); });
  after(() => server.close());

  it('survives 5,000 random and mutated UDP packets, answering each (paired by ID) with a well-formed reply or, when it must, nothing', async () => {
    // Each packet gets a unique ID (0-4999) after mutation, so every reply pairs with its packet.
    // The server drops exactly what is shorter than a header or has QR set; everything else is answered.
    const pkts = packets(5000, 42).map((p, i) => { if (p.length >= 2) { p = Buffer.from(p); p.writeUInt16BE(i, 0); } return p; });
    const expected = new Set(pkts.flatMap((p, i) => (p.length >= 12 && (p[2] & 0x80) === 0 ? [i] : [])));
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    const replies = new Map<number, Buffer>();
    const extra: Buffer[] = [];
    const SENTINEL = 0xfffe;
    let sentinel: () => void = () => undefined;
    const sentinelSeen = new Promise<void>((r) => { sentinel = r; });
    sock.on('message', (m: Buffer) => {
      const id = m.readUInt16BE(0);
      if (id === SENTINEL) { sentinel(); return; }
      if (!expected.has(id) || replies.has(id)) extra.push(m); else replies.set(id, m);
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    for (let i = 0; i < pkts.length; i++) {
      sock.send(pkts[i], server.port, '127.0.0.1');
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5)); // bounded pace: no socket-buffer drops where rmem_max is small
    }
    // UDP is handled in order and these answers are synchronous: the sentinel's reply comes after every other.
    sock.send(buildQuery({ name: 'www.example.org', id: SENTINEL }), server.port, '127.0.0.1');
    await sentinelSeen;
    sock.close();
    expect(extra.length, 'replies to dropped packets, or twice to one').to.equal(0);
    expect(replies.size, 'one reply per packet that must be answered').to.equal(expected.size);
    for (const [id, r] of replies) {
      expect(r.length, `reply to ${id}`).to.be.at.least(12);
      expect(r[2] & 0x80, 'QR set on every reply').to.equal(0x80);
      expect(() => dnsPacket.decode(r), `reply to packet ${id} decodes`).to.not.throw();
    }
    const ok = await udpQuery(server.port, { name: 'www.example.org' });
    expect(ok.answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.1']);
  });

  it('survives garbage over TCP and still answers on a new connection', async () => {
    const c = await tcpConnect(server.port);
    for (const p of packets(500, 7)) c.sock.write(frame(p));
    c.sock.write(Buffer.from([0xff])); // a dangling half length prefix
    c.sock.destroy();
    const d = await tcpConnect(server.port);
    d.sock.write(frame(buildQuery({ name: 'www.example.org', id: 99 })));
    const [r] = await d.next(1);
    expect(dnsPacket.decode(r).id).to.equal(99);
    d.sock.destroy();
  });
});
