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
  const n = name.length;
  if (n < 2 || n > 255 || name.charCodeAt(n - 1) !== 46) return nameToKey(name);
  const b = scratch;
  let lp = 0; // where the current label's length goes
  let out = 1;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c === 46) {
      const len = i - start;
      if (len < 1 || len > 63) return nameToKey(name); // its error
      b[lp] = len;
      lp = out++;
      start = i + 1;
    } else {
      if (c >= 0x7f || (c >= 65 && c <= 90)) return nameToKey(name); // non-ASCII, upper case
      b[out++] = c;
    }
  }
  b[lp] = 0;
  return b.toString('latin1', 0, out);
}
