import { expect } from 'chai';
import { compile, createCompiler } from '../../../operator/compile/index.js';
import type { CompileResult, ResourceResult } from '../../../operator/compile/index.js';
import { computeShardHash, validateShard } from '../../../dns-server/config/index.js';
import type { RRSet, Shard } from '../../../dns-server/config/index.js';
import { OPTS, T0, T1, T2, forwarder, namespace, service, slice, snap, staticHost, zone } from './fixtures.js';

function shard(r: CompileResult, id: string): Shard {
  const s = r.bundle.shards.find((x) => x.id === id);
  if (!s) throw new Error(`no shard ${id} in ${r.bundle.shards.map((x) => x.id).join(', ')}`);
  return s;
}
function rr(s: Shard, name: string, type: string): RRSet | undefined {
  const list = s.kind === 'forwarders' ? [] : [...s.rrsets, ...s.reverse];
  return list.find((x) => x.name === name && x.type === type);
}
function res(r: CompileResult, kind: string, name: string): ResourceResult {
  const x = r.resources.find((y) => y.kind === kind && y.name === name);
  if (!x) throw new Error(`no ${kind} ${name}`);
  return x;
}
const cond = (x: ResourceResult, type: string) => x.status.conditions.find((c) => c.type === type)!;

function expectValid(r: CompileResult): void {
  for (const s of r.bundle.shards) {
    const v = validateShard(s);
    expect(v.ok, JSON.stringify(v)).to.equal(true);
    expect(s.hash).to.equal(computeShardHash(s));
  }
}

const corp = (extra: Record<string, unknown> = {}, created = T0) => zone('corp', {
  domain: 'corp.example.org', ttl: 300,
  records: [
    { name: 'www', type: 'A', a: ['192.0.2.10', '192.0.2.11'] },
    { name: 'www', type: 'AAAA', aaaa: ['2001:DB8:0:0::10'] },
    { name: '@', type: 'MX', mx: [{ preference: 10, exchange: 'mail.corp.example.org' }] },
    { name: '@', type: 'TXT', txt: ['v=spf1 -all', 'x'.repeat(300)] },
    { name: '_sip._tcp', type: 'SRV', srv: [{ priority: 1, weight: 2, port: 5060, target: 'sip.corp.example.org.' }] },
    { name: '@', type: 'CAA', caa: [{ flags: 0, tag: 'issue', value: 'ca.example.net' }] },
    { name: 'alias', type: 'CNAME', cname: 'www.corp.example.org', ttl: 60 },
    { name: '*.apps', type: 'A', a: ['192.0.2.80'] },
    { name: 'sub', type: 'NS', ns: ['ns.sub.corp.example.org'] },
  ],
  ...extra,
}, created);

describe('compile: DNSZone', () => {
  const r = compile(snap({ zones: [corp()] }), OPTS);
  const z = shard(r, 'zone/corp.example.org');

  it('emits every record type with data in canonical form', () => {
    expect(rr(z, 'www.corp.example.org.', 'A')?.data).to.deep.equal(['192.0.2.10', '192.0.2.11']);
    expect(rr(z, 'www.corp.example.org.', 'AAAA')?.data).to.deep.equal(['2001:db8::10']);
    expect(rr(z, 'corp.example.org.', 'MX')?.data).to.deep.equal([{ exchange: 'mail.corp.example.org.', preference: 10 }]);
    expect(rr(z, '_sip._tcp.corp.example.org.', 'SRV')?.data).to.deep.equal([{ port: 5060, priority: 1, target: 'sip.corp.example.org.', weight: 2 }]);
    expect(rr(z, 'corp.example.org.', 'CAA')?.data).to.deep.equal([{ flags: 0, tag: 'issue', value: 'ca.example.net' }]);
    expect(rr(z, 'alias.corp.example.org.', 'CNAME')).to.deep.include({ data: ['www.corp.example.org.'], ttl: 60 });
    expect(rr(z, '*.apps.corp.example.org.', 'A')?.data).to.deep.equal(['192.0.2.80']);
    expect(rr(z, 'sub.corp.example.org.', 'NS')?.data).to.deep.equal(['ns.sub.corp.example.org.']);
  });

  it('splits a long TXT value into 255-byte character-strings', () => {
    const txt = rr(z, 'corp.example.org.', 'TXT')!.data as string[][];
    const long = txt.find((t) => t.length > 1)!;
    expect(long.map((s) => s.length)).to.deep.equal([255, 45]);
  });

  it('adds an apex NS and an SOA with a serial that follows the content', () => {
    expect(rr(z, 'corp.example.org.', 'NS')?.data).to.deep.equal(['ns.corp.example.org.']);
    if (z.kind !== 'zone') throw new Error('not a zone');
    expect(z.soa).to.include({ mname: 'ns.corp.example.org.', rname: 'hostmaster.corp.example.org.', ttl: 300, minimum: 60 });
    const z2 = shard(compile(snap({ zones: [corp({ ttl: 301 })] }), OPTS), 'zone/corp.example.org');
    if (z2.kind !== 'zone') throw new Error('not a zone');
    expect(z2.soa.serial).to.not.equal(z.soa.serial);
    expect(shard(compile(snap({ zones: [corp()] }), OPTS), 'zone/corp.example.org')).to.deep.equal(z);
  });

  it('reports Accepted, Programmed=Unknown, Ready=Unknown with figures and its shard', () => {
    const x = res(r, 'DNSZone', 'corp');
    expect(cond(x, 'Accepted')).to.deep.equal({ status: 'True', reason: 'Accepted', message: 'Serving 12 records for corp.example.org.', observedGeneration: 1, type: 'Accepted' });
    expect(cond(x, 'Programmed')).to.include({ status: 'Unknown', reason: 'Pending' });
    expect(cond(x, 'Ready')).to.include({ status: 'Unknown' });
    expect(x.status.observedGeneration).to.equal(1);
    expect(x.status.records).to.equal(12);
    expect(x.shardIds).to.deep.equal(['zone/corp.example.org']);
  });

  it('produces shards the DNS server accepts', () => expectValid(r));

  const invalid: [string, Record<string, unknown>, RegExp][] = [
    ['a bad IPv4 address', { records: [{ name: 'x', type: 'A', a: ['300.1.1.1'] }] }, /not an IPv4 address/],
    ['an IPv6 address in an A record', { records: [{ name: 'x', type: 'A', a: ['2001:db8::1'] }] }, /not an IPv4 address/],
    ['a CNAME with other data', { records: [{ name: 'x', type: 'CNAME', cname: 'y.example.org' }, { name: 'x', type: 'A', a: ['192.0.2.1'] }] }, /CNAME and other records/],
    ['a CNAME at the apex', { records: [{ name: '@', type: 'CNAME', cname: 'y.example.org' }] }, /apex cannot be a CNAME/],
    ['a name outside the zone', { records: [{ name: 'www.example.net.', type: 'A', a: ['192.0.2.1'] }] }, /outside the zone/],
    ['data in the wrong field', { records: [{ name: 'x', type: 'A', aaaa: ['2001:db8::1'] }] }, /aaaa is set but type is A/],
    ['an MX without preference', { records: [{ name: '@', type: 'MX', mx: [{ exchange: 'mail.example.org' }] }] }, /preference/],
    ['a TTL out of range', { ttl: 0 }, /spec.ttl/],
    ['a bad domain', { domain: 'bad_-.ex ample' }, /invalid label/],
  ];
  for (const [what, spec, msg] of invalid) {
    it(`rejects ${what} as InvalidSpec and compiles the rest`, () => {
      const rr2 = compile(snap({ zones: [zone('bad', { domain: 'bad.example.org', ...spec }, T0), corp()] }), OPTS);
      const bad = res(rr2, 'DNSZone', 'bad');
      expect(cond(bad, 'Accepted')).to.include({ status: 'False', reason: 'InvalidSpec' });
      expect(cond(bad, 'Accepted').message).to.match(msg);
      expect(cond(bad, 'Ready')).to.include({ status: 'False' });
      expect(bad.shardIds).to.deep.equal([]);
      expect(rr2.bundle.shards.some((s) => s.id === 'zone/bad.example.org')).to.equal(false);
      expect(cond(res(rr2, 'DNSZone', 'corp'), 'Accepted').status).to.equal('True');
    });
  }
});

describe('compile: Kubernetes DNS specification for the cluster domain', () => {
  const r = compile(snap({
    services: [
      service('prod', 'web', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }] }),
      service('prod', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
      service('prod', 'empty', { clusterIP: 'None' }),
      service('prod', 'ext', { type: 'ExternalName', externalName: 'db.example.net' }),
      service('prod', 'tolerant', { clusterIP: 'None', publishNotReadyAddresses: true }),
    ],
    endpointSlices: [
      slice('prod', 'db-1', 'db', {
        ports: [{ name: 'pg', port: 5433, protocol: 'TCP' }],
        endpoints: [
          { addresses: ['10.1.0.1'], hostname: 'db-0', conditions: { ready: true } },
          { addresses: ['10.1.0.2'] },
          { addresses: ['10.1.0.3'], conditions: { ready: false } },
        ],
      }),
      slice('prod', 'empty-1', 'empty', { endpoints: [{ addresses: ['10.1.1.1'], conditions: { ready: false } }] }),
      slice('prod', 'tolerant-1', 'tolerant', { endpoints: [{ addresses: ['10.1.2.1'], conditions: { ready: false } }] }),
    ],
  }), OPTS);
  const s = shard(r, 'services/prod');
  const base = 'prod.svc.cluster.local.';

  it('answers a ClusterIP Service with A and AAAA (dual-stack) and PTRs', () => {
    expect(rr(s, `web.${base}`, 'A')?.data).to.deep.equal(['10.96.0.10']);
    expect(rr(s, `web.${base}`, 'AAAA')?.data).to.deep.equal(['fd00::a']);
    expect(rr(s, '10.0.96.10.in-addr.arpa.', 'PTR')?.data).to.deep.equal([`web.${base}`]);
    expect(rr(s, 'a.' + '0.'.repeat(29) + 'd.f.ip6.arpa.', 'PTR')?.data).to.deep.equal([`web.${base}`]); // fd00::a
  });

  it('gives SRV records for named ports only', () => {
    expect(rr(s, `_http._tcp.web.${base}`, 'SRV')?.data).to.deep.equal([{ port: 80, priority: 0, target: `web.${base}`, weight: 100 }]);
    expect(s.kind === 'services' && s.rrsets.filter((x) => x.type === 'SRV' && x.name.endsWith(`web.${base}`))).to.have.length(1);
  });

  it('answers a headless Service with its ready endpoints (nil ready counts as ready)', () => {
    expect(rr(s, `db.${base}`, 'A')?.data).to.deep.equal(['10.1.0.1', '10.1.0.2']);
  });

  it('gives endpoint hostname records, per-endpoint SRV and PTR for hostnames', () => {
    expect(rr(s, `db-0.db.${base}`, 'A')?.data).to.deep.equal(['10.1.0.1']);
    expect(rr(s, `10-1-0-2.db.${base}`, 'A')?.data).to.deep.equal(['10.1.0.2']);
    expect(rr(s, `_pg._tcp.db.${base}`, 'SRV')?.data).to.deep.equal([
      { port: 5433, priority: 0, target: `10-1-0-2.db.${base}`, weight: 100 },
      { port: 5433, priority: 0, target: `db-0.db.${base}`, weight: 100 },
    ]);
    expect(rr(s, '1.0.1.10.in-addr.arpa.', 'PTR')?.data).to.deep.equal([`db-0.db.${base}`]);
    expect(rr(s, '3.0.1.10.in-addr.arpa.', 'PTR')).to.equal(undefined);
  });

  it('gives a headless Service without ready endpoints no name (NXDOMAIN)', () => {
    expect(s.kind === 'services' && s.rrsets.filter((x) => x.name.includes(`empty.${base}`))).to.deep.equal([]);
  });

  it('counts not-ready endpoints with publishNotReadyAddresses', () => {
    expect(rr(s, `tolerant.${base}`, 'A')?.data).to.deep.equal(['10.1.2.1']);
  });

  it('answers an ExternalName Service with a CNAME', () => {
    expect(rr(s, `ext.${base}`, 'CNAME')?.data).to.deep.equal(['db.example.net.']);
  });

  it('serves dns-version in the cluster zone shard', () => {
    const z = shard(r, 'zone/cluster.local');
    expect(z.kind === 'zone' && z.clusterDomain).to.equal(true);
    expect(rr(z, 'dns-version.cluster.local.', 'TXT')?.data).to.deep.equal([['1.1.0']]);
  });

  it('produces shards the DNS server accepts', () => expectValid(r));
});

describe('compile: StaticHost delegation', () => {
  const z = corp({ delegation: { namespaces: ['team-a'], namespaceSelector: { matchLabels: { dns: 'corp' } }, reverseCIDRs: ['10.0.0.0/24', '2001:db8::/64'] } });
  const r = compile(snap({
    zones: [z],
    namespaces: [namespace('team-c', { dns: 'corp' })],
    staticHosts: [
      staticHost('team-a', 'ok', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1', '2001:db8::1'], ptr: true }),
      staticHost('team-b', 'denied', { hostnames: ['evil.corp.example.org'], addresses: ['10.0.0.2'] }),
      staticHost('team-c', 'by-label', { hostnames: ['c.corp.example.org'], addresses: ['10.0.0.3'] }),
      staticHost('splitdns', 'anywhere', { hostnames: ['db.internal.example'], addresses: ['10.0.0.4'], ptr: true }),
      staticHost('splitdns', 'in-zone', { hostnames: ['ops.corp.example.org'], addresses: ['10.0.0.5'] }),
      staticHost('team-a', 'outside', { hostnames: ['db.other.example'], addresses: ['10.0.0.6'] }),
      staticHost('splitdns', 'cluster', { hostnames: ['kubernetes.default.svc.cluster.local'], addresses: ['10.0.0.7'] }),
    ],
  }), OPTS);
  const zs = shard(r, 'zone/corp.example.org');

  it('serves a name in a zone that delegates to the namespace, with PTR', () => {
    expect(rr(zs, 'app.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.1']);
    expect(rr(zs, 'app.corp.example.org.', 'AAAA')?.data).to.deep.equal(['2001:db8::1']);
    expect(rr(zs, '1.0.0.10.in-addr.arpa.', 'PTR')?.data).to.deep.equal(['app.corp.example.org.']);
    expect(res(r, 'StaticHost', 'ok').shardIds).to.deep.equal(['zone/corp.example.org']);
  });

  it('admits a StaticHost when its Namespace gains the label, in a long-lived compiler (the StaticHosts\' contributors made again for the new Permissions)', () => {
    const c = createCompiler(OPTS);
    const hosts = [staticHost('team-d', 'later', { hostnames: ['d.corp.example.org'], addresses: ['10.0.0.8'] })];
    const before = snap({ zones: [z], namespaces: [namespace('team-d')], staticHosts: hosts });
    expect(cond(res(c.compile(before), 'StaticHost', 'later'), 'Accepted')).to.include({ status: 'False', reason: 'NotPermitted' });
    // The same DNSZone and StaticHost objects (the parse outcome is kept); only the Namespace moved.
    const after = { ...before, namespaces: [namespace('team-d', { dns: 'corp' })] };
    const r2 = c.compile(after);
    expect(cond(res(r2, 'StaticHost', 'later'), 'Accepted')).to.include({ status: 'True' });
    expect(rr(shard(r2, 'zone/corp.example.org'), 'd.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.8']);
    expect(JSON.stringify(r2)).to.equal(JSON.stringify(compile(after, OPTS)));
  });

  it('admits a namespace by its labels', () => expect(rr(zs, 'c.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.3']));

  it('refuses a namespace the zone does not delegate to, saying why', () => {
    const x = res(r, 'StaticHost', 'denied');
    expect(cond(x, 'Accepted')).to.include({ status: 'False', reason: 'NotPermitted' });
    expect(cond(x, 'Accepted').message).to.match(/DNSZone corp.*team-b/);
    expect(rr(zs, 'evil.corp.example.org.', 'A')).to.equal(undefined);
  });

  it('lets the operator namespace claim names outside every zone (hosts shard) and inside zones', () => {
    const h = shard(r, 'hosts');
    expect(rr(h, 'db.internal.example.', 'A')?.data).to.deep.equal(['10.0.0.4']);
    expect(rr(h, '4.0.0.10.in-addr.arpa.', 'PTR')?.data).to.deep.equal(['db.internal.example.']);
    expect(rr(zs, 'ops.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.5']);
  });

  it('refuses other namespaces outside every zone', () => {
    expect(cond(res(r, 'StaticHost', 'outside'), 'Accepted')).to.include({ status: 'False', reason: 'NotPermitted' });
  });

  it('never lets a StaticHost shadow the cluster domain', () => {
    const x = res(r, 'StaticHost', 'cluster');
    expect(cond(x, 'Accepted')).to.include({ status: 'False', reason: 'NotPermitted' });
    expect(cond(x, 'Accepted').message).to.match(/cluster domain/);
  });

  it('produces shards the DNS server accepts', () => expectValid(r));
});

describe('compile: conflicts', () => {
  it('gives a name to the oldest StaticHost; the loser names the winner', () => {
    const r = compile(snap({
      zones: [corp({ delegation: { namespaces: ['a', 'b'] } })],
      staticHosts: [
        staticHost('b', 'newer', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.2'] }, T2),
        staticHost('a', 'older', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1'] }, T1),
      ],
    }), OPTS);
    expect(rr(shard(r, 'zone/corp.example.org'), 'app.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.1']);
    const loser = res(r, 'StaticHost', 'newer');
    expect(cond(loser, 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    expect(cond(loser, 'Accepted').message).to.contain('StaticHost a/older');
  });

  it('breaks a creationTimestamp tie by namespace/name', () => {
    const r = compile(snap({
      zones: [corp({ delegation: { namespaces: ['a', 'b'] } })],
      staticHosts: [
        staticHost('b', 'x', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.2'] }, T1),
        staticHost('a', 'x', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1'] }, T1),
      ],
    }), OPTS);
    const b = r.resources.find((x) => x.namespace === 'b')!;
    expect(cond(b, 'Accepted')).to.include({ reason: 'Conflict' });
  });

  it("keeps a zone's own records over a StaticHost", () => {
    const r = compile(snap({
      zones: [corp({ delegation: { namespaces: ['a'] } }, T2)],
      staticHosts: [staticHost('a', 'www', { hostnames: ['www.corp.example.org'], addresses: ['10.0.0.1'] }, T0)],
    }), OPTS);
    expect(cond(res(r, 'StaticHost', 'www'), 'Accepted').message).to.contain('DNSZone corp');
    expect(rr(shard(r, 'zone/corp.example.org'), 'www.corp.example.org.', 'A')?.data).to.deep.equal(['192.0.2.10', '192.0.2.11']);
  });

  it('refuses a StaticHost at a name that holds a CNAME', () => {
    const r = compile(snap({
      zones: [corp({ delegation: { namespaces: ['a'] } })],
      staticHosts: [staticHost('a', 'alias', { hostnames: ['alias.corp.example.org'], addresses: ['10.0.0.1'] }, T1)],
    }), OPTS);
    expect(cond(res(r, 'StaticHost', 'alias'), 'Accepted')).to.include({ reason: 'Conflict' });
  });

  it('gives a domain to the oldest of two zones', () => {
    const r = compile(snap({ zones: [zone('second', { domain: 'corp.example.org' }, T2), corp({}, T1)] }), OPTS);
    expect(cond(res(r, 'DNSZone', 'second'), 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    expect(cond(res(r, 'DNSZone', 'second'), 'Accepted').message).to.contain('DNSZone corp');
    expect(rr(shard(r, 'zone/corp.example.org'), 'www.corp.example.org.', 'A')).to.not.equal(undefined);
  });

  it('refuses the younger zone and forwarder again when a recompile reuses the domains outcome (their Conflict verdicts replayed)', () => {
    const c = createCompiler(OPTS);
    const fwd = forwarder('fwd', { domains: ['corp.example.org'], upstreams: [{ address: '127.0.0.1' }] }, T2);
    const s = snap({ zones: [zone('second', { domain: 'corp.example.org' }, T2), corp({}, T1)], forwarders: [fwd] });
    c.compile(s);
    // A change elsewhere (a new Services list): the same DNSZone, DNSForwarder, StaticHost and Namespace objects.
    const again = { ...s, services: [...s.services, service('default', 'web', { clusterIP: '10.96.0.50' })] };
    const r = c.compile(again);
    expect(cond(res(r, 'DNSZone', 'second'), 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    expect(cond(res(r, 'DNSForwarder', 'fwd'), 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    expect(JSON.stringify(r)).to.equal(JSON.stringify(compile(again, OPTS)));
  });

  it('refuses a forwarder for a zone domain when the zone is older, and the zone when the forwarder is', () => {
    const f = (t: string) => forwarder('fwd', { domains: ['corp.example.org'], upstreams: [{ address: '127.0.0.1' }] }, t);
    const r1 = compile(snap({ zones: [corp({}, T0)], forwarders: [f(T1)] }), OPTS);
    expect(cond(res(r1, 'DNSForwarder', 'fwd'), 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    const r2 = compile(snap({ zones: [corp({}, T2)], forwarders: [f(T1)] }), OPTS);
    expect(cond(res(r2, 'DNSZone', 'corp'), 'Accepted')).to.include({ status: 'False', reason: 'Conflict' });
    expect(cond(res(r2, 'DNSZone', 'corp'), 'Accepted').message).to.contain('DNSForwarder fwd');
  });

  it('refuses a zone at or below the cluster domain', () => {
    const r = compile(snap({ zones: [zone('k', { domain: 'svc.cluster.local' })] }), OPTS);
    expect(cond(res(r, 'DNSZone', 'k'), 'Accepted')).to.include({ reason: 'Conflict' });
  });
});

describe('compile: published Services', () => {
  const z = corp({ services: { namespaceSelector: { matchLabels: { tier: 'prod' } }, selector: { matchLabels: { publish: 'yes' } } }, delegation: { namespaces: ['team-a'] } });
  const r = compile(snap({
    zones: [z],
    namespaces: [namespace('shop', { tier: 'prod' }), namespace('dev')],
    services: [
      service('shop', 'web', { clusterIP: '10.96.0.10' }, { labels: { publish: 'yes' } }),
      service('shop', 'hidden', { clusterIP: '10.96.0.11' }),
      service('dev', 'web', { clusterIP: '10.96.0.12' }, { labels: { publish: 'yes' } }),
      service('shop', 'lb', { type: 'LoadBalancer', clusterIP: '10.96.0.13' }, { labels: { publish: 'yes' } }),
      service('team-a', 'api', { clusterIP: '10.96.0.14' }, { annotations: { 'splitdns.io/hostname': 'api.corp.example.org' } }),
      service('dev', 'sneaky', { clusterIP: '10.96.0.15' }, { annotations: { 'splitdns.io/hostname': 'www2.corp.example.org' } }),
    ],
  }), OPTS);
  const zs = shard(r, 'zone/corp.example.org');

  it('publishes selected Services as <service>.<namespace>.<domain>', () => {
    expect(rr(zs, 'web.shop.corp.example.org.', 'A')?.data).to.deep.equal(['10.96.0.10']);
    expect(rr(zs, 'hidden.shop.corp.example.org.', 'A')).to.equal(undefined);
    expect(rr(zs, 'web.dev.corp.example.org.', 'A')).to.equal(undefined);
    expect(res(r, 'DNSZone', 'corp').status.services).to.equal(3); // web, lb, and api by annotation
  });

  it('publishes the splitdns.io/hostname annotation from a delegated namespace only', () => {
    expect(rr(zs, 'api.corp.example.org.', 'A')?.data).to.deep.equal(['10.96.0.14']);
    expect(rr(zs, 'www2.corp.example.org.', 'A')).to.equal(undefined);
  });

  it('publishes a LoadBalancer Service with its ingress address', () => {
    const lb = service('shop', 'lb', { type: 'LoadBalancer', clusterIP: '10.96.0.13' }, { labels: { publish: 'yes' } });
    const r2 = compile(snap({ zones: [z], namespaces: [namespace('shop', { tier: 'prod' })], services: [{ ...lb, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } }] }), OPTS);
    expect(rr(shard(r2, 'zone/corp.example.org'), 'lb.shop.corp.example.org.', 'A')?.data).to.deep.equal(['203.0.113.7']);
  });
});

describe('compile: DNSForwarder', () => {
  it('maps the spec, with defaults, to the forwarders shard', () => {
    const r = compile(snap({
      forwarders: [
        forwarder('b', { domains: ['.'], upstreams: [{ address: '192.0.2.53', protocol: 'tls', serverName: 'dns.example.net' }], timeout: '500ms' }),
        forwarder('a', { domains: ['Corp.Example.COM'], upstreams: [{ address: '127.0.0.1', port: 5354 }], cache: { minTTL: 5, maxTTL: 60 } }),
      ],
    }), OPTS);
    const f = shard(r, 'forwarders');
    if (f.kind !== 'forwarders') throw new Error('kind');
    expect(f.forwarders.map((x) => x.name)).to.deep.equal(['a', 'b']);
    expect(f.forwarders[0]).to.deep.include({ domains: ['corp.example.com.'], policy: 'random', timeoutMs: 2000, deadlineMs: 5000 });
    expect(f.forwarders[0].cache).to.include({ minTtl: 5, maxTtl: 60, enabled: true });
    expect(f.forwarders[1].upstreams).to.deep.equal([{ address: '192.0.2.53', port: 853, protocol: 'tls', serverName: 'dns.example.net' }]);
    expect(f.forwarders[1].timeoutMs).to.equal(500);
    expect(res(r, 'DNSForwarder', 'a').status.upstreams).to.equal(1);
    expectValid(r);
  });

  it('rejects a tls upstream without serverName, and cache.minTTL above maxTTL', () => {
    const r = compile(snap({ forwarders: [forwarder('x', { domains: ['.'], upstreams: [{ address: '192.0.2.1', protocol: 'tls' }], cache: { minTTL: 10, maxTTL: 5 } })] }), OPTS);
    const m = cond(res(r, 'DNSForwarder', 'x'), 'Accepted');
    expect(m).to.include({ status: 'False', reason: 'InvalidSpec' });
    expect(m.message).to.match(/serverName/).and.match(/minTTL/);
  });

  it('gives a domain to the oldest of two forwarders', () => {
    const r = compile(snap({ forwarders: [
      forwarder('new', { domains: ['.'], upstreams: [{ address: '192.0.2.1' }] }, T2),
      forwarder('old', { domains: ['.'], upstreams: [{ address: '192.0.2.2' }] }, T1),
    ] }), OPTS);
    expect(cond(res(r, 'DNSForwarder', 'new'), 'Accepted').message).to.contain('DNSForwarder old');
  });
});

describe('compile: status bookkeeping', () => {
  it("gives conditions no lastTransitionTime (the status writer's), whatever status the object carries", () => {
    const z = corp();
    const withStatus = { ...z, status: { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2025-05-05T00:00:00Z' }] } };
    for (const input of [z, withStatus]) {
      const x = res(compile(snap({ zones: [input] }), OPTS), 'DNSZone', 'corp');
      expect(x.status.conditions.map((c) => c.type)).to.deep.equal(['Accepted', 'Programmed', 'Ready']);
      for (const c of x.status.conditions) expect(c).to.not.have.property('lastTransitionTime');
    }
  });

  it('reports observedGeneration from metadata.generation', () => {
    const z = corp();
    (z.metadata as { generation: number }).generation = 7;
    const x = res(compile(snap({ zones: [z] }), OPTS), 'DNSZone', 'corp');
    expect(x.status.observedGeneration).to.equal(7);
    expect(x.status.conditions.every((c) => c.observedGeneration === 7)).to.equal(true);
  });
});

describe('compile: determinism and incremental recompile', () => {
  function cluster() {
    const services = [], slices = [];
    for (let n = 0; n < 4; n++) {
      for (let i = 0; i < 5; i++) {
        services.push(service(`ns${n}`, `svc${i}`, i % 2 ? { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] } : { clusterIP: `10.96.${n}.${i + 1}`, ports: [{ name: 'p', port: 80 }] }));
        slices.push(slice(`ns${n}`, `svc${i}-a`, `svc${i}`, { ports: [{ name: 'p', port: 8080 }], endpoints: [{ addresses: [`10.1.${n}.${i * 10 + 1}`] }, { addresses: [`10.1.${n}.${i * 10 + 2}`], hostname: `h${i}` }] }));
      }
    }
    return snap({
      zones: [corp({ services: {}, delegation: { namespaces: ['ns1'] } })],
      forwarders: [forwarder('f', { domains: ['example.com'], upstreams: [{ address: '127.0.0.1' }] })],
      staticHosts: [staticHost('ns1', 'h', { hostnames: ['h.corp.example.org'], addresses: ['10.9.9.9'], ptr: true }), staticHost('splitdns', 'g', { hostnames: ['g.example.net'], addresses: ['10.9.9.8'] })],
      services, endpointSlices: slices, namespaces: [namespace('ns1')],
    });
  }
  function shuffle<T>(a: T[], seed: number): T[] {
    const out = [...a];
    let x = seed;
    for (let i = out.length - 1; i > 0; i--) { x = (x * 1103515245 + 12345) % 2147483648; const j = x % (i + 1); [out[i], out[j]] = [out[j], out[i]]; }
    return out;
  }

  it('gives the same bytes and hashes for shuffled input', () => {
    const s = cluster();
    const a = JSON.stringify(compile(s, OPTS));
    for (const seed of [1, 2, 3]) {
      const t = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, shuffle(v as object[], seed)])) as unknown as typeof s;
      t.endpointSlices = t.endpointSlices.map((sl) => ({ ...(sl as Record<string, unknown>), endpoints: shuffle((sl as { endpoints: object[] }).endpoints, seed) }));
      expect(JSON.stringify(compile(t, OPTS))).to.equal(a);
    }
  });

  it('rebuilds only the changed namespace shard and leaves the others untouched', () => {
    const c = createCompiler(OPTS);
    const s = cluster();
    const first = c.compile(s);
    const changed = { ...s, services: [...s.services] };
    const i = changed.services.findIndex((x) => (x as { metadata: { namespace: string; name: string } }).metadata.namespace === 'ns2' && (x as { metadata: { name: string } }).metadata.name === 'svc0');
    const old = changed.services[i] as ReturnType<typeof service>;
    changed.services[i] = { ...old, metadata: { ...old.metadata, resourceVersion: 'changed' }, spec: { ...old.spec, clusterIP: '10.96.2.200' } };
    const second = c.compile(changed);
    const before = new Map(first.bundle.shards.map((x) => [x.id, x]));
    const moved = second.bundle.shards.filter((x) => before.get(x.id) !== x).map((x) => x.id);
    expect(moved).to.deep.equal(['services/ns2', 'zone/corp.example.org']);
    expect(second.bundle.shards.find((x) => x.id === 'services/ns1')).to.equal(before.get('services/ns1'));
    expect(JSON.stringify(second)).to.equal(JSON.stringify(compile(changed, OPTS)));
  });

  it('rebuilds a namespace shard when only an EndpointSlice changed', () => {
    const c = createCompiler(OPTS);
    const s = cluster();
    const first = c.compile(s);
    const changed = { ...s, endpointSlices: [...s.endpointSlices] };
    const old = changed.endpointSlices[1] as ReturnType<typeof slice>; // ns0/svc1: headless
    changed.endpointSlices[1] = { ...old, metadata: { ...old.metadata, resourceVersion: 'x' }, endpoints: [{ addresses: ['10.1.0.99'] }] };
    const second = c.compile(changed);
    const before = new Map(first.bundle.shards.map((x) => [x.id, x.hash]));
    expect(second.bundle.shards.filter((x) => before.get(x.id) !== x.hash).map((x) => x.id)).to.include('services/ns0');
    expect(second.bundle.shards.filter((x) => before.get(x.id) !== x.hash).map((x) => x.id)).to.not.include('services/ns1');
  });

  it('drops the shard of a namespace whose last Service is gone', () => {
    const c = createCompiler(OPTS);
    const s = cluster();
    c.compile(s);
    const r = c.compile({ ...s, services: s.services.filter((x) => (x as { metadata: { namespace: string } }).metadata.namespace !== 'ns3') });
    expect(r.bundle.shards.map((x) => x.id)).to.not.include('services/ns3');
  });

});

describe('compile: a long-lived compiler gives what a fresh one gives', () => {
  const fresh = (s: ReturnType<typeof snap>) => JSON.stringify(compile(s, OPTS));

  it('re-judges a StaticHost when its namespace gains the delegated label', () => {
    const c = createCompiler(OPTS);
    const z = corp({ delegation: { namespaceSelector: { matchLabels: { dns: 'corp' } } } });
    const h = staticHost('team', 'app', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1'] });
    const s1 = snap({ zones: [z], staticHosts: [h], namespaces: [namespace('team')] });
    expect(cond(res(c.compile(s1), 'StaticHost', 'app'), 'Accepted').reason).to.equal('NotPermitted');
    const s2 = snap({ zones: [z], staticHosts: [h], namespaces: [namespace('team', { dns: 'corp' })] });
    const r2 = c.compile(s2);
    expect(cond(res(r2, 'StaticHost', 'app'), 'Accepted').status).to.equal('True');
    expect(JSON.stringify(r2)).to.equal(fresh(s2));
  });

  it('gives the name to the next claimant when the winner is deleted', () => {
    const c = createCompiler(OPTS);
    const z = corp({ delegation: { namespaces: ['a', 'b'] } });
    const older = staticHost('a', 'older', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1'] }, T1);
    const newer = staticHost('b', 'newer', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.2'] }, T2);
    c.compile(snap({ zones: [z], staticHosts: [older, newer] }));
    const s2 = snap({ zones: [z], staticHosts: [newer] });
    const r2 = c.compile(s2);
    expect(rr(shard(r2, 'zone/corp.example.org'), 'app.corp.example.org.', 'A')?.data).to.deep.equal(['10.0.0.2']);
    expect(JSON.stringify(r2)).to.equal(fresh(s2));
  });

  it("updates a published Service's record in the zone when the Service changes", () => {
    const c = createCompiler(OPTS);
    const z = corp({ services: {} });
    const web = service('shop', 'web', { clusterIP: '10.96.0.10' });
    c.compile(snap({ zones: [z], services: [web] }));
    const web2 = { ...web, metadata: { ...web.metadata, resourceVersion: 'next' }, spec: { clusterIP: '10.96.0.20' } };
    const s2 = snap({ zones: [z], services: [web2] });
    const r2 = c.compile(s2);
    expect(rr(shard(r2, 'zone/corp.example.org'), 'web.shop.corp.example.org.', 'A')?.data).to.deep.equal(['10.96.0.20']);
    expect(JSON.stringify(r2)).to.equal(fresh(s2));
  });

  it('follows a headless Service whose endpoints change, in the cluster domain and the zone', () => {
    const c = createCompiler(OPTS);
    const z = corp({ services: {} });
    const db = service('shop', 'db', { clusterIP: 'None' });
    const sl = slice('shop', 'db-1', 'db', { endpoints: [{ addresses: ['10.1.0.1'] }] });
    c.compile(snap({ zones: [z], services: [db], endpointSlices: [sl] }));
    const sl2 = { ...sl, metadata: { ...sl.metadata, resourceVersion: 'next' }, endpoints: [{ addresses: ['10.1.0.2'] }] };
    const s2 = snap({ zones: [z], services: [db], endpointSlices: [sl2] });
    const r2 = c.compile(s2);
    expect(rr(shard(r2, 'services/shop'), 'db.shop.svc.cluster.local.', 'A')?.data).to.deep.equal(['10.1.0.2']);
    expect(rr(shard(r2, 'zone/corp.example.org'), 'db.shop.corp.example.org.', 'A')?.data).to.deep.equal(['10.1.0.2']);
    expect(JSON.stringify(r2)).to.equal(fresh(s2));
  });
});

describe('compile: a long-lived compiler and EndpointSlices coming and going', () => {
  it('drops a headless name when its last slice is deleted, and brings it back with a new one', () => {
    const c = createCompiler(OPTS);
    const db = service('shop', 'db', { clusterIP: 'None' });
    const a = slice('shop', 'db-a', 'db', { endpoints: [{ addresses: ['10.1.0.1'] }] });
    const b = slice('shop', 'db-b', 'db', { endpoints: [{ addresses: ['10.1.0.2'] }] });
    const steps = [[a, b], [b], [], [a]];
    for (const slices of steps) {
      const s = snap({ services: [db], endpointSlices: slices });
      const r = c.compile(s);
      const want = slices.map((x) => (x as unknown as { endpoints: { addresses: string[] }[] }).endpoints[0].addresses[0]).sort();
      expect(rr(shard(r, 'services/shop'), 'db.shop.svc.cluster.local.', 'A')?.data ?? []).to.deep.equal(want);
      expect(JSON.stringify(r)).to.equal(JSON.stringify(compile(s, OPTS)));
    }
  });
});
