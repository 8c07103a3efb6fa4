// The shard hash as the DNS server checks it (dns-server/config/hash.ts validShardHash): from the
// received text when that text is canonical, else by serialising. Whatever the text, a shard is
// accepted when its hash is the sha256 of its content's canonical JSON, and refused otherwise;
// in particular a producer that hashed its own non-canonical bytes is refused, even when those
// bytes are as long as the canonical ones (docs/adr/0015-shard-validation-at-scale.md).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { CONFIG_API_VERSION, computeShardHash, validateBundle, validateShard, withHash } from '../../dns-server/config/index.js';
import type { Shard, UnhashedShard } from '../../dns-server/config/index.js';
import { decodeShardConfigMap, SHARD_GZIP_KEY, SHARD_KEY } from '../../dns-server/config/configmap-form.js';
import { canonicalJson, canonicalLength, NOT_CANONICAL, operatorTextLength, parseBundleJson, parseShardJson, receivedShardTexts, rememberShardText, validShardHash } from '../../dns-server/config/hash.js';
import { checkShardSchema } from '../../dns-server/config/validate.js';
import { hashShard, shardJson } from '../../operator/compile/rrsets.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A zone shard as the operator writes it: keys sorted, the hash member last. */
function zoneShard(extra: Record<string, unknown>[] = []): Shard {
  return withHash({
    apiVersion: CONFIG_API_VERSION, clusterDomain: false, id: 'zone/example.org', kind: 'zone', origin: 'example.org.',
    reverse: [{ data: ['www.example.org.'], name: '1.2.0.192.in-addr.arpa.', ttl: 300, type: 'PTR' }],
    rrsets: [
      { data: ['ns1.example.org.'], name: 'example.org.', ttl: 3600, type: 'NS' },
      { data: [{ port: 443, priority: 1, target: 'www.example.org.', weight: 5 }], name: '_https._tcp.example.org.', ttl: 1000, type: 'SRV' },
      { data: ['192.0.2.1', '192.0.2.2'], name: 'www.example.org.', ttl: 300, type: 'A' },
      ...extra,
    ],
    soa: { expire: 86400, minimum: 60, mname: 'ns1.example.org.', refresh: 3600, retry: 600, rname: 'hostmaster.example.org.', serial: 2000000000, ttl: 3600 },
  } as unknown as UnhashedShard) as Shard;
}

/** The text with the first `from` replaced by `to` (which must occur). */
function edit(text: string, from: string, to: string): string {
  expect(text.includes(from), `${from} in the text`).to.equal(true);
  return text.replace(from, to);
}

const reversedKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(reversedKeys) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversedKeys(x)])) : v;

/** Texts of the same shard that are not its canonical JSON: each parses to the same content. */
function variants(s: Shard): [string, string][] {
  const c = JSON.stringify(s);
  const { hash, ...rest } = s;
  return [
    ['pretty-printed', JSON.stringify(s, null, 1)],
    ['the hash member first', JSON.stringify({ hash, ...rest })],
    ['top-level keys reversed', JSON.stringify({ ...Object.fromEntries(Object.entries(rest).reverse()), hash })],
    ['every object\'s keys reversed but the hash last', JSON.stringify({ ...(reversedKeys(rest) as object), hash })],
    ['a character escaped (same content)', edit(c, '"www.', '"\\u0077ww.')],
    ['a slash escaped', edit(c, 'zone/', 'zone\\/')],
    ['300 as 3e2 (as long)', edit(c, '"ttl":300', '"ttl":3e2')],
    ...[' ', '\n', '\r', '\t'].map((ws): [string, string] => [`1000 as 1e3 after ${JSON.stringify(ws)} (as long)`, edit(c, '"ttl":1000', `"ttl":${ws}1e3`)]),
    ['300 as 300.0', edit(c, '"ttl":300', '"ttl":300.0')],
    ['2000000000 as 2E9, 1000 as 1e3 and a duplicate member (as long)', edit(edit(c, '"serial":2000000000', '"serial":2E9'), '"ttl":1000', '"ttl":7,"ttl":1e3')],
    ['a duplicate member', edit(c, '"ttl":1000', '"ttl":7,"ttl":1000')],
    ['a duplicate hash member earlier', edit(c, '"id":', `"hash":"${'0'.repeat(64)}","id":`)],
    ['a trailing newline', c + '\n'],
  ];
}

/** The text with its last member, the hash, replaced by the sha256 of the text's own bytes without it (a producer hashing non-canonical JSON). */
function hashedAsWritten(text: string, hash: string): string | undefined {
  const tail = `,"hash":"${hash}"}`;
  if (!text.endsWith(tail)) return undefined;
  const own = sha256(text.slice(0, -tail.length) + '}');
  return text.slice(0, -tail.length) + `,"hash":"${own}"}`;
}

describe('the shard hash from the received text (hash.ts validShardHash)', () => {
  const shard = zoneShard();
  const canonical = JSON.stringify(shard);

  it('the operator\'s text is the canonical JSON plus the hash member, last', () => {
    const { hash, ...rest } = shard;
    expect(canonical).to.equal(canonicalJson(rest).slice(0, -1) + `,"hash":"${hash}"}`);
    expect(sha256(canonicalJson(rest))).to.equal(hash);
  });

  it('hashes the received text when it is canonical (seen by changing the parsed value behind its back)', () => {
    const first = parseShardJson(canonical) as Shard;
    expect(validShardHash(first, checkShardSchema(first, first.id).lengths)).to.equal(shard.hash);
    // A same-length change the text does not have: a hash of the text still gives the old hash.
    const parsed = parseShardJson(canonical) as Shard & { rrsets: { name: string }[] };
    parsed.rrsets[2].name = 'wxw.example.org.';
    expect(validShardHash(parsed, checkShardSchema(parsed, parsed.id).lengths)).to.equal(shard.hash);
    expect(computeShardHash(parsed)).to.not.equal(shard.hash);
    // The text is used once: asked again, the hash is the value's.
    expect(validShardHash(parsed, checkShardSchema(parsed, parsed.id).lengths)).to.equal(computeShardHash(parsed));
    // Without a received text (JSON.parse), the same change is hashed from the value.
    const plain = JSON.parse(canonical) as typeof parsed;
    plain.rrsets[2].name = 'wxw.example.org.';
    expect(validShardHash(plain, checkShardSchema(plain, plain.id).lengths)).to.equal(computeShardHash(plain));
  });

  it('the ConfigMap source parses shards so (plain and gzip\'d)', () => {
    for (const cm of [{ data: { [SHARD_KEY]: canonical } }, { binaryData: { [SHARD_GZIP_KEY]: gzipSync(canonical).toString('base64') } }]) {
      const parsed = decodeShardConfigMap(cm) as Shard & { rrsets: { name: string }[] };
      parsed.rrsets[2].name = 'wxw.example.org.';
      expect(validShardHash(parsed, checkShardSchema(parsed, parsed.id).lengths)).to.equal(shard.hash);
    }
  });

  for (const [what, text] of variants(shard)) {
    // Where the hash member is not last there is nothing to hash "as written": the name says so.
    const lying = hashedAsWritten(text, shard.hash);
    it(`gives the content's hash to a text of the same shard with ${what}${lying === undefined ? '' : ', and refuses that text hashed as written'}`, () => {
      expect(text).to.not.equal(canonical);
      expect(JSON.parse(text)).to.deep.equal(JSON.parse(canonical));
      const v = validateShard(parseShardJson(text));
      expect(v.ok, JSON.stringify(v)).to.equal(true);
      if (lying === undefined) return;
      const l = validateShard(parseShardJson(lying));
      expect(l.ok, 'a hash of non-canonical bytes').to.equal(false);
      if (!l.ok) expect(l.errors.join('\n')).to.match(new RegExp(`does not match the content \\(${shard.hash}\\)`));
    });
  }

  it('some of those texts are exactly as long as the canonical one (the length alone does not decide)', () => {
    const same = variants(shard).filter(([, t]) => t.length === canonical.length).map(([w]) => w);
    expect(same).to.have.length.greaterThan(2);
  });

  it('a raw lone surrogate (JSON.stringify writes it as \\u) as long as the canonical text gets the content\'s hash', () => {
    const s = zoneShard([{ data: [['a\ud800b']], name: 'x.example.org.', ttl: 60, type: 'TXT' }]);
    const c = JSON.stringify(s);
    expect(c).to.include('\\ud800');
    const raw = edit(c, '\\ud800', '\ud800');
    const padded = edit(edit(raw, '"ttl":1000', '"ttl":1000.000'), '"ttl":60', '"ttl":6E1'); // -5 +4 +1: as long
    expect(padded.length).to.equal(c.length);
    // eight raw lone surrogates (-40) and five duplicate members (+40): no escape, no white space, no odd number
    const s8 = zoneShard([{ data: [['a' + '\ud800'.repeat(8)]], name: 'x.example.org.', ttl: 60, type: 'TXT' }]);
    const c8 = JSON.stringify(s8);
    const sly = edit(c8.replaceAll('\\ud800', '\ud800'), '"ttl":60', '"ttl":7,'.repeat(5) + '"ttl":60');
    expect(sly.length).to.equal(c8.length);
    expect(validateShard(parseShardJson(sly)).ok).to.equal(true);
    expect(validateShard(parseShardJson(hashedAsWritten(sly, s8.hash)!)).ok).to.equal(false);
    for (const text of [raw, padded]) {
      expect(validateShard(parseShardJson(text)).ok).to.equal(true);
      const l = validateShard(parseShardJson(hashedAsWritten(text, s.hash)!));
      expect(l.ok).to.equal(false);
    }
  });

  it('an escape written otherwise, as long as the canonical one, gets the content\'s hash', () => {
    for (const [char, escape, otherwise] of [['\u001f', '\\u001f', '\\u001F'], ['\ud800', '\\ud800', '\\uD800']]) {
      const s = zoneShard([{ data: [[`a${char}b`]], name: 'x.example.org.', ttl: 60, type: 'TXT' }]);
      const c = JSON.stringify(s);
      const text = edit(c, escape, otherwise);
      expect(text.length).to.equal(c.length);
      expect(validateShard(parseShardJson(text)).ok).to.equal(true);
      expect(validateShard(parseShardJson(hashedAsWritten(text, s.hash)!)).ok).to.equal(false);
    }
  });

  it('gives computeShardHash\'s answer from values, whatever their key order and strings', () => {
    const shards = [
      shard, zoneShard([{ data: [['v=spf1 include:example.net -all'], ['quote " and backslash \\', 'é', '😀', '\u0001']], name: 't.example.org.', ttl: 60, type: 'TXT' }]),
      zoneShard([{ data: [{ flags: 0, tag: 'issue', value: 'ca "x"' }], name: 'example.org.', ttl: 60, type: 'CAA' }]),
    ];
    for (const s of shards) {
      for (const value of [s, reversedKeys(s), JSON.parse(JSON.stringify(s)), parseShardJson(JSON.stringify(s)), parseShardJson(JSON.stringify(reversedKeys(s)))] as Shard[]) {
        const { errors, lengths } = checkShardSchema(value, value.id);
        expect(errors).to.deep.equal([]);
        expect(validShardHash(value, lengths)).to.equal(computeShardHash(value)).and.to.equal(s.hash);
      }
    }
  });
});

describe('canonicalLength', () => {
  it('is the length of canonicalJson where JSON.stringify is canonical, else NOT_CANONICAL', () => {
    const measured: unknown[] = [null, true, false, 0, -0, 7, 1.5, -2e-7, 1e21, '', 'a', 'quote " \\ \n \u0001', [], [1, 'a', [null]], {}, { a: 1, b: { c: [] } }];
    for (const v of measured) expect(canonicalLength(v), JSON.stringify(v)).to.equal(canonicalJson(v).length);
    const refused: unknown[] = [{ b: 1, a: 2 }, { 1: 'x', b: 2 }, { '': 1 }, { a: undefined }, NaN, Infinity, undefined, () => 1, 'a\ud800', '😀', [{ b: 1, a: 1 }], new Date(0)];
    for (const v of refused) expect(canonicalLength(v), String(v)).to.equal(NOT_CANONICAL);
  });
});

describe('canonicalJson', () => {
  /** The definition, by hand: keys sorted at every depth, undefined members left out. */
  const reference = (v: unknown): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    if (Array.isArray(v)) return '[' + v.map(reference).join(',') + ']';
    const o = v as Record<string, unknown>;
    return '{' + Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + reference(o[k])).join(',') + '}';
  };
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  // (constructor, valueOf: keys Object.prototype has, which JSON.stringify with a key list would read from it)
  const KEYS = ['a', 'b', 'zz', 'data', 'name', 'ttl', 'type', '', 'é', 'B', 'constructor', 'valueOf', '1', '10', '2x', '__proto__'];
  const LEAVES: unknown[] = [null, true, false, 0, -0, 7, 1.5, 1e21, '', 'x', 'quote " \\', '😀', undefined];
  const value = (depth: number): unknown => {
    const r = rnd(depth > 3 ? 1 : 4);
    if (r === 0) return LEAVES[rnd(LEAVES.length - 1)];
    if (r === 1) return Array.from({ length: rnd(4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let n = rnd(5); n > 0; n--) {
      const k = KEYS[rnd(KEYS.length - (rnd(8) === 0 ? 0 : 4))]; // now and then an index key or __proto__
      const x = rnd(10) === 0 ? undefined : value(depth + 1);
      if (k === '__proto__') Object.defineProperty(o, k, { value: x, enumerable: true, configurable: true, writable: true });
      else o[k] = x;
    }
    return o;
  };

  it('is the keys-sorted JSON of any value, whatever its key order (2,000 random values), and leaves the value as it was', () => {
    for (let i = 0; i < 2000; i++) {
      const v = value(0);
      const before = JSON.stringify(v);
      expect(canonicalJson(v), before).to.equal(reference(v));
      expect(JSON.stringify(v)).to.equal(before);
    }
  });

  it('is the keys-sorted JSON of shard-like values built in another key order (the compiler\'s objects: 300 random shards)', () => {
    // Many objects of a few shapes, some members missing or undefined, keys never sorted: the
    // key-list path (hash.ts keysOf, LISTED) at the scale it is used for.
    for (let i = 0; i < 300; i++) {
      const rrsets = Array.from({ length: 1 + rnd(40) }, (_, j) => {
        const rs: Record<string, unknown> = { name: `n${j}.example.org.`, type: ['A', 'SRV', 'TXT'][rnd(3)], ttl: rnd(100) };
        rs.data = rs.type === 'SRV' ? [{ target: 't.example.org.', port: rnd(65536), weight: 1, priority: rnd(3) === 0 ? undefined : 0 }] : rs.type === 'TXT' ? [['a', 'é"'], []] : ['192.0.2.' + rnd(256)];
        if (rnd(7) === 0) rs.extra = { z: 1, y: [{ b: 2, a: 1 }] };
        return rs;
      });
      const v = { rrsets, kind: 'zone', id: `zone/x${i}`, reverse: [], apiVersion: 'splitdns.io/config.v1', origin: 'example.org.' };
      expect(canonicalJson(v)).to.equal(reference(v));
    }
  });

  it('leaves "__proto__" and the other keys of Object.prototype to objects that have them (a key list would read them from the prototype)', () => {
    const proto = {};
    Object.defineProperty(proto, '__proto__', { value: 1, enumerable: true, configurable: true, writable: true });
    for (const v of [{ b: { z: 1, a: 2 }, a: proto }, { b: {}, c: { constructor: 5, valueOf: 'x' }, a: { toString: null } }]) {
      expect(canonicalJson(v)).to.equal(reference(v));
    }
  });

  it('sorts the keys of a Date\'s parent and keeps the Date as sortedJson wrote it before (not plain: sorted by hand)', () => {
    expect(canonicalJson({ b: 1, a: { d: new Date(0), c: [{ y: 1, x: 2 }] } })).to.equal(reference({ b: 1, a: { d: new Date(0), c: [{ y: 1, x: 2 }] } }));
  });
});

describe('the shards\' hashes from a bundle\'s received text (hash.ts parseBundleJson, receivedShardTexts)', () => {
  const services = (ns: string, n: number): Shard => withHash({
    apiVersion: CONFIG_API_VERSION, id: `services/${ns}`, kind: 'services', namespace: ns,
    reverse: Array.from({ length: n }, (_, i) => ({ data: [`s${i}.${ns}.svc.cluster.local.`], name: `${i}.0.96.10.in-addr.arpa.`, ttl: 5, type: 'PTR' })),
    rrsets: Array.from({ length: n }, (_, i) => ({ data: [`10.96.0.${i}`], name: `s${i}.${ns}.svc.cluster.local.`, ttl: 5, type: 'A' })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    zone: 'cluster.local.',
  } as unknown as UnhashedShard) as Shard;
  const shards = [zoneShard(), services('a', 3), services('b', 5)];
  const text = JSON.stringify({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards });
  const verdict = (b: unknown) => { const v = validateBundle(b); return { ok: v.shards.map((x) => x.id), refused: v.refused.map((r) => r.id) }; };

  it('hashes each shard\'s part of a text written as the operator writes it (seen by changing the parsed values behind its back)', () => {
    const parsed = parseBundleJson(text) as { shards: (Shard & { rrsets: { data: string[] }[] })[] };
    parsed.shards[2].rrsets[0].data[0] = '10.96.0.9'; // same length, not in the text: a hash of the text does not see it
    expect(verdict(parsed)).to.deep.equal({ ok: ['zone/example.org', 'services/a', 'services/b'], refused: [] });
    const plain = JSON.parse(text) as typeof parsed;
    plain.shards[2].rrsets[0].data[0] = '10.96.0.9';
    expect(verdict(plain).refused, 'without the text, the content is hashed').to.deep.equal(['services/b']);
  });

  it('takes the texts only when the whole text is as the operator writes it', () => {
    const taken = (t: string) => {
      const b = parseBundleJson(t) as { shards: object[] };
      return receivedShardTexts(b, (i) => operatorTextLength(b.shards[i], {}));
    };
    expect(taken(text)).to.equal(true);
    expect(taken(edit(text, '"ttl":300', '"ttl":7,"ttl":300')), 'a duplicate member').to.equal(false);
    expect(taken(edit(text, '"kind":"ConfigBundle"', '"kind":"x","kind":"ConfigBundle"')), 'a duplicate member of the envelope').to.equal(false);
    expect(taken(JSON.stringify({ kind: 'ConfigBundle', apiVersion: CONFIG_API_VERSION, shards })), 'envelope keys out of order').to.equal(false);
    expect(taken(JSON.stringify({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards }, null, 1)), 'white space').to.equal(false);
    expect(taken(edit(text, '"ttl":300', '"ttl":3e2')), 'a number written otherwise').to.equal(false);
    expect(taken(JSON.stringify({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: shards.map((x) => { const { hash, ...rest } = x; return { hash, ...rest }; }) })), 'a hash member not last').to.equal(false);
  });

  it('gives the verdict a JSON.parse\'d bundle gets, for 400 random edits of the text (duplicate members, shifted shards, numbers, escapes, hashes of the edited text)', () => {
    let seed = 29;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const at = (t: string, re: RegExp) => { const all = [...t.matchAll(re)]; return all.length ? all[rnd(all.length)] : undefined; };
    let taken = 0, accepted = 0;
    for (let round = 0; round < 400; round++) {
      let t = text;
      for (let k = 1 + rnd(3); k > 0; k--) {
        const r = rnd(7);
        if (r === 0) { const m = at(t, /"ttl":\d+/g); if (m) t = t.slice(0, m.index) + '"ttl":' + rnd(400) + ',' + t.slice(m.index); } // a duplicate member before it
        else if (r === 1) { const m = at(t, /"ttl":\d+/g); if (m) t = t.slice(0, m.index) + m[0] + ',"ttl":' + rnd(400) + t.slice(m.index + m[0].length); } // one after it
        else if (r === 2) { const m = at(t, /"ttl":(\d+)/g); if (m) t = t.slice(0, m.index) + '"ttl":' + ['1e1', '5.0', String(rnd(9)), '-0'][rnd(4)] + t.slice(m.index + m[0].length); }
        else if (r === 3) { const m = at(t, /"name":"[a-z]/g); if (m) t = t.slice(0, m.index! + 8) + ['\\u0061', 'b', ''][rnd(3)] + t.slice(m.index! + 9); }
        else if (r === 4) { const m = at(t, /\{"data"/g); if (m) t = t.slice(0, m.index) + '{"data":["x"],' + t.slice(m.index! + 1); } // a duplicate data first
        else if (r === 5) { // a shard's hash replaced by the hash of its own (edited) text as written
          const m = at(t, /,"hash":"[0-9a-f]{64}"\}/g);
          if (m) { const start = t.lastIndexOf('{"apiVersion"', m.index); t = t.slice(0, m.index) + `,"hash":"${sha256(t.slice(start, m.index) + '}')}"}` + t.slice(m.index! + m[0].length); }
        } else { const m = at(t, /\},\{"apiVersion"/g); if (m) t = t.slice(0, m.index! + 1) + ',' + JSON.stringify(shards[rnd(3)]) + t.slice(m.index! + 1); } // a shard again (a duplicate id)
      }
      let plain: unknown;
      try { plain = JSON.parse(t); } catch { continue; }
      const b = parseBundleJson(t) as { shards: object[] };
      const want = verdict(plain);
      const got = verdict(b);
      expect(got, `round ${round}: ${t.slice(0, 300)}`).to.deep.equal(want);
      const again = parseBundleJson(t) as { shards: object[] };
      if (receivedShardTexts(again, (i) => operatorTextLength(again.shards[i], {}))) taken++;
      accepted += want.ok.length;
    }
    expect(taken, 'edited texts still taken whole').to.be.greaterThan(20);
    expect(accepted, 'shards accepted').to.be.greaterThan(200);
  });
});

describe('a bundle\'s text that is not what its parsed value serialises to (review of receivedShardTexts)', () => {
  type Hosts = Shard & { rrsets: { data: string[] }[] };
  const hosts = (data: string[] = ['192.0.2.1']): Hosts => withHash({
    apiVersion: CONFIG_API_VERSION, id: 'hosts/x', kind: 'hosts', reverse: [],
    rrsets: [{ data, name: 'www.example.org.', ttl: 60, type: 'A' }],
  } as unknown as UnhashedShard) as Hosts;
  const bundleText = (...shardTexts: string[]) => `{"apiVersion":"${CONFIG_API_VERSION}","kind":"ConfigBundle","shards":[${shardTexts.join(',')}]}`;
  const verdict = (b: unknown) => {
    const v = validateBundle(b);
    return { ok: v.shards.map((x) => `${x.id} ${JSON.stringify(x)}`), refused: v.refused.map((r) => r.id) };
  };
  /** The verdict the text gets through parseBundleJson, which must be JSON.parse's. */
  const sameVerdict = (t: string) => {
    const got = verdict(parseBundleJson(t));
    expect(got, t.slice(0, 400)).to.deep.equal(verdict(JSON.parse(t)));
    return got;
  };
  /** Whether receivedShardTexts takes the text (lengths as validateBundle gives them to it, for schema-valid shards). */
  const taken = (t: string) => {
    const b = parseBundleJson(t) as { shards: object[] };
    return receivedShardTexts(b, (i) => operatorTextLength(b.shards[i], {}));
  };
  /** Numbers written, in all, `d` characters shorter than JSON.stringify writes them (1E20: 4 for 21; 1E3: 3 for 4). */
  const shortNumbers = (d: number) => {
    const out: string[] = [];
    for (; d >= 17; d -= 17) out.push('1E20');
    for (; d > 0; d--) out.push('1E3');
    return out.join(',');
  };

  it('a refused shard whose numbers are written shorter than JSON.stringify writes them does not make room for a longer shard: its served content is hashed', () => {
    // The shard's text: its rrsets first a decoy (dropped by JSON.parse) ending in a hash member
    // exactly where the operator's text of the parsed shard would end; then the real rrsets after
    // its hash. Its hash is the decoy's. A refused shard after it, measured longer than written
    // (numbers in an array: not member values, so no "odd number"), makes the whole text as long
    // as expected.
    const prefix = `{"apiVersion":"${CONFIG_API_VERSION}","id":"hosts/x","kind":"hosts","reverse":[],"rrsets":`;
    const real = JSON.stringify(hosts(['203.0.113.66']).rrsets);
    const tail = ',"hash":"'.length + 64 + 2;
    const pad = 'a'.repeat(real.length - '{"p":""'.length);
    const decoyHash = sha256(prefix + `{"p":"${pad}"` + '}');
    const s = prefix + `{"p":"${pad}","hash":"${decoyHash}"}` + `,"hash":"${decoyHash}","rrsets":${real}}`;
    expect((prefix + `{"p":"${pad}","hash":"${decoyHash}"}`).length).to.equal(prefix.length + real.length + tail);
    const d = s.length - (prefix.length + real.length + tail);
    const t = bundleText(s, `{"id":"y","n":[${shortNumbers(d)}],"hash":"00"}`);
    expect(sameVerdict(t)).to.deep.equal({ ok: [], refused: ['hosts/x', 'y'] });
  });

  it('a refused shard written shorter than measured, before an honest shard written longer (-0), does not shift its window: the honest shard is accepted', () => {
    // -0: a ttl of 0, written one character longer than JSON.stringify writes it
    const zero = withHash({ ...hosts(), rrsets: [{ data: ['192.0.2.1'], name: 'www.example.org.', ttl: 0, type: 'A' }] } as unknown as UnhashedShard) as Shard;
    const t0 = bundleText(`{"id":"y","n":[${shortNumbers(1)}],"hash":"00"}`, edit(JSON.stringify(zero), '"ttl":0', '"ttl":-0'));
    expect(sameVerdict(t0).ok).to.have.length(1);
  });

  it('other texts: each gets JSON.parse\'s verdict, and is taken only when it is the operator\'s text', () => {
    const h = hosts();
    const c = JSON.stringify(h);
    const txt = withHash({
      apiVersion: CONFIG_API_VERSION, clusterDomain: false, id: 'zone/t', kind: 'zone', origin: 'example.org.', reverse: [],
      rrsets: [{ data: [['a},{x', 'b]:'], ['éü', 'ÿ'], ['c']], name: 't.example.org.', ttl: 60, type: 'TXT' }],
      soa: { expire: 86400, minimum: 60, mname: 'ns1.example.org.', refresh: 3600, retry: 600, rname: 'hostmaster.example.org.', serial: 1, ttl: 3600 },
    } as unknown as UnhashedShard) as Shard;
    const cases: [string, string, boolean][] = [
      ['the operator\'s text', bundleText(c), true],
      ['non-ASCII (UTF-8 hashed, not latin1), nested arrays, strings holding } , ] {', bundleText(JSON.stringify(txt), c), true],
      ['an escape (\\u0077 for w)', bundleText(edit(c, '"www.', '"\\u0077ww.')), false],
      ['an escape for upper case A (the name then refused)', bundleText(edit(c, '"www.', '"\\u0041ww.')), false],
      ['a ttl 60.0', bundleText(edit(c, '"ttl":60', '"ttl":60.0')), false],
      ['a ttl 6e1', bundleText(edit(c, '"ttl":60', '"ttl":6e1')), false],
      ['a ttl -0', bundleText(edit(c, '"ttl":60', '"ttl":-0')), false],
      ['a ttl beyond 2^53', bundleText(edit(c, '"ttl":60', '"ttl":9007199254740993')), false],
      ['white space at the end', bundleText(c) + '\n', false],
      ['a tab in the envelope', bundleText(c).replace('"shards":', '"shards":\t'), false],
      ['__proto__ in a shard', bundleText(edit(c, '{"apiVersion"', '{"__proto__":{},"apiVersion"')), false],
      ['__proto__ in the envelope', bundleText(c).replace('{"apiVersion"', '{"__proto__":1,"apiVersion"'), false],
      ['the hash member first', bundleText(JSON.stringify({ hash: h.hash, ...(({ hash: _h, ...rest }) => rest)(h) })), false],
      ['a second hash member earlier', bundleText(edit(c, '"id":', `"hash":"${'0'.repeat(64)}","id":`)), false],
      ['a shard holding another shard\'s text in a dropped member', bundleText(edit(c, '"rrsets":', `"rrsets":${c},"rrsets":`), c), false],
      ['a shard\'s text twice (a duplicate id)', bundleText(c, c), true],
      ['keys out of order in an RRset', bundleText(edit(c, '"name":"www.example.org.","ttl":60', '"ttl":60,"name":"www.example.org."')), false],
    ];
    for (const [what, t, take] of cases) {
      sameVerdict(t);
      expect(taken(t), what).to.equal(take);
    }
    // The texts taken are hashed: a change behind the text's back is not seen (so the verdicts above came from the texts).
    const b = parseBundleJson(bundleText(JSON.stringify(txt), c)) as { shards: Hosts[] };
    b.shards[1].rrsets[0].data[0] = '192.0.2.9';
    expect(validateBundle(b).shards).to.have.length(2);
  });
});

describe('the shard hash from the text its producer in this process wrote (hashShard, rememberShardText; ADR 0024)', () => {
  const hashOf = (s: Shard) => validShardHash(s, checkShardSchema(s, s.id).lengths);
  /** `s` as the operator's compiler makes it: hashShard, which hands its text over. */
  const compiled = (s: Shard): Shard => { const { hash: _h, ...rest } = s; return hashShard(rest as unknown as UnhashedShard); };
  const shards = () => [
    zoneShard(),
    zoneShard([{ data: [['v=spf1 -all'], ['quote " and backslash \\', 'é', '😀', '\u0001']], name: 't.example.org.', ttl: 60, type: 'TXT' }]),
    zoneShard([{ data: [{ flags: 0, tag: 'issue', value: 'ca "é"' }], name: 'example.org.', ttl: 60, type: 'CAA' }]),
  ];

  it('gives computeShardHash\'s answer for shards hashShard made, escapes and characters beyond ASCII included', () => {
    for (const s of shards().map(compiled)) {
      expect(hashOf(s)).to.equal(s.hash).and.to.equal(computeShardHash(s));
      expect(validateShard(s).ok).to.equal(true);
    }
  });

  it('hashes the text hashShard handed over (seen by changing the value behind its back), once', () => {
    const s = compiled(zoneShard()) as Shard & { rrsets: { name: string }[] };
    s.rrsets[2].name = 'wxw.example.org.'; // as long: the text's length check cannot see it (the contract: no change before validation)
    expect(hashOf(s)).to.equal(zoneShard().hash);
    expect(hashOf(s), 'the text is used once').to.equal(computeShardHash(s)).and.to.not.equal(s.hash);
  });

  it('refuses a shard hashShard made and then changed in length, or given another hash', () => {
    const longer = compiled(zoneShard()) as Shard & { rrsets: { ttl: number }[] };
    longer.rrsets[2].ttl = 3000;
    expect(validateShard(longer).ok).to.equal(false);
    const rehashed = compiled(zoneShard());
    rehashed.hash = sha256('other');
    expect(validateShard(rehashed).ok).to.equal(false);
    expect(validateShard({ ...compiled(zoneShard()), hash: sha256('other') }).ok).to.equal(false);
    const changed = compiled(zoneShard()) as Shard & { rrsets: { ttl: number }[] };
    changed.rrsets[2].ttl = 301; // as long, with the hash computed again by hand: the text's tail no longer matches
    changed.hash = computeShardHash(changed);
    expect(validateShard(changed).ok).to.equal(true);
  });

  it('withHash keeps no text: a shard it made and then changed, even at the same length, is hashed from its value and refused', () => {
    const s = zoneShard() as Shard & { rrsets: { name: string }[] };
    expect(hashOf(s)).to.equal(s.hash);
    const t = zoneShard() as Shard & { rrsets: { name: string }[] };
    t.rrsets[2].name = 'wxw.example.org.'; // as long
    expect(hashOf(t)).to.equal(computeShardHash(t)).and.to.not.equal(t.hash);
    expect(validateShard(t).ok).to.equal(false);
  });

  it('the operator\'s compiler hands its text over (hashShard): hashed as written, checked as a ConfigMap\'s', () => {
    const { hash: _h, ...rest } = zoneShard();
    const s = hashShard(rest as unknown as UnhashedShard) as Shard & { rrsets: { name: string }[] };
    expect(s.hash).to.equal(zoneShard().hash);
    expect(shardJson(s)).to.equal(JSON.stringify(zoneShard()));
    s.rrsets[2].name = 'wxw.example.org.';
    expect(hashOf(s), 'the text, not the changed value').to.equal(zoneShard().hash);
  });

  for (const [what, text] of variants(zoneShard())) {
    it(`a remembered text with ${what} is checked as a received one: the content's hash, and refused when hashed as written`, () => {
      const s = zoneShard();
      const value = JSON.parse(text) as Shard;
      rememberShardText(value, text);
      expect(validateShard(value).ok).to.equal(true);
      const lying = hashedAsWritten(text, s.hash);
      if (lying === undefined) return;
      const l = JSON.parse(lying) as Shard;
      rememberShardText(l, lying);
      expect(validateShard(l).ok, 'a hash of non-canonical bytes').to.equal(false);
    });
  }
});
