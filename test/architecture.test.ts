// The dependency directions of DESIGN.md ("Dependency directions"), checked on the import graph:
// every import of every source file (static, `export … from`, type-only and dynamic `import()`),
// read with TypeScript's own pre-processor, resolved to a path under the repository.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect } from 'chai';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface Import { from: string; spec: string; target: string }

/** Each import of `file`: its specifier, and for a relative one the repository path it names (`.js` → `.ts`). */
export function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): Import[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map(({ fileName: spec }) => ({
    from: file, spec,
    target: spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts') : spec,
  }));
}

const under = (dir: string) => (i: Import) => i.target === dir || i.target.startsWith(dir + '/');
const show = (xs: Import[]) => xs.map((i) => `${i.from} imports '${i.spec}'`);

describe('dependency directions (import graph)', () => {
  it('reads static, re-exported, type-only and dynamic imports (the scanner itself)', () => {
    const text = [
      "import { a } from '../operator/x.js';",
      "import type { B } from '../operator/y.js';",
      "export { c } from '../operator/z.js';",
      "const m = await import('../operator/w.js');",
      "import 'node:net';",
    ].join('\n');
    expect(importsOf('dns-server/main.ts', text).map((i) => i.target)).to.deep.equal(
      ['operator/x.ts', 'operator/y.ts', 'operator/z.ts', 'operator/w.ts', 'node:net']);
  });

  it('no file under dns-server/ imports operator/', () => {
    const bad = sourceFiles('dns-server').flatMap((f) => importsOf(f)).filter(under('operator'));
    expect(show(bad)).to.deep.equal([]);
  });

  it('the shared kube/ module imports neither operator/ nor dns-server/', () => {
    const bad = sourceFiles('kube').flatMap((f) => importsOf(f)).filter((i) => under('operator')(i) || under('dns-server')(i));
    expect(show(bad)).to.deep.equal([]);
  });

  it('production code imports neither the tests (nor their API double) nor bench code', () => {
    const bad = ['dns-server', 'kube', 'operator'].flatMap(sourceFiles).flatMap((f) => importsOf(f))
      .filter((i) => under('test')(i) || under('bench')(i));
    expect(show(bad)).to.deep.equal([]);
  });

  it('tables import neither the query planner nor the handler', () => {
    const bad = sourceFiles('dns-server/tables').flatMap((f) => importsOf(f))
      .filter((i) => ['dns-server/lookup.ts', 'dns-server/handler.ts'].includes(i.target));
    expect(show(bad)).to.deep.equal([]);
  });

  it('the query path (handler, planner) prepares nothing: it imports no table builder', () => {
    const bad = ['dns-server/handler.ts', 'dns-server/lookup.ts'].flatMap((f) => importsOf(f))
      .filter((i) => ['dns-server/tables/build.ts', 'dns-server/tables/prepare.ts'].includes(i.target));
    expect(show(bad)).to.deep.equal([]);
  });

  it('the forwarder and the cache do not import the listeners (transport/)', () => {
    const bad = [...sourceFiles('dns-server/forward'), ...sourceFiles('dns-server/cache')].flatMap((f) => importsOf(f))
      .filter(under('dns-server/transport'));
    expect(show(bad)).to.deep.equal([]);
  });

  it('production code imports only node: built-ins, its own files and production dependencies (the image installs no devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const pkgName = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    const bad = ['dns-server', 'kube', 'operator'].flatMap(sourceFiles).flatMap((f) => importsOf(f))
      .filter((i) => !i.spec.startsWith('.') && !i.spec.startsWith('node:') && !(pkgName(i.spec) in pkg.dependencies));
    expect(show(bad)).to.deep.equal([]);
  });

  it('the production build (tsconfig.build.json, what the image holds in dist/) compiles neither tests, the API double nor bench code', () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const files = execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--listFilesOnly'], { encoding: 'utf8' })
      .split('\n').map((f) => relative(ROOT, f.trim()).split(sep).join('/')).filter((f) => f && !f.startsWith('node_modules/') && !f.startsWith('..'));
    expect(files.some((f) => f.startsWith('dns-server/')), 'it lists the server').to.equal(true);
    expect(files.filter((f) => /^(test|bench)\//.test(f))).to.deep.equal([]);
  });

  // compile is a pure function of its snapshot (DESIGN.md): no I/O module, no clock. The caller
  // times it. Hashing (node:crypto) is allowed.
  const IO_MODULES = ['net', 'fs', 'fs/promises', 'dgram', 'http', 'https', 'http2', 'child_process', 'perf_hooks', 'os', 'tls', 'dns', 'worker_threads', 'cluster', 'readline', 'zlib'];
  const isIoModule = (spec: string) => IO_MODULES.includes(spec.replace(/^node:/, '')) || /^node:(fs|dns)\//.test(spec);

  it('compile/ imports no I/O module and reads no clock', () => {
    const files = sourceFiles('operator/compile');
    const bad = show(files.flatMap((f) => importsOf(f)).filter((i) => isIoModule(i.spec)));
    for (const f of files) bad.push(...clockReads(f).map((c) => `${f} reads the clock: ${c}`));
    expect(bad).to.deep.equal([]);
  });

  it('finds clock reads: performance.*, Date.now(), new Date() (the scanner itself)', () => {
    const text = '// performance.now() in a comment is fine\nconst a = performance.now(); const b = Date.now(); const c = new Date(); const d = new Date(0);';
    expect(clockReads('x.ts', text)).to.deep.equal(['performance.now', 'Date.now', 'new Date()']);
  });
});

/** The clock reads in a file's code (not its comments): `performance.x`, `Date.now`, `new Date()` without arguments. */
function clockReads(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && ts.isIdentifier(n.expression)) {
      const o = n.expression.text;
      if (o === 'performance' || (o === 'Date' && n.name.text === 'now')) out.push(`${o}.${n.name.text}`);
    }
    if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Date' && !n.arguments?.length) out.push('new Date()');
    ts.forEachChild(n, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true));
  return out;
}
