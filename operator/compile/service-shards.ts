// The cluster domain's Service shards, in two phases. Index: every Service and EndpointSlice
// object parsed once and kept in the cache while it stays in the snapshot, Services grouped by
// namespace, slices by Service. Services: one shard per namespace, rebuilt only when the
// namespace's objects moved (on a 100,000-endpoint cluster, the garbage collector's work is
// what a recompile mostly costs, so neither phase copies the cluster per compile).

import { sliceInfo } from './cache.js';
import type { CompileCache, SliceEntry, SvcEntry } from './cache.js';
import { buildServicesShard, parseService, sliceHead } from './cluster-services.js';
import type { SliceInfo } from './cluster-services.js';
import type { Raw } from './meta.js';
import { byString } from './names.js';
import type { Shard } from './rrsets.js';
import { STEP_ITEMS, finish } from './steps.js';
import type { Steps } from './steps.js';
import type { Snapshot } from './types.js';

/** Index phase: the snapshot's Services grouped by namespace (snapshot order); the cache's slice index brought up to date. */
export function indexServices(s: Pick<Snapshot, 'services' | 'endpointSlices'>, cache: CompileCache): Map<string, SvcEntry[]> {
  return finish(indexServicesSteps(s, cache));
}

/** indexServices() as steps (steps.ts): yields every STEP_ITEMS objects. */
export function* indexServicesSteps(s: Pick<Snapshot, 'services' | 'endpointSlices'>, cache: CompileCache): Steps<Map<string, SvcEntry[]>> {
  const gen = ++cache.generation;
  const svcByNs = new Map<string, SvcEntry[]>();
  let n = 0;
  for (const o of s.services) {
    if (++n % STEP_ITEMS === 0) yield;
    let e = cache.services.get(o);
    if (e === undefined) {
      const svc = parseService(o as Raw);
      cache.services.set(o, (e = { svc, id: cache.ids.fresh(o), key: `${svc.meta.namespace ?? 'default'}/${svc.meta.name}`, gen }));
      cache.touchedNamespaces.add(svc.meta.namespace ?? 'default');
    }
    e.gen = gen;
    const ns = e.svc.meta.namespace ?? 'default';
    let l = svcByNs.get(ns);
    if (!l) svcByNs.set(ns, (l = []));
    l.push(e);
  }
  // Slices by "<namespace>/<service>", changed only for slices that appeared or went away
  // (each compile only stamps the ones it sees).
  for (const o of s.endpointSlices) {
    if (++n % STEP_ITEMS === 0) yield;
    let e = cache.slices.get(o);
    if (e === undefined) {
      const p = sliceHead(o as Raw);
      cache.slices.set(o, (e = p ? { slice: p, raw: o, id: cache.ids.fresh(o), key: `${p.namespace}/${p.service}`, gen } : { slice: undefined, raw: o, id: '', key: '', gen }));
      if (e.slice !== undefined) {
        cache.touchedNamespaces.add(e.slice.namespace);
        const l = cache.slicesBySvc.get(e.key);
        if (l === undefined) cache.slicesBySvc.set(e.key, [e]); else l.push(e);
      }
    }
    e.gen = gen;
  }
  // Sweep what is no longer in the snapshot (only when something is: the sizes tell).
  if (cache.services.size > s.services.length) {
    for (const [o, e] of cache.services) if (e.gen !== gen) { cache.services.delete(o); cache.touchedNamespaces.add(e.svc.meta.namespace ?? 'default'); }
  }
  if (cache.slices.size > s.endpointSlices.length) {
    for (const [o, e] of cache.slices) {
      if (e.gen === gen) continue;
      cache.slices.delete(o);
      if (e.slice !== undefined) cache.touchedNamespaces.add(e.slice.namespace);
      const l = e.slice !== undefined ? cache.slicesBySvc.get(e.key) : undefined;
      if (l === undefined) continue;
      const rest = l.filter((x) => x !== e);
      if (rest.length) cache.slicesBySvc.set(e.key, rest); else cache.slicesBySvc.delete(e.key);
    }
  }
  return svcByNs;
}

/** The parsed slices of a Service ("<namespace>/<name>"). */
export const slicesOf = (cache: CompileCache, svcKey: string): SliceInfo[] => cache.sliceEntriesOf(svcKey).map(sliceInfo);

/** Same entries in the same order as `prev` (compared by identity, allocating nothing)? */
function sameEntries(cache: CompileCache, list: readonly SvcEntry[], prev: readonly object[]): boolean {
  let i = 0;
  for (const e of list) {
    if (prev[i++] !== e) return false;
    for (const y of cache.sliceEntriesOf(e.key)) if (prev[i++] !== y) return false;
  }
  return i === prev.length;
}

/**
 * Services phase: the ServicesShard of every namespace with a Service. A namespace's shard is
 * reused when the index phase saw no entry of it appear or go away (the cache's
 * touchedNamespaces: nothing of it to look at, the common case after one change elsewhere),
 * else when its entries are the same objects in the same order (informer caches keep their
 * order), else when their sorted identity key is the same; otherwise rebuilt. Sorts each
 * rebuilt namespace's list by name in place.
 */
export function buildServiceShards(svcByNs: Map<string, SvcEntry[]>, cache: CompileCache, clusterZone: string): Shard[] {
  return finish(buildServiceShardsSteps(svcByNs, cache, clusterZone));
}

/** buildServiceShards() as steps (steps.ts): yields after each namespace. */
export function* buildServiceShardsSteps(svcByNs: Map<string, SvcEntry[]>, cache: CompileCache, clusterZone: string): Steps<Shard[]> {
  const shards: Shard[] = [];
  for (const [ns, list] of svcByNs) {
    const memo = cache.serviceShards.get(ns);
    if (memo && !cache.touchedNamespaces.has(ns)) { shards.push(memo.shard); continue; }
    if (shards.length > 0) yield;
    cache.touchedNamespaces.delete(ns);
    if (memo && sameEntries(cache, list, memo.entries)) { shards.push(memo.shard); continue; }
    const entries: object[] = [];
    for (const e of list) { entries.push(e); for (const x of cache.sliceEntriesOf(e.key)) entries.push(x); }
    list.sort((a, b) => byString(a.svc.meta.name, b.svc.meta.name));
    let sortedKey = clusterZone;
    const bySlice = (a: SliceEntry, b: SliceEntry) => byString(a.slice!.key, b.slice!.key);
    for (const { id, key } of list) {
      sortedKey += '|' + id;
      for (const x of [...cache.sliceEntriesOf(key)].sort(bySlice)) sortedKey += ',' + x.id;
    }
    if (memo && memo.sortedKey === sortedKey) { memo.entries = entries; shards.push(memo.shard); continue; }
    const bySvc = new Map<string, SliceInfo[]>();
    // Only a headless Service's records come from its endpoints: the others' slices stay unparsed.
    for (const e of list) if (e.svc.headless) bySvc.set(e.svc.meta.name, slicesOf(cache, e.key).sort((a, b) => byString(a.key, b.key)));
    const shard = buildServicesShard(clusterZone, ns, list.map((x) => x.svc), bySvc);
    cache.serviceShards.set(ns, { entries, sortedKey, shard });
    shards.push(shard);
  }
  for (const ns of cache.serviceShards.keys()) if (!svcByNs.has(ns)) cache.serviceShards.delete(ns);
  // A namespace without Services (a slice whose Service is not there): nothing to build.
  for (const ns of cache.touchedNamespaces) if (!svcByNs.has(ns)) cache.touchedNamespaces.delete(ns);
  return shards;
}
