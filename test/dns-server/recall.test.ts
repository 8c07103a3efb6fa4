// The recalled names (lookup.ts recall, issue 14): a name answered before from a zone or the
// hosts is found again by the parse's hash and its bytes, with no key string made and no
// locate(). Its answers must be those of locating it afresh, byte for byte: a random stream of
// queries (names of every kind, mixed case, EDNS or not, UDP and TCP, rotations) goes through
// one server state, where repeated names are recalled, and through a second state loaded with
// the same bundle, where a query to a third state before each one empties the recalled names
// (they belong to one Tables), so that every name there is located afresh.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { handleQuery, PROTO_TCP, PROTO_UDP } from '../../dns-server/handler.js';
import { locate, MISSING_SETS, RECALL_SETS, recall, remember } from '../../dns-server/lookup.js';
import { hashKey, typeBit } from '../../dns-server/tables/slab.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { newParsedQuery, parseQuery, questionKey, Verdict } from '../../dns-server/wire/query.js';
import { replyBytes } from '../../dns-server/wire/response.js';
import type { Reply } from '../../dns-server/wire/response.js';
import { bundle, exampleZone, hostsShard, servicesShard, zoneShard } from '../helpers/bundles.js';
import { handlerState as state } from '../helpers/server.js';
import { rcodeOf as rcodeOfRaw } from '../helpers/dns-client.js';

const BUNDLE = bundle(
  exampleZone([{ name: 'v6.example.org.', type: 'AAAA', ttl: 30, data: ['2001:db8::1', '2001:db8::2', '2001:db8::3'] }]),
  zoneShard('cluster.local.', [{ name: 'cluster.local.', type: 'NS', ttl: 30, data: ['ns.dns.cluster.local.'] }],
    { clusterDomain: true, soa: { mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', minimum: 5, ttl: 30 } }),
  servicesShard('cluster.local.', 'default', [
    { name: 'web.default.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.96.0.10'] },
    { name: 'multi.default.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.244.0.1', '10.244.0.2', '10.244.0.3'] },
    { name: '_http._tcp.web.default.svc.cluster.local.', type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local.' }] },
  ], [{ name: '10.0.96.10.in-addr.arpa.', type: 'PTR', ttl: 5, data: ['web.default.svc.cluster.local.'] }]),
  hostsShard([{ name: 'db.internal.local.', type: 'A', ttl: 60, data: ['10.1.2.3'] }], [{ name: '3.2.1.10.in-addr.arpa.', type: 'PTR', ttl: 60, data: ['db.internal.local.'] }]),
);

const NAMES = [
  'example.org', 'ns1.example.org', 'www.example.org', 'multi.example.org', 'v6.example.org', 'alias.example.org', 'chain.example.org',
  'dangling.example.org', 'out.example.org', 'txt.example.org', 'mail.example.org', '_http._tcp.www.example.org', '_tcp.www.example.org',
  'a.b.c.example.org', 'b.c.example.org', 'c.example.org', 'x.wild.example.org', 'y.z.wild.example.org', 'wild.example.org', 'nope.example.org',
  'cluster.local', 'svc.cluster.local', 'default.svc.cluster.local', 'web.default.svc.cluster.local', 'multi.default.svc.cluster.local',
  '_http._tcp.web.default.svc.cluster.local', 'web.other.svc.cluster.local', 'web.default.svc.cluster.local.default.svc.cluster.local',
  'db.internal.local', 'internal.local', '10.0.96.10.in-addr.arpa', '3.2.1.10.in-addr.arpa', '1.2.0.192.in-addr.arpa', 'www.example.net',
];
const TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'CAA', 'NS', 'SOA', 'PTR', 'ANY'] as const;

/** A seeded PRNG (mulberry32): the same stream every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(r: Reply | null | Promise<Reply | null>): string {
  if (r instanceof Promise) throw new Error('no fallback here: every answer is synchronous');
  return r === null ? 'dropped' : replyBytes(r).toString('hex');
}

/** The answer section's data of a reply. */
const rcodeOf = (r: Reply | null | Promise<Reply | null>): number => rcodeOfRaw(replyBytes(r as Reply));
const dataOf = (r: Reply | null | Promise<Reply | null>): unknown[] => (dnsPacket.decode(replyBytes(r as Reply)).answers ?? []).map((a) => (a as { data: unknown }).data);

const query = (name: string, type: string, opts: { id?: number; edns?: number; dnssecOk?: boolean } = {}) => dnsPacket.encode({
  type: 'query', id: opts.id ?? 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name, class: 'IN' }],
  additionals: opts.edns === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: opts.edns, flags: opts.dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as dnsPacket.Answer],
});

describe('dns-server: recalled names (lookup.ts recall)', () => {
  it('answers a random stream of queries byte for byte as when every name is located afresh', () => {
    const rnd = prng(14);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const mixCase = (s: string) => [...s].map((c) => (rnd() < 0.5 ? c.toUpperCase() : c)).join('');
    const stream: { msg: Buffer; proto: 0 | 1 }[] = [];
    for (let i = 0; i < 2000; i++) {
      const name = rnd() < 0.1 ? `nx${Math.floor(rnd() * 1e6)}.${pick(['example.org', 'default.svc.cluster.local', 'internal.local'])}` : pick(NAMES);
      const edns = rnd() < 0.5 ? undefined : pick([512, 1232, 4096]);
      stream.push({ msg: query(mixCase(name), pick(TYPES), { id: Math.floor(rnd() * 65536), edns, dnssecOk: rnd() < 0.3 }), proto: rnd() < 0.2 ? PROTO_TCP : PROTO_UDP });
    }
    const recalling = state(BUNDLE);
    const afresh = state(BUNDLE);
    const other = state(bundle(exampleZone()));
    const poke = query('www.example.org', 'A');
    const viaRecall = stream.map((s) => bytes(handleQuery(s.msg, s.proto, recalling)));
    // The stream did go through recalled names on the first state.
    const q = newParsedQuery();
    const recalledNames = NAMES.filter((name) => {
      const msg = query(mixCase(name), 'A');
      parseQuery(msg, q, false);
      return recall(recalling.tables, msg, q.nameEnd, q.nameHash) !== undefined;
    });
    expect(recalledNames.length, `names recalled on the first state: ${recalledNames.join(' ')}`).to.be.at.least(20);
    const viaLocate = stream.map((s) => { handleQuery(poke, PROTO_UDP, other); return bytes(handleQuery(s.msg, s.proto, afresh)); });
    for (let i = 0; i < stream.length; i++) expect(viaRecall[i], `query ${i}: ${dnsPacket.decode(stream[i]!.msg).questions![0]!.name}`).to.equal(viaLocate[i]);

    // On the second, the query to the third state before each one left none recalled (the
    // recalled names belong to one Tables).
    const www = query('www.example.org', 'A');
    parseQuery(www, q, false);
    handleQuery(www, PROTO_UDP, afresh);
    expect(recall(afresh.tables, www, q.nameEnd, q.nameHash), 'recalled right after its query').to.not.equal(undefined);
    handleQuery(poke, PROTO_UDP, other);
    expect(recall(afresh.tables, www, q.nameEnd, q.nameHash), 'after a query to another state').to.equal(undefined);
  });

  it('keeps a name\'s prepared answers on its entry once answered (zone, cluster and hosts names), and its next queries rotate through them as the table does', () => {
    const st = state(BUNDLE);
    const q = newParsedQuery();
    const entry = (name: string) => { const msg = query(name, 'A'); parseQuery(msg, q, false); return recall(st.tables, msg, q.nameEnd, q.nameHash); };
    for (const name of ['multi.example.org', 'multi.default.svc.cluster.local', 'db.internal.local']) {
      handleQuery(query(name, 'A'), PROTO_UDP, st);
      expect(entry(name)?.answers ?? 0, name).to.not.equal(0); // a ref: in the arena (> 0), or kept by this thread (< 0: no room without workers)
    }
    // A name answered only NODATA so far keeps none (nothing was prepared for it).
    handleQuery(query('v6.example.org', 'A'), PROTO_UDP, st);
    expect(entry('v6.example.org')?.answers).to.equal(0);
    // Rotation: its four addresses first in turn, then the first again, as the table's own answers go.
    const firsts = [0, 1, 2, 3, 4].map(() => dataOf(handleQuery(query('multi.example.org', 'A'), PROTO_UDP, st))[0]);
    expect(new Set(firsts.slice(0, 4)).size, `rotations ${firsts.join(' ')}`).to.equal(4);
    expect(firsts[4]).to.equal(firsts[0]);
  });

  it('hashes the question name as the slabs hash its key, whatever the case', () => {
    const q = newParsedQuery();
    for (const name of NAMES) {
      parseQuery(query(name.toUpperCase(), 'A'), q);
      expect(q.verdict).to.equal(Verdict.Ok);
      expect(q.key).to.equal(nameToKey(name));
      expect(q.nameHash, name).to.equal(hashKey(q.key));
      parseQuery(query(name, 'TXT'), q, false);
      expect(q.key, 'not keyed').to.equal('');
      expect(questionKey(query(name, 'TXT'), q)).to.equal(nameToKey(name));
    }
  });

  it('lower-cases only ASCII letters into the key (RFC 4343): latin1 0xC0-0xDE bytes stay as sent, with or without upper-case letters beside them', () => {
    const raw = (label: number[]) => Buffer.from([0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, label.length, ...label, 3, 0x6f, 0x72, 0x67, 0, 0, 1, 0, 1]);
    const q = newParsedQuery();
    const cases: [number[], number[]][] = [
      [[0x41, 0xc4, 0x62], [0x61, 0xc4, 0x62]], // 'A', 0xC4, 'b': 'a', 0xC4 (toLowerCase would make it 0xE4), 'b'
      [[0x61, 0xc4], [0x61, 0xc4]], // no upper-case letter: the bytes as they are
      [[0x58, 0x59], [0x78, 0x79]], // ASCII upper-case only
    ];
    for (const [label, want] of cases) {
      const msg = raw(label);
      parseQuery(msg, q, false);
      expect(q.verdict).to.equal(Verdict.Ok);
      const key = questionKey(msg, q);
      expect(Buffer.from(key, 'latin1').subarray(1, 1 + label.length), JSON.stringify(label)).to.deep.equal(Buffer.from(want));
      parseQuery(msg, q);
      expect(q.key, 'keyed parse: the same key').to.equal(key);
      expect(q.nameHash, 'the hash is of that key').to.equal(hashKey(key));
    }
  });

  it('compares the bytes, not only the hash: another name in the same slot and with the same hash is not recalled', () => {
    const st = state(BUNDLE);
    const q = newParsedQuery();
    const www = query('www.example.org', 'A');
    parseQuery(www, q, false);
    const mail = nameToKey('mail.example.org.');
    remember(st.tables, q.nameHash, mail, locate(st.tables, mail)); // a forged entry: www's hash, mail's key
    expect(recall(st.tables, www, q.nameEnd, q.nameHash)).to.equal(undefined);
    // A key of the same length (only the bytes tell them apart), in upper case too.
    const ns1 = nameToKey('ns1.example.org.');
    expect(ns1.length).to.equal(nameToKey('www.example.org.').length);
    remember(st.tables, q.nameHash, ns1, locate(st.tables, ns1));
    expect(recall(st.tables, www, q.nameEnd, q.nameHash), 'same length, other bytes').to.equal(undefined);
    expect(recall(st.tables, query('NS1.example.org', 'A'), q.nameEnd, q.nameHash)?.key, 'its own name, upper case').to.equal(ns1);
    expect(dataOf(handleQuery(www, PROTO_UDP, st))).to.deep.equal(['192.0.2.1']);
    expect(recall(st.tables, www, q.nameEnd, q.nameHash)?.key, 'www now takes the slot').to.equal(nameToKey('www.example.org.'));
  });

  it('forgets at a reload: a changed name is answered from the new tables', () => {
    const st = state(BUNDLE);
    const www = query('www.example.org', 'A');
    expect(dataOf(handleQuery(www, PROTO_UDP, st))).to.deep.equal(['192.0.2.1']);
    handleQuery(www, PROTO_UDP, st); // recalled now
    const changed = bundle(zoneShard('example.org.', [
      { name: 'example.org.', type: 'NS', ttl: 3600, data: ['ns1.example.org.'] },
      { name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.200'] },
    ]));
    expect(st.store.applyBundle(changed).refused).to.deep.equal([]);
    expect(dataOf(handleQuery(www, PROTO_UDP, st))).to.deep.equal(['192.0.2.200']);
  });

  it('recalls a name handed to the fallback (its key, no locate()) only when a fallback is set, and hands the fallback the same key', () => {
    const www = query('Www.Forwarded.Example', 'A');
    const q = newParsedQuery();
    parseQuery(www, q, false);
    const refusing = state(BUNDLE);
    expect(rcodeOf(handleQuery(www, PROTO_UDP, refusing))).to.equal(5);
    expect(recall(refusing.tables, www, q.nameEnd, q.nameHash), 'no fallback: not kept').to.equal(undefined);
    const st = state(BUNDLE);
    const keys: string[] = [];
    st.fallback = { resolve: (fq) => { keys.push(fq.key); return null; }, applyForwarders: () => undefined, status: () => null, close: async () => undefined };
    expect(rcodeOf(handleQuery(www, PROTO_UDP, st))).to.equal(5); // null: no route, REFUSED
    const r = recall(st.tables, www, q.nameEnd, q.nameHash);
    expect([r?.key, r?.location.kind]).to.deep.equal([nameToKey('www.forwarded.example.'), 'none']);
    expect(rcodeOf(handleQuery(query('WWW.forwarded.example', 'A'), PROTO_UDP, st))).to.equal(5);
    expect(keys).to.deep.equal([nameToKey('www.forwarded.example.'), nameToKey('www.forwarded.example.')]);
  });

  it('keeps two names of one set (two-way): the second does not evict the first; a third evicts the older of the two', () => {
    // Three forwarded names (kept while a fallback is set) whose hashes fall in one set.
    const bySet = new Map<number, string[]>();
    let names: string[] | undefined;
    for (let i = 0; names === undefined; i++) {
      const name = `n${i}.forwarded.example`;
      const set = hashKey(nameToKey(`${name}.`)) & (RECALL_SETS - 1);
      const l = bySet.get(set) ?? [];
      l.push(name);
      bySet.set(set, l);
      if (l.length === 3) names = l;
    }
    const st = state(BUNDLE);
    st.fallback = { resolve: () => null, applyForwarders: () => undefined, status: () => null, close: async () => undefined };
    const q = newParsedQuery();
    const recalled = (name: string) => { const msg = query(name, 'A'); parseQuery(msg, q, false); return recall(st.tables, msg, q.nameEnd, q.nameHash)?.key; };
    const [a, b, c] = names;
    handleQuery(query(a!, 'A'), PROTO_UDP, st);
    handleQuery(query(b!, 'A'), PROTO_UDP, st);
    expect([recalled(a!), recalled(b!)], 'both names of the set').to.deep.equal([nameToKey(`${a}.`), nameToKey(`${b}.`)]);
    handleQuery(query(c!, 'A'), PROTO_UDP, st);
    expect([recalled(a!), recalled(b!), recalled(c!)], 'the oldest left').to.deep.equal([undefined, nameToKey(`${b}.`), nameToKey(`${c}.`)]);
  });

  it('answers names it answered NXDOMAIN, and types it answered NODATA, again from the recall index, byte for byte as afresh', () => {
    // A few names that do not exist (search-path misses, under a wildcard, in an empty
    // namespace, below a name that exists) and names with data of some types only, asked over
    // and over with every type, in mixed case, with and without EDNS.
    const names = [
      'nx.example.org', 'web.default.svc.cluster.local.default.svc.cluster.local', 'nope.other.svc.cluster.local', 'gone.default.svc.cluster.local',
      'x.y.wild.example.org', 'q.wild.example.org', 'deeper.www.example.org', 'v6.example.org', 'www.example.org', 'web.default.svc.cluster.local',
      'default.svc.cluster.local', 'svc.cluster.local', 'b.c.example.org', 'db.internal.local', 'nx.internal.local',
    ];
    const rnd = prng(2614);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const mixCase = (x: string) => [...x].map((c) => (rnd() < 0.3 ? c.toUpperCase() : c)).join('');
    const stream: { msg: Buffer; proto: 0 | 1 }[] = [];
    for (let i = 0; i < 1500; i++) {
      const edns = rnd() < 0.5 ? undefined : pick([512, 1232]);
      stream.push({ msg: query(rnd() < 0.5 ? pick(names) : mixCase(pick(names)), pick(TYPES), { id: i, edns }), proto: rnd() < 0.2 ? PROTO_TCP : PROTO_UDP });
    }
    const recalling = state(BUNDLE);
    const afresh = state(BUNDLE);
    const other = state(bundle(exampleZone()));
    const poke = query('www.example.org', 'A');
    const viaRecall = stream.map((x) => bytes(handleQuery(x.msg, x.proto, recalling)));
    // The fast paths were taken (checked before the other states are asked: the index is of the
    // last Tables queried): the missing names are recalled as such (not those a wildcard
    // answers), and a name with an AAAA but no A has its A noted as NODATA, its AAAA not.
    const q = newParsedQuery();
    const entry = (name: string) => { const msg = query(name, 'A'); parseQuery(msg, q, false); return recall(recalling.tables, msg, q.nameEnd, q.nameHash); };
    for (const name of ['nx.example.org', 'web.default.svc.cluster.local.default.svc.cluster.local', 'nope.other.svc.cluster.local', 'gone.default.svc.cluster.local', 'Deeper.WWW.example.org']) {
      expect(entry(name)?.nxdomain, name).to.equal(true);
    }
    for (const name of ['x.y.wild.example.org', 'q.wild.example.org', 'nx.internal.local']) expect(entry(name)?.nxdomain, name).to.not.equal(true);
    const v6 = entry('v6.example.org')!;
    expect([v6.nxdomain, (v6.nodata & typeBit(1)) !== 0, (v6.nodata & typeBit(28)) !== 0], 'v6: A NODATA, AAAA answered').to.deep.equal([false, true, false]);
    expect(dataOf(handleQuery(query('v6.example.org', 'AAAA'), PROTO_UDP, recalling))).to.have.length(3);
    const viaLocate = stream.map((x) => { handleQuery(poke, PROTO_UDP, other); return bytes(handleQuery(x.msg, x.proto, afresh)); });
    for (let i = 0; i < stream.length; i++) expect(viaRecall[i], `query ${i}: ${dnsPacket.decode(stream[i]!.msg).questions![0]!.name} ${dnsPacket.decode(stream[i]!.msg).questions![0]!.type}`).to.equal(viaLocate[i]);
  });

  it('forgets a missing name at a reload that adds it', () => {
    const st = state(BUNDLE);
    const fresh = query('fresh.example.org', 'A');
    expect(rcodeOf(handleQuery(fresh, PROTO_UDP, st))).to.equal(3);
    const q = newParsedQuery();
    parseQuery(fresh, q, false);
    expect(recall(st.tables, fresh, q.nameEnd, q.nameHash)?.nxdomain).to.equal(true);
    expect(rcodeOf(handleQuery(fresh, PROTO_UDP, st))).to.equal(3);
    expect(st.store.applyBundle(bundle(exampleZone([{ name: 'fresh.example.org.', type: 'A', ttl: 30, data: ['192.0.2.50'] }]))).refused).to.deep.equal([]);
    expect(dataOf(handleQuery(fresh, PROTO_UDP, st))).to.deep.equal(['192.0.2.50']);
  });

  it('keeps missing names apart: a flood of them leaves the names that exist recalled', () => {
    // Two of the missing names fall in www's set of the recall index: kept there, they would
    // push www out (a two-way set); kept apart, they do not.
    const setOf = (name: string) => hashKey(nameToKey(`${name}.`)) & (RECALL_SETS - 1);
    const wwwSet = setOf('www.example.org');
    const colliding: string[] = [];
    for (let i = 0; colliding.length < 2; i++) if (setOf(`c${i}.example.org`) === wwwSet) colliding.push(`c${i}.example.org`);
    const st = state(BUNDLE);
    const www = query('www.example.org', 'A');
    handleQuery(www, PROTO_UDP, st);
    for (const name of [...Array.from({ length: 4 * MISSING_SETS }, (_, i) => `r${i}.example.org`), ...colliding]) {
      expect(rcodeOf(handleQuery(query(name, 'A'), PROTO_UDP, st))).to.equal(3);
    }
    const q = newParsedQuery();
    const entry = (msg: Buffer) => { parseQuery(msg, q, false); return recall(st.tables, msg, q.nameEnd, q.nameHash); };
    expect(entry(www)?.key).to.equal(nameToKey('www.example.org.'));
    expect(colliding.map((name) => entry(query(name, 'A'))?.nxdomain), 'the missing names of www\'s set, recalled as missing').to.deep.equal([true, true]);
  });
});
