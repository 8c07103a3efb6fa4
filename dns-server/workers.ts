// --workers N: one process, N worker threads, each with its own UDP, TCP and ops sockets on the
// same ports (SO_REUSEPORT: the kernel spreads datagrams and connections across them). The
// primary (main) thread serves nothing: it runs the config source, parses and validates each
// update once (ajv lives only here), and hands the validated shards to every worker. Each worker
// builds its tables and holds them back; when all have built, the primary bumps one shared
// Int32 (the gate) and every worker swaps on its next query (or on the commit message, if idle):
// one version for all, no query lost, none answered from a half-applied update. ADR 0010 says
// why threads and not processes or one table in shared memory.
// Node's dgram has `reusePort` from 22.12 on; on older versions we say so and run one thread.

import { Worker, isMainThread, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { validateBundle, validateShard } from './config/validate.js';
import type { Shard } from './config/types.js';
import type { ReloadReport, ValidatedUpdate } from './reload.js';

/** Whether this Node's dgram supports reusePort (22.12 and later). */
export function reusePortSupported(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** What the primary sends a worker. */
export type ToWorker =
  | { type: 'apply'; seq: number; update: ValidatedUpdate }
  | { type: 'commit' }
  | { type: 'log-queries'; on: boolean }
  | { type: 'stop' };
/** What a worker sends back. */
export type FromWorker = { type: 'listening' } | { type: 'built'; seq: number; report: ReloadReport };

interface WorkerData { splitdnsWorker: true; index: number; gate: SharedArrayBuffer; argv: string[] }

export type WorkerRole =
  | { role: 'single' }
  | { role: 'worker'; index: number; gate: Int32Array }
  | { role: 'primary'; pool: WorkerPool };

/** Decides this thread's role; in the primary with workers > 1, starts them (the caller does not serve then). */
export function setupWorkers(workers: number, log: Logger, argv: string[]): WorkerRole {
  const wd = workerData as WorkerData | undefined;
  if (!isMainThread && wd?.splitdnsWorker === true) return { role: 'worker', index: wd.index, gate: new Int32Array(wd.gate) };
  if (workers <= 1) return { role: 'single' };
  if (!reusePortSupported()) {
    log.warn({ workers, node: process.versions.node }, `--workers ${workers} needs Node.js 22.12 or newer (dgram reusePort); running one process`);
    return { role: 'single' };
  }
  return { role: 'primary', pool: new WorkerPool(workers, log, argv) };
}

/**
 * The primary's side: the workers, the gate, and the reload protocol (apply to all, wait until
 * all have built, open the gate, tell all to commit). Reloads run one at a time, in order.
 */
export class WorkerPool {
  private readonly gate = new Int32Array(new SharedArrayBuffer(4));
  private readonly workers: (Worker | undefined)[] = [];
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  /** The validated shards as of the last update handed in (what reports compare against). */
  private latest = new Map<string, Shard>();
  /** The validated shards of update `seq`, the last sent to the workers: what a restarted worker starts from. */
  private sent = new Map<string, Shard>();
  private readonly waiters = new Map<number, { left: Set<number>; done: () => void }>();
  private readonly entry = new URL(`./worker-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

  constructor(private readonly n: number, private readonly log: Logger, private readonly argv: string[]) {
    for (let i = 0; i < n; i++) this.start(i);
    log.info({ workers: n }, 'started worker threads (reusePort)');
  }

  private start(i: number): void {
    const w = new Worker(this.entry, { workerData: { splitdnsWorker: true, index: i, gate: this.gate.buffer, argv: this.argv } satisfies WorkerData });
    this.workers[i] = w;
    w.on('message', (m: FromWorker) => {
      if (m.type !== 'built') return;
      const waiter = this.waiters.get(m.seq);
      if (waiter && waiter.left.delete(i) && waiter.left.size === 0) waiter.done();
    });
    w.on('error', (err) => this.log.error({ worker: i, err }, 'worker thread failed'));
    w.on('exit', (code) => {
      this.workers[i] = undefined;
      for (const waiter of this.waiters.values()) if (waiter.left.delete(i) && waiter.left.size === 0) waiter.done();
      if (this.stopping) { if (this.workers.every((x) => x === undefined)) process.exit(0); return; }
      this.log.error({ worker: i, code }, 'worker thread exited; starting it again');
      setTimeout(() => {
        this.start(i);
        // It starts empty: give it what the others serve (its gate is already open for that seq).
        if (this.seq > 0) this.workers[i]!.postMessage({ type: 'apply', seq: this.seq, update: { form: 'bundle', shards: [...this.sent.values()], keep: [] } } satisfies ToWorker);
      }, 500);
    });
  }

  private send(m: ToWorker): void {
    for (const w of this.workers) w?.postMessage(m);
  }

  /** Hands a validated update to all workers; swaps it in for all once every live worker has built it. */
  private publish(update: ValidatedUpdate): void {
    this.latest = advance(this.latest, update);
    this.chain = this.chain.then(() => new Promise<void>((resolve) => {
      this.sent = advance(this.sent, update);
      const seq = ++this.seq;
      const left = new Set(this.workers.flatMap((w, i) => (w ? [i] : [])));
      this.waiters.set(seq, { left, done: () => {
        this.waiters.delete(seq);
        Atomics.store(this.gate, 0, seq); // from here on every worker answers from `seq`
        this.send({ type: 'commit' });
        resolve();
      } });
      this.send({ type: 'apply', seq, update });
      if (left.size === 0) this.waiters.get(seq)!.done();
    }));
  }

  /** The file source's apply: validates here, once, and publishes to the workers. */
  applyBundle(bundle: unknown): ReloadReport {
    const v = validateBundle(bundle);
    const report = this.report(v.shards, v.refused);
    if (v.refused.some((r) => r.id === '(bundle)')) return report;
    const ids = new Set(v.shards.map((s) => s.id));
    const keep = v.refused.map((r) => r.id).filter((id) => this.latest.has(id));
    report.removed = [...this.latest.keys()].filter((id) => !ids.has(id) && !keep.includes(id));
    this.publish({ form: 'bundle', shards: v.shards, keep });
    return report;
  }

  /** The ConfigMap source's apply. */
  applyShards(changed: unknown[], removedIds: string[]): ReloadReport {
    const good: Shard[] = [];
    const refused: { id: string; errors: string[] }[] = [];
    for (const raw of changed) {
      const r = validateShard(raw);
      if (r.ok) good.push(r.shard); else refused.push({ id: r.id, errors: r.errors });
    }
    const report = this.report(good, refused);
    report.removed = removedIds.filter((id) => this.latest.has(id));
    this.publish({ form: 'shards', shards: good, removed: removedIds });
    return report;
  }

  private report(shards: Shard[], refused: { id: string; errors: string[] }[]): ReloadReport {
    for (const r of refused) this.log.error({ shard: r.id, errors: r.errors }, 'shard refused; its last good version keeps serving');
    const applied = shards.filter((s) => this.latest.get(s.id)?.hash !== s.hash).map((s) => s.id);
    const unchanged = shards.filter((s) => this.latest.get(s.id)?.hash === s.hash).map((s) => s.id);
    return { applied, unchanged, removed: [], refused };
  }

  /** Resolves when every reload handed out so far is committed in every worker. */
  settled(): Promise<void> {
    return this.chain;
  }

  setQueryLogging(on: boolean): void {
    this.send({ type: 'log-queries', on });
  }

  /** SIGTERM/SIGINT: every worker goes lame duck and closes; the process exits when all have. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.send({ type: 'stop' });
  }
}

/** The shards after an update. */
function advance(shards: ReadonlyMap<string, Shard>, u: ValidatedUpdate): Map<string, Shard> {
  if (u.form === 'bundle') {
    const keep = new Set(u.keep);
    return new Map([...[...shards].filter(([id]) => keep.has(id)), ...u.shards.map((s) => [s.id, s] as const)]);
  }
  const next = new Map(shards);
  for (const s of u.shards) next.set(s.id, s);
  for (const id of u.removed) next.delete(id);
  return next;
}
