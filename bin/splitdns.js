#!/usr/bin/env node
// The `splitdns` command: the compiled CLI in dist/ (built by `npm install` through `prepare`).
import('../dist/operator/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : err); process.exitCode = 1; },
);
