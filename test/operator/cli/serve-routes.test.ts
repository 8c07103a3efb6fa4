// Local mode takes Ingresses, Gateways and Gateway API routes from manifest files: a DNSZone's
// spec.ingresses / spec.routes publish them, answered over UDP; --external-dns-annotation
// (startLocalServer's externalDnsHostnameAnnotation) turns on ExternalDNS's hostname annotation.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { udpQuery } from '../../helpers/dns-client.js';

const MANIFESTS = `apiVersion: splitdns.io/v1alpha1
kind: DNSZone
metadata: {name: apps}
spec: {domain: apps.example, ingresses: {}, routes: {namespaces: [web]}, services: {}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: web}
spec: {rules: [{host: shop.apps.example}, {host: outside.example.net}]}
status: {loadBalancer: {ingress: [{ip: 192.0.2.30}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: web}
spec: {gatewayClassName: x, listeners: []}
status: {addresses: [{type: IPAddress, value: 192.0.2.31}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: web}
spec: {hostnames: ["*.api.apps.example"], parentRefs: [{name: gw}]}
---
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: web, annotations: {external-dns.alpha.kubernetes.io/hostname: lb.apps.example}}
spec: {type: LoadBalancer, clusterIP: 10.96.0.40}
status: {loadBalancer: {ingress: [{ip: 192.0.2.32}]}}
`;

const a = async (port: number, name: string) => ((await udpQuery(port, { name, type: 'A' })).answers ?? []).map((x) => ('data' in x ? x.data : undefined));

describe('serve: Ingresses and Gateway API routes from manifest files', () => {
  let dir: string;
  const servers: LocalServer[] = [];
  before(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-routes-')); writeFileSync(join(dir, 'all.yaml'), MANIFESTS); });
  after(async () => { for (const s of servers) await s.close(); rmSync(dir, { recursive: true, force: true }); });
  const start = async (externalDnsHostnameAnnotation?: boolean) => {
    const s = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }), externalDnsHostnameAnnotation });
    servers.push(s);
    return s;
  };

  it('answers an Ingress host and a route wildcard with their status addresses; the ExternalDNS annotation is off by default', async () => {
    const s = await start();
    expect(s.last.problems).to.deep.equal([]);
    expect(await a(s.dns.port, 'shop.apps.example')).to.deep.equal(['192.0.2.30']);
    expect(await a(s.dns.port, 'v2.api.apps.example')).to.deep.equal(['192.0.2.31']);
    expect(await a(s.dns.port, 'lb.apps.example')).to.deep.equal([]);
    expect(await a(s.dns.port, 'lb.web.apps.example')).to.deep.equal(['192.0.2.32']);
  });

  it('with the annotation opted in, answers the Service under its ExternalDNS hostname', async () => {
    const s = await start(true);
    expect(await a(s.dns.port, 'lb.apps.example')).to.deep.equal(['192.0.2.32']);
  });
});
