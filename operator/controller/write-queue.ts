// The API writes of the status writer (status patches, Events) go through one queue: a
// client-side rate limit like client-go's (a token bucket: `qps` tokens a second, at most
// `burst` saved up), at most `concurrency` requests in flight, and the most recent change
// first (a job's priority is the time its resource's state changed; newest runs first). A job
// queued again under the same key before it started replaces the earlier one (which resolves
// `undefined`), so a resource that changes twice while it waits is written once, with its
// newest state. Two jobs of one key never run at once: a job waits while an earlier one of its
// key is in flight (so an older status patch can never land after a newer one).

export interface WriteQueueOptions {
  /** Sustained writes a second (client-go's QPS). */
  qps: number;
  /** Writes allowed at once after a quiet spell (client-go's Burst). */
  burst: number;
  /** Most writes in flight. */
  concurrency: number;
  /** Milliseconds, monotonic (tests inject a fake clock). */
  now?: () => number;
  /** Waits `ms` (tests inject a fake timer). */
  sleep?: (ms: number) => Promise<void>;
  /** Called with the number of jobs waiting or in flight whenever it changes. */
  onDepth?: (jobs: number) => void;
}

/**
 * 200/s, burst 300 (Karpenter's defaults; client-go's are 5/10, controller-runtime's 20/30): a
 * cold start at 1,000 StaticHosts is one patch each, written in (1,000 - 300) / 200 = 3.5 s,
 * inside issue 16's 10 s with room for the replicas to load first. 16 in flight (was 8): at
 * 8, an apiserver answering a patch in 40 ms or more (a loaded one) held the writes under
 * 200/s whatever the bucket allowed (on a loaded apiserver 16 bought ~8% more patches a second:
 * its own throughput bounds it). The operator's kube client has sockets for these, a publish's
 * and the watches' at once (controller.ts), so the Lease never waits for one. ADR 0013.
 */
export const WRITE_QUEUE_DEFAULTS = { qps: 200, burst: 300, concurrency: 16 };

/** Token bucket: take() resolves when a token is available. */
export class TokenBucket {
  #tokens: number;
  #at: number;
  constructor(private readonly qps: number, private readonly burst: number, private readonly now: () => number) {
    this.#tokens = burst;
    this.#at = now();
  }
  /** Milliseconds until a token is available (0: take one now). */
  wait(): number {
    const t = this.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#at) / 1000) * this.qps);
    this.#at = t;
    if (this.#tokens >= 1) { this.#tokens -= 1; return 0; }
    return Math.ceil(((1 - this.#tokens) / this.qps) * 1000);
  }
}

interface Job<T> { key: string; priority: number; seq: number; run: () => Promise<T>; resolve: (v: T | undefined) => void; reject: (e: unknown) => void }

export class WriteQueue {
  #waiting = new Map<string, Job<any>>();
  #inFlight = 0;
  /** Keys of the jobs in flight. */
  #running = new Set<string>();
  #pumping = false;
  #closed = false;
  /** Settles when the last job in flight has ended (close() waits on it). */
  #idle: (() => void)[] = [];
  #seq = 0;
  #bucket: TokenBucket;
  #sleep: (ms: number) => Promise<void>;
  constructor(private readonly o: WriteQueueOptions) {
    this.#bucket = new TokenBucket(o.qps, o.burst, o.now ?? (() => performance.now()));
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  get depth(): number { return this.#waiting.size; }
  #reportDepth(): void { this.o.onDepth?.(this.#waiting.size + this.#inFlight); }
  get inFlight(): number { return this.#inFlight; }

  /** Runs `run` when its turn comes; undefined if a later job with the same key replaced it. */
  enqueue<T>(key: string, priority: number, run: () => Promise<T>): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve, reject) => {
      if (this.#closed) { resolve(undefined); return; }
      const old = this.#waiting.get(key);
      if (old) { this.#waiting.delete(key); old.resolve(undefined); }
      this.#waiting.set(key, { key, priority, seq: this.#seq++, run, resolve, reject });
      this.#reportDepth();
      void this.#pump();
    });
  }

  /** Drops every waiting job (they resolve undefined): leadership ended. */
  clear(): void {
    for (const j of this.#waiting.values()) j.resolve(undefined);
    this.#waiting.clear();
    this.#reportDepth();
  }

  /**
   * Stops the queue: waiting jobs are dropped (they resolve undefined), later ones are refused
   * the same way, and the promise settles once the writes already in flight have ended, so
   * nothing this queue sends lands after it (an operator that stopped writes nothing more).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.clear();
    if (this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
  }

  #next(): Job<any> | undefined {
    let best: Job<any> | undefined;
    for (const j of this.#waiting.values()) {
      if (this.#running.has(j.key)) continue;
      if (!best || j.priority > best.priority || (j.priority === best.priority && j.seq < best.seq)) best = j;
    }
    return best;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#waiting.size > 0 && this.#inFlight < this.o.concurrency) {
        // None but jobs whose key is in flight: the end of that one pumps again.
        const job = this.#next();
        if (job === undefined) break;
        // After a wait the choice is made again (a newer job may have come meanwhile).
        const ms = this.#bucket.wait();
        if (ms > 0) { await this.#sleep(ms); continue; }
        this.#waiting.delete(job.key);
        this.#inFlight++;
        this.#running.add(job.key);
        job.run().then(job.resolve, job.reject).finally(() => {
          this.#inFlight--; this.#running.delete(job.key); this.#reportDepth();
          if (this.#inFlight === 0) for (const r of this.#idle.splice(0)) r();
          void this.#pump();
        });
      }
    } finally { this.#pumping = false; }
  }
}
