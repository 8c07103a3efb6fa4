// startDnsServer: the DNS server as a library. UDP and TCP on one address and port, an
// optional operations endpoint, a shard store fed by applyBundle/applyShards (from a file, the
// ConfigMap source, or in-process), and an optional Fallback (the forwarder) for names no local
// data covers.

import type { Logger } from 'pino';
import { Registry } from './prom.js';
import type { Fallback } from './fallback.js';
import type { HandlerState } from './handler.js';
import { startOps } from './http.js';
import type { OpsServer } from './http.js';
import { ServerMetrics } from './metrics.js';
import { createQueryTap } from './query-log.js';
import { ShardStore } from './reload.js';
import type { Applied, BuiltUpdate, ReloadReport, ServedShard, ValidatedUpdate } from './reload.js';
import { EMPTY_TABLES } from './tables/build.js';
import { startTcp } from './transport/tcp.js';
import type { TcpLimits } from './transport/tcp.js';
import { startUdp } from './transport/udp.js';
import type { UdpBuffers } from './transport/udp.js';

export type { Applied, BuiltUpdate, ReloadReport, ServedShard, ValidatedUpdate };

export interface DnsServerOptions {
  address?: string;
  port: number;
  httpAddress?: string;
  httpPort?: number | null;
  logger: Logger;
  registry?: Registry;
  fallback?: Fallback;
  udpPayloadSize?: number;
  lameDuckMs?: number;
  tcp?: Partial<TcpLimits>;
  /** UDP socket buffers (SO_RCVBUF, SO_SNDBUF), bytes; the kernel caps them at net.core.rmem_max / wmem_max. */
  udp?: Partial<UdpBuffers>;
  /** Bind UDP, TCP and the ops endpoint with SO_REUSEPORT (one of several workers, workers.ts). */
  reusePort?: boolean;
  /**
   * A worker thread (workers.ts): reloads come pre-validated (applyValidated) and are swapped in
   * when `gate[0]` reaches the update's sequence number, checked before each query and on commit().
   */
  worker?: { index: number; gate: Int32Array };
  /** Log every query at info (client, name, type, rcode, duration, shard); default false. */
  logQueries?: boolean;
}

export interface DnsServer {
  readonly port: number;
  readonly httpPort: number | null;
  readonly registry: Registry;
  applyBundle(bundle: unknown): ReloadReport;
  applyShards(changed: unknown[], removedIds: string[]): ReloadReport;
  /**
   * Worker mode, the primary's own server (worker 0): builds update `seq` (validated by the
   * primary; it serves once the gate reaches `seq`) and gives back its slabs for the other workers.
   */
  applyValidated(seq: number, update: ValidatedUpdate): Applied;
  /** Worker mode, the primary's own server: a bundle the primary refused whole; counted and logged as applyBundle() would. */
  refuseBundle(errors: string[]): void;
  /** Worker mode, a worker thread: wraps the slabs the primary built for update `seq`; it serves once the gate reaches `seq`. */
  applyBuilt(seq: number, update: BuiltUpdate): ReloadReport;
  /** Worker mode: swaps in the built update if the gate has reached it (also done before each query). */
  commit(): void;
  servedShards(): ServedShard[];
  isReady(): boolean;
  /** Whether queries are logged; setQueryLogging turns it on or off while serving. */
  readonly queryLogging: boolean;
  setQueryLogging(on: boolean): void;
  close(): Promise<void>;
  shutdown(): Promise<void>;
}

export const DEFAULTS = {
  address: '127.0.0.1',
  udpPayloadSize: 1232, // DNS Flag Day 2020: no IP fragmentation on common paths
  lameDuckMs: 5000,
  tcp: {
    idleTimeoutMs: 10000, frameTimeoutMs: 3000, maxConnections: 1000, maxConnectionsPerClient: 100,
    maxQueriesPerConnection: 1000, maxPipelined: 32, maxQueuedBytes: 128 * 1024,
  } satisfies TcpLimits,
  udp: { recvBufferBytes: 4 * 1024 * 1024, sendBufferBytes: 4 * 1024 * 1024 } satisfies UdpBuffers,
};

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const log = opts.logger.child({ component: 'dns-server' });
  const address = opts.address ?? DEFAULTS.address;
  const udpPayloadSize = opts.udpPayloadSize ?? DEFAULTS.udpPayloadSize;
  if (!Number.isInteger(udpPayloadSize) || udpPayloadSize < 512 || udpPayloadSize > 4096) throw new Error(`udpPayloadSize must be an integer from 512 to 4096, not ${udpPayloadSize}`);
  const metrics = new ServerMetrics(opts.registry ?? new Registry());
  const state: HandlerState = { tables: EMPTY_TABLES, fallback: opts.fallback, metrics, udpPayloadSize, sync: undefined };
  const worker = opts.worker;
  // A worker thread takes validated updates only: it never loads the validator (ajv).
  const validator = worker === undefined ? (await import('./config/validate.js')).VALIDATOR : undefined;
  const store = new ShardStore(state, metrics, log, validator, worker !== undefined);
  let waiting = -1; // worker mode: the sequence number of the built, not yet committed update
  const commit = () => { if (waiting >= 0 && Atomics.load(worker!.gate, 0) >= waiting) { waiting = -1; store.commit(); } };
  if (worker !== undefined) state.sync = commit;
  const tcpLimits: TcpLimits = { ...DEFAULTS.tcp, ...opts.tcp };
  const udpBuffers: UdpBuffers = { ...DEFAULTS.udp, ...opts.udp };
  const tap = createQueryTap(opts.logger, opts.logQueries === true);
  const setQueryLogging = (on: boolean) => {
    if (tap.enabled !== on) log.info({ logQueries: on }, on ? 'query logging on' : 'query logging off');
    tap.enabled = on;
  };

  // UDP and TCP share one port number. With port 0 the kernel picks a free UDP port, which
  // may be taken for TCP: then try another pair (a few times) rather than fail.
  let udp: Awaited<ReturnType<typeof startUdp>> | undefined;
  let tcp: Awaited<ReturnType<typeof startTcp>> | undefined;
  for (let attempt = 0; tcp === undefined; attempt++) {
    udp = await startUdp(address, opts.port, state, opts.reusePort === true, udpBuffers, tap);
    try {
      tcp = await startTcp(address, udp.port, state, tcpLimits, tap, opts.reusePort === true);
    } catch (err) {
      await udp.close();
      if (opts.port !== 0 || attempt >= 9 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`cannot listen on TCP ${address}:${udp.port}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  if (udp === undefined) throw new Error('unreachable: no UDP socket');
  let lameDuck = false;
  let closed = false;
  const isReady = () => store.loaded && !lameDuck && !closed;
  let ops: OpsServer | undefined;
  if (opts.httpPort !== undefined && opts.httpPort !== null) {
    ops = await startOps(opts.httpAddress ?? address, opts.httpPort, {
      ready: isReady,
      registry: metrics.registry,
      status: () => ({ ready: isReady(), pid: process.pid, ...(worker ? { worker: worker.index } : {}), logQueries: tap.enabled, shards: store.servedShards(), fallback: state.fallback?.status() ?? null }),
      setQueryLogging,
    }, opts.reusePort === true);
  }
  log.info({ address, port: udp.port, httpPort: ops?.port ?? null, udpBuffers: { asked: udpBuffers, granted: udp.granted } }, 'dns server listening');
  if (udp.granted.recvBufferBytes < udpBuffers.recvBufferBytes || udp.granted.sendBufferBytes < udpBuffers.sendBufferBytes) {
    log.warn({ asked: udpBuffers, granted: udp.granted }, 'UDP socket buffers smaller than asked: the kernel caps them at net.core.rmem_max / wmem_max (raise those sysctls for bursts)');
  }

  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all([udp!.close(), tcp!.close(), ops?.close(), state.fallback?.close()]);
    log.info('dns server closed');
  };
  const lameDuckMs = opts.lameDuckMs ?? DEFAULTS.lameDuckMs;
  return {
    port: udp.port,
    httpPort: ops?.port ?? null,
    registry: metrics.registry,
    applyBundle: (b) => store.applyBundle(b),
    applyShards: (c, r) => store.applyShards(c, r),
    applyValidated(seq, u) {
      if (worker === undefined) throw new Error('applyValidated: not a worker');
      commit();
      const applied = store.applyValidated(u);
      waiting = seq;
      return applied;
    },
    refuseBundle: (errors) => store.refuseBundle(errors),
    applyBuilt(seq, u) {
      if (worker === undefined) throw new Error('applyBuilt: not a worker');
      commit();
      const report = store.applyBuilt(u);
      waiting = seq;
      return report;
    },
    commit,
    servedShards: () => store.servedShards(),
    isReady,
    get queryLogging() { return tap.enabled; },
    setQueryLogging,
    close,
    async shutdown() {
      lameDuck = true;
      log.info({ lameDuckMs }, 'lame duck: unready, still answering');
      await new Promise((r) => setTimeout(r, lameDuckMs));
      await close();
    },
  };
}
