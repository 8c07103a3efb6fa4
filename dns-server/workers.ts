// --workers N: one process, N workers: the main thread (worker 0) and N-1 worker threads, each
// with its own UDP, TCP and ops sockets on the same ports (SO_REUSEPORT: the kernel spreads
// datagrams and connections across them). The main thread also runs the config source, parses
// and validates each update once (ajv is loaded only there), builds the changed shards' tables
// once, as slabs in shared memory (tables/slab.ts), and hands the slabs to every thread (posting
// a SharedArrayBuffer copies nothing). Each worker wraps them and holds them back; when all have,
// the main thread bumps one shared Int32 (the gate) and every worker swaps on its next query (or
// on the commit message, if idle): one version for all, no query lost, none answered from a
// half-applied update. ADR 0010 says why threads, and how the tables came to be shared.
// Node's dgram has `reusePort` from 22.12 on; on older versions we say so and run one thread.

import { Worker, isMainThread, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Validator } from './config/validate.js';
import type { Shard } from './config/types.js';
import type { BuiltShard, BuiltUpdate, Decided, ReloadReport, ValidatedUpdate } from './reload.js';
import type { DnsServer } from './server.js';
import type { ReverseUpdate } from './tables/reverse.js';

/** A worker thread's V8 young generation cap (MB): the default lets each grow to tens of MB under load (ADR 0010). */
const WORKER_YOUNG_GENERATION_MB = 4;

/** Whether this Node's dgram supports reusePort (22.12 and later). */
export function reusePortSupported(version = process.versions.node): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** What the primary sends a worker. */
export type ToWorker =
  | { type: 'apply'; seq: number; update: BuiltUpdate }
  | { type: 'commit' }
  | { type: 'log-queries'; on: boolean }
  | { type: 'stop' };
/** What a worker sends back. */
export type FromWorker = { type: 'listening' } | { type: 'built'; seq: number; report: ReloadReport };

interface WorkerData { splitdnsWorker: true; index: number; gate: SharedArrayBuffer; argv: string[] }

export type WorkerRole =
  | { role: 'single' }
  | { role: 'worker'; index: number; gate: Int32Array }
  /** The main thread of --workers N: serves as worker 0 (gate included), then starts the pool. */
  | { role: 'primary'; workers: number; index: 0; gate: Int32Array };

/** Decides this thread's role. */
export function workerRole(workers: number, log: Logger): WorkerRole {
  const wd = workerData as WorkerData | undefined;
  if (!isMainThread && wd?.splitdnsWorker === true) return { role: 'worker', index: wd.index, gate: new Int32Array(wd.gate) };
  if (workers <= 1) return { role: 'single' };
  if (!reusePortSupported()) {
    log.warn({ workers, node: process.versions.node }, `--workers ${workers} needs Node.js 22.12 or newer (dgram reusePort); running one process`);
    return { role: 'single' };
  }
  return { role: 'primary', workers, index: 0, gate: new Int32Array(new SharedArrayBuffer(4)) };
}

/**
 * The main thread's side: the worker threads, the gate, and the reload protocol (apply to all,
 * wait until all have built, open the gate, tell all to commit). Reloads run one at a time, in
 * order. The main thread's own server is worker 0; the threads are 1..N-1.
 */
export class WorkerPool {
  private readonly workers: (Worker | undefined)[] = [];
  private seq = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  /**
   * The hash and kind of each shard as of the last update handed in (what reports compare
   * against): a version refused (a kind change, a failed build) leaves its last good one here,
   * as in the server's own store, so the same version is refused again, never passed as held.
   */
  private latest = new Map<string, Version>();
  /** The slabs of update `seq`, the last sent to the workers: what a restarted worker starts from. */
  private sent = new Map<string, BuiltShard>();
  private sentReverse: ReverseUpdate | undefined;
  private readonly waiters = new Map<number, { left: Set<number>; done: () => void }>();
  private readonly entry = new URL(`./worker-thread.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

  constructor(
    role: Extract<WorkerRole, { role: 'primary' }>,
    private readonly local: DnsServer,
    private readonly validator: Validator,
    private readonly log: Logger,
    private readonly argv: string[],
  ) {
    this.gate = role.gate;
    for (let i = 1; i < role.workers; i++) this.start(i);
    log.info({ workers: role.workers }, 'started worker threads (reusePort)');
  }

  private readonly gate: Int32Array;

  private start(i: number): void {
    const w = new Worker(this.entry, { resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB }, workerData: { splitdnsWorker: true, index: i, gate: this.gate.buffer as SharedArrayBuffer, argv: this.argv } satisfies WorkerData });
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
      if (this.stopping) { this.exitWhenDone(); return; }
      this.log.error({ worker: i, code }, 'worker thread exited; starting it again');
      setTimeout(() => {
        this.start(i);
        // It starts empty: give it what the others serve (its gate is already open for that seq).
        if (this.seq > 0) {
          const update: BuiltUpdate = { shards: [...this.sent.values()], removed: [], reverse: this.sentReverse && { ...this.sentReverse, touched: null }, full: true };
          this.workers[i]!.postMessage({ type: 'apply', seq: this.seq, update } satisfies ToWorker);
        }
      }, 500);
    });
  }

  private send(m: ToWorker): void {
    for (const w of this.workers) w?.postMessage(m);
  }

  /** Builds a validated update (here, once) and hands its slabs to all workers; swaps it in for all once every live worker has it. */
  private publish(update: ValidatedUpdate): void {
    this.latest = advance(this.latest, update);
    this.chain = this.chain.then(() => this.handOut(this.build(update)));
  }

  /** Builds `update` as the next seq, here (the local server is worker 0). */
  private build(update: ValidatedUpdate): { seq: number; built: BuiltUpdate } {
    const seq = ++this.seq;
    let built: BuiltUpdate = { shards: [], removed: [], reverse: undefined, full: false };
    try {
      const applied = this.local.applyValidated(seq, update);
      built = applied.built;
      this.forgetRefused(update, applied.report.refused);
    } catch (err) { this.log.error({ err }, 'applying an update failed'); }
    for (const b of built.shards) this.sent.set(b.id, b);
    for (const id of built.removed) this.sent.delete(id);
    if (built.reverse !== undefined) this.sentReverse = built.reverse;
    return { seq, built };
  }

  /**
   * Sends the built slabs to every worker and resolves once all have them and the gate is open.
   * Apart from build() on purpose: the waiter's closures live until the slowest worker has built,
   * and a closure made where the validated update is in scope would keep the whole parsed update
   * (at 10,000 Services some 11 MB of objects) alive past the collection the load asks for (heap.ts),
   * leaving the main thread that much larger with workers than without.
   */
  private handOut({ seq, built }: { seq: number; built: BuiltUpdate }): Promise<void> {
    return new Promise<void>((resolve) => {
      const left = new Set(this.workers.flatMap((w, i) => (w ? [i] : [])));
      this.waiters.set(seq, { left, done: () => {
        this.waiters.delete(seq);
        Atomics.store(this.gate, 0, seq); // from here on every worker answers from `seq`
        this.local.commit();
        this.send({ type: 'commit' });
        resolve();
      } });
      this.send({ type: 'apply', seq, update: built });
      if (left.size === 0) this.waiters.get(seq)!.done();
    });
  }

  /** The file source's apply: validates here, once, and publishes to the workers. */
  applyBundle(bundle: unknown): ReloadReport {
    const v = this.validator.bundle(bundle, (id, hash) => this.latest.get(id)?.hash === hash);
    const envelope = v.refused.find((r) => r.id === '(bundle)');
    if (envelope) {
      this.local.refuseBundle(envelope.errors);
      return { applied: [], unchanged: [], removed: [], refused: v.refused };
    }
    const { report, decided } = this.report(v.shards, v.refused);
    const ids = new Set(v.shards.map((s) => s.id));
    const keep = v.refused.map((r) => r.id).filter((id) => this.latest.has(id));
    report.removed = [...this.latest.keys()].filter((id) => !ids.has(id) && !keep.includes(id));
    // A shard with the hash handed in last is kept as held, never handed on: the validator passed
    // it unchecked. One whose kind changed is refused (report()): its last good version is kept.
    const changed: Shard[] = [];
    for (const s of v.shards) if (this.latest.get(s.id)?.hash === s.hash || kindChanged(this.latest, s)) keep.push(s.id); else changed.push(s);
    this.publish({ form: 'bundle', shards: changed, keep, decided });
    return report;
  }

  /** The ConfigMap source's apply. */
  applyShards(changed: unknown[], removedIds: string[]): ReloadReport {
    const good: Shard[] = [];
    const refused: { id: string; errors: string[] }[] = [];
    for (const raw of changed) {
      const r = this.validator.shard(raw);
      if (r.ok) good.push(r.shard); else refused.push({ id: r.id, errors: r.errors });
    }
    const { report, decided } = this.report(good, refused);
    report.removed = removedIds.filter((id) => this.latest.has(id));
    // Every good shard but a kind change is handed on (one the primary thinks unchanged too: a
    // queued build may have refused that version), so the build finds the unchanged ones itself.
    this.publish({ form: 'shards', shards: good.filter((s) => !kindChanged(this.latest, s)), removed: removedIds, decided: { refused: decided.refused, unchanged: [] } });
    return report;
  }

  /**
   * What the update does, as the server's own store reports it (reload.ts apply()): a shard whose
   * kind changed from the version last handed in is refused ('kind changed'), its last good
   * version kept; it is never built. `decided` hands the refusals and unchanged shards to the
   * local store, which counts and logs them as the single-process server does.
   */
  private report(shards: Shard[], invalid: { id: string; errors: string[] }[]): { report: ReloadReport; decided: Decided } {
    const applied: string[] = [];
    const unchanged: string[] = [];
    const refused = [...invalid];
    const decided: Decided = { refused: invalid.map((r) => ({ ...r, hash: 'invalid', detail: r.errors })), unchanged };
    for (const s of shards) {
      const last = this.latest.get(s.id);
      if (last?.hash === s.hash) unchanged.push(s.id);
      else if (last !== undefined && last.kind !== s.kind) {
        refused.push({ id: s.id, errors: ['kind changed'] });
        decided.refused.push({ id: s.id, hash: s.hash, errors: ['kind changed'], detail: [`${s.id}: kind changed from ${last.kind} to ${s.kind}`] });
      } else applied.push(s.id);
    }
    return { report: { applied, unchanged, removed: [], refused }, decided };
  }

  /** After a build: a shard the build refused keeps, in `latest` too, the version it serves (or none). */
  private forgetRefused(update: ValidatedUpdate, refused: { id: string }[]): void {
    for (const r of refused) {
      const tried = update.shards.find((s) => s.id === r.id);
      if (tried === undefined || this.latest.get(r.id)?.hash !== tried.hash) continue; // a later update has replaced it since
      const held = this.local.servedShards().find((s) => s.id === r.id);
      if (held) this.latest.set(r.id, { hash: held.hash, kind: held.kind }); else this.latest.delete(r.id);
    }
  }

  /** Resolves when every reload handed out so far is committed in every worker. */
  settled(): Promise<void> {
    return this.chain;
  }

  setQueryLogging(on: boolean): void {
    this.local.setQueryLogging(on);
    this.send({ type: 'log-queries', on });
  }

  private localDone = false;

  /** SIGTERM/SIGINT: every worker goes lame duck and closes; the process exits when all have. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.send({ type: 'stop' });
    this.local.shutdown().finally(() => { this.localDone = true; this.exitWhenDone(); });
  }

  private exitWhenDone(): void {
    if (this.localDone && this.workers.every((x) => x === undefined)) process.exit(0);
  }
}

interface Version { hash: string; kind: string }

/** Whether `s` has another kind than the version of its id handed in last (reload.ts refuses such a shard). */
const kindChanged = (latest: ReadonlyMap<string, Version>, s: Shard): boolean => {
  const last = latest.get(s.id);
  return last !== undefined && last.kind !== s.kind;
};

/** The shards' versions after an update. */
function advance(versions: ReadonlyMap<string, Version>, u: ValidatedUpdate): Map<string, Version> {
  const version = (s: Shard) => [s.id, { hash: s.hash, kind: s.kind }] as const;
  if (u.form === 'bundle') {
    const keep = new Set(u.keep);
    return new Map([...[...versions].filter(([id]) => keep.has(id)), ...u.shards.map(version)]);
  }
  const next = new Map(versions);
  for (const s of u.shards) next.set(...version(s));
  for (const id of u.removed) next.delete(id);
  return next;
}
