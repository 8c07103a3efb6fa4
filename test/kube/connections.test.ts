// The kube client keeps its connections: many requests, and the informers' watches, share a few
// kept-alive TLS connections instead of a handshake per request (issue 16). Counted with Node's
// by a TCP proxy in front of the apiserver (each accepted connection is one TLS handshake), so
// the count does not depend on the client's code.

import { expect } from 'chai';
import { pino } from 'pino';
import { createKubeClient } from '../../kube/kube-client.js';
import { ResourceInformer } from '../../kube/informer.js';
import type { Envtest } from '../envtest/apiserver.js';
import { createNamespace } from '../envtest/kube.js';
import { ApiProxy } from '../envtest/proxy.js';
import { useEnvtest } from '../envtest/shared.js';

describe('real API: kube client connections', function () {
  let env: Envtest;
  before(async function () { env = await useEnvtest(this); await createNamespace(env, 'conns'); });

  it('100 requests, 20 at a time, open at most 20 connections; 100 more one after another open none', async function () {
    const proxy = await ApiProxy.start(env.port);
    const client = createKubeClient(env.kubeConfig(undefined, proxy.url), { userAgent: 'splitdns-tests' });
    try {
      for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 20 }, () => client.request('GET', '/api/v1/namespaces/conns')));
      const parallel = proxy.connections;
      expect(parallel).to.be.within(1, 20);
      for (let i = 0; i < 100; i++) await client.request('GET', '/api/v1/namespaces/conns');
      expect(proxy.connections - parallel, 'sequential requests reuse a kept-alive connection').to.equal(0);
    } finally { client.agent?.destroy(); await proxy.close(); }
  });

  it('a connection cut between requests is replaced: the next request succeeds on a new one', async function () {
    const proxy = await ApiProxy.start(env.port);
    const client = createKubeClient(env.kubeConfig(undefined, proxy.url), { userAgent: 'splitdns-tests' });
    try {
      await client.request('GET', '/api/v1/namespaces/conns');
      proxy.cut();
      expect((await client.request('GET', '/api/v1/namespaces/conns')).metadata.name).to.equal('conns');
      expect(proxy.connections).to.equal(2);
    } finally { client.agent?.destroy(); await proxy.close(); }
  });

  it('an informer\'s list and watch go through the same pool', async function () {
    const proxy = await ApiProxy.start(env.port);
    const client = createKubeClient(env.kubeConfig(undefined, proxy.url), { userAgent: 'splitdns-tests' });
    const logger = pino({ level: 'silent' });
    const inf = new ResourceInformer({ client, path: '/api/v1/namespaces/conns/configmaps', logger, onChange: () => {} });
    try {
      await inf.start();
      const busy = Object.values(client.agent!.sockets).flat().length;
      expect(busy, 'the watch holds a socket of the client\'s own agent').to.be.at.least(1);
      for (let i = 0; i < 20; i++) await client.request('GET', '/api/v1/namespaces/conns');
      expect(proxy.connections, 'list, watch and 20 requests: at most one connection each for the list and the watch').to.be.at.most(2);
    } finally { await inf.stop(); client.agent?.destroy(); await proxy.close(); }
  });
});
