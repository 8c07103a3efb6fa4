// The operations endpoint, metrics, c-ares and dig as clients, lame duck.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { promisify } from 'node:util';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone } from '../helpers/bundles.js';
import { udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

const run = promisify(execFile);
const get = async (port: number, path: string) => { const r = await fetch(`http://127.0.0.1:${port}${path}`); return { status: r.status, text: await r.text() }; };

describe('dns-server: operations endpoint', () => {
  let server: DnsServer;
  beforeEach(async () => { server = await startTestServer(undefined, { httpPort: 0, lameDuckMs: 400 }); });
  afterEach(() => server.close());

  it('is healthy at once, ready only once a config is loaded', async () => {
    expect((await get(server.httpPort!, '/healthz')).status).to.equal(200);
    expect((await get(server.httpPort!, '/readyz')).status).to.equal(503);
    server.applyBundle(bundle(exampleZone()));
    expect((await get(server.httpPort!, '/readyz')).status).to.equal(200);
  });

  it('reports the hash of every shard served and since when on /status', async () => {
    const z = exampleZone();
    server.applyBundle(bundle(z));
    const s = JSON.parse((await get(server.httpPort!, '/status')).text);
    expect(s.ready).to.equal(true);
    expect(s.shards).to.have.length(1);
    expect(s.shards[0]).to.include({ id: 'zone/example.org', kind: 'zone', hash: z.hash });
    expect(Date.parse(s.shards[0].since)).to.be.a('number').and.not.NaN;
  });

  it('exposes request, response, duration, reload and config metrics', async () => {
    server.applyBundle(bundle(exampleZone()));
    await udpQuery(server.port, { name: 'www.example.org' });
    await udpQuery(server.port, { name: 'nope.example.org', type: 'AAAA' });
    const m = (await get(server.httpPort!, '/metrics')).text;
    expect(m).to.match(/splitdns_dns_requests_total\{proto="udp",type="A"\} 1/);
    expect(m).to.match(/splitdns_dns_requests_total\{proto="udp",type="AAAA"\} 1/);
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="NOERROR"\} 1/);
    expect(m).to.match(/splitdns_dns_responses_total\{rcode="NXDOMAIN"\} 1/);
    expect(m).to.match(/splitdns_dns_request_duration_seconds_count 2/);
    expect(m).to.match(/splitdns_dns_request_duration_seconds_bucket\{le="\+Inf"\} 2/);
    expect(m).to.match(/splitdns_dns_reloads_total\{result="ok"\} 1/);
    expect(m).to.match(/splitdns_dns_config_info\{shard="zone\/example.org",hash="[0-9a-f]{64}"\} 1/);
  });

  it('lame duck: unready at once, still answering, then closed', async () => {
    server.applyBundle(bundle(exampleZone()));
    const done = server.shutdown();
    expect((await get(server.httpPort!, '/readyz')).status).to.equal(503);
    const r = await udpQuery(server.port, { name: 'www.example.org' });
    expect(r.answers).to.have.length(1);
    await done;
    let refused = false;
    try { await get(server.httpPort!, '/healthz'); } catch { refused = true; }
    expect(refused).to.equal(true);
  });
});

describe('dns-server: real clients', () => {
  let server: DnsServer;
  before(async () => { server = await startTestServer(bundle(exampleZone())); });
  after(() => server.close());

  it('answers Node\'s dns.Resolver (c-ares) for each record type', async () => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    expect(await r.resolve4('www.example.org')).to.deep.equal(['192.0.2.1']);
    expect(await r.resolve6('www.example.org')).to.deep.equal(['2001:db8::1']);
    // (newer Node adds a `type` field to these records; compare the fields both have)
    expect((await r.resolveMx('example.org')).map(({ exchange, priority }) => ({ exchange, priority }))).to.deep.equal([{ exchange: 'mail.example.org', priority: 10 }]);
    expect((await r.resolveSrv('_http._tcp.www.example.org')).map(({ name, port, priority, weight }) => ({ name, port, priority, weight }))).to.deep.equal([{ name: 'www.example.org', port: 8080, priority: 10, weight: 5 }]);
    expect(await r.resolveTxt('txt.example.org')).to.deep.equal([['v=spf1 -all'], ['a', 'b']]);
    expect(await r.resolveCname('alias.example.org')).to.deep.equal(['www.example.org']);
    expect(await r.resolve4('chain.example.org')).to.deep.equal(['192.0.2.1']);
    expect(await r.reverse('192.0.2.1')).to.deep.equal(['www.example.org']);
    expect((await r.resolveCaa('example.org'))[0]).to.include({ issue: 'letsencrypt.org' });
    const soa = await r.resolveSoa('example.org');
    expect(soa).to.include({ nsname: 'ns1.example.org', serial: 7, minttl: 60 });
  });

  it('gives c-ares ENOTFOUND for NXDOMAIN and ENODATA for NODATA', async () => {
    const r = new Resolver({ timeout: 1000, tries: 1 });
    r.setServers([`127.0.0.1:${server.port}`]);
    const code = async (p: Promise<unknown>) => { try { await p; return 'resolved'; } catch (e) { return (e as { code: string }).code; } };
    expect(await code(r.resolve4('nope.example.org'))).to.equal('ENOTFOUND');
    expect(await code(r.resolve6('mail.example.org'))).to.equal('ENODATA');
  });

  it('answers dig over UDP and TCP', async () => {
    const udp = await run('dig', ['@127.0.0.1', '-p', String(server.port), 'multi.example.org', 'A', '+short', '+tries=1', '+time=2']);
    expect(udp.stdout.trim().split('\n').sort()).to.deep.equal(['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']);
    const tcp = await run('dig', ['@127.0.0.1', '-p', String(server.port), 'www.example.org', 'AAAA', '+tcp', '+tries=1', '+time=2']);
    expect(tcp.stdout).to.match(/status: NOERROR/);
    expect(tcp.stdout).to.match(/flags: qr aa rd;/);
    expect(tcp.stdout).to.match(/www\.example\.org\.\s+300\s+IN\s+AAAA\s+2001:db8::1/);
  });
});
