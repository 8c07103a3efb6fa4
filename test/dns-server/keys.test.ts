// tables/keys.ts keyOfName: the fast way to a configuration name's key must give nameToKey's
// string (or its error) for every name, the fast path's and the others.
import { expect } from 'chai';
import { keyOfName } from '../../dns-server/tables/keys.js';
import { nameToKey } from '../../dns-server/wire/name.js';

const outcome = (f: (n: string) => string, n: string): string => { try { return 'ok ' + f(n); } catch (e) { return 'error ' + (e as Error).message; } };

describe('dns-server: keyOfName (tables/keys.ts)', () => {
  it('gives nameToKey\'s key or error for chosen names', () => {
    const names = ['.', '', 'a.', 'a', 'www.example.org.', 'www.example.org', 'WWW.Example.ORG.', 'é.example.', '_http._tcp.x.', '*.wild.x.', 'a..b.', '.a.',
      `${'a'.repeat(63)}.x.`, `${'a'.repeat(64)}.x.`, `${'abcdefghi.'.repeat(26)}`, `${'abcdefghi.'.repeat(25)}abcd.`, 'a\x7f.', 'tab\t.x.', '1.2.0.192.in-addr.arpa.'];
    for (const n of names) expect(outcome(keyOfName, n), JSON.stringify(n)).to.equal(outcome(nameToKey, n));
  });

  it('gives nameToKey\'s key or error for 20,000 random names', () => {
    let seed = 11;
    const rnd = (k: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
    const chars = 'abcxyz019-_*.ABZé\x7f😀';
    for (let i = 0; i < 20_000; i++) {
      let n = '';
      for (let len = rnd(80); len > 0; len--) n += rnd(6) === 0 ? '.' : chars[rnd(rnd(4) === 0 ? chars.length : 12)];
      if (rnd(4) > 0) n += '.';
      if (rnd(50) === 0) n = 'x'.repeat(60 + rnd(8)) + '.';
      expect(outcome(keyOfName, n), JSON.stringify(n)).to.equal(outcome(nameToKey, n));
    }
  });
});
