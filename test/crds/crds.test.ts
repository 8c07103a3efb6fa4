// The CRDs in crds/: structural, described, bounded where CEL looks, defaults equal to the
// compiler's, and good/bad manifests judged by the schema (ajv) and the CEL rules (cel-js).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { FORWARDER_DEFAULTS, STATIC_HOST_DEFAULTS, ZONE_DEFAULTS } from '../../operator/compile/index.js';
import { findCrdDir, loadCrdValidators } from '../../operator/local/crd-schemas.js';

type S = Record<string, unknown>;
const dir = findCrdDir();
const crds = ['dnszone', 'dnsforwarder', 'statichost'].map((f) => parse(readFileSync(`${dir}${f}.yaml`, 'utf8')) as S);
const version = (c: S) => ((c.spec as S).versions as S[])[0];
const rootSchema = (c: S) => (version(c).schema as S).openAPIV3Schema as S;

/** Visits every schema node with its path. */
function walk(s: S, path: string, visit: (s: S, path: string) => void): void {
  visit(s, path);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, S>)) walk(v, `${path}.${k}`, visit);
  if (s.items) walk(s.items as S, `${path}[]`, visit);
  if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties as S, `${path}{}`, visit);
}

describe('CRDs', () => {
  for (const crd of crds) {
    const kind = ((crd.spec as S).names as S).kind as string;
    describe(kind, () => {
      it('is structural: a type on every node, no additionalProperties beside properties', () => {
        walk(rootSchema(crd), kind, (s, p) => {
          expect(s.type, `${p} has no type`).to.be.a('string');
          expect(s.properties && s.additionalProperties, `${p} has properties and additionalProperties`).to.not.be.ok;
          for (const sub of (s.anyOf ?? []) as S[]) expect(Object.keys(sub), `${p} anyOf carries only value validations`).to.not.include.members(['type', 'description', 'default']);
        });
      });

      it('describes every field under spec and status', () => {
        walk(rootSchema(crd), kind, (s, p) => {
          if (p === kind || p === `${kind}.metadata`) return;
          expect(s.description, `${p} has no description`).to.be.a('string').and.not.equal('');
        });
      });

      it('bounds every array, map and free string under spec (the CEL cost budget)', () => {
        walk((rootSchema(crd).properties as S).spec as S, 'spec', (s, p) => {
          if (s.type === 'array') expect(s.maxItems, `${p} has no maxItems`).to.be.a('number');
          if (s.type === 'object' && s.additionalProperties) expect(s.maxProperties, `${p} has no maxProperties`).to.be.a('number');
          if (s.type === 'string' && !s.enum) expect(s.maxLength, `${p} has no maxLength`).to.be.a('number');
        });
      });

      it('uses only CEL available in Kubernetes 1.26 (no messageExpression, reason, fieldPath, isIP, ip(), cidr)', () => {
        walk(rootSchema(crd), kind, (s, p) => {
          for (const r of (s['x-kubernetes-validations'] ?? []) as S[]) {
            expect(Object.keys(r).sort(), p).to.deep.equal(['message', 'rule']);
            expect(r.rule as string, p).to.not.match(/\b(isIP|ip|cidr|isCIDR|url|quantity|format)\s*\(/);
          }
        });
      });

      it('has the status subresource, conditions as a list map keyed by type, printer columns, short names and the splitdns category', () => {
        const v = version(crd);
        expect(v.subresources).to.deep.equal({ status: {} });
        const conditions = (((rootSchema(crd).properties as S).status as S).properties as S).conditions as S;
        expect(conditions['x-kubernetes-list-type']).to.equal('map');
        expect(conditions['x-kubernetes-list-map-keys']).to.deep.equal(['type']);
        expect(Object.keys(((conditions.items as S).properties as S))).to.include.members(['type', 'status', 'reason', 'message', 'observedGeneration', 'lastTransitionTime']);
        const cols = (v.additionalPrinterColumns as S[]).map((c) => c.name);
        expect(cols).to.include.members(['Ready', 'Programmed', 'Age']);
        const names = (crd.spec as S).names as S;
        expect(names.categories).to.deep.equal(['splitdns']);
        expect(names.shortNames).to.be.an('array').that.is.not.empty;
      });
    });
  }

  it('defaults as the compiler does (manifests read from disk are not defaulted by an API server)', () => {
    const v = loadCrdValidators();
    const zone = { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'z' }, spec: { domain: 'example.org' } } as S;
    expect(v.get('DNSZone')!.validate(zone)).to.deep.equal([]);
    expect((zone.spec as S).ttl).to.equal(ZONE_DEFAULTS.ttl);
    expect((zone.spec as S).soa).to.deep.equal(ZONE_DEFAULTS.soa);
    const fwd = { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'f' }, spec: { domains: ['.'], upstreams: [{ address: '192.0.2.1' }] } } as S;
    expect(v.get('DNSForwarder')!.validate(fwd)).to.deep.equal([]);
    const spec = fwd.spec as S;
    expect({ policy: spec.policy, timeout: spec.timeout, deadline: spec.deadline, failFast: spec.failFast, maxConcurrent: spec.maxConcurrent, healthCheck: spec.healthCheck, cache: spec.cache })
      .to.deep.equal(JSON.parse(JSON.stringify(FORWARDER_DEFAULTS)));
    const sh = { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'h', namespace: 'n' }, spec: { hostnames: ['a.example.org'], addresses: ['192.0.2.1'] } } as S;
    expect(v.get('StaticHost')!.validate(sh)).to.deep.equal([]);
    expect({ ttl: (sh.spec as S).ttl, ptr: (sh.spec as S).ptr }).to.deep.equal(STATIC_HOST_DEFAULTS);
  });

  const v = loadCrdValidators();
  const zone = (spec: S) => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'z' }, spec: { domain: 'example.org', ...spec } });
  const fwd = (spec: S) => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'f' }, spec: { domains: ['example.net'], upstreams: [{ address: '192.0.2.1' }], ...spec } });
  const sh = (spec: S) => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'h', namespace: 'n' }, spec: { hostnames: ['a.example.org'], addresses: ['192.0.2.1'], ...spec } });
  const cases: [string, S, RegExp | null][] = [
    ['a zone with every record type', zone({ records: [
      { name: 'www', type: 'A', a: ['192.0.2.1'] }, { name: 'www', type: 'AAAA', aaaa: ['2001:db8::1'] }, { name: 'x', type: 'CNAME', cname: 'www.example.org' },
      { type: 'TXT', txt: ['hi'] }, { type: 'MX', mx: [{ preference: 1, exchange: 'mx.example.org' }] }, { name: '_a._tcp', type: 'SRV', srv: [{ port: 1, target: 'www.example.org' }] },
      { name: 'p', type: 'PTR', ptr: ['www.example.org'] }, { type: 'CAA', caa: [{ tag: 'issue', value: 'ca.example.net' }] }, { name: 'sub', type: 'NS', ns: ['ns.example.net'] }] }), null],
    ['a zone without domain', { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'z' }, spec: {} }, /spec.domain: Required value/],
    ['an A record with an IPv6 address', zone({ records: [{ name: 'x', type: 'A', a: ['2001:db8::1'] }] }), /spec.records\[0\].a\[0\]: Invalid value/],
    ['an A record carrying aaaa data (CEL)', zone({ records: [{ name: 'x', type: 'A', aaaa: ['2001:db8::1'] }] }), /spec.records\[0\]: Invalid value: "object": a must be set when type is A, and only then/],
    ['a CNAME at the apex (CEL)', zone({ records: [{ name: '@', type: 'CNAME', cname: 'www.example.net' }] }), /the zone apex \("@"\) cannot be a CNAME/],
    ['an unknown record type', zone({ records: [{ name: 'x', type: 'SPF', txt: ['x'] }] }), /spec.records\[0\].type: Unsupported value/],
    ['a TTL of 0 for the zone', zone({ ttl: 0 }), /spec.ttl/],
    ['a bad record name', zone({ records: [{ name: 'a b', type: 'A', a: ['192.0.2.1'] }] }), /spec.records\[0\].name/],
    ['a selector In without values (CEL)', zone({ services: { selector: { matchExpressions: [{ key: 'a', operator: 'In' }] } } }), /values are required for In and NotIn/],
    ['a forwarder', fwd({ upstreams: [{ address: '2001:db8::53', protocol: 'tls', serverName: 'dns.example.net' }] }), null],
    ['a udp upstream with serverName (CEL)', fwd({ upstreams: [{ address: '192.0.2.1', serverName: 'x.example.net' }] }), /serverName and caBundle are only for protocol tls/],
    ['a tls upstream without serverName (CEL)', fwd({ upstreams: [{ address: '192.0.2.1', protocol: 'tls' }] }), /a tls upstream needs serverName/],
    ['cache.minTTL above maxTTL (CEL)', fwd({ cache: { minTTL: 10, maxTTL: 5 } }), /cache.minTTL must not be above cache.maxTTL/],
    ['a bad upstream address', fwd({ upstreams: [{ address: 'dns.example.net' }] }), /spec.upstreams\[0\].address: Invalid value/],
    ['a bad timeout', fwd({ timeout: '2 seconds' }), /spec.timeout/],
    ['a bad policy', fwd({ policy: 'fastest' }), /spec.policy: Unsupported value/],
    ['a static host', sh({ ptr: true }), null],
    ['a static host with a bad address', sh({ addresses: ['10.0.0.300'] }), /spec.addresses\[0\]: Invalid value/],
    ['a static host without hostnames', sh({ hostnames: [] }), /spec.hostnames/],
    ['an unknown field', sh({ extra: 1 }), /unknown field "spec.extra"/],
  ];
  for (const [what, obj, want] of cases) {
    it(`${want ? 'rejects' : 'accepts'} ${what}`, () => {
      const errors = v.get(obj.kind as string)!.validate(obj as S);
      if (want === null) expect(errors).to.deep.equal([]);
      else expect(errors.join('\n')).to.match(want);
    });
  }
});
