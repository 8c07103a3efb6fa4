// Authoritative answers through a real server over UDP: one row per behaviour.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import { bundle, exampleZone, hostsShard, servicesShard, zoneShard } from '../helpers/bundles.js';
import { buildQuery, flagsOf, rcodeOf, udpExchange, udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

const data = (answers: Answer[] | undefined, type?: string) => (answers ?? []).filter((a) => !type || a.type === type).map((a) => (a as { data: unknown }).data);

describe('dns-server: authoritative answers', () => {
  let server: DnsServer;
  before(async () => {
    server = await startTestServer(bundle(
      exampleZone(),
      zoneShard('cluster.local.', [
        { name: 'cluster.local.', type: 'NS', ttl: 30, data: ['ns.dns.cluster.local.'] },
        { name: 'dns-version.cluster.local.', type: 'TXT', ttl: 30, data: [['1.1.0']] },
      ], { clusterDomain: true, soa: { mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', minimum: 5, ttl: 30 } }),
      servicesShard('cluster.local.', 'default', [
        { name: 'web.default.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.96.0.10'] },
        { name: '_http._tcp.web.default.svc.cluster.local.', type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local.' }] },
      ], [{ name: '10.0.96.10.in-addr.arpa.', type: 'PTR', ttl: 5, data: ['web.default.svc.cluster.local.'] }]),
      hostsShard([{ name: 'db.internal.local.', type: 'A', ttl: 60, data: ['10.1.2.3'] }], [{ name: '3.2.1.10.in-addr.arpa.', type: 'PTR', ttl: 60, data: ['db.internal.local.'] }]),
    ));
  });
  after(() => server.close());

  it('answers an A record with AA set and the record TTL', async () => {
    const r = await udpQuery(server.port, { name: 'www.example.org' });
    expect(rcodeOf(r.raw)).to.equal(0);
    expect(flagsOf(r.raw).aa).to.equal(true);
    expect(data(r.answers)).to.deep.equal(['192.0.2.1']);
    expect((r.answers![0] as { ttl: number }).ttl).to.equal(300);
  });

  it('echoes the ID, the RD bit and the question exactly as sent (0x20 mixed case)', async () => {
    const r = await udpQuery(server.port, { name: 'wWw.ExAmPlE.oRg', type: 'AAAA', id: 4242, flags: 0 });
    expect(r.id).to.equal(4242);
    expect(flagsOf(r.raw).rd).to.equal(false);
    expect(r.questions![0].name).to.equal('wWw.ExAmPlE.oRg');
    expect(data(r.answers)).to.deep.equal(['2001:db8::1']);
    const rd = await udpQuery(server.port, { name: 'WWW.EXAMPLE.ORG', id: 7 });
    expect(flagsOf(rd.raw).rd).to.equal(true);
    expect(rd.questions![0].name).to.equal('WWW.EXAMPLE.ORG');
  });

  it('returns the question bytes as sent for every kind of prepared answer, a lower-case name (its bytes are the prepared answer\'s own) as a mixed-case one, the rest alike', async () => {
    const asked: [string, string][] = [['www.example.org', 'A'], ['www.example.org', 'AAAA'], ['alias.example.org', 'A'], ['example.org', 'MX'],
      ['web.default.svc.cluster.local', 'A'], ['_http._tcp.web.default.svc.cluster.local', 'SRV'], ['db.internal.local', 'A'], ['10.0.96.10.in-addr.arpa', 'PTR'],
      ['1.2.0.192.in-addr.arpa', 'PTR'], ['dns-version.cluster.local', 'TXT']];
    for (const [name, type] of asked) {
      for (const [as, id] of [[name, 1], [name.toUpperCase(), 2], [name.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c)), 3]] as const) {
        const q = buildQuery({ name: as, type, id, edns: id === 3 ? 1232 : undefined });
        const r = (await udpExchange(server.port, q))!;
        const qend = 12 + (q.length - 12 - (id === 3 ? 11 : 0));
        expect(rcodeOf(r), `${as} ${type}`).to.equal(0);
        expect(r.subarray(0, 2).equals(q.subarray(0, 2)), `${as} ${type}: ID`).to.equal(true);
        expect(r.subarray(12, qend).toString('latin1'), `${as} ${type}: question`).to.equal(q.subarray(12, qend).toString('latin1'));
        // The records after the question: the same as for the lower-case name (rotation aside: one record each here, or the same rotation step).
        if (id === 1) expect(data(dnsPacket.decode(r).answers), `${as} ${type}: answered`).to.not.deep.equal([]);
      }
    }
  });

  it('returns NODATA with the SOA (TTL = min(SOA minimum, SOA ttl)) when the name exists without the type', async () => {
    const r = await udpQuery(server.port, { name: 'mail.example.org', type: 'AAAA' });
    expect(rcodeOf(r.raw)).to.equal(0);
    expect(r.answers).to.have.length(0);
    expect(r.authorities!.map((a) => [a.type, a.name, (a as { ttl: number }).ttl])).to.deep.equal([['SOA', 'example.org', 60]]);
  });

  it('returns NXDOMAIN with the SOA for a name that does not exist', async () => {
    const r = await udpQuery(server.port, { name: 'nope.example.org' });
    expect(rcodeOf(r.raw)).to.equal(3);
    expect(flagsOf(r.raw).aa).to.equal(true);
    expect(r.authorities!.map((a) => a.type)).to.deep.equal(['SOA']);
  });

  it('returns NXDOMAIN and NODATA with the question as sent for a query longer than its answer (an OPT with 300 bytes of padding) and for a short one', async () => {
    for (const [name, type, rcode] of [['Nope.Example.org', 'A', 3], ['mail.EXAMPLE.org', 'AAAA', 0], ['nope.default.svc.cluster.local', 'A', 3]] as const) {
      for (const padding of [0, 300]) {
        const msg = dnsPacket.encode({
          id: 4242, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }],
          additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: padding ? [{ code: 12, data: Buffer.alloc(padding) }] : [] } as unknown as dnsPacket.Answer],
        });
        const raw = (await udpExchange(server.port, msg))!;
        expect(padding === 0 || msg.length > raw.length, 'the query is the longer').to.equal(true);
        const r = dnsPacket.decode(raw);
        expect([r.id, rcodeOf(raw), r.questions![0]!.name, r.questions![0]!.type, r.authorities!.map((a) => a.type)], `${name} ${type} padding ${padding}`)
          .to.deep.equal([4242, rcode, name, type, ['SOA']]);
      }
    }
  });

  it('treats an empty non-terminal as NODATA, not NXDOMAIN', async () => {
    for (const name of ['c.example.org', 'b.c.example.org']) {
      const r = await udpQuery(server.port, { name });
      expect(rcodeOf(r.raw), name).to.equal(0);
      expect(r.answers, name).to.have.length(0);
      expect(r.authorities!.map((a) => a.type), name).to.deep.equal(['SOA']);
    }
  });

  it('synthesises wildcard answers under the query name (RFC 4592)', async () => {
    const r = await udpQuery(server.port, { name: 'Any.Thing.wild.example.org' });
    expect(r.answers!.map((a) => [a.name, a.type, (a as { ttl: number }).ttl, (a as { data: unknown }).data])).to.deep.equal([['Any.Thing.wild.example.org', 'A', 45, '192.0.2.77']]);
    const nodata = await udpQuery(server.port, { name: 'x.wild.example.org', type: 'MX' });
    expect(rcodeOf(nodata.raw)).to.equal(0);
    expect(nodata.authorities!.map((a) => a.type)).to.deep.equal(['SOA']);
  });

  it('does not apply a wildcard below a closest encloser that has no wildcard', async () => {
    const r = await udpQuery(server.port, { name: 'x.a.b.c.example.org' });
    expect(rcodeOf(r.raw)).to.equal(3);
  });

  it('chases CNAME chains inside our zones', async () => {
    const r = await udpQuery(server.port, { name: 'chain.example.org' });
    expect(r.answers!.map((a) => [a.name, a.type, (a as { data: unknown }).data])).to.deep.equal([
      ['chain.example.org', 'CNAME', 'alias.example.org'],
      ['alias.example.org', 'CNAME', 'www.example.org'],
      ['www.example.org', 'A', '192.0.2.1'],
    ]);
  });

  it('answers a CNAME to a missing name in our zone with NXDOMAIN and the CNAME (RFC 6604)', async () => {
    const r = await udpQuery(server.port, { name: 'dangling.example.org' });
    expect(rcodeOf(r.raw)).to.equal(3);
    expect(data(r.answers, 'CNAME')).to.deep.equal(['missing.example.org']);
  });

  it('answers a CNAME leaving our zones with just the CNAME', async () => {
    const r = await udpQuery(server.port, { name: 'out.example.org' });
    expect(rcodeOf(r.raw)).to.equal(0);
    expect(r.answers!.map((a) => a.type)).to.deep.equal(['CNAME']);
  });

  it('puts MX and SRV targets\' addresses in the additional section', async () => {
    const mx = await udpQuery(server.port, { name: 'example.org', type: 'MX' });
    expect(mx.additionals!.filter((a) => a.type === 'A').map((a) => [a.name, (a as { data: unknown }).data])).to.deep.equal([['mail.example.org', '192.0.2.25']]);
    const srv = await udpQuery(server.port, { name: '_http._tcp.www.example.org', type: 'SRV' });
    expect(srv.additionals!.filter((a) => a.type !== 'OPT').map((a) => a.type).sort()).to.deep.equal(['A', 'AAAA']);
  });

  it('serves TXT (several strings) and CAA records', async () => {
    const txt = await udpQuery(server.port, { name: 'txt.example.org', type: 'TXT' });
    expect(data(txt.answers).map((d) => (d as Buffer[]).map(String))).to.deep.equal([['v=spf1 -all'], ['a', 'b']]);
    const caa = await udpQuery(server.port, { name: 'example.org', type: 'CAA' });
    expect(data(caa.answers)).to.deep.equal([{ flags: 0, tag: 'issue', value: 'letsencrypt.org', issuerCritical: false }]);
  });

  it('rotates the order of a multi-address answer from one response to the next', async () => {
    const firsts: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await udpQuery(server.port, { name: 'multi.example.org' });
      const addrs = data(r.answers) as string[];
      expect([...addrs].sort()).to.deep.equal(['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']);
      firsts.push(addrs[0]);
    }
    expect(new Set(firsts).size).to.equal(4);
  });

  it('answers REFUSED for a name in no zone when nothing forwards it', async () => {
    const r = await udpQuery(server.port, { name: 'www.example.net' });
    expect(rcodeOf(r.raw)).to.equal(5);
    expect(flagsOf(r.raw).aa).to.equal(false);
  });

  it('answers the apex SOA and NS', async () => {
    const soa = await udpQuery(server.port, { name: 'example.org', type: 'SOA' });
    expect(soa.answers!.map((a) => [a.type, (a as { ttl: number }).ttl])).to.deep.equal([['SOA', 3600]]);
    const ns = await udpQuery(server.port, { name: 'example.org', type: 'NS' });
    expect(data(ns.answers)).to.deep.equal(['ns1.example.org']);
    expect(ns.additionals!.filter((a) => a.type === 'A').map((a) => a.name)).to.deep.equal(['ns1.example.org']);
  });

  it('answers PTR from the reverse index of every shard', async () => {
    for (const [name, target] of [['1.2.0.192.in-addr.arpa', 'www.example.org'], ['10.0.96.10.in-addr.arpa', 'web.default.svc.cluster.local'], ['3.2.1.10.in-addr.arpa', 'db.internal.local']]) {
      const r = await udpQuery(server.port, { name, type: 'PTR' });
      expect(data(r.answers), name).to.deep.equal([target]);
    }
    const miss = await udpQuery(server.port, { name: '9.9.9.9.in-addr.arpa', type: 'PTR' });
    expect(rcodeOf(miss.raw)).to.equal(5);
  });

  it('routes cluster-domain names to their namespace shard', async () => {
    const a = await udpQuery(server.port, { name: 'web.default.svc.cluster.local' });
    expect(data(a.answers)).to.deep.equal(['10.96.0.10']);
    const srv = await udpQuery(server.port, { name: '_http._tcp.web.default.svc.cluster.local', type: 'SRV' });
    expect(srv.answers!.map((x) => x.type)).to.deep.equal(['SRV']);
    expect(data(srv.additionals, 'A')).to.deep.equal(['10.96.0.10']);
    const ver = await udpQuery(server.port, { name: 'dns-version.cluster.local', type: 'TXT' });
    expect(data(ver.answers).map((d) => String((d as Buffer[])[0]))).to.deep.equal(['1.1.0']);
  });

  it('answers NXDOMAIN with the cluster SOA for a namespace or service that does not exist', async () => {
    for (const name of ['web.nope.svc.cluster.local', 'nope.default.svc.cluster.local']) {
      const r = await udpQuery(server.port, { name });
      expect(rcodeOf(r.raw), name).to.equal(3);
      expect(r.authorities!.map((x) => [x.name, (x as { ttl: number }).ttl]), name).to.deep.equal([['cluster.local', 5]]);
    }
  });

  it('answers NODATA for svc.<zone> and <namespace>.svc.<zone>', async () => {
    for (const name of ['svc.cluster.local', 'default.svc.cluster.local']) {
      const r = await udpQuery(server.port, { name });
      expect(rcodeOf(r.raw), name).to.equal(0);
      expect(r.answers, name).to.have.length(0);
    }
  });

  it('answers hosts names and lets other names fall through', async () => {
    const r = await udpQuery(server.port, { name: 'DB.internal.local' });
    expect(data(r.answers)).to.deep.equal(['10.1.2.3']);
    const nodata = await udpQuery(server.port, { name: 'db.internal.local', type: 'AAAA' });
    expect(rcodeOf(nodata.raw)).to.equal(0);
    expect(nodata.answers).to.have.length(0);
    const other = await udpQuery(server.port, { name: 'other.internal.local' });
    expect(rcodeOf(other.raw)).to.equal(5);
  });

  it('answers SERVFAIL before its first configuration', async () => {
    const fresh = await startTestServer();
    try {
      expect(rcodeOf((await udpQuery(fresh.port, { name: 'www.example.org' })).raw)).to.equal(2);
      fresh.applyBundle(bundle(exampleZone()));
      expect(rcodeOf((await udpQuery(fresh.port, { name: 'www.example.org' })).raw)).to.equal(0);
    } finally {
      await fresh.close();
    }
  });

  it('answers ANY with every RRset at the name', async () => {
    const r = await udpQuery(server.port, { name: 'www.example.org', type: 'ANY' });
    expect(r.answers!.map((a) => a.type).sort()).to.deep.equal(['A', 'AAAA']);
  });
});
