// The reconcile loop, level-triggered as controller-runtime's: an event only marks the state
// dirty; one run at a time. Runs start at most once per `debounceMs` (leading edge): the first
// event after a quiet period runs at once, and the events of a burst that follow it are
// coalesced into one run `debounceMs` after the previous run started. A run dirtied meanwhile
// runs again (no earlier than that). A failed run (the callback returns false or throws) is retried after a
// capped exponential backoff that grows per consecutive failure and resets on success; events
// arriving during that wait do not cut it short. While `ready()` is false (informers not
// synced, not the leader) nothing runs and the state stays dirty: whoever makes it ready calls
// markDirty().

import type { Logger } from 'pino';
import { Backoff } from '../../kube/informer.js';
import type { BackoffOptions } from '../../kube/informer.js';

export interface ReconcileLoopOptions {
  debounceMs: number;
  /** One reconcile; `firstSeen` is when the oldest change it covers was seen. true: done. */
  reconcile: (firstSeen: number) => Promise<boolean>;
  ready: () => boolean;
  logger: Logger;
  /** Default: 1 s doubling to 30 s. */
  backoff?: BackoffOptions;
  /** Events coalesced into the next run (0 when idle). */
  onDepth?: (events: number) => void;
  now?: () => number;
  /** Timers (tests inject a fake clock). Default: setTimeout / clearTimeout. */
  timers?: Timers;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const REAL_TIMERS: Timers = { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };

/** How long a run must wait: none after a quiet period, else until `debounceMs` after the last start. */
export function runDelay(now: number, lastStart: number | undefined, debounceMs: number): number {
  return lastStart === undefined ? 0 : Math.max(0, lastStart + debounceMs - now);
}

export class ReconcileLoop {
  #o: ReconcileLoopOptions;
  #backoff: Backoff;
  #now: () => number;
  #timers: Timers;
  /** When the last run started (undefined: none yet). */
  #lastStart: number | undefined;
  #firstSeen: number | undefined;
  #events = 0;
  #timer?: unknown;
  #running?: Promise<void>;
  #closed = false;

  constructor(o: ReconcileLoopOptions) {
    this.#o = o;
    this.#backoff = new Backoff({ initialMs: 1000, maxMs: 30000, ...o.backoff });
    this.#now = o.now ?? Date.now;
    this.#timers = o.timers ?? REAL_TIMERS;
  }

  /** Consecutive failed runs (0 after a success). */
  get failures(): number { return this.#backoff.failures; }

  markDirty(): void {
    if (this.#closed) return;
    this.#events++;
    this.#o.onDepth?.(this.#events);
    this.#firstSeen ??= this.#now();
    if (this.#running) this.#rerun = true;
    this.#schedule(this.#debounced());
  }

  #debounced(): number { return runDelay(this.#now(), this.#lastStart, this.#o.debounceMs); }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined || this.#running || this.#closed) return;
    this.#timer = this.#timers.set(() => { this.#timer = undefined; this.#running = this.#runOnce().finally(() => { this.#running = undefined; this.#afterRun(); }); }, delayMs);
  }

  /** The run in progress failed: wait the backoff. */
  #retry = false;
  /** Marked dirty while a run was in progress: run again after the debounce. */
  #rerun = false;

  async #runOnce(): Promise<void> {
    const seen = this.#firstSeen;
    if (this.#closed || seen === undefined || !this.#o.ready()) return;
    this.#firstSeen = undefined;
    this.#lastStart = this.#now();
    this.#events = 0;
    this.#o.onDepth?.(0);
    let ok = false;
    try { ok = await this.#o.reconcile(seen); }
    catch (err) { this.#o.logger.error({ err }, 'reconcile failed'); }
    if (ok) { this.#backoff.reset(); return; }
    this.#firstSeen = Math.min(this.#firstSeen ?? seen, seen);
    this.#retry = true;
  }

  #afterRun(): void {
    if (this.#closed) return;
    const rerun = this.#rerun;
    this.#rerun = false;
    if (this.#retry) {
      this.#retry = false;
      const delay = this.#backoff.next();
      this.#o.logger.debug({ failures: this.#backoff.failures, retryInMs: Math.round(delay) }, 'reconcile will be retried');
      this.#schedule(delay);
    } else if (rerun && this.#firstSeen !== undefined) {
      this.#schedule(this.#debounced());
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clear(this.#timer);
    await this.#running;
  }
}
