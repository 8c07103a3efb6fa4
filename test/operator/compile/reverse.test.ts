// Reverse names: PTR tenancy (reverse-claims.ts), the cluster's authoritative reverse zones
// (reverse-zones.ts), the apex rule and the Kubernetes DNS specification's endpoint PTRs.
import { expect } from 'chai';
import { compile } from '../../../operator/compile/index.js';
import type { CompileResult, ResourceResult } from '../../../operator/compile/index.js';
import { validateShard } from '../../../dns-server/config/index.js';
import { diffClaims, judgePtrClaims } from '../../../operator/compile/reverse-claims.js';
import type { PtrClaim } from '../../../operator/compile/reverse-claims.js';
import { addressOfReverseName, clusterRanges, parseCidr } from '../../../operator/compile/reverse-zones.js';
import { OPTS, T0, T1, namespace, service, slice, snap, staticHost, zone } from './fixtures.js';

/** Every PTR the bundle serves: reverse name → targets (all shards together, as the server's index). */
function ptrs(r: CompileResult): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of r.bundle.shards) {
    const sets = [...s.reverse, ...(s.kind === 'forwarders' ? [] : s.rrsets.filter((x) => x.type === 'PTR'))];
    for (const rs of sets) out.set(rs.name, [...(out.get(rs.name) ?? []), ...(rs.data as string[])].sort());
  }
  return out;
}
function res(r: CompileResult, kind: string, name: string): ResourceResult {
  const x = r.resources.find((y) => y.kind === kind && y.name === name);
  if (!x) throw new Error(`no ${kind} ${name}`);
  return x;
}
const cond = (x: ResourceResult, type: string) => x.status.conditions.find((c) => c.type === type);
function rrsOf(r: CompileResult, id: string) {
  const s = r.bundle.shards.find((x) => x.id === id);
  if (!s || s.kind === 'forwarders') throw new Error(`no shard ${id}`);
  return s.rrsets;
}

describe('reverse zones: CIDRs as reverse zones', () => {
  const cases: [string, string[] | RegExp][] = [
    ['10.96.0.0/12', Array.from({ length: 16 }, (_, i) => `${96 + i}.10.in-addr.arpa.`).sort()],
    ['10.244.0.0/16', ['244.10.in-addr.arpa.']],
    ['192.0.2.0/24', ['2.0.192.in-addr.arpa.']],
    ['10.0.50.5/32', ['5.50.0.10.in-addr.arpa.'.split('.').length ? '5.50.0.10.in-addr.arpa.' : '']],
    ['fd00:10:96::/112', ['0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa.'.split('.').slice(4).join('.')]],
    ['2001:db8::/63', ['0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.', '1.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.']],
    ['10.96.0.1/12', /bits set after the prefix/],
    ['10.96.0.0/33', /at most 32/],
    ['not-a-cidr', /not a CIDR/],
  ];
  for (const [text, want] of cases) {
    it(`${text} → ${want instanceof RegExp ? 'an error' : want.length + ' zone(s)'}`, () => {
      const c = parseCidr(text);
      if (want instanceof RegExp) expect(c).to.be.a('string').and.match(want);
      else expect(typeof c === 'string' ? c : c.zones).to.deep.equal(want);
    });
  }

  it('reads addresses back from reverse names (messages name the address)', () => {
    expect(addressOfReverseName('1.0.96.10.in-addr.arpa.')).to.equal('10.96.0.1');
    expect(addressOfReverseName('a.' + '0.'.repeat(29) + 'd.f.ip6.arpa.')).to.equal('fd00::a');
    expect(addressOfReverseName('96.10.in-addr.arpa.')).to.equal(undefined);
  });

  it('finds the range of a reverse name, not of a sibling outside it', () => {
    const r = clusterRanges(['10.96.0.0/12'], ['10.244.0.0/16']);
    expect(r.find('1.0.96.10.in-addr.arpa.')).to.deep.equal({ cidr: '10.96.0.0/12', role: 'Service' });
    expect(r.find('9.9.111.10.in-addr.arpa.')?.role).to.equal('Service');
    expect(r.find('9.9.112.10.in-addr.arpa.')).to.equal(undefined);
    expect(r.find('5.1.244.10.in-addr.arpa.')?.role).to.equal('Pod');
  });
});

describe('reverse claims: judgePtrClaims (table)', () => {
  const svcRange = (n: string) => (n.endsWith('.96.10.in-addr.arpa.') ? { cidr: '10.96.0.0/12', role: 'Service' as const } : undefined);
  const rules = { clusterRange: svcRange, zoneRecordOwner: (n: string) => (n === '9.9.9.10.in-addr.arpa.' ? 'DNSZone rev' : undefined) };
  const c = (name: string, ns: string, owner: string, source: PtrClaim['source'], denied?: string): PtrClaim =>
    ({ name, target: `${owner.split('/')[1]}.${ns}.example.`, namespace: ns, owner, source, ...(denied ? { denied } : {}) });
  const CIP = '1.0.96.10.in-addr.arpa.';
  const POD = '5.1.244.10.in-addr.arpa.';
  const cases: { name: string; claims: PtrClaim[]; refused: [string, string, RegExp][] }[] = [
    { name: 'a ClusterIP alone keeps its PTR', claims: [c(CIP, 'default', 'Service default/kubernetes', 'clusterIP')], refused: [] },
    {
      name: 'a ClusterIP is its Service\'s alone: endpoints and StaticHosts of any namespace lose',
      claims: [c(CIP, 'default', 'Service default/kubernetes', 'clusterIP'), c(CIP, 'tenant-a', 'Service tenant-a/hijack', 'endpoint'), c(CIP, 'default', 'StaticHost default/x', 'static')],
      refused: [['Service tenant-a/hijack', 'Conflict', /ClusterIP of Service default\/kubernetes/], ['StaticHost default/x', 'Conflict', /ClusterIP of Service default\/kubernetes/]],
    },
    {
      name: 'no PTR in the Service CIDR but a ClusterIP\'s',
      claims: [c('7.7.96.10.in-addr.arpa.', 'tenant-a', 'Service tenant-a/h', 'endpoint')],
      refused: [['Service tenant-a/h', 'NotPermitted', /Service CIDR 10\.96\.0\.0\/12/]],
    },
    {
      name: 'an address claimed from two namespaces has no PTR, each naming the other',
      claims: [c(POD, 'tenant-a', 'Service tenant-a/h', 'endpoint'), c(POD, 'tenant-b', 'Service tenant-b/db', 'endpoint')],
      refused: [['Service tenant-a/h', 'Conflict', /also claimed by Service tenant-b\/db/], ['Service tenant-b/db', 'Conflict', /also claimed by Service tenant-a\/h/]],
    },
    {
      name: 'claims of one namespace share the name',
      claims: [c(POD, 'tenant-a', 'Service tenant-a/h', 'endpoint'), c(POD, 'tenant-a', 'StaticHost tenant-a/s', 'static')],
      refused: [],
    },
    {
      name: 'a claim its grant does not cover is refused, and does not contest the owner',
      claims: [c(POD, 'tenant-a', 'StaticHost tenant-a/s', 'static', 'no CIDR grants it'), c(POD, 'tenant-b', 'Service tenant-b/db', 'endpoint')],
      refused: [['StaticHost tenant-a/s', 'NotPermitted', /no CIDR grants it/]],
    },
    {
      name: 'a DNSZone\'s own record wins outside the cluster ranges',
      claims: [c('9.9.9.10.in-addr.arpa.', 'splitdns', 'StaticHost splitdns/s', 'static')],
      refused: [['StaticHost splitdns/s', 'Conflict', /DNSZone rev has its own records/]],
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const got = judgePtrClaims(t.claims, rules);
      expect(got.map((x) => [x.claim.owner, x.reason])).to.deep.equal(t.refused.map(([o, reason]) => [o, reason]));
      got.forEach((x, i) => expect(x.message).to.match(t.refused[i][2]));
    });
  }
});

describe('compile: PTR tenancy, the tenant-a attack (issue 11)', () => {
  const r = compile(snap({
    namespaces: [namespace('default'), namespace('tenant-a'), namespace('tenant-b')],
    zones: [
      zone('a', { domain: 'a.example', delegation: { namespaces: ['tenant-a'] } }),
      zone('b', { domain: 'b.example', delegation: { namespaces: ['tenant-b'], reverseCIDRs: ['10.0.50.0/24'] } }),
    ],
    services: [
      service('default', 'kubernetes', { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] }),
      service('tenant-b', 'api', { clusterIP: '10.96.20.20' }),
      service('tenant-a', 'hijack', { clusterIP: 'None' }, {}, T1), // selector-less, hand-written slice
    ],
    endpointSlices: [slice('tenant-a', 'hijack-1', 'hijack', {
      endpoints: [{ addresses: ['10.96.0.1'], hostname: 'kubernetes' }, { addresses: ['10.96.20.20'], hostname: 'api' }],
    })],
    staticHosts: [
      staticHost('tenant-b', 'db', { hostnames: ['db.b.example'], addresses: ['10.0.50.5'], ptr: true }),
      staticHost('tenant-a', 'ptr1', { hostnames: ['ptr1.a.example'], addresses: ['10.96.20.20'], ptr: true }, T1),
      staticHost('tenant-a', 'ptr2', { hostnames: ['ptr2.a.example'], addresses: ['10.0.50.5'], ptr: true }, T1),
      staticHost('tenant-a', 'ptr3', { hostnames: ['ptr3.a.example'], addresses: ['10.96.0.1'], ptr: true }, T1),
    ],
  }), OPTS);
  const all = ptrs(r);

  it('gives the attacker no PTR at all', () => {
    const stolen = [...all].filter(([, targets]) => targets.some((t) => t.endsWith('a.example.') || t.endsWith('tenant-a.svc.cluster.local.')));
    expect(stolen).to.deep.equal([]);
  });

  it('keeps the owners\' PTRs', () => {
    expect(all.get('1.0.96.10.in-addr.arpa.')).to.deep.equal(['kubernetes.default.svc.cluster.local.']);
    expect(all.get('20.20.96.10.in-addr.arpa.')).to.deep.equal(['api.tenant-b.svc.cluster.local.']);
    expect(all.get('5.50.0.10.in-addr.arpa.')).to.deep.equal(['db.b.example.']);
  });

  it('leaves the attacker\'s forward names served', () => {
    expect(rrsOf(r, 'zone/a.example').find((x) => x.name === 'ptr3.a.example.' && x.type === 'A')?.data).to.deep.equal(['10.96.0.1']);
    expect(rrsOf(r, 'services/tenant-a').find((x) => x.name === 'kubernetes.hijack.tenant-a.svc.cluster.local.')?.data).to.deep.equal(['10.96.0.1']);
  });

  it('says so on each StaticHost: Accepted, and PartiallyRefused with the reason and the owner', () => {
    for (const [name, reason, owner] of [['ptr1', 'Conflict', 'Service tenant-b/api'], ['ptr3', 'Conflict', 'Service default/kubernetes'], ['ptr2', 'NotPermitted', 'DNSZone a'], ['ptr2', 'NotPermitted', 'the address is claimed by StaticHost tenant-b/db']]) {
      const h = res(r, 'StaticHost', name);
      expect(cond(h, 'Accepted')?.status, name).to.equal('True');
      expect(cond(h, 'PartiallyRefused'), name).to.include({ status: 'True', reason });
      expect(cond(h, 'PartiallyRefused')?.message, name).to.contain(owner);
    }
    expect(cond(res(r, 'StaticHost', 'db'), 'PartiallyRefused')).to.equal(undefined);
  });

  it('lists the hijacking Service\'s refused PTRs as notices', () => {
    expect(r.notices?.map((n) => [n.ref, n.reason])).to.deep.equal([['Service/tenant-a/hijack', 'Conflict'], ['Service/tenant-a/hijack', 'Conflict']]);
    expect(r.notices?.map((n) => n.message).join('\n')).to.contain('ClusterIP of Service default/kubernetes').and.contain('ClusterIP of Service tenant-b/api');
  });

  it('produces shards the DNS server accepts', () => { for (const s of r.bundle.shards) expect(validateShard(s).ok, s.id).to.equal(true); });
});

describe('compile: PTR tenancy across namespaces and grants', () => {
  it('a PTR for a pod address listed by two namespaces goes to neither', () => {
    const r = compile(snap({
      services: [service('a', 'x', { clusterIP: 'None' }), service('b', 'y', { clusterIP: 'None' })],
      endpointSlices: [slice('a', 'x-1', 'x', { endpoints: [{ addresses: ['10.244.1.5'] }] }), slice('b', 'y-1', 'y', { endpoints: [{ addresses: ['10.244.1.5'] }] })],
    }), OPTS);
    expect(ptrs(r).get('5.1.244.10.in-addr.arpa.')).to.equal(undefined);
    expect(r.notices?.map((n) => n.ref)).to.deep.equal(['Service/a/x', 'Service/b/y']);
  });

  it('the operator\'s namespace needs no grant; a delegated namespace needs reverseCIDRs', () => {
    const z = zone('c', { domain: 'c.example', delegation: { namespaces: ['t'], reverseCIDRs: ['192.0.2.0/25'] } });
    const r = compile(snap({
      zones: [z],
      staticHosts: [
        staticHost('splitdns', 'admin', { hostnames: ['admin.c.example', 'admin.elsewhere.example'], addresses: ['198.51.100.1'], ptr: true }),
        staticHost('t', 'in', { hostnames: ['in.c.example'], addresses: ['192.0.2.1'], ptr: true }),
        staticHost('t', 'out', { hostnames: ['out.c.example'], addresses: ['192.0.2.200'], ptr: true }),
      ],
    }), OPTS);
    const all = ptrs(r);
    expect(all.get('1.100.51.198.in-addr.arpa.')).to.deep.equal(['admin.c.example.', 'admin.elsewhere.example.']);
    expect(all.get('1.2.0.192.in-addr.arpa.')).to.deep.equal(['in.c.example.']);
    expect(all.get('200.2.0.192.in-addr.arpa.')).to.equal(undefined);
    expect(cond(res(r, 'StaticHost', 'out'), 'PartiallyRefused')).to.include({ reason: 'NotPermitted' });
    expect(cond(res(r, 'StaticHost', 'out'), 'PartiallyRefused')?.message).to.contain('spec.delegation.reverseCIDRs of DNSZone c');
    expect(rrsOf(r, 'zone/c.example').find((x) => x.name === 'out.c.example.')?.data).to.deep.equal(['192.0.2.200']);
  });

  it('a refusal that goes away gives the PTR back (long-lived compiler)', async () => {
    const { createCompiler } = await import('../../../operator/compile/index.js');
    const c = createCompiler(OPTS);
    const a = service('a', 'x', { clusterIP: 'None' });
    const sa = slice('a', 'x-1', 'x', { endpoints: [{ addresses: ['10.244.1.5'] }] });
    const b = staticHost('splitdns', 'h', { hostnames: ['h.example'], addresses: ['10.244.1.5'], ptr: true });
    expect(ptrs(c.compile(snap({ services: [a], endpointSlices: [sa], staticHosts: [b] }))).get('5.1.244.10.in-addr.arpa.')).to.equal(undefined);
    expect(ptrs(c.compile(snap({ services: [a], endpointSlices: [sa] }))).get('5.1.244.10.in-addr.arpa.')).to.deep.equal(['10-244-1-5.x.a.svc.cluster.local.']);
    expect(ptrs(c.compile(snap({ staticHosts: [b] }))).get('5.1.244.10.in-addr.arpa.')).to.deep.equal(['h.example.']);
  });
});

describe('compile: PTR tenancy is kept in step by a long-lived compiler', () => {
  it('a new claim in another namespace takes the PTR from an unchanged namespace, and gives it back when it goes', async () => {
    const { createCompiler } = await import('../../../operator/compile/index.js');
    const c = createCompiler(OPTS);
    const a = [service('a', 'x', { clusterIP: 'None' }), slice('a', 'x-1', 'x', { endpoints: [{ addresses: ['10.244.1.5'] }] })] as const;
    const b = [service('b', 'y', { clusterIP: 'None' }), slice('b', 'y-1', 'y', { endpoints: [{ addresses: ['10.244.1.5'] }] })] as const;
    const only = (l: (typeof a)[]) => snap({ services: l.map((x) => x[0]), endpointSlices: l.map((x) => x[1]) });
    const name = '5.1.244.10.in-addr.arpa.';
    expect(ptrs(c.compile(only([a]))).get(name)).to.deep.equal(['10-244-1-5.x.a.svc.cluster.local.']);
    const both = c.compile(only([a, b]));
    expect(ptrs(both).get(name)).to.equal(undefined);
    expect(both.notices?.map((n) => n.ref)).to.deep.equal(['Service/a/x', 'Service/b/y']);
    expect(ptrs(c.compile(only([b]))).get(name)).to.deep.equal(['10-244-1-5.y.b.svc.cluster.local.']);
    expect(ptrs(c.compile(only([a, b]))).get(name)).to.equal(undefined);
    expect(ptrs(c.compile(only([a]))).get(name)).to.deep.equal(['10-244-1-5.x.a.svc.cluster.local.']);
  });
});

describe('compile: the cluster\'s reverse zones', () => {
  it('emits an SOA-only zone shard per reverse zone of the Service and Pod CIDRs (configurable, IPv6 too)', () => {
    const r = compile(snap({}), { ...OPTS, serviceCIDRs: ['10.96.0.0/15', 'fd00:10:96::/112'], podCIDRs: ['10.244.0.0/16'] });
    const ids = r.bundle.shards.filter((s) => s.id.endsWith('.arpa')).map((s) => s.id);
    expect(ids).to.deep.equal(['zone/0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa', 'zone/244.10.in-addr.arpa', 'zone/96.10.in-addr.arpa', 'zone/97.10.in-addr.arpa']);
    const z = r.bundle.shards.find((s) => s.id === 'zone/96.10.in-addr.arpa')!;
    expect(z.kind === 'zone' && [z.rrsets, z.soa.mname, z.soa.minimum]).to.deep.equal([[], 'ns.dns.cluster.local.', 5]);
    expect(validateShard(z).ok).to.equal(true);
  });

  it('defaults to 10.96.0.0/12 and 10.244.0.0/16', () => {
    const ids = compile(snap({}), OPTS).bundle.shards.filter((s) => s.id.endsWith('.arpa')).map((s) => s.id);
    expect(ids).to.have.length(17);
    expect(ids).to.include('zone/111.10.in-addr.arpa').and.include('zone/244.10.in-addr.arpa').and.not.include('zone/112.10.in-addr.arpa');
  });

  it('refuses a DNSZone at or inside a cluster reverse zone (Conflict); the cluster PTRs stay', () => {
    const r = compile(snap({
      zones: [zone('rev', { domain: '96.10.in-addr.arpa', records: [{ name: '1.0', type: 'PTR', ptr: ['evil.example.'] }] }), zone('deep', { domain: '0.96.10.in-addr.arpa' })],
      services: [service('default', 'kubernetes', { clusterIP: '10.96.0.1' })],
    }), OPTS);
    for (const n of ['rev', 'deep']) {
      expect(cond(res(r, 'DNSZone', n), 'Accepted'), n).to.include({ status: 'False', reason: 'Conflict' });
      expect(cond(res(r, 'DNSZone', n), 'Accepted')?.message).to.contain('Service CIDR 10.96.0.0/12');
    }
    expect(ptrs(r).get('1.0.96.10.in-addr.arpa.')).to.deep.equal(['kubernetes.default.svc.cluster.local.']);
  });

  it('accepts a DNSZone above the cluster ranges and says NotPermitted for its records inside them', () => {
    const r = compile(snap({ zones: [zone('ten', { domain: '10.in-addr.arpa', records: [{ name: '1.0.96', type: 'PTR', ptr: ['evil.example.'] }, { name: '5.50.0', type: 'PTR', ptr: ['ok.example.'] }] })] }), OPTS);
    const z = res(r, 'DNSZone', 'ten');
    expect(cond(z, 'Accepted')?.status).to.equal('True');
    expect(cond(z, 'PartiallyRefused')).to.include({ status: 'True', reason: 'NotPermitted' });
    expect(cond(z, 'PartiallyRefused')?.message).to.contain('1.0.96.10.in-addr.arpa. PTR').and.not.contain('5.50.0');
  });
});

describe('compile: the apex of a delegated zone', () => {
  const z = zone('a', { domain: 'a.example', delegation: { namespaces: ['tenant-a'] } });
  it('refuses a delegated tenant\'s StaticHost at the apex (NotPermitted), serves one below it', () => {
    const r = compile(snap({ zones: [z], staticHosts: [staticHost('tenant-a', 'apex', { hostnames: ['A.example.'], addresses: ['192.0.2.1'] }), staticHost('tenant-a', 'www', { hostnames: ['www.a.example'], addresses: ['192.0.2.2'] })] }), OPTS);
    expect(cond(res(r, 'StaticHost', 'apex'), 'Accepted')).to.include({ status: 'False', reason: 'NotPermitted' });
    expect(cond(res(r, 'StaticHost', 'apex'), 'Accepted')?.message).to.contain('apex of DNSZone a');
    expect(rrsOf(r, 'zone/a.example').find((x) => x.name === 'a.example.' && x.type === 'A')).to.equal(undefined);
    expect(cond(res(r, 'StaticHost', 'www'), 'Accepted')?.status).to.equal('True');
  });
  it('does not publish a delegated namespace\'s Service at the apex by its hostname annotation', () => {
    const ann = (ns: string) => service(ns, 'web', { clusterIP: '10.96.5.5' }, { annotations: { 'splitdns.io/hostname': 'a.example' } });
    const tenant = compile(snap({ zones: [z], services: [ann('tenant-a')] }), OPTS);
    expect(rrsOf(tenant, 'zone/a.example').find((x) => x.name === 'a.example.' && x.type === 'A')).to.equal(undefined);
    const admin = compile(snap({ zones: [z], services: [ann('splitdns')] }), OPTS);
    expect(rrsOf(admin, 'zone/a.example').find((x) => x.name === 'a.example.' && x.type === 'A')?.data).to.deep.equal(['10.96.5.5']);
  });
  it('lets the operator\'s namespace claim the apex', () => {
    const r = compile(snap({ zones: [z], staticHosts: [staticHost('splitdns', 'apex', { hostnames: ['a.example'], addresses: ['192.0.2.1'] })] }), OPTS);
    expect(rrsOf(r, 'zone/a.example').find((x) => x.name === 'a.example.' && x.type === 'A')?.data).to.deep.equal(['192.0.2.1']);
  });
});

describe('compile: every conflict of a StaticHost is reported', () => {
  it('names each taken record, not just the first', () => {
    const z = zone('a', { domain: 'a.example', records: [{ name: 'x', type: 'A', a: ['192.0.2.1'] }, { name: 'y', type: 'A', a: ['192.0.2.2'] }] });
    const r = compile(snap({ zones: [z], staticHosts: [staticHost('splitdns', 'h', { hostnames: ['x.a.example', 'y.a.example', 'z.a.example'], addresses: ['192.0.2.9'] }, T0)] }), OPTS);
    const m = cond(res(r, 'StaticHost', 'h'), 'Accepted')!;
    expect(m).to.include({ status: 'False', reason: 'Conflict' });
    expect(m.message).to.contain('x.a.example. A is already claimed by DNSZone a').and.contain('y.a.example. A is already claimed by DNSZone a');
  });
});

describe('compile: Kubernetes DNS specification 2.4.3, endpoints without hostname', () => {
  const r = compile(snap({
    services: [service('prod', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] })],
    endpointSlices: [slice('prod', 'db-1', 'db', {
      ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.244.0.2'] }, { addresses: ['10.244.0.3'], conditions: { ready: false } }, { addresses: ['10.244.0.4'], hostname: 'db-0' }],
    })],
  }), OPTS);
  const base = 'db.prod.svc.cluster.local.';
  const rrs = rrsOf(r, 'services/prod');

  it('gives every ready address a PTR to the same name as its SRV target and A record', () => {
    const target = `10-244-0-2.${base}`;
    expect(ptrs(r).get('2.0.244.10.in-addr.arpa.')).to.deep.equal([target]);
    expect(rrs.find((x) => x.name === target && x.type === 'A')?.data).to.deep.equal(['10.244.0.2']);
    expect((rrs.find((x) => x.name === `_pg._tcp.${base}`)?.data as { target: string }[]).map((d) => d.target)).to.include(target);
    expect(ptrs(r).get('4.0.244.10.in-addr.arpa.')).to.deep.equal([`db-0.${base}`]);
  });

  it('gives a not-ready address no PTR (the authoritative reverse zone answers NXDOMAIN)', () => {
    expect(ptrs(r).get('3.0.244.10.in-addr.arpa.')).to.equal(undefined);
    expect(r.bundle.shards.some((s) => s.id === 'zone/244.10.in-addr.arpa')).to.equal(true);
  });
});

describe('reverse claims: diffClaims (the index patched when a namespace shard is replaced)', () => {
  const claim = (name: string, target: string): PtrClaim => ({ name, target, namespace: 'a', owner: `Service a/${target}`, source: 'clusterIP', denied: undefined });
  const run = (was: PtrClaim[], now: PtrClaim[]) => {
    const gone: PtrClaim[] = [], came: PtrClaim[] = [];
    diffClaims(was, now, (x) => gone.push(x), (x) => came.push(x));
    return { gone, came };
  };
  const [a, b, c, d] = [claim('1.in-addr.arpa.', 'x'), claim('2.in-addr.arpa.', 'x'), claim('2.in-addr.arpa.', 'y'), claim('3.in-addr.arpa.', 'x')];
  const b2 = claim('2.in-addr.arpa.', 'x'); // equal to b, another object

  it('in step over ordered lists: what left, what came, an equal claim of another object both', () => {
    const r = run([a, b, c], [b2, c, d]);
    expect(r.gone).to.deep.equal([a, b]).and.satisfy((l: PtrClaim[]) => l[1] === b);
    expect(r.came).to.have.length(2);
    expect(r.came[0]).to.equal(b2);
    expect(r.came[1]).to.equal(d);
    expect(run([a, b], [a, b])).to.deep.equal({ gone: [], came: [] });
    expect(run([], [a])).to.deep.equal({ gone: [], came: [a] });
    expect(run([a, d], [])).to.deep.equal({ gone: [a, d], came: [] });
  });

  it('lists not in order give the same answer (by sets)', () => {
    const r = run([c, a, b], [d, c, b2]);
    expect(r.gone).to.have.length(2);
    expect(r.gone.includes(a) && r.gone.includes(b), 'a and b (by identity) went').to.equal(true);
    expect(r.came).to.have.length(2);
    expect(r.came.includes(b2) && r.came.includes(d), 'b2 and d (by identity) came').to.equal(true);
  });
});
