// `npm start` builds only when dist/ is older than the sources (bin/ensure-build.js): before,
// its prestart ran a full `tsc` every time (22 s or more of silence).
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
type EnsureBuild = { isBuildCurrent(root: string): boolean; newestSource(root: string): number };

describe('npm start: build only when the sources changed', () => {
  let dir: string;
  let eb: EnsureBuild;
  const at = (p: string, s: number) => utimesSync(join(dir, p), s, s);
  before(async () => { eb = (await import(new URL('bin/ensure-build.js', `file://${ROOT}`).href)) as EnsureBuild; });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'splitdns-build-'));
    for (const d of ['dns-server', 'operator/cli', 'dist']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(join(dir, 'dns-server/server.ts'), '');
    writeFileSync(join(dir, 'operator/cli/main.ts'), '');
    writeFileSync(join(dir, 'package.json'), '{}');
    for (const p of ['dns-server/server.ts', 'operator/cli/main.ts', 'package.json']) at(p, 1000);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('npm start runs the check, not a full build', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prestart).to.equal('node bin/ensure-build.js');
    expect(pkg.scripts.build).to.contain('dist/.build-stamp');
  });

  it('is stale with no build stamp', () => {
    expect(eb.isBuildCurrent(dir)).to.equal(false);
  });

  it('is current when the stamp is newer than every source', () => {
    writeFileSync(join(dir, 'dist/.build-stamp'), '');
    at('dist/.build-stamp', 2000);
    expect(eb.isBuildCurrent(dir)).to.equal(true);
  });

  it('is stale when a source in a subfolder, or package.json, is newer than the stamp', () => {
    writeFileSync(join(dir, 'dist/.build-stamp'), '');
    at('dist/.build-stamp', 2000);
    at('operator/cli/main.ts', 3000);
    expect(eb.isBuildCurrent(dir)).to.equal(false);
    at('operator/cli/main.ts', 1000);
    at('package.json', 3000);
    expect(eb.isBuildCurrent(dir)).to.equal(false);
  });
});
