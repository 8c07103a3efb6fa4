// The slab (tables/slab.ts): one shard's name data in a SharedArrayBuffer, read by every thread.
// Its index must find every key it holds and nothing else, whatever the keys' bytes and hashes;
// the name data over it (slab-names.ts) must say what the Map-based tables said; the reverse
// slab must merge and replace shards' PTR names as the in-place index did.
import { expect } from 'chai';
import type { RRSet } from '../../dns-server/config/types.js';
import { buildReverseSlabs, dirty, dirtyByMap, dirtyByText, ReverseIndex, ReverseSlabs } from '../../dns-server/tables/reverse.js';
import { CNAME, ENT, hashKey, NODE, patchSlab, Slab, SlabWriter, typeBit, WILDCARD_PARENT } from '../../dns-server/tables/slab.js';
import { decodeNode, recordOf, recordText, SlabNames, writeNames } from '../../dns-server/tables/slab-names.js';
import type { NameNode } from '../../dns-server/tables/types.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';

const slabOf = (entries: [string, number, string?][]) => {
  const w = new SlabWriter();
  for (const [k, f, r] of entries) w.add(k, f, r);
  return new Slab(w.finish({ kind: 'test' }, ['aux']));
};

describe('dns-server: table slabs (shared memory)', () => {
  it('finds nothing in an empty slab, and says so in its counts', () => {
    const s = slabOf([]);
    expect(s.find(nameToKey('www.example.org.'))).to.equal(-1);
    expect(s.flagsOf('\x00')).to.equal(0);
    expect([s.entries, s.nodes, s.wildcardParents]).to.deep.equal([0, 0, 0]);
    expect(s.meta()).to.deep.equal({ kind: 'test' });
    expect(s.aux()).to.deep.equal(['aux']);
  });

  it('tells apart two keys of the same hash (compares the bytes, not only the hash)', () => {
    const a = '\x05h4vl8\x07example\x03org\x00';
    const b = '\x05hlpd6\x07example\x03org\x00';
    expect(hashKey(a), 'the two keys collide in FNV-1a').to.equal(hashKey(b));
    const only = slabOf([[a, NODE, '"a"']]);
    expect(only.find(b), 'same hash, other key: absent').to.equal(-1);
    const both = slabOf([[a, NODE, '"a"'], [b, NODE | CNAME, '"b"']]);
    expect(both.recordAt(both.find(a))).to.equal('a');
    expect(both.recordAt(both.find(b))).to.equal('b');
    expect(both.flagsOf(b)).to.equal(NODE | CNAME);
  });

  it('holds keys of any byte (0 to 255) and records of any Unicode text', () => {
    const keys = Array.from({ length: 256 }, (_, i) => String.fromCharCode(1, i, 0));
    keys.push(String.fromCharCode(3, 0xff, 0x00, 0x80, 0));
    const s = slabOf(keys.map((k, i) => [k, NODE, JSON.stringify(`r${i} é ✓ 𝄞`)] as [string, number, string]));
    keys.forEach((k, i) => {
      const at = s.find(k);
      expect(at, `key ${i}`).to.be.at.least(0);
      expect(s.keyAt(at)).to.equal(k);
      expect(s.recordAt(at)).to.equal(`r${i} é ✓ 𝄞`);
    });
    expect(s.find(String.fromCharCode(1, 0x41))).to.equal(-1); // a prefix of a held key
    expect(s.find(String.fromCharCode(1, 0x41, 0, 0))).to.equal(-1); // a held key and more
  });

  it('finds every key of a large shard (100,000 names) and no other', () => {
    const w = new SlabWriter();
    for (let i = 0; i < 100_000; i++) w.add(nameToKey(`svc${i}.ns${i % 100}.svc.cluster.local.`), NODE | typeBit(TYPE.A), `${i}`);
    const s = new Slab(w.finish(null));
    expect(s.nodes).to.equal(100_000);
    expect(s.capacity).to.be.at.least(200_000);
    for (let i = 0; i < 100_000; i += 7) expect(s.recordAt(s.find(nameToKey(`svc${i}.ns${i % 100}.svc.cluster.local.`)))).to.equal(i);
    for (let i = 0; i < 1000; i++) expect(s.find(nameToKey(`svc${i}.ns${(i + 1) % 100}.svc.cluster.local.`))).to.equal(-1);
  });

  it('keeps a key that is an empty non-terminal and a wildcard parent as one entry with both flags', () => {
    const wild: NameNode = { name: '*.a.example.org.', rrsets: [{ type: TYPE.A, ttl: 60, data: ['192.0.2.1'] }], cname: false };
    const apex: NameNode = { name: 'example.org.', rrsets: [{ type: TYPE.NS, ttl: 60, data: ['ns.example.org.'] }, { type: TYPE.TXT, ttl: 60, data: [['x']] }], cname: false };
    const w = new SlabWriter();
    const aKey = nameToKey('a.example.org.');
    writeNames(w, new Map([[nameToKey(wild.name), recordOf(wild)], [nameToKey(apex.name), recordOf(apex)]]), [aKey], [aKey]);
    const data = new SlabNames(new Slab(w.finish(null)));
    expect(data.slab.entries).to.equal(3);
    expect(data.flagsOf(aKey)).to.equal(ENT | WILDCARD_PARENT);
    expect(data.ents.has(aKey) && data.wildcardParents.has(aKey)).to.equal(true);
    expect(data.names.has(aKey)).to.equal(false);
    expect(data.names.get(aKey)).to.equal(undefined);
    expect(data.names.size).to.equal(2);
    expect(data.wildcardParents.size).to.equal(1);
    expect(data.names.get(nameToKey('*.a.example.org.'))).to.deep.equal(wild);
    // The type bits: what the handler's NODATA check reads without decoding the record.
    const f = data.flagsOf(nameToKey('example.org.'));
    expect([f & typeBit(TYPE.NS), f & typeBit(TYPE.TXT), f & typeBit(TYPE.A), f & typeBit(TYPE.AAAA)].map(Boolean)).to.deep.equal([true, true, false, false]);
    expect(typeBit(TYPE.ANY)).to.equal(0);
    // One bit of its own for each of the ten types a configuration holds, above the flags' byte; 0 for any other code.
    const ten = [TYPE.A, TYPE.NS, TYPE.CNAME, TYPE.SOA, TYPE.PTR, TYPE.MX, TYPE.TXT, TYPE.AAAA, TYPE.SRV, TYPE.CAA].map(typeBit);
    expect(new Set(ten).size).to.equal(10);
    for (const b of ten) expect(b >= 256 && (b & (b - 1)) === 0, `bit ${b}`).to.equal(true);
    expect([0, 41, 251, 252, 256, 258, 65535].map(typeBit)).to.deep.equal([0, 0, 0, 0, 0, 0, 0]);
  });

  it('patches a slab (remove, replace, add) to the same contents as a Map, through compactions, for a random sequence', () => {
    // A small deterministic generator: the same sequence every run.
    let seed = 42;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
    const model = new Map<string, string>();
    let slab = new Slab(new SlabWriter().finish({ v: 0 }));
    const keyOf = (i: number) => nameToKey(`n${i}.example.org.`);
    let compactions = 0;
    for (let round = 1; round <= 60; round++) {
      const remove = new Set<string>();
      const add = new Map<string, string>();
      for (let k = 0; k < 40; k++) {
        const key = keyOf(rnd(300));
        if (rnd(3) === 0) { remove.add(key); add.delete(key); } else add.set(key, `"${round}:${k} é"`);
      }
      for (const key of remove) model.delete(key);
      for (const [key, rec] of add) model.set(key, rec);
      const capacity = slab.capacity;
      const w = new SlabWriter();
      for (const [k, r] of add) w.add(k, NODE, r);
      slab = new Slab(patchSlab(slab, [...remove, ...add.keys()], w, { v: round }, [round]));
      if (slab.capacity !== capacity || slab.u32[11] === 0) compactions++;
      expect(slab.meta()).to.deep.equal({ v: round });
      expect(slab.aux()).to.deep.equal([round]);
      expect(slab.entries).to.equal(model.size);
      expect(slab.nodes).to.equal(model.size);
      for (let i = 0; i < 300; i++) {
        const at = slab.find(keyOf(i));
        const want = model.get(keyOf(i));
        if (want === undefined) expect(at, `round ${round}: key ${i} absent`).to.equal(-1);
        else expect(slab.recordAt(at), `round ${round}: key ${i}`).to.equal(JSON.parse(want));
      }
    }
    expect(compactions, 'the sequence went through compactions too').to.be.greaterThan(0);
  });

  it('decodes a node as it was written (RRsets in order, CNAME flag)', () => {
    const node: NameNode = { name: 'alias.example.org.', rrsets: [{ type: TYPE.CNAME, ttl: 5, data: ['www.example.org.'] }], cname: true };
    const r = recordOf(node);
    expect(r.flags).to.equal(NODE | CNAME | typeBit(TYPE.CNAME));
    expect(decodeNode(JSON.parse(recordText(r)), r.flags)).to.deep.equal(node);
  });
});

describe('dns-server: the reverse slab', () => {
  const ptr = (ip: string, ttl: number, ...targets: string[]): RRSet => ({ name: ip.split('.').reverse().join('.') + '.in-addr.arpa.', type: 'PTR', ttl, data: targets });
  const key = (ip: string) => nameToKey(ip.split('.').reverse().join('.') + '.in-addr.arpa.');
  const ptrOf = (idx: ReverseIndex, ip: string) => idx.node(key(ip))?.rrsets[0];
  const byName = (a: RRSet, b: RRSet) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

  it('diffs a change of two lists sorted by name (walking them side by side) as it diffs them through a map', () => {
    let seed = 11;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const ips = Array.from({ length: 300 }, (_, i) => `10.8.${i >> 8}.${i & 255}`);
    // A TTL of two and a target of two: a name in both lists is often left as it was.
    const list = () => ips.filter(() => rnd(3) !== 0).map((ip) => ptr(ip, 30 + rnd(2), `t${rnd(2)}.example.org.`)).sort(byName);
    let walked = 0;
    for (let round = 0; round < 200; round++) {
      const before = rnd(10) === 0 ? [] : list();
      const after = rnd(10) === 0 ? [] : list();
      const c = { id: 'a', before, after };
      const a = dirty(c);
      const b = dirtyByMap(c);
      expect(a.before, `round ${round}: before`).to.deep.equal(b.before);
      expect(a.after, `round ${round}: after`).to.deep.equal(b.after);
      for (const ip of ips) {
        const name = ptr(ip, 0).name;
        expect(a.kept.has(name), `round ${round}: kept ${name}`).to.equal(b.kept.has(name));
      }
      if (before.length > 0 && after.length > 0 && a.before.length < before.length) walked++;
    }
    expect(walked, 'rounds with names kept').to.be.greaterThan(100);
  });

  /** A list's canonical JSON (keys sorted: ptr() makes its objects in another order). */
  const canonical = (l: readonly RRSet[]) => JSON.stringify(l.map(({ data, name, ttl, type }) => ({ data, name, ttl, type })));

  it('diffs two lists given as their canonical JSON texts (dirtyByText: only what lies between their common start and end parsed) as it diffs the lists', () => {
    let seed = 5;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const ips = Array.from({ length: 200 }, (_, i) => `10.9.${i >> 8}.${i & 255}`);
    const one = (ip: string) => ptr(ip, 30 + rnd(2), ...(rnd(2) ? [`t${rnd(2)}.example.org.`] : ['a.example.org.', `b${rnd(2)}.example.org.`]));
    const list = () => ips.filter(() => rnd(3) !== 0).map(one).sort(byName);
    /** `l` with a few neighbours changed, dropped or added (what one moved endpoint does), or as it is. */
    const edited = (l: RRSet[]) => {
      const out = [...l];
      for (let k = rnd(4); k > 0; k--) {
        const at = rnd(out.length + 1);
        const op = rnd(3);
        if (op === 0 && at < out.length) out[at] = one(ips[ips.findIndex((ip) => ptr(ip, 0).name === out[at].name)]);
        else if (op === 1 && at < out.length) out.splice(at, 1 + rnd(3));
        else { const ip = ips[rnd(ips.length)]; if (!out.some((rs) => rs.name === ptr(ip, 0).name)) out.push(one(ip)); }
      }
      return out.sort(byName);
    };
    const shuffled = (l: RRSet[]) => { const out = [...l]; for (let i = out.length - 1; i > 0; i--) { const j = rnd(i + 1); [out[i], out[j]] = [out[j], out[i]]; } return out; };
    let kept = 0, small = 0;
    for (let round = 0; round < 400; round++) {
      const before = rnd(10) === 0 ? [] : list();
      const kind = rnd(4);
      let after = kind === 0 ? list() : kind === 3 && rnd(3) === 0 ? [] : edited(before);
      const unsorted = rnd(8) === 0; // (a validated list names each name once, in any order)
      const was = unsorted ? shuffled(before) : before;
      if (unsorted) after = shuffled(after);
      const t = dirtyByText(canonical(was), canonical(after));
      const o = dirty({ id: 'a', before: was, after });
      expect(t, `round ${round}`).to.not.equal(undefined);
      expect(t!.before, `round ${round}: before`).to.deep.equal(o.before);
      expect(t!.after, `round ${round}: after`).to.deep.equal(o.after);
      for (const ip of ips) {
        const name = ptr(ip, 0).name;
        expect(t!.kept.has(name), `round ${round}: kept ${name}`).to.equal(o.kept.has(name));
        if (t!.kept.has(name)) kept++;
      }
      if (kind !== 0 && before.length > 20 && t!.before.length < 6) small++;
      // dirty() takes that way when the old list comes as text and the new one's text is given; the same answer from the old text alone.
      for (const d of [dirty({ id: 'a', before: canonical(was), after, afterText: canonical(after) }), dirty({ id: 'a', before: canonical(was), after })]) {
        expect(d.before, `round ${round}`).to.deep.equal(o.before);
        expect(d.after, `round ${round}`).to.deep.equal(o.after);
      }
    }
    expect(kept, 'names kept').to.be.greaterThan(5000);
    expect(small, 'rounds of a few changed names').to.be.greaterThan(100);
  });

  it('declines texts it cannot read so (then the lists are parsed): a backslash, not a list', () => {
    const a = [ptr('192.0.2.1', 60, 'a.example.org.'), ptr('192.0.2.2', 60, 'b.example.org.')].sort(byName);
    const b = [ptr('192.0.2.1', 60, 'a.example.org.'), ptr('192.0.2.3', 60, 'c.example.org.')].sort(byName);
    expect(dirtyByText(canonical(a), canonical(b))).to.not.equal(undefined);
    expect(dirtyByText(canonical(a).replace('a.example', 'a\\u002eexample'), canonical(b)), 'a backslash').to.equal(undefined);
    expect(dirtyByText(canonical(a), ' ' + canonical(b)), 'white space').to.equal(undefined);
    expect(dirtyByText(canonical(a), '{}'), 'not a list').to.equal(undefined);
    // Declined, dirty() parses the old text and diffs the lists: the same answer.
    const viaParse = dirty({ id: 'x', before: canonical(a).replace('a.example', 'a\\u002eexample'), after: b, afterText: canonical(b) });
    const lists = dirty({ id: 'x', before: a, after: b });
    expect(viaParse.before).to.deep.equal(lists.before);
    expect(viaParse.after).to.deep.equal(lists.after);
  });

  it('merges the shards of a name (lowest TTL, targets sorted, no duplicates) and replaces only the changed shard', () => {
    const idx = new ReverseIndex();
    const u1 = buildReverseSlabs(idx.slabs, [
      { id: 'a', before: [], after: [ptr('192.0.2.1', 300, 'x.example.org.'), ptr('192.0.2.2', 60, 'b.example.org.')] },
      { id: 'b', before: [], after: [ptr('192.0.2.1', 60, 'w.example.org.', 'x.example.org.')] },
    ]);
    expect(u1.touched, 'the first load drops every prepared answer').to.equal(null);
    idx.swap(u1);
    expect(ptrOf(idx, '192.0.2.1')).to.deep.equal({ type: TYPE.PTR, ttl: 60, data: ['w.example.org.', 'x.example.org.'] });
    const answer = idx.answerFor(key('192.0.2.1'), TYPE.PTR);
    expect(answer).to.be.instanceOf(Buffer);

    // Shard b changes: 192.0.2.1 loses b's part, 192.0.2.3 is new; 192.0.2.2 (a only) is copied untouched.
    const u2 = buildReverseSlabs(idx.slabs, [{ id: 'b', before: [ptr('192.0.2.1', 60, 'w.example.org.', 'x.example.org.')], after: [ptr('192.0.2.3', 30, 'c.example.org.')] }]);
    expect(u2.touched).to.have.members([key('192.0.2.1'), key('192.0.2.3')]);
    expect(ptrOf(idx, '192.0.2.3'), 'not served before the swap').to.equal(undefined);
    idx.swap(u2);
    expect(ptrOf(idx, '192.0.2.1')).to.deep.equal({ type: TYPE.PTR, ttl: 300, data: ['x.example.org.'] });
    expect(ptrOf(idx, '192.0.2.2')).to.deep.equal({ type: TYPE.PTR, ttl: 60, data: ['b.example.org.'] });
    expect(ptrOf(idx, '192.0.2.3')).to.deep.equal({ type: TYPE.PTR, ttl: 30, data: ['c.example.org.'] });
    expect(idx.answerFor(key('192.0.2.1'), TYPE.PTR)!.equals(answer!), 'a touched name is prepared again').to.equal(false);

    // Shard a removed: only b's name is left.
    idx.swap(buildReverseSlabs(idx.slabs, [{ id: 'a', before: [ptr('192.0.2.1', 300, 'x.example.org.'), ptr('192.0.2.2', 60, 'b.example.org.')], after: [] }]));
    expect([idx.has(key('192.0.2.1')), idx.has(key('192.0.2.2')), idx.has(key('192.0.2.3'))]).to.deep.equal([false, false, true]);
    expect(idx.size).to.equal(1);
  });

  it('touches only the names whose part a changed shard changed, and keeps its unchanged parts of a name another change touches', () => {
    const idx = new ReverseIndex();
    idx.swap(buildReverseSlabs(idx.slabs, [
      { id: 'a', before: [], after: [ptr('192.0.2.1', 60, 'a1.example.org.'), ptr('192.0.2.2', 60, 'a2.example.org.'), ptr('192.0.2.3', 60, 'a3.example.org.')] },
      { id: 'b', before: [], after: [ptr('192.0.2.1', 30, 'b1.example.org.'), ptr('192.0.2.4', 30, 'b4.example.org.')] },
    ]));
    const prepared = idx.answerFor(key('192.0.2.2'), TYPE.PTR)!;
    // a: .1 as it was, .2 new target, .3 gone, .5 new; b: .1 changed (so .1 is touched), .4 as it was.
    const u = buildReverseSlabs(idx.slabs, [
      { id: 'a', before: [ptr('192.0.2.1', 60, 'a1.example.org.'), ptr('192.0.2.2', 60, 'a2.example.org.'), ptr('192.0.2.3', 60, 'a3.example.org.')], after: [ptr('192.0.2.1', 60, 'a1.example.org.'), ptr('192.0.2.2', 60, 'x.example.org.'), ptr('192.0.2.5', 60, 'a5.example.org.')] },
      { id: 'b', before: [ptr('192.0.2.1', 30, 'b1.example.org.'), ptr('192.0.2.4', 30, 'b4.example.org.')], after: [ptr('192.0.2.1', 30, 'c1.example.org.'), ptr('192.0.2.4', 30, 'b4.example.org.')] },
    ]);
    expect(u.touched).to.have.members([key('192.0.2.1'), key('192.0.2.2'), key('192.0.2.3'), key('192.0.2.5')]);
    idx.swap(u);
    expect(ptrOf(idx, '192.0.2.1'), "a's unchanged part kept beside b's new one").to.deep.equal({ type: TYPE.PTR, ttl: 30, data: ['a1.example.org.', 'c1.example.org.'] });
    expect(ptrOf(idx, '192.0.2.2')).to.deep.equal({ type: TYPE.PTR, ttl: 60, data: ['x.example.org.'] });
    expect(idx.answerFor(key('192.0.2.2'), TYPE.PTR)!.equals(prepared)).to.equal(false);
    expect(idx.has(key('192.0.2.3'))).to.equal(false);
    expect(ptrOf(idx, '192.0.2.4')).to.deep.equal({ type: TYPE.PTR, ttl: 30, data: ['b4.example.org.'] });
    expect(ptrOf(idx, '192.0.2.5')).to.deep.equal({ type: TYPE.PTR, ttl: 60, data: ['a5.example.org.'] });
    expect(idx.size).to.equal(4);
    // A TTL change alone touches the name.
    const t = buildReverseSlabs(idx.slabs, [{ id: 'b', before: [ptr('192.0.2.4', 30, 'b4.example.org.')], after: [ptr('192.0.2.4', 31, 'b4.example.org.')] }]);
    expect(t.touched).to.deep.equal([key('192.0.2.4')]);
  });

  // In the order given (ip order: not sorted by name, so each change is diffed through a map) and
  // sorted by name (as compile() writes them: diffed by walking the two lists side by side).
  for (const sorted of [false, true]) it(`after any series of changes (names shared by shards, shards removed and back, TTL and target changes, overlay folds) holds what a fresh build of the same shards holds, and names every changed name as touched${sorted ? ' (lists sorted by name)' : ''}`, () => {
    let seed = 5;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const IDS = ['a', 'b', 'c', 'd'];
    // 1,500 names: enough that the overlay passes OVERLAY_MIN (1,024) and folds into the base now and then.
    const ips = Array.from({ length: 1500 }, (_, i) => `10.9.${i >> 8}.${i & 255}`);
    // Each shard's list: a random subset of the names, a TTL of two and targets of a few (so a step often leaves a name's part as it was).
    const list = (id: string): RRSet[] => ips.filter(() => rnd(3) === 0).map((ip) => ptr(ip, 30 + rnd(2), ...Array.from({ length: 1 + rnd(2) }, (_, j) => `${id}${rnd(2)}${j}.example.org.`))).sort(sorted ? byName : () => 0);
    const held = new Map<string, RRSet[]>();
    const idx = new ReverseIndex();
    let folds = 0;
    for (let step = 0; step < 30; step++) {
      const changes = [];
      for (const id of IDS) {
        if (rnd(3) !== 0) continue;
        const before = held.get(id) ?? [];
        // Now and then only one name changes (most kept), or the shard goes (an empty list).
        let after: RRSet[];
        const r = rnd(4);
        if (r === 0) after = [];
        else if (r === 1 && before.length > 0) { after = before.slice(); const i = rnd(after.length); after[i] = ptr(ips[ips.indexOf(after[i].name.split('.').slice(0, 4).reverse().join('.'))], 30 + rnd(2), `${id}x${step}.example.org.`); }
        else after = list(id);
        changes.push({ id, before, after });
        if (after.length) held.set(id, after); else held.delete(id);
      }
      if (changes.length === 0) continue;
      const was = new Map(ips.map((ip) => [ip, JSON.stringify(ptrOf(idx, ip))]));
      const u = buildReverseSlabs(idx.slabs, changes);
      if (u.base !== idx.slabs.base.sab) folds++;
      idx.swap(u);
      const fresh = new ReverseIndex();
      fresh.swap(buildReverseSlabs(fresh.slabs, [...held].map(([id, after]) => ({ id, before: [], after }))));
      const touched = new Set(u.touched);
      for (const ip of ips) {
        const now = ptrOf(idx, ip);
        expect(now, `step ${step}, ${ip}`).to.deep.equal(ptrOf(fresh, ip));
        // (a changed name left untouched would keep its old prepared answer)
        if (u.touched !== null && JSON.stringify(now) !== was.get(ip)) expect(touched.has(key(ip)), `step ${step}, ${ip} changed but not touched`).to.equal(true);
      }
      expect(idx.size, `step ${step}`).to.equal(fresh.size);
    }
    expect(folds, 'new bases').to.be.greaterThan(2);
  });

  it('writes a first load\'s slabs (an empty index) byte for byte as the merging way does, for random shards, names in two shards included', () => {
    let seed = 17;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const empty = new ReverseIndex().slabs;
    let fast = 0;
    for (let round = 0; round < 40; round++) {
      // 1 to 6 shards of up to 800 names; in some rounds a name in two shards (the merging way
      // then), in some names that keys.ts leaves to nameToKey (upper case, non-ASCII), some too few for a base.
      const shared = rnd(4) === 0;
      const changes = Array.from({ length: 1 + rnd(6) }, (_, s) => ({
        id: `services/ns-${s}`,
        before: [] as RRSet[],
        after: Array.from({ length: rnd(800) }, (_, i) => {
          const rs = ptr(`10.${shared ? 0 : s}.${i >> 8}.${i & 255}`, rnd(3) === 0 ? 5 : 30 + rnd(100000), ...Array.from({ length: 1 + rnd(3) }, (_, j) => `p${j}.svc-${i}.ns-${s}.svc.cluster.local.`));
          if (rnd(50) === 0) rs.name = rs.name.toUpperCase();
          if (rnd(50) === 0) rs.data = ['é.example.org.', 'a"b\\c.example.'];
          return rs;
        }),
      }));
      const a = buildReverseSlabs(empty, changes);
      const b = buildReverseSlabs(empty, changes, false);
      expect(Buffer.from(a.base).equals(Buffer.from(b.base)), `round ${round}: base`).to.equal(true);
      expect(Buffer.from(a.overlay).equals(Buffer.from(b.overlay)), `round ${round}: overlay`).to.equal(true);
      expect(a.touched, `round ${round}: touched`).to.deep.equal(b.touched);
      if (!shared && changes.reduce((n, c) => n + c.after.length, 0) > 1024) fast++;
    }
    expect(fast, 'rounds for the first load\'s way (names in one shard each, more than an overlay takes)').to.be.greaterThan(5);
  });

  it('writes a first load\'s slabs byte for byte as the merging way does when the entries outgrow the writer\'s size hint (names up to 254 characters, upper case, non-ASCII, escaped; long targets)', () => {
    let seed = 41;
    const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
    const label = (n: number) => Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz0123456789-_'[rnd(38)]).join('').replace(/^-|-$/g, 'x');
    /** A reverse name of about `len` characters (at most). */
    const longName = (i: number, len: number) => {
      const labels = [`${i}`];
      for (let room = len - 14 - labels[0].length - 1; room >= 2; room -= Math.min(63, room - 1) + 1) labels.unshift(label(Math.min(63, room - 1)));
      return labels.join('.') + '.in-addr.arpa.';
    };
    const empty = new ReverseIndex().slabs;
    for (let round = 0; round < 6; round++) {
      const changes = Array.from({ length: 1 + rnd(3) }, (_, s) => ({
        id: `services/ns-${s}`,
        before: [] as RRSet[],
        after: Array.from({ length: 1100 + rnd(400) }, (_, i): RRSet => ({
          // now and then a name keys.ts leaves to nameToKey (upper case, non-ASCII) or that JSON escapes
          name: [(n: string) => n, (n: string) => n.toUpperCase(), (n: string) => `é.${n}`, (n: string) => `q"\\.${n}`][rnd(12) < 9 ? 0 : 1 + rnd(3)](rnd(2) ? longName(s * 10000 + i, 200 + rnd(50)) : longName(s * 10000 + i, 20 + rnd(100))),
          type: 'PTR', ttl: rnd(100000), data: Array.from({ length: 1 + rnd(4) }, () => `${label(1 + rnd(63))}.${label(1 + rnd(63))}.${label(1 + rnd(63))}.example.`),
        })),
      }));
      const names = changes.flatMap((c) => c.after.map((rs) => rs.name));
      expect(new Set(names).size, 'names in one shard each').to.equal(names.length);
      expect(Math.max(...names.map((n) => n.length))).to.be.within(240, 254);
      expect(names.filter((n) => /[^a-z0-9_.-]/.test(n)).length, 'names for nameToKey or escaped').to.be.greaterThan(100);
      const a = buildReverseSlabs(empty, changes);
      const b = buildReverseSlabs(empty, changes, false);
      expect(Buffer.from(a.base).equals(Buffer.from(b.base)), `round ${round}: base`).to.equal(true);
      expect(Buffer.from(a.overlay).equals(Buffer.from(b.overlay)), `round ${round}: overlay`).to.equal(true);
      const bytes = new Slab(a.base).bytes.length;
      expect(bytes, 'more than the size hint (160 bytes a name)').to.be.greaterThan(names.length * 160);
      const slabs = ReverseSlabs.of(a);
      for (const c of changes) for (const rs of c.after) expect(slabs.record(nameToKey(rs.name)), rs.name).to.deep.equal([rs.name, [[c.id, rs.ttl, rs.data]]]);
    }
  });

  it('rebuilds only the overlay for a small change (the base is the same memory), and folds a large overlay into a new base', () => {
    const shard = (n: number, ttl: number) => Array.from({ length: 200 }, (_, i) => ptr(`10.0.${n}.${i}`, ttl, `s${i}.ns${n}.svc.cluster.local.`));
    const idx = new ReverseIndex();
    idx.swap(buildReverseSlabs(idx.slabs, Array.from({ length: 50 }, (_, n) => ({ id: `ns${n}`, before: [], after: shard(n, 30) }))));
    expect(idx.size).to.equal(10_000);
    const base = idx.slabs.base.sab;
    const one = buildReverseSlabs(idx.slabs, [{ id: 'ns3', before: shard(3, 30), after: shard(3, 31).slice(0, 150) }]);
    expect(one.base, 'the base is shared as it is').to.equal(base);
    expect(new Slab(one.overlay).entries, '150 changed, 50 tombstones').to.equal(200);
    idx.swap(one);
    expect(idx.size).to.equal(9_950);
    expect(ptrOf(idx, '10.0.3.10')).to.deep.equal({ type: TYPE.PTR, ttl: 31, data: ['s10.ns3.svc.cluster.local.'] });
    expect(idx.has(key('10.0.3.199')), 'removed: a tombstone hides the base entry').to.equal(false);
    expect(ptrOf(idx, '10.0.4.10')).to.deep.equal({ type: TYPE.PTR, ttl: 30, data: ['s10.ns4.svc.cluster.local.'] });
    // Changes over 20 shards (4,000 names) pass an eighth of the base: folded.
    let folded = false;
    for (let n = 10; n < 30; n++) {
      const u = buildReverseSlabs(idx.slabs, [{ id: `ns${n}`, before: shard(n, 30), after: shard(n, 40) }]);
      if (u.base !== idx.slabs.base.sab) folded = true;
      idx.swap(u);
    }
    expect(folded).to.equal(true);
    expect(idx.size).to.equal(9_950);
    for (let n = 0; n < 50; n++) {
      for (const i of [0, 120, 199]) {
        const want = n === 3 ? (i < 150 ? 31 : undefined) : n >= 10 && n < 30 ? 40 : 30;
        expect(ptrOf(idx, `10.0.${n}.${i}`)?.ttl, `10.0.${n}.${i}`).to.equal(want);
      }
    }
  });
});

describe('dns-server: the slab writer encodes records as JSON.stringify does', () => {
  // The record's bytes as the writer puts them in the slab (its own JSON writer, by hand).
  const bytesOf = (write: (w: SlabWriter) => void): string => {
    const w = new SlabWriter();
    w.begin('\x01k\x00', NODE);
    write(w);
    w.end();
    const s = new Slab(w.finish(null));
    return s.recordTextAt(s.find('\x01k\x00'));
  };
  const values: [string, unknown][] = [
    ['A', ['192.0.2.1', '10.0.0.255']],
    ['AAAA', ['2001:db8::1', '::ffff:192.0.2.1']],
    ['CNAME', ['www.example.org.']],
    ['NS', ['ns1.example.org.', 'ns2.example.org.']],
    ['PTR', ['svc.ns.svc.cluster.local.']],
    ['TXT', [['v=spf1 -all'], ['say "hi"', 'back\\slash only'], ['a "quoted" \\ back\\slash', 'tab\there', 'nl\n', '\u0000\u001f\u007f'], ['é ✓ 𝄞 ünïcödé'], ['']]],
    ['MX', [{ preference: 10, exchange: 'mx.example.org.' }, { preference: 0, exchange: '.' }]],
    ['SRV', [{ priority: 0, weight: 100, port: 8080, target: 'svc.ns.svc.cluster.local.' }, { priority: 65535, weight: 0, port: 0, target: '.' }]],
    ['CAA', [{ flags: 128, tag: 'issue', value: 'ca.example.net; account=230123' }, { flags: 0, tag: 'iodef', value: 'mailto:sécurité@example.org' }]],
    ['SOA', [{ mname: 'ns.example.org.', rname: 'hostmaster.example.org.', serial: 4294967295, refresh: 7200, retry: 1800, expire: 86400, minimum: 5, ttl: 30 }]],
    ['empty data', []],
    ['empty strings and objects', ['', [], {}, [[]]]],
    ['numbers', [0, 9, 10, 2147483647, 2147483648, -1, 1.5, 1e21, -0, NaN, Infinity]],
    ['other values', [null, true, false, undefined, { a: undefined, b: null, 'ké"y': 1 }, { toJSON: () => 'x' }, new Date(0)]],
  ];
  for (const [what, data] of values) {
    it(`writes ${what} byte for byte as JSON.stringify`, () => {
      expect(bytesOf((w) => w.json(data))).to.equal(JSON.stringify(data));
    });
  }

  it('writes 3,000 random values (strings with escapes, surrogates and non-ASCII; numbers; nested lists and objects) byte for byte as JSON.stringify', () => {
    let seed = 11;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const CHARS = ['a', 'z', '.', '-', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '✓', '\ud834\udd1e', '\ud800', '\udfff'];
    const str = () => Array.from({ length: rnd(12) }, () => CHARS[rnd(CHARS.length)]).join('');
    const value = (depth: number): unknown => {
      switch (rnd(depth > 2 ? 3 : 5)) {
        case 0: return str();
        case 1: return [0, 7, 65535, 2147483648, -3, 1.5, 1e21, -0, NaN][rnd(9)];
        case 2: return [null, true, false, undefined][rnd(4)];
        case 3: return Array.from({ length: rnd(4) }, () => value(depth + 1));
        default: return Object.fromEntries(Array.from({ length: rnd(4) }, () => [str(), value(depth + 1)]));
      }
    };
    for (let i = 0; i < 3000; i++) {
      const v = value(0);
      // (a record's JSON: the writer writes undefined as null, as in an array)
      expect(bytesOf((w) => w.json(v)), String(i)).to.equal(JSON.stringify(v) ?? 'null');
    }
  });

  it('writes a node record of every RR type as recordText, and decodes it back', () => {
    const node: NameNode = {
      name: 'ünï.example.org.',
      rrsets: values.filter(([t]) => t in TYPE).map(([t, data], i) => ({ type: TYPE[t as keyof typeof TYPE], ttl: i * 1000, data: data as unknown[] })),
      cname: true,
    };
    expect(node.rrsets.length).to.equal(10);
    const key = nameToKey('x.example.org.');
    const w = new SlabWriter();
    writeNames(w, new Map([[key, recordOf(node)]]), [], []);
    const s = new Slab(w.finish(null));
    expect(s.recordTextAt(s.find(key))).to.equal(recordText(recordOf(node)));
    expect(new SlabNames(s).names.get(key)).to.deep.equal(node);
  });

  it('copies entries between slabs as bytes (non-ASCII records, empty records)', () => {
    const a = slabOf([['\x01a\x00', NODE, JSON.stringify(['é ✓'])], ['\x01b\x00', ENT]]);
    const w = new SlabWriter();
    for (let i = 0; i < a.capacity; i++) if (a.used(i)) w.copyEntry(a, i);
    const more = new SlabWriter();
    more.add('\x01c\x00', NODE, '"𝄞"');
    w.copyEntries(more);
    const b = new Slab(w.finish(null));
    expect(b.recordAt(b.find('\x01a\x00'))).to.deep.equal(['é ✓']);
    expect(b.recordTextAt(b.find('\x01b\x00'))).to.equal('');
    expect(b.flagsOf('\x01b\x00')).to.equal(ENT);
    expect(b.recordAt(b.find('\x01c\x00'))).to.equal('𝄞');
    expect([b.entries, b.nodes]).to.deep.equal([3, 2]);
  });
});
