import { expect } from 'chai';
import { CONFIG_API_VERSION, computeShardHash, validateBundle, validateShard, withHash } from '../../dns-server/config/index.js';
import type { UnhashedShard, ZoneShard } from '../../dns-server/config/index.js';
import { execFileSync } from 'node:child_process';
import { schemaAjv } from '../../dns-server/config/compile-schema.js';
import { checkEnvelope, checkShardOutline } from '../../dns-server/config/schema-validators.generated.js';
import { checkShardSchema } from '../../dns-server/config/validate.js';

const soa = { mname: 'ns1.example.org.', rname: 'hostmaster.example.org.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60, ttl: 3600 };
function zone(extra: Partial<ZoneShard> = {}): ZoneShard {
  const s = {
    apiVersion: CONFIG_API_VERSION, id: 'zone/example.org', kind: 'zone', origin: 'example.org.', soa, clusterDomain: false,
    rrsets: [
      { name: 'example.org.', type: 'NS', ttl: 3600, data: ['ns1.example.org.'] },
      { name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.1', '192.0.2.2'] },
      { name: '*.wild.example.org.', type: 'TXT', ttl: 300, data: [['hello', 'world']] },
      { name: '_http._tcp.example.org.', type: 'SRV', ttl: 300, data: [{ priority: 1, weight: 1, port: 80, target: 'www.example.org.' }] },
    ],
    reverse: [{ name: '1.2.0.192.in-addr.arpa.', type: 'PTR', ttl: 300, data: ['www.example.org.'] }],
    ...extra,
  } as UnhashedShard;
  return withHash(s) as ZoneShard;
}

const bad: [string, (z: ZoneShard) => unknown, RegExp][] = [
  ['a tampered hash', (z) => ({ ...z, hash: '0'.repeat(64) }), /does not match/],
  ['an owner outside the origin', (z) => withHash({ ...z, rrsets: [{ name: 'www.example.net.', type: 'A', ttl: 1, data: ['192.0.2.9'] }] } as UnhashedShard), /outside/],
  ['an invalid IPv4', (z) => withHash({ ...z, rrsets: [{ name: 'a.example.org.', type: 'A', ttl: 1, data: ['300.1.1.1'] }] } as UnhashedShard), /format/],
  ['an invalid IPv6', (z) => withHash({ ...z, rrsets: [{ name: 'a.example.org.', type: 'AAAA', ttl: 1, data: ['2001:db8::1::2'] }] } as UnhashedShard), /format/],
  ['a label of 64 characters', (z) => withHash({ ...z, rrsets: [{ name: `${'a'.repeat(64)}.example.org.`, type: 'A', ttl: 1, data: ['192.0.2.9'] }] } as UnhashedShard), /pattern/],
  ['an upper-case name', (z) => withHash({ ...z, rrsets: [{ name: 'A.example.org.', type: 'A', ttl: 1, data: ['192.0.2.9'] }] } as UnhashedShard), /pattern/],
  ['CNAME beside other data', (z) => withHash({ ...z, rrsets: [
    { name: 'c.example.org.', type: 'CNAME', ttl: 1, data: ['www.example.org.'] },
    { name: 'c.example.org.', type: 'A', ttl: 1, data: ['192.0.2.9'] }] } as UnhashedShard), /CNAME and other data/],
  ['two RRsets of one name and type', (z) => withHash({ ...z, rrsets: [
    { name: 'd.example.org.', type: 'A', ttl: 1, data: ['192.0.2.9'] },
    { name: 'd.example.org.', type: 'A', ttl: 1, data: ['192.0.2.8'] }] } as UnhashedShard), /two RRsets/],
  ['a non-PTR reverse entry', (z) => withHash({ ...z, reverse: [{ name: '1.2.0.192.in-addr.arpa.', type: 'A', ttl: 1, data: ['192.0.2.1'] }] } as UnhashedShard), /only PTR/],
];

describe('generated config validation', () => {
  it('passes a shard version the holder already validated (known id and hash) unchecked, and checks every other one', () => {
    const good = zone();
    const tampered = { ...good, rrsets: [{ name: 'www.example.net.', type: 'A', ttl: 1, data: ['300.1.1.1'] }] }; // the held hash, other content
    const asked: string[] = [];
    const known = (id: string, hash: string) => { asked.push(id); return id === good.id && hash === good.hash; };
    const v = validateBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [tampered] }, known);
    expect(v.refused).to.deep.equal([]);
    expect(v.shards[0], 'passed on as it came: the holder keeps its own version of that hash').to.equal(tampered);
    expect(asked).to.deep.equal(['zone/example.org']);
    const other = validateBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [{ ...tampered, hash: '1'.repeat(64) }] }, known);
    expect(other.refused.map((r) => r.id)).to.deep.equal(['zone/example.org']);
    const unknown = validateBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [tampered] });
    expect(unknown.refused.map((r) => r.id), 'without known, every shard is checked').to.deep.equal(['zone/example.org']);
    const dup = validateBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [good, good] }, known);
    expect(dup.refused, 'a known shard twice is still a duplicate').to.deep.equal([{ id: good.id, errors: [`${good.id}: duplicate shard id`] }]);
  });

  it('accepts a well-formed zone shard', () => {
    const v = validateShard(zone());
    expect(v.ok, JSON.stringify(v)).to.equal(true);
  });

  it('hash does not depend on key order', () => {
    const a = zone();
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    expect(computeShardHash(reordered as ZoneShard)).to.equal(a.hash);
  });

  for (const [what, mutate, msg] of bad) {
    it(`refuses a shard with ${what}`, () => {
      const v = validateShard(mutate(zone()));
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.errors.join('\n')).to.match(msg);
    });
  }

  it('finds the same errors in a list sorted by name and type (neighbours compared) as in any other order (a map)', () => {
    // seeded: names below and outside the origin, A/TXT/CNAME, some repeated
    let seed = 7;
    const r = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const names = ['a.example.org.', 'b.example.org.', 'example.org.', 'x.example.net.'];
    const data: Record<string, unknown[]> = { A: ['192.0.2.1'], TXT: [['t']], CNAME: ['c.example.org.'] };
    const types = Object.keys(data);
    let sortedWithErrors = 0;
    for (let n = 0; n < 500; n++) {
      const list = Array.from({ length: 1 + Math.floor(r() * 6) }, () => {
        const type = types[Math.floor(r() * types.length)];
        return { data: data[type], name: names[Math.floor(r() * names.length)], ttl: 1, type };
      });
      const sorted = [...list].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.type < y.type ? -1 : x.type > y.type ? 1 : 0));
      const errorsOf = (rrsets: unknown[]) => { const v = validateShard(withHash({ ...zone(), rrsets } as UnhashedShard)); return v.ok ? [] : [...v.errors].sort(); };
      const inOrder = errorsOf(sorted);
      expect(inOrder, JSON.stringify(sorted)).to.deep.equal(errorsOf([...sorted].reverse()));
      if (inOrder.some((e) => /CNAME and other data/.test(e)) && new Set(sorted.map((x) => x.name + x.type)).size === sorted.length) sortedWithErrors++;
    }
    expect(sortedWithErrors, 'sorted lists without repeats that hold a CNAME conflict').to.be.greaterThan(20);
  });

  it('refuses types a hosts shard and a reverse list may not hold, after the list\'s other errors, sorted or not', () => {
    const hosts = (rrsets: unknown[]) => withHash({ apiVersion: CONFIG_API_VERSION, kind: 'hosts', id: 'hosts', rrsets,
      reverse: [{ name: '1.2.0.192.in-addr.arpa.', type: 'A', ttl: 1, data: ['192.0.2.1'] }, { name: '2.2.0.192.in-addr.arpa.', type: 'PTR', ttl: 1, data: ['a.example.org.'] }] } as UnhashedShard);
    const a = { name: 'a.example.org.', type: 'A', ttl: 1, data: ['192.0.2.1'] };
    const aaaa = { name: 'a.example.org.', type: 'AAAA', ttl: 1, data: ['2001:db8::1'] };
    const cname = { name: 'b.example.org.', type: 'CNAME', ttl: 1, data: ['a.example.org.'] };
    const txt = { name: 'b.example.org.', type: 'TXT', ttl: 1, data: [['t']] };
    const typeErrors = ['hosts: hosts shard holds only A and AAAA, not CNAME', 'hosts: hosts shard holds only A and AAAA, not TXT'];
    const reverseError = 'hosts: reverse holds only PTR, not A at 1.2.0.192.in-addr.arpa.';
    const cnameError = 'hosts: b.example.org. has a CNAME and other data (RFC 1034 §3.6.2)';
    expect(validateShard(hosts([a, aaaa]))).to.deep.include({ ok: false, errors: [reverseError] });
    expect(validateShard(hosts([a, aaaa, cname, txt]))).to.deep.include({ ok: false, errors: [cnameError, ...typeErrors, reverseError] });
    expect(validateShard(hosts([txt, aaaa, cname, a, a]))).to.deep.include({ ok: false, errors: [
      'hosts: two RRsets for a.example.org. A (merge them)', cnameError, 'hosts: hosts shard holds only A and AAAA, not TXT', 'hosts: hosts shard holds only A and AAAA, not CNAME', reverseError,
    ] });
  });

  it('refuses a bad shard alone and keeps the rest of a bundle', () => {
    const good = zone();
    const v = validateBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [good, { ...zone({ id: 'zone/x' } as Partial<ZoneShard>), hash: 'f'.repeat(64) }] });
    expect(v.shards.map((s) => s.id)).to.deep.equal(['zone/example.org']);
    expect(v.refused.map((r) => r.id)).to.deep.equal(['zone/x']);
  });
});

describe('the precompiled schema validators', () => {
  it('accept and refuse exactly what ajv compiling schema.ts at run time does (the generated file is current)', () => {
    const ajv = schemaAjv();
    const shard = ajv.getSchema('shard')!;
    const outline = ajv.getSchema('outline')!;
    const envelope = ajv.getSchema('envelope')!;
    const services = withHash({
      apiVersion: CONFIG_API_VERSION, id: 'services/ns', kind: 'services', zone: 'cluster.local.', namespace: 'ns',
      rrsets: [{ name: 'a.ns.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.96.0.1'] }], reverse: [],
    } as UnhashedShard);
    const forwarders = withHash({
      apiVersion: CONFIG_API_VERSION, id: 'forwarders', kind: 'forwarders', reverse: [], forwarders: [{
        name: 'f', domains: ['.'], upstreams: [{ address: '192.0.2.53', port: 53, protocol: 'udp' }], policy: 'random', timeoutMs: 1000,
        deadlineMs: 2000, failFast: false, maxConcurrent: 100, healthCheck: { enabled: false, intervalMs: 1000, failures: 3, name: '.' },
        cache: { enabled: true, maxEntries: 1000, minTtl: 0, maxTtl: 3600, maxNegativeTtl: 60, servfailTtl: 5, prefetch: { enabled: false, minHits: 1, percent: 10 }, serveStale: { enabled: false, maxStale: 0, ttl: 30 } },
      }],
    } as UnhashedShard);
    const fw = (forwarders as unknown as { forwarders: Record<string, unknown>[] }).forwarders[0];
    const cases: unknown[] = [
      zone(), services, forwarders, ...bad.map(([, mutate]) => mutate(zone())), {}, { kind: 'zone' }, { ...zone(), kind: 'nope' }, { ...zone(), extra: 1 },
      { ...zone(), soa: { ...soa, serial: -1 } }, { ...zone(), rrsets: [{ name: 'x.example.org.', type: 'MX', ttl: 1, data: [{ preference: 1, exchange: 'm.example.org.' }] }] },
      { ...zone(), rrsets: [{ name: 'x.example.org.', type: 'TXT', ttl: 1, data: [['a'.repeat(256)]] }] }, { ...zone(), rrsets: {} }, { ...zone(), reverse: [1] },
      { ...services, rrsets: [{ name: 'a.ns.svc.cluster.local.', type: 'A', ttl: 5, data: [] }] }, { ...services, namespace: 'NS' }, { ...services, origin: 'x.' },
      { ...forwarders, reverse: [{}] }, { ...forwarders, forwarders: [{ ...fw, upstreams: [{ address: 'nope', port: 53, protocol: 'udp' }] }] },
      { ...forwarders, forwarders: [{ ...fw, cache: { ...(fw.cache as object), servfailTtl: 301 } }] }, { ...forwarders, rrsets: [] },
    ];
    // The outline plus the RRset lists checked by hand (what validateShard runs) against the whole schema
    const verdicts = cases.map((c) => [shard(c), checkShardSchema(c, 'x').errors.length === 0]);
    expect(verdicts.filter(([a, b]) => a !== b), 'cases where the server\'s schema check disagrees').to.deep.equal([]);
    expect(verdicts.filter(([a]) => a).length, 'valid cases (the semantic errors among them)').to.equal(9);
    expect(verdicts.filter(([a]) => !a).length, 'invalid cases').to.equal(cases.length - 9);
    // The generated outline against ajv compiling it now (the generated file is current)
    expect(cases.filter((c) => outline(c) !== checkShardOutline(c)), 'cases where the generated outline disagrees').to.deep.equal([]);
    for (const e of [{ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [] }, { kind: 'ConfigBundle' }, { apiVersion: 'x', kind: 'ConfigBundle', shards: [] }, []]) {
      expect(checkEnvelope(e), JSON.stringify(e)).to.equal(envelope(e));
    }
  });

  it('validate without loading ajv itself (only its 20-line string length helper)', () => {
    const probe = `import { createRequire } from 'node:module';
      const { validateShard } = await import(${JSON.stringify(new URL('../../dns-server/config/validate.ts', import.meta.url).href)});
      const ok = validateShard({}).ok;
      console.log(JSON.stringify({ ok, loaded: Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/ajv')) }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' })) as { ok: boolean; loaded: string[] };
    expect(out.ok).to.equal(false);
    expect(out.loaded.map((k) => k.replace(/.*node_modules\//, ''))).to.deep.equal(['ajv/dist/runtime/ucs2length.js']);
  });
});

describe('canonical JSON', () => {
  it('gives the same bytes whatever the key order, with and without the fast path', async () => {
    const { canonicalJson } = await import('../../dns-server/config/hash.js');
    const sorted = { a: 1, b: [{ x: 'y', z: null }, 'q'], c: { d: true, e: 'é\n"' } };
    const shuffled = { c: { e: 'é\n"', d: true }, b: [{ z: null, x: 'y' }, 'q'], a: 1 };
    expect(canonicalJson(sorted)).to.equal(JSON.stringify(sorted));
    expect(canonicalJson(shuffled)).to.equal(JSON.stringify(sorted));
    expect(canonicalJson({ b: 1, a: undefined })).to.equal('{"b":1}');
    expect(() => canonicalJson([undefined])).to.throw(/undefined/);
  });
});
