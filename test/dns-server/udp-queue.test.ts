// transport/udp.ts queues the replies of one poll phase and sends them at its end (setImmediate,
// ADR 0029). Every reply queued must still be its own query's when it goes out: the queries
// here are sent back to back from the test's own event loop turn, so the server reads them all
// in one poll phase (loopback delivers within the send) and their replies wait in one queue
// together, including many to the same name (one prepared answer, patched per query).
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import dgram from 'node:dgram';
import { startUdp } from '../../dns-server/transport/udp.js';
import type { UdpTransport } from '../../dns-server/transport/udp.js';
import { bundle, exampleZone, zoneShard } from '../helpers/bundles.js';
import { buildQuery } from '../helpers/dns-client.js';
import type { Query } from '../helpers/dns-client.js';
import { handlerState as state } from '../helpers/server.js';

const BUFFERS = { recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 20 };

/** A client socket that collects the replies it gets, by ID. */
async function client(): Promise<{ sock: dgram.Socket; replies: Map<number, Buffer[]>; until(n: number): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  const replies = new Map<number, Buffer[]>();
  let count = 0;
  let wake: (() => void) | undefined;
  sock.on('message', (m) => {
    const id = m.readUInt16BE(0);
    replies.set(id, [...(replies.get(id) ?? []), m]);
    count++;
    wake?.();
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    sock, replies,
    // No deadline of its own: mocha's timeout ends a test whose replies never come.
    until: async (n) => { while (count < n) await new Promise<void>((r) => { wake = r; }); },
  };
}

/** The question section's bytes (after the header, up to the end of the first question). */
function questionBytes(m: Buffer): string {
  let p = 12;
  while (m[p] !== 0) p += m[p] + 1;
  return m.subarray(12, p + 5).toString('hex');
}

const addresses = (m: Buffer): string[] => (dnsPacket.decode(m).answers ?? []).map((a) => String((a as { data: unknown }).data));

describe('dns-server: UDP replies queued for the end of the poll phase (transport/udp.ts, ADR 0029)', () => {
  let udp: UdpTransport | undefined;
  const sockets: dgram.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await udp?.close();
    udp = undefined;
  });

  it('each of a burst of queries (one prepared answer for many, other names, mixed case, EDNS) gets its own ID and question', async () => {
    const st = state(bundle(exampleZone()));
    udp = await startUdp('127.0.0.1', 0, st, false, BUFFERS);
    const clients = await Promise.all([client(), client(), client()]);
    sockets.push(...clients.map((c) => c.sock));
    const kinds: Query[] = [
      { name: 'www.example.org' }, { name: 'WwW.ExAmPlE.oRg' }, { name: 'www.example.org', edns: 1232 },
      { name: 'multi.example.org' }, { name: 'www.example.org', type: 'AAAA' }, { name: 'nope.example.org' },
      { name: 'www.example.org', type: 'MX' }, { name: 'alias.example.org' },
    ];
    const sent = new Map<string, Buffer>(); // client index and ID → query
    const PER_CLIENT = 40; // more than libuv reads in one go (32): the queue spans reads
    // All sent in this one turn: the server reads none of them until it is over.
    for (let i = 0; i < PER_CLIENT; i++) {
      clients.forEach((c, ci) => {
        const id = 1000 * (ci + 1) + i;
        const msg = buildQuery({ ...kinds[i % kinds.length], id });
        sent.set(`${ci}/${id}`, msg);
        c.sock.send(msg, udp!.port, '127.0.0.1');
      });
    }
    await Promise.all(clients.map((c) => c.until(PER_CLIENT)));
    clients.forEach((c, ci) => {
      expect([...c.replies.keys()].sort(), `client ${ci}: one reply per ID sent`).to.deep.equal(
        [...sent.keys()].filter((k) => k.startsWith(`${ci}/`)).map((k) => Number(k.split('/')[1])).sort());
      for (const [id, [reply, ...more]] of c.replies) {
        expect(more, `client ${ci} ID ${id}: answered once`).to.deep.equal([]);
        const q = sent.get(`${ci}/${id}`)!;
        expect(questionBytes(reply), `client ${ci} ID ${id}: the question as sent`).to.equal(questionBytes(q));
        expect(reply[2] & 0x80, 'a response').to.equal(0x80);
      }
    });
    // And the answers are the names' own (the patched copies of one prepared answer included).
    const www = clients[0].replies.get(1000)![0];
    expect(addresses(www)).to.deep.equal(['192.0.2.1']);
    expect(addresses(clients[2].replies.get(3000 + kinds.length)![0])).to.deep.equal(['192.0.2.1']);
    expect(addresses(clients[1].replies.get(2004)![0])).to.deep.equal(['2001:db8::1']);
    expect(clients[1].replies.get(2005)![0][3] & 0x0f, 'nope: NXDOMAIN').to.equal(3);
  });

  it('close() sends the replies already queued in the poll phase it is called from', async () => {
    const st = state(bundle(exampleZone()));
    let seen = 0;
    let closing: Promise<void> | undefined;
    // The third query of the burst closes the transport from inside the server's read (the
    // worker hook runs per query): the first two replies are queued then, not yet sent.
    // (Its own transport, not afterEach's: closed here, once.)
    const t = await startUdp('127.0.0.1', 0, st, false, BUFFERS);
    st.sync = () => { if (++seen === 3) closing = t.close(); };
    const c = await client();
    sockets.push(c.sock);
    for (let id = 1; id <= 3; id++) c.sock.send(buildQuery({ name: 'www.example.org', id }), t.port, '127.0.0.1');
    await c.until(2);
    expect(seen, 'all three read').to.equal(3);
    await closing;
    expect([...c.replies.keys()].sort()).to.deep.equal([1, 2]);
  });

  it('a send that throws (an address dgram refuses) loses that reply only: the rest of the queue goes out', async () => {
    const st = state(bundle(exampleZone()));
    udp = await startUdp('127.0.0.1', 0, st, false, BUFFERS);
    const [a, b] = await Promise.all([client(), client()]);
    sockets.push(a.sock, b.sock);
    const refused = a.sock.address().port;
    // dgram's own send, refusing one client's port as it refuses port 0 (ERR_SOCKET_BAD_PORT).
    const send = dgram.Socket.prototype.send;
    let thrown = 0;
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      if (args[1] === refused) { thrown++; throw new RangeError('refused by the test'); }
      return (send as (...x: unknown[]) => void).apply(this, args);
    } as typeof send;
    try {
      a.sock.send(buildQuery({ name: 'www.example.org', id: 1 }), udp.port, '127.0.0.1');
      b.sock.send(buildQuery({ name: 'www.example.org', id: 2 }), udp.port, '127.0.0.1');
      b.sock.send(buildQuery({ name: 'multi.example.org', id: 3 }), udp.port, '127.0.0.1');
      await b.until(2);
    } finally { dgram.Socket.prototype.send = send; }
    expect(thrown, 'the refused reply was tried').to.equal(1);
    expect([...b.replies.keys()].sort()).to.deep.equal([2, 3]);
    expect(a.replies.size).to.equal(0);
  });

  it('a reload between a reply\'s queueing and its send changes nothing in it (the reply is its tables\' answer)', async () => {
    const st = state(bundle(exampleZone()));
    const changed = bundle(zoneShard('example.org.', [
      { name: 'example.org.', type: 'NS', ttl: 3600, data: ['ns1.example.org.'] },
      { name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.99'] },
    ]));
    let seen = 0;
    // The reload (the store's, as the file source's), before the third query is answered.
    st.sync = () => { if (++seen === 3) expect(st.store.applyBundle(changed).refused).to.deep.equal([]); };
    udp = await startUdp('127.0.0.1', 0, st, false, BUFFERS);
    const c = await client();
    sockets.push(c.sock);
    for (let id = 1; id <= 4; id++) c.sock.send(buildQuery({ name: 'www.example.org', id }), udp.port, '127.0.0.1');
    await c.until(4);
    expect([1, 2, 3, 4].map((id) => addresses(c.replies.get(id)![0]))).to.deep.equal([['192.0.2.1'], ['192.0.2.1'], ['192.0.2.99'], ['192.0.2.99']]);
  });
});
