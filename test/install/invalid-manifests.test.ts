// A table of invalid manifests: each is refused by the real apiserver (server-side apply, dry
// run) AND by `splitdns validate` (buildManifestSet with the CRD validators), both naming the
// same field path and saying the same thing (`means` matches both messages; where the two word
// it differently, e.g. "should be less than or equal to" and "<=", it gives each its words).
// SHOW_MESSAGES=1 prints both messages of each row.

import { expect } from 'chai';
import type { Envtest } from '../envtest/apiserver.js';
import { apply, createNamespace } from '../envtest/kube.js';
import type { Obj } from '../envtest/kube.js';
import { useEnvtest } from '../envtest/shared.js';
import { installCrds } from '../envtest/splitdns.js';
import { loadCrdValidators } from '../../operator/local/crd-schemas.js';
import { buildManifestSet } from '../../operator/local/manifests.js';
import { forwarderCrdWithUnguardedRule } from '../crds/fixtures.js';

const NS = 'invalid-table';
const fwd = (spec: Record<string, unknown>): Obj => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: 'bad' }, spec: { domains: ['corp.example.com'], upstreams: [{ address: '10.0.0.1' }], ...spec } });
const zoneWith = (record: Record<string, unknown>): Obj => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'bad' }, spec: { domain: 'bad.example', records: [{ name: 'www', ...record }] } });
const host = (spec: Record<string, unknown>): Obj => ({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'bad', namespace: NS }, spec: { hostnames: ['a.example'], addresses: ['10.0.0.1'], ...spec } });

/** `means`: one expression both messages match, or [the apiserver's words, validate's words] where they word it differently. */
interface Row { what: string; obj: Obj; path: string; means: RegExp | [RegExp, RegExp] }
const TABLE: Row[] = [
  { what: 'a forwarder without upstreams', obj: { ...fwd({}), spec: { domains: ['corp.example.com'] } }, path: 'spec.upstreams', means: /Required value/ },
  { what: 'cache.minTTL above cache.maxTTL (a CEL rule)', obj: fwd({ cache: { minTTL: 600, maxTTL: 60 } }), path: 'spec.cache', means: /cache\.minTTL must not be above cache\.maxTTL/ },
  { what: 'a tls upstream without serverName', obj: fwd({ upstreams: [{ address: '10.0.0.1', protocol: 'tls' }] }), path: 'spec.upstreams[0]', means: /a tls upstream needs serverName/ },
  { what: 'serverName on a udp upstream', obj: fwd({ upstreams: [{ address: '10.0.0.1', serverName: 'dns.example' }] }), path: 'spec.upstreams[0]', means: /serverName and caBundle are only for protocol tls/ },
  { what: 'an unknown policy', obj: fwd({ policy: 'fastest' }), path: 'spec.policy', means: /Unsupported value/ },
  { what: 'a port above 65535', obj: fwd({ upstreams: [{ address: '10.0.0.1', port: 70000 }] }), path: 'spec.upstreams[0].port', means: [/should be less than or equal to 65535/, /must be <= 65535/] },
  { what: 'a domain that is not a DNS name', obj: fwd({ domains: ['bad..name'] }), path: 'spec.domains[0]', means: [/should match '/, /must match pattern|must be a DNS name/] },
  { what: 'a timeout without a unit', obj: fwd({ timeout: '2' }), path: 'spec.timeout', means: [/should match '/, /must match pattern|must be a duration/] },
  { what: 'an upstream address that is not an IP', obj: fwd({ upstreams: [{ address: 'dns.example' }] }), path: 'spec.upstreams[0].address', means: [/must be of type ipv4/, /must match format "ipv4"|must be an IPv4/] },
  { what: 'an empty domains list', obj: fwd({ domains: [] }), path: 'spec.domains', means: [/should have at least 1 items/, /must NOT have fewer than 1 items/] },
  { what: 'an unknown field', obj: fwd({ retries: 3 }), path: 'spec.retries', means: [/field not declared in schema/, /unknown field/] },
  {
    what: 'a zone with more records than its limit (the list is counted, not printed)', path: 'spec.records', means: /Too many: 257: must have at most 256 items/,
    obj: { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'bad' }, spec: { domain: 'bad.example', records: Array.from({ length: 257 }, (_, i) => ({ name: `h${i}`, type: 'A', a: ['10.0.0.1'] })) } },
  },
  { what: 'an A record without its address (a CEL rule)', obj: zoneWith({ type: 'A', cname: 'x.example.' }), path: 'spec.records[0]', means: /a must be set when type is A, and only then/ },
  { what: 'a StaticHost address that is not an IP', obj: host({ addresses: ['not-an-ip'] }), path: 'spec.addresses[0]', means: [/must be of type ipv4/, /must match format "ipv4"|must be an IPv4/] },
  { what: 'a StaticHost with a negative ttl', obj: host({ ttl: -1 }), path: 'spec.ttl', means: [/should be greater than or equal to 0/, /must be >= 0/] },
  {
    what: 'a dual-stack Service with the default SingleStack policy', path: 'spec.ipFamilyPolicy', means: /must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified/,
    obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bad', namespace: NS }, spec: { clusterIP: '10.96.20.20', clusterIPs: ['10.96.20.20', 'fd00:10:96::14'], ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }] } },
  },
  {
    what: 'a CRD whose schema default fails its CEL rule (bug 1)', obj: forwarderCrdWithUnguardedRule() as Obj,
    path: 'spec.validation.openAPIV3Schema.properties[spec].properties[cache].default', means: /no such key: minTTL evaluating rule: cache\.minTTL must not be above cache\.maxTTL/,
  },
];

describe('real API: invalid manifests, refused by the apiserver and by splitdns validate alike', function () {
  let env: Envtest;
  const validators = loadCrdValidators();
  before(async function () {
    env = await useEnvtest(this);
    await installCrds(env);
    await createNamespace(env, NS);
  });

  for (const row of TABLE) {
    it(row.what, async function () {
      const apiErr = await apply(env, structuredClone(row.obj), { dryRun: true }).then(() => undefined, (e: Error) => e);
      expect(apiErr, 'the apiserver accepted it').to.be.instanceOf(Error);
      const apiMsg = apiErr!.message;
      expect(apiMsg, 'the apiserver names the field').to.include(row.path);
      const [apiMeans, validateMeans] = Array.isArray(row.means) ? row.means : [row.means, row.means];
      expect(apiMsg).to.match(apiMeans);

      const set = buildManifestSet(new Map([['/m/bad.yaml', [structuredClone(row.obj) as Record<string, unknown>]]]), validators, '/m');
      const mine = set.problems.map((p) => p.message);
      expect(mine, 'splitdns validate accepted it').to.not.deep.equal([]);
      const same = mine.filter((m) => m.includes(row.path) && validateMeans.test(m));
      if (process.env.SHOW_MESSAGES) console.log(`      api: ${apiMsg.replace(/^.*?: \d{3} /, '')}\n      validate: ${mine.join(' | ')}`);
      expect(same, `validate said ${JSON.stringify(mine)}; the apiserver said ${apiMsg}`).to.not.deep.equal([]);
    });
  }
});
