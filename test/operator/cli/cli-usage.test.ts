// The CLI as a newcomer meets it: per-command help, --version, errors that say what to do,
// a missing build, serve on files or folders, validate and render on nothing or on a problem.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from './capture.js';
import { zoneManifest } from './manifests.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const samples = join(ROOT, 'samples');
const ZONE = zoneManifest('192.0.2.1');

describe('splitdns CLI: help, version, errors', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-usage-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const cmd of ['serve', 'validate', 'render', 'explain']) {
    it(`${cmd} --help prints that command's help, not the global one`, async () => {
      const r = await runCli([cmd, '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^Usage: splitdns ${cmd} `));
      expect(r.stdout).to.not.contain('Commands:');
      expect((await runCli(['help', cmd])).stdout).to.equal(r.stdout);
    });
  }

  it('--version prints the package version', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const r = await runCli(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(`splitdns ${version}\n`);
  });

  it('the global help lists every command', async () => {
    const r = await runCli(['--help']);
    for (const c of ['serve', 'validate', 'render', 'explain', 'operator']) expect(r.stdout).to.match(new RegExp(`^  ${c} `, 'm'));
  });

  it('serve on a port in use says which port and which flag changes it', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
    const port = sock.address().port;
    try {
      const r = await runCli(['serve', samples, '--port', String(port), '--log-level', 'silent', '--no-forward']);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`splitdns serve: port ${port} on 127.0.0.1 is in use by another process (another splitdns or DNS server?): choose another with --port N\n`);
    } finally { sock.close(); }
  });

  it('serve, validate and render name a path that does not exist', async () => {
    const missing = join(dir, 'nope');
    for (const cmd of ['serve', 'validate', 'render']) {
      const r = await runCli([cmd, missing, '--log-level', 'silent'].slice(0, cmd === 'serve' ? 4 : 2));
      expect(r.code, cmd).to.equal(1);
      expect(r.stderr, cmd).to.equal(`splitdns ${cmd}: ${missing}: no such file or directory (give a manifest file or a directory of them)\n`);
      expect(r.stdout, cmd).to.equal('');
    }
  });

  it('a bad flag value says which values are allowed', async () => {
    const r = await runCli(['serve', samples, '--log-format', 'xml']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain('--log-format must be one of auto, pretty, json, not "xml"');
    expect(r.stderr).to.contain('Run "splitdns serve --help"');
  });

  it('bin/splitdns.js says how to build when dist/ is missing', () => {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(ROOT, 'bin/splitdns.js'), join(dir, 'bin/splitdns.js'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [join(dir, 'bin/splitdns.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('the compiled program is missing');
    expect(r.stderr).to.contain('npm run build');
    expect(r.stderr).to.not.contain('Cannot find module');
  });

  describe('validate and render on nothing', () => {
    const cases: [string, (d: string) => void][] = [
      ['an empty directory', () => undefined],
      ['an empty file', (d) => writeFileSync(join(d, 'empty.yaml'), '')],
      ['a file of only other kinds', (d) => writeFileSync(join(d, 'deploy.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n')],
    ];
    for (const [what, make] of cases) {
      it(`validate fails on ${what}, unless --allow-empty`, async () => {
        make(dir);
        const r = await runCli(['validate', dir]);
        expect(r.code).to.equal(1);
        expect(r.stderr).to.contain('no objects found');
        expect(r.stderr).to.contain('--allow-empty');
        expect(r.stdout).to.equal('');
        const ok = await runCli(['validate', '--allow-empty', dir]);
        expect(ok.code).to.equal(0);
        expect(ok.stdout).to.equal('ok: 0 object(s) valid\n');
      });
    }
    it('render fails on an empty directory and writes nothing to stdout', async () => {
      const r = await runCli(['render', dir]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal('');
    });
  });

  it('render writes nothing to stdout on a schema error', async () => {
    writeFileSync(join(dir, 'zone.yaml'), ZONE.replace('192.0.2.1', '192.0.2.300'));
    writeFileSync(join(dir, 'ok.yaml'), ZONE.replace('name: example', 'name: other').replace('example.org', 'example.net'));
    const r = await runCli(['render', dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.contain('zone.yaml:10:11: DNSZone/example: spec.records[0].a[0]: Invalid value: "192.0.2.300"');
  });

  it('render fails on a Conflict and writes nothing to stdout', async () => {
    writeFileSync(join(dir, 'a.yaml'), ZONE);
    writeFileSync(join(dir, 'b.yaml'), ZONE.replace('name: example', 'name: second'));
    const r = await runCli(['render', dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/DNSZone\/(example|second): Conflict: /);
  });
});
