// The main thread's V8 heap. First, its young generation: V8 doubles the semi-spaces whenever
// a burst allocates fast (parsing a bundle, building the tables) up to 16 MB each, and keeps them: 32 MB resident
// for a server whose live young objects are a few kilobytes (issue 14: measured at 10,000
// Services). Worker threads are capped by their resourceLimits (workers.ts); the main thread's
// heap is configured before our code runs, but V8 reads the growth factor at each growth, so a
// factor of 1 keeps its semi-spaces near their initial size: a step or two at most (seen: new
// space 1 -> 2 MB under Node 20, up to 8 MB under Node 24, against V8's own 32-128 MB). The query path allocates little, so
// scavenges stay cheap and rare (ADR 0010 gives the same reason for the workers' cap).
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Keeps this process's young generation near its initial size (see the file comment). */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

// After a large load, the garbage it leaves (the parsed bundle: at 10,000 Services / 100,000
// endpoints 46 MB of objects and a 17 MB string) stays in the old generation until V8 next runs
// a major GC, and a server that then only answers queries allocates too little to cause one: the
// standalone server still held 142 MiB resident 20 s after its load; 96 MiB after one
// collection (issue 14).
// Node has no API to ask for a collection without --expose-gc; the flag set at run time gives
// `gc` to contexts made after it (the main context does not get it: no global appears), the way
// Jest's leak detector gets it. One collection costs ~10-30 ms of main thread at that size,
// after a load that took ~300 ms; a small update (one changed shard of ordinary size) never asks
// for one. One namespace's shard can itself pass the threshold (reload.ts LARGE_LOAD_BYTES: about
// 1,000 Services with 10 endpoints each), and then every change to it would: collections are
// paced, at most one per COLLECTION_GAP_MS, one asked for within that gap runs at its end.

let collect: (() => void) | undefined;

/**
 * Whether `gc` is asked for V8's last-resort collection (V8 13, Node 24: several passes, and the
 * freed pages given back to the system at once). There a plain `gc()` frees the objects but
 * keeps their pages resident until the memory reducer runs, seconds later or not at all
 * (measured: 85 MB of garbage, RSS 148 -> 137 MB plain, -> 61 MB last-resort). V8 11 (Node 20)
 * gives the pages back after a plain `gc()` and does less with the options object (-> 122 MB).
 */
const LAST_RESORT = Number(process.versions.v8.split('.')[0]) >= 13;

/** V8's full collection, or undefined where it cannot be had (then nothing is collected early). */
function collector(): (() => void) | undefined {
  if (collect !== undefined) return collect;
  const fromGlobal = (globalThis as { gc?: () => void }).gc;
  if (typeof fromGlobal === 'function') return (collect = fromGlobal);
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') {
      const full = gc as (options?: object) => void;
      collect = LAST_RESORT ? () => full({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : () => full();
    }
  } catch { /* a runtime without the flag: V8 collects when it will */ }
  return collect;
}

/** The least time between two collections asked for by collectGarbageSoon. */
export const COLLECTION_GAP_MS = 30_000;

/**
 * Runs `run` when asked, at most once per `gapMs`: a first ask runs it in a turn of its own
 * (`later` with 0 ms), an ask within the gap after a run runs it once at the gap's end; asks
 * while one is waiting join it.
 */
export class CollectionPacer {
  private lastRun = -Infinity;
  private waiting = false;

  constructor(
    private readonly run: () => void,
    private readonly gapMs: number,
    private readonly now: () => number,
    private readonly later: (fn: () => void, ms: number) => void,
  ) {}

  ask(): void {
    if (this.waiting) return;
    this.waiting = true;
    this.later(() => {
      this.waiting = false;
      this.lastRun = this.now();
      this.run();
    }, Math.max(0, this.lastRun + this.gapMs - this.now()));
  }
}

/** `gc` paced at COLLECTION_GAP_MS on the real clock; its pending run does not keep the process alive. */
function pacedCollections(gc: () => void): CollectionPacer {
  return new CollectionPacer(gc, COLLECTION_GAP_MS, () => performance.now(), (fn, ms) => {
    if (ms === 0) setImmediate(fn).unref(); else setTimeout(fn, ms).unref();
  });
}

let pacer: CollectionPacer | undefined;

/**
 * Asks for one full garbage collection once the current task is over (coalesced, and paced: see
 * CollectionPacer), so the garbage of a large load is given back to the system. The pending
 * collection does not keep the process alive.
 */
export function collectGarbageSoon(): void {
  if (pacer === undefined) {
    const gc = collector();
    if (gc === undefined) return;
    pacer = pacedCollections(gc);
  }
  pacer.ask();
}

// A thread's first queries leave garbage too: a name new to a thread (lookup.ts keeps it in its
// recall index; the first thread to ask it also prepares its answers, tables/prepare.ts, decoding
// its record and planning the answer) leaves keys, entries and replies, and a burst of first
// queries (a worker that has just started, a reload's new tables) leaves megabytes of that in the
// old generation, where V8's memory reducer may collect it seconds later or not at all (issue 14:
// at 10,000 Services, ~10 MB in one thread after every name was asked, given back in some runs
// and not in others, so the resident size of the same server moved by that much from run to run).
// Each thread counts the names new to it (noteNewName: once a name, where the thread first keeps
// it: lookup.ts for the names of the tables, tables/reverse.ts for a PTR name it prepares, which
// is not recalled); once BURST_NAMES have been counted since its last such collection and none
// for BURST_QUIET_MS, it asks for one (its own pacer: at most one per COLLECTION_GAP_MS, apart
// from the load's). A thread that meets a new name now and then never passes the count quickly.

/** Names new to the thread since the last collection after a burst from which the burst's end is awaited. */
export const BURST_NAMES = 1000;
/** How long no new name comes before a burst counts as over. */
export const BURST_QUIET_MS = 1000;

/**
 * Counts events (`note`); once `threshold` have been noted since the last run and then none for
 * `quietMs`, runs `run` once and counts from zero again. `later` schedules a check.
 */
export class AfterBurst {
  private count = 0;
  private seen = 0;
  private waiting = false;

  constructor(
    private readonly run: () => void,
    private readonly threshold: number,
    private readonly quietMs: number,
    private readonly later: (fn: () => void, ms: number) => void,
  ) {}

  note(): void {
    if (++this.count < this.threshold || this.waiting) return;
    this.waiting = true;
    this.seen = this.count;
    this.later(this.check, this.quietMs);
  }

  private readonly check = (): void => {
    if (this.count !== this.seen) {
      this.seen = this.count;
      this.later(this.check, this.quietMs);
      return;
    }
    this.waiting = false;
    this.count = 0;
    this.run();
  };
}

let burst: AfterBurst | undefined | null;

/** Tells this thread's heap that a name is new to it (see AfterBurst above): once a name. */
export function noteNewName(): void {
  if (burst === undefined) {
    const gc = collector();
    if (gc === undefined) { burst = null; return; }
    const paced = pacedCollections(gc);
    burst = new AfterBurst(() => paced.ask(), BURST_NAMES, BURST_QUIET_MS, (fn, ms) => { setTimeout(fn, ms).unref(); });
  }
  burst?.note();
}
