import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateBundle } from '../../../dns-server/config/index.js';
import { runCli } from './capture.js';
import { zoneManifest } from './manifests.js';

const samples = fileURLToPath(new URL('../../../samples/', import.meta.url));
const golden = fileURLToPath(new URL('../compile/golden/samples.json', import.meta.url));

const ZONE = zoneManifest('192.0.2.1');

describe('splitdns CLI', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-cli-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('validate: exits 0 on the samples', async () => {
    const r = await runCli(['validate', samples]);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^ok: 11 object\(s\) valid/);
  });

  it('validate: reports a schema error as file:line:column: Kind/name: message, echoing the bad value, and exits 1', async () => {
    writeFileSync(join(dir, 'bad.yaml'), ZONE.replace('192.0.2.1', '192.0.2.300'));
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    // line 10 is "      a: [192.0.2.300]"; the value starts at column 11.
    expect(r.stderr).to.contain('bad.yaml:10:11: DNSZone/example: spec.records[0].a[0]: Invalid value: "192.0.2.300": must be an IPv4 address');
  });

  it('validate: says what a bad domain must be in words, not as a regular expression', async () => {
    writeFileSync(join(dir, 'bad.yaml'), ZONE.replace('domain: example.org', 'domain: "exa mple.org"'));
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('bad.yaml:6:11: DNSZone/example: spec.domain: Invalid value: "exa mple.org": must be a DNS name: dot-separated labels of up to 63 letters, digits');
    expect(r.stderr).to.not.match(/\^|\{0,61\}/);
  });

  it('validate: reports a CEL rule with the CRD message', async () => {
    writeFileSync(join(dir, 'cel.yaml'), ZONE.replace('a: [192.0.2.1]', 'aaaa: ["2001:db8::1"]'));
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('cel.yaml:8:7: DNSZone/example: spec.records[0]: Invalid value: "object": a must be set when type is A, and only then');
  });

  it("validate: reports compile()'s checks (a StaticHost outside its delegation)", async () => {
    writeFileSync(join(dir, 'zone.yaml'), ZONE);
    writeFileSync(join(dir, 'host.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: StaticHost\nmetadata: {name: app, namespace: team-x}\nspec: {hostnames: [app.example.org], addresses: [192.0.2.9]}\n');
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/host\.yaml:1:1: StaticHost\/team-x\/app: NotPermitted: app\.example\.org\. is in DNSZone example, which does not delegate to namespace team-x/);
  });

  it('validate: names a file that cannot be parsed and still checks the others', async () => {
    writeFileSync(join(dir, 'a.yaml'), ZONE);
    writeFileSync(join(dir, 'broken.yaml'), 'kind: [unclosed\n');
    const r = await runCli(['validate', dir]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/broken\.yaml:2:1: cannot parse: /);
    expect(r.stderr).to.not.contain('a.yaml');
  });

  it('validate: exits 2 with usage when given nothing', async () => {
    const r = await runCli(['validate']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/needs at least one file/);
  });

  it('exits 2 on an unknown command or flag', async () => {
    expect((await runCli(['frobnicate'])).code).to.equal(2);
    expect((await runCli(['render', '--bogus', samples])).code).to.equal(2);
  });

  it('render: prints the bundle of the samples, the same as the golden file', async () => {
    const r = await runCli(['render', samples]);
    expect(r.code).to.equal(0);
    const bundle = JSON.parse(r.stdout);
    expect(validateBundle(bundle).refused).to.deep.equal([]);
    expect(bundle).to.deep.equal(JSON.parse(readFileSync(golden, 'utf8')).bundle);
  });

  it('render: honours --cluster-domain', async () => {
    const r = await runCli(['render', '--cluster-domain', 'k8s.example.org', samples]);
    const ids = (JSON.parse(r.stdout) as { shards: { id: string }[] }).shards.map((s) => s.id);
    expect(ids).to.include('zone/k8s.example.org').and.not.include('zone/cluster.local');
  });
});
