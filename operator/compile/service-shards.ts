// The cluster domain's Service shards, in two phases. Index: every Service and EndpointSlice
// object parsed once and kept in the cache while it stays in the snapshot, Services grouped by
// namespace, slices by Service. Services: one shard per namespace, rebuilt only when the
// namespace's objects moved (on a 100,000-endpoint cluster, the garbage collector's work is
// what a recompile mostly costs, so neither phase copies the cluster per compile).

import { sliceEntry, sliceInfo, svcEntry } from './cache.js';
import type { CompileCache, SliceEntry, SvcEntry } from './cache.js';
import { parseService, serviceRecords, servicesShardOf, sliceHead } from './cluster-services.js';
import type { ServiceRecords } from './cluster-services.js';
import type { SliceInfo } from './cluster-services.js';
import type { Raw } from './meta.js';
import { kept, mapped } from './lists.js';
import { byString } from './names.js';
import type { Shard } from './rrsets.js';
import { STEP_ITEMS, STEP_SERVICES, finish } from './steps.js';
import type { Steps } from './steps.js';
import type { Snapshot } from './types.js';

/** Index phase: the snapshot's Services grouped by namespace (snapshot order); the cache's slice index brought up to date. */
export function indexServices(s: Pick<Snapshot, 'services' | 'endpointSlices'>, cache: CompileCache): Map<string, SvcEntry[]> {
  return finish(indexServicesSteps(s, cache));
}

/**
 * indexServices() as steps (steps.ts). When the snapshot's Service and EndpointSlice lists have
 * the lengths they had last time (an object changed, none came or went: the common case), only
 * the positions holding another object than last time are looked at (a pointer comparison per
 * object, no allocation), and the index of last time is patched. Otherwise every object is
 * looked up (yielding every STEP_ITEMS objects) and what is gone is swept.
 */
export function* indexServicesSteps(s: Pick<Snapshot, 'services' | 'endpointSlices'>, cache: CompileCache): Steps<Map<string, SvcEntry[]>> {
  const gen = ++cache.generation;
  const last = cache.indexed;
  if (last !== undefined && patchIndex(last, s, cache, gen)) return last.svcByNs;
  cache.indexed = undefined; // a compile stopped half way through indexes from scratch next time
  const svcByNs = new Map<string, SvcEntry[]>();
  let n = 0;
  for (const o of s.services) {
    if (++n % STEP_ITEMS === 0) yield;
    const e = cache.services.get(o) ?? addService(cache, o, gen);
    e.gen = gen;
    listOf(svcByNs, e.ns).push(e);
  }
  // Slices by "<namespace>/<service>", changed only for slices that appeared or went away
  // (each compile only stamps the ones it sees).
  for (const o of s.endpointSlices) {
    if (++n % STEP_ITEMS === 0) yield;
    let e = cache.slices.get(o);
    if (e === undefined && (e = addSlice(cache, o, gen)).slice !== undefined) listSlice(cache, e);
    e.gen = gen;
  }
  // Sweep what is no longer in the snapshot (only when something is: the sizes tell).
  if (cache.services.size > s.services.length) {
    for (const [o, e] of cache.services) if (e.gen !== gen) { cache.services.delete(o); cache.touch(e.ns); }
  }
  if (cache.slices.size > s.endpointSlices.length) {
    for (const [o, e] of cache.slices) if (e.gen !== gen) dropSlice(cache, o, e);
  }
  cache.indexed = { services: s.services.slice(), slices: s.endpointSlices.slice(), svcByNs };
  return svcByNs;
}

/** Changes at most this share of a list in place (more: the full index is as cheap). */
const PATCH_SHARE = 8;

/**
 * Patches last compile's index with the objects now at positions that held another object
 * (same list lengths only). False, having changed nothing, when it cannot: lengths moved, too
 * many positions did, or a new object was already indexed (moved or repeated in the list).
 */
function patchIndex(last: NonNullable<CompileCache['indexed']>, s: Pick<Snapshot, 'services' | 'endpointSlices'>, cache: CompileCache, gen: number): boolean {
  const svcAt = changedPositions(last.services, s.services, cache.services);
  const sliceAt = svcAt && changedPositions(last.slices, s.endpointSlices, cache.slices);
  if (!svcAt || !sliceAt) return false;
  for (const i of svcAt) {
    const old = last.services[i], now = s.services[i];
    const oe = cache.services.get(old)!;
    cache.services.delete(old);
    cache.touch(oe.ns);
    const ne = addService(cache, now, gen);
    if (ne.id !== oe.id) { cache.idsMoved.add(oe.ns); cache.idsMoved.add(ne.ns); }
    const l = last.svcByNs.get(oe.ns)!;
    const at = l.indexOf(oe);
    // The same namespace: the new entry takes the old one's place (as in the snapshot).
    if (ne.ns === oe.ns) l[at] = ne;
    else {
      l.splice(at, 1);
      if (l.length === 0) last.svcByNs.delete(oe.ns);
      listOf(last.svcByNs, ne.ns).push(ne);
    }
    last.services[i] = now;
  }
  for (const i of sliceAt) {
    const old = last.slices[i], now = s.endpointSlices[i];
    const oe = cache.slices.get(old)!, ne = addSlice(cache, now, gen);
    if (ne.id !== oe.id) { if (oe.slice) cache.idsMoved.add(oe.slice.namespace); if (ne.slice) cache.idsMoved.add(ne.slice.namespace); }
    dropSlice(cache, old, oe, ne);
    last.slices[i] = now;
  }
  return true;
}

/** Positions where `now` holds another object than `was`, or undefined (see patchIndex). */
function changedPositions(was: readonly object[], now: readonly object[], known: ReadonlyMap<object, unknown>): number[] | undefined {
  if (was.length !== now.length) return undefined;
  const at: number[] = [];
  const most = Math.max(1, now.length / PATCH_SHARE);
  for (let i = 0; i < now.length; i++) {
    if (was[i] === now[i]) continue;
    if (at.length >= most || known.has(now[i])) return undefined;
    at.push(i);
  }
  return at;
}

function listOf<T>(m: Map<string, T[]>, k: string): T[] {
  let l = m.get(k);
  if (l === undefined) m.set(k, (l = []));
  return l;
}

/** Parses and indexes a Service object not seen before. */
function addService(cache: CompileCache, o: object, gen: number): SvcEntry {
  const svc = parseService(o as Raw);
  const ns = svc.meta.namespace ?? 'default';
  const e = svcEntry(svc, cache.ids.fresh(o), ns, `${ns}/${svc.meta.name}`, gen);
  cache.services.set(o, e);
  cache.touch(ns);
  return e;
}

/** Indexes an EndpointSlice object not seen before: appended to its Service's list (see dropSlice for a replacement). */
function addSlice(cache: CompileCache, o: object, gen: number): SliceEntry {
  const p = sliceHead(o as Raw);
  const e = p ? sliceEntry(p, o, cache.ids.fresh(o), `${p.namespace}/${p.service}`, gen) : sliceEntry(undefined, o, '', '', gen);
  cache.slices.set(o, e);
  return e;
}

/**
 * Drops a slice entry from the index; `by`, a new entry not yet listed, takes its place in its
 * Service's list when it is of the same Service, else is appended to its own. Lists are
 * replaced, never changed in place, when an entry goes.
 */
function dropSlice(cache: CompileCache, o: object, e: SliceEntry, by?: SliceEntry): void {
  cache.slices.delete(o);
  if (e.slice !== undefined) {
    cache.touch(e.slice.namespace);
    const l = cache.slicesBySvc.get(e.key);
    if (l !== undefined) {
      const same = by !== undefined && by.slice !== undefined && by.key === e.key;
      const rest = same ? mapped(l, (x) => (x === e ? by : x)) : kept(l, (x) => x !== e);
      if (rest.length) cache.slicesBySvc.set(e.key, rest); else cache.slicesBySvc.delete(e.key);
      if (same) return;
    }
  }
  if (by?.slice !== undefined) listSlice(cache, by);
}

function listSlice(cache: CompileCache, e: SliceEntry): void {
  cache.touch(e.slice!.namespace);
  const l = cache.slicesBySvc.get(e.key);
  if (l === undefined) cache.slicesBySvc.set(e.key, [e]); else l.push(e);
}

/** The parsed slices of a Service ("<namespace>/<name>"). */
export const slicesOf = (cache: CompileCache, svcKey: string): SliceInfo[] => mapped(cache.sliceEntriesOf(svcKey), sliceInfo);

/**
 * A Service's records, kept on its entry while the entry and its slice entries are the same
 * (only a headless Service's records come from its endpoints: the others' slices stay unparsed).
 */
function recordsOf(cache: CompileCache, e: SvcEntry, clusterZone: string): ServiceRecords {
  const slices = cache.sliceEntriesOf(e.key);
  let key = clusterZone;
  if (e.svc.headless) for (const x of slices) key += ',' + x.id;
  if (e.records !== undefined && e.records.key === key) return e.records.r;
  const r = serviceRecords(clusterZone, e.ns, e.svc, e.svc.headless ? mapped(slices, sliceInfo).sort((a, b) => byString(a.key, b.key)) : []);
  e.records = { key, r };
  return r;
}

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
 * The sorted identity key of a namespace's entries as the services phase lists them (each
 * Service entry followed by its slice entries): the cluster zone, then per Service by name its
 * identity and its slices' (by slice name). Equal keys, equal shards.
 */
function sortedKeyOf(clusterZone: string, entries: readonly object[]): string {
  const groups: [SvcEntry, SliceEntry[]][] = [];
  for (const e of entries) {
    if ('svc' in e) groups.push([e as SvcEntry, []]);
    else groups[groups.length - 1]![1].push(e as SliceEntry);
  }
  groups.sort((a, b) => byString(a[0].svc.meta.name, b[0].svc.meta.name));
  let key = clusterZone;
  for (const [e, slices] of groups) {
    key += '|' + e.id;
    if (slices.length > 1) slices.sort((a, b) => byString(a.slice!.key, b.slice!.key));
    for (const x of slices) key += ',' + x.id;
  }
  return key;
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

/** buildServiceShards() as steps (steps.ts): yields after each namespace, and every STEP_SERVICES Services whose records a namespace's rebuild makes. */
export function* buildServiceShardsSteps(svcByNs: Map<string, SvcEntry[]>, cache: CompileCache, clusterZone: string): Steps<Shard[]> {
  const shards: Shard[] = [];
  for (const [ns, list] of svcByNs) {
    const memo = cache.serviceShards.get(ns);
    if (memo && !cache.touchedNamespaces.has(ns)) { shards.push(memo.shard); continue; }
    if (shards.length > 0) yield;
    // The namespace stays touched until its shard is stored (a compile left between two of its steps rebuilds it next time).
    if (memo && sameEntries(cache, list, memo.entries)) { cache.touchedNamespaces.delete(ns); shards.push(memo.shard); continue; }
    const entries: object[] = [];
    for (const e of list) { entries.push(e); for (const x of cache.sliceEntriesOf(e.key)) entries.push(x); }
    list.sort((a, b) => byString(a.svc.meta.name, b.svc.meta.name));
    // The same identities (other objects of the same versions: a relist, or another order): the
    // same shard. Not looked at when the index phase saw an object of another identity take one's
    // place in this namespace (a change: the keys differ; building them costs more than the rest
    // of a one-Service rebuild). The key of the entries stored is made only when next compared.
    if (memo && !cache.idsMoved.has(ns)) {
      const key = sortedKeyOf(clusterZone, entries);
      if ((memo.sortedKey ??= sortedKeyOf(clusterZone, memo.entries)) === key) { cache.touchedNamespaces.delete(ns); memo.entries = entries; shards.push(memo.shard); continue; }
    }
    const records: ServiceRecords[] = [];
    for (const e of list) {
      records.push(recordsOf(cache, e, clusterZone));
      if (records.length % STEP_SERVICES === 0) yield;
    }
    const { shard, forward } = servicesShardOf(clusterZone, ns, records, memo?.forward);
    cache.serviceShards.set(ns, { entries, sortedKey: undefined, shard, forward });
    cache.touchedNamespaces.delete(ns);
    cache.idsMoved.delete(ns);
    shards.push(shard);
  }
  for (const ns of cache.serviceShards.keys()) if (!svcByNs.has(ns)) cache.serviceShards.delete(ns);
  // A namespace without Services (a slice whose Service is not there): nothing to build.
  for (const ns of cache.touchedNamespaces) if (!svcByNs.has(ns)) cache.touchedNamespaces.delete(ns);
  for (const ns of cache.idsMoved) if (!cache.touchedNamespaces.has(ns)) cache.idsMoved.delete(ns);
  return shards;
}
