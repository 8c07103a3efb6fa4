// A long-lived compiler patches what it remembers object by object (issue 14/16: recompile after
// one change proportional to the change). Whatever the sequence of changes, its result must be
// the one a fresh compile of the final snapshot gives: checked here over seeded random sequences
// of the changes an informer hands over (an object replaced by its next version, one added,
// one deleted, lists reordered, several at once, the list arrays reused or new; StaticHosts,
// Namespaces and the zone too, on which the parse, domains and contributors phases' memos key).

import { expect } from 'chai';
import { compile, createCompiler, shardJson } from '../../../operator/compile/index.js';
import type { Snapshot } from '../../../operator/compile/index.js';
import { OPTS, T0, T1, namespace, service, slice, snap, staticHost, zone } from './fixtures.js';

/** A small deterministic generator (mulberry32), so a failing sequence can be replayed by its seed. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % n);
  };
}

const NAMESPACES = 4;

function svcObj(r: (n: number) => number, ns: string, name: string) {
  const headless = r(3) === 0;
  // Some cluster IPs are a StaticHost's PTR address (10.250.0.x): PTR conflicts to judge.
  const ip = r(8) === 0 ? `10.250.0.${r(6) + 1}` : `10.96.${r(4)}.${r(250) + 1}`;
  const labels = r(3) === 0 ? { publish: 'yes' } : {};
  const annotations = r(10) === 0 ? { 'splitdns.io/hostname': `alias${r(4)}.corp.example.org` } : {};
  return service(ns, name, headless ? { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] } : { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'p', port: 80 }] },
    { labels, annotations }, r(2) ? T0 : T1);
}

function sliceObj(r: (n: number) => number, ns: string, name: string, svc: string) {
  const endpoints = [];
  for (let i = 0, n = r(4); i < n; i++) endpoints.push({ addresses: [`10.244.${r(4)}.${r(250) + 1}`], conditions: { ready: r(5) !== 0 }, ...(r(2) ? { hostname: `h${r(5)}` } : {}) });
  return slice(ns, name, svc, { ports: [{ name: 'p', port: 8080 }], endpoints });
}

function cluster(r: (n: number) => number): Snapshot {
  const services: object[] = [], endpointSlices: object[] = [];
  for (let i = 0; i < 40; i++) {
    const ns = `ns${i % NAMESPACES}`;
    services.push(svcObj(r, ns, `svc${i}`));
    endpointSlices.push(sliceObj(r, ns, `svc${i}-a`, `svc${i}`));
    if (i % 7 === 0) endpointSlices.push(sliceObj(r, ns, `svc${i}-b`, `svc${i}`));
  }
  const staticHosts = [];
  for (let i = 0; i < 6; i++) staticHosts.push(staticHost('splitdns', `h${i}`, { hostnames: [`h${i}.static.example`], addresses: [`10.250.0.${i + 1}`], ptr: true }));
  return snap({
    zones: [zone('corp', { domain: 'corp.example.org', ttl: 300, records: [], services: { selector: { matchLabels: { publish: 'yes' } } } }, T0)],
    staticHosts, services, endpointSlices, namespaces: Array.from({ length: NAMESPACES }, (_, n) => namespace(`ns${n}`)),
  });
}

const nameOf = (o: object) => (o as { metadata: { name: string; namespace: string } }).metadata;

/** One random change, as an informer would hand it over; returns the next snapshot and what it did. */
function change(r: (n: number) => number, s: Snapshot, serial: number): [Snapshot, string] {
  // Half the time new list arrays (the operator's snapshots), else the same arrays changed in place.
  const fresh = r(2) === 0;
  const services = fresh ? [...s.services] : s.services;
  const endpointSlices = fresh ? [...s.endpointSlices] : s.endpointSlices;
  const next = { ...s, services, endpointSlices };
  const ns = `ns${r(NAMESPACES)}`;
  switch (r(11)) {
    case 0: { // a Service's next version
      const i = r(services.length); const m = nameOf(services[i]);
      services[i] = svcObj(r, m.namespace, m.name);
      return [next, `update Service ${m.namespace}/${m.name}`];
    }
    case 1: { // an EndpointSlice's next version (sometimes of another Service of its namespace)
      const i = r(endpointSlices.length); const m = nameOf(endpointSlices[i]);
      const svc = r(4) === 0 ? `svc${r(40)}` : (endpointSlices[i] as { metadata: { labels: Record<string, string> } }).metadata.labels['kubernetes.io/service-name'];
      endpointSlices[i] = sliceObj(r, m.namespace, m.name, svc);
      return [next, `update EndpointSlice ${m.namespace}/${m.name} (of ${svc})`];
    }
    case 2: { // another object at a position: one deleted, one added, the list's length kept
      const i = r(services.length);
      services[i] = svcObj(r, ns, `new${serial}`);
      return [next, `replace Service at ${i} by ${ns}/new${serial}`];
    }
    case 3: { // a Service and its slice added
      services.splice(r(services.length + 1), 0, svcObj(r, ns, `add${serial}`));
      endpointSlices.push(sliceObj(r, ns, `add${serial}-a`, `add${serial}`));
      return [next, `add Service ${ns}/add${serial}`];
    }
    case 4: { // a Service deleted (its slices stay a while, as when the GC has not run yet)
      const [o] = services.splice(r(services.length), 1);
      return [next, `delete Service ${nameOf(o).namespace}/${nameOf(o).name}`];
    }
    case 5: { // a slice deleted
      const [o] = endpointSlices.splice(r(endpointSlices.length), 1);
      return [next, `delete EndpointSlice ${nameOf(o).namespace}/${nameOf(o).name}`];
    }
    case 6: { // two positions swapped (a relist in another order)
      const l = r(2) ? services : endpointSlices;
      const i = r(l.length), j = r(l.length);
      [l[i], l[j]] = [l[j], l[i]];
      return [next, `swap ${l === services ? 'Services' : 'EndpointSlices'} ${i} and ${j}`];
    }
    case 7: { // several Services and slices at once (one compile after a burst)
      for (let k = 0; k < 3; k++) {
        const i = r(services.length); const m = nameOf(services[i]);
        services[i] = svcObj(r, m.namespace, m.name);
        const j = r(endpointSlices.length); const n = nameOf(endpointSlices[j]);
        endpointSlices[j] = sliceObj(r, n.namespace, n.name, `svc${r(40)}`);
      }
      return [next, 'burst of 6 updates'];
    }
    case 8: { // a StaticHost's next version (sometimes invalid, sometimes a name another holds), or one added or deleted
      const staticHosts = [...s.staticHosts];
      const i = r(staticHosts.length + 1), k = r(4);
      if (k === 0 && staticHosts.length > 1) { staticHosts.splice(i % staticHosts.length, 1); return [{ ...next, staticHosts }, `delete StaticHost at ${i}`]; }
      const addresses = k === 1 ? ['not-an-ip'] : [`10.250.0.${r(8) + 1}`];
      const h = staticHost('splitdns', i < staticHosts.length ? nameOf(staticHosts[i]).name : `h-new${serial}`, { hostnames: [`h${r(8)}.static.example`], addresses, ptr: r(2) === 0 });
      if (i < staticHosts.length) staticHosts[i] = h; else staticHosts.push(h);
      return [{ ...next, staticHosts }, `StaticHost ${nameOf(h).name} (${addresses[0]})`];
    }
    case 9: { // a Namespace's labels (which zones publish its Services), or the zone's next version
      if (r(2)) {
        const namespaces = [...s.namespaces];
        const n = r(NAMESPACES);
        namespaces[n] = namespace(`ns${n}`, r(2) ? { tier: 'prod' } : {});
        return [{ ...next, namespaces }, `Namespace ns${n} labels`];
      }
      const selector = { matchLabels: { publish: r(4) ? 'yes' : 'no' } };
      const services = r(2) ? { selector } : { selector, namespaceSelector: { matchLabels: { tier: 'prod' } } };
      return [{ ...next, zones: [zone('corp', { domain: 'corp.example.org', ttl: 300 + serial, records: [], services }, T0)] }, 'zone corp'];
    }
    default: { // nothing changed in the lists (nothing at all moved)
      return [next, 'no change'];
    }
  }
}

describe('compile: a long-lived compiler patching its memory gives what a fresh compile gives (issue 14/16)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random sequence of 60 changes, seed ${seed}`, () => {
      const r = rng(seed);
      let s = cluster(r);
      const c = createCompiler(OPTS);
      expect(JSON.stringify(c.compile(s))).to.equal(JSON.stringify(compile(s, OPTS)));
      const did: string[] = [];
      for (let k = 0; k < 60; k++) {
        let what: string;
        [s, what] = change(r, s, k);
        did.push(what);
        const result = c.compile(s);
        const warm = JSON.stringify(result);
        expect(warm, `after: ${did.join('; ')}`).to.equal(JSON.stringify(compile(s, OPTS)));
        // The text a patched shard was hashed over and is written out as (its kept RRsets copied from its predecessor's) is its JSON.
        for (const shard of result.bundle.shards) expect(shardJson(shard), `${shard.id} after: ${did.join('; ')}`).to.equal(JSON.stringify(shard));
      }
    });
  }
});

describe('compile: per-Service records merged into one namespace shard', () => {
  it('two Service objects of one name (a repeated manifest) make one RRset, as one bag of records did', () => {
    const a1 = service('ns0', 'a', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [] });
    const a2 = service('ns0', 'a', { clusterIP: '10.96.0.2', clusterIPs: ['10.96.0.2'], ports: [] });
    const s = snap({ services: [a1, a2, service('ns0', 'b', { clusterIP: '10.96.0.3', clusterIPs: ['10.96.0.3'], ports: [] })], namespaces: [namespace('ns0')] });
    const shard = compile(s, OPTS).bundle.shards.find((x) => x.id === 'services/ns0') as { rrsets: { name: string; type: string; data: unknown[] }[] };
    const a = shard.rrsets.filter((r) => r.name === 'a.ns0.svc.cluster.local.' && r.type === 'A');
    expect(a).to.have.length(1);
    expect(a[0].data).to.deep.equal(['10.96.0.1', '10.96.0.2']);
    // ... and a long-lived compiler that saw one of them first gives the same.
    const c = createCompiler(OPTS);
    c.compile(snap({ ...s, services: [a1, s.services[2]] }));
    expect(JSON.stringify(c.compile(s))).to.equal(JSON.stringify(compile(s, OPTS)));
  });
});
