// charts/splitdns rendered (test/install/helm-template.ts: the Go-template subset the chart
// uses; `helm` is not installable here) and compared object by object with kustomize's
// renderings: default values = config/base, clusterDns.enabled in kube-system =
// config/overlays/cluster-dns. So the two install paths cannot drift apart.

import { expect } from 'chai';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { mergeValues, renderTemplate } from './helm-template.js';
import { renderKustomization } from './render.js';
import type { K8sObject } from './render.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CHART = join(ROOT, 'charts/splitdns');

function renderChart(namespace: string, overrides: unknown = {}): K8sObject[] {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { name: string; version: string; appVersion: string };
  const values = mergeValues(parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')), overrides);
  const scope = { Values: values, Release: { Name: 'splitdns', Namespace: namespace, Service: 'Helm' }, Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion } };
  const docs: K8sObject[] = [];
  const load = (text: string, where: string) => {
    for (const d of parseAllDocuments(text)) {
      if (d.errors.length) throw new Error(`${where}: ${d.errors[0]!.message}`);
      const o = d.toJS() as K8sObject | null;
      if (o !== null) docs.push(o);
    }
  };
  for (const f of readdirSync(join(CHART, 'crds')).sort()) load(readFileSync(join(CHART, 'crds', f), 'utf8'), `crds/${f}`);
  for (const f of readdirSync(join(CHART, 'templates')).filter((x) => x.endsWith('.yaml')).sort()) load(renderTemplate(readFileSync(join(CHART, 'templates', f), 'utf8'), scope), `templates/${f}`);
  return docs;
}

const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
function expectSameObjects(actual: K8sObject[], expected: K8sObject[]): void {
  expect(actual.map(key).sort()).to.deep.equal(expected.map(key).sort());
  const byKey = new Map(expected.map((o) => [key(o), o]));
  for (const o of actual) expect(o, key(o)).to.deep.equal(byKey.get(key(o)));
}

describe('install: Helm chart charts/splitdns', () => {
  let base: K8sObject[];
  let overlay: K8sObject[];
  before(function () {
    this.timeout(60000);
    base = renderKustomization(join(ROOT, 'config/base'));
    overlay = renderKustomization(join(ROOT, 'config/overlays/cluster-dns'));
  });

  it('renders, with the default values, exactly the objects of config/base', () => {
    expectSameObjects(renderChart('splitdns'), base);
  });

  it('renders, with clusterDns.enabled into kube-system, exactly the objects of config/overlays/cluster-dns', () => {
    expectSameObjects(renderChart('kube-system', { clusterDns: { enabled: true } }), overlay);
  });

  it('renders, with publish.ingress and publish.gatewayAPI, exactly config/base with the publish-routes component', () => {
    // A throw-away overlay (kustomize takes components by relative path only).
    const dir = mkdtempSync(join(tmpdir(), 'splitdns-publish-routes-'));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), [
        'apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization',
        `resources: [${relative(dir, join(ROOT, 'config/base'))}]`, `components: [${relative(dir, join(ROOT, 'config/components/publish-routes'))}]`, '',
      ].join('\n'));
      const withRoutes = renderKustomization(dir);
      const role = withRoutes.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'splitdns-operator') as unknown as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
      // Only list/watch on the route kinds is added.
      expect(role.rules.slice(-2)).to.deep.equal([
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['list', 'watch'] },
        { apiGroups: ['gateway.networking.k8s.io'], resources: ['gateways', 'httproutes', 'grpcroutes', 'tlsroutes'], verbs: ['list', 'watch'] },
      ]);
      expectSameObjects(renderChart('splitdns', { publish: { ingress: true, gatewayAPI: true } }), withRoutes);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });

  it('takes the clusterDNS address, replica counts and image from values', () => {
    const objs = renderChart('kube-system', { clusterDns: { enabled: true, clusterIP: '10.43.0.10', replicas: 5 }, image: { tag: '9.9.9' } });
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'kube-dns') as unknown as { spec: { clusterIP: string } };
    expect(svc.spec.clusterIP).to.equal('10.43.0.10');
    const dns = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'splitdns-dns') as unknown as { spec: { replicas: number; template: { spec: { containers: { image: string }[] } } } };
    expect(dns.spec.replicas).to.equal(5);
    expect(dns.spec.template.spec.containers[0].image).to.equal('ghcr.io/splitdns/splitdns:9.9.9');
    const normal = renderChart('dns', { dns: { replicas: 4 }, createNamespace: false });
    expect(normal.some((o) => o.kind === 'Namespace')).to.equal(false);
    expect((normal.find((o) => o.kind === 'Deployment' && o.metadata.name === 'splitdns-dns') as unknown as { spec: { replicas: number } }).spec.replicas).to.equal(4);
  });

  it('has a renderer that refuses what it does not implement, and unset values', () => {
    const scope = { Values: { a: 1 }, Release: { Name: 'r', Namespace: 'n', Service: 'Helm' }, Chart: { Name: 'c', Version: '1', AppVersion: '1' } };
    expect(renderTemplate('x:\n{{- if .Values.a }}\n  y: {{ .Values.a | quote }}\n{{- end }}\n', scope)).to.equal('x:\n  y: "1"\n');
    expect(() => renderTemplate('{{ range .Values.a }}{{ end }}', scope)).to.throw(/unsupported action/);
    expect(() => renderTemplate('{{ .Values.b }}', scope)).to.throw(/not set/);
    expect(() => renderTemplate('{{ .Values.a | upper }}', scope)).to.throw(/unsupported function/);
  });
});
