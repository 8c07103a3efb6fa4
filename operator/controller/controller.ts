// The operator: informers → snapshot → compile() → publish shards → confirm with the DNS
// servers → status. Three owners, wired here: the reconcile loop (reconcile-loop.ts: dirty
// flag, debounce, one run at a time, backoff on failure) runs compile and publish; the
// Confirmer (confirm.ts) polls the replicas and decides Programmed; the StatusWriter
// (status-writer.ts) is the only one to write conditions and their times. Nothing is compiled
// before every informer has synced, and only the Lease holder writes.

import os from 'node:os';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createCompiler } from '../compile/index.js';
import type { CompileResult, ResourceResult, Snapshot } from '../compile/index.js';
import { Confirmer } from './confirm.js';
import { ResourceInformer } from '../../kube/informer.js';
import type { BackoffOptions } from '../../kube/informer.js';
import { createKubeClient } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { LeaderElector } from './leader.js';
import { OperatorMetrics } from './metrics.js';
import { startOpsHttp } from './ops-http.js';
import type { OpsHttp } from './ops-http.js';
import { PUBLISH_CONCURRENCY, Publisher } from './publish.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { runSliced, yieldToLoop } from './slices.js';
import { INGRESS_RESOURCE, gatewayResources } from './route-sources.js';
import type { WatchedResource } from './route-sources.js';
import { desiredStatus, keyOfResult, StatusWriter } from './status-writer.js';
import { WRITE_QUEUE_DEFAULTS } from './write-queue.js';
import type { DesiredStatus } from './status-writer.js';
import { stripCustomResource, stripEndpointSlice, stripNamespace, stripService } from './strip.js';
import type { KubeConfig } from '@kubernetes/client-node';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  clusterDomain: string;
  /** The cluster's Service and Pod CIDRs (compile's reverse zones; defaults in reverse-zones.ts). */
  serviceCIDRs?: readonly string[];
  podCIDRs?: readonly string[];
  /** Watch and publish Ingresses, Gateway API routes (only the kinds installed), ExternalDNS's annotation (route-sources.ts). */
  publishIngress?: boolean;
  publishGatewayAPI?: boolean;
  externalDnsHostnameAnnotation?: boolean;
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
  informerBackoff?: BackoffOptions;
  /** Retry of a failed reconcile (publish errors): default 1 s doubling to 30 s. */
  reconcileBackoff?: BackoffOptions;
  /** Client-side limit of status and Event writes (defaults: qps 200, burst 300, 16 in flight). */
  statusWrites?: { qps?: number; burst?: number; concurrency?: number };
  /** User-Agent of every request (default splitdns-operator/<version>). */
  userAgent?: string;
  logger: Logger;
  registry?: Registry;
  /** Milliseconds since the epoch: condition and Event times, the Lease (tests inject a fake clock). */
  now?: () => number;
}

export const OPERATOR_DEFAULTS = {
  debounceMs: 50, leaseName: 'splitdns-operator', leaseDurationSeconds: 15, renewDeadlineMs: 10000, retryPeriodMs: 2000,
  confirmIntervalMs: 10, statusPortName: 'http', gzipAboveBytes: 256 * 1024,
};

/** Each informer's path, what it keeps of an object (strip.ts: what compile reads) and whether its status feeds compile. */
const RESOURCES: WatchedResource[] = [
  { key: 'zones', path: '/apis/splitdns.io/v1alpha1/dnszones', transform: stripCustomResource },
  { key: 'forwarders', path: '/apis/splitdns.io/v1alpha1/dnsforwarders', transform: stripCustomResource },
  { key: 'staticHosts', path: '/apis/splitdns.io/v1alpha1/statichosts', transform: stripCustomResource },
  // A Service's status.loadBalancer.ingress is published: a status change is a change.
  { key: 'services', path: '/api/v1/services', transform: stripService, statusMatters: true },
  { key: 'endpointSlices', path: '/apis/discovery.k8s.io/v1/endpointslices', transform: stripEndpointSlice, statusMatters: true },
  { key: 'namespaces', path: '/api/v1/namespaces', transform: stripNamespace, statusMatters: true },
];

/** A compile result and the live custom resources it was compiled from (their statuses are compared). */
interface LastCompile { result: CompileResult; live: Map<string, any> }

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly client: KubeClient;
  #o: OperatorOptions;
  #log: Logger;
  #informers = new Map<keyof Snapshot, ResourceInformer>();
  #compiler: ReturnType<typeof createCompiler>;
  #publisher: Publisher;
  #status: StatusWriter;
  #confirmer: Confirmer;
  #loop: ReconcileLoop;
  #elector: LeaderElector;
  #ops?: OpsHttp;
  #closed = false;
  /** The last compile result and the live objects it was compiled from. */
  #last?: LastCompile;
  /** Leadership just began: take Programmed generations from the live status (see #writeStatuses). */
  #seedFromLive = false;
  /** key → the desired status last made for a resource and what it was made from: the same object while they hold (the status writer then skips it). */
  #desired = new Map<string, { r: ResourceResult; programmed: boolean; noReplicas: boolean; desired: DesiredStatus }>();
  /** When shards were last written (performance.now()): Pending statuses wait PENDING_GRACE_MS after it. */
  #publishedAt = -Infinity;
  /** The compile notices (a Service's refused PTRs: Services have no status) logged, so each is logged once while it holds. */
  #notices = new Set<string>();
  /**
   * The last status pass that found every resource Programmed and its status written, with the
   * compile it was of: another pass over the same compile, with replicas as before, finds the
   * same (a Confirmer poll after a publish is answered without looking at 1,000s of statuses;
   * it polls several times per change until the replicas serve it).
   */
  #settledPass?: { last: LastCompile; noReplicas: boolean };
  /** The last time every ready replica was seen serving the whole latest bundle. */
  lastConfirmed?: { at: number; replicas: number };

  constructor(opts: OperatorOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'operator' });
    this.metrics = new OperatorMetrics(opts.registry ?? new Registry());
    // Sockets for every request at once: the watches (up to 11 informers), a publish's
    // PUBLISH_CONCURRENCY ConfigMap writes, the status queue's writes (both at once on a cold
    // start: statuses start once the custom resources' shards are written) and the Lease.
    const statusConcurrency = opts.statusWrites?.concurrency ?? WRITE_QUEUE_DEFAULTS.concurrency;
    this.client = createKubeClient(opts.kubeConfig, { userAgent: opts.userAgent, maxSockets: 16 + PUBLISH_CONCURRENCY + statusConcurrency });
    // compile() gives conditions without times: the status writer owns them.
    this.#compiler = createCompiler({ clusterDomain: opts.clusterDomain, operatorNamespace: opts.namespace, serviceCIDRs: opts.serviceCIDRs, podCIDRs: opts.podCIDRs, externalDnsHostnameAnnotation: opts.externalDnsHostnameAnnotation });
    this.#publisher = new Publisher(this.client, opts.namespace, opts.logger.child({ component: 'publish' }), this.metrics, opts.gzipAboveBytes ?? OPERATOR_DEFAULTS.gzipAboveBytes);
    const identity = opts.identity ?? `${os.hostname()}-${process.pid}`;
    this.#status = new StatusWriter({ client: this.client, logger: opts.logger.child({ component: 'status' }), metrics: this.metrics, reporter: { controller: 'splitdns.io/operator', instance: identity }, now: opts.now, ...opts.statusWrites });
    this.#confirmer = new Confirmer({
      client: this.client, namespace: opts.namespace, labelSelector: opts.dnsSelector, statusPort: opts.statusPort,
      statusPortName: opts.statusPortName ?? OPERATOR_DEFAULTS.statusPortName, logger: this.#log,
      intervalMs: opts.confirmIntervalMs ?? OPERATOR_DEFAULTS.confirmIntervalMs,
      onRead: () => this.#writeStatuses(),
      onServed: (seen, replicas) => {
        const now = Date.now();
        for (const t of seen) this.metrics.propagationSeconds.observe((now - t) / 1000);
        this.lastConfirmed = { at: now, replicas };
      },
    });
    this.#loop = new ReconcileLoop({
      debounceMs: opts.debounceMs ?? OPERATOR_DEFAULTS.debounceMs, backoff: opts.reconcileBackoff, logger: this.#log,
      ready: () => !this.#closed && this.synced && this.isLeader,
      reconcile: (seen) => this.#reconcile(seen),
      onDepth: (n) => this.metrics.workqueueDepth.set(n),
    });
    this.#elector = new LeaderElector({
      client: this.client, namespace: opts.namespace, name: opts.leaseName ?? OPERATOR_DEFAULTS.leaseName, identity,
      leaseDurationSeconds: opts.leaseDurationSeconds ?? OPERATOR_DEFAULTS.leaseDurationSeconds,
      renewDeadlineMs: opts.renewDeadlineMs ?? OPERATOR_DEFAULTS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? OPERATOR_DEFAULTS.retryPeriodMs,
      logger: opts.logger, now: opts.now,
      onStart: () => { this.metrics.isLeader.set(1); this.#forget(); this.#seedFromLive = true; this.#loop.markDirty(); },
      onStop: () => { this.metrics.isLeader.set(0); this.#forget(); },
    });
    for (const r of RESOURCES) this.#watch(r);
    if (opts.publishIngress) this.#watch(INGRESS_RESOURCE);
  }

  #watch(r: WatchedResource): void {
    this.#informers.set(r.key, new ResourceInformer({ client: this.client, path: r.path, statusMatters: r.statusMatters, transform: r.transform, logger: this.#log, onChange: () => this.#loop.markDirty(), backoff: this.#o.informerBackoff, onRestart: () => this.metrics.informerRestartsTotal.inc() }));
  }

  get isLeader(): boolean { return this.#elector.isLeader; }
  get synced(): boolean { return [...this.#informers.values()].every((i) => i.synced); }
  get httpPort(): number | null { return this.#ops?.port ?? null; }
  get lastResult(): CompileResult | undefined { return this.#last?.result; }
  /** The Confirmer has nothing left to poll (confirm.ts idle). */
  get confirmerIdle(): boolean { return this.#confirmer.idle; }

  async start(): Promise<void> {
    if (this.#o.httpPort !== undefined && this.#o.httpPort !== null) {
      this.#ops = await startOpsHttp(this.#o.httpAddress ?? '0.0.0.0', this.#o.httpPort, () => this.synced && !this.#closed, this.metrics.registry,
        () => ({ leader: this.isLeader, synced: this.synced, shards: this.#last?.result.bundle.shards.length ?? 0 }));
    }
    // Gateway API kinds only where their CRDs are installed (discovery; logged once when absent).
    if (this.#o.publishGatewayAPI) for (const r of await gatewayResources(this.client, this.#log)) this.#watch(r);
    this.#elector.start();
    // Informers sync in the background; the first run waits for all of them.
    for (const inf of this.#informers.values()) void inf.start().then(() => this.#loop.markDirty());
  }

  /** Leadership began or ended: what we knew of ConfigMaps, statuses and replicas may be stale. */
  #forget(): void {
    this.#publisher.reset();
    this.#status.reset();
    this.#confirmer.reset();
    this.#desired.clear();
    this.#last = undefined;
    this.#settledPass = undefined;
  }

  /** One reconcile: compile the caches, publish, have the Confirmer ask the replicas and write the statuses. false: retry later. */
  async #reconcile(seen: number): Promise<boolean> {
    const snapshot: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
    const live = new Map<string, any>();
    for (const [key, inf] of this.#informers) {
      const items = inf.list() as any[];
      snapshot[key] = items;
      if (key === 'zones' || key === 'forwarders' || key === 'staticHosts') for (const o of items) live.set(o.metadata?.uid, o);
    }
    const t0 = performance.now();
    const startedAt = Date.now();
    let result: CompileResult;
    try {
      // In slices (slices.ts): at 10,000 Services a whole compile is seconds of CPU, which
      // would leave /healthz, the Lease renewal and the watches unserved meanwhile.
      let longest = 0;
      result = await runSliced(this.#compiler.steps(snapshot), { onSlice: (ms) => { longest = Math.max(longest, ms); } });
      this.metrics.compileLongestSlice.set(longest / 1000);
    } catch (err) {
      this.#log.error({ err }, 'compile failed; nothing published');
      return true; // the same caches would fail the same way: wait for the next change
    }
    this.metrics.compileSeconds.observe((performance.now() - t0) / 1000);
    const compiledAt = Date.now();
    this.#logNotices(result);
    const shards = result.bundle.shards;
    let bytes = 0, records = 0;
    for (const s of shards) { bytes += this.#publisher.serialised(s).length; records += 'rrsets' in s ? s.rrsets.length : 0; }
    this.metrics.configBytes.set(bytes);
    this.metrics.configRecords.set(records);
    this.metrics.shards.set(shards.length);
    // Once the custom resources' shards are written (before the namespaces' Services shards:
    // publish.ts), this compile becomes the one whose statuses are written, and the Confirmer
    // polls at once: when the replicas already serve those shards, one write carries Programmed
    // too. #last and the Confirmer's target are set together, synchronously, so no poll can
    // judge this compile's generations against the previous bundle's hashes.
    let confirming = false;
    const confirm = (): void => {
      if (confirming || !this.isLeader) return; // lost leadership meanwhile: the new leader starts afresh
      confirming = true;
      const keys = new Set(result.resources.map(keyOfResult));
      this.#confirmer.retain(keys);
      this.#status.retain(keys);
      for (const k of this.#desired.keys()) if (!keys.has(k)) this.#desired.delete(k);
      this.#last = { result, live };
      this.#confirmer.track(new Map(shards.map((s) => [s.id, s.hash])), seen);
      this.#confirmer.poll();
    };
    // Nothing of the custom resources written and one wave of Services shards to write (an
    // endpoint change): the first poll waits for them (ADR 0021). Polled before, its pod list,
    // /status read and status pass ran beside the PUT and the replicas' apply, on the change's
    // critical path, and the poll after the PUT came anyway.
    const pub = await this.#publisher.publish(shards, (written, servicesToWrite) => {
      if (written > 0) this.#publishedAt = performance.now();
      if (written > 0 || servicesToWrite > PUBLISH_CONCURRENCY) confirm();
    });
    if (pub.written.length) this.#publishedAt = performance.now();
    if (pub.written.length || pub.deleted.length) this.#log.info({ written: pub.written, deleted: pub.deleted, unchanged: pub.unchanged }, 'published shards');
    // Where a change's time went (wall ms): first seen (watch event) → run started → compiled → written.
    this.#log.debug({ seenAt: seen, startedAt, compiledAt, publishedAt: Date.now(), written: pub.written }, 'reconciled');
    if (!this.isLeader) return true; // lost leadership meanwhile: the new leader starts afresh
    // Services shards written after the first poll: poll again (replicas then serve them too).
    if (confirming) this.#confirmer.poll(); else confirm();
    return pub.errors === 0;
  }

  /** A Service has no status to carry a refused PTR: each such notice is logged at warn once, while it holds. */
  #logNotices(result: CompileResult): void {
    const now = new Set<string>();
    for (const n of result.notices ?? []) {
      const line = `${n.ref}: ${n.reason}: ${n.message}`;
      now.add(line);
      if (!this.#notices.has(line)) this.#log.warn({ resource: n.ref, reason: n.reason, problem: n.message }, 'PTR refused; the forward names are still served');
    }
    this.#notices = now;
  }

  /**
   * Writes the statuses of the last compile result, Programmed from the Confirmer, through the
   * status writer's queue. true: every accepted resource is Programmed.
   */
  async #writeStatuses(): Promise<boolean> {
    const last = this.#last;
    if (!last || !this.isLeader) return false;
    const seed = this.#seedFromLive;
    this.#seedFromLive = false;
    const replicas = this.#confirmer.replicas;
    const noReplicas = replicas !== undefined && replicas.length === 0;
    if (!seed && this.#settledPass?.last === last && this.#settledPass.noReplicas === noReplicas) return true;
    // Just published: a status that would only say Pending waits a moment for the replicas
    // (they mostly serve within it), so one patch carries Programmed instead of two.
    const holdPending = performance.now() - this.#publishedAt < PENDING_GRACE_MS && replicas?.length !== 0;
    let all = true;
    const failuresBefore = this.#status.statusFailures;
    const writes: Promise<unknown>[] = [];
    const resources = last.result.resources;
    for (let i = 0; i < resources.length; i++) {
      // Diff in slices, yielding between them, so /healthz, the Lease and the watches keep
      // being served while 10,000 statuses are compared.
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
      const r = resources[i];
      const accepted = r.status.conditions.some((c) => c.type === 'Accepted' && c.status === 'True');
      const key = keyOfResult(r);
      const liveObj = r.uid === undefined ? undefined : last.live.get(r.uid);
      // A new leader starts from the status already written: a generation the previous leader
      // saw served stays Programmed until the replicas say otherwise.
      if (seed && accepted && programmedGeneration(liveObj) === r.generation) this.#confirmer.seed(key, r.generation);
      const programmed = this.#confirmer.programmed({ key, generation: r.generation, accepted, shardIds: r.shardIds });
      if (accepted && !programmed) {
        all = false;
        if (holdPending) continue;
      }
      let d = this.#desired.get(key);
      if (d === undefined || d.r !== r || d.programmed !== programmed || d.noReplicas !== noReplicas) this.#desired.set(key, (d = { r, programmed, noReplicas, desired: desiredStatus(r, programmed, noReplicas) }));
      // Settled (the common case: one change elsewhere): no promise, nothing to await.
      if (!this.#status.settled(r, d.desired, liveObj)) writes.push(this.#status.write(r, d.desired, liveObj));
    }
    // While something is not yet Programmed the Confirmer polls again anyway: the patches are
    // left to the queue, not awaited, so the next poll comes on time (a cold start queues 1,000s
    // of patches, seconds at the rate limit) and its newer status replaces a patch still waiting
    // (one patch carrying Programmed instead of two). Once everything is Programmed the patches
    // are awaited (rate-limited: seconds at scale; not the Events that follow them, which the
    // status writer records in the background), so a failed one makes the Confirmer poll again.
    if (!all) return false;
    await Promise.all(writes);
    // A failed patch leaves a status unwritten: not done, so the Confirmer polls (and writes) again.
    const done = this.#status.statusFailures === failuresBefore;
    if (done && this.#last === last) this.#settledPass = { last, noReplicas };
    return done;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#confirmer.close();
    // No status patch or Event lands after this operator stops (and releases its Lease): a
    // restarted or newer leader compares against what is written, and writes nothing twice.
    await this.#status.close();
    await this.#elector.stop();
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    await this.#loop.close();
    await this.#ops?.close();
    this.metrics.close();
  }
}

/**
 * How long after a publish a status that would say Programmed=Unknown (Pending) is held back
 * while the replicas are asked (the Confirmer keeps polling). At 10,000 Services the replica
 * served a cold start's hosts shard 1.7 s after the first publish on a loaded 2-core machine;
 * after one change, within tens of milliseconds. A status of a rejected or Programmed resource,
 * or with no ready replica, is never held.
 */
export const PENDING_GRACE_MS = 2000;

/** Objects handled between two yields to the event loop (status diffing). */
const YIELD_EVERY = 250;

/** The generation the live object's status says is Programmed (True), if any. */
function programmedGeneration(live: any): number | undefined {
  const c = (Array.isArray(live?.status?.conditions) ? live.status.conditions : []).find((x: any) => x?.type === 'Programmed');
  return c?.status === 'True' && typeof c.observedGeneration === 'number' ? c.observedGeneration : undefined;
}

export async function startOperator(opts: OperatorOptions): Promise<Operator> {
  const op = new Operator(opts);
  await op.start();
  return op;
}
