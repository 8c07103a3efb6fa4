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

  it('an informer lists in pages, cuts objects down on the way in, and watches from the list\'s resourceVersion', async function () {
    this.timeout(120000);
    await Promise.all(Array.from({ length: 30 }, (_, i) => env.request('POST', '/api/v1/namespaces/conns/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `page-${i}`, labels: { paged: 'yes' }, annotations: { big: 'x'.repeat(100) } }, data: { i: String(i) } })));
    const inner = createKubeClient(env.kubeConfig(), { userAgent: 'splitdns-tests' });
    const lists: string[] = [];
    const client = { kc: inner.kc, get agent() { return inner.agent; }, request: (m: string, p: string, b?: unknown, c?: string) => { if (m === 'GET') lists.push(p); return inner.request(m, p, b, c); } };
    let changes = 0;
    const inf = new ResourceInformer({ client, path: '/api/v1/namespaces/conns/configmaps', labelSelector: 'paged=yes', pageSize: 7, logger: pino({ level: 'silent' }), onChange: () => { changes++; },
      transform: (o: any) => ({ metadata: { name: o.metadata.name, namespace: o.metadata.namespace, resourceVersion: o.metadata.resourceVersion }, data: o.data }) });
    try {
      await inf.start();
      expect(lists.length, `ceil(30 / 7) pages: ${lists.join(' ')}`).to.equal(5);
      expect(lists.slice(1).every((p) => p.includes('continue=')), 'later pages continue the first').to.equal(true);
      expect(inf.list().map((o: any) => o.metadata.name).sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => `page-${i}`).sort());
      expect(inf.list().every((o: any) => o.metadata.annotations === undefined), 'cut down on the way in').to.equal(true);
      const seen = changes;
      await env.request('POST', '/api/v1/namespaces/conns/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'page-new', labels: { paged: 'yes' }, annotations: { big: 'y' } } });
      for (let i = 0; i < 400 && !inf.list().some((o: any) => o.metadata.name === 'page-new'); i++) await new Promise((r) => setTimeout(r, 25));
      const added = inf.list().find((o: any) => o.metadata.name === 'page-new') as any;
      expect(added, 'the watch sees a new object').to.not.equal(undefined);
      expect(added.metadata.annotations, 'watched objects are cut down too').to.equal(undefined);
      expect(changes).to.be.greaterThan(seen);
    } finally { await inf.stop(); client.agent?.destroy(); }
  });
});
