// The operator: informers → snapshot → compile() → publish shards → confirm with the DNS
// servers → status. Level-triggered: an informer event only marks the state dirty; one
// debounced run at a time reads the caches whole (a run dirtied meanwhile runs again).
// Nothing is compiled before every informer has synced, and only the Lease holder writes.

import os from 'node:os';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createCompiler } from '../compile/index.js';
import type { CompileResult, Snapshot } from '../compile/index.js';
import { readReplicas, servedEverywhere } from './confirm.js';
import type { ReplicaState } from './confirm.js';
import { ResourceInformer } from './informer.js';
import { createKubeClient } from './kube-client.js';
import type { KubeClient } from './kube-client.js';
import { LeaderElector } from './leader.js';
import { OperatorMetrics } from './metrics.js';
import { startOpsHttp } from './ops-http.js';
import type { OpsHttp } from './ops-http.js';
import { Publisher } from './publish.js';
import { desiredStatus, StatusWriter } from './status-writer.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  clusterDomain: string;
  /** The cluster's Service and Pod CIDRs (compile's reverse zones; defaults in reverse-zones.ts). */
  serviceCIDRs?: readonly string[];
  podCIDRs?: readonly string[];
  /** Label selector of the DNS server pods (in `namespace`). */
  dnsSelector: string;
  statusPort?: number;
  statusPortName?: string;
  debounceMs?: number;
  identity?: string;
  leaseName?: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** How often to ask the DNS servers while a change is not yet served everywhere. */
  confirmIntervalMs?: number;
  gzipAboveBytes?: number;
  httpAddress?: string;
  httpPort?: number | null;
  informerBackoff?: { initialMs?: number; maxMs?: number };
  logger: Logger;
  registry?: Registry;
}

export const OPERATOR_DEFAULTS = {
  debounceMs: 50, leaseName: 'splitdns-operator', leaseDurationSeconds: 15, renewDeadlineMs: 10000, retryPeriodMs: 2000,
  confirmIntervalMs: 100, statusPortName: 'http', gzipAboveBytes: 256 * 1024,
};

const RESOURCES: { key: keyof Snapshot; path: string }[] = [
  { key: 'zones', path: '/apis/splitdns.io/v1alpha1/dnszones' },
  { key: 'forwarders', path: '/apis/splitdns.io/v1alpha1/dnsforwarders' },
  { key: 'staticHosts', path: '/apis/splitdns.io/v1alpha1/statichosts' },
  { key: 'services', path: '/api/v1/services' },
  { key: 'endpointSlices', path: '/apis/discovery.k8s.io/v1/endpointslices' },
  { key: 'namespaces', path: '/api/v1/namespaces' },
];

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly client: KubeClient;
  #o: Required<Pick<OperatorOptions, 'debounceMs' | 'confirmIntervalMs'>> & OperatorOptions;
  #log: Logger;
  #informers = new Map<keyof Snapshot, ResourceInformer>();
  #compiler: ReturnType<typeof createCompiler>;
  #publisher: Publisher;
  #status: StatusWriter;
  #elector: LeaderElector;
  #ops?: OpsHttp;
  #dirtySince: number | undefined;
  #events = 0;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #rerun = false;
  #closed = false;
  /** The last compile result and the times changes were first seen that it has not yet confirmed. */
  #last?: { result: CompileResult; hashes: Map<string, string>; live: Map<string, any> };
  #pendingSeen: number[] = [];
  #confirmTimer?: NodeJS.Timeout;
  #confirming = false;
  #confirmDelay = 0;
  /** What the replicas served when last asked: a recompile whose shards did not move keeps Programmed. */
  #replicas?: ReplicaState[];
  /**
   * uid → generation confirmed served everywhere. Programmed stays True for that generation
   * while the resource stays accepted, even when OTHER resources move its shard: otherwise
   * every StaticHost in the hosts shard would flip to Unknown and back on each change.
   */
  #confirmedGen = new Map<string, number>();
  /** The last time every ready replica was seen serving the whole latest bundle. */
  lastConfirmed?: { at: number; replicas: number };

  constructor(opts: OperatorOptions) {
    this.#o = { ...opts, debounceMs: opts.debounceMs ?? OPERATOR_DEFAULTS.debounceMs, confirmIntervalMs: opts.confirmIntervalMs ?? OPERATOR_DEFAULTS.confirmIntervalMs };
    this.#log = opts.logger.child({ component: 'operator' });
    this.metrics = new OperatorMetrics(opts.registry ?? new Registry());
    this.client = createKubeClient(opts.kubeConfig);
    this.#compiler = createCompiler({ clusterDomain: opts.clusterDomain, operatorNamespace: opts.namespace, now: new Date(), serviceCIDRs: opts.serviceCIDRs, podCIDRs: opts.podCIDRs });
    this.#publisher = new Publisher(this.client, opts.namespace, opts.logger.child({ component: 'publish' }), this.metrics, opts.gzipAboveBytes ?? OPERATOR_DEFAULTS.gzipAboveBytes);
    const identity = opts.identity ?? `${os.hostname()}-${process.pid}`;
    this.#status = new StatusWriter(this.client, opts.logger.child({ component: 'status' }), this.metrics, { controller: 'splitdns.io/operator', instance: identity });
    this.#elector = new LeaderElector({
      client: this.client, namespace: opts.namespace, name: opts.leaseName ?? OPERATOR_DEFAULTS.leaseName, identity,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds,
      renewDeadlineMs: opts.renewDeadlineMs ?? OPERATOR_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? OPERATOR_DEFAULTS.retryPeriodMs,
      logger: opts.logger,
      onStart: () => { this.metrics.isLeader.set(1); this.#publisher.reset(); this.#status.reset(); this.#replicas = undefined; this.#confirmedGen.clear(); this.#markDirty(); },
      onStop: () => { this.metrics.isLeader.set(0); this.#publisher.reset(); this.#status.reset(); },
    });
    for (const r of RESOURCES) {
      this.#informers.set(r.key, new ResourceInformer({ client: this.client, path: r.path, logger: this.#log, onChange: () => this.#markDirty(), backoff: opts.informerBackoff, onRestart: () => this.metrics.informerRestartsTotal.inc() }));
    }
  }

  get isLeader(): boolean { return this.#elector.isLeader; }
  get synced(): boolean { return [...this.#informers.values()].every((i) => i.synced); }
  get httpPort(): number | null { return this.#ops?.port ?? null; }
  get lastResult(): CompileResult | undefined { return this.#last?.result; }

  async start(): Promise<void> {
    if (this.#o.httpPort !== undefined && this.#o.httpPort !== null) {
      this.#ops = await startOpsHttp(this.#o.httpAddress ?? '0.0.0.0', this.#o.httpPort, () => this.synced && !this.#closed, this.metrics.registry,
        () => ({ leader: this.isLeader, synced: this.synced, shards: this.#last?.result.bundle.shards.length ?? 0 }));
    }
    this.#elector.start();
    // Informers sync in the background; the first run waits for all of them.
    for (const inf of this.#informers.values()) void inf.start().then(() => this.#markDirty());
  }

  /** Resolves once every informer has synced (for tests and the bench). */
  async waitSynced(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.start === undefined ? undefined : new Promise<void>((resolve) => {
      const check = () => (i.synced || this.#closed ? resolve() : setTimeout(check, 20));
      check();
    })));
  }

  #markDirty(): void {
    if (this.#closed) return;
    this.#events++;
    this.metrics.workqueueDepth.set(this.#events);
    this.#dirtySince ??= Date.now();
    if (this.#timer || this.#running) { if (this.#running) this.#rerun = true; return; }
    this.#timer = setTimeout(() => { this.#timer = undefined; this.#running = this.#run().finally(() => { this.#running = undefined; if (this.#rerun) { this.#rerun = false; this.#markDirtyAgain(); } }); }, this.#o.debounceMs);
  }

  #markDirtyAgain(): void {
    if (this.#dirtySince === undefined) return;
    this.#events = Math.max(this.#events - 1, 0);
    this.#markDirty();
  }

  async #run(): Promise<void> {
    if (this.#closed || !this.synced || !this.isLeader || this.#dirtySince === undefined) return;
    const seen = this.#dirtySince;
    this.#dirtySince = undefined;
    this.#events = 0;
    this.metrics.workqueueDepth.set(0);
    const snapshot: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
    const live = new Map<string, any>();
    for (const [key, inf] of this.#informers) {
      const items = inf.list() as any[];
      snapshot[key] = items;
      if (key === 'zones' || key === 'forwarders' || key === 'staticHosts') for (const o of items) live.set(o.metadata?.uid, o);
    }
    const t0 = performance.now();
    let result: CompileResult;
    try {
      result = this.#compiler.compile(snapshot);
    } catch (err) {
      this.#log.error({ err }, 'compile failed; nothing published');
      return;
    }
    this.metrics.compileSeconds.observe((performance.now() - t0) / 1000);
    let bytes = 0, records = 0;
    for (const s of result.bundle.shards) { bytes += JSON.stringify(s).length; records += (s as any).rrsets?.length ?? 0; }
    this.metrics.configBytes.set(bytes);
    this.metrics.configRecords.set(records);
    this.metrics.shards.set(result.bundle.shards.length);
    const pub = await this.#publisher.publish(result.bundle.shards as any);
    if (pub.errors) { this.#dirtySince ??= seen; this.#retryLater(); }
    if (pub.written.length || pub.deleted.length) this.#log.info({ written: pub.written, deleted: pub.deleted, unchanged: pub.unchanged }, 'published shards');
    const current = new Set(result.resources.map((r) => r.uid ?? `${r.kind}/${r.namespace ?? ''}/${r.name}`));
    for (const k of this.#confirmedGen.keys()) if (!current.has(k)) this.#confirmedGen.delete(k);
    this.#last = { result, hashes: new Map(result.bundle.shards.map((s) => [s.id, s.hash])), live };
    this.#pendingSeen.push(seen);
    await this.#writeStatuses(this.#replicas);
    this.#confirmDelay = this.#o.confirmIntervalMs;
    this.#scheduleConfirm(0);
  }

  #retryLater(): void {
    setTimeout(() => this.#markDirty(), 1000).unref();
  }

  async #writeStatuses(replicas: ReplicaState[] | undefined): Promise<boolean> {
    const last = this.#last;
    if (!last || !this.isLeader) return false;
    const now = new Date();
    let all = true;
    await Promise.all(last.result.resources.map(async (r) => {
      const accepted = r.status.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
      const key = r.uid ?? `${r.kind}/${r.namespace ?? ''}/${r.name}`;
      if (!accepted) this.#confirmedGen.delete(key);
      let programmed = accepted && this.#confirmedGen.get(key) === r.generation;
      if (accepted && !programmed && replicas !== undefined && servedEverywhere(replicas, r.shardIds, last.hashes)) {
        programmed = true;
        this.#confirmedGen.set(key, r.generation);
      }
      if (accepted && !programmed) all = false;
      const desired = desiredStatus(r, programmed, replicas !== undefined && replicas.length === 0, now);
      await this.#status.write(r, desired, last.live.get(r.uid ?? ''));
    }));
    return all;
  }

  #scheduleConfirm(delay: number): void {
    clearTimeout(this.#confirmTimer);
    this.#confirmTimer = setTimeout(() => void this.#confirm(), delay);
  }

  async #confirm(): Promise<void> {
    if (this.#confirming || this.#closed || !this.#last || !this.isLeader) return;
    this.#confirming = true;
    const last = this.#last;
    let done = false;
    try {
      const replicas = await readReplicas({ client: this.client, namespace: this.#o.namespace, labelSelector: this.#o.dnsSelector, statusPort: this.#o.statusPort, statusPortName: this.#o.statusPortName ?? OPERATOR_DEFAULTS.statusPortName, logger: this.#log });
      this.#replicas = replicas;
      const ids = [...last.hashes.keys()];
      const everything = servedEverywhere(replicas, ids, last.hashes);
      if (everything && this.#last === last) {
        const now = Date.now();
        for (const t of this.#pendingSeen) this.metrics.propagationSeconds.observe((now - t) / 1000);
        this.#pendingSeen = [];
        this.lastConfirmed = { at: now, replicas: replicas.length };
      }
      const allProgrammed = await this.#writeStatuses(replicas);
      done = everything && allProgrammed;
    } catch (err) {
      this.#log.warn({ err }, 'cannot read the DNS server replicas');
    } finally {
      this.#confirming = false;
    }
    if (this.#closed) return;
    if (this.#last !== last) return this.#scheduleConfirm(0);
    if (!done) {
      this.#scheduleConfirm(this.#confirmDelay);
      this.#confirmDelay = Math.min(this.#confirmDelay * 1.5, 5000);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#confirmTimer);
    await this.#elector.stop();
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    await this.#running;
    await this.#ops?.close();
  }
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const op = new Operator(opts);
  await op.start();
  return op;
}
