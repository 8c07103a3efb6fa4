// `splitdns explain NAME [TYPE]`: which object answers, which decisions apply (who lost and
// why), the shard, and the answer the real handler gives now. From manifests, and from a
// cluster through the API (read only). No real kube-apiserver harness is on this branch: the
// --kube test reads the objects from the API test double (test/kube-api-double) over HTTP.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Explanation } from '../../../operator/cli/explain.js';
import { createKubeClient, loadKubeConfig } from '../../../kube/kube-client.js';
import { KubeApiDouble } from '../../kube-api-double/server.js';
import { runCli } from './capture.js';
import { zoneManifest } from './manifests.js';

const samples = fileURLToPath(new URL('../../../samples/', import.meta.url));

async function explain(args: string[]): Promise<Explanation> {
  const r = await runCli(['explain', ...args, '--json']);
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as Explanation;
}

const host = (name: string, ns: string, hostname: string, ip: string) =>
  `---\napiVersion: splitdns.io/v1alpha1\nkind: StaticHost\nmetadata: {name: ${name}, namespace: ${ns}}\nspec: {hostnames: [${hostname}], addresses: [${ip}]}\n`;

describe('splitdns explain', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-explain-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the DNSZone record that answers, the shard, and the answer now', async () => {
    const e = await explain(['www.corp.example', '--manifests', samples]);
    expect(e.shard).to.equal('zone/corp.example');
    expect(e.rcode).to.equal('NOERROR');
    expect(e.answers.map((a) => a.split(' ').pop())).to.have.members(['192.0.2.10', '192.0.2.11']);
    const answering = e.involved.filter((i) => i.answers);
    expect(answering.map((i) => i.role)).to.include('record www A 192.0.2.10, 192.0.2.11');
    expect(answering.every((i) => i.object === 'DNSZone corp')).to.equal(true);
    expect(e.involved.find((i) => i.role.startsWith('record www AAAA'))!.answers).to.equal(false);
  });

  it('prints a readable explanation', async () => {
    const r = await runCli(['explain', 'www.corp.example', 'AAAA', '--manifests', samples]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('www.corp.example. AAAA\n');
    expect(r.stdout).to.contain('* DNSZone corp (');
    expect(r.stdout).to.contain('record www AAAA 2001:db8::10');
    expect(r.stdout).to.contain('shard: zone/corp.example');
    expect(r.stdout).to.match(/answer now: NOERROR\n {4}www\.corp\.example\. 300 AAAA 2001:db8::10\n/);
  });

  it('names a delegated StaticHost, a published Service and a cluster Service', async () => {
    const build = await explain(['build.corp.example', '--manifests', samples]);
    expect(build.involved.find((i) => i.object === 'StaticHost team-a/build-farm')).to.include({ answers: true });
    expect(build.involved.some((i) => i.role.includes('delegates names to namespace(s) team-a'))).to.equal(true);
    expect(build.answers[0]).to.match(/10\.20\.0\.7$/);
    const web = await explain(['web.shop.corp.example', '--manifests', samples]);
    expect(web.involved.find((i) => i.object === 'Service shop/web')).to.include({ answers: true });
    const svc = await explain(['web.shop.svc.cluster.local', '--manifests', samples]);
    expect(svc.shard).to.equal('services/shop');
    expect(svc.involved.find((i) => i.object === 'Service shop/web')!.role).to.contain('cluster Service');
    expect(svc.answers[0]).to.match(/10\.96\.10\.10$/);
  });

  it('names the forwarder and its upstreams for a forwarded name', async () => {
    const e = await explain(['www.corp.example.com', '--manifests', samples]);
    expect(e.shard).to.equal('none');
    expect(e.forwardedTo).to.deep.equal({ forwarder: 'DNSForwarder corp-resolvers', domain: 'corp.example.com.', upstreams: ['127.0.0.1:5354/udp'] });
  });

  it('says who lost a conflict and why, and who answers', async () => {
    writeFileSync(join(dir, 'zone.yaml'), zoneManifest('192.0.2.1').replace('spec:\n', 'spec:\n  delegation: {namespaces: [team-a]}\n'));
    writeFileSync(join(dir, 'hosts.yaml'), host('steal', 'team-a', 'www.example.org', '10.9.9.9') + host('outsider', 'team-x', 'app.example.org', '10.9.9.8'));
    const e = await explain(['www.example.org', '--manifests', dir]);
    const loser = e.involved.find((i) => i.object === 'StaticHost team-a/steal')!;
    expect(loser.answers).to.equal(false);
    expect(loser.verdict).to.match(/^NOT accepted: Conflict: www\.example\.org\. A is already claimed by DNSZone example/);
    expect(e.involved.find((i) => i.role === 'record www A 192.0.2.1')).to.include({ answers: true });
    expect(e.answers.map((a) => a.split(' ').pop())).to.deep.equal(['192.0.2.1']);
    const app = await explain(['app.example.org', '--manifests', dir]);
    expect(app.involved.find((i) => i.object === 'StaticHost team-x/outsider')!.verdict).to.equal('NOT accepted: NotPermitted: app.example.org. is in DNSZone example, which does not delegate to namespace team-x');
    expect(app.rcode).to.equal('NXDOMAIN');
  });

  it('--kube reads the objects through the API, read only, and explains the same', async () => {
    const api = await KubeApiDouble.start({ bookmarkMs: 0 });
    try {
      const client = createKubeClient(loadKubeConfig(api.url));
      const plural: Record<string, string> = { DNSZone: 'dnszones', DNSForwarder: 'dnsforwarders', StaticHost: 'statichosts', Service: 'services', EndpointSlice: 'endpointslices', Namespace: 'namespaces' };
      for (const f of readdirSync(samples).filter((x) => x.endsWith('.yaml'))) {
        for (const d of parseAllDocuments(readFileSync(join(samples, f), 'utf8'))) {
          const o = d.toJS() as { apiVersion: string; kind: string; metadata: { namespace?: string } } | null;
          if (!o) continue;
          const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
          const namespaced = !['DNSZone', 'DNSForwarder', 'Namespace'].includes(o.kind);
          await client.request('POST', `${base}${namespaced ? `/namespaces/${o.metadata.namespace ?? 'default'}` : ''}/${plural[o.kind]}`, o);
        }
      }
      api.requests.length = 0;
      for (const [name, type] of [['www.corp.example', 'A'], ['build.corp.example', 'A'], ['db.shop.svc.cluster.local', 'A'], ['www.corp.example.com', 'A']]) {
        const fromApi = await explain([name, type, '--kube', '--kube-api', api.url]);
        const fromFiles = await explain([name, type, '--manifests', samples]);
        const strip = (e: Explanation) => ({ ...e, involved: e.involved.map(({ source: _s, ...i }) => i) });
        expect(strip(fromApi)).to.deep.equal(strip(fromFiles));
      }
      expect(api.requests.length).to.be.greaterThan(0);
      expect(api.requests.filter((r) => r.method !== 'GET')).to.deep.equal([]);
    } finally {
      await api.close();
    }
  });

  it('needs a name and refuses --kube with --manifests', async () => {
    expect((await runCli(['explain'])).code).to.equal(2);
    const r = await runCli(['explain', 'x.example', '--kube', '--manifests', samples]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--kube and --manifests are alternatives');
  });
});
