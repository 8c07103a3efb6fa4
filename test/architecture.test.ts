// The dependency directions of DESIGN.md ("Dependency directions"), checked on the import graph:
// every import of every source file (static, `export … from`, type-only and dynamic `import()`),
// read with TypeScript's own pre-processor, resolved to a path under the repository.

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
});
