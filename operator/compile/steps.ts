// compile() as steps: the phases are generators that `yield` (nothing) between phases and every
// STEP_ITEMS items inside their big loops, so a caller can pause a compile of a large cluster
// and let other work run (the operator's reconcile loop does: operator/controller/slices.ts).
// A yield is only a place where pausing is safe; the steps read no clock and decide nothing.
// finish() runs steps to the end at once: compile() and each phase's synchronous form are that,
// so there is one implementation of every phase.

/** A phase (or the whole compile) as steps: yields where the caller may pause, returns the result. */
export type Steps<T> = Generator<void, T, void>;

/**
 * Items handled between two yield points in the big per-object loops: small enough that a step
 * stays a few milliseconds on a busy machine (a cold compile's steps allocate, and a collection
 * in one lengthens it), large enough that a yield costs nothing measurable (README "Slices").
 */
export const STEP_ITEMS = 64;

/** Services whose records are built between two yield points (a headless Service's are one per endpoint: heavier than an item). */
export const STEP_SERVICES = 16;

/** Runs steps to the end, synchronously. */
export function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
