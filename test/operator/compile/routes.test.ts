// compile: publishing Ingresses and Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute) through
// a DNSZone's spec.ingresses / spec.routes, and the opt-in ExternalDNS hostname annotation.
import { expect } from 'chai';
import { compile, createCompiler } from '../../../operator/compile/index.js';
import type { CompileResult, ResourceResult } from '../../../operator/compile/index.js';
import { validateShard } from '../../../dns-server/config/index.js';
import type { RRSet } from '../../../dns-server/config/index.js';
import { OPTS, T0, T1, T2, namespace, service, snap, staticHost, zone } from './fixtures.js';

let rv = 0;
const meta = (namespace: string, name: string, created: string, extra: Record<string, unknown> = {}) => ({
  name, namespace, uid: `uid-${namespace}-${name}`, resourceVersion: `r${++rv}`, generation: 1, creationTimestamp: created, ...extra,
});
function ingress(ns: string, name: string, hosts: string[], lb: Record<string, string>[], o: { tls?: string[]; labels?: Record<string, string>; created?: string } = {}) {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: meta(ns, name, o.created ?? T1, o.labels ? { labels: o.labels } : {}),
    spec: { rules: hosts.map((host) => ({ host, http: { paths: [] } })), ...(o.tls ? { tls: [{ hosts: o.tls, secretName: 'x' }] } : {}) },
    status: { loadBalancer: { ingress: lb } },
  };
}
function gateway(ns: string, name: string, addresses: { type?: string; value: string }[]) {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: meta(ns, name, T0), spec: { gatewayClassName: 'x', listeners: [] }, status: { addresses } };
}
function route(kind: string, ns: string, name: string, hostnames: string[], parentRefs: Record<string, string>[], o: { labels?: Record<string, string>; created?: string } = {}) {
  const apiVersion = kind === 'TLSRoute' ? 'gateway.networking.k8s.io/v1alpha2' : 'gateway.networking.k8s.io/v1';
  return { apiVersion, kind, metadata: meta(ns, name, o.created ?? T1, o.labels ? { labels: o.labels } : {}), spec: { hostnames, parentRefs } };
}

const apps = (spec: Record<string, unknown> = {}, records: unknown[] = []) => zone('apps', { domain: 'apps.example.org', ttl: 60, records, ...spec });

function rrsets(r: CompileResult, shardId = 'zone/apps.example.org'): RRSet[] {
  const s = r.bundle.shards.find((x) => x.id === shardId);
  if (!s || s.kind === 'forwarders') throw new Error(`no zone shard ${shardId}`);
  expect(validateShard(s).ok).to.equal(true);
  return s.rrsets;
}
const data = (r: CompileResult, name: string, type: string) => rrsets(r).find((x) => x.name === name && x.type === type)?.data;
const zoneStatus = (r: CompileResult): ResourceResult => r.resources.find((x) => x.kind === 'DNSZone' && x.name === 'apps')!;
const accepted = (r: CompileResult) => zoneStatus(r).status.conditions.find((c) => c.type === 'Accepted')!;

describe('compile: published Ingresses', () => {
  it('publishes the rule and TLS hosts inside the zone with the status IPs; hosts outside every zone are ignored', () => {
    const r = compile(snap({
      zones: [apps({ ingresses: {} })],
      ingresses: [ingress('web', 'shop', ['shop.apps.example.org', 'shop.other.example.net'], [{ ip: '192.0.2.7' }, { ip: '2001:DB8::7' }], { tls: ['secure.apps.example.org', 'shop.apps.example.org'] })],
    }), OPTS);
    expect(data(r, 'shop.apps.example.org.', 'A')).to.deep.equal(['192.0.2.7']);
    expect(data(r, 'shop.apps.example.org.', 'AAAA')).to.deep.equal(['2001:db8::7']);
    expect(data(r, 'secure.apps.example.org.', 'A')).to.deep.equal(['192.0.2.7']);
    expect(r.bundle.shards.map((s) => JSON.stringify(s))).to.satisfy((l: string[]) => l.every((x) => !x.includes('other.example.net')));
    expect(zoneStatus(r).status.routes).to.equal(1);
  });

  it('publishes a load balancer hostname as a CNAME when the status has no IP', () => {
    const r = compile(snap({ zones: [apps({ ingresses: {} })], ingresses: [ingress('web', 'shop', ['shop.apps.example.org'], [{ hostname: 'LB-1.elb.example.com' }])] }), OPTS);
    expect(data(r, 'shop.apps.example.org.', 'CNAME')).to.deep.equal(['lb-1.elb.example.com.']);
    expect(data(r, 'shop.apps.example.org.', 'A')).to.equal(undefined);
  });

  it('publishes nothing without spec.ingresses, or for Ingresses its namespaces and selector do not admit', () => {
    const ings = [
      ingress('web', 'a', ['a.apps.example.org'], [{ ip: '192.0.2.1' }], { labels: { dns: 'public' } }),
      ingress('web', 'b', ['b.apps.example.org'], [{ ip: '192.0.2.2' }]),
      ingress('team', 'c', ['c.apps.example.org'], [{ ip: '192.0.2.3' }], { labels: { dns: 'public' } }),
      ingress('labelled', 'd', ['d.apps.example.org'], [{ ip: '192.0.2.4' }], { labels: { dns: 'public' } }),
    ];
    const none = compile(snap({ zones: [apps({ services: {} })], ingresses: ings }), OPTS);
    expect(rrsets(none).filter((x) => x.type === 'A')).to.deep.equal([]);
    const r = compile(snap({
      zones: [apps({ ingresses: { namespaces: ['web'], namespaceSelector: { matchLabels: { tier: 'x' } }, selector: { matchLabels: { dns: 'public' } } } })],
      namespaces: [namespace('labelled', { tier: 'x' }), namespace('team'), namespace('web')],
      ingresses: ings,
    }), OPTS);
    expect(rrsets(r).filter((x) => x.type === 'A').map((x) => x.name)).to.deep.equal(['a.apps.example.org.', 'd.apps.example.org.']);
  });

  it('maps a wildcard host to the zone wildcard; the apex itself is never published', () => {
    const r = compile(snap({ zones: [apps({ ingresses: {} })], ingresses: [ingress('web', 'w', ['*.dev.apps.example.org', 'apps.example.org'], [{ ip: '192.0.2.9' }])] }), OPTS);
    expect(data(r, '*.dev.apps.example.org.', 'A')).to.deep.equal(['192.0.2.9']);
    expect(data(r, 'apps.example.org.', 'A')).to.equal(undefined);
  });

  it('publishes nothing while the status has no address', () => {
    const r = compile(snap({ zones: [apps({ ingresses: {} })], ingresses: [ingress('web', 'shop', ['shop.apps.example.org'], [])] }), OPTS);
    expect(data(r, 'shop.apps.example.org.', 'A')).to.equal(undefined);
    expect(zoneStatus(r).status.routes).to.equal(0);
  });

  it('loses to zone records, to older claims, and names whom it lost to; the oldest of two Ingresses wins', () => {
    const r = compile(snap({
      zones: [apps({ ingresses: {}, services: {}, delegation: { namespaces: ['web'] } }, [{ name: 'www', type: 'CNAME', cname: 'elsewhere.example.net.' }])],
      staticHosts: [staticHost('web', 'db', { hostnames: ['db.apps.example.org'], addresses: ['192.0.2.50'] }, T0)],
      services: [service('web', 'api', { type: 'ClusterIP', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'] }, { annotations: { 'splitdns.io/hostname': 'api.apps.example.org' } }, T0)],
      ingresses: [
        ingress('web', 'www', ['www.apps.example.org'], [{ ip: '192.0.2.1' }]),
        ingress('web', 'db', ['db.apps.example.org'], [{ ip: '192.0.2.2' }]),
        ingress('web', 'api-new', ['api.apps.example.org'], [{ ip: '192.0.2.3' }], { created: T2 }),
        ingress('web', 'shop-new', ['shop.apps.example.org'], [{ ip: '192.0.2.4' }], { created: T2 }),
        ingress('web', 'shop-old', ['shop.apps.example.org'], [{ ip: '192.0.2.5' }], { created: T1 }),
      ],
    }), OPTS);
    expect(data(r, 'www.apps.example.org.', 'CNAME')).to.deep.equal(['elsewhere.example.net.']);
    expect(data(r, 'db.apps.example.org.', 'A')).to.deep.equal(['192.0.2.50']);
    expect(data(r, 'api.apps.example.org.', 'A')).to.deep.equal(['10.96.0.5']);
    expect(data(r, 'shop.apps.example.org.', 'A')).to.deep.equal(['192.0.2.5']);
    const msg = accepted(r).message;
    expect(msg).to.include('Ingress web/www: www.apps.example.org. A is already claimed by DNSZone apps');
    expect(msg).to.include('(and 1 more)'); // four refused; the message names three
    expect(zoneStatus(r).status.routes).to.equal(1);
    const rs = compile(snap({
      zones: [apps({ ingresses: {} })],
      ingresses: [ingress('web', 'shop-new', ['shop.apps.example.org'], [{ ip: '192.0.2.4' }], { created: T2 }), ingress('web', 'shop-old', ['shop.apps.example.org'], [{ ip: '192.0.2.5' }], { created: T1 })],
    }), OPTS);
    expect(accepted(rs).message).to.include('Ingress web/shop-new: shop.apps.example.org. A is already claimed by Ingress web/shop-old');
  });
});

describe('compile: published Gateway API routes', () => {
  const gws = [
    gateway('infra', 'public', [{ type: 'IPAddress', value: '198.51.100.1' }, { value: '198.51.100.2' }, { type: 'NamedAddress', value: 'x' }]),
    gateway('infra', 'cloud', [{ type: 'Hostname', value: 'gw.cloud.example.com' }]),
    gateway('web', 'local', [{ type: 'IPAddress', value: '198.51.100.9' }]),
  ];

  it('publishes HTTPRoute, GRPCRoute and TLSRoute hostnames with the addresses of their parent Gateways', () => {
    const r = compile(snap({
      zones: [apps({ routes: {} })],
      gateways: gws,
      httpRoutes: [route('HTTPRoute', 'web', 'h', ['h.apps.example.org', 'h.elsewhere.example.net'], [{ name: 'public', namespace: 'infra' }])],
      grpcRoutes: [route('GRPCRoute', 'web', 'g', ['g.apps.example.org'], [{ name: 'local' }])], // namespace defaults to the route's
      tlsRoutes: [route('TLSRoute', 'web', 't', ['t.apps.example.org'], [{ name: 'cloud', namespace: 'infra', sectionName: 'tls' }])],
    }), OPTS);
    expect(data(r, 'h.apps.example.org.', 'A')).to.deep.equal(['198.51.100.1', '198.51.100.2']);
    expect(data(r, 'g.apps.example.org.', 'A')).to.deep.equal(['198.51.100.9']);
    expect(data(r, 't.apps.example.org.', 'CNAME')).to.deep.equal(['gw.cloud.example.com.']);
    expect(zoneStatus(r).status.routes).to.equal(3);
  });

  it('ignores parentRefs that are not Gateways, Gateways that do not exist, and routes without spec.routes', () => {
    const routes = [
      route('HTTPRoute', 'web', 'svc-parent', ['a.apps.example.org'], [{ group: '', kind: 'Service', name: 'public', namespace: 'infra' }]),
      route('HTTPRoute', 'web', 'missing', ['b.apps.example.org'], [{ name: 'nope', namespace: 'infra' }]),
      route('HTTPRoute', 'web', 'two', ['c.apps.example.org'], [{ name: 'nope' }, { name: 'local' }, { name: 'public', namespace: 'infra' }]),
    ];
    const r = compile(snap({ zones: [apps({ routes: {} })], gateways: gws, httpRoutes: routes }), OPTS);
    expect(rrsets(r).filter((x) => x.type === 'A').map((x) => [x.name, x.data])).to.deep.equal([['c.apps.example.org.', ['198.51.100.1', '198.51.100.2', '198.51.100.9']]]);
    const off = compile(snap({ zones: [apps({ ingresses: {} })], gateways: gws, httpRoutes: routes }), OPTS);
    expect(rrsets(off).filter((x) => x.type === 'A')).to.deep.equal([]);
  });

  it('selects routes by label like Services; a route and an Ingress for one name: the older wins', () => {
    const r = compile(snap({
      zones: [apps({ routes: { selector: { matchLabels: { publish: 'yes' } } }, ingresses: {} })],
      gateways: gws,
      httpRoutes: [
        route('HTTPRoute', 'web', 'unlabelled', ['u.apps.example.org'], [{ name: 'local' }]),
        route('HTTPRoute', 'web', 'shop', ['shop.apps.example.org'], [{ name: 'local' }], { labels: { publish: 'yes' }, created: T0 }),
      ],
      ingresses: [ingress('web', 'shop', ['shop.apps.example.org'], [{ ip: '192.0.2.4' }], { created: T1 })],
    }), OPTS);
    expect(data(r, 'u.apps.example.org.', 'A')).to.equal(undefined);
    expect(data(r, 'shop.apps.example.org.', 'A')).to.deep.equal(['198.51.100.9']);
    expect(accepted(r).message).to.include('Ingress web/shop: shop.apps.example.org. A is already claimed by HTTPRoute web/shop');
  });

  it('follows a Gateway address change through a warm compiler', () => {
    const compiler = createCompiler(OPTS);
    const z = apps({ routes: {} });
    const h = route('HTTPRoute', 'web', 'h', ['h.apps.example.org'], [{ name: 'local' }]);
    const first = compiler.compile(snap({ zones: [z], gateways: [gateway('web', 'local', [{ value: '198.51.100.9' }])], httpRoutes: [h] }));
    expect(data(first, 'h.apps.example.org.', 'A')).to.deep.equal(['198.51.100.9']);
    const moved = compiler.compile(snap({ zones: [z], gateways: [gateway('web', 'local', [{ value: '198.51.100.10' }])], httpRoutes: [h] }));
    expect(data(moved, 'h.apps.example.org.', 'A')).to.deep.equal(['198.51.100.10']);
  });
});

describe('compile: ExternalDNS hostname annotation (opt-in)', () => {
  const svc = (annotations: Record<string, string>) => service('web', 'api', { type: 'LoadBalancer', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'] }, { annotations }, T0);
  const s = (annotations: Record<string, string>) => snap({ zones: [apps({ services: {} })], services: [{ ...svc(annotations), status: { loadBalancer: { ingress: [{ ip: '192.0.2.77' }] } } }] });
  const ext = { 'external-dns.alpha.kubernetes.io/hostname': 'api.apps.example.org, api2.apps.example.org,outside.example.net' };

  it('is ignored by default (the Service answers under its own name)', () => {
    const r = compile(s(ext), OPTS);
    expect(data(r, 'api.apps.example.org.', 'A')).to.equal(undefined);
    expect(data(r, 'api.web.apps.example.org.', 'A')).to.deep.equal(['192.0.2.77']);
  });

  it('with externalDnsHostnameAnnotation, names the Service as splitdns.io/hostname does (every listed name in a zone)', () => {
    const r = compile(s(ext), { ...OPTS, externalDnsHostnameAnnotation: true });
    expect(data(r, 'api.apps.example.org.', 'A')).to.deep.equal(['192.0.2.77']);
    expect(data(r, 'api2.apps.example.org.', 'A')).to.deep.equal(['192.0.2.77']);
    expect(data(r, 'api.web.apps.example.org.', 'A')).to.equal(undefined);
  });

  it('splitdns.io/hostname wins when both are set', () => {
    const r = compile(s({ ...ext, 'splitdns.io/hostname': 'mine.apps.example.org' }), { ...OPTS, externalDnsHostnameAnnotation: true });
    expect(data(r, 'mine.apps.example.org.', 'A')).to.deep.equal(['192.0.2.77']);
    expect(data(r, 'api.apps.example.org.', 'A')).to.equal(undefined);
  });
});
