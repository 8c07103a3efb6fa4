// The UDP socket pool of the forwarder (forward/transports.ts), driven directly: the callback
// path the query path uses (no promise per query), its expiry list, the reused query buffer and
// the answer checks. Outcomes are checked by their order and content, never by elapsed time.
import { expect } from 'chai';
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { canonicalAddress, UdpPool, UdpQuery } from '../../dns-server/forward/transports.js';
import type { FailReason } from '../../dns-server/forward/transports.js';
import { answersQuestion, writeUpstreamQuery } from '../../dns-server/forward/wire.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { until } from '../helpers/until.js';

type Outcome = { name: string; ok: true; resp: Buffer } | { name: string; ok: false; reason: FailReason };

/** A query for `name` A that records its outcome. */
class Probe extends UdpQuery {
  readonly key: string;
  constructor(readonly name: string, private readonly done: (o: Outcome) => void) { super(); this.key = nameToKey(name); }
  write(out: Buffer, id: number): number { return writeUpstreamQuery(out, id, this.key, 1, 1, 1232, false); }
  answers(resp: Buffer, id: number): boolean { return answersQuestion(resp, id, this.key, 1, 1); }
  answered(resp: Buffer): void { this.done({ name: this.name, ok: true, resp }); }
  failed(reason: FailReason): void { this.done({ name: this.name, ok: false, reason }); }
}

async function udpSocket(onMessage?: (m: Buffer, r: dgram.RemoteInfo, s: dgram.Socket) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  if (onMessage) s.on('message', (m, r) => onMessage(m, r, s));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('forwarder: an upstream address in the form Node reports an answer\'s source in', () => {
  const cases: [string, 'udp4' | 'udp6', string][] = [
    ['127.0.0.1', 'udp4', '127.0.0.1'],
    ['0:0:0:0:0:0:0:1', 'udp6', '::1'],
    ['::0001', 'udp6', '::1'],
    ['::FFFF:127.0.0.1', 'udp6', '::ffff:127.0.0.1'],
    ['::ffff:7f00:1', 'udp6', '::ffff:127.0.0.1'],
    ['2001:DB8:0:0:1:0:0:1', 'udp6', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:0:0:0:0', 'udp6', '2001:db8::'],
  ];
  for (const [given, family, want] of cases) {
    it(`writes ${given} as ${want}`, () => expect(canonicalAddress(given, family)).to.equal(want));
  }
});

describe('forwarder: UDP socket pool', () => {
  const sockets: dgram.Socket[] = [];
  const pools: UdpPool[] = [];
  const spoofed = { n: 0, spoofed() { this.n++; } };
  const pool = (port: number) => { const p = new UdpPool('127.0.0.1', port, spoofed); pools.push(p); return p; };
  afterEach(() => {
    for (const p of pools.splice(0)) p.close();
    for (const s of sockets.splice(0)) s.close();
    spoofed.n = 0;
  });

  it('fails queries in the order they expire, also one whose timeout is shorter than those sent before it', async () => {
    const silent = await udpSocket();
    sockets.push(silent);
    const p = pool(silent.address().port);
    const outcomes: Outcome[] = [];
    const all = new Promise<void>((resolve) => {
      const done = (o: Outcome) => { outcomes.push(o); if (outcomes.length === 3) resolve(); };
      p.send(new Probe('long.example.com', done), 400);
      p.send(new Probe('longer.example.com', done), 500);
      p.send(new Probe('short.example.com', done), 50); // expires before the two queued: a timer of its own
    });
    await all;
    expect(outcomes.map((o) => [o.name, o.ok ? 'answered' : o.reason])).to.deep.equal([
      ['short.example.com', 'timeout'], ['long.example.com', 'timeout'], ['longer.example.com', 'timeout'],
    ]);
  });

  it('gives each of many queries sent at once its own answer, from the reused query buffer', async () => {
    const seen: string[] = [];
    const up = await numberingUpstream(seen);
    const p = pool(up.address().port);
    const N = 200;
    const outcomes = await Promise.all(Array.from({ length: N }, (_, i) => new Promise<Outcome>((resolve) => p.send(new Probe(`q${i}.example.com`, resolve), 5000))));
    expect(new Set(seen).size).to.equal(N); // every query went out with its own question
    outcomes.forEach((o, i) => {
      expect(o.ok, o.name).to.equal(true);
      const a = dnsPacket.decode((o as { resp: Buffer }).resp);
      expect(a.questions![0].name).to.equal(`q${i}.example.com`);
      expect((a.answers![0] as { data: string }).data).to.equal(`10.0.${i >> 8}.${i & 255}`);
    });
  });

  it('drops an answer with another ID or question (counted), and takes the right one after it', async () => {
    const up = await udpSocket((m, r, s) => {
      const q = dnsPacket.decode(m);
      const answer = (id: number, name: string) => dnsPacket.encode({ id, type: 'response', flags: 0, questions: [{ name, type: 'A', class: 'IN' }], answers: [{ name, type: 'A', ttl: 60, data: '10.9.9.9' }] });
      s.send(answer((q.id! + 1) & 0xffff, q.questions![0].name), r.port, r.address);
      s.send(answer(q.id!, 'other.example.com'), r.port, r.address);
      s.send(answer(q.id!, q.questions![0].name.toUpperCase()), r.port, r.address); // 0x20: case does not matter
    });
    sockets.push(up);
    const p = pool(up.address().port);
    const o = await new Promise<Outcome>((resolve) => p.send(new Probe('right.example.com', resolve), 5000));
    expect(o.ok).to.equal(true);
    expect(spoofed.n).to.equal(2);
  });

  it('fails the queries waiting on a socket whose upstream port is closed, without waiting for their timeout', async () => {
    const gone = await udpSocket();
    const port = gone.address().port;
    await new Promise<void>((r) => gone.close(() => r()));
    const p = pool(port);
    // The first send draws the ICMP port unreachable; the kernel reports it on that socket.
    const o = await new Promise<Outcome>((resolve) => p.send(new Probe('dead.example.com', resolve), 60000));
    expect(o).to.deep.include({ ok: false, reason: 'error' });
  });

  it('fails, when the pool closes, the queries still waiting on a socket it had retired', async () => {
    const silent = await udpSocket();
    sockets.push(silent);
    const p = new UdpPool('127.0.0.1', silent.address().port, spoofed, 1); // one socket: retired after 256 queries
    const outcomes: Outcome[] = [];
    const probes = Array.from({ length: 257 }, (_, i) => new Probe(`q${i}.example.com`, (o) => outcomes.push(o)));
    p.send(probes[0], 60000);
    await until('the first query sent (the socket connected)', () => probes[0].sock !== undefined);
    for (const q of probes.slice(1)) p.send(q, 60000); // the 257th takes a fresh socket: 256 wait on the retired one
    p.close();
    await until('every query settled', () => outcomes.length === 257);
    expect(new Set(outcomes.map((o) => (o.ok ? 'answered' : o.reason)))).to.deep.equal(new Set(['closed']));
  });

  it('fails a query on time when the pool\'s timer was armed for a later query that was answered since', async () => {
    const up = await udpSocket((m, r, s) => {
      const q = dnsPacket.decode(m);
      if (q.questions![0].name !== 'answered.example.com') return; // the second query is never answered
      s.send(dnsPacket.encode({ id: q.id, type: 'response', flags: 0, questions: q.questions, answers: [] }), r.port, r.address);
    });
    sockets.push(up);
    const p = pool(up.address().port);
    const first = await new Promise<Outcome>((resolve) => p.send(new Probe('answered.example.com', resolve), 60000)); // arms the timer for 60 s
    expect(first.ok).to.equal(true);
    // Nothing else waits: the timer armed for the first must not hold this one for a minute (the test's timeout is 20 s).
    let second: Outcome | undefined;
    p.send(new Probe('silent.example.com', (o) => { second = o; }), 50);
    expect(await until('the second query failed', () => second, 10000)).to.deep.include({ ok: false, reason: 'timeout' });
  });

  it('fails every query in flight as closed when the pool closes, and any sent after', async () => {
    const silent = await udpSocket();
    sockets.push(silent);
    const p = new UdpPool('127.0.0.1', silent.address().port, spoofed);
    const outcomes: Outcome[] = [];
    const first = new Promise<void>((resolve) => p.send(new Probe('a.example.com', (o) => { outcomes.push(o); resolve(); }), 60000));
    p.close();
    await first;
    p.send(new Probe('b.example.com', (o) => outcomes.push(o)), 60000);
    expect(outcomes.map((o) => (o.ok ? 'answered' : o.reason))).to.deep.equal(['closed', 'closed']);
  });

  /** An upstream answering every A query with an address made of the number in its first label ("q7" gives 10.0.0.7). */
  async function numberingUpstream(seen: string[]): Promise<dgram.Socket> {
    const up = await udpSocket((m, r, s) => {
      const q = dnsPacket.decode(m);
      const name = q.questions![0].name;
      seen.push(name);
      const n = Number(name.split('.')[0].slice(1));
      s.send(dnsPacket.encode({ id: q.id, type: 'response', flags: 0, questions: q.questions, answers: [{ name, type: 'A', ttl: 60, data: `10.0.${n >> 8}.${n & 255}` }] }), r.port, r.address);
    });
    sockets.push(up);
    return up;
  }

  /** A pool whose sockets are all connected: a burst answered first. */
  async function warmPool(port: number): Promise<UdpPool> {
    const p = pool(port);
    await Promise.all(Array.from({ length: 200 }, (_, i) => new Promise<Outcome>((resolve) => p.send(new Probe(`q${i}.warm.example.com`, resolve), 5000))));
    return p;
  }

  const nextPhase = () => new Promise<void>((resolve) => setImmediate(resolve));

  /** Counts the datagrams sent from sockets other than `except`; `fail(name)` makes a send of that query throw. Undone by the returned function. */
  function spySends(except: dgram.Socket, fail?: string): { count: () => number; restore: () => void } {
    const orig = dgram.Socket.prototype.send;
    let n = 0;
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      if (this !== except) {
        n++;
        if (fail !== undefined && dnsPacket.decode(args[0] as Buffer).questions![0].name === fail) throw new Error('send refused');
      }
      return (orig as (...a: unknown[]) => void).apply(this, args);
    } as typeof orig;
    return { count: () => n, restore: () => { dgram.Socket.prototype.send = orig; } };
  }

  it('sends the queries asked in one poll phase back to back at its end, each with its own bytes', async () => {
    const seen: string[] = [];
    const up = await numberingUpstream(seen);
    const p = await warmPool(up.address().port);
    seen.length = 0;
    const N = 200; // more than one arena's worth of bytes (16 KiB), fewer datagrams than the upstream's receive buffer holds (~256)
    const spy = spySends(up);
    let sentInPhase: number, sentAtEnd: number;
    let answers: Promise<Outcome[]>;
    try {
      answers = Promise.all(Array.from({ length: N }, (_, i) => new Promise<Outcome>((resolve) => p.send(new Probe(`q${i}.a-somewhat-longer-label-to-fill-the-buffer.example.com`, resolve), 5000))));
      sentInPhase = spy.count();
      await nextPhase(); // after the pool's flush, scheduled before it
      sentAtEnd = spy.count();
    } finally { spy.restore(); }
    expect(sentInPhase).to.equal(0);
    expect(sentAtEnd).to.equal(N);
    const outcomes = await answers;
    expect(new Set(seen).size).to.equal(N); // every query went out with its own question
    outcomes.forEach((o, i) => {
      expect(o.ok, o.name).to.equal(true);
      const a = dnsPacket.decode((o as { resp: Buffer }).resp);
      expect(a.questions![0].name).to.equal(`q${i}.a-somewhat-longer-label-to-fill-the-buffer.example.com`);
      expect((a.answers![0] as { data: string }).data).to.equal(`10.0.${i >> 8}.${i & 255}`);
    });
  });

  it('keeps each queued query\'s bytes over the next phases\' queries', async () => {
    const seen: string[] = [];
    const up = await numberingUpstream(seen);
    const p = await warmPool(up.address().port);
    const phases = 5, per = 40;
    const all: Promise<Outcome>[] = [];
    for (let ph = 0; ph < phases; ph++) {
      for (let j = 0; j < per; j++) { const i = ph * per + j; all.push(new Promise<Outcome>((resolve) => p.send(new Probe(`q${i}.example.com`, resolve), 5000))); }
      await nextPhase();
    }
    const outcomes = await Promise.all(all);
    outcomes.forEach((o, i) => {
      expect(o.ok, o.name).to.equal(true);
      expect((dnsPacket.decode((o as { resp: Buffer }).resp).answers![0] as { data: string }).data).to.equal(`10.0.${i >> 8}.${i & 255}`);
    });
  });

  it('fails only the query whose send throws; the rest of the phase\'s queries go out and are answered', async () => {
    const up = await numberingUpstream([]);
    const p = await warmPool(up.address().port);
    const spy = spySends(up, 'q1.example.com');
    let outcomes: Outcome[];
    try {
      const asked = Array.from({ length: 3 }, (_, i) => new Promise<Outcome>((resolve) => p.send(new Probe(`q${i}.example.com`, resolve), 5000)));
      await nextPhase();
      spy.restore();
      outcomes = await Promise.all(asked);
    } finally { spy.restore(); }
    expect(outcomes.map((o) => (o.ok ? 'answered' : o.reason))).to.deep.equal(['answered', 'error', 'answered']);
  });

  it('fails as closed, once each, the queries queued for the end of the phase when the pool closes in it', async () => {
    const up = await numberingUpstream([]);
    const p = await warmPool(up.address().port);
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 50; i++) p.send(new Probe(`q${i}.example.com`, (o) => outcomes.push(o)), 60000);
    p.close();
    await nextPhase(); // the flush would have run: nothing is sent on the closed sockets, nothing settles twice
    await nextPhase();
    expect(outcomes).to.have.length(50);
    expect(new Set(outcomes.map((o) => (o.ok ? 'answered' : o.reason)))).to.deep.equal(new Set(['closed']));
  });
});
