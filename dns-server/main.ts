// The standalone DNS server: `node dist/dns-server/main.js --config bundle.json --port 5353`.
// Run with --help for the flags. SIGTERM starts the lame duck (unready, still answering for
// --lame-duck-ms), then the process exits.

import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createLogger, parseLogFormat, parseLogLevel } from './logging.js';
import { startDnsServer, DEFAULTS } from './server.js';
import type { TcpLimits } from './transport/tcp.js';
import type { UdpBuffers } from './transport/udp.js';
import type { DnsServer } from './server.js';
import { parentPort } from 'node:worker_threads';
import { startFileSource } from './source/file.js';
import { WorkerPool, workerRole } from './workers.js';
import { SHARED_ANSWER_ROOM, setAnswerRoom } from './tables/slab.js';
import type { FromWorker, ToWorker } from './workers.js';
import type { Fallback } from './fallback.js';
import { createForwarder } from './forward/index.js';
import { withDefaultUpstream } from './forward/default-upstream.js';
import type { DefaultUpstreamFallback } from './forward/default-upstream.js';
import { holdYoungGeneration } from './heap.js';
import { METRICS_COMPAT_MODES, corednsServerLabel, registerCorednsCompat } from './metrics-compat.js';

const HELP = `splitdns dns-server: serves a generated configuration over UDP and TCP.

Usage: node dist/dns-server/main.js --config FILE [options]

  --config FILE             configuration bundle (JSON), watched for changes
  --configmap-namespace NS  instead of --config: list and watch the operator's shard ConfigMaps in NS
  --configmap-selector SEL  their label selector (default app.kubernetes.io/managed-by=splitdns,splitdns.io/shard)
  --kube-api URL            API server URL for the ConfigMap source (default: in-cluster or KUBECONFIG)
  --address ADDR            listen address, IPv4 or IPv6 (default ${DEFAULTS.address})
  --port N                  UDP and TCP port (default 5353)
  --http-address ADDR       ops endpoint address (default: --address)
  --http-port N             ops endpoint port: /healthz /readyz /status /metrics (default 8080; 0 = off)
  --workers N               threads serving the same ports with reusePort, one config load and
                            validation for all (Node >= 22.12; default 1)
  --lame-duck-ms N          after SIGTERM, keep answering this long while unready (default ${DEFAULTS.lameDuckMs})
  --udp-payload-size N      our EDNS0 UDP payload size, 512-4096 (default ${DEFAULTS.udpPayloadSize})
  --tcp-idle-timeout-ms N   close a TCP connection with no query or answer for this long (default ${DEFAULTS.tcp.idleTimeoutMs})
  --tcp-frame-timeout-ms N  a TCP message must arrive whole within this long of its first byte (default ${DEFAULTS.tcp.frameTimeoutMs})
  --tcp-max-connections N   cap on open TCP connections; at it, the one idle longest is closed (default ${DEFAULTS.tcp.maxConnections})
  --tcp-max-per-client N    cap on open TCP connections per client address (default ${DEFAULTS.tcp.maxConnectionsPerClient})
  --tcp-max-queries N       queries per TCP connection before it is closed (default ${DEFAULTS.tcp.maxQueriesPerConnection})
  --tcp-max-pipelined N     queries of one TCP connection handled at once (default ${DEFAULTS.tcp.maxPipelined})
  --tcp-max-queued-bytes N  answer bytes left unread by a TCP client before it is closed (default ${DEFAULTS.tcp.maxQueuedBytes})
  --udp-recv-buffer N       UDP receive buffer, bytes; the kernel caps it at net.core.rmem_max (default ${DEFAULTS.udp.recvBufferBytes})
  --udp-send-buffer N       UDP send buffer, bytes; capped at net.core.wmem_max (default ${DEFAULTS.udp.sendBufferBytes})
  --no-forward              do not forward names outside the local data (REFUSED instead)
  --no-default-upstream     without a DNSForwarder for ".", REFUSE other names instead of forwarding them
                            to the nameservers of --resolv-conf (loops back to us are detected and skipped)
  --resolv-conf FILE        where the default upstream's nameservers come from (default /etc/resolv.conf)
  --metrics-compat coredns  also expose CoreDNS's metric names (coredns_dns_*, coredns_cache_*, coredns_forward_*)
  --log-level LEVEL         pino level (default info)
  --log-format FORMAT       auto (readable lines on a terminal, JSON otherwise), pretty or json (default auto)
  --log-queries             log every query (client, name, type, rcode, duration, shard) at info;
                            toggle on a running server with SIGUSR2 or POST /log-queries?on=1|0
`;

export interface ServeHooks {
  /** Builds the fallback (the forwarder) for a server. */
  makeFallback?: (log: Logger, registry: import('prom-client').Registry) => Fallback | undefined;
}

function intFlag(values: Record<string, unknown>, name: string, def: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

export class UsageError extends Error {}

const FLAGS = {
  config: { type: 'string' }, address: { type: 'string' }, port: { type: 'string' }, 'http-address': { type: 'string' },
  'http-port': { type: 'string' }, workers: { type: 'string' }, 'lame-duck-ms': { type: 'string' }, 'udp-payload-size': { type: 'string' },
  'tcp-idle-timeout-ms': { type: 'string' }, 'tcp-max-connections': { type: 'string' }, 'tcp-max-queries': { type: 'string' },
  'tcp-frame-timeout-ms': { type: 'string' }, 'tcp-max-per-client': { type: 'string' }, 'tcp-max-pipelined': { type: 'string' },
  'tcp-max-queued-bytes': { type: 'string' }, 'udp-recv-buffer': { type: 'string' }, 'udp-send-buffer': { type: 'string' },
  'no-forward': { type: 'boolean' }, 'no-default-upstream': { type: 'boolean' }, 'resolv-conf': { type: 'string' }, 'metrics-compat': { type: 'string' }, 'log-level': { type: 'string' }, 'log-format': { type: 'string' }, 'log-queries': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  'configmap-namespace': { type: 'string' }, 'configmap-selector': { type: 'string' }, 'kube-api': { type: 'string' },
} as const;

export async function run(argv: string[], hooks: ServeHooks = {}, extraFlags: Record<string, { type: 'string' | 'boolean' }> = {}): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options: { ...FLAGS, ...extraFlags }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) { process.stdout.write(HELP); return 0; }
  let log: Logger;
  try {
    log = createLogger({ level: parseLogLevel(values['log-level']), format: parseLogFormat(values['log-format']) });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  let port: number, httpPort: number, workers: number, lameDuckMs: number, udpPayloadSize: number;
  let tcp: TcpLimits;
  let udp: UdpBuffers;
  try {
    port = intFlag(values, 'port', 5353, 0, 65535);
    httpPort = intFlag(values, 'http-port', 8080, 0, 65535);
    workers = intFlag(values, 'workers', 1, 1, 64);
    lameDuckMs = intFlag(values, 'lame-duck-ms', DEFAULTS.lameDuckMs, 0, 600000);
    udpPayloadSize = intFlag(values, 'udp-payload-size', DEFAULTS.udpPayloadSize, 512, 4096);
    tcp = {
      idleTimeoutMs: intFlag(values, 'tcp-idle-timeout-ms', DEFAULTS.tcp.idleTimeoutMs, 100, 3600000),
      maxConnections: intFlag(values, 'tcp-max-connections', DEFAULTS.tcp.maxConnections, 1, 1000000),
      maxQueriesPerConnection: intFlag(values, 'tcp-max-queries', DEFAULTS.tcp.maxQueriesPerConnection, 1, 1000000),
      frameTimeoutMs: intFlag(values, 'tcp-frame-timeout-ms', DEFAULTS.tcp.frameTimeoutMs, 100, 600000),
      maxConnectionsPerClient: intFlag(values, 'tcp-max-per-client', DEFAULTS.tcp.maxConnectionsPerClient, 1, 1000000),
      maxPipelined: intFlag(values, 'tcp-max-pipelined', DEFAULTS.tcp.maxPipelined, 1, 65535),
      maxQueuedBytes: intFlag(values, 'tcp-max-queued-bytes', DEFAULTS.tcp.maxQueuedBytes, 1024, 1 << 30),
    };
    udp = {
      recvBufferBytes: intFlag(values, 'udp-recv-buffer', DEFAULTS.udp.recvBufferBytes, 4096, 1 << 30),
      sendBufferBytes: intFlag(values, 'udp-send-buffer', DEFAULTS.udp.sendBufferBytes, 4096, 1 << 30),
    };
    if (values.config === undefined && values['configmap-namespace'] === undefined) throw new UsageError('--config FILE or --configmap-namespace NS is required');
    if (values.config !== undefined && values['configmap-namespace'] !== undefined) throw new UsageError('--config and --configmap-namespace are alternatives: give one');
    const compat = values['metrics-compat'];
    if (compat !== undefined && !(METRICS_COMPAT_MODES as readonly unknown[]).includes(compat)) throw new UsageError(`--metrics-compat must be one of ${METRICS_COMPAT_MODES.join(', ')}, not ${JSON.stringify(compat)}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  holdYoungGeneration();
  const role = workerRole(workers, log);
  // Threads that share the slabs share their prepared answers too (ADR 0031): the arenas get room.
  if (role.role === 'primary') setAnswerRoom(SHARED_ANSWER_ROOM);
  const registry = new (await import('./prom.js')).Registry();
  const makeFallback = hooks.makeFallback ?? ((l: Logger, r: import('prom-client').Registry) => createForwarder({ logger: l, registry: r }));
  const forwarder = values['no-forward'] ? undefined : makeFallback(log, registry);
  let defaultUpstream: DefaultUpstreamFallback | undefined;
  if (forwarder !== undefined && !values['no-default-upstream']) {
    defaultUpstream = withDefaultUpstream(forwarder, { logger: log, resolvConf: values['resolv-conf'] as string | undefined });
  }
  const fallback = defaultUpstream ?? forwarder;
  const server = await startDnsServer({
    address: String(values.address ?? DEFAULTS.address), port, httpAddress: values['http-address'] as string | undefined,
    httpPort: httpPort === 0 ? null : httpPort, logger: log, registry, fallback, udpPayloadSize, lameDuckMs, tcp, udp,
    reusePort: role.role !== 'single', logQueries: values['log-queries'] === true,
    worker: role.role === 'single' ? undefined : { index: role.index, gate: role.gate },
  });
  // Every worker serves its own /metrics: each gets the CoreDNS names too.
  if (values['metrics-compat'] === 'coredns') {
    const address = String(values.address ?? DEFAULTS.address);
    registerCorednsCompat(registry, { server: corednsServerLabel(address, server.port), family: address.includes(':') ? 2 : 1 });
  }
  if (role.role === 'worker') return runWorker(server, defaultUpstream);
  if (role.role === 'primary') {
    const pool = new WorkerPool(role, server, (await import('./config/validate.js')).VALIDATOR, log, argv);
    return runPrimary(pool, values, log, server, defaultUpstream);
  }
  process.on('SIGUSR2', () => server.setQueryLogging(!server.queryLogging)); // toggles query logging
  const sources: { close(): void }[] = [];
  // Signals first: a SIGTERM while a source is still starting (the first ConfigMap list) still gets a lame duck.
  const stop = () => {
    for (const s of sources) s.close();
    server.shutdown().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await startSources(values, server, log, sources);
  void defaultUpstream?.probe(); // now that we answer queries: a probe that comes back to us is a loop
  return new Promise<number>(() => undefined); // runs until a signal
}

type Target = Pick<DnsServer, 'applyBundle' | 'applyShards'>;

/** The config source (a file or the shard ConfigMaps), feeding `target`. */
async function startSources(values: Record<string, unknown>, target: Target, log: Logger, sources: { close(): void }[]): Promise<void> {
  if (values.config !== undefined) sources.push(await startFileSource({ file: String(values.config), apply: (b) => target.applyBundle(b), logger: log }));
  if (values['configmap-namespace'] !== undefined) {
    const { startConfigMapSource } = await import('./source/configmap.js');
    const { loadKubeConfig } = await import('../kube/kube-client.js');
    sources.push(await startConfigMapSource({
      kubeConfig: loadKubeConfig(values['kube-api'] as string | undefined), namespace: String(values['configmap-namespace']),
      labelSelector: values['configmap-selector'] as string | undefined, server: target, logger: log,
    }));
  }
}

/** --workers N, the main thread: worker 0, the config source (validated here, for all) and the signals. */
async function runPrimary(pool: WorkerPool, values: Record<string, unknown>, log: Logger, server: DnsServer, defaultUpstream: DefaultUpstreamFallback | undefined): Promise<number> {
  const sources: { close(): void }[] = [];
  const stop = () => { for (const s of sources) s.close(); pool.stop(); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.on('SIGUSR2', () => pool.setQueryLogging(!server.queryLogging));
  await startSources(values, pool, log, sources);
  void defaultUpstream?.probe();
  return new Promise<number>(() => undefined); // runs until a signal
}

/** --workers N, a worker thread: serves what the primary hands it (workers.ts has the protocol). */
function runWorker(server: DnsServer, defaultUpstream: DefaultUpstreamFallback | undefined): Promise<number> {
  const port = parentPort!;
  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'apply': {
        const report = server.applyBuilt(m.seq, m.update);
        server.commit(); // a restarted worker catching up: its gate is already open
        port.postMessage({ type: 'built', seq: m.seq, report } satisfies FromWorker);
        return;
      }
      case 'commit': server.commit(); return;
      case 'log-queries': server.setQueryLogging(m.on); return;
      case 'stop': server.shutdown().then(() => process.exit(0), () => process.exit(1)); return;
    }
  });
  void defaultUpstream?.probe();
  return new Promise<number>(() => undefined); // runs until the primary says stop
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  run(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: Error) => { process.stderr.write(`${err.message}\n`); process.exitCode = 1; });
}
