// Random numbers for the upstream query path (RFC 5452: the ID and the source socket of every
// upstream query): crypto-strength bytes, drawn from the kernel in blocks of 4 KiB rather than
// one call into crypto.randomInt per number (two per query, each with its argument checks).
import { randomFillSync } from 'node:crypto';

const block = new Uint16Array(2048);
let next = block.length;

/** A uniformly random integer in [0, 65536). */
export function random16(): number {
  if (next === block.length) { randomFillSync(block); next = 0; }
  return block[next++];
}

/** A uniformly random integer in [0, n), 1 ≤ n ≤ 65536 (rejection sampling: no modulo bias). */
export function randomBelow(n: number): number {
  if ((n & (n - 1)) === 0) return random16() & (n - 1);
  const limit = 65536 - (65536 % n);
  for (;;) { const r = random16(); if (r < limit) return r % n; }
}
