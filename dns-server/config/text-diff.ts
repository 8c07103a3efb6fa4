// How much two texts have in common at a given start or end: compared a block at a time (a
// slice of each and one string comparison, memcmp in V8), then char by char. Used to find what
// changed between two versions of a shard's JSON text (shard-delta.ts) and of its reverse list's
// (tables/reverse.ts dirtyByText).

const BLOCK = 1024;

/** How many chars `a` from `ai` and `b` from `bi` have in common, at most `max`. */
export function commonPrefix(a: string, ai: number, b: string, bi: number, max: number): number {
  let n = 0;
  while (n + BLOCK <= max && a.slice(ai + n, ai + n + BLOCK) === b.slice(bi + n, bi + n + BLOCK)) n += BLOCK;
  while (n < max && a.charCodeAt(ai + n) === b.charCodeAt(bi + n)) n++;
  return n;
}

/** How many chars `a` before `aEnd` and `b` before `bEnd` have in common, at most `max`. */
export function commonSuffix(a: string, aEnd: number, b: string, bEnd: number, max: number): number {
  let n = 0;
  while (n + BLOCK <= max && a.slice(aEnd - n - BLOCK, aEnd - n) === b.slice(bEnd - n - BLOCK, bEnd - n)) n += BLOCK;
  while (n < max && a.charCodeAt(aEnd - 1 - n) === b.charCodeAt(bEnd - 1 - n)) n++;
  return n;
}
