#!/usr/bin/env node
// `npm start`'s prestart: build only when dist/ is older than the sources. A build leaves
// dist/.build-stamp; when no source (TypeScript under dns-server/, kube/, operator/, or the
// tsconfig files, package.json) is newer than it, the build is skipped, so a warm `npm start`
// goes straight to serving. Otherwise `tsc` runs (incremental: tsconfig.build.json keeps its
// tsBuildInfo in dist/, so only what changed is re-checked and re-emitted).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOURCE_DIRS = ['dns-server', 'kube', 'operator'];
export const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
export const STAMP = join('dist', '.build-stamp');

/** The newest modification time (ms) of the sources under `root`. */
export function newestSource(root) {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(p); } else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) walk(join(root, d));
  for (const f of SOURCE_FILES) { try { newest = Math.max(newest, statSync(join(root, f)).mtimeMs); } catch { /* absent */ } }
  return newest;
}

/** Whether dist/ was built from the current sources. */
export function isBuildCurrent(root) {
  const stamp = join(root, STAMP);
  if (!existsSync(stamp)) return false;
  return newestSource(root) <= statSync(stamp).mtimeMs;
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (isBuildCurrent(root)) return 0;
  const started = Date.now();
  process.stderr.write('splitdns: building dist/ (the sources are newer than the last build)...\n');
  // The DNS server's precompiled schema validators are generated, not committed (npm run gen).
  const gen = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'dns-server/config/compile-schema.ts'), '--quiet'], { stdio: 'inherit', cwd: root });
  const r = gen.status !== 0 ? gen : spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) { process.stderr.write('splitdns: the build failed (see above)\n'); return r.status ?? 1; }
  writeFileSync(join(root, STAMP), new Date(started).toISOString() + '\n');
  utimesSync(join(root, STAMP), started / 1000, started / 1000); // an edit made during the build is newer: rebuilt next time
  process.stderr.write(`splitdns: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
