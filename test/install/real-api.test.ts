// The install on a real kube-apiserver: exactly what the README's install step
// (`kubectl apply --server-side -k config/`) sends, then samples/ (`kubectl apply -f samples`).

import { expect } from 'chai';
import { join } from 'node:path';
import type { Envtest } from '../envtest/apiserver.js';
import { ROOT } from '../envtest/assets.js';
import { apply, applyAll, pathOf } from '../envtest/kube.js';
import type { Obj } from '../envtest/kube.js';
import { useEnvtest } from '../envtest/shared.js';
import { CRD_NAMES, installCrds, readYaml, renderConfig, waitEstablished } from '../envtest/splitdns.js';
import { listManifestFiles } from '../../operator/local/manifests.js';

describe('real API: install (kubectl apply --server-side -k config/, then samples/)', function () {
  let env: Envtest;
  const samples = listManifestFiles([join(ROOT, 'samples')]).flatMap(readYaml);
  before(async function () { env = await useEnvtest(this); });
  after(async function () {
    // Cluster-scoped samples (DNSZone, DNSForwarder) would be seen by every later operator on this apiserver.
    for (const o of samples.filter((s) => s.apiVersion.startsWith('splitdns.io/'))) {
      await env.request('DELETE', (await pathOf(env, o)).item).catch(() => undefined);
    }
  });

  it('every CRD installs and is Established', async function () {
    await installCrds(env, { fieldManager: 'kubectl' });
    const list = await env.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    expect(list.items.map((c: Obj) => c.metadata.name)).to.include.members(CRD_NAMES);
  });

  it('config/ renders and applies server-side (field manager kubectl), every object stored', async function () {
    const objs = renderConfig();
    expect(objs.map((o) => o.kind)).to.include.members(['CustomResourceDefinition', 'Namespace', 'Deployment', 'ClusterRole', 'Role']);
    await applyAll(env, objs.filter((o) => o.kind === 'CustomResourceDefinition'), { fieldManager: 'kubectl' });
    await waitEstablished(env);
    // Workloads would only sit unscheduled here (no controller manager): a dry run is what they need.
    const dry = (o: Obj) => ['Deployment', 'PodDisruptionBudget'].includes(o.kind);
    await applyAll(env, objs.filter((o) => o.kind !== 'CustomResourceDefinition' && !dry(o)), { fieldManager: 'kubectl' });
    for (const o of objs.filter(dry)) await apply(env, o, { fieldManager: 'kubectl', dryRun: true });
    for (const o of objs.filter((x) => !dry(x))) {
      const got = await env.request('GET', (await pathOf(env, o)).item);
      expect(got.metadata.name, `${o.kind}/${o.metadata.name}`).to.equal(o.metadata.name);
    }
  });

  it('samples/ applies cleanly (the CRs and the Services)', async function () {
    for (const o of samples) {
      // Namespaces as kubectl's client-side apply would leave them: existing labels stay.
      await apply(env, o, { fieldManager: 'kubectl-samples' }).catch((err: Error) => { throw new Error(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace ?? '-'}: ${err.message}`); });
    }
    const web = await env.request('GET', '/api/v1/namespaces/shop/services/web');
    expect(web.spec.clusterIPs).to.deep.equal(['10.96.10.10', 'fd00:10:96::a']);
  });
});
