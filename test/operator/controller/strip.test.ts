// The informers keep objects cut down to what compile reads (issue 16, operator/controller/
// strip.ts). Compiling the cut-down objects must give exactly what compiling the full ones
// gives: on samples/, and on a synthetic set carrying everything a real API server adds.

import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { compile } from '../../../operator/compile/index.js';
import type { Snapshot } from '../../../operator/compile/index.js';
import { loadCrdValidators } from '../../../operator/local/crd-schemas.js';
import { readManifests } from '../../../operator/local/manifests.js';
import { stripCustomResource, stripEndpointSlice, stripNamespace, stripService } from '../../../operator/controller/strip.js';

const samples = fileURLToPath(new URL('../../../samples/', import.meta.url));
const OPTS = { clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' };

function strip(s: Snapshot): Snapshot {
  return {
    zones: s.zones.map(stripCustomResource), forwarders: s.forwarders.map(stripCustomResource), staticHosts: s.staticHosts.map(stripCustomResource),
    services: s.services.map(stripService), endpointSlices: s.endpointSlices.map(stripEndpointSlice), namespaces: s.namespaces.map(stripNamespace),
  };
}

let rv = 1000;
/** What a real API server and kubectl add to an object's metadata. */
function served(o: any, i: number): any {
  const m = o.metadata ?? {};
  return {
    ...o,
    metadata: {
      uid: `uid-${i}`, resourceVersion: String(rv++), creationTimestamp: '2026-01-01T00:00:00Z', ...m,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(o), 'example.com/owner': 'team', ...(m.annotations ?? {}) },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
  };
}

/** A full synthetic set in the samples' namespaces: ClusterIP, headless, ExternalName, LoadBalancer, dual-stack, not-ready endpoints. */
function synthetic(base: Snapshot): Snapshot {
  const services: any[] = [...base.services], endpointSlices: any[] = [...base.endpointSlices];
  const nss = ['shop', 'payments', 'default'];
  for (let i = 0; i < 60; i++) {
    const ns = nss[i % nss.length];
    const name = `svc-${i}`;
    const kind = i % 4;
    const spec: any = { selector: { app: name }, sessionAffinity: 'None', ipFamilies: ['IPv4'], internalTrafficPolicy: 'Cluster',
      ports: [{ name: 'http', port: 80 + i, protocol: i % 5 === 0 ? 'UDP' : 'TCP', targetPort: 8080, appProtocol: 'http' }] };
    if (kind === 0) Object.assign(spec, { type: 'ClusterIP', clusterIP: `10.96.1.${i}`, clusterIPs: [`10.96.1.${i}`] });
    if (kind === 1) Object.assign(spec, { clusterIP: 'None', clusterIPs: ['None'], publishNotReadyAddresses: i % 3 === 0 });
    if (kind === 2) Object.assign(spec, { type: 'ExternalName', externalName: `ext${i}.example.org` });
    if (kind === 3) Object.assign(spec, { type: 'LoadBalancer', clusterIP: `10.96.2.${i}`, clusterIPs: [`10.96.2.${i}`], allocateLoadBalancerNodePorts: true });
    services.push({
      apiVersion: 'v1', kind: 'Service', spec,
      metadata: { name, namespace: ns, labels: { 'splitdns.io/publish': i % 2 ? 'true' : 'false', app: name }, ...(i % 7 === 0 ? { annotations: { 'splitdns.io/hostname': `host${i}.corp.example` } } : {}) },
      status: kind === 3 ? { loadBalancer: { ingress: [{ ip: `192.0.2.${i}`, ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] }, conditions: [] } : { loadBalancer: {} },
    });
    if (kind === 2) continue;
    endpointSlices.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: `${name}-x${i}`, namespace: ns, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' }, ownerReferences: [{ kind: 'Service', name }] },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
      endpoints: Array.from({ length: 5 }, (_, j) => ({
        addresses: [`10.244.${i}.${j + 1}`], nodeName: `node-${j}`, zone: 'z1', targetRef: { kind: 'Pod', name: `${name}-${j}`, namespace: ns, uid: `p${i}-${j}` },
        ...(j === 0 ? {} : { conditions: { ready: j !== 4, serving: true, terminating: j === 4 } }), ...(i % 2 ? { hostname: `${name}-${j}` } : {}),
      })),
    });
  }
  const all: Snapshot = { ...base, services, endpointSlices };
  let i = 0;
  const serve = (l: readonly object[]) => l.map((o) => served(o, i++));
  return { zones: serve(all.zones), forwarders: serve(all.forwarders), staticHosts: serve(all.staticHosts), services: serve(all.services), endpointSlices: serve(all.endpointSlices), namespaces: serve(all.namespaces) };
}

describe('operator controller: objects stripped at the informer boundary', () => {
  const base = readManifests([samples], loadCrdValidators()).snapshot;

  it('compile of stripped samples/ equals compile of the full objects', () => {
    expect(JSON.stringify(compile(strip(base), OPTS))).to.equal(JSON.stringify(compile(base, OPTS)));
  });

  it('compile of a stripped synthetic set (what a real API server serves) equals compile of the full set, at a fraction of the size', () => {
    const full = synthetic(base);
    const full1 = compile(full, OPTS), cut = compile(strip(full), OPTS);
    expect(full1.bundle.shards.length).to.be.greaterThan(2);
    expect(full1.resources.length).to.be.greaterThan(0);
    expect(JSON.stringify(cut)).to.equal(JSON.stringify(full1));
    const size = (s: Snapshot) => JSON.stringify([s.services, s.endpointSlices, s.namespaces]).length;
    expect(size(strip(full)) / size(full)).to.be.below(0.5);
  });

  it('keeps the hostname annotations compile reads (ours and, opt-in, ExternalDNS\'s) and drops the rest', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop', annotations: { 'splitdns.io/hostname': 'a.example.org', 'external-dns.alpha.kubernetes.io/hostname': 'b.example.org', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { clusterIP: '10.96.0.9', type: 'ClusterIP' } };
    expect(stripService(svc).metadata.annotations).to.deep.equal({ 'splitdns.io/hostname': 'a.example.org', 'external-dns.alpha.kubernetes.io/hostname': 'b.example.org' });
  });

  it('keeps what the status writer reads of a custom resource, less managedFields', () => {
    const o = served({ apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: 'h', namespace: 'n' }, spec: { hostname: 'a' }, status: { conditions: [{ type: 'Accepted' }] } }, 1);
    const s = stripCustomResource(o);
    expect(s.metadata.managedFields).to.equal(undefined);
    expect({ ...s, metadata: { ...s.metadata, managedFields: o.metadata.managedFields } }).to.deep.equal(o);
  });
});

// One object shape per kind (operator/compile/README.md "Shapes"): whichever fields the API
// object has, the stripped object of a kind has the same keys in the same order, at every level
// compile reads, so compile's functions see one hidden class per kind.
describe('operator controller: one shape per stripped kind', () => {
  /** Every path (".spec.ports[]") of the objects given → the key lists seen there (labels and annotations are maps: not looked into). */
  function shapes(objects: readonly unknown[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const walk = (o: unknown, at: string): void => {
      if (Array.isArray(o)) { for (const x of o) walk(x, `${at}[]`); return; }
      if (o === null || typeof o !== 'object') return;
      let seen = out.get(at);
      if (seen === undefined) out.set(at, (seen = new Set()));
      seen.add(Object.keys(o).join(' '));
      for (const [k, v] of Object.entries(o)) if (k !== 'labels' && k !== 'annotations') walk(v, `${at}.${k}`);
    };
    for (const o of objects) walk(o, '');
    return out;
  }
  /** The paths where objects of more than one shape were seen. */
  const mixed = (objects: readonly unknown[]) => [...shapes(objects)].filter(([, s]) => s.size > 1).map(([at, s]) => `${at || '.'}: ${[...s].join(' | ')}`);
  const full = synthetic(readManifests([samples], loadCrdValidators()).snapshot);

  it('stripped Services have one shape at every level: ClusterIP, headless, ExternalName, LoadBalancer, with and without annotations', () => {
    const cut = full.services.map(stripService);
    expect(shapes(cut).get('.status.loadBalancer.ingress[]')?.size).to.equal(1); // LoadBalancers are there
    expect(mixed(cut)).to.deep.equal([]);
  });

  it('stripped EndpointSlices and their endpoints have one shape: with and without conditions, hostnames, ports', () => {
    // The synthetic slices all have ports and endpoints: one without either (and without labels) too.
    const bare = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'bare', namespace: 'default' }, addressType: 'IPv4' };
    const cut = [...full.endpointSlices, bare].map(stripEndpointSlice);
    expect(cut.flatMap((s) => (s.endpoints ?? []) as object[]).length).to.be.greaterThan(100);
    expect(mixed(cut)).to.deep.equal([]);
  });

  it('stripped Namespaces have one shape, labelled or not, annotated or not', () => {
    expect(mixed([...full.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bare' } }].map(stripNamespace))).to.deep.equal([]);
  });
});
