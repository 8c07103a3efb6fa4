// One object shape per kind (operator/compile/README.md "Shapes"): the objects a hot function of
// the compiler receives are made by one factory each, with every field, in one order, so that
// V8 gives them one hidden class and the optimised code is not thrown away ("wrong map") when a
// later phase or a later compile fills in a field. These tests pin the factories against the
// phases: no phase may add a field the factory does not make.
import { expect } from 'chai';
import { CompileCache, contributor, sliceEntry, sliceInfo, svcEntry } from '../../../operator/compile/cache.js';
import { ReverseClaims } from '../../../operator/compile/reverse-claims.js';
import { DEFAULT_POD_CIDRS, DEFAULT_SERVICE_CIDRS, clusterRanges } from '../../../operator/compile/reverse-zones.js';
import { shardIdOfZone } from '../../../operator/compile/zones.js';
import { OPTS, T1, namespace, phasesToClaims, service, slice, snap, staticHost, zone } from './fixtures.js';

const CLUSTER = 'cluster.local.';
const keys = (o: object) => Object.keys(o);

/** A cluster where every phase fills in what it remembers: published and unpublished Services, headless ones with slices, a slice of no Service, StaticHosts with PTRs (one refused). */
function cluster() {
  const corp = zone('corp', { domain: 'corp.example.org', services: { selector: { matchLabels: { publish: 'yes' } } }, delegation: { namespaces: ['ns1'] } });
  const services = [], slices = [];
  for (let n = 0; n < 2; n++) {
    for (let i = 0; i < 4; i++) {
      const labels = { labels: { publish: i % 2 ? 'yes' : 'no' } };
      services.push(service(`ns${n}`, `svc${i}`, i < 2 ? { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] } : { clusterIP: `10.96.${n}.${i + 1}`, ports: [{ name: 'p', port: 80 }] }, labels));
      slices.push(slice(`ns${n}`, `svc${i}-a`, `svc${i}`, { ports: [{ name: 'p', port: 8080 }], endpoints: [{ addresses: [`10.1.${n}.${i * 10 + 1}`] }, { addresses: [`10.1.${n}.${i * 10 + 2}`], hostname: `h${i}` }] }));
    }
  }
  slices.push(slice('ns0', 'fqdn-a', 'svc0', { addressType: 'FQDN', endpoints: [{ addresses: ['a.example.org'] }] })); // no Service's IPv4/IPv6 slice
  return snap({
    zones: [corp],
    staticHosts: [
      staticHost('ns1', 'h', { hostnames: ['h.corp.example.org'], addresses: ['10.9.9.9'], ptr: true }),
      // Outside every zone, not in the operator's namespace: its PTR is refused (a claim with `denied`).
      staticHost('ns0', 'far', { hostnames: ['far.example.net'], addresses: ['10.9.9.7'], ptr: true }, T1),
      staticHost('splitdns', 'g', { hostnames: ['g.example.net'], addresses: ['10.9.9.8'], ptr: true }),
    ],
    services, endpointSlices: slices, namespaces: [namespace('ns0'), namespace('ns1')],
  });
}

/** The phases up to the reverse phase on one cache, as compile() runs them. */
function run(s: ReturnType<typeof snap>, cache: CompileCache) {
  const { domains, serviceShards, contributors, claims } = phasesToClaims(s, cache);
  const zoneByShard = new Map([...domains.acceptedZones.values()].map((z) => [shardIdOfZone(z.p.domain), z.p]));
  const reverse = new ReverseClaims(clusterRanges(DEFAULT_SERVICE_CIDRS, DEFAULT_POD_CIDRS), OPTS.operatorNamespace).apply(serviceShards, claims.contributions, zoneByShard);
  return { contributors, reverse };
}

describe('compile: one object shape per kind (README "Shapes")', () => {
  it('every Service entry keeps the keys svcEntry() makes, in its order, after the services and contributors phases filled it in', () => {
    const cache = new CompileCache();
    run(cluster(), cache);
    const want = keys(svcEntry(undefined as never, '', '', '', 0));
    const entries = [...cache.services.values()];
    expect(entries.filter((e) => e.contributor !== undefined)).to.have.length(4); // published ones were filled in
    expect(entries.filter((e) => e.records !== undefined)).to.have.length(8);
    for (const e of entries) expect(keys(e), e.key).to.deep.equal(want);
  });

  it('every EndpointSlice entry keeps the keys sliceEntry() makes, parsed or not, of a Service or of none', () => {
    const cache = new CompileCache();
    run(cluster(), cache);
    const want = keys(sliceEntry(undefined, {}, '', '', 0));
    const entries = [...cache.slices.values()];
    for (const e of entries) if (e.slice !== undefined) sliceInfo(e);
    expect(entries.filter((e) => e.info !== undefined)).to.have.length(8);
    expect(entries.filter((e) => e.slice === undefined)).to.have.length(1);
    for (const e of entries) expect(keys(e), e.key).to.deep.equal(want);
  });

  it('StaticHost and Service contributors have the keys contributor() makes, in its order', () => {
    const { contributors } = run(cluster(), new CompileCache());
    const kinds = new Set(contributors.list.map((c) => c.meta.kind));
    expect([...kinds].sort()).to.deep.equal(['Service', 'StaticHost']);
    const want = keys(contributor(undefined as never, '', () => ({ placements: new Map() }), undefined));
    for (const c of contributors.list) expect(keys(c), `${c.meta.kind} ${c.meta.key}`).to.deep.equal(want);
  });

  it('a refused StaticHost PTR claim and a Service PTR claim have the same keys in the same order', () => {
    const s = cluster();
    // An endpoint of ns0/svc0 at the address splitdns/g claims: a conflict between namespaces refuses both.
    s.endpointSlices[0] = slice('ns0', 'svc0-a', 'svc0', { endpoints: [{ addresses: ['10.9.9.8'] }] });
    const { reverse } = run(s, new CompileCache());
    const claims = [...reverse.refusals.values()].flat().map((r) => r.claim);
    expect(new Set(claims.map((c) => c.source))).to.deep.equal(new Set(['endpoint', 'static']));
    expect(claims.some((c) => c.denied !== undefined)).to.equal(true); // ns0/far: outside every zone
    for (const c of claims) expect(keys(c), `${c.owner} ${c.name}`).to.deep.equal(['name', 'target', 'namespace', 'owner', 'source', 'denied']);
  });
});
