// `splitdns validate` reports what compile() refuses of objects it still serves: a StaticHost's
// refused PTRs (PartiallyRefused), a Service's refused PTRs, and every name conflict of an object.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './capture.js';

describe('splitdns validate: reverse names and every conflict', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-validate-rev-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a StaticHost\'s and a Service\'s refused PTRs with the reason and the owner', async () => {
    writeFileSync(join(dir, 'zone.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: DNSZone\nmetadata: {name: a}\nspec: {domain: a.example, delegation: {namespaces: [tenant-a]}}\n');
    writeFileSync(join(dir, 'kube.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: kubernetes, namespace: default}\nspec: {clusterIP: 10.96.0.1}\n');
    writeFileSync(join(dir, 'attack.yaml'), [
      'apiVersion: splitdns.io/v1alpha1\nkind: StaticHost\nmetadata: {name: ptr3, namespace: tenant-a}\nspec: {hostnames: [ptr3.a.example], addresses: [10.96.0.1], ptr: true}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: hijack, namespace: tenant-a}\nspec: {clusterIP: None}',
      'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: hijack-1, namespace: tenant-a, labels: {kubernetes.io/service-name: hijack}}\naddressType: IPv4\nendpoints: [{addresses: [10.96.0.1], hostname: kubernetes}]',
    ].join('\n---\n') + '\n');
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/attack\.yaml:\d+:\d+: StaticHost\/tenant-a\/ptr3: Conflict: PTR 10\.96\.0\.1 → ptr3\.a\.example\.: 10\.96\.0\.1 is the ClusterIP of Service default\/kubernetes/);
    expect(r.stderr).to.match(/attack\.yaml:\d+:\d+: Service\/tenant-a\/hijack: Conflict: PTR 10\.96\.0\.1 → kubernetes\.hijack\.tenant-a\.svc\.cluster\.local\.: .*ClusterIP of Service default\/kubernetes/);
  });

  it('reports every conflict of a StaticHost, not just the first', async () => {
    writeFileSync(join(dir, 'zone.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: DNSZone\nmetadata: {name: a}\nspec:\n  domain: a.example\n  records: [{name: x, type: A, a: [192.0.2.1]}, {name: y, type: A, a: [192.0.2.2]}]\n');
    writeFileSync(join(dir, 'host.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: StaticHost\nmetadata: {name: h, namespace: splitdns}\nspec: {hostnames: [x.a.example, y.a.example], addresses: [192.0.2.9]}\n');
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('x.a.example. A is already claimed by DNSZone a').and.contain('y.a.example. A is already claimed by DNSZone a');
  });

  it('rejects a bad --service-cidr as a usage error', async () => {
    writeFileSync(join(dir, 'zone.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: DNSZone\nmetadata: {name: a}\nspec: {domain: a.example}\n');
    const r = await runCli(['validate', '--service-cidr', '10.96.0.1/12', dir]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--service-cidr').and.contain('bits set after the prefix');
  });
});
