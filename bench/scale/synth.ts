// A synthetic cluster for the scale bench: raw objects as an API server would list them.
import type { Snapshot } from '../../operator/compile/index.js';

export interface SynthOptions { namespaces: number; services: number; endpointsPerService: number; staticHosts: number; headlessEvery: number }

export const DEFAULT_SYNTH: SynthOptions = { namespaces: 100, services: 10000, endpointsPerService: 10, staticHosts: 1000, headlessEvery: 3 };

let rv = 0;
const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({
  name, ...(namespace ? { namespace } : {}), uid: `u-${namespace ?? ''}-${name}`, resourceVersion: String(++rv), generation: 1,
  creationTimestamp: '2024-01-01T00:00:00Z', ...extra,
});

export function svcObject(ns: number, i: number, clusterIp: string, headless: boolean) {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: meta(`svc-${i}`, `ns-${ns}`, { labels: i % 10 === 0 ? { publish: 'yes' } : {} }),
    spec: { clusterIP: headless ? 'None' : clusterIp, ...(headless ? {} : { clusterIPs: [clusterIp] }), ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }] },
  };
}

export function sliceObject(ns: number, i: number, n: number, base: number, salt = 0) {
  const endpoints = [];
  for (let e = 0; e < n; e++) {
    const x = base * n + e + salt;
    endpoints.push({ addresses: [`10.${64 + ((x >> 16) & 63)}.${(x >> 8) & 255}.${x & 255}`], conditions: { ready: e % 17 !== 0 }, ...(e % 2 === 0 ? { hostname: `pod-${e}` } : {}) });
  }
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: meta(`svc-${i}-abcde`, `ns-${ns}`, { labels: { 'kubernetes.io/service-name': `svc-${i}` } }),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }],
    endpoints,
  };
}

export function synthCluster(o: SynthOptions = DEFAULT_SYNTH): Snapshot {
  const s: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
  for (let ns = 0; ns < o.namespaces; ns++) s.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: meta(`ns-${ns}`, undefined, { labels: { tier: ns % 10 === 0 ? 'prod' : 'dev' } }) });
  for (let i = 0; i < o.services; i++) {
    const ns = i % o.namespaces;
    const ip = `10.96.${(i >> 8) & 255}.${i & 255}`;
    s.services.push(svcObject(ns, i, ip, i % o.headlessEvery === 0));
    s.endpointSlices.push(sliceObject(ns, i, o.endpointsPerService, i));
  }
  s.zones.push({
    apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: meta('corp'),
    spec: {
      domain: 'corp.example.org', records: [{ name: 'www', type: 'A', a: ['192.0.2.1'] }],
      services: { namespaceSelector: { matchLabels: { tier: 'prod' } }, selector: { matchLabels: { publish: 'yes' } } },
      delegation: { namespaceSelector: { matchLabels: { tier: 'dev' } } },
    },
  });
  s.forwarders.push({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: meta('default'), spec: { domains: ['.'], upstreams: [{ address: '127.0.0.1', port: 5354 }] } });
  for (let h = 0; h < o.staticHosts; h++) {
    const inZone = h % 2 === 0;
    s.staticHosts.push({
      apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost',
      metadata: meta(`host-${h}`, inZone ? `ns-${(h % o.namespaces) | 1}` : 'splitdns'),
      spec: { hostnames: [inZone ? `host-${h}.corp.example.org` : `host-${h}.internal.example`], addresses: [`172.16.${h >> 8}.${h & 255}`], ptr: true },
    });
  }
  return s;
}
