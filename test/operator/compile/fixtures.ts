// Raw Kubernetes objects for compile tests, shaped as the API server returns them.
import type { Snapshot } from '../../../operator/compile/index.js';
import { CompileCache } from '../../../operator/compile/cache.js';
import { resolveClaims } from '../../../operator/compile/claims.js';
import { collectContributors } from '../../../operator/compile/contributors.js';
import { decideDomains } from '../../../operator/compile/domains.js';
import { parseResources } from '../../../operator/compile/parse-crs.js';
import { buildServiceShards, indexServices } from '../../../operator/compile/service-shards.js';
import { Verdicts } from '../../../operator/compile/status.js';

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

/** The phases from parse to claims, as compile() runs them, on one cache (the cluster zone cluster.local). */
export function phasesToClaims(s: ReturnType<typeof snap>, cache = new CompileCache()) {
  const verdicts = new Verdicts();
  const parsed = parseResources(s, cache, verdicts);
  const domains = decideDomains(parsed, s.namespaces, 'cluster.local.', OPTS.operatorNamespace, verdicts);
  const svcByNs = indexServices(s, cache);
  const serviceShards = buildServiceShards(svcByNs, cache, 'cluster.local.');
  const contributors = collectContributors(parsed, domains, svcByNs, s.namespaces, cache, verdicts);
  const claims = resolveClaims(contributors, domains, parsed.staticHosts, cache);
  return { cache, verdicts, parsed, domains, svcByNs, serviceShards, contributors, claims };
}
