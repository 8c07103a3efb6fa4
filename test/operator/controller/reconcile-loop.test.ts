// The reconcile loop and the backoff it shares with the informers: coalescing, one run at a
// time, rerun when dirtied meanwhile, growing capped retries that reset on success.

import { expect } from 'chai';
import pino from 'pino';
import { Backoff } from '../../../kube/informer.js';
import { ReconcileLoop } from '../../../operator/controller/reconcile-loop.js';

const silent = pino({ level: 'silent' });

async function until(what: string, check: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

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
