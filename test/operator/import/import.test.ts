// `splitdns import`: golden tests on Corefiles and zone files written for the tests
// (test/fixtures/corefiles/*), the output checked by the same path as `splitdns validate`
// (CRD schemas, CEL rules, the compiler), and the parser's errors.

import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCorefile } from '../../../operator/import/corefile.js';
import { parseCorefile } from '../../../operator/import/corefile-parse.js';
import { renderYaml, reportLines } from '../../../operator/import/command.js';
import { importZoneFile, parseTtl } from '../../../operator/import/zonefile.js';
import { runCli } from '../cli/capture.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/corefiles/', import.meta.url));
const CASES = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'Corefile'))).sort();

function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  expect(actual, `${path} (UPDATE_GOLDEN=1 to regenerate, then read the diff)`).to.equal(readFileSync(path, 'utf8'));
}

describe('splitdns import', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'splitdns-import-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    describe(`fixture ${c}`, () => {
      const base = join(FIXTURES, c);
      const run = () => importCorefile(readFileSync(join(base, 'Corefile'), 'utf8'), { file: 'Corefile', readFile: (p) => readFileSync(join(base, p), 'utf8') });

      it('gives the expected manifests and report', () => {
        const r = run();
        golden(join(base, 'expected.yaml'), renderYaml(r.manifests));
        golden(join(base, 'expected-report.txt'), reportLines(r.problems).join('\n') + '\n');
      });

      it('gives manifests that splitdns validate accepts', async () => {
        const out = join(dir, 'out');
        const r = await runCli(['import', 'corefile', join(base, 'Corefile'), '--out', out]);
        expect(r.code).to.equal(0);
        if (run().manifests.length === 0) return expect(existsSync(out) ? readdirSync(out) : []).to.deep.equal([]);
        const v = await runCli(['validate', out]);
        expect(v.stderr).to.equal('');
        expect(v.code).to.equal(0);
        expect(v.stdout).to.match(new RegExp(`^ok: ${run().manifests.length} object`));
      });
    });
  }

  it('reports every plugin of the kubeadm Corefile as built in, and makes no manifest', () => {
    const r = importCorefile(readFileSync(join(FIXTURES, 'kubeadm-default/Corefile'), 'utf8'), { file: 'Corefile', readFile: () => { throw new Error('no file'); } });
    expect(r.manifests).to.deep.equal([]);
    expect(r.problems.map((p) => `${p.line}:${p.what}:${p.kind}`)).to.deep.equal([
      '2:errors:builtin', '3:health:builtin', '6:ready:builtin', '7:kubernetes:builtin', '12:prometheus:builtin', '13:forward:builtin', '13:forward:partial', '16:cache:partial', '17:loop:builtin', '18:reload:builtin', '19:loadbalance:builtin',
    ]);
  });

  it('import zonefile: a DNSZone on stdout, the report on stderr', async () => {
    const r = await runCli(['import', 'zonefile', join(FIXTURES, 'zones/db.example.org'), '--domain', 'example.org']);
    expect(r.code).to.equal(0);
    golden(join(FIXTURES, 'zones/expected-zonefile.yaml'), r.stdout);
    expect(r.stderr).to.match(/db\.example\.org:25: HINFO: untranslated: record type HINFO/);
    writeFileSync(join(dir, 'zone.yaml'), r.stdout);
    const v = await runCli(['validate', dir]);
    expect(v.stderr).to.equal('');
    expect(v.code).to.equal(0);
  });

  it('import: bad usage exits 2, an unreadable or broken file exits 1 with the line', async () => {
    expect((await runCli(['import', 'zonefile', 'x'])).code).to.equal(2);
    expect((await runCli(['import', 'nginx', 'x'])).code).to.equal(2);
    expect((await runCli(['import', 'corefile', join(dir, 'missing')])).code).to.equal(1);
    writeFileSync(join(dir, 'Corefile'), '.:53 {\n  forward . 192.0.2.1 {\n    policy random\n}\n');
    const r = await runCli(['import', 'corefile', join(dir, 'Corefile')]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/line 1: \{ is never closed/);
  });

  it('parses Corefile syntax: keys, nested blocks, comments, quoted tokens with braces', () => {
    const b = parseCorefile('example.org:53 example.net {\n  hosts { \n    192.0.2.1 a.example.org # comment\n  }\n  whoami\n}\ndns://.:5353 {\n  template IN A x {\n    answer "{{ .Name }} 60 IN A 192.0.2.9"\n  }\n}\n');
    expect(b.map((s) => s.keys)).to.deep.equal([['example.org:53', 'example.net'], ['dns://.:5353']]);
    expect(b[0].directives.map((d) => [d.name, d.line, d.block.map((o) => [o.name, ...o.args])])).to.deep.equal([['hosts', 2, [['192.0.2.1', 'a.example.org']]], ['whoami', 5, []]]);
    expect(b[1].directives[0].block[0].args).to.deep.equal(['{{ .Name }} 60 IN A 192.0.2.9']);
  });

  it('reads zone file TTLs with units, and reports names outside the zone', () => {
    expect([parseTtl('3600'), parseTtl('1h'), parseTtl('1h30m'), parseTtl('2d'), parseTtl('1W'), parseTtl('IN')]).to.deep.equal([3600, 3600, 5400, 172800, 604800, undefined]);
    const z = importZoneFile('$TTL 60\n@ A 192.0.2.1\nother.example.net. A 192.0.2.2\n', 'example.org', 'z');
    expect(z.manifest.spec.records).to.deep.equal([{ name: '@', type: 'A', a: ['192.0.2.1'] }]);
    expect(reportLines(z.problems)).to.deep.equal(['z:3: A: untranslated: other.example.net is outside the zone example.org']);
  });
});
