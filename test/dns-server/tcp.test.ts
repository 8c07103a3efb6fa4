// TCP transport per RFC 7766: framing across chunks, pipelining, idle timeout and caps.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, frame, tcpConnect } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

describe('dns-server: TCP transport', () => {
  let server: DnsServer;
  before(async () => {
    server = await startTestServer(bundle(exampleZone()), { tcp: { idleTimeoutMs: 300, maxConnections: 3, maxQueriesPerConnection: 5 } });
  });
  after(() => server.close());

  it('reassembles a query sent one byte at a time', async () => {
    const c = await tcpConnect(server.port);
    const bytes = frame(buildQuery({ name: 'www.example.org', id: 77 }));
    for (const b of bytes) { c.sock.write(Buffer.from([b])); await new Promise((r) => setImmediate(r)); }
    const [r] = await c.next(1);
    expect(dnsPacket.decode(r).id).to.equal(77);
    c.sock.destroy();
  });

  it('answers several pipelined queries sent in one write, matched by ID', async () => {
    const c = await tcpConnect(server.port);
    const names = ['www.example.org', 'mail.example.org', 'nope.example.org', 'alias.example.org'];
    c.sock.write(Buffer.concat(names.map((name, i) => frame(buildQuery({ name, id: 100 + i })))));
    const rs = (await c.next(4)).map((b) => dnsPacket.decode(b));
    expect(rs.map((r) => r.id).sort()).to.deep.equal([100, 101, 102, 103]);
    for (const r of rs) expect(r.questions![0].name).to.equal(names[r.id! - 100]);
    c.sock.destroy();
  });

  it('splits a frame across two writes at an awkward place (inside the length prefix)', async () => {
    const c = await tcpConnect(server.port);
    const two = Buffer.concat([frame(buildQuery({ name: 'www.example.org', id: 1 })), frame(buildQuery({ name: 'mail.example.org', id: 2 }))]);
    const cut = frame(buildQuery({ name: 'www.example.org', id: 1 })).length + 1;
    c.sock.write(two.subarray(0, cut));
    // The first write holds a whole query: its answer shows the server has read that write on
    // its own, with the next frame's length prefix cut after one byte.
    expect((await c.next(1)).map((b) => dnsPacket.decode(b).id)).to.deep.equal([1]);
    c.sock.write(two.subarray(cut));
    expect((await c.next(1)).map((b) => dnsPacket.decode(b).id)).to.deep.equal([2]);
    c.sock.destroy();
  });

  it('closes a connection idle past the timeout', async () => {
    const c = await tcpConnect(server.port);
    let endedByServer = false;
    c.sock.on('end', () => { endedByServer = true; });
    c.sock.write(frame(buildQuery({ name: 'www.example.org', id: 9 })));
    expect(await c.next(1), 'the connection serves first').to.have.length(1);
    await c.closed; // we never close it; mocha's timeout catches a server that never does
    expect(endedByServer, 'the server ended it').to.equal(true);
  });

  it('closes a connection after its query cap, once the answers are written', async () => {
    const c = await tcpConnect(server.port);
    c.sock.write(Buffer.concat(Array.from({ length: 7 }, (_, i) => frame(buildQuery({ name: 'www.example.org', id: i })))));
    await c.closed;
    expect(c.responses).to.have.length(5);
  });

  it('at the connection cap, closes the connection idle longest to make room for a new one', async () => {
    const conns = [];
    for (let i = 0; i < 3; i++) conns.push(await tcpConnect(server.port));
    conns[0].sock.write(frame(buildQuery({ name: 'www.example.org', id: 1 }))); // the first one made progress
    expect(await conns[0].next(1)).to.have.length(1);
    const fresh = await tcpConnect(server.port);
    fresh.sock.write(frame(buildQuery({ name: 'www.example.org', id: 5 })));
    expect(await fresh.next(1), 'the new connection is served').to.have.length(1);
    await conns[1].closed; // idle longest: evicted (mocha's timeout catches a server that never does)
    expect(conns[0].sock.destroyed || conns[2].sock.destroyed, 'only one made room').to.equal(false);
    for (const c of [...conns, fresh]) c.sock.destroy();
  });
});
