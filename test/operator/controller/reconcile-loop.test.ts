// The reconcile loop and the backoff it shares with the informers: coalescing, one run at a
// time, rerun when dirtied meanwhile, growing capped retries that reset on success.

import { expect } from 'chai';
import pino from 'pino';
import { Backoff } from '../../../kube/informer.js';
import { ReconcileLoop, runDelay } from '../../../operator/controller/reconcile-loop.js';
import type { Timers } from '../../../operator/controller/reconcile-loop.js';
import { retryDelays } from '../../../operator/controller/confirm.js';
import { until } from '../../helpers/until.js';

const silent = pino({ level: 'silent' });

describe('operator controller: backoff', () => {
  it('doubles per consecutive failure from the first step to the cap, with jitter in [d/2, d], and restarts after reset()', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    const lows = Array.from({ length: 7 }, () => low.next());
    const highs = Array.from({ length: 7 }, () => high.next());
    expect(highs).to.deep.equal([100, 200, 400, 800, 1000, 1000, 1000]);
    expect(lows).to.deep.equal([50, 100, 200, 400, 500, 500, 500]);
    expect(high.failures).to.equal(7);
    high.reset();
    expect(high.next()).to.equal(100);
  });

  it('caps at 2 s by default, so an API back from a long outage is retried within 2 s', () => {
    const b = new Backoff({}, () => 1);
    let d = 0;
    for (let i = 0; i < 100; i++) d = b.next();
    expect(d).to.equal(2000);
  });
});

describe('operator controller: reconcile loop', () => {
  it('coalesces a burst into one run, reruns when dirtied during a run, and never runs two at once', async () => {
    let running = 0, maxRunning = 0;
    const seen: number[] = [];
    let release: (() => void) | undefined;
    const loop = new ReconcileLoop({
      debounceMs: 5, logger: silent, ready: () => true,
      reconcile: async (first) => {
        seen.push(first);
        running++; maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((r) => { release = r; });
        running--;
        return true;
      },
    });
    for (let i = 0; i < 10; i++) loop.markDirty();
    await until('first run', () => seen.length === 1);
    loop.markDirty();
    loop.markDirty();
    release!();
    await until('the rerun', () => seen.length === 2);
    release!();
    await loop.close();
    expect(seen).to.have.length(2);
    expect(maxRunning).to.equal(1);
  });

  it('does not run while not ready, and runs once made ready and marked', async () => {
    let ready = false;
    let runs = 0, asked = 0;
    const loop = new ReconcileLoop({ debounceMs: 1, logger: silent, ready: () => { asked++; return ready; }, reconcile: async () => { runs++; return true; } });
    loop.markDirty();
    // The debounced run has fired once it asks ready(); a run would have started in that same turn.
    await until('the debounced run asks ready()', () => asked >= 1);
    expect(runs).to.equal(0);
    ready = true;
    loop.markDirty();
    await until('a run', () => runs === 1);
    await loop.close();
  });

  it('retries a failed run with growing backoff, keeps the first-seen time, and resets after a success', async () => {
    const firsts: number[] = [];
    const failuresAtRun: number[] = [];
    let outcomes = [false, false, false, true];
    let t = 1000;
    const loop = new ReconcileLoop({
      debounceMs: 1, logger: silent, ready: () => true, backoff: { initialMs: 2, maxMs: 8 }, now: () => t,
      reconcile: async (first) => { firsts.push(first); failuresAtRun.push(loop.failures); return outcomes.shift() ?? true; },
    });
    loop.markDirty();
    t = 2000;
    await until('four runs', () => firsts.length === 4);
    await until('success recorded', () => loop.failures === 0);
    expect(failuresAtRun).to.deep.equal([0, 1, 2, 3]);
    expect(firsts).to.deep.equal([1000, 1000, 1000, 1000]);
    outcomes = [false, false];
    loop.markDirty();
    await until('three more runs', () => firsts.length === 7);
    expect(failuresAtRun.slice(4), 'the backoff starts again after a success').to.deep.equal([0, 1, 2]);
    await loop.close();
  });
});

/** A fake clock: timers fire only when the test advances time. */
class FakeClock {
  t = 1000;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #id = 0;
  /** Delays asked for, in order. */
  delays: number[] = [];
  readonly timers: Timers = {
    set: (fn, ms) => { this.delays.push(ms); const id = ++this.#id; this.#timers.push({ at: this.t + ms, fn, id }); return id; },
    clear: (h) => { this.#timers = this.#timers.filter((x) => x.id !== h); },
  };
  get pending(): number { return this.#timers.length; }
  /** Moves the clock to now + ms, firing the timers due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.#timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}

describe('operator controller: reconcile loop scheduling (leading-edge debounce)', () => {
  it('runDelay: nothing after a quiet period, else the rest of debounceMs since the last start', () => {
    expect(runDelay(5000, undefined, 50)).to.equal(0);
    expect(runDelay(5000, 4900, 50)).to.equal(0);
    expect(runDelay(5000, 4990, 50)).to.equal(40);
    expect(runDelay(5000, 5000, 50)).to.equal(50);
  });

  it('runs the first change at once, coalesces the burst after it into one run debounceMs after the first started, and runs at once again after quiet', async () => {
    const clock = new FakeClock();
    const starts: { at: number; firstSeen: number }[] = [];
    let release: (() => void) | undefined;
    let finished = 0;
    const loop = new ReconcileLoop({
      debounceMs: 50, logger: silent, ready: () => true, now: () => clock.t, timers: clock.timers,
      reconcile: async (firstSeen) => { starts.push({ at: clock.t, firstSeen }); await new Promise<void>((r) => { release = r; }); finished++; return true; },
    });
    loop.markDirty();
    expect(clock.delays, 'the first change after quiet waits for nothing').to.deep.equal([0]);
    clock.advance(0);
    expect(starts).to.deep.equal([{ at: 1000, firstSeen: 1000 }]);
    // A burst while the run is in progress: no timer yet (one run at a time), then one rerun.
    clock.advance(10);
    for (let i = 0; i < 5; i++) loop.markDirty();
    expect(clock.pending).to.equal(0);
    clock.advance(5);
    release!();
    await until('the first run to finish', () => clock.pending === 1);
    expect(clock.delays.at(-1), 'the rerun waits until debounceMs after the first start').to.equal(35);
    clock.advance(34);
    expect(starts).to.have.length(1);
    clock.advance(1);
    expect(starts[1]).to.deep.equal({ at: 1050, firstSeen: 1010 });
    release!();
    // Quiet for longer than debounceMs: the next change runs at once.
    await until('the rerun to finish', () => finished === 2);
    await new Promise((r) => setImmediate(r)); // (the loop's own bookkeeping after the callback resolves)
    clock.advance(200);
    loop.markDirty();
    expect(clock.delays.at(-1)).to.equal(0);
    clock.advance(0);
    expect(starts[2]).to.deep.equal({ at: 1250, firstSeen: 1250 });
    release!();
    await loop.close();
  });

  it('a change soon after a finished run waits out the rest of debounceMs', async () => {
    const clock = new FakeClock();
    let runs = 0;
    const loop = new ReconcileLoop({ debounceMs: 50, logger: silent, ready: () => true, now: () => clock.t, timers: clock.timers, reconcile: async () => { runs++; return true; } });
    loop.markDirty();
    clock.advance(0);
    await until('a run', () => runs === 1);
    clock.advance(20);
    await Promise.resolve();
    loop.markDirty();
    loop.markDirty();
    expect(clock.delays).to.deep.equal([0, 30]);
    clock.advance(30);
    await until('the second run', () => runs === 2);
    await loop.close();
  });
});

describe('operator controller: Confirmer retry schedule', () => {
  it('retries fast at first (intervalMs, ×1.5) and caps at maxIntervalMs', () => {
    const it = retryDelays(10, 100);
    const got = Array.from({ length: 9 }, () => it.next().value);
    expect(got).to.deep.equal([10, 15, 23, 34, 51, 76, 100, 100, 100]);
  });
});
