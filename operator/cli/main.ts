// The `splitdns` command (bin/splitdns.js): serve, validate, render, explain, operator. Each
// command is one entry of COMMANDS (summary, help text, run); adding a command is adding an
// entry. Errors a user can fix say how; exit codes: 0 ok, 1 a problem found, 2 bad usage.

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { createLogger, parseLogFormat, parseLogLevel } from '../../dns-server/logging.js';
import { createCompiler } from '../compile/index.js';
import { parseCidrList } from '../compile/reverse-zones.js';
import type { CompileResult } from '../compile/index.js';
import { loadCrdValidators } from '../local/crd-schemas.js';
import { checkPaths, partlyRefused, problemText, readManifests, rejectedResources } from '../local/manifests.js';
import type { ManifestProblem, ManifestSet } from '../local/manifests.js';
import { digHints } from './hints.js';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
interface Command {
  summary: string;
  help: string;
  options: Options;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}

const COMMON_HELP = `  --cluster-domain NAME        the cluster domain (default cluster.local)
  --operator-namespace NAME    the namespace whose StaticHosts may claim any name (default splitdns)
  --service-cidr LIST          the cluster's Service CIDRs, comma-separated (default 10.96.0.0/12):
                               reverse names served authoritatively, PTRs only for ClusterIPs
  --pod-cidr LIST              the cluster's Pod CIDRs, comma-separated (default 10.244.0.0/16)
  --external-dns-annotation    honour external-dns.alpha.kubernetes.io/hostname on Services as
                               an alias of splitdns.io/hostname (default off)`;
const COMMON: Options = { 'cluster-domain': { type: 'string' }, 'operator-namespace': { type: 'string' }, 'service-cidr': { type: 'string' }, 'pod-cidr': { type: 'string' }, 'external-dns-annotation': { type: 'boolean' } };
const LOG_HELP = `  --log-level LEVEL            fatal, error, warn, info, debug, trace or silent (default info)
  --log-format FORMAT          auto (readable lines on a terminal, JSON otherwise), pretty or json`;
const LOG: Options = { 'log-level': { type: 'string' }, 'log-format': { type: 'string' } };

const KINDS = 'DNSZone, DNSForwarder, StaticHost (splitdns.io/v1alpha1), v1 Service, discovery.k8s.io/v1 EndpointSlice, v1 Namespace, networking.k8s.io/v1 Ingress, gateway.networking.k8s.io Gateway, HTTPRoute, GRPCRoute, TLSRoute';

function compileSet(set: ManifestSet, values: Record<string, unknown>): CompileResult {
  return createCompiler({
    clusterDomain: (values['cluster-domain'] as string | undefined) ?? 'cluster.local',
    operatorNamespace: (values['operator-namespace'] as string | undefined) ?? 'splitdns',
    ...compileFlags(values),
  }).compile(set.snapshot);
}

/** --service-cidr / --pod-cidr (comma-separated; a bad one is a usage error) and --external-dns-annotation. */
function compileFlags(values: Record<string, unknown>): { serviceCIDRs?: string[]; podCIDRs?: string[]; externalDnsHostnameAnnotation?: boolean } {
  const list = (k: string) => (typeof values[k] === 'string' ? (values[k] as string).split(',').map((x) => x.trim()).filter(Boolean) : undefined);
  const out = { serviceCIDRs: list('service-cidr'), podCIDRs: list('pod-cidr') };
  try { parseCidrList(out.serviceCIDRs ?? [], '--service-cidr'); parseCidrList(out.podCIDRs ?? [], '--pod-cidr'); } catch (err) { throw new UsageError((err as Error).message); }
  if (values['external-dns-annotation'] === true) return { ...out, externalDnsHostnameAnnotation: true };
  return out;
}

/** Reads and checks manifests the way validate and render both do. */
function checkManifests(paths: string[], values: Record<string, unknown>): { set: ManifestSet; result: CompileResult; problems: ManifestProblem[] } {
  checkPaths(paths);
  const set = readManifests(paths, loadCrdValidators());
  const result = compileSet(set, values);
  const problems = [...set.problems, ...rejectedResources(set, result), ...partlyRefused(set, result)];
  if (set.objects.length === 0 && !values['allow-empty']) {
    problems.push({ file: paths.join(' '), message: `no objects found (looked for ${KINDS} in *.yaml, *.yml, *.json); pass --allow-empty if that is expected` });
  }
  return { set, result, problems };
}

function reportProblems(problems: ManifestProblem[], paths: string[]): void {
  for (const p of problems) process.stderr.write(problemText(p) + '\n');
  process.stderr.write(`${problems.length} problem(s) in ${paths.join(' ')}\n`);
}

function portFlag(v: unknown, name: string, def: number | null): number | null {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535, not ${JSON.stringify(v)}`);
  return n;
}

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) { const j = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string }; if (j.name === 'splitdns') return j.version ?? 'unknown'; }
  }
  return 'unknown';
}

/** What to do about an error that stopped `serve`; undefined when it is not one we know. */
export function serveErrorHint(err: unknown, ports: { port: number; address: string; httpPort: number | null }): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number };
  const code = e.code ?? (e.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    const p = e.port ?? (e.cause as { port?: number } | undefined)?.port;
    if (ports.httpPort !== null && p === ports.httpPort && p !== ports.port) return `port ${p} on ${ports.address} (the ops endpoint) is in use by another process: choose another with --http-port N`;
    return `port ${ports.port} on ${ports.address} is in use by another process (another splitdns or DNS server?): choose another with --port N`;
  }
  if (code === 'EACCES') return `not allowed to listen on ${ports.address}:${ports.port} (ports below 1024 need privileges): choose another with --port N, e.g. 5353`;
  if (code === 'EADDRNOTAVAIL') return `${ports.address} is not an address of this machine: choose another with --address ADDR, e.g. 127.0.0.1`;
  return undefined;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'serve manifests with the in-process DNS server, hot-reloading on every edit',
    help: `Usage: splitdns serve [PATH...] [--manifests PATH] [options]

Serve files and directories of manifests (${KINDS}) with the in-process DNS server. Every
edit is applied within about a second (debounced; a periodic rescan catches edits that file
events miss). A broken edit (YAML error, schema or CEL error) is reported and the file's last
good version keeps serving until the file is fixed.

  --manifests PATH             a file or directory (may be repeated; also as positional PATHs)
  --port N                     UDP and TCP port (default 5353)
  --address ADDR               listen address (default 127.0.0.1)
  --http-port N                ops endpoint: /healthz /readyz /status /metrics, POST /log-queries (default off)
  --no-forward                 do not forward names outside the local data (REFUSED instead)
  --default-upstream           forward names no DNSForwarder covers to the nameservers of
                               /etc/resolv.conf (off by default in local mode; the DNS server
                               image has it on, --no-default-upstream turns it off there)
  --resolv-conf FILE           with --default-upstream, read this file instead
  --poll                       poll the files instead of file system events (network mounts)
  --log-queries                log every query: client, name, type, rcode, duration, shard
                               (toggle while running: kill -USR2 PID, or POST /log-queries?on=1|0)
${LOG_HELP}
${COMMON_HELP}
`,
    options: {
      ...COMMON, ...LOG, manifests: { type: 'string', multiple: true }, port: { type: 'string' }, address: { type: 'string' },
      'http-port': { type: 'string' }, 'no-forward': { type: 'boolean' }, poll: { type: 'boolean' }, 'log-queries': { type: 'boolean' },
      'default-upstream': { type: 'boolean' }, 'resolv-conf': { type: 'string' },
    },
    async run(values, positionals) {
      const paths = [...((values.manifests as string[] | undefined) ?? []), ...positionals];
      if (paths.length === 0) throw new UsageError('serve needs a file or directory of manifests: splitdns serve samples/');
      const port = portFlag(values.port, 'port', 5353)!;
      const httpPort = portFlag(values['http-port'], 'http-port', null);
      const address = (values.address as string | undefined) ?? '127.0.0.1';
      let logger;
      try { logger = createLogger({ level: parseLogLevel(values['log-level']), format: parseLogFormat(values['log-format']), destination: 2 }); } catch (err) { throw new UsageError((err as Error).message); }
      checkPaths(paths);
      const { startLocalServer } = await import('../local/serve.js');
      // As the standalone server does (dns-server/heap.ts): V8 would keep the young generation a
      // manifest load grew, up to 32 MB, for a process whose live young objects are a few KB.
      const { holdYoungGeneration } = await import('../../dns-server/heap.js');
      holdYoungGeneration();
      let local;
      try {
        local = await startLocalServer({
          manifests: paths, port, address, httpPort, logger, forward: !values['no-forward'], poll: values.poll === true,
          logQueries: values['log-queries'] === true,
          defaultUpstream: values['default-upstream'] || values['resolv-conf'] !== undefined ? { resolvConf: values['resolv-conf'] as string | undefined } : undefined,
          clusterDomain: values['cluster-domain'] as string | undefined, operatorNamespace: values['operator-namespace'] as string | undefined,
          ...compileFlags(values),
        });
      } catch (err) {
        const hint = serveErrorHint(err, { port, address, httpPort });
        if (hint === undefined) throw err;
        process.stderr.write(`splitdns serve: ${hint}\n`);
        return 1;
      }
      process.stdout.write(digHints(local.last.result.bundle, address, local.dns.port, paths.join(' '), local.dns.httpPort, process.pid));
      const toggle = () => local.dns.setQueryLogging(!local.dns.queryLogging);
      process.on('SIGUSR2', toggle);
      await new Promise<void>((resolveStop) => {
        const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); resolveStop(); };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      process.off('SIGUSR2', toggle);
      await local.close();
      return 0;
    },
  },
  validate: {
    summary: 'check manifests offline (CRD schemas, CEL rules, compile rules); exit 1 on a problem',
    help: `Usage: splitdns validate PATH... [options]

Check files and directories of manifests offline, as the API server and the operator would:
the CRD schemas and their CEL rules, then compile()'s rules (delegation, conflicts). Prints
one line per problem, "file:line:column: Kind/namespace/name: message", and exits 1 if there
is any, or if no object was found at all (a check that passes on nothing is no check).

  --allow-empty                finding no object is not an error
${COMMON_HELP}
`,
    options: { ...COMMON, 'allow-empty': { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length === 0) throw new UsageError('validate needs at least one file or directory: splitdns validate samples/');
      const { set, problems } = checkManifests(positionals, values);
      if (problems.length) { reportProblems(problems, positionals); return 1; }
      process.stdout.write(`ok: ${set.objects.length} object(s) valid\n`);
      return 0;
    },
  },
  render: {
    summary: 'print the generated configuration (a ConfigBundle, JSON) for the standalone DNS server',
    help: `Usage: splitdns render PATH... [options]

Print the configuration compiled from the manifests (a ConfigBundle of shards, JSON) to
stdout, for dns-server --config. Fails like validate: on any problem (including a resource
not accepted, e.g. a Conflict) it prints the problems to stderr, nothing to stdout, and
exits 1.

  --allow-empty                render an empty configuration when no object is found
${COMMON_HELP}
`,
    options: { ...COMMON, 'allow-empty': { type: 'boolean' } },
    async run(values, positionals) {
      if (positionals.length === 0) throw new UsageError('render needs at least one file or directory: splitdns render samples/ > bundle.json');
      const { result, problems } = checkManifests(positionals, values);
      if (problems.length) { reportProblems(problems, positionals); return 1; }
      process.stdout.write(JSON.stringify(result.bundle, null, 2) + '\n');
      return 0;
    },
  },
  explain: {
    summary: 'say which object answers a name, which decisions apply, and the answer now',
    help: `Usage: splitdns explain NAME [TYPE] [--manifests PATH... | --kube] [options]

Why does NAME resolve to that? Lists every object that speaks for the name (DNSZone records,
published Services, StaticHosts, cluster Services, DNSForwarders and their upstreams), whether
compile() accepted each and, if not, why (Conflict, NotPermitted, InvalidSpec), the shard that
holds the name, and the answer the DNS server's handler gives on the compiled configuration
(a forwarded name is not sent upstream). TYPE defaults to A.

  --manifests PATH             files or directories of manifests (may be repeated; default samples/)
  --kube                       read the objects from the cluster instead (read only: list calls)
  --kube-api URL               with --kube: the API server (default: in-cluster or KUBECONFIG)
  --json                       print the explanation as JSON
${COMMON_HELP}
`,
    options: { ...COMMON, manifests: { type: 'string', multiple: true }, kube: { type: 'boolean' }, 'kube-api': { type: 'string' }, json: { type: 'boolean' } },
    async run(values, positionals) {
      const [name, type = 'A', ...extra] = positionals;
      if (!name) throw new UsageError('explain needs a name: splitdns explain www.corp.example');
      if (extra.length) throw new UsageError(`explain takes a name and an optional type, not ${JSON.stringify(extra.join(' '))}`);
      if (!/^[A-Za-z]+\d*$/.test(type)) throw new UsageError(`the type must be a record type such as A, AAAA, TXT, SRV, not ${JSON.stringify(type)}`);
      if (values.kube && values.manifests) throw new UsageError('--kube and --manifests are alternatives: give one');
      const { explainName, formatExplanation, readClusterSnapshot } = await import('./explain.js');
      const opts = {
        clusterDomain: (values['cluster-domain'] as string | undefined) ?? 'cluster.local',
        operatorNamespace: (values['operator-namespace'] as string | undefined) ?? 'splitdns',
        logger: createLogger({ level: 'silent' }),
      };
      let e;
      if (values.kube) {
        const { createKubeClient, loadKubeConfig } = await import('../../kube/kube-client.js');
        const snap = await readClusterSnapshot(createKubeClient(loadKubeConfig(values['kube-api'] as string | undefined)));
        e = await explainName(snap, name, type, opts);
      } else {
        const paths = (values.manifests as string[] | undefined) ?? ['samples'];
        checkPaths(paths);
        const set = readManifests(paths, loadCrdValidators());
        for (const p of set.problems) process.stderr.write(`warning: ${problemText(p)} (left out)\n`);
        e = await explainName(set.snapshot, name, type, opts, new Map(set.objects.map((o) => [o.obj, o.file])));
      }
      process.stdout.write(values.json ? JSON.stringify(e, null, 2) + '\n' : formatExplanation(e));
      return 0;
    },
  },
  import: {
    summary: 'translate a CoreDNS Corefile or an RFC 1035 zone file into manifests',
    help: '', // dispatched before parsing: import prints its own help (IMPORT_HELP)
    options: {},
    async run() { return 0; },
  },
  operator: {
    summary: 'run the Kubernetes operator (see splitdns operator --help)',
    help: '', // the operator prints its own
    options: {},
    async run() { return 0; }, // dispatched before parsing: its flags are its own
  },
};

function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `splitdns ${packageVersion()}: declarative split DNS for Kubernetes.

Usage: splitdns COMMAND [options]

Commands:
${Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`).join('\n')}

Run "splitdns COMMAND --help" for a command's options; "splitdns --version" for the version.
`;
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
  if (cmd === undefined) { process.stderr.write(globalHelp()); return 2; }
  if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const sub = rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    if (rest[0] === 'import') { process.stdout.write((await import('../import/command.js')).IMPORT_HELP); return 0; }
    process.stdout.write(sub?.help || globalHelp());
    return 0;
  }
  if (cmd === '--version' || cmd === '-v' || cmd === 'version') { process.stdout.write(`splitdns ${packageVersion()}\n`); return 0; }
  if (cmd === 'operator') return operatorCmd(rest);
  if (cmd === 'import') return (await import('../import/command.js')).importCmd(rest);
  const c = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  try {
    if (!c) throw new UsageError(`unknown command ${JSON.stringify(cmd)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    const { values, positionals } = parseArgs({ args: rest, options: { ...c.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help) { process.stdout.write(c.help); return 0; }
    return await c.run(values, positionals);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`splitdns${c ? ' ' + cmd : ''}: ${(err as Error).message}\nRun "splitdns ${c ? cmd + ' ' : ''}--help" for usage.\n`);
      return 2;
    }
    if ((err as { cause?: { code?: string } }).cause?.code === 'ENOENT' || (err as { code?: string }).code === 'ENOENT') {
      process.stderr.write(`splitdns ${cmd}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
