// Tables own their answers (tables/table.ts): every table (zones, hosts, cluster Services) reads
// its names from a shared slab and prepares a name's answers on its first query in the thread;
// a Services table and a zone table holding the same names give the same bytes.
import { expect } from 'chai';
import type { RRSet, ServicesShard, ZoneShard } from '../../dns-server/config/types.js';
import { buildServicesTable, buildShardSlab, buildZoneTable, reverseOf } from '../../dns-server/tables/build.js';
import { keyOfName } from '../../dns-server/tables/keys.js';
import { NODE, Slab } from '../../dns-server/tables/slab.js';
import { runsOf, SlabNames } from '../../dns-server/tables/slab-names.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { hostsShard, servicesShard, zoneShard } from '../helpers/bundles.js';

const rrsets: RRSet[] = [
  { name: 'web.ns1.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.0.0.1', '10.0.0.2'] },
  { name: 'alias.ns1.svc.cluster.local.', type: 'CNAME', ttl: 5, data: ['web.ns1.svc.cluster.local.'] },
  { name: '_http._tcp.web.ns1.svc.cluster.local.', type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 100, port: 80, target: 'web.ns1.svc.cluster.local.' }] },
];

describe('dns-server: tables own their answers', () => {
  const lazy = buildServicesTable(servicesShard('cluster.local.', 'ns1', rrsets) as ServicesShard, 'now');
  // The same names in a zone table: a zone at ns1.svc.cluster.local.
  const eager = buildZoneTable(zoneShard('ns1.svc.cluster.local.', rrsets) as ZoneShard, 'now');

  for (const [name, type] of [['web.ns1.svc.cluster.local.', TYPE.A], ['alias.ns1.svc.cluster.local.', TYPE.A], ['_http._tcp.web.ns1.svc.cluster.local.', TYPE.SRV]] as const) {
    it(`prepares ${name} type ${type} on first query with the bytes a zone table prepares`, () => {
      const key = nameToKey(name);
      const a = lazy.answerFor(key, type);
      const b = eager.answerFor(key, type);
      expect(a, 'lazy answer').to.be.instanceOf(Buffer);
      expect(a!.equals(b!)).to.equal(true);
    });
  }

  it('rotates a multi-record RRset on successive calls, and has no answer for a missing name or type', () => {
    const key = nameToKey('web.ns1.svc.cluster.local.');
    const first = lazy.answerFor(key, TYPE.A)!;
    const second = lazy.answerFor(key, TYPE.A)!;
    expect(first.equals(second)).to.equal(false);
    expect(lazy.answerFor(key, TYPE.A)!.equals(first)).to.equal(true);
    expect(lazy.answerFor(key, TYPE.TXT)).to.equal(undefined);
    expect(lazy.answerFor(nameToKey('nope.ns1.svc.cluster.local.'), TYPE.A)).to.equal(undefined);
  });
});

describe('dns-server: a services shard\'s slab from runs of one name (tables/build.ts)', () => {
  it('is byte for byte the slab made through NameRecords, which a list whose names come back takes', () => {
    const z = 'ns1.svc.cluster.local.';
    const rrsets: RRSet[] = [];
    for (let i = 0; i < 300; i++) {
      const name = `svc${i}.${z}`;
      rrsets.push({ name, type: 'A', ttl: 5, data: [`10.0.${i >> 8}.${i & 255}`] });
      if (i % 3 === 0) rrsets.push({ name, type: 'AAAA', ttl: 5, data: ['2001:db8::1'] });
      if (i % 7 === 0) rrsets.push({ name, type: 'TXT', ttl: 30, data: [['quote " é', 'b']] });
      if (i % 10 === 0) rrsets.push({ name: `pod${i}.sub.svc${i}.${z}`, type: 'A', ttl: 5, data: ['10.1.0.1'] }); // ENTs below
      if (i % 50 === 0) rrsets.push({ name: `*.wild${i}.${z}`, type: 'CNAME', ttl: 5, data: [`svc${i}.${z}`] }); // a wildcard parent that is an ENT
      if (i % 9 === 0) rrsets.push({ name: `_http._tcp.svc${i}.${z}`, type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 1, port: 80, target: name }] }); // svc i: a node and a parent
    }
    // The same RRsets, each name's first first (the same order of names), its others at the end (in order): the names come back.
    const seen = new Set<string>();
    const firsts = rrsets.filter((rs) => !seen.has(rs.name) && seen.add(rs.name));
    const scattered = [...firsts, ...rrsets.filter((rs) => !firsts.includes(rs))];
    expect(scattered.length).to.equal(rrsets.length);
    expect([runsOf(rrsets, keyOfName) !== undefined, runsOf(scattered, keyOfName)], 'the two paths').to.deep.equal([true, undefined]);
    const grouped = buildShardSlab(servicesShard('cluster.local.', 'ns1', rrsets));
    const other = buildShardSlab({ ...servicesShard('cluster.local.', 'ns1', scattered), hash: (servicesShard('cluster.local.', 'ns1', rrsets) as ServicesShard).hash } as ServicesShard);
    expect(Buffer.from(grouped).equals(Buffer.from(other))).to.equal(true);
    expect(new Slab(grouped).entries).to.be.greaterThan(seen.size); // ENTs among them
  });

  it('is byte for byte the slab made through NameRecords when a name is not in the form keys are written straight from (upper case, non-ASCII: the runs of names are thrown away for the keys\' way)', () => {
    const z = 'ns1.svc.cluster.local.';
    for (const odd of [`SVC77.${z}`, `svc7é.${z}`, `pod.SUB.svc9.${z}`]) { // (no other name of the same key)
      const rrsets: RRSet[] = [];
      for (let i = 0; i < 20; i++) {
        rrsets.push({ name: `svc${i}.${z}`, type: 'A', ttl: 5, data: [`10.0.0.${i}`] });
        if (i % 4 === 0) rrsets.push({ name: `pod.sub.svc${i}.${z}`, type: 'A', ttl: 5, data: ['10.1.0.1'] }); // ENTs below
      }
      rrsets.push({ name: odd, type: 'A', ttl: 5, data: ['10.2.0.1'] });
      rrsets.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      // The first name's second RRset: after its first (runs), or at the end (no runs; the same order of names).
      const second: RRSet = { name: rrsets[0].name, type: 'TXT', ttl: 5, data: [['x']] };
      const shard = servicesShard('cluster.local.', 'ns1', [rrsets[0], second, ...rrsets.slice(1)]) as ServicesShard;
      const grouped = buildShardSlab(shard);
      const other = buildShardSlab({ ...shard, rrsets: [...rrsets, second] });
      expect(Buffer.from(grouped).equals(Buffer.from(other)), odd).to.equal(true);
      expect(new Slab(grouped).flagsOf(nameToKey(odd)) & NODE, odd).to.equal(NODE);
    }
    // Two spellings of one name (one key): one entry holding both RRsets, not two entries.
    const twin: RRSet[] = [
      { name: `SVC1.${z}`, type: 'AAAA', ttl: 5, data: ['2001:db8::1'] },
      { name: `svc1.${z}`, type: 'A', ttl: 5, data: ['10.0.0.1'] },
    ];
    const slab = new Slab(buildShardSlab(servicesShard('cluster.local.', 'ns1', twin)));
    expect(slab.entries, 'the name and the namespace (an ENT)').to.equal(2);
    expect(new SlabNames(slab).names.get(nameToKey(`svc1.${z}`))?.rrsets.map((rs) => rs.type)).to.deep.equal([TYPE.AAAA, TYPE.A]);
  });

  it('gives back the reverse RRsets a shard slab was built with (its aux blob), of every shard kind, for random lists', () => {
    let seed = 3;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const targets = ['a.example.org.', 'é.example.org.', 'q"uote\\.example.', 'x\u0001y.example.', '😀.example.', ''];
    for (let round = 0; round < 60; round++) {
      const reverse: RRSet[] = Array.from({ length: rnd(40) }, (_, i) => ({
        name: `${i}.${rnd(256)}.0.10.in-addr.arpa.`, type: 'PTR', ttl: [0, 5, 99, 100, 2147483647, 2147483648][rnd(6)], data: Array.from({ length: rnd(4) }, () => targets[rnd(targets.length)]),
      }));
      const shard = [zoneShard('example.org.', [], { reverse }), servicesShard('cluster.local.', 'ns1', [], reverse), hostsShard([], reverse)][round % 3];
      expect(reverseOf(new Slab(buildShardSlab(shard))), `round ${round}`).to.deep.equal(reverse);
    }
  });
});
