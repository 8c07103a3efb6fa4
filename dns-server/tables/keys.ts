// The lookup key (wire/name.ts nameToKey) of a name from the configuration, the fast way. A
// validated name is lower-case ASCII labels, each followed by a dot (config/rrset-check.ts
// isDomainName), and a load makes one key per name and per reverse name (about 140,000 at
// 10,000 Services): nameToKey's two regexps, its array of parts and its join were 1.4 µs a
// name. Here the key's bytes are written into scratch memory in one pass and read back as one
// flat latin1 string. Anything else (upper case, non-ASCII, a bad label, the root) is
// nameToKey's.

import { nameToKey } from '../wire/name.js';

const scratch = Buffer.allocUnsafe(512);

/** nameToKey(name), the same string; fast for lower-case ASCII absolute names. */
export function keyOfName(name: string): string {
  const n = writeKeyOfName(name, scratch, 0);
  return n < 0 ? nameToKey(name) : scratch.toString('latin1', 0, n);
}

/**
 * Writes the bytes of nameToKey(name) (one per char: the key is latin1) into `b` at `at` and
 * returns how many (the name's length + 1), for a lower-case ASCII absolute name; -1 for any other
 * (then nameToKey(name) is the key, or its error): `b` may have been written to. `b` has room for
 * name.length + 1 bytes at `at`. The slab writer writes keys this way, with no string per key.
 */
export function writeKeyOfName(name: string, b: Uint8Array, at: number): number {
  const n = name.length;
  if (n < 2 || n > 255 || name.charCodeAt(n - 1) !== 46) return -1;
  let lp = at; // where the current label's length goes
  let out = at + 1;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      const len = i - start;
      if (len < 1 || len > 63) return -1; // nameToKey's error
      b[lp] = len;
      lp = out++;
      start = i + 1;
    } else {
      if (c >= 0x7f || (c >= 65 && c <= 90)) return -1; // non-ASCII, upper case
      b[out++] = c;
    }
  }
  b[lp] = 0;
  return out - at;
}

/** Whether writeKeyOfName writes `name`'s key straight (a lower-case ASCII absolute name; then no other such name has its key). */
export function isKeyName(name: string): boolean {
  return writeKeyOfName(name, scratch, 0) >= 0;
}
