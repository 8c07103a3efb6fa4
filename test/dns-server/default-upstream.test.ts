// The default upstream (CoreDNS's `forward . /etc/resolv.conf`): names no local data and no
// DNSForwarder covers go to the nameservers of a resolv.conf the test writes; a nameserver that
// sends our questions back to us (the server itself, or a resolver relaying to it) is found by
// the loop probe, logged, shown in /status and no longer used. Real UDP sockets on loopback.

import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createForwarder } from '../../dns-server/forward/index.js';
import { defaultUpstreamForwarder, withDefaultUpstream } from '../../dns-server/forward/default-upstream.js';
import type { DefaultUpstreamFallback } from '../../dns-server/forward/default-upstream.js';
import { parseResolvConf } from '../../dns-server/forward/resolv-conf.js';
import type { Fallback } from '../../dns-server/fallback.js';
import type { DnsServer } from '../../dns-server/index.js';
import { parseForwarder } from '../../operator/compile/parse-crs.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { rcodeOf, udpQuery } from '../helpers/dns-client.js';
import { forwardersShard } from '../helpers/forwarders.js';
import { startTestServer } from '../helpers/server.js';
import { answerFrom, startUpstream } from '../helpers/upstream.js';
import type { FakeUpstream } from '../helpers/upstream.js';

function resolvConf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'splitdns-resolv-'));
  writeFileSync(join(dir, 'resolv.conf'), text);
  return join(dir, 'resolv.conf');
}

/** A pino logger whose lines the test can read. */
function capturedLogger(): { logger: pino.Logger; lines: { msg: string; [k: string]: unknown }[] } {
  const lines: { msg: string }[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** The server needs its fallback before it has a port; the default upstream needs the port: a late-bound seam. */
function lateBound(): { proxy: Fallback; set(f: Fallback): void } {
  let target: Fallback | undefined;
  return {
    proxy: {
      resolve: (q) => target!.resolve(q), applyForwarders: (s) => target?.applyForwarders(s),
      status: () => target?.status() ?? null, close: async () => { await target?.close(); },
    },
    set(f) { target = f; },
  };
}

const FAST_PROBE = { timeoutMs: 1000, intervalMs: 50, attempts: 3 };

describe('resolv.conf parsing', () => {
  const cases: { name: string; text: string; nameservers: string[]; skipped: number }[] = [
    { name: 'reads nameserver lines in order, ignoring search and options', text: 'search svc.cluster.local\nnameserver 10.0.0.10\nnameserver ::1\noptions ndots:5\n', nameservers: ['10.0.0.10', '::1'], skipped: 0 },
    { name: 'ignores comments and repeats', text: '# nameserver 1.1.1.1\nnameserver 192.0.2.1 # primary\n; other\nnameserver 192.0.2.1\n', nameservers: ['192.0.2.1'], skipped: 0 },
    { name: 'skips host names and scoped IPv6 with a reason', text: 'nameserver ns1.example.org\nnameserver fe80::1%eth0\nnameserver 192.0.2.2\n', nameservers: ['192.0.2.2'], skipped: 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseResolvConf(c.text);
      expect(r.nameservers).to.deep.equal(c.nameservers);
      expect(r.skipped).to.have.length(c.skipped);
    });
  }

  it('gives the default upstream the settings a DNSForwarder for "." gets from the CRD defaults', () => {
    const parsed = parseForwarder({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'x', uid: 'u', creationTimestamp: '2024-01-01T00:00:00Z', generation: 1 }, spec: { domains: ['.'], upstreams: [{ address: '192.0.2.1', port: 53, protocol: 'udp' }] } });
    expect(parsed.errors).to.deep.equal([]);
    expect({ ...defaultUpstreamForwarder(['192.0.2.1'], 53), name: 'x' }).to.deep.equal(parsed.forwarder);
  });
});

describe('default upstream from resolv.conf (real sockets)', function () {
  this.timeout(15000);
  let server: DnsServer | undefined;
  let upstream: FakeUpstream | undefined;
  let relay: dgram.Socket | undefined;
  afterEach(async () => {
    await server?.close();
    await upstream?.close();
    relay?.close();
    server = upstream = relay = undefined;
  });

  async function start(path: string, port: () => number, logger = pino({ level: 'silent' }), http = false) {
    const seam = lateBound();
    server = await startTestServer(undefined, { fallback: seam.proxy, httpPort: http ? 0 : null });
    const du: DefaultUpstreamFallback = withDefaultUpstream(createForwarder({ logger, registry: new Registry() }), { logger, resolvConf: path, port: port(), probe: FAST_PROBE });
    seam.set(du);
    return du;
  }

  it('forwards a name no zone or DNSForwarder covers to the resolv.conf nameserver', async () => {
    upstream = await startUpstream(answerFrom({ 'www.example.net': ['192.0.2.80'] }));
    const up = upstream;
    const du = await start(resolvConf('search example.org\nnameserver 127.0.0.1\n'), () => up.port);
    server!.applyBundle(bundle(exampleZone()));
    await du.probe();
    const r = await udpQuery(server!.port, { name: 'www.example.net', type: 'A' });
    expect(rcodeOf(r.raw)).to.equal(0);
    expect(r.answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.80']);
    const st = du.status() as { defaultUpstream: { active: boolean; nameservers: { verdict: string }[] } };
    expect(st.defaultUpstream.active).to.equal(true);
    expect(st.defaultUpstream.nameservers.map((n) => n.verdict)).to.deep.equal(['ok']);
  });

  it('leaves "." to a DNSForwarder that covers it', async () => {
    upstream = await startUpstream(answerFrom({ 'www.example.net': ['192.0.2.80'] }));
    const other = await startUpstream(answerFrom({ 'www.example.net': ['198.51.100.9'] }));
    try {
      const up = upstream;
      const du = await start(resolvConf('nameserver 127.0.0.1\n'), () => up.port);
      server!.applyBundle(bundle(exampleZone(), forwardersShard({ name: 'everything', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: other.port, protocol: 'udp' }] })));
      const r = await udpQuery(server!.port, { name: 'www.example.net', type: 'A' });
      expect(r.answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['198.51.100.9']);
      expect((du.status() as { defaultUpstream: { active: boolean; coveredByDNSForwarder: boolean } }).defaultUpstream).to.include({ active: false, coveredByDNSForwarder: true });
      expect(upstream.queries.filter((q) => q.packet.questions![0].name === 'www.example.net')).to.have.length(0);
    } finally {
      await other.close();
    }
  });

  it('detects resolv.conf pointing at the server itself: logs it, shows it in /status, stops forwarding there', async () => {
    const { logger, lines } = capturedLogger();
    let port = 0;
    const seam = lateBound();
    server = await startTestServer(undefined, { fallback: seam.proxy, httpPort: 0 });
    port = server.port;
    const du = withDefaultUpstream(createForwarder({ logger, registry: new Registry() }), { logger, resolvConf: resolvConf('nameserver 127.0.0.1\n'), port, probe: FAST_PROBE });
    seam.set(du);
    server.applyBundle(bundle(exampleZone()));
    await du.probe();
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/status`);
    const st = (await res.json()) as { fallback: { defaultUpstream: { active: boolean; nameservers: { address: string; verdict: string; detail: string }[] } } };
    expect(st.fallback.defaultUpstream.nameservers[0]).to.include({ address: '127.0.0.1', verdict: 'loop' });
    expect(st.fallback.defaultUpstream.active).to.equal(false);
    expect(lines.some((l) => l.msg === 'forwarding loop detected: not forwarding to this resolv.conf nameserver' && l.upstream === `127.0.0.1:${port}`)).to.equal(true);
    // Not forwarded to ourselves any more: REFUSED at once, as with no default upstream.
    const r = await udpQuery(server.port, { name: 'www.example.net', type: 'A' });
    expect(rcodeOf(r.raw)).to.equal(5);
  });

  it('detects a resolver that relays our questions back to us', async () => {
    // The "upstream" is a relay: every query it gets, it asks our server, and passes the answer back.
    relay = dgram.createSocket('udp4');
    const sock = relay;
    let serverPort = 0;
    sock.on('message', (msg, rinfo) => {
      const out = dgram.createSocket('udp4');
      out.on('message', (answer) => { sock.send(answer, rinfo.port, rinfo.address); out.close(); });
      out.send(msg, serverPort, '127.0.0.1');
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const du = await start(resolvConf('nameserver 127.0.0.1\n'), () => sock.address().port);
    serverPort = server!.port;
    server!.applyBundle(bundle(exampleZone()));
    await du.probe();
    const st = du.status() as { defaultUpstream: { nameservers: { verdict: string; detail: string }[] } };
    expect(st.defaultUpstream.nameservers[0].verdict).to.equal('loop');
    expect(st.defaultUpstream.nameservers[0].detail).to.match(/forwards to this server/);
  });

  it('reports an unreadable resolv.conf in /status and answers REFUSED as before', async () => {
    const du = await start('/nonexistent/resolv.conf', () => 53);
    server!.applyBundle(bundle(exampleZone()));
    const st = du.status() as { defaultUpstream: { error: string; active: boolean } };
    expect(st.defaultUpstream.error).to.match(/ENOENT/);
    expect(st.defaultUpstream.active).to.equal(false);
    const r = await udpQuery(server!.port, { name: 'www.example.net', type: 'A' });
    expect(rcodeOf(r.raw)).to.equal(5);
  });
});
