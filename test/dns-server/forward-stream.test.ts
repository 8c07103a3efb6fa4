// The TCP and TLS connection of the forwarder (forward/transports.ts StreamConn), driven
// directly against real listeners on loopback. Outcomes are waited for as conditions; the
// queries' timeouts are far longer than any wait here, so an outcome seen is never a timeout.
import { expect } from 'chai';
import net from 'node:net';
import { StreamConn } from '../../dns-server/forward/transports.js';
import type { ExchangeResult } from '../../dns-server/forward/transports.js';
import { buildUpstreamQuery } from '../../dns-server/forward/wire.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { until } from '../helpers/until.js';

/** A query's timeout no wait in these tests comes near. */
const LONG = 120_000;
const build = (id: number) => buildUpstreamQuery(id, nameToKey('close.example.com'), 1, 1, 1232, false);

/** A TCP listener that takes connections and reads what they send, never answering: its connections, and the bytes each got. */
async function silentListener(): Promise<{ port: number; conns: { sock: net.Socket; bytes: number; closed: boolean }[]; close(): Promise<void> }> {
  const conns: { sock: net.Socket; bytes: number; closed: boolean }[] = [];
  const server = net.createServer((sock) => {
    const c = { sock, bytes: 0, closed: false };
    conns.push(c);
    sock.on('data', (d) => { c.bytes += d.length; });
    sock.on('close', () => { c.closed = true; });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port, conns,
    close: () => { for (const c of conns) c.sock.destroy(); return new Promise<void>((r) => server.close(() => r())); },
  };
}

describe('forwarder: TCP and TLS connection to an upstream', () => {
  const listeners: Awaited<ReturnType<typeof silentListener>>[] = [];
  afterEach(async () => { for (const l of listeners.splice(0)) await l.close(); });

  it('closed while its TCP connect is under way: the query fails as closed at once, and nothing reaches the upstream', async () => {
    const l = await silentListener();
    listeners.push(l);
    const conn = new StreamConn({ address: '127.0.0.1', port: l.port }, { spoofed: () => undefined });
    let result: ExchangeResult | undefined;
    void conn.exchange(build, LONG).then((r) => { result = r; });
    conn.close(); // the connect completes on a later turn of the loop at the earliest
    await until('the query settled', () => result);
    expect(result).to.deep.equal({ ok: false, reason: 'closed' });
    // The listener may or may not have taken the connection before it was destroyed; any it took is closed with no query sent.
    await until('every connection the upstream took closed', () => l.conns.every((c) => c.closed));
    expect(l.conns.map((c) => c.bytes)).to.deep.equal(l.conns.map(() => 0));
  });

  it('closed while its TLS handshake waits on an upstream that never answers it: the socket is destroyed and the query fails as closed at once', async () => {
    const l = await silentListener();
    listeners.push(l);
    const conn = new StreamConn({ address: '127.0.0.1', port: l.port, tls: { serverName: 'dot.example.com' } }, { spoofed: () => undefined });
    let result: ExchangeResult | undefined;
    void conn.exchange(build, LONG).then((r) => { result = r; });
    await until('the upstream got the TLS ClientHello', () => l.conns.length === 1 && l.conns[0].bytes > 0);
    expect(result, 'settled before close()').to.equal(undefined);
    conn.close();
    await until('the query settled', () => result);
    expect(result).to.deep.equal({ ok: false, reason: 'closed' });
    await until('the upstream saw the connection close', () => l.conns[0].closed);
  });

  it('fails a query asked after close() as closed, without connecting', async () => {
    const l = await silentListener();
    listeners.push(l);
    const conn = new StreamConn({ address: '127.0.0.1', port: l.port }, { spoofed: () => undefined });
    conn.close();
    expect(await conn.exchange(build, LONG)).to.deep.equal({ ok: false, reason: 'closed' });
    expect(l.conns).to.have.length(0);
  });
});
