// Outage bench (issue 9, bug 5): the operator and two DNS servers (ConfigMap source) against a
// real kube-apiserver (test/envtest). The apiserver is stopped for OUTAGE_S seconds (default
// 20), started again; 1 s after it is ready a StaticHost is created, and the time until EVERY
// replica answers its name is measured. Target: under 3 s. Prints figures; never fails on one.
//   bash bench/outage.sh [ROUNDS] [OUTAGE_S]      (default 3 rounds of 20 s)

import { Resolver } from 'node:dns/promises';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/server.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import { startOperator } from '../../operator/controller/controller.js';
import { findAssets } from '../../test/envtest/assets.js';
import { Envtest } from '../../test/envtest/apiserver.js';
import { createNamespace } from '../../test/envtest/kube.js';
import { installCrds } from '../../test/envtest/splitdns.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const OUTAGE_S = Number(process.argv[3] ?? 20);
const NS = 'splitdns';
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answers(port: number, name: string): Promise<boolean> {
  const r = new Resolver({ timeout: 200, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  try { return (await r.resolve4(name)).length > 0; } catch { return false; }
}

const assets = findAssets();
if (typeof assets === 'string') { console.log(`outage bench: ${assets}; skipped`); process.exit(0); }
const env = await Envtest.start(assets);
console.log(`outage bench: kube-apiserver ${env.version}, ${ROUNDS} rounds, outage ${OUTAGE_S} s, 2 replicas`);
try {
  await installCrds(env);
  await createNamespace(env, NS);
  const servers = [];
  for (let i = 0; i < 2; i++) {
    const server = await startDnsServer({ port: 0, httpPort: 0, logger: log, lameDuckMs: 0 });
    servers.push(server);
    await startConfigMapSource({ kubeConfig: env.kubeConfig(), namespace: NS, server, logger: log });
    await env.request('POST', `/api/v1/namespaces/${NS}/pods`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `dns-${i}`, labels: { 'app.kubernetes.io/name': 'splitdns-dns' } }, spec: { containers: [{ name: 'dns', image: 'splitdns:bench', ports: [{ name: 'http', containerPort: server.httpPort! }] }] } });
    await env.request('PATCH', `/api/v1/namespaces/${NS}/pods/dns-${i}/status`, { status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], conditions: [{ type: 'Ready', status: 'True' }] } }, 'application/merge-patch+json');
  }
  // Production defaults, except a Lease that outlives the outage is irrelevant here.
  const op = await startOperator({ kubeConfig: env.kubeConfig(), namespace: NS, clusterDomain: 'cluster.local', dnsSelector: 'app.kubernetes.io/name=splitdns-dns', logger: log, httpPort: null });
  while (!(op.isLeader && op.synced)) await sleep(50);
  const results: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await env.stopApiServer();
    await sleep(OUTAGE_S * 1000);
    await env.startApiServer(); // returns once /readyz answers
    await sleep(1000);
    const name = `after-outage-${i}`;
    const t0 = Date.now();
    await env.request('POST', `/apis/splitdns.io/v1alpha1/namespaces/${NS}/statichosts`, { apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name }, spec: { hostnames: [`${name}.example.org`], addresses: ['10.9.0.1'] } });
    while (!(await Promise.all(servers.map((s) => answers(s.port, `${name}.example.org`)))).every(Boolean)) {
      if (Date.now() - t0 > 60000) break;
      await sleep(20);
    }
    results.push(Date.now() - t0);
    console.log(`round ${i + 1}: change made 1 s after the apiserver was ready again, served by every replica after ${results.at(-1)} ms`);
  }
  console.log(`outage bench: max ${Math.max(...results)} ms over ${ROUNDS} rounds (target < 3000 ms)`);
  await op.close();
  for (const s of servers) await s.close();
} finally {
  await env.close();
}
process.exit(0);
