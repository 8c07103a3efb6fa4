// config/overlays/cluster-dns rendered with `kubectl kustomize`: splitdns as the cluster's
// resolver. The kube-dns Service keeps the kubelet's clusterDNS address and reaches both
// CoreDNS's pods and ours by port name (a gapless switch-over), the DNS pods are
// system-cluster-critical and resolve through the node, and nothing points at a namespace or
// port that is not there.

import { expect } from 'chai';
import { join } from 'node:path';
import { renderKustomization } from './render.js';
import type { K8sObject } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;
type Rec = Record<string, unknown>;
interface Port { name?: string; containerPort: number; protocol?: string }
interface Container { name: string; args?: string[]; ports?: Port[]; readinessProbe?: { httpGet?: { port: string | number } }; livenessProbe?: { httpGet?: { port: string | number } } }
interface Workload extends K8sObject { spec: { replicas?: number; template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; priorityClassName?: string; dnsPolicy?: string; tolerations?: Rec[] } } } }
interface Service extends K8sObject { spec: { clusterIP?: string; selector?: Record<string, string>; ports: { name: string; port: number; targetPort: string | number; protocol?: string }[] } }

export const id = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe('install: config/overlays/cluster-dns', () => {
  let objs: K8sObject[];
  let base: K8sObject[];
  const one = <T extends K8sObject>(kind: string, name: string) => {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`the overlay renders no ${kind}/${name}`);
    return o as T;
  };
  before(function () {
    this.timeout(60000);
    objs = renderKustomization(join(ROOT, 'config/overlays/cluster-dns'));
    base = renderKustomization(join(ROOT, 'config/base'));
  });

  it('runs everything in kube-system and never creates, labels or deletes that namespace', () => {
    expect(objs.filter((o) => o.kind === 'Namespace')).to.deep.equal([]);
    for (const o of objs) {
      if (['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) continue;
      expect(o.metadata.namespace, id(o)).to.equal('kube-system');
    }
  });

  it('binds roles only to service accounts it renders, in their namespace', () => {
    const sas = new Set(objs.filter((o) => o.kind === 'ServiceAccount').map((o) => `${o.metadata.namespace}/${o.metadata.name}`));
    for (const b of objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')) {
      for (const s of (b as unknown as { subjects: { kind: string; name: string; namespace?: string }[] }).subjects) {
        if (s.kind === 'ServiceAccount') expect(sas, `${id(b)} → ${s.namespace}/${s.name}`).to.include(`${s.namespace ?? b.metadata.namespace}/${s.name}`);
      }
    }
  });

  it('keeps the kubelet\'s clusterDNS address on a kube-dns Service with the kube-dns labels and ports', () => {
    const svc = one<Service>('Service', 'kube-dns');
    expect(svc.spec.clusterIP).to.equal('10.96.0.10');
    expect(svc.metadata.labels).to.include({ 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true' });
    expect(svc.spec.selector).to.deep.equal({ 'k8s-app': 'kube-dns' });
    expect(svc.spec.ports.map((p) => `${p.name}:${p.port}/${p.protocol}→${p.targetPort}`)).to.deep.equal(['dns:53/UDP→dns', 'dns-tcp:53/TCP→dns-tcp', 'metrics:9153/TCP→metrics']);
    expect(objs.some((o) => o.kind === 'Service' && o.metadata.name === 'splitdns-dns'), 'the base DNS Service is replaced').to.equal(false);
  });

  it('runs the DNS server system-cluster-critical, resolving through the node, on 3 replicas, with CoreDNS metric names', () => {
    const d = one<Workload>('Deployment', 'splitdns-dns');
    const pod = d.spec.template.spec;
    expect(pod.priorityClassName).to.equal('system-cluster-critical');
    expect(pod.dnsPolicy, 'ClusterFirst would make the default upstream ourselves').to.equal('Default');
    expect(d.spec.replicas).to.be.at.least(3);
    expect(pod.tolerations).to.deep.include({ key: 'CriticalAddonsOnly', operator: 'Exists' });
    expect(pod.containers[0].args).to.include('--metrics-compat=coredns');
    expect(pod.containers[0].args!.some((a) => a.startsWith('--no-default-upstream')), 'the default upstream stays on').to.equal(false);
  });

  it('resolves every Service port name and probe port in the pods the Service selects', () => {
    const workloads = objs.filter((o) => o.kind === 'Deployment') as Workload[];
    for (const s of objs.filter((o) => o.kind === 'Service') as Service[]) {
      const sel = s.spec.selector ?? {};
      const pods = workloads.filter((w) => w.metadata.namespace === s.metadata.namespace && Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
      expect(pods, `${id(s)} selects no pod`).to.not.be.empty;
      for (const p of s.spec.ports) {
        if (typeof p.targetPort !== 'string') continue;
        for (const w of pods) {
          const ports = w.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
          expect(ports.some((cp) => cp.name === p.targetPort && (cp.protocol ?? 'TCP') === (p.protocol ?? 'TCP')), `${id(s)} port ${p.name} → ${p.targetPort} in ${id(w)}`).to.equal(true);
        }
      }
    }
    for (const w of workloads) for (const c of w.spec.template.spec.containers) {
      const names = new Set((c.ports ?? []).map((p) => p.name));
      for (const probe of [c.readinessProbe, c.livenessProbe]) if (typeof probe?.httpGet?.port === 'string') expect(names, `${id(w)} probe`).to.include(probe.httpGet.port);
    }
  });

  it('otherwise installs what config/base installs', () => {
    const strip = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const want = base.filter((o) => !(o.kind === 'Namespace') && !(o.kind === 'Service' && o.metadata.name === 'splitdns-dns')).map(strip).concat('Service/kube-dns').sort();
    expect(objs.map(strip).sort()).to.deep.equal(want);
  });
});
