// Raw Kubernetes objects for compile tests, shaped as the API server returns them.
import type { Snapshot } from '../../../operator/compile/index.js';

let rv = 0;
const meta = (name: string, namespace: string | undefined, created: string, extra: Record<string, unknown> = {}) => ({
  name, ...(namespace ? { namespace } : {}), uid: `uid-${namespace ?? ''}-${name}`, generation: 1,
  resourceVersion: String(++rv), creationTimestamp: created, ...extra,
});

export const T0 = '2024-01-01T00:00:00Z';
export const T1 = '2024-02-01T00:00:00Z';
export const T2 = '2024-03-01T00:00:00Z';
export const OPTS = { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' };

export function zone(name: string, spec: Record<string, unknown>, created = T0, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: meta(name, undefined, created, extra), spec };
}
export function forwarder(name: string, spec: Record<string, unknown>, created = T0) {
  return { apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: meta(name, undefined, created), spec };
}
export function staticHost(namespace: string, name: string, spec: Record<string, unknown>, created = T0) {
  return { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: meta(name, namespace, created), spec };
}
export function service(namespace: string, name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}, created = T0) {
  return { apiVersion: 'v1', kind: 'Service', metadata: meta(name, namespace, created, extra), spec };
}
export function slice(namespace: string, name: string, svc: string, body: Record<string, unknown>) {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: meta(name, namespace, T0, { labels: { 'kubernetes.io/service-name': svc } }), addressType: 'IPv4', ...body,
  };
}
export function namespace(name: string, labels: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: meta(name, undefined, T0, { labels }) };
}
export function snap(parts: Partial<Snapshot>): Snapshot {
  return { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [], ...parts };
}
