// TCP limits that hold against hostile clients (RFC 7766 §6.2.3): a frame deadline apart from
// the idle timeout, a per-client cap, back-pressure on clients that do not read; each close
// counted by reason.
import { expect } from 'chai';
import net from 'node:net';
import { Registry } from 'prom-client';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { buildQuery, frame, tcpConnect } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

const big = Array.from({ length: 60 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(255));

describe('dns-server: TCP limits against hostile clients', () => {
  let server: DnsServer;
  let registry: Registry;
  const closed = async (reason: string) => Number(new RegExp(`splitdns_dns_tcp_closed_total\\{reason="${reason}"\\} (\\d+)`).exec(await registry.metrics())?.[1] ?? 0);
  before(async () => {
    registry = new Registry();
    server = await startTestServer(bundle(exampleZone([{ name: 'big.example.org.', type: 'TXT', ttl: 60, data: [big, big] }])), {
      registry, tcp: { idleTimeoutMs: 600, frameTimeoutMs: 300, maxConnections: 50, maxConnectionsPerClient: 3 },
    });
  });
  after(() => server.close());

  it('closes a connection that does not complete a frame within the frame deadline, though it keeps sending bytes', async () => {
    const c = await tcpConnect(server.port);
    c.sock.write(Buffer.from([0, 200])); // a 200-byte frame announced
    const trickle = setInterval(() => { if (!c.sock.destroyed) c.sock.write(Buffer.from([0x41])); }, 50); // a byte every 50 ms: never idle
    await c.closed; // mocha's timeout catches a server that never closes it
    clearInterval(trickle);
    expect(await closed('frame_timeout')).to.equal(1);
  });

  it('caps connections per client address and serves other addresses meanwhile', async () => {
    const mine = await Promise.all([0, 1, 2].map(() => tcpConnect(server.port)));
    const over = await tcpConnect(server.port);
    await over.closed; // closed at once by the server
    expect(await closed('client_limit')).to.equal(1);
    const other = await new Promise<net.Socket>((resolve, reject) => { const s = net.connect({ port: server.port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => resolve(s)); s.once('error', reject); });
    const got = new Promise<Buffer>((r) => other.once('data', (d: Buffer) => r(d)));
    other.write(frame(buildQuery({ name: 'www.example.org', id: 8 })));
    expect((await got).readUInt16BE(2)).to.equal(8);
    for (const c of mine) c.sock.destroy();
    other.destroy();
  });

  it('stops reading a client that does not read its answers, and closes it as stalled', async () => {
    const requests = async () => [...(await registry.metrics()).matchAll(/splitdns_dns_requests_total\{proto="tcp",type="[A-Za-z]+"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    const before = await requests();
    const s = await new Promise<net.Socket>((resolve) => { const x = net.connect(server.port, '127.0.0.1', () => resolve(x)); });
    s.pause(); // never reads
    s.on('error', () => undefined);
    const gone = new Promise<void>((r) => s.once('close', () => r()));
    s.write(Buffer.concat(Array.from({ length: 2000 }, (_, i) => frame(buildQuery({ name: 'big.example.org', type: 'TXT', id: i })))));
    s.resume(); s.pause(); // make sure the stream is not flowing
    await new Promise<void>((resolve) => { const t = setInterval(async () => { if ((await closed('stalled')) >= 1) { clearInterval(t); resolve(); } }, 50); });
    const handled = (await requests()) - before;
    // 2,000 answers of 31 KB are 62 MB; the kernel buffers take a few MB, the server no more than its bound.
    expect(handled, 'queries read before back-pressure stopped the reading').to.be.below(1000);
    s.destroy();
    await gone;
  });
});
