// End to end: serve a temp directory of manifests, query it with Node's resolver (c-ares),
// edit a file and see the answer change within a second; a bad file is reported and the rest
// keeps serving; a deleted file's names go away.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { zoneManifest } from './manifests.js';

const zone = zoneManifest;
const host = `apiVersion: splitdns.io/v1alpha1
kind: StaticHost
metadata: {name: db, namespace: splitdns}
spec: {hostnames: [db.example.net], addresses: [10.0.0.5], ptr: true}
`;

const services = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: shop, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.1], conditions: {ready: false}}]
`;

async function answer(r: Resolver, name: string): Promise<string> {
  try { return (await r.resolve4(name)).sort().join(','); } catch (err) { return (err as { code?: string }).code ?? String(err); }
}

/** How long to wait for a change to show: generous, a busy machine is slow; a wait ends as soon as it shows. */
const BOUND_MS = 10000;

/** Polls until `want` is answered, for at most `boundMs`; returns the last answer. */
async function pollFor(r: Resolver, name: string, want: string, boundMs: number): Promise<string> {
  const deadline = Date.now() + boundMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await answer(r, name);
    if (last === want) return last;
    await new Promise((res) => setTimeout(res, 20));
  }
  return last;
}

describe('splitdns serve (local mode) end to end', () => {
  let dir: string;
  let local: LocalServer;
  let resolver: Resolver;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'splitdns-serve-'));
    writeFileSync(join(dir, 'zone.yaml'), zone('192.0.2.1'));
    writeFileSync(join(dir, 'host.yaml'), host);
    writeFileSync(join(dir, 'services.yaml'), services);
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }), forward: false, debounceMs: 50 });
    resolver = new Resolver({ timeout: 300, tries: 2 });
    resolver.setServers([`127.0.0.1:${local.dns.port}`]);
  });
  after(async () => {
    await local?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the names of the manifests', async () => {
    expect(await answer(resolver, 'www.example.org')).to.equal('192.0.2.1');
    expect(await answer(resolver, 'db.example.net')).to.equal('10.0.0.5');
    expect(await resolver.reverse('10.0.0.5')).to.deep.equal(['db.example.net']);
  });

  it('answers cluster Services by the Kubernetes DNS specification', async () => {
    expect(await answer(resolver, 'web.shop.svc.cluster.local')).to.equal('10.96.0.10');
    // (Node 24 adds a `type` field to SRV records; compare the fields every version has)
    const srv = (await resolver.resolveSrv('_http._tcp.web.shop.svc.cluster.local')).map(({ name, port, priority, weight }) => ({ name, port, priority, weight }));
    expect(srv).to.deep.equal([{ name: 'web.shop.svc.cluster.local', port: 80, priority: 0, weight: 100 }]);
    expect(await answer(resolver, 'db.shop.svc.cluster.local')).to.equal('ENOTFOUND'); // headless, no ready endpoint: NXDOMAIN
    expect(await resolver.resolveTxt('dns-version.cluster.local')).to.deep.equal([['1.1.0']]);
  });

  // (How fast is a figure, not an assertion: test/operator/local/watch-edits.test.ts prints it.)
  it('answers the new address after a file edit', async () => {
    writeFileSync(join(dir, 'zone.yaml'), zone('192.0.2.2'));
    expect(await pollFor(resolver, 'www.example.org', '192.0.2.2', BOUND_MS)).to.equal('192.0.2.2');
  });

  it('reports a bad file with its path and keeps serving the rest', async () => {
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [unclosed\n');
    const deadline = Date.now() + BOUND_MS;
    while (Date.now() < deadline && !local.last.problems.some((p) => p.file.endsWith('broken.yaml'))) await new Promise((r) => setTimeout(r, 20));
    expect(local.last.problems.map((p) => p.file)).to.satisfy((files: string[]) => files.some((f) => f.endsWith('broken.yaml')));
    expect(await answer(resolver, 'www.example.org')).to.equal('192.0.2.2');
    expect(await answer(resolver, 'db.example.net')).to.equal('10.0.0.5');
  });

  it('removes the names of a deleted file', async () => {
    unlinkSync(join(dir, 'host.yaml'));
    const got = await pollFor(resolver, 'db.example.net', 'EREFUSED', BOUND_MS);
    expect(got).to.equal('EREFUSED'); // no local data and no forwarder: REFUSED
    expect(await answer(resolver, 'www.example.org')).to.equal('192.0.2.2');
  });
});
