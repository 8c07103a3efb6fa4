// The hand-written check of RRset lists (dns-server/config/rrset-check.ts) against ajv compiling
// schema.ts's RRset definition at run time: the same verdict and the same first error (instance
// path and message) on valid RRsets of every type, on a mutation of every rule, and on a few
// thousand random mutations; and the canonical JSON length it measures for the shard hash.
import { expect } from 'chai';
import { schemaAjv } from '../../dns-server/config/compile-schema.js';
import { canonicalJson, NOT_CANONICAL } from '../../dns-server/config/hash.js';
import { checkRRSetList, isDomainName } from '../../dns-server/config/rrset-check.js';
import { FQDN_PATTERN, HOSTNAME_PATTERN } from '../../dns-server/config/schema.js';

const ajvRRSet = schemaAjv().getSchema('rrset')!;

/** ajv's verdict on one RRset, as checkRRSetList words it for the first item of a list. */
function ajvSays(rs: unknown): string {
  if (ajvRRSet(rs)) return 'valid';
  const e = ajvRRSet.errors![0];
  return `x: /l/0${e.instancePath} ${e.message}`;
}
function handSays(rs: unknown): string {
  const errors: string[] = [];
  checkRRSetList([rs], 'x', '/l', errors);
  return errors.length ? errors.join('; ') : 'valid';
}

const valid: Record<string, unknown>[] = [
  { data: ['192.0.2.1', '10.0.0.255'], name: 'www.example.org.', ttl: 300, type: 'A' },
  { data: ['2001:db8::1', '::ffff:192.0.2.1', 'FE80::1'], name: '*.example.org.', ttl: 0, type: 'AAAA' },
  { data: ['target.example.org.'], name: 'alias.example.org.', ttl: 2147483647, type: 'CNAME' },
  { data: ['ns1.example.org.', 'ns2.example.net.'], name: 'example.org.', ttl: 3600, type: 'NS' },
  { data: ['host.example.org.'], name: '1.2.0.192.in-addr.arpa.', ttl: 5, type: 'PTR' },
  { data: [['v=spf1 -all'], ['a', 'b "quoted" \\ back', 'é', '😀'.repeat(128)]], name: '_x._y.example.org.', ttl: 60, type: 'TXT' },
  { data: [{ exchange: 'mx.example.org.', preference: 10 }, { exchange: '.', preference: 0 }], name: 'example.org.', ttl: 60, type: 'MX' },
  { data: [{ port: 8080, priority: 0, target: 'svc.ns.svc.cluster.local.', weight: 100 }], name: '_http._tcp.svc.ns.svc.cluster.local.', ttl: 5, type: 'SRV' },
  { data: [{ flags: 128, tag: 'issue', value: 'letsencrypt.org' }, { flags: 0, tag: 'iodef', value: 'mailto:a@example.org' }], name: 'example.org.', ttl: 60, type: 'CAA' },
  { name: 'k.example.org.', type: 'A', ttl: 1, data: ['192.0.2.9'] }, // keys not in canonical order: valid all the same
  { data: ['192.0.2.1'], name: '.', ttl: 1, type: 'A' },
];

/** Values that break one rule or another wherever they are put. */
const odd: unknown[] = [
  undefined, null, true, 0, -1, 1.5, -0, 65536, 2147483648, 4294967296, NaN, Infinity, '', ' ', 'x', 'A', '1', '-', '.', '..', '*', '*.',
  'Upper.example.', 'a..b.', '-a.', 'a-.', 'a_.', '_a.', 'a*b.', 'a.*.', `${'a'.repeat(63)}.`, `${'a'.repeat(64)}.`, `${'a.'.repeat(127)}`,
  `${'a.'.repeat(128)}`, `${'😀'.repeat(200)}.`, 'é.', '192.0.2.1', '192.0.2', '01.0.2.1', '256.0.0.1', '::', '1::2::3', '2001:db8::g',
  'fe80::1%eth0', '::ffff:1.2.3.4', '1'.repeat(256), '😀'.repeat(128), '😀'.repeat(256), 'a'.repeat(1025), 'issue', 'toolongtagvalue1',
  'bad-tag', [], [''], ['a'], ['192.0.2.1'], [[]], [['a']], Array.from({ length: 65 }, () => 'a'), {}, { a: 1 },
  { exchange: 'mx.example.org.', preference: 1 }, { port: 1, priority: 1, target: 'a.', weight: 1 }, { flags: 0, tag: 'issue', value: 'x' },
  { exchange: 'mx.example.org.' }, { port: 1, priority: 1, target: 'a.', weight: 1, extra: 1 }, 'MX', 'SRV', 'TXT', 'NONE',
];

/** A seeded generator (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `v` with the value at a random path (an RRset key, a data item, an item's key) replaced, deleted or added. */
function mutate(v: unknown, r: () => number): unknown {
  if (Array.isArray(v)) {
    const out = [...v];
    const i = Math.floor(r() * (out.length + 1));
    if (r() < 0.6 && out.length) out[Math.min(i, out.length - 1)] = mutate(out[Math.min(i, out.length - 1)], r);
    else if (r() < 0.5) out.push(odd[Math.floor(r() * odd.length)]);
    else out.splice(i, 1);
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(out);
    const k = r() < 0.1 ? 'extra' : keys[Math.floor(r() * keys.length)];
    const roll = r();
    if (roll < 0.15) delete out[k];
    else if (roll < 0.55 && k in out) out[k] = mutate(out[k], r);
    else out[k] = odd[Math.floor(r() * odd.length)];
    return out;
  }
  return odd[Math.floor(r() * odd.length)];
}

describe('the hand-written RRset check (rrset-check.ts)', () => {
  it('accepts every valid RRset, as ajv does', () => {
    for (const rs of valid) {
      expect(ajvSays(rs), JSON.stringify(rs)).to.equal('valid');
      expect(handSays(rs), JSON.stringify(rs)).to.equal('valid');
    }
  });

  it('gives ajv\'s verdict and first error with any one key of any valid RRset (or of a data item) set to each odd value, or deleted', () => {
    let refused = 0;
    for (const base of valid) {
      const variants: unknown[] = [];
      for (const k of [...Object.keys(base), 'extra']) {
        for (const v of odd) variants.push({ ...base, [k]: v });
        const { [k]: _gone, ...rest } = base;
        variants.push(rest);
      }
      const item = (base.data as unknown[])[0];
      for (const v of odd) variants.push({ ...base, data: [v] }, { ...base, data: [...(base.data as unknown[]), v] });
      if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
        for (const k of [...Object.keys(item), 'extra']) {
          for (const v of odd) variants.push({ ...base, data: [{ ...item, [k]: v }] });
          const { [k]: _gone, ...rest } = item as Record<string, unknown>;
          variants.push({ ...base, data: [rest] });
        }
      }
      if (Array.isArray(item)) for (const v of odd) variants.push({ ...base, data: [[...item, v]] });
      for (const rs of variants) {
        const want = ajvSays(rs);
        expect(handSays(rs), JSON.stringify(rs)).to.equal(want);
        if (want !== 'valid') refused++;
      }
    }
    expect(refused, 'mutations refused').to.be.greaterThan(2000);
  });

  it('gives ajv\'s verdict and first error on 20,000 random mutations of valid RRsets', () => {
    const r = rng(14);
    let refused = 0, accepted = 0;
    for (let n = 0; n < 20000; n++) {
      let rs: unknown = valid[Math.floor(r() * valid.length)];
      const times = 1 + Math.floor(r() * 3);
      for (let m = 0; m < times; m++) rs = mutate(rs, r);
      const want = ajvSays(rs);
      expect(handSays(rs), JSON.stringify(rs)).to.equal(want);
      if (want === 'valid') accepted++; else refused++;
    }
    expect(accepted, 'some mutations stay valid').to.be.greaterThan(100);
    expect(refused).to.be.greaterThan(10000);
  });

  it('reports the first bad RRset of a list by its index and stops there', () => {
    const errors: string[] = [];
    const len = checkRRSetList([valid[0], valid[1], { ...valid[0], ttl: -1 }, { ...valid[0], name: 'X.' }], 'zone/example.org', '/rrsets', errors);
    expect(errors).to.deep.equal(['zone/example.org: /rrsets/2/ttl must be >= 0']);
    expect(len).to.equal(NOT_CANONICAL);
  });

  it('matches names exactly as FQDN_PATTERN (wildcards) and HOSTNAME_PATTERN do', () => {
    const fqdn = new RegExp(FQDN_PATTERN, 'u');
    const hostname = new RegExp(HOSTNAME_PATTERN, 'u');
    const r = rng(4);
    const alphabet = ['a', 'z', '0', '9', '_', '-', '*', '.', '.', '.', 'A', 'é', '😀', ' ', '/'];
    const names = odd.filter((v): v is string => typeof v === 'string');
    for (let n = 0; n < 50000; n++) {
      let s = '';
      const len = Math.floor(r() * 12);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      names.push(s);
    }
    for (const label of [1, 2, 61, 62, 63, 64]) for (const end of ['a', '-', '*', '_']) names.push(`${'a'.repeat(label - 1)}${end}.`, `x.${end}${'a'.repeat(label - 1)}.`);
    let matched = 0;
    for (const s of names) {
      expect(isDomainName(s, true), `${JSON.stringify(s)} (FQDN)`).to.equal(fqdn.test(s));
      expect(isDomainName(s, false), `${JSON.stringify(s)} (hostname)`).to.equal(hostname.test(s));
      if (fqdn.test(s)) matched++;
    }
    expect(matched, 'names that match').to.be.greaterThan(1000);
  });

  it('measures the canonical JSON of a list whose keys are in canonical order, and says NOT_CANONICAL otherwise', () => {
    const surrogates = /[\ud800-\udfff]/;
    const ordered = valid.filter((rs) => JSON.stringify(rs) === canonicalJson(rs) && !surrogates.test(JSON.stringify(rs)));
    expect(ordered.length).to.be.greaterThan(5);
    for (const list of [[], ordered, ...ordered.map((rs) => [rs])]) {
      expect(checkRRSetList(list, 'x', '/l', []), JSON.stringify(list)).to.equal(canonicalJson(list).length);
    }
    const shuffled = (rs: Record<string, unknown>) => Object.fromEntries(Object.entries(rs).reverse());
    expect(checkRRSetList([...ordered, shuffled(ordered[0])], 'x', '/l', [])).to.equal(NOT_CANONICAL);
    const srv = ordered.find((rs) => rs.type === 'SRV')!;
    expect(checkRRSetList([{ ...srv, data: [shuffled((srv.data as Record<string, unknown>[])[0])] }], 'x', '/l', [])).to.equal(NOT_CANONICAL);
    // a surrogate (a lone one JSON.stringify writes as \u, which the received-text check cannot see): not measured
    expect(checkRRSetList([{ data: [['\ud800']], name: 'a.', ttl: 1, type: 'TXT' }], 'x', '/l', [])).to.equal(NOT_CANONICAL);
    expect(checkRRSetList([{ data: [['😀']], name: 'a.', ttl: 1, type: 'TXT' }], 'x', '/l', [])).to.equal(NOT_CANONICAL);
  });
});
