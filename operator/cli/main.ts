// The `splitdns` command (bin/splitdns.js): serve, validate, render, operator.

import { parseArgs } from 'node:util';
import pino from 'pino';
import { createCompiler } from '../compile/index.js';
import type { CompileResult } from '../compile/index.js';
import { loadCrdValidators } from '../local/crd-schemas.js';
import { readManifests } from '../local/manifests.js';
import type { ManifestSet } from '../local/manifests.js';
import { digHints } from './hints.js';
import { parseCidrList } from '../compile/reverse-zones.js';

const HELP = `splitdns: declarative split DNS for Kubernetes.

Usage:
  splitdns serve --manifests DIR [--port N] [--address ADDR] [--http-port N]
      Serve a directory of manifests (DNSZone, DNSForwarder, StaticHost, v1 Service,
      discovery.k8s.io/v1 EndpointSlice, v1 Namespace) with the in-process DNS server;
      recompile and hot-reload when files change. Defaults: --port 5353 --address 127.0.0.1,
      no HTTP ops endpoint.
  splitdns validate PATH...
      Check manifests offline against the CRD schemas, their CEL rules and the compiler's
      rules. Prints "file:Kind/namespace/name: message" per problem; exit 1 if any.
  splitdns render PATH...
      Print the generated configuration (a ConfigBundle of shards, JSON) to stdout.
  splitdns operator [flags]
      Run the Kubernetes operator (see its --help).

Common options:
  --cluster-domain NAME        the cluster domain (default cluster.local)
  --operator-namespace NAME    the namespace whose StaticHosts may claim any name (default splitdns)
  --service-cidr LIST          the cluster's Service CIDRs, comma-separated (default 10.96.0.0/12):
                               reverse names served authoritatively, PTRs only for ClusterIPs
  --pod-cidr LIST              the cluster's Pod CIDRs, comma-separated (default 10.244.0.0/16)
  --log-level LEVEL            serve: pino level (default info)
  --no-forward                 serve: do not forward names outside the local data
`;

class UsageError extends Error {}

const COMMON = {
  'cluster-domain': { type: 'string' }, 'operator-namespace': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  'service-cidr': { type: 'string' }, 'pod-cidr': { type: 'string' },
} as const;

function compileSet(set: ManifestSet, values: Record<string, unknown>): CompileResult {
  return createCompiler({
    clusterDomain: (values['cluster-domain'] as string | undefined) ?? 'cluster.local',
    operatorNamespace: (values['operator-namespace'] as string | undefined) ?? 'splitdns',
    now: new Date(), ...cidrOptions(values),
  }).compile(set.snapshot);
}

/** --service-cidr / --pod-cidr (comma-separated); compile checks them (a bad one is a usage error). */
function cidrOptions(values: Record<string, unknown>): { serviceCIDRs?: string[]; podCIDRs?: string[] } {
  const list = (k: string) => (typeof values[k] === 'string' ? (values[k] as string).split(',').map((x) => x.trim()).filter(Boolean) : undefined);
  const out = { serviceCIDRs: list('service-cidr'), podCIDRs: list('pod-cidr') };
  try { parseCidrList(out.serviceCIDRs ?? [], '--service-cidr'); parseCidrList(out.podCIDRs ?? [], '--pod-cidr'); } catch (err) { throw new UsageError((err as Error).message); }
  return out;
}

/** Problems of a manifest set plus the resources compile() did not accept, as "file:ref: message" lines. */
export function problemLines(set: ManifestSet, result: CompileResult): string[] {
  const lines = set.problems.map((p) => `${p.file}${p.ref ? ':' + p.ref : ''}: ${p.message}`);
  const fileOf = new Map(set.objects.map((o) => [o.ref, o.file]));
  for (const r of result.resources) {
    const acc = r.status.conditions.find((c) => c.type === 'Accepted');
    if (acc?.status !== 'False') continue;
    const ref = [r.kind, r.namespace, r.name].filter(Boolean).join('/');
    lines.push(`${fileOf.get(ref) ?? '?'}:${ref}: ${acc.reason}: ${acc.message}`);
  }
  // Served in part: refused PTRs and records the cluster owns (condition PartiallyRefused), and a Service's refused PTRs.
  for (const r of result.resources) {
    const part = r.status.conditions.find((c) => c.type === 'PartiallyRefused');
    const ref = [r.kind, r.namespace, r.name].filter(Boolean).join('/');
    if (part?.status === 'True') lines.push(`${fileOf.get(ref) ?? '?'}:${ref}: ${part.reason}: ${part.message}`);
  }
  for (const n of result.notices ?? []) lines.push(`${fileOf.get(n.ref) ?? '?'}:${n.ref}: ${n.reason}: ${n.message}`);
  return lines;
}

async function validateCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true, strict: true });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length === 0) throw new UsageError('validate needs at least one file or directory');
  const set = readManifests(positionals, loadCrdValidators());
  const lines = problemLines(set, compileSet(set, values));
  for (const l of lines) process.stderr.write(l + '\n');
  if (lines.length) { process.stderr.write(`${lines.length} problem(s) in ${positionals.join(' ')}\n`); return 1; }
  process.stdout.write(`ok: ${set.objects.length} object(s) valid\n`);
  return 0;
}

async function renderCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: COMMON, allowPositionals: true, strict: true });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length === 0) throw new UsageError('render needs at least one file or directory');
  const set = readManifests(positionals, loadCrdValidators());
  const result = compileSet(set, values);
  process.stdout.write(JSON.stringify(result.bundle, null, 2) + '\n');
  const lines = problemLines(set, result);
  for (const l of lines) process.stderr.write(l + '\n');
  return set.problems.length ? 1 : 0;
}

function intFlag(v: unknown, name: string, def: number | null): number | null {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535, not ${JSON.stringify(v)}`);
  return n;
}

async function serveCmd(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv, allowPositionals: false, strict: true,
    options: { ...COMMON, manifests: { type: 'string' }, port: { type: 'string' }, address: { type: 'string' }, 'http-port': { type: 'string' }, 'log-level': { type: 'string' }, 'no-forward': { type: 'boolean' } },
  });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (!values.manifests) throw new UsageError('serve needs --manifests DIR');
  const port = intFlag(values.port, 'port', 5353)!;
  const httpPort = intFlag(values['http-port'], 'http-port', null);
  const address = values.address ?? '127.0.0.1';
  const logger = pino({ level: values['log-level'] ?? 'info' }, pino.destination(2));
  const { startLocalServer } = await import('../local/serve.js');
  const local = await startLocalServer({
    manifests: values.manifests, port, address, httpPort, logger, forward: !values['no-forward'],
    clusterDomain: values['cluster-domain'], operatorNamespace: values['operator-namespace'], ...cidrOptions(values),
  });
  process.stdout.write(digHints(local.last.result.bundle, address, local.dns.port, values.manifests, local.dns.httpPort));
  await new Promise<void>((resolveStop) => {
    const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolveStop(); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await local.close();
  return 0;
}

async function operatorCmd(argv: string[]): Promise<number> {
  const path = '../controller/main.js';
  let mod: { run?: (argv: string[]) => Promise<number> };
  try {
    mod = (await import(path)) as typeof mod;
  } catch (err) {
    process.stderr.write(`splitdns operator: the operator is not available in this build (cannot load operator/controller/main.js: ${(err as Error).message})\n`);
    return 1;
  }
  if (typeof mod.run !== 'function') { process.stderr.write('splitdns operator: operator/controller/main.js exports no run(argv)\n'); return 1; }
  return mod.run(argv);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve': return await serveCmd(rest);
      case 'validate': return await validateCmd(rest);
      case 'render': return await renderCmd(rest);
      case 'operator': return await operatorCmd(rest);
      case undefined: case 'help': case '--help': case '-h':
        process.stdout.write(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`splitdns: ${(err as Error).message}\nRun "splitdns --help" for usage.\n`);
      return 2;
    }
    throw err;
  }
}
