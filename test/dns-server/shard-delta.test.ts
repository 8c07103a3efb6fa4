// A changed shard received as text, parsed and checked against the version of it held
// (dns-server/config/shard-delta.ts, ADR 0033): the same value and the same verdict as the text
// parsed and checked whole, whatever changed; the RRsets whose text did not change are the held
// version's own objects; a bad version is refused alone, with the error the whole check gives,
// and the held version stays; the answers served are those of the shard loaded whole.
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { CONFIG_API_VERSION, validateShard } from '../../dns-server/config/index.js';
import type { RRSet, ServicesShard, Shard } from '../../dns-server/config/index.js';
import { canonicalJson, parseShardJson } from '../../dns-server/config/hash.js';
import { decodeShardConfigMap, shardConfigMap } from '../../dns-server/config/configmap-form.js';
import { forgetShardText, heldShards, parseShardText } from '../../dns-server/config/shard-delta.js';
import type { DnsServer } from '../../dns-server/index.js';
import { udpQuery } from '../helpers/dns-client.js';
import { zoneShard } from '../helpers/bundles.js';
import { startTestServer } from '../helpers/server.js';

const ZONE = 'cluster.local.';

/** An A RRset of a services shard, and its PTR. */
const a = (ns: string, host: string, ips: string[], ttl = 30): RRSet => ({ data: ips, name: `${host}.${ns}.svc.${ZONE}`, ttl, type: 'A' });
const ptr = (ns: string, ip: string, host: string): RRSet => ({ data: [`${host}.${ns}.svc.${ZONE}`], name: `${ip.split('.').reverse().join('.')}.in-addr.arpa.`, ttl: 30, type: 'PTR' });

/** A services shard's text as the operator writes it: canonical JSON, the hash member last. */
function operatorText(ns: string, rrsets: RRSet[], reverse: RRSet[]): string {
  const body = canonicalJson({ apiVersion: CONFIG_API_VERSION, id: `services/${ns}`, kind: 'services', namespace: ns, reverse, rrsets, zone: ZONE });
  return body.slice(0, -1) + ',"hash":"' + createHash('sha256').update(body).digest('hex') + '"}';
}

/** A namespace's shard: hosts h0..h(n-1), each with an address from `base` on, sorted by name as compile() sorts. */
function version(ns: string, n: number, base: number, edit: (rrsets: RRSet[], reverse: RRSet[]) => void = () => {}): string {
  const rrsets: RRSet[] = [];
  const reverse: RRSet[] = [];
  for (let i = 0; i < n; i++) {
    const ip = `10.1.${(base + i) >> 8 & 255}.${(base + i) & 255}`;
    rrsets.push(a(ns, `h${String(i).padStart(3, '0')}`, [ip]));
    reverse.push(ptr(ns, ip, `h${String(i).padStart(3, '0')}`));
  }
  edit(rrsets, reverse);
  rrsets.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.type < y.type ? -1 : 1));
  reverse.sort((x, y) => (x.name < y.name ? -1 : 1));
  return operatorText(ns, rrsets, reverse);
}

/** What the ConfigMap form needs besides the text (its name and annotations: not what is decoded; a text that is not JSON is sent too). */
const DOC = { id: 'services/test', hash: '0' };

/** Decoded as the ConfigMap source decodes (parseShardText) and validated; the verdict and the value. */
function receive(text: string): { value: ServicesShard; ok: boolean; errors: string[] } {
  const value = decodeShardConfigMap(shardConfigMap('splitdns', DOC, 1 << 20, text)) as ServicesShard;
  const v = validateShard(value);
  return { value, ok: v.ok, errors: v.ok ? [] : v.errors };
}

/** The verdict of the same text parsed and checked whole. */
function whole(text: string): { ok: boolean; errors: string[] } {
  const v = validateShard(parseShardJson(text));
  return { ok: v.ok, errors: v.ok ? [] : v.errors };
}

/** Holds a version of namespace `ns` (a first version is not held; the second is). */
function hold(ns: string, text: string): ServicesShard {
  forgetShardText(`services/${ns}`);
  expect(receive(version(ns, 3, 200)).ok).to.equal(true);
  const r = receive(text);
  expect(r.ok).to.equal(true);
  expect(heldShards().ids).to.include(`services/${ns}`);
  return r.value;
}

describe('a changed shard parsed against the version held (shard-delta.ts)', () => {
  it('gives the value JSON.parse gives, sharing the RRsets whose text did not change', () => {
    const ns = 'delta-a';
    const before = hold(ns, version(ns, 50, 0));
    const text = version(ns, 50, 0, (rrsets, reverse) => { rrsets[20].data = ['10.9.9.9']; reverse[20] = ptr(ns, '10.9.9.9', 'h020'); });
    const r = receive(text);
    expect(r.ok).to.equal(true);
    expect(r.value).to.deep.equal(JSON.parse(text));
    // Not parsed again: the held objects (a whole parse makes new ones).
    expect(r.value.rrsets[0]).to.equal(before.rrsets[0]);
    expect(r.value.rrsets[49]).to.equal(before.rrsets[49]);
    expect(r.value.rrsets[20]).to.not.equal(before.rrsets[20]);
    expect((r.value.rrsets[20] as RRSet).data).to.deep.equal(['10.9.9.9']);
  });

  it('gives the whole parse\'s value and verdict for any change of either list', () => {
    const ns = 'delta-b';
    const edits: [string, (rrsets: RRSet[], reverse: RRSet[]) => void][] = [
      ['nothing', () => {}],
      ['the first RRset', (r) => { r[0].data = ['10.2.0.1']; }],
      ['the last RRset', (r) => { r[r.length - 1].data = ['10.2.0.2', '10.2.0.3']; }],
      ['a TTL', (r) => { r[7].ttl = 31; }],
      ['an RRset added in the middle', (r) => { r.push(a(ns, 'h010a', ['10.2.0.4'])); }],
      ['an RRset added at the end', (r) => { r.push(a(ns, 'zz', ['10.2.0.5'])); }],
      ['an RRset added at the start', (r) => { r.push(a(ns, 'a', ['10.2.0.6'])); }],
      ['an RRset removed', (r) => { r.splice(11, 1); }],
      ['the first RRset removed', (r) => { r.splice(0, 1); }],
      ['the last RRset removed', (r) => { r.splice(r.length - 1, 1); }],
      ['two far apart', (r, rev) => { r[2].data = ['10.2.0.7']; rev[30].ttl = 5; }],
      ['the reverse list emptied', (_r, rev) => { rev.length = 0; }],
      ['every RRset', (r) => { for (const x of r) x.ttl = 60; }],
      ['a name\'s second RRset', (r) => { r.push({ data: ['fd00::1'], name: r[5].name, ttl: 30, type: 'AAAA' }); }],
    ];
    for (const [what, edit] of edits) {
      hold(ns, version(ns, 40, 100));
      const text = version(ns, 40, 100, edit);
      const r = receive(text);
      expect(r.value, what).to.deep.equal(JSON.parse(text));
      expect({ ok: r.ok, errors: r.errors }, what).to.deep.equal(whole(text));
      expect(r.ok, what).to.equal(true);
    }
    // From an empty list to a full one and back (the held version's list empty).
    hold(ns, version(ns, 40, 100, (_r, rev) => { rev.length = 0; }));
    const full = version(ns, 40, 100);
    expect(receive(full).value).to.deep.equal(JSON.parse(full));
  });

  it('takes the held RRsets between changes spread over a list', () => {
    const ns = 'delta-i';
    const before = hold(ns, version(ns, 60, 0));
    const text = version(ns, 60, 0, (r, rev) => { r[3].data = ['10.7.0.1']; r[31].ttl = 7; r.splice(50, 1); r.push(a(ns, 'h044a', ['10.7.0.2'])); rev[10].ttl = 9; rev.splice(40, 1); });
    const r = receive(text);
    expect(r.ok).to.equal(true);
    expect(r.value).to.deep.equal(JSON.parse(text));
    for (const i of [0, 2, 4, 20, 30, 32, 44]) expect(r.value.rrsets[i], `rrsets[${i}]`).to.equal(before.rrsets[i]);
    expect(r.value.rrsets[46], 'after the one added').to.equal(before.rrsets[45]);
    expect(r.value.rrsets[58], 'after the one removed').to.equal(before.rrsets[58]);
    for (const i of [3, 31]) expect(r.value.rrsets[i], `rrsets[${i}]`).to.not.equal(before.rrsets[i]);
    expect(r.value.reverse[20]).to.equal(before.reverse[20]);
    expect(r.value.reverse[50]).to.equal(before.reverse[51]);
  });

  it('parses whole a version that changed most of a list (walked RRset by RRset it cost more)', () => {
    const ns = 'delta-k';
    const before = hold(ns, version(ns, 200, 0));
    const text = version(ns, 200, 0, (r, rev) => { for (let i = 5; i < r.length; i++) r[i].ttl = 61; for (const x of rev) x.ttl = 62; });
    const r = receive(text);
    expect(r.ok).to.equal(true);
    expect(r.value).to.deep.equal(JSON.parse(text));
    expect(r.value.rrsets[0], 'unchanged, but parsed whole').to.not.equal(before.rrsets[0]);
    // A few changes in the same list are still walked.
    const next = receive(version(ns, 200, 0, (r2, rev) => { for (let i = 5; i < r2.length; i++) r2[i].ttl = 61; for (const x of rev) x.ttl = 62; r2[100].ttl = 3; }));
    expect(next.value.rrsets[0]).to.equal(r.value.rrsets[0]);
  });

  it('gives the whole parse\'s value and verdict for random changes', () => {
    const ns = 'delta-j';
    let seed = 12345;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    let current = version(ns, 40, 0);
    hold(ns, current);
    for (let round = 0; round < 150; round++) {
      const parsed = JSON.parse(current) as { rrsets: RRSet[]; reverse: RRSet[] };
      const rrsets = parsed.rrsets, reverse = parsed.reverse;
      for (let m = rand(4) + 1; m > 0; m--) {
        const list = rand(3) === 0 ? reverse : rrsets;
        const at = list.length ? rand(list.length) : 0;
        switch (rand(6)) {
          case 0: if (list.length && list[at].type === 'A') list[at].data = [`10.8.${rand(256)}.${rand(256)}`]; break;
          case 1: if (list.length) list[at].ttl = rand(100); break;
          case 2: list.splice(at, 1); break;
          case 3: if (list === rrsets) list.push(a(ns, `n${rand(1000)}`, [`10.9.${rand(256)}.${rand(256)}`])); else list.push(ptr(ns, `10.9.${rand(256)}.${rand(256)}`, `n${rand(1000)}`)); break;
          case 4: if (list.length) list[at].data = ['999.1.1.1']; break; // refused (a PTR target: refused too)
          default: if (list.length) list[at].name = list[at].name.replace('.svc.', '.svx.'); // outside the namespace: refused
        }
      }
      rrsets.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.type < y.type ? -1 : x.type > y.type ? 1 : 0));
      reverse.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
      const text = operatorText(ns, rrsets, reverse);
      const r = receive(text);
      expect(r.value, `round ${round}`).to.deep.equal(JSON.parse(text));
      const w = whole(text);
      expect({ ok: r.ok, errors: r.errors }, `round ${round}`).to.deep.equal(w);
      if (r.ok) current = text;
    }
  });

  it('refuses a bad version alone, with the whole check\'s error, and keeps the version held', () => {
    const ns = 'delta-c';
    const good = hold(ns, version(ns, 30, 0));
    const bads: [string, string][] = [
      ['a bad address', version(ns, 30, 0, (r) => { r[12].data = ['10.0.0.999']; })],
      ['a name outside the namespace', version(ns, 30, 0, (r) => { r[12].name = 'x.other.svc.cluster.local.'; })],
      ['two RRsets of one name and type', version(ns, 30, 0, (r) => { r.push(a(ns, 'h012', ['10.3.0.1'])); })],
      ['a CNAME beside an A', version(ns, 30, 0, (r) => { r.push({ data: ['x.example.'], name: r[12].name, ttl: 30, type: 'CNAME' }); })],
      ['an A in the reverse list', version(ns, 30, 0, (_r, rev) => { rev[3] = { ...rev[3], type: 'A', data: ['10.3.0.2'] }; })],
    ];
    for (const [what, text] of bads) {
      const r = receive(text);
      expect(r.ok, what).to.equal(false);
      expect(r.errors, what).to.deep.equal(whole(text).errors);
    }
    // The held version is still the good one: the next good version is parsed against it.
    const next = receive(version(ns, 30, 0, (r) => { r[12].data = ['10.3.0.3']; }));
    expect(next.ok).to.equal(true);
    expect(next.value.rrsets[0]).to.equal(good.rrsets[0]);
  });

  it('refuses a tampered or truncated text as the whole check does', () => {
    const ns = 'delta-d';
    const held = version(ns, 30, 0);
    hold(ns, held);
    const changed = version(ns, 30, 0, (r) => { r[12].data = ['10.4.0.1']; });
    // The content changed, the hash kept: a different hash is computed, the shard refused.
    const tampered = changed.slice(0, -66) + held.slice(-66);
    expect(receive(tampered).ok).to.equal(false);
    expect(receive(tampered).errors[0]).to.match(/hash [0-9a-f]{64} does not match the content/);
    // Any other hash for a changed content, and a content changed at the same length.
    const sameLength = changed.replace('"10.4.0.1"', '"10.4.0.2"');
    expect(sameLength.length).to.equal(changed.length);
    expect(receive(sameLength).ok).to.equal(false);
    for (const cut of [changed.length - 1, changed.length - 80, Math.floor(changed.length / 2)]) {
      expect(() => receive(changed.slice(0, cut)), `cut at ${cut}`).to.throw(SyntaxError);
    }
    // A list closed early, after its held last RRset, and more after it: not JSON.
    const early = changed.replace('"type":"PTR"}],"rrsets":[', '"type":"PTR"}]{"data":["x.example."],"name":"9.9.9.10.in-addr.arpa.","ttl":1,"type":"PTR"}],"rrsets":[');
    expect(() => receive(early)).to.throw(SyntaxError);
    expect(receive(changed).ok).to.equal(true);
  });

  it('hashes by serialising a middle that is not canonical, and holds no such version', () => {
    const ns = 'delta-e';
    const held = hold(ns, version(ns, 30, 0));
    const canonical = version(ns, 30, 0, (r) => { r[12].data = ['10.5.0.1']; });
    // The changed RRset's keys out of order, or white space in it: the same content, so the same (valid) hash.
    const variants = [
      canonical.replace('{"data":["10.5.0.1"],"name":"h012.delta-e.svc.cluster.local.","ttl":30,"type":"A"}', '{"name":"h012.delta-e.svc.cluster.local.","data":["10.5.0.1"],"ttl":30,"type":"A"}'),
      canonical.replace('"data":["10.5.0.1"]', '"data": ["10.5.0.1"]'),
      canonical.replace('"data":["10.5.0.1"]', '"data":["\\u0031\\u0030.5.0.1"]'),
    ];
    for (const text of variants) {
      expect(text).to.not.equal(canonical);
      const r = receive(text);
      expect(r.value).to.deep.equal(JSON.parse(canonical));
      expect(r.ok).to.equal(true);
    }
    // The last held is still the canonical one before them (a variant is not held), so a middle
    // of the next version is again parsed against it.
    const next = receive(version(ns, 30, 0, (r) => { r[13].data = ['10.5.0.2']; }));
    expect(next.ok).to.equal(true);
    expect(next.value.rrsets[0]).to.equal(held.rrsets[0]);
  });

  it('parses whole what it cannot take apart: another header, a forgotten shard', () => {
    const ns = 'delta-f';
    const held = hold(ns, version(ns, 20, 0));
    const other = version(ns, 20, 0).replace('"namespace":"delta-f"', '"namespace":"delta-g"');
    expect((parseShardText(other) as ServicesShard).rrsets[0]).to.not.equal(held.rrsets[0]);
    forgetShardText(`services/${ns}`);
    expect(heldShards().ids).to.not.include(`services/${ns}`);
    const again = receive(version(ns, 20, 0));
    expect(again.value.rrsets[0]).to.not.equal(held.rrsets[0]);
  });

  describe('served over UDP', () => {
    let servers: DnsServer[] = [];
    afterEach(async () => { await Promise.all(servers.map((s) => s.close())); servers = []; });

    it('answers as a server that loaded the same version whole: a changed address changes the answer', async () => {
      const ns = 'delta-h';
      // The modules the server itself loads (it imports the validator with import(): under tsx, the
      // test's static imports may be another instance of the same modules, with their own state).
      const { decodeShardConfigMap: decode } = await import('../../dns-server/config/configmap-form.js');
      const { heldShards: heldNow, forgetShardText: forget } = await import('../../dns-server/config/shard-delta.js');
      forget(`services/${ns}`);
      const cluster = zoneShard(ZONE, [], { clusterDomain: true });
      const first = await startTestServer({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [cluster] });
      servers.push(first);
      const apply = (text: string) => {
        const r = first.applyShards([decode(shardConfigMap('splitdns', DOC, 1 << 20, text))], []);
        expect(r.refused).to.deep.equal([]);
      };
      const versions = [version(ns, 60, 0), version(ns, 60, 0, (r) => { r[40].data = ['10.6.0.1']; }), version(ns, 60, 0, (r) => { r[40].data = ['10.6.0.2']; }),
        version(ns, 60, 0, (r, rev) => { r[41].data = ['10.6.0.3']; rev.splice(41, 1); rev.push(ptr(ns, '10.6.0.3', 'h041')); })];
      const names = [[`h040.${ns}.svc.${ZONE}`, 'A'], [`h041.${ns}.svc.${ZONE}`, 'A'], ['1.0.6.10.in-addr.arpa.', 'PTR'], ['3.0.6.10.in-addr.arpa.', 'PTR'], ['41.0.1.10.in-addr.arpa.', 'PTR']];
      for (const [i, text] of versions.entries()) {
        apply(text);
        if (i >= 1) expect(heldNow().ids).to.include(`services/${ns}`);
        const fresh = await startTestServer({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [cluster, JSON.parse(text)] });
        servers.push(fresh);
        const want40 = ['10.1.0.40', '10.6.0.1', '10.6.0.2', '10.1.0.40'][i];
        expect((await udpQuery(first.port, { name: `h040.${ns}.svc.${ZONE}`, type: 'A' })).answers?.map((x) => (x as { data: unknown }).data), `version ${i}`).to.deep.equal([want40]);
        if (i < 3) expect((await udpQuery(first.port, { name: '41.0.1.10.in-addr.arpa.', type: 'PTR' })).answers?.map((x) => (x as { data: unknown }).data), `version ${i}`).to.deep.equal([`h041.${ns}.svc.cluster.local`]);
        for (const [name, type] of names) {
          const got = await udpQuery(first.port, { name, type, id: 7 });
          const want = await udpQuery(fresh.port, { name, type, id: 7 });
          expect(got.raw.equals(want.raw), `version ${i}: ${name} ${type}`).to.equal(true);
        }
      }
      // Each version's own answers (not the held version's): the address and the PTR that changed.
      const answers = async (name: string, type: string) => (await udpQuery(first.port, { name, type })).answers?.map((x) => (x as { data: unknown }).data);
      expect(await answers(`h040.${ns}.svc.${ZONE}`, 'A')).to.deep.equal(['10.1.0.40']);
      expect(await answers(`h041.${ns}.svc.${ZONE}`, 'A')).to.deep.equal(['10.6.0.3']);
      expect(await answers('3.0.6.10.in-addr.arpa.', 'PTR')).to.deep.equal([`h041.${ns}.svc.cluster.local`]);
      expect(await answers('41.0.1.10.in-addr.arpa.', 'PTR')).to.deep.equal([]); // (its PTR gone: no reverse zone holds it, so REFUSED)
    });
  });
});
