// A broken edit keeps the file's last good version serving (as a refused `kubectl apply` keeps
// the old object in a cluster): a YAML error, a schema error (a bad address) and a CEL error
// in the zone's file leave www answering its old address, leave the other file alone, and a
// StaticHost delegated under that zone does not flip to NotPermitted. The log says what is
// wrong and that the last good version is still served; fixing the file applies it.
import { expect } from 'chai';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { until } from '../../helpers/until.js';

const zone = (ip: string) => `apiVersion: splitdns.io/v1alpha1
kind: DNSZone
metadata: {name: example}
spec:
  domain: example.org
  delegation: {namespaces: [team-a]}
  records:
    - name: www
      type: A
      a: [${ip}]
    - name: mail
      type: A
      a: [192.0.2.25]
`;
const host = `apiVersion: splitdns.io/v1alpha1
kind: StaticHost
metadata: {name: build, namespace: team-a}
spec: {hostnames: [build.example.org], addresses: [10.20.0.7]}
`;
const other = `apiVersion: splitdns.io/v1alpha1
kind: StaticHost
metadata: {name: db, namespace: splitdns}
spec: {hostnames: [db.example.net], addresses: [10.0.0.5]}
`;

const BROKEN: [string, string, RegExp][] = [
  ['a YAML error', zone('192.0.2.2').replace('records:', 'records: [oops'), /cannot parse/],
  ['a schema error (a bad address)', zone('192.0.2.300'), /spec\.records\[0\]\.a\[0\]: Invalid value: "192\.0\.2\.300": must be an IPv4 address/],
  ['a CEL error', zone('192.0.2.2').replace('      a: [192.0.2.2]', '      aaaa: ["2001:db8::2"]'), /a must be set when type is A, and only then/],
];

async function answer(r: Resolver, name: string): Promise<string> {
  try { return (await r.resolve4(name)).sort().join(','); } catch (err) { return (err as { code?: string }).code ?? String(err); }
}


describe('local mode: a broken edit keeps the last good version of its file', function () {
  this.timeout(60000);
  let dir: string;
  let local: LocalServer;
  let resolver: Resolver;
  const lines: Record<string, unknown>[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'splitdns-lastgood-'));
    writeFileSync(join(dir, 'zone.yaml'), zone('192.0.2.1'));
    writeFileSync(join(dir, 'host.yaml'), host);
    writeFileSync(join(dir, 'other.yaml'), other);
    const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'info' }, sink), forward: false, debounceMs: 30 });
    await local.watching;
    
    resolver = new Resolver({ timeout: 500, tries: 2 });
    resolver.setServers([`127.0.0.1:${local.dns.port}`]);
  });
  after(async () => {
    await local?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let good = 1;
  for (const [what, text, problem] of BROKEN) {
    it(`keeps serving on ${what}, says so, and applies the fix`, async () => {
      const before = `192.0.2.${good}`;
      expect(await answer(resolver, 'www.example.org')).to.equal(before);
      lines.length = 0;
      writeFileSync(join(dir, 'zone.yaml'), text);
      const logged = await until('the log line', () => lines.find((l) => l.level === 50 && problem.test(String(l.problem))), 10000);
      expect(logged!.msg).to.equal('bad edit not applied; the last good version of this file is still served');
      expect(logged!.file).to.match(/zone\.yaml$/);
      expect(local.last.problems.some((p) => p.kept && problem.test(p.message))).to.equal(true);
      // The zone keeps its old records, the other file is untouched, the delegated host stays.
      expect(await answer(resolver, 'www.example.org')).to.equal(before);
      expect(await answer(resolver, 'mail.example.org')).to.equal('192.0.2.25');
      expect(await answer(resolver, 'build.example.org')).to.equal('10.20.0.7');
      expect(await answer(resolver, 'db.example.net')).to.equal('10.0.0.5');
      const build = local.last.result.resources.find((r) => r.name === 'build')!;
      expect(build.status.conditions.find((c) => c.type === 'Accepted')!.status).to.equal('True');
      // Fixing the file applies it.
      good++;
      writeFileSync(join(dir, 'zone.yaml'), zone(`192.0.2.${good}`));
      await until('the fixed answer', async () => (await answer(resolver, 'www.example.org')) === `192.0.2.${good}`, 10000, { pollMs: 20 });
      expect(local.last.problems).to.deep.equal([]);
    });
  }

  it('a file broken from the start serves nothing of its bad objects, and says so without claiming a last good version', async () => {
    lines.length = 0;
    writeFileSync(join(dir, 'new.yaml'), other.replace('db.example.net', 'x.example.net').replace('name: db', 'name: x').replace('10.0.0.5', '10.0.0.300'));
    const logged = await until('the log line', () => lines.find((l) => l.level === 50 && /new\.yaml$/.test(String(l.file))), 10000);
    expect(logged!.msg).to.equal('bad manifest left out');
    expect(await answer(resolver, 'x.example.net')).to.not.equal('10.0.0.300');
  });
});
