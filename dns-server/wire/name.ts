// Names in wire form. The server's lookup key for a name is its uncompressed wire form,
// lower-cased, as a latin1 string: "\x03www\x07example\x03org\x00". Its useful property: the
// key of an ancestor is a suffix of the key, starting at a label boundary, so a zone is found
// by trying key.substring(offset) at each label boundary (longest first), with no splitting.

/** Wire key of an absolute dotted name ("www.example.org." or "."). Lower-cases. */
export function nameToKey(name: string): string {
  if (name === '.' || name === '') return '\x00';
  let n = name.endsWith('.') ? name : name + '.';
  if (/[A-Z]/.test(n)) n = n.toLowerCase();
  if (/[^\x00-\x7f]/.test(n)) n = Buffer.from(n, 'utf8').toString('latin1'); // keys are bytes
  // Joined rather than concatenated: join gives one flat string, where += leaves a tree of
  // concatenations that a Map key keeps alive (32 bytes a key, 75,000 keys at 10,000 Services).
  const parts: string[] = [];
  let start = 0;
  while (start < n.length) {
    const dot = n.indexOf('.', start);
    const len = dot - start;
    if (len < 1 || len > 63) throw new Error(`bad label length in ${JSON.stringify(name)}`);
    parts.push(String.fromCharCode(len), n.substring(start, dot));
    start = dot + 1;
  }
  parts.push('\x00');
  return parts.join('');
}

/** Dotted absolute name of a wire key ("\x03www\x00" → "www."). */
export function keyToName(key: string): string {
  if (key === '\x00') return '.';
  let out = '';
  let i = 0;
  while (i < key.length) {
    const len = key.charCodeAt(i);
    if (len === 0) break;
    out += key.substring(i + 1, i + 1 + len) + '.';
    i += len + 1;
  }
  return out;
}

/** Skips a possibly compressed name in a message at p; the offset after it, or -1 when malformed. */
export function skipName(msg: Buffer, p: number): number {
  const len = msg.length;
  for (let hops = 0; hops < 128; hops++) {
    if (p >= len) return -1;
    const l = msg[p];
    if (l === 0) return p + 1;
    if ((l & 0xc0) === 0xc0) return p + 2 <= len ? p + 2 : -1;
    if (l > 63) return -1;
    p += l + 1;
  }
  return -1;
}

/** The key of the parent name (drop the first label); the root's parent is undefined. */
export function parentKey(key: string): string | undefined {
  if (key === '\x00') return undefined;
  return key.substring(key.charCodeAt(0) + 1);
}
