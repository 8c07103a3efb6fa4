#!/usr/bin/env node
// The `splitdns` command: the compiled CLI in dist/ (built by `npm install` through `prepare`,
// or `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/operator/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.error(`splitdns: the compiled program is missing (${fileURLToPath(entry)}).\nBuild it first: cd ${root} && npm run build   (npm install also builds)`);
  process.exit(1);
}
import(entry.href).then((m) => m.main(process.argv.slice(2))).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`splitdns: ${err instanceof Error ? err.message : err}`); process.exitCode = 1; },
);
