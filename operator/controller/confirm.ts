// Confirm: which shard hashes does each READY DNS server replica serve? The replicas are the
// pods matching the DNS server label selector in the operator's namespace; each one's /status
// (the DNS server's ops endpoint) lists { id, hash } of the shards it serves. The Confirmer
// owns the polling (at once after a publish, then a fast retry schedule: intervalMs, growing
// ×1.5 to maxIntervalMs (1 s), until everything is served: the replicas usually apply a shard within
// tens of milliseconds of its ConfigMap write, so the first retries come soon) and the confirmed generations: Programmed is decided here, written by the status
// writer. The pods are listed once per poll(); its retries ask the same replicas (ADR 0021).

import http from 'node:http';
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/kube-client.js';
import { sameEntries } from '../compile/lists.js';

export interface ReplicaState { pod: string; address: string; shards: Map<string, string> | undefined /* undefined: unreachable */ }

export interface ConfirmOptions {
  client: KubeClient;
  namespace: string;
  labelSelector: string;
  /** A fixed status port; else the container port named statusPortName. */
  statusPort?: number;
  statusPortName: string;
  logger: Logger;
  timeoutMs?: number;
}

function podReady(pod: any): boolean {
  if (pod?.metadata?.deletionTimestamp) return false;
  if (pod?.status?.phase !== 'Running' || !pod.status.podIP) return false;
  return (pod.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function statusPortOf(pod: any, name: string): number | undefined {
  for (const c of pod?.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
  return undefined;
}

function getJson(url: string, timeoutMs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (err) { reject(err); }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

/** The ready DNS server pods (the label selector's, in the namespace). */
export async function listReadyPods(o: ConfirmOptions): Promise<any[]> {
  const list = await o.client.request('GET', `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods?labelSelector=${encodeURIComponent(o.labelSelector)}`);
  return (list.items ?? []).filter(podReady);
}

/** Asks each of these pods for the shards it serves (in parallel). */
export function askReplicas(o: ConfirmOptions, pods: any[]): Promise<ReplicaState[]> {
  return Promise.all(pods.map(async (pod: any): Promise<ReplicaState> => {
    const port = o.statusPort ?? statusPortOf(pod, o.statusPortName);
    const ip: string = pod.status.podIP;
    const address = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    if (port === undefined) {
      o.logger.warn({ pod: pod.metadata.name, portName: o.statusPortName }, 'DNS server pod has no status port of that name');
      return { pod: pod.metadata.name, address, shards: undefined };
    }
    try {
      const st = await getJson(`http://${address}/status`, o.timeoutMs ?? 1000);
      return { pod: pod.metadata.name, address, shards: new Map((st.shards ?? []).map((s: any) => [String(s.id), String(s.hash)])) };
    } catch (err) {
      o.logger.debug({ err, pod: pod.metadata.name }, 'cannot read DNS server status');
      return { pod: pod.metadata.name, address, shards: undefined };
    }
  }));
}

/**
 * How long the pod list of a poll() is reused by its retries (ADR 0021): a retry only asks the
 * replicas it listed, unless one of them did not answer, the list is older than this, or it was
 * empty. Each poll() (a publish) lists afresh.
 */
export const POD_LIST_REUSE_MS = 1000;

/** True when there is at least one ready replica and every one serves exactly these hashes for these shards. */
export function servedEverywhere(replicas: ReplicaState[], shardIds: string[], hashes: Map<string, string>): boolean {
  if (replicas.length === 0) return false;
  return replicas.every((r) => r.shards !== undefined && shardIds.every((id) => r.shards!.get(id) === hashes.get(id)));
}

/** What the Confirmer needs to know of a resource to decide Programmed. */
export interface Confirmable { key: string; generation: number; accepted: boolean; shardIds: string[] }

/** The waits between polls of one bundle: `first`, growing ×1.5 up to `max`. */
export function* retryDelays(first: number, max: number): Generator<number, never> {
  for (let d = first; ; d = Math.min(d * 1.5, max)) yield Math.round(d);
}

/**
 * The longest wait between two polls while something is not yet served: 1 s. A cold start at
 * 10,000 Services takes the replicas seconds to load every shard; with a 5 s cap the poll after
 * they were done could come 3-4 s late, and every StaticHost's Programmed with it.
 */
export const CONFIRM_MAX_INTERVAL_MS = 1000;

export interface ConfirmerOptions extends Omit<ConfirmOptions, 'client'> {
  client: KubeClient;
  /** The first wait between polls (then ×1.5). */
  intervalMs: number;
  /** Default CONFIRM_MAX_INTERVAL_MS. */
  maxIntervalMs?: number;
  /** After each read of the replicas: write statuses; true when every resource is Programmed. */
  onRead: () => Promise<boolean>;
  /** Every ready replica serves the whole bundle tracked (called after onRead); `seen`: when its changes were first seen. */
  onServed?: (seen: number[], replicas: number) => void;
  /** Milliseconds, monotonic (default performance.now): the pod list's age. */
  now?: () => number;
}

export class Confirmer {
  /** What the replicas served when last asked (undefined: not asked since leadership began). */
  replicas?: ReplicaState[];
  /**
   * key → generation confirmed served everywhere. Programmed stays True for that generation
   * while the resource stays accepted, even when OTHER resources move its shard: otherwise
   * every StaticHost in the hosts shard would flip to Unknown and back on each change.
   */
  #confirmed = new Map<string, number>();
  #target?: Map<string, string>;
  #pendingSeen: number[] = [];
  #timer?: NodeJS.Timeout;
  #polling = false;
  #again = false;
  #delays?: Generator<number, never>;
  #closed = false;
  /** The pods listed by this poll()'s first read, for its retries (undefined: list again). */
  #pods?: { at: number; pods: any[] };
  /** Counts poll() and reset() calls: a list asked for before one is not kept for the retries after it. */
  #lists = 0;
  #now: () => number;

  constructor(private readonly o: ConfirmerOptions) { this.#now = o.now ?? (() => performance.now()); }

  /** A new leadership: nothing is known. */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.replicas = undefined;
    this.#confirmed.clear();
    this.#target = undefined;
    this.#pendingSeen = [];
    this.#pods = undefined;
    this.#lists++;
  }

  /** Takes a generation as confirmed (a new leader: the status already written says so). */
  seed(key: string, generation: number): void { if (!this.#confirmed.has(key)) this.#confirmed.set(key, generation); }

  /** Drops what is known of resources that are gone. */
  retain(keys: Set<string>): void { for (const k of this.#confirmed.keys()) if (!keys.has(k)) this.#confirmed.delete(k); }

  /** Whether a resource is Programmed: its generation confirmed, or its shards served everywhere now. */
  programmed(r: Confirmable): boolean {
    if (!r.accepted) { this.#confirmed.delete(r.key); return false; }
    if (this.#confirmed.get(r.key) === r.generation) return true;
    if (this.#target && this.replicas !== undefined && servedEverywhere(this.replicas, r.shardIds, this.#target)) {
      this.#confirmed.set(r.key, r.generation);
      return true;
    }
    return false;
  }

  /**
   * A new bundle: from now on a resource not yet confirmed counts as served only when the
   * replicas serve these hashes. Set it BEFORE writing the statuses of the new compile, or the
   * replicas' answer for the previous bundle would confirm the new generation.
   */
  track(hashes: Map<string, string>, seen: number): void {
    // The same bundle again (a run that changed nothing): keep the target, so a poll in flight still counts.
    if (!this.#target || !sameEntries(this.#target, hashes)) this.#target = hashes;
    this.#pendingSeen.push(seen);
  }

  /** Poll the replicas now, then on the retry schedule until they serve the tracked bundle. */
  poll(): void {
    this.#pods = undefined;
    this.#lists++;
    this.#delays = retryDelays(this.o.intervalMs, this.o.maxIntervalMs ?? CONFIRM_MAX_INTERVAL_MS);
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    if (this.#polling) { this.#again = true; return; }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => { this.#timer = undefined; void this.#poll(); }, delayMs);
  }

  /** No poll running or scheduled: the tracked bundle served everywhere and its statuses written (or nothing tracked yet). */
  get idle(): boolean { return !this.#polling && this.#timer === undefined; }

  async #poll(): Promise<void> {
    const target = this.#target;
    if (this.#closed || !target) return;
    this.#polling = true;
    let done = false;
    try {
      done = await this.#pollOnce(target);
    } catch (err) {
      this.o.logger.warn({ err }, 'cannot write the statuses');
    } finally {
      this.#polling = false;
    }
    if (this.#closed) return;
    // Asked again meanwhile, or a newer bundle (this answer was stale): poll that at once.
    if (this.#again || this.#target !== target) { this.#again = false; return this.#schedule(0); }
    if (!done) {
      this.#delays ??= retryDelays(this.o.intervalMs, this.o.maxIntervalMs ?? CONFIRM_MAX_INTERVAL_MS);
      this.#schedule(this.#delays.next().value);
    }
  }

  /** One read of the replicas and one round of status writes. true: the target is served everywhere and everything Programmed. */
  async #pollOnce(target: Map<string, string>): Promise<boolean> {
    let replicas: ReplicaState[] | undefined;
    try {
      // A retry asks the replicas the poll listed (one pod list per publish, not per retry: the
      // retries come 10, 15, 22 ms apart while the apiserver is still delivering the write).
      let pods = this.#pods !== undefined && this.#now() - this.#pods.at < POD_LIST_REUSE_MS ? this.#pods.pods : undefined;
      if (pods === undefined) {
        const at = this.#now(), n = this.#lists;
        pods = await listReadyPods(this.o);
        // An empty list is not kept: no replica ready yet (a cold start), and one that becomes
        // ready is found by the next retry, not a second later (0 replicas never confirm anyway).
        if (n === this.#lists && pods.length > 0) this.#pods = { at, pods };
      }
      replicas = await askReplicas(this.o, pods);
      if (replicas.some((r) => r.shards === undefined)) this.#pods = undefined; // gone or not answering: list again
    } catch (err) { this.#pods = undefined; this.o.logger.warn({ err }, 'cannot read the DNS server replicas'); }
    if (this.#target !== target) return false; // reset() or a newer bundle meanwhile: stale
    if (replicas) this.replicas = replicas;
    // The statuses are written even when the replicas could not be read: Accepted and the
    // figures of a new compile do not wait for them (Programmed is decided on what was last read).
    const everything = replicas !== undefined && servedEverywhere(replicas, [...target.keys()], target);
    const allProgrammed = await this.o.onRead();
    if (everything && this.#target === target) { this.o.onServed?.(this.#pendingSeen, replicas!.length); this.#pendingSeen = []; }
    return allProgrammed && everything;
  }

  close(): void { this.#closed = true; clearTimeout(this.#timer); }
}
