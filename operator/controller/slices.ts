// Long work in slices: runs steps (operator/compile/steps.ts) until a slice of `sliceMs` has
// passed, then lets the event loop run (setImmediate: timers, I/O, /healthz, the Lease renewal
// and the watches) before the next slice. Steps are always run to their end.

import type { Steps } from '../compile/index.js';

/** Default slice: well under the 100 ms event-loop lag target, long enough that yielding costs nothing measurable. */
export const SLICE_MS = 20;

export interface SliceOptions {
  /** Longest run between two yields to the event loop (default SLICE_MS). */
  sliceMs?: number;
  /** Milliseconds, monotonic (default performance.now). */
  now?: () => number;
  /** Lets the event loop run (default: setImmediate); tests count or hold pauses. */
  pause?: () => Promise<void>;
  /** Told each slice's length (ms, by `now`) once it ends: the longest one is how long the event loop waited. */
  onSlice?: (ms: number) => void;
}

export const yieldToLoop = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `steps` to the end, giving the event loop a turn at least every `sliceMs`. */
export async function runSliced<T>(steps: Steps<T>, o: SliceOptions = {}): Promise<T> {
  const sliceMs = o.sliceMs ?? SLICE_MS;
  const now = o.now ?? (() => performance.now());
  const pause = o.pause ?? yieldToLoop;
  let start = now();
  for (;;) {
    const r = steps.next();
    if (r.done) { o.onSlice?.(now() - start); return r.value; }
    const ran = now() - start;
    if (ran >= sliceMs) { o.onSlice?.(ran); await pause(); start = now(); }
  }
}
