// `splitdns import corefile FILE [--out DIR]` and `splitdns import zonefile FILE --domain D`:
// manifests as YAML on stdout (or one file per object in DIR), and on stderr one line per
// plugin, option or record not carried over as it was ("FILE:LINE: what: kind: message").

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { importCorefile } from './corefile.js';
import { importZoneFile } from './zonefile.js';
import type { ImportProblem, Manifest } from './zonefile.js';

export const IMPORT_HELP = `Usage:
  splitdns import corefile FILE [--out DIR] [--namespace NS] [--cluster-domain NAME]
      Translate a CoreDNS Corefile: hosts → StaticHost (in NS, default splitdns), forward (with the
      block's cache) → DNSForwarder, file → DNSZone. Plugins splitdns has built in or cannot
      translate are listed on stderr with their line. Files the Corefile names are read relative
      to its directory.
  splitdns import zonefile FILE --domain DOMAIN [--out DIR]
      Translate an RFC 1035 zone file into a DNSZone.
Output: YAML documents on stdout, or with --out one file per object in DIR. Exit 0 when the
input was read (check the report), 1 when it could not be read or parsed, 2 on bad usage.
`;

export function renderYaml(manifests: Manifest[]): string {
  return manifests.map((m) => stringify(m, { lineWidth: 0 })).join('---\n');
}

export function reportLines(problems: ImportProblem[]): string[] {
  return problems.map((p) => `${p.file}:${p.line}: ${p.what}: ${p.kind}: ${p.message}`);
}

function write(manifests: Manifest[], out: string | undefined): void {
  if (out === undefined) { process.stdout.write(renderYaml(manifests)); return; }
  mkdirSync(out, { recursive: true });
  for (const m of manifests) writeFileSync(join(out, `${m.kind.toLowerCase()}-${m.metadata.name}.yaml`), stringify(m, { lineWidth: 0 }));
  process.stderr.write(`wrote ${manifests.length} manifest(s) to ${out}\n`);
}

export async function importCmd(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { out: { type: 'string' }, domain: { type: 'string' }, namespace: { type: 'string' }, 'cluster-domain': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    process.stderr.write(`splitdns import: ${(err as Error).message}\n${IMPORT_HELP}`);
    return 2;
  }
  if (values.help) { process.stdout.write(IMPORT_HELP); return 0; }
  const [what, file, ...extra] = positionals;
  const usage = (msg: string) => { process.stderr.write(`splitdns import: ${msg}\n${IMPORT_HELP}`); return 2; };
  if ((what !== 'corefile' && what !== 'zonefile') || file === undefined || extra.length) return usage('give "corefile FILE" or "zonefile FILE --domain D"');
  if (what === 'zonefile' && typeof values.domain !== 'string') return usage('zonefile needs --domain');
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (err) { process.stderr.write(`splitdns import: cannot read ${file}: ${(err as Error).message}\n`); return 1; }
  let manifests: Manifest[];
  let problems: ImportProblem[];
  try {
    if (what === 'zonefile') {
      const z = importZoneFile(text, values.domain as string, file);
      manifests = [z.manifest];
      problems = z.problems;
    } else {
      const base = dirname(resolve(file));
      ({ manifests, problems } = importCorefile(text, {
        file, namespace: values.namespace as string | undefined, clusterDomain: values['cluster-domain'] as string | undefined,
        readFile: (p) => readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8'),
      }));
    }
  } catch (err) {
    process.stderr.write(`splitdns import: ${file}: ${(err as Error).message}\n`);
    return 1;
  }
  write(manifests, values.out as string | undefined);
  for (const l of reportLines(problems)) process.stderr.write(l + '\n');
  const untranslated = problems.filter((p) => p.kind === 'untranslated').length;
  process.stderr.write(`${manifests.length} manifest(s); ${problems.length} note(s), ${untranslated} not translated\n`);
  return 0;
}
