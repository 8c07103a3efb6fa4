// Each phase of compile() on its own (operator/compile/compiler.ts lists them), table-driven,
// plus the cache's lifetimes: what a long-lived compiler keeps, and when it lets go.
import { expect } from 'chai';
import { compile, createCompiler, shardJson } from '../../../operator/compile/index.js';
import { computeShardHash } from '../../../dns-server/config/index.js';
import type { ServicesShard } from '../../../dns-server/config/index.js';
import type { CompilePhase } from '../../../operator/compile/index.js';
import { CompileCache } from '../../../operator/compile/cache.js';
import { judgeStaticHosts } from '../../../operator/compile/claims.js';
import { buildConfigShards } from '../../../operator/compile/config-shards.js';
import { decideDomains } from '../../../operator/compile/domains.js';
import { parseResources } from '../../../operator/compile/parse-crs.js';
import { buildServiceShards, indexServices } from '../../../operator/compile/service-shards.js';
import { Verdicts, buildStatuses } from '../../../operator/compile/status.js';
import { OPTS, T0, T1, T2, forwarder, namespace, phasesToClaims, service, slice, snap, staticHost, zone } from './fixtures.js';

const CLUSTER = 'cluster.local.';
type Snap = ReturnType<typeof snap>;

/** Runs the phases up to the shards, as compile() does, on one cache. */
function phasesUpTo(s: Snap, cache = new CompileCache()) {
  const r = phasesToClaims(s, cache);
  judgeStaticHosts(r.claims, r.parsed.staticHosts, r.verdicts);
  const shards = buildConfigShards(r.domains, r.claims, CLUSTER, cache, r.verdicts);
  return { ...r, shards };
}


describe('compile phase: parse', () => {
  const cases: [string, Snap, string[]][] = [
    ['a valid zone, forwarder and StaticHost', snap({
      zones: [zone('z', { domain: 'example.org' })],
      forwarders: [forwarder('f', { domains: ['example.net'], upstreams: [{ address: '192.0.2.53' }] })],
      staticHosts: [staticHost('splitdns', 'h', { hostnames: ['h.example.com'], addresses: ['192.0.2.1'] })],
    }), []],
    ['a zone without a domain', snap({ zones: [zone('z', {})] }), ['DNSZone z: spec.domain must be a domain name']],
    ['a forwarder without upstreams', snap({ forwarders: [forwarder('f', { domains: ['.'] })] }), ['DNSForwarder f: spec.upstreams must hold at least one upstream']],
    ['a StaticHost with a bad address', snap({ staticHosts: [staticHost('a', 'h', { hostnames: ['h.example.com'], addresses: ['1.2.3'] })] }), ['StaticHost a/h: spec.addresses[0] must be an IPv4 or IPv6 address']],
  ];
  for (const [what, s, refused] of cases) {
    it(`refuses as InvalidSpec only what is invalid: ${what}`, () => {
      const v = new Verdicts();
      const p = parseResources(s, new CompileCache(), v);
      const metas = [...p.zones.map((z) => z.p.meta), ...p.forwarders.map((f) => f.meta), ...p.staticHosts.map((h) => h.meta)];
      const got = metas.filter((m) => v.has(m)).map((m) => { const x = v.get(m)!; return `${m.kind} ${m.key}: ${x.message}`; });
      expect(got).to.deep.equal(refused);
      for (const m of metas.filter((x) => v.has(x))) expect(v.get(m)).to.include({ accepted: false, reason: 'InvalidSpec' });
    });
  }

  it('parses an object once per cache, and again for a new object', () => {
    const z = zone('z', { domain: 'example.org' });
    const cache = new CompileCache();
    const a = parseResources(snap({ zones: [z] }), cache, new Verdicts()).zones[0].p;
    expect(parseResources(snap({ zones: [z] }), cache, new Verdicts()).zones[0].p).to.equal(a);
    expect(parseResources(snap({ zones: [{ ...z }] }), cache, new Verdicts()).zones[0].p).to.not.equal(a);
  });
});

describe('compile phase: domains', () => {
  const cases: [string, Snap, string[], string[]][] = [
    ['the older of two zones with one domain wins', snap({ zones: [zone('new', { domain: 'example.org' }, T2), zone('old', { domain: 'example.org' }, T1)] }), ['example.org.'], []],
    ['a forwarder for a zone domain loses to the older zone', snap({ zones: [zone('z', { domain: 'example.org' }, T1)], forwarders: [forwarder('f', { domains: ['example.org'], upstreams: [{ address: '192.0.2.1' }] }, T2)] }), ['example.org.'], []],
    ['a zone in the cluster domain is refused', snap({ zones: [zone('z', { domain: 'svc.cluster.local' })] }), [], []],
    ['nested zones both stand', snap({ zones: [zone('a', { domain: 'example.org' }), zone('b', { domain: 'a.example.org' })] }), ['example.org.', 'a.example.org.'], []],
    ['two forwarders with different domains both stand', snap({ forwarders: [forwarder('f', { domains: ['.'], upstreams: [{ address: '192.0.2.1' }] }), forwarder('g', { domains: ['example.net'], upstreams: [{ address: '192.0.2.2' }] })] }), [], ['f', 'g']],
  ];
  for (const [what, s, zones, fwds] of cases) {
    it(what, () => {
      const v = new Verdicts();
      const parsed = parseResources(s, new CompileCache(), v);
      const d = decideDomains(parsed, s.namespaces, CLUSTER, 'splitdns', v);
      expect([...d.acceptedZones.keys()]).to.deep.equal(zones);
      expect(d.acceptedFwds.map((f) => f.meta.name)).to.deep.equal(fwds);
      const losers = [...parsed.zones.map((z) => z.p.meta), ...parsed.forwarders.map((f) => f.meta)].filter((m) => v.has(m));
      for (const m of losers) expect(v.get(m)).to.include({ accepted: false, reason: 'Conflict' });
      expect(losers.length).to.equal(parsed.zones.length + parsed.forwarders.length - zones.length - fwds.length);
    });
  }

  it('gives the Permissions the Namespaces\' labels', () => {
    const s = snap({ zones: [zone('z', { domain: 'example.org', delegation: { namespaceSelector: { matchLabels: { dns: 'yes' } } } })], namespaces: [namespace('a', { dns: 'yes' }), namespace('b')] });
    const v = new Verdicts();
    const d = decideDomains(parseResources(s, new CompileCache(), v), s.namespaces, CLUSTER, 'splitdns', v);
    const z = d.perm.zoneOf('x.example.org.')!.p;
    expect([d.perm.delegated(z, 'a'), d.perm.delegated(z, 'b'), d.perm.delegated(z, 'splitdns')]).to.deep.equal([true, false, true]);
  });
});

describe('compile phases: index and services (cluster-service shards)', () => {
  const web = service('shop', 'web', { clusterIP: '10.96.0.10' });
  const db = service('shop', 'db', { clusterIP: 'None' });
  const dbSlice = slice('shop', 'db-1', 'db', { endpoints: [{ addresses: ['10.1.0.1'] }] });
  const other = service('ops', 'mon', { clusterIP: '10.96.0.20' });

  it('groups Services by namespace in snapshot order and indexes slices by Service', () => {
    const cache = new CompileCache();
    const by = indexServices(snap({ services: [web, other, db], endpointSlices: [dbSlice] }), cache);
    expect([...by].map(([ns, l]) => [ns, l.map((e) => e.svc.meta.name)])).to.deep.equal([['shop', ['web', 'db']], ['ops', ['mon']]]);
    expect(cache.sliceEntriesOf('shop/db').map((e) => e.slice!.key)).to.deep.equal(['shop/db-1']);
  });

  it('sweeps Services and slices gone from the snapshot out of the cache', () => {
    const cache = new CompileCache();
    indexServices(snap({ services: [web, db], endpointSlices: [dbSlice] }), cache);
    indexServices(snap({ services: [web] }), cache);
    expect([cache.services.size, cache.slices.size, cache.sliceEntriesOf('shop/db').length]).to.deep.equal([1, 0, 0]);
  });

  const cases: [string, (s: Snap) => Snap, 'same' | 'rebuilt'][] = [
    ['the same objects in the same order', (s) => s, 'same'],
    ['the same objects in another order', (s) => ({ ...s, services: [...s.services].reverse() }), 'same'],
    ['an equal copy with the same uid@resourceVersion', (s) => ({ ...s, services: s.services.map((o) => ({ ...o })) }), 'same'],
    ['a new resourceVersion of a Service', (s) => ({ ...s, services: [{ ...web, metadata: { ...web.metadata, resourceVersion: 'next' } }, db] }), 'rebuilt'],
    ['a new slice object', (s) => ({ ...s, endpointSlices: [{ ...dbSlice, metadata: { ...dbSlice.metadata, resourceVersion: 'next' } }] }), 'rebuilt'],
  ];
  for (const [what, change, want] of cases) {
    it(`${want === 'same' ? 'reuses' : 'rebuilds'} a namespace shard after ${what}`, () => {
      const cache = new CompileCache();
      const s = snap({ services: [web, db], endpointSlices: [dbSlice] });
      const [first] = buildServiceShards(indexServices(s, cache), cache, CLUSTER);
      const [second] = buildServiceShards(indexServices(change(s), cache), cache, CLUSTER);
      expect(second === first ? 'same' : 'rebuilt').to.equal(want);
      const fresh = new CompileCache();
      expect(JSON.stringify(second)).to.equal(JSON.stringify(buildServiceShards(indexServices(change(s), fresh), fresh, CLUSTER)[0]));
    });
  }

  it("parses only a headless Service's slices (the others' endpoints make no records); touched namespaces are looked at once", () => {
    const cache = new CompileCache();
    const webSlice = slice('shop', 'web-1', 'web', { endpoints: [{ addresses: ['10.1.0.9'] }] });
    buildServiceShards(indexServices(snap({ services: [web, db], endpointSlices: [dbSlice, webSlice] }), cache), cache, CLUSTER);
    expect(cache.sliceEntriesOf('shop/web')[0].info).to.equal(undefined);
    expect(cache.sliceEntriesOf('shop/db')[0].info?.endpoints).to.have.length(1);
    expect([...cache.touchedNamespaces]).to.deep.equal([]);
    indexServices(snap({ services: [web, db, other], endpointSlices: [dbSlice, webSlice] }), cache);
    expect([...cache.touchedNamespaces]).to.deep.equal(['ops']);
  });

  it("drops a namespace's shard from the cache when its last Service goes", () => {
    const cache = new CompileCache();
    buildServiceShards(indexServices(snap({ services: [web, other] }), cache), cache, CLUSTER);
    buildServiceShards(indexServices(snap({ services: [web] }), cache), cache, CLUSTER);
    expect([...cache.serviceShards.keys()]).to.deep.equal(['shop']);
  });
});

describe('compile phase: contributors', () => {
  const z = zone('corp', { domain: 'corp.example.org', services: { namespaces: ['shop'] }, delegation: { namespaces: ['team'] } });
  const cases: [string, Partial<Snap>, string[]][] = [
    ['a delegated StaticHost', { staticHosts: [staticHost('team', 'h', { hostnames: ['h.corp.example.org'], addresses: ['10.0.0.1'] })] }, ['StaticHost team/h']],
    ['a refused StaticHost is not one', { staticHosts: [staticHost('team', 'h', { hostnames: ['h.corp.example.org'], addresses: ['bad'] })] }, []],
    ['a Service in a selected namespace', { services: [service('shop', 'web', { clusterIP: '10.96.0.1' })] }, ['Service shop/web']],
    ['a Service in another namespace is not one', { services: [service('other', 'web', { clusterIP: '10.96.0.1' })] }, []],
    ['an annotated Service in a delegated namespace', { services: [service('team', 'api', { clusterIP: '10.96.0.2' }, { annotations: { 'splitdns.io/hostname': 'api.corp.example.org' } })] }, ['Service team/api']],
    ['an annotated Service outside every zone is not one', { services: [service('team', 'api', { clusterIP: '10.96.0.2' }, { annotations: { 'splitdns.io/hostname': 'api.example.net' } })] }, []],
  ];
  for (const [what, parts, want] of cases) {
    it(`collects ${what}`, () => {
      const r = phasesUpTo(snap({ zones: [z], ...parts }));
      expect(r.contributors.list.map((c) => `${c.meta.kind} ${c.meta.key}`)).to.deep.equal(want);
    });
  }

  it("keeps a Service's contributor while its object, slice and zones stay the same", () => {
    const s = snap({ zones: [z], services: [service('shop', 'web', { clusterIP: '10.96.0.1' })] });
    const cache = new CompileCache();
    const a = phasesUpTo(s, cache).contributors.list[0];
    expect(phasesUpTo(s, cache).contributors.list[0]).to.equal(a);
    expect(phasesUpTo({ ...s, namespaces: [namespace('shop')] }, cache).contributors.list[0]).to.not.equal(a);
  });
});

describe('compile phase: claims', () => {
  const z = zone('corp', { domain: 'corp.example.org', delegation: { namespaces: ['a', 'b'] }, services: {}, records: [{ name: 'www', type: 'A', a: ['192.0.2.1'] }] });
  const cases: [string, Partial<Snap>, Record<string, string>][] = [
    ['the older StaticHost wins a name', {
      staticHosts: [staticHost('b', 'new', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.2'] }, T2), staticHost('a', 'old', { hostnames: ['app.corp.example.org'], addresses: ['10.0.0.1'] }, T1)],
    }, { 'a/old': 'accepted', 'b/new': 'Conflict: app.corp.example.org. A is already claimed by StaticHost a/old' }],
    ["the zone's own record beats a StaticHost", {
      staticHosts: [staticHost('a', 'h', { hostnames: ['www.corp.example.org'], addresses: ['10.0.0.1'] }, T0)],
    }, { 'a/h': 'Conflict: www.corp.example.org. A is already claimed by DNSZone corp' }],
    ['a StaticHost outside its delegation', {
      staticHosts: [staticHost('c', 'h', { hostnames: ['h.corp.example.org'], addresses: ['10.0.0.1'] })],
    }, { 'c/h': 'NotPermitted: h.corp.example.org. is in DNSZone corp, which does not delegate to namespace c' }],
  ];
  for (const [what, parts, want] of cases) {
    it(what, () => {
      const r = phasesUpTo(snap({ zones: [z], ...parts }));
      const metas = r.parsed.staticHosts.map((h) => h.meta);
      const got = Object.fromEntries(metas.map((m) => { const v = r.verdicts.get(m)!; return [m.key, v.accepted ? 'accepted' : `${v.reason}: ${v.message}`]; }));
      expect(got).to.deep.equal(want);
    });
  }

  it("notes a published Service whose name is taken in the zone's notes, without refusing anything", () => {
    const r = phasesUpTo(snap({ zones: [z], services: [service('shop', 'www', { clusterIP: '10.96.0.1' }, { annotations: { 'splitdns.io/hostname': 'www.corp.example.org' } })], namespaces: [namespace('shop')] }));
    // shop is not delegated; the zone's spec.services ({}: every Service) selects it.
    expect(r.claims.zoneNotes.get('corp.example.org.')).to.deep.equal({ services: 0, routes: 0, skipped: ['Service shop/www: www.corp.example.org. A is already claimed by DNSZone corp'] });
  });

  it('remembers the outcome while the contributors and zones are the same, and recomputes when one moves', () => {
    const h = staticHost('a', 'h', { hostnames: ['h.corp.example.org'], addresses: ['10.0.0.1'] });
    const cache = new CompileCache();
    const first = phasesUpTo(snap({ zones: [z], staticHosts: [h] }), cache).claims;
    expect(phasesUpTo(snap({ zones: [z], staticHosts: [h] }), cache).claims).to.equal(first);
    const moved = { ...h, metadata: { ...h.metadata, resourceVersion: 'next' } };
    expect(phasesUpTo(snap({ zones: [z], staticHosts: [moved] }), cache).claims).to.not.equal(first);
  });
});

describe('compile phase: shards (zone, hosts, forwarders)', () => {
  it('gives the cluster zone and the forwarders shard even for an empty snapshot, and no hosts shard', () => {
    expect(phasesUpTo(snap({})).shards.map((s) => s.id)).to.deep.equal(['zone/cluster.local', 'forwarders']);
  });

  it('adds a hosts shard for an operator-namespace StaticHost outside every zone', () => {
    const r = phasesUpTo(snap({ staticHosts: [staticHost('splitdns', 'h', { hostnames: ['h.example.net'], addresses: ['192.0.2.9'] })] }));
    expect(r.shards.map((s) => s.id)).to.deep.equal(['zone/cluster.local', 'hosts', 'forwarders']);
  });

  it("keeps a zone's shard while its zone and contributions stay, and lets go of it when the zone goes", () => {
    const z = zone('corp', { domain: 'corp.example.org' });
    const cache = new CompileCache();
    const a = phasesUpTo(snap({ zones: [z] }), cache).shards.find((s) => s.id === 'zone/corp.example.org');
    expect(phasesUpTo(snap({ zones: [z] }), cache).shards.find((s) => s.id === 'zone/corp.example.org')).to.equal(a);
    phasesUpTo(snap({}), cache);
    expect(cache.zoneShards.size).to.equal(0);
  });

  it('keeps the hosts shard while its StaticHosts stay, and rebuilds it when one changes', () => {
    const h = staticHost('splitdns', 'h', { hostnames: ['h.example.net'], addresses: ['192.0.2.9'] });
    const z = zone('corp', { domain: 'corp.example.org', delegation: { namespaces: ['splitdns'] } });
    const inZone = staticHost('splitdns', 'in', { hostnames: ['in.corp.example.org'], addresses: ['192.0.2.8'] });
    const c = createCompiler(OPTS);
    const hosts = (r: ReturnType<typeof compile>) => r.bundle.shards.find((x) => x.id === 'hosts')!;
    const first = c.compile(snap({ zones: [z], staticHosts: [h, inZone] }));
    expect(hosts(c.compile(snap({ zones: [z], staticHosts: [h, inZone] })))).to.equal(hosts(first));
    const moved = { ...inZone, metadata: { ...inZone.metadata, resourceVersion: 'next' }, spec: { ...inZone.spec, addresses: ['192.0.2.7'] } };
    const second = c.compile(snap({ zones: [z], staticHosts: [h, moved] }));
    expect(hosts(second)).to.equal(hosts(first));
    const h2 = { ...h, metadata: { ...h.metadata, resourceVersion: 'next' }, spec: { ...h.spec, addresses: ['192.0.2.10'] } };
    const s3 = snap({ zones: [z], staticHosts: [h2, moved] });
    const third = c.compile(s3);
    expect((hosts(third) as { rrsets: { data: string[] }[] }).rrsets[0].data).to.deep.equal(['192.0.2.10']);
    expect(JSON.stringify(third)).to.equal(JSON.stringify(compile(s3, OPTS)));
  });

  it('accepts zones and forwarders with their figures and shard ids', () => {
    const s = snap({ zones: [zone('corp', { domain: 'corp.example.org', records: [{ name: 'www', type: 'A', a: ['192.0.2.1'] }] })], forwarders: [forwarder('f', { domains: ['example.net'], upstreams: [{ address: '192.0.2.53' }] })] });
    const r = phasesUpTo(s);
    const statuses = buildStatuses([r.parsed.zones[0].p.meta, r.parsed.forwarders[0].meta], r.verdicts);
    expect(statuses.map((x) => [x.kind, x.shardIds, x.status.records ?? x.status.upstreams])).to.deep.equal([['DNSForwarder', ['forwarders'], 1], ['DNSZone', ['zone/corp.example.org'], 2]]);
  });
});

describe('compile phase: statuses', () => {
  const meta = (kind: 'DNSZone' | 'StaticHost', name: string, namespace?: string) => ({ kind, name, namespace, generation: 3, created: '', createdMs: 0, labels: {}, annotations: {}, key: namespace ? `${namespace}/${name}` : name });
  const cases: [string, (v: Verdicts, m: ReturnType<typeof meta>) => void, string[]][] = [
    ['accepted', (v, m) => v.accept(m, 'ok', ['zone/x'], { records: 1 }), ['Accepted=True/Accepted', 'Programmed=Unknown/Pending', 'Ready=Unknown/Pending']],
    ['refused', (v, m) => v.reject(m, 'Conflict', 'taken'), ['Accepted=False/Conflict', 'Programmed=False/NotAccepted', 'Ready=False/Conflict']],
    ['never decided', () => {}, ['Accepted=False/InvalidSpec', 'Programmed=False/NotAccepted', 'Ready=False/InvalidSpec']],
  ];
  for (const [what, decide, want] of cases) {
    it(`writes the conditions of a resource ${what}, without times`, () => {
      const v = new Verdicts();
      const m = meta('DNSZone', 'z');
      decide(v, m);
      const [r] = buildStatuses([m], v);
      expect(r.status.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)).to.deep.equal(want);
      expect(r.status.conditions.every((c) => c.observedGeneration === 3 && !('lastTransitionTime' in c))).to.equal(true);
      expect(r.shardIds).to.deep.equal(what === 'accepted' ? ['zone/x'] : []);
    });
  }

  it('sorts by kind, namespace, name', () => {
    const v = new Verdicts();
    const ms = [meta('StaticHost', 'b', 'x'), meta('StaticHost', 'a', 'y'), meta('DNSZone', 'c'), meta('StaticHost', 'c', 'x')];
    expect(buildStatuses(ms, v).map((r) => `${r.kind} ${r.namespace ?? ''}/${r.name}`)).to.deep.equal(['DNSZone /c', 'StaticHost x/b', 'StaticHost x/c', 'StaticHost y/a']);
  });
});

describe('compile: phase hook and serialised shards', () => {
  it('names each phase once, in order, as it ends', () => {
    const seen: CompilePhase[] = [];
    createCompiler({ ...OPTS, onPhase: (p) => seen.push(p) }).compile(snap({ zones: [zone('z', { domain: 'example.org' })] }));
    expect(seen).to.deep.equal(['parse', 'domains', 'index', 'services', 'contributors', 'claims', 'reverse', 'shards', 'statuses']);
  });

  it('gives, for every shard, the JSON that JSON.stringify gives', () => {
    const s = snap({
      zones: [zone('corp', { domain: 'corp.example.org', services: {}, records: [{ name: 'www', type: 'A', a: ['192.0.2.1'] }] })],
      forwarders: [forwarder('f', { domains: ['example.net'], upstreams: [{ address: '192.0.2.53' }] })],
      staticHosts: [staticHost('splitdns', 'h', { hostnames: ['h.example.net'], addresses: ['2001:db8::9'], ptr: true })],
      services: [service('shop', 'web', { clusterIP: '10.96.0.1', ports: [{ name: 'http', port: 80 }] })],
    });
    const r = compile(s, { ...OPTS, serviceCIDRs: [], podCIDRs: [] }); // no cluster reverse zones: the shards of these objects alone
    expect(r.bundle.shards.map((x) => x.kind).sort()).to.deep.equal(['forwarders', 'hosts', 'services', 'zone', 'zone']);
    for (const shard of r.bundle.shards) expect(shardJson(shard), shard.id).to.equal(JSON.stringify(shard));
    const copy = JSON.parse(JSON.stringify(r.bundle.shards[0]));
    expect(shardJson(copy)).to.equal(JSON.stringify(copy));
  });

  it('gives a Services shard that lost a refused PTR the JSON and hash of what it holds (its forward RRsets not serialised again)', () => {
    // One endpoint address in two namespaces: its PTR is refused in both, each shard is filtered.
    const headless = (ns: string) => [service(ns, 'db', { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] }),
      slice(ns, 'db-a', 'db', { ports: [{ name: 'p', port: 5432 }], endpoints: [{ addresses: ['10.244.0.5'] }, { addresses: [`10.244.1.${ns === 'a' ? 1 : 2}`] }] })];
    const [sa, ea] = headless('a'), [sb, eb] = headless('b');
    const compiler = createCompiler(OPTS);
    for (let round = 0; round < 2; round++) {
      const r = compiler.compile(snap({ services: [sa, sb], endpointSlices: [ea, eb], namespaces: [namespace('a'), namespace('b')] }));
      const shard = r.bundle.shards.find((x) => x.id === 'services/a')! as ServicesShard;
      expect(shard.reverse.map((x) => x.name), 'the shared address lost its PTR').to.deep.equal(['1.1.244.10.in-addr.arpa.']);
      expect(shardJson(shard)).to.equal(JSON.stringify(shard));
      expect(shard.hash).to.equal(computeShardHash(shard));
    }
  });
});
