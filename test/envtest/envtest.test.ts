// The harness itself: a real apiserver with RBAC, TokenRequest, server-side apply and restart.

import { expect } from 'chai';
import { createKubeClient, isCode } from '../../kube/kube-client.js';
import type { Envtest } from './apiserver.js';
import { ApiProxy } from './proxy.js';
import { apply, createNamespace, createServiceAccount, kubeConfigFor } from './kube.js';
import { useEnvtest } from './shared.js';

describe('real API: the envtest harness', function () {
  let env: Envtest;
  before(async function () { env = await useEnvtest(this); await createNamespace(env, 'harness'); });

  it('serves a Kubernetes version and answers the admin', async function () {
    expect(env.version).to.match(/^v1\.\d+\.\d+/);
    const ns = await env.request('GET', '/api/v1/namespaces/harness');
    expect(ns.metadata.name).to.equal('harness');
  });

  it('a ServiceAccount token from TokenRequest authenticates, and RBAC denies what no role grants', async function () {
    await createServiceAccount(env, 'harness', 'nobody');
    const client = createKubeClient(await kubeConfigFor(env, 'harness', 'nobody'));
    const review = await client.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(review.status.userInfo.username).to.equal('system:serviceaccount:harness:nobody');
    const err = await client.request('GET', '/api/v1/namespaces/harness/configmaps').then(() => undefined, (e) => e);
    expect(isCode(err, 403), String(err)).to.equal(true);
    const denied = env.audit('system:serviceaccount:harness:nobody').filter((e) => e.responseStatus?.code === 403);
    expect(denied.map((e) => `${e.verb} ${e.objectRef?.resource}`)).to.deep.equal(['list configmaps']);
  });

  it('the proxy passes TLS through, cuts open connections and refuses new ones', async function () {
    const proxy = await ApiProxy.start(env.port);
    try {
      const client = createKubeClient(env.kubeConfig(undefined, proxy.url), { timeoutMs: 3000 });
      expect((await client.request('GET', '/version')).gitVersion).to.equal(env.version);
      const watch = client.request('GET', '/api/v1/namespaces/harness/configmaps?watch=true&timeoutSeconds=30');
      const outcome = watch.then(() => 'ended', (e: Error) => e.message);
      let settled: string | undefined;
      void outcome.then((o) => { settled = o; });
      for (let i = 0; i < 200 && settled === undefined; i++) { proxy.cut(); await new Promise((r) => setTimeout(r, 25)); }
      expect(settled, 'the watch was cut').to.be.a('string').and.not.equal('ended');
      proxy.refuse = true;
      const err = await client.request('GET', '/version').then(() => undefined, (e: Error) => e);
      expect(err, 'a refused connection fails the request').to.be.instanceOf(Error);
    } finally { await proxy.close(); }
  });

  it('server-side apply records the field manager', async function () {
    const cm = await apply(env, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'harness' }, data: { a: '1' } }, { fieldManager: 'harness-test' });
    expect(cm.metadata.managedFields.map((m: { manager: string }) => m.manager)).to.include('harness-test');
  });

  it('restarts the apiserver on the same port with the data kept', async function () {
    this.timeout(120000);
    const before = env.apiserverPid;
    await env.restartApiServer();
    expect(env.apiserverPid).to.not.equal(before);
    const cm = await env.request('GET', '/api/v1/namespaces/harness/configmaps/x');
    expect(cm.data).to.deep.equal({ a: '1' });
  });
});
