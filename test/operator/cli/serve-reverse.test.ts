// Reverse names over the wire, in local mode: the server is authoritative for the cluster's
// Service and Pod CIDRs (NXDOMAIN + SOA + AA for an address nobody has, never forwarded, even
// with a "." DNSForwarder), answers the owners' PTRs, gives the attacker's none, and gives a
// hostname-less endpoint the PTR that matches its SRV target and A record.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { flagsOf, rcodeOf, udpQuery } from '../../helpers/dns-client.js';
import { answerFrom, startUpstream } from '../../helpers/upstream.js';
import type { FakeUpstream } from '../../helpers/upstream.js';

const MANIFESTS = (upstreamPort: number) => `apiVersion: splitdns.io/v1alpha1
kind: DNSForwarder
metadata: {name: everything}
spec:
  domains: ["."]
  upstreams: [{address: 127.0.0.1, port: ${upstreamPort}}]
  healthCheck: {enabled: false}
  cache: {enabled: false}
---
apiVersion: splitdns.io/v1alpha1
kind: DNSZone
metadata: {name: a}
spec: {domain: a.example, delegation: {namespaces: [tenant-a]}}
---
apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default}
spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: hijack, namespace: tenant-a}
spec: {clusterIP: None}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hijack-1, namespace: tenant-a, labels: {kubernetes.io/service-name: hijack}}
addressType: IPv4
endpoints: [{addresses: [10.96.0.1], hostname: kubernetes}]
---
apiVersion: splitdns.io/v1alpha1
kind: StaticHost
metadata: {name: ptr3, namespace: tenant-a}
spec: {hostnames: [ptr3.a.example], addresses: [10.96.0.1], ptr: true}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{name: pg, port: 5432}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: shop, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
  - addresses: [10.244.0.2]
  - addresses: [10.244.0.3]
    conditions: {ready: false}
`;

describe('splitdns serve (local mode): reverse names of the cluster', () => {
  let dir: string;
  let local: LocalServer;
  let upstream: FakeUpstream;
  const asked: string[] = [];

  before(async () => {
    upstream = await startUpstream((q, proto) => { asked.push(q.questions![0].name); return answerFrom({ 'x.example.com': ['192.0.2.99'] })(q, proto); });
    dir = mkdtempSync(join(tmpdir(), 'splitdns-rev-'));
    writeFileSync(join(dir, 'all.yaml'), MANIFESTS(upstream.port));
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }), serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'] });
  });
  after(async () => {
    await local?.close();
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const unused: [string, string][] = [
    ['an unused Service address', '99.99.96.10.in-addr.arpa'],
    ['an unused Service address at the end of the /12', '9.9.111.10.in-addr.arpa'],
    ['a not-ready endpoint address', '3.0.244.10.in-addr.arpa'],
    ['an unused IPv6 Service address', '1.0.0.0' + '.0'.repeat(16) + '.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa'],
  ];
  for (const [what, name] of unused) {
    it(`answers NXDOMAIN with the SOA and AA for ${what}, never forwarded`, async () => {
      asked.length = 0;
      const r = await udpQuery(local.dns.port, { name, type: 'PTR' });
      expect(rcodeOf(r.raw)).to.equal(3);
      expect(flagsOf(r.raw).aa).to.equal(true);
      expect(r.authorities?.map((a) => a.type)).to.deep.equal(['SOA']);
      expect(name.endsWith(r.authorities![0].name)).to.equal(true);
      expect(asked).to.deep.equal([]);
    });
  }

  it('still forwards what is not the cluster\'s (the "." forwarder works)', async () => {
    asked.length = 0;
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${local.dns.port}`]);
    expect(await r.resolve4('x.example.com')).to.deep.equal(['192.0.2.99']);
    expect(asked).to.deep.equal(['x.example.com']);
  });

  it('answers the ClusterIP\'s PTR with the Service alone: the attacker\'s endpoint and StaticHost are not there', async () => {
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${local.dns.port}`]);
    expect(await r.reverse('10.96.0.1')).to.deep.equal(['kubernetes.default.svc.cluster.local']);
    expect(await r.resolve4('ptr3.a.example')).to.deep.equal(['10.96.0.1']); // the forward name stays
  });

  it('gives a hostname-less ready endpoint the PTR of its SRV target and A record', async () => {
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${local.dns.port}`]);
    const [name] = await r.reverse('10.244.0.2');
    const srv = await r.resolveSrv('_pg._tcp.db.shop.svc.cluster.local');
    expect(srv.map((s) => s.name)).to.deep.equal([name]);
    expect(await r.resolve4(name)).to.deep.equal(['10.244.0.2']);
    expect(name).to.equal('10-244-0-2.db.shop.svc.cluster.local');
  });
});
