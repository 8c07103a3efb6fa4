// Lists the phases hand to each other, built by push into `[]` (README "Shapes"). Array.prototype
// map and filter give an array whose elements kind (part of its hidden class) depends on who runs
// the caller: the builtin makes a packed array, TurboFan's inlined copy a holey one (it allocates
// the whole length first). A function fed both kinds is deoptimised ("wrong map") when the second
// one comes, which happened compiles after the start, each time a producer was optimised. A list
// made here is packed whichever tier runs the code.

/** `xs.map(f)`, always a packed array. */
export function mapped<T, U>(xs: readonly T[], f: (x: T, i: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < xs.length; i++) out.push(f(xs[i]!, i));
  return out;
}

/** `xs.filter(keep)`, always a packed array. */
export function kept<T>(xs: readonly T[], keep: (x: T) => boolean): T[] {
  const out: T[] = [];
  for (let i = 0; i < xs.length; i++) if (keep(xs[i]!)) out.push(xs[i]!);
  return out;
}

/**
 * `xs` copied at its length, for a list kept long (the slice cache): an array built by push from
 * `[]` keeps up to 16 spare slots, so a one-element list takes 144 bytes of heap against 24 for
 * its copy (at 100,000 endpoints' address lists, 12 MB). slice() copies a packed array as packed,
 * whichever tier runs it.
 */
export function trimmed<T>(xs: T[]): T[] {
  return xs.slice();
}

/** Same keys mapped to the same values (by identity), in any order? */
export function sameEntries<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
