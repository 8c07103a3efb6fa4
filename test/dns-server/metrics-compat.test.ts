// --metrics-compat=coredns: CoreDNS's metric names on /metrics, carrying the same numbers as
// ours (read from them at scrape time), with the labels CoreDNS's plugins define.

import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createForwarder } from '../../dns-server/forward/index.js';
import type { DnsServer } from '../../dns-server/index.js';
import { corednsServerLabel, registerCorednsCompat } from '../../dns-server/metrics-compat.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { udpQuery } from '../helpers/dns-client.js';
import { forwardersShard } from '../helpers/forwarders.js';
import { startTestServer } from '../helpers/server.js';
import { answerFrom, startUpstream } from '../helpers/upstream.js';
import type { FakeUpstream } from '../helpers/upstream.js';

/** Prometheus text → series name with sorted labels → value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = (m[2] ?? '').match(/[a-zA-Z_]+="(?:[^"\\]|\\.)*"/g) ?? [];
    out.set(`${m[1]}{${labels.sort().join(',')}}`, Number(m[3]));
  }
  return out;
}
const sum = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix + '{')).reduce((a, [, v]) => a + v, 0);

describe('metrics: --metrics-compat=coredns', function () {
  this.timeout(15000);
  let server: DnsServer | undefined;
  let upstream: FakeUpstream | undefined;
  afterEach(async () => { await server?.close(); await upstream?.close(); server = upstream = undefined; });

  it('labels the server as CoreDNS does', () => {
    expect(corednsServerLabel('0.0.0.0', 53)).to.equal('dns://:53');
    expect(corednsServerLabel('127.0.0.1', 5353)).to.equal('dns://127.0.0.1:5353');
    expect(corednsServerLabel('::1', 53)).to.equal('dns://[::1]:53');
  });

  it('serves coredns_dns_*, coredns_cache_* and coredns_forward_* beside our names, with the same counts', async () => {
    upstream = await startUpstream(answerFrom({ 'www.example.net': ['192.0.2.80'] }));
    const registry = new Registry();
    const fallback = createForwarder({ logger: pino({ level: 'silent' }), registry });
    server = await startTestServer(bundle(exampleZone(), forwardersShard({ name: 'net', domains: ['example.net.'], upstreams: [{ address: '127.0.0.1', port: upstream.port, protocol: 'udp' }] })), { registry, fallback, httpPort: 0 });
    registerCorednsCompat(registry, { server: corednsServerLabel('127.0.0.1', server.port), family: 1 });
    await udpQuery(server.port, { name: 'ns1.example.org', type: 'A' }); // local: NOERROR
    await udpQuery(server.port, { name: 'nope.example.org', type: 'A' }); // local: NXDOMAIN
    await udpQuery(server.port, { name: 'www.example.net', type: 'A' }); // forwarded: cache miss
    await udpQuery(server.port, { name: 'www.example.net', type: 'A' }); // cache hit
    await udpQuery(server.port, { name: 'gone.example.net', type: 'AAAA' }); // forwarded NXDOMAIN
    const m = parseMetrics(await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text());
    const srv = `server="dns://127.0.0.1:${server.port}"`;
    const to = `to="127.0.0.1:${upstream.port}"`;

    expect(m.get(`coredns_dns_requests_total{family="1",proto="udp",${srv},type="A",view="",zone="."}`)).to.equal(4);
    expect(m.get(`coredns_dns_requests_total{family="1",proto="udp",${srv},type="AAAA",view="",zone="."}`)).to.equal(1);
    expect(sum(m, 'coredns_dns_requests_total')).to.equal(sum(m, 'splitdns_dns_requests_total'));
    expect(m.get(`coredns_dns_responses_total{plugin="",rcode="NOERROR",${srv},view="",zone="."}`)).to.equal(3);
    expect(m.get(`coredns_dns_responses_total{plugin="",rcode="NXDOMAIN",${srv},view="",zone="."}`)).to.equal(2);
    expect(m.get(`coredns_dns_request_duration_seconds_count{${srv},type="other",view="",zone="."}`)).to.equal(5);
    expect(m.get(`coredns_dns_request_duration_seconds_bucket{le="+Inf",${srv},type="other",view="",zone="."}`)).to.equal(5);

    expect(m.get(`coredns_cache_hits_total{${srv},type="success",view="",zones="."}`)).to.equal(1);
    expect(m.get(`coredns_cache_misses_total{${srv},view="",zones="."}`)).to.equal(2);
    expect(m.get(`coredns_cache_requests_total{${srv},view="",zones="."}`)).to.equal(3);
    expect(m.get(`coredns_cache_entries{${srv},type="success",view="",zones="."}`)).to.equal(2);

    expect(m.get(`coredns_forward_requests_total{${to}}`)).to.equal(2);
    expect(m.get(`coredns_forward_responses_total{rcode="NOERROR",${to}}`)).to.equal(1);
    expect(m.get(`coredns_forward_responses_total{rcode="NXDOMAIN",${to}}`)).to.equal(1);
    expect(m.get(`coredns_forward_request_duration_seconds_count{${to}}`)).to.equal(2);
    // Ours are still there, unchanged.
    expect(sum(m, 'splitdns_forward_requests_total')).to.equal(2);
  });

  it('adds nothing without the option', async () => {
    server = await startTestServer(bundle(exampleZone()), { httpPort: 0 });
    const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    expect(text).to.not.match(/coredns_/);
    expect(text).to.match(/splitdns_dns_requests_total/);
  });
});
