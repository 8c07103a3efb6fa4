// A shard's slab built from the text its hash was checked on (tables/build.ts buildShardSlab with
// config/hash.ts takeHashedText): its records and its reverse list copied out of that text, which
// must give the slab written from the RRsets, byte for byte.
import { expect } from 'chai';
import { canonicalJson } from '../../dns-server/config/index.js';
import { parseShardJson, takeHashedText } from '../../dns-server/config/hash.js';
import type { RRSet, Shard } from '../../dns-server/config/types.js';
import { validateShard } from '../../dns-server/config/validate.js';
import { buildShardSlab, reverseOf } from '../../dns-server/tables/build.js';
import { Slab } from '../../dns-server/tables/slab.js';
import { rrsetsInText, SlabNames } from '../../dns-server/tables/slab-names.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { hostsShard, servicesShard, zoneShard } from '../helpers/bundles.js';

const z = 'ns1.svc.cluster.local.';
const byName = (a: RRSet, b: RRSet) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0);

/** A services shard's RRsets of every kind a list can hold: several per name, ENTs, a wildcard, strings JSON escapes. */
function mixed(n: number): RRSet[] {
  const out: RRSet[] = [];
  for (let i = 0; i < n; i++) {
    const name = `svc${i}.${z}`;
    out.push({ name, type: 'A', ttl: 5, data: [`10.0.${i >> 8}.${i & 255}`, '10.9.9.9'] });
    if (i % 3 === 0) out.push({ name, type: 'AAAA', ttl: 5, data: ['2001:db8::1'] });
    if (i % 7 === 0) out.push({ name, type: 'TXT', ttl: 30, data: [['quote " é \\ \u0001', 'b'], ['😀']] });
    if (i % 5 === 0) out.push({ name: `mx${i}.${z}`, type: 'MX', ttl: 60, data: [{ exchange: name, preference: 10 }] });
    if (i % 11 === 0) out.push({ name: `caa${i}.${z}`, type: 'CAA', ttl: 60, data: [{ flags: 0, tag: 'issue', value: 'ca.example; a="b"' }] });
    if (i % 10 === 0) out.push({ name: `pod${i}.sub.svc${i}.${z}`, type: 'A', ttl: 5, data: ['10.1.0.1'] });
    if (i % 50 === 0) out.push({ name: `*.wild${i}.${z}`, type: 'CNAME', ttl: 5, data: [`svc${i}.${z}`] });
    if (i % 9 === 0) out.push({ name: `_http._tcp.svc${i}.${z}`, type: 'SRV', ttl: 5, data: [{ port: 80, priority: 0, target: name, weight: 1 }, { port: 81, priority: 1, target: `b.${name}`, weight: 2 }] });
  }
  return out.sort(byName);
}

const ptrs = (n: number): RRSet[] => Array.from({ length: n }, (_, i): RRSet => ({ data: [`svc${i}.${z}`], name: `${i}.0.0.10.in-addr.arpa.`, ttl: 5, type: 'PTR' }))
  .sort(byName);

/** The shard's two texts: its canonical JSON without the hash (JSON.stringify of a parsed shard), and as the operator writes it (the hash member last). */
function texts(shard: Shard): { canonical: string; operator: string } {
  const { hash, ...rest } = shard;
  const canonical = canonicalJson(rest);
  return { canonical, operator: canonical.slice(0, -1) + ',"hash":"' + hash + '"}' };
}

const same = (a: SharedArrayBuffer, b: SharedArrayBuffer) => Buffer.from(a).equals(Buffer.from(b));

describe('dns-server: a shard\'s slab from the text its hash was checked on', () => {
  const shards: [string, Shard][] = [
    ['services, every RR type', servicesShard('cluster.local.', 'ns1', mixed(120), ptrs(40))],
    ['services, one RRset', servicesShard('cluster.local.', 'ns1', mixed(1).slice(0, 1), ptrs(1))],
    ['services, empty', servicesShard('cluster.local.', 'ns1', [], [])],
    ['zone', zoneShard('example.org.', [{ name: 'www.example.org.', type: 'A', ttl: 60, data: ['192.0.2.1'] }], { reverse: ptrs(3) })],
    ['hosts', hostsShard([{ name: 'h.internal.example.', type: 'A', ttl: 60, data: ['172.16.0.1'] }], ptrs(2))],
  ];

  for (const [what, shard] of shards) {
    it(`${what}: is byte for byte the slab written from its RRsets, from either text`, () => {
      const written = buildShardSlab(shard);
      for (const [form, text] of Object.entries(texts(shard))) {
        expect(rrsetsInText(text, (shard as { rrsets: RRSet[] }).rrsets), `${form}: the text's layout is found (the copy is what is tested)`).to.not.equal(undefined);
        expect(same(buildShardSlab(shard, text), written), form).to.equal(true);
      }
      expect(reverseOf(new Slab(buildShardSlab(shard, texts(shard).operator)))).to.deep.equal(shard.reverse);
    });
  }

  it('decodes a record copied from the text into the RRsets of its name', () => {
    const shard = servicesShard('cluster.local.', 'ns1', mixed(30), []);
    const names = new SlabNames(new Slab(buildShardSlab(shard, texts(shard).operator)));
    const name = `svc0.${z}`;
    expect(names.names.get(nameToKey(name))?.rrsets.map((r) => [r.ttl, r.data])).to.deep.equal(
      (shard as { rrsets: RRSet[] }).rrsets.filter((r) => r.name === name).map((r) => [r.ttl, r.data]));
  });

  it('finds no layout in a text that is not the shard\'s (another version: the slab is then written from the RRsets)', () => {
    const shard = servicesShard('cluster.local.', 'ns1', mixed(20), ptrs(2)) as Shard & { rrsets: RRSet[] };
    const longer = servicesShard('cluster.local.', 'ns1', [...mixed(20), { name: `zz.${z}`, type: 'A', ttl: 5, data: ['10.3.0.1'] }], ptrs(2));
    const lastChanged = servicesShard('cluster.local.', 'ns1', [...shard.rrsets.slice(0, -1), { ...shard.rrsets.at(-1)!, ttl: 6 }], ptrs(2));
    const shorter = servicesShard('cluster.local.', 'ns1', shard.rrsets.slice(0, -1), ptrs(2));
    for (const [what, other] of [['one more RRset', longer], ['the last RRset\'s TTL', lastChanged], ['one RRset less', shorter]] as const) {
      expect(rrsetsInText(texts(other).operator, shard.rrsets), what).to.equal(undefined);
      expect(same(buildShardSlab(shard, texts(other).operator), buildShardSlab(shard)), what).to.equal(true);
    }
    expect(rrsetsInText('{"kind":"services"}', shard.rrsets), 'no lists').to.equal(undefined);
  });

  it('takes the text validation hashed: the received text, else JSON.stringify of a shard in canonical order, else its sorted serialisation; once', () => {
    const txt = (data: string[][]) => servicesShard('cluster.local.', 'ns1', [{ name: `t.${z}`, type: 'TXT', ttl: 5, data }], ptrs(2));
    const plain = txt([['plain', 'b']]);
    const received = parseShardJson(texts(plain).operator) as Shard;
    expect(validateShard(received).ok).to.equal(true);
    expect(takeHashedText(received)).to.equal(texts(plain).operator);
    expect(takeHashedText(received), 'taken once').to.equal(undefined);
    // Escapes in the text: it is not the canonical text as received; hashed by JSON.stringify.
    const escaped = txt([['quote " é \\ \u0001']]);
    const parsed = parseShardJson(texts(escaped).operator) as Shard;
    expect(validateShard(parsed).ok).to.equal(true);
    expect(takeHashedText(parsed)).to.equal(texts(escaped).canonical);
    // A surrogate (JSON.stringify's form of it is not known to be canonical), or keys out of
    // order (the test helpers' shards: in insertion order): hashed from the sorted serialisation,
    // which is kept (the slabs from that text: the first tests' `canonical` form).
    const emoji = txt([['😀']]);
    for (const [shard, of] of [[parseShardJson(texts(emoji).operator) as Shard, emoji], [plain, plain]]) {
      expect(validateShard(shard).ok).to.equal(true);
      expect(takeHashedText(shard)).to.equal(texts(of).canonical);
      expect(takeHashedText(shard), 'taken once').to.equal(undefined);
    }
  });
});
