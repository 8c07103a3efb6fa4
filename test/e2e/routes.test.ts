// End to end on the real kube-apiserver: publishing Ingresses (issue 15, part 2). The operator
// runs as its own ServiceAccount with config/base's roles plus the rules of the optional
// config/components/publish-routes component, with --publish-ingress and --publish-gateway-api
// on, against an apiserver that has no Gateway API CRDs: it says so once and serves Ingresses.

import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import type { Envtest } from '../envtest/apiserver.js';
import { ROOT } from '../envtest/assets.js';
import { useEnvtest } from '../envtest/shared.js';
import { installInto } from '../envtest/splitdns.js';
import { CR, condition, denials, ensureNamespaces, eventually, servedEverywhere, startHarness, waitCondition } from './harness.js';
import type { Harness } from './harness.js';


const NS = 'e2e-routes';
const APP_NS = 'routes-web';

/** The ClusterRole rules the publish-routes component adds (read from the component itself). */
function componentRules(): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const k = parse(readFileSync(join(ROOT, 'config/components/publish-routes/kustomization.yaml'), 'utf8')) as { patches: { target: { kind: string }; patch: string }[] };
  const ops = parse(k.patches.find((p) => p.target.kind === 'ClusterRole')!.patch) as { op: string; path: string; value: any }[];
  return ops.map((o) => o.value);
}

describe('real API e2e: publishing Ingresses (no Gateway API CRDs installed)', function () {
  this.timeout(30000);
  let env: Envtest;
  let h: Harness;
  const logs: { level: number; msg: string; missing?: string[] }[] = [];

  before(async function () {
    env = await useEnvtest(this);
    const crds = await env.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    expect(crds.items.map((c: any) => c.spec.group)).to.not.include('gateway.networking.k8s.io');
    await installInto(env, NS, (o) => { if (o.kind === 'ClusterRole' && o.metadata.name?.startsWith('splitdns-operator')) o.rules!.push(...componentRules()); });
    await ensureNamespaces(env, { [APP_NS]: {} });
    h = await startHarness(env, NS);
    const logger = pino({ level: 'info' }, { write: (s: string) => { logs.push(JSON.parse(s)); } });
    await h.startOperator({ publishIngress: true, publishGatewayAPI: true, logger });
  });
  after(async () => {
    await h?.close();
    await env?.request('DELETE', `/apis/networking.k8s.io/v1/namespaces/${APP_NS}/ingresses`);
    expect(denials(env, NS), 'RBAC denials').to.deep.equal([]);
  });

  it('says once that the Gateway API is not installed, and runs on', async () => {
    const op = h.operators[0];
    await eventually('operator synced', 5000, () => (op.synced ? true : undefined));
    const warned = logs.filter((l) => /Gateway API: CRDs not installed/.test(l.msg));
    expect(warned).to.have.length(1);
    expect(warned[0].missing).to.include('httproutes.gateway.networking.k8s.io/v1');
  });

  it('serves an Ingress host once its status has an address, and follows the address', async () => {
    await h.kube('POST', `${CR}/dnszones`, {
      apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSZone', metadata: { name: 'routes' },
      spec: { domain: 'routes.example', ttl: 30, ingresses: { namespaces: [APP_NS] } },
    });
    const ing = `/apis/networking.k8s.io/v1/namespaces/${APP_NS}/ingresses`;
    await h.kube('POST', ing, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop' },
      spec: { rules: [{ host: 'shop.routes.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] },
    });
    const zone = await waitCondition(h, `${CR}/dnszones/routes`, 'Programmed', 'True');
    expect(zone.status.routes).to.equal(0); // no address yet: nothing published
    const merge = 'application/merge-patch+json';
    await h.kube('PATCH', `${ing}/shop/status`, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.40' }] } } }, merge);
    await servedEverywhere(h, 'shop.routes.example', ['203.0.113.40']);
    await h.kube('PATCH', `${ing}/shop/status`, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.41' }] } } }, merge);
    await servedEverywhere(h, 'shop.routes.example', ['203.0.113.41']);
    const z = await eventually('zone status routes=1', 5000, async () => { const o = await h.kube('GET', `${CR}/dnszones/routes`); return o.status?.routes === 1 ? o : undefined; });
    expect(condition(z, 'Accepted').status).to.equal('True');
  });
});
