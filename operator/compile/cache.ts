// The compiler's memory between calls: ONE object, made by createCompiler() and passed to the
// phases (a one-shot compile() makes a fresh one and drops it). Every table below says what it
// keys on and when its entries die. Nothing in it changes what compile() returns: a compile
// with a warm cache gives the same bytes as one with a fresh cache (tests check this); it only
// skips work whose inputs (compared by object identity or uid@resourceVersion) did not move.

import type { StaticVerdictsMemo } from './claims.js';
import { parseSlice } from './cluster-services.js';
import type { ServiceRecords, ServicesForward, ServiceInfo, SliceHead, SliceInfo } from './cluster-services.js';
import { obj } from './meta.js';
import type { Meta, Raw } from './meta.js';
import type { ParsedForwarder, ParsedResources, ParsedStaticHost, ParsedZone } from './parse-crs.js';
import type { DomainsMemo } from './domains.js';
import type { Permissions } from './permissions.js';
import type { Shard } from './rrsets.js';
import type { Decided, Verdict } from './status.js';
import type { ResourceResult } from './types.js';
import type { BuiltZone, Contribution } from './zones.js';
import type { ZoneShard } from '../../dns-server/config/types.js';
import type { ReverseClaims } from './reverse-claims.js';
import type { ClusterRange, ReverseRanges } from './reverse-zones.js';

/** Identity of an input object: uid@resourceVersion when it has both, else a counter per object. */
class Identities {
  private readonly ids = new WeakMap<object, string>();
  private next = 0;
  /** Remembered per object (WeakMap: dies with the object). */
  of(o: object): string {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.fresh(o)));
    return id;
  }
  /** The identity without remembering it (the caller keeps it with the object). */
  fresh(o: object): string {
    const m = obj((o as Raw).metadata);
    return typeof m.uid === 'string' && typeof m.resourceVersion === 'string' ? `${m.uid}@${m.resourceVersion}` : `#${++this.next}`;
  }
}

export type Rejection = Extract<Verdict, { accepted: false }>;

/**
 * A StaticHost, a published Service, Ingress or Gateway API route asking for names (the claims
 * phase decides). Made by contributor() only: one object shape for every kind (README "Shapes").
 */
export type Contributor = {
  meta: Meta;
  /** Identity of everything the outcome depends on. */
  ident: string;
  build: () => { placements: Map<string, Contribution> } | Rejection;
  /** Services and routes: the zones to note a name not published in (StaticHosts: undefined). */
  skipZones: ParsedZone[] | undefined;
};

/** A Contributor: every field, always in this order. */
export const contributor = (meta: Meta, ident: string, build: Contributor['build'], skipZones: ParsedZone[] | undefined): Contributor => ({ meta, ident, build, skipZones });

export interface SvcTarget { zone: ParsedZone; name: string }

/**
 * One Service object, parsed, with what later phases remember about it. Made by svcEntry()
 * only: the fields later phases fill are there from the start (undefined), so every entry has
 * one object shape whatever phase last touched it (README "Shapes").
 */
export interface SvcEntry {
  svc: ServiceInfo;
  /** uid@resourceVersion (or a counter). */
  id: string;
  /** Its namespace. */
  ns: string;
  /** "<namespace>/<name>" */
  key: string;
  /** The compile that last saw the object (entries of objects gone from the snapshot are swept). */
  gen: number;
  /** Services phase: its records in its namespace's shard, for `key` (the cluster zone and, when headless, its slice identities). */
  records: { key: string; r: ServiceRecords } | undefined;
  /** Contributors phase: the zones publishing it, valid while `key` is the cache's zonesKey. */
  targets: { key: string; list: SvcTarget[] } | undefined;
  /** Contributors phase: its contributor, built for `contributorZonesKey`. */
  contributor: Contributor | undefined;
  contributorZonesKey: string | undefined;
  /** The single slice entry the contributor was built with (null: none; undefined: several, always rebuilt). */
  contributorSlice: SliceEntry | null | undefined;
}

/** A SvcEntry: every field, always in this order. */
export const svcEntry = (svc: ServiceInfo, id: string, ns: string, key: string, gen: number): SvcEntry =>
  ({ svc, id, ns, key, gen, records: undefined, targets: undefined, contributor: undefined, contributorZonesKey: undefined, contributorSlice: undefined });

/**
 * One EndpointSlice object: whose it is (`slice` undefined: not a Service's IPv4/IPv6 slice),
 * and its endpoints parsed only when someone reads them (`sliceInfo()`): only a headless
 * Service's records come from its slices, so most slices are never parsed. Made by sliceEntry()
 * only (`info` there from the start: one shape, parsed or not).
 */
export interface SliceEntry { slice: SliceHead | undefined; raw: object; info: SliceInfo | undefined; id: string; /** "<namespace>/<service>" */ key: string; gen: number }

/** A SliceEntry: every field, always in this order. */
export const sliceEntry = (slice: SliceHead | undefined, raw: object, id: string, key: string, gen: number): SliceEntry => ({ slice, raw, info: undefined, id, key, gen });

/** The parsed slice of an entry (parsed on first use, then kept). */
export const sliceInfo = (e: SliceEntry): SliceInfo => (e.info ??= parseSlice(e.raw as Raw)!);

export interface ClaimsOutcome {
  /** StaticHost key → why it was refused. */
  rejected: [string, Rejection][];
  /** StaticHost key, its shard ids, its status figures. */
  accepted: [string, string[], Record<string, unknown>][];
  /** Shard id → what the winners put there, in claim order. */
  contributions: Map<string, Contribution[]>;
  /** Zone domain → Services and routes (Ingresses, Gateway API routes) published there, and those not published (why). */
  zoneNotes: Map<string, { services: number; routes: number; skipped: string[] }>;
}

export class CompileCache {
  /** Identities of input objects (WeakMap: an entry dies with its object). */
  readonly ids = new Identities();

  // Parse phase: parsed custom resources by raw object (WeakMaps: entries die with the objects;
  // informers and local mode hand over a new object when a resource changes).
  readonly zones = new WeakMap<object, ParsedZone>();
  readonly forwarders = new WeakMap<object, ParsedForwarder>();
  readonly staticHosts = new WeakMap<object, ParsedStaticHost>();
  /** The last parse phase's outcome, with copies of the snapshot lists it was made from (compared element by element). Replaced when one moves. */
  parsed: { zones: object[]; forwarders: object[]; staticHosts: object[]; parsed: ParsedResources } | undefined;

  // Domains phase: its last outcome, with the parse outcome (by identity) and the Namespace
  // objects (a copy of the list) it was decided from, and the Conflict refusals it made (replayed).
  domains: DomainsMemo | undefined;
  /** Contributors phase: the StaticHosts' contributors, made for that parse outcome and those Permissions (by identity). */
  staticContributors: { parsed: ParsedResources; perm: Permissions; list: Contributor[] } | undefined;

  // Services index: parsed Services and EndpointSlices by raw object. Strong maps, swept at the
  // end of indexing of every object not in this compile's snapshot (`gen` below): cheaper for
  // the GC than WeakMaps of 100,000 entries (ephemerons are traced on every scavenge).
  /** Number of the current compile; entries not stamped with it are gone from the snapshot. */
  generation = 0;
  readonly services = new Map<object, SvcEntry>();
  readonly slices = new Map<object, SliceEntry>();
  /**
   * What the last whole index phase saw: its own copies of the snapshot's Service and
   * EndpointSlice lists, and the Service entries by namespace it returned (kept, and patched
   * when only some positions of the lists hold other objects: service-shards.ts).
   */
  indexed: { services: object[]; slices: object[]; svcByNs: Map<string, SvcEntry[]> } | undefined;
  /** Live slice entries by "<namespace>/<service>"; lists are replaced, never mutated, when one goes. */
  readonly slicesBySvc = new Map<string, SliceEntry[]>();

  // Service shards phase: namespace → its shard and the entries it was built from (the
  // objects, in input order, and their sorted identity key). Dies when the namespace has no
  // Service left.
  readonly serviceShards = new Map<string, { entries: object[]; /** Made when first compared (service-shards.ts). */ sortedKey: string | undefined; shard: Shard; /** Its Services' records and sorted forward RRsets (to patch the next shard from). */ forward: ServicesForward }>();
  /**
   * Namespaces where the index phase saw a Service or EndpointSlice entry appear or go away
   * since the services phase last looked: only these can need a new shard. Filled by the index
   * phase, emptied by the services phase namespace by namespace (so a compile that failed in
   * between leaves them marked).
   */
  readonly touchedNamespaces = new Set<string>();
  /**
   * Namespaces of touchedNamespaces where the index phase, patching, saw an object of another
   * identity (uid@resourceVersion) take an object's place: their sorted identity key has moved,
   * so the services phase does not build it to compare (emptied with touchedNamespaces).
   */
  readonly idsMoved = new Set<string>();
  /** The same for the contributors phase (emptied by it: each phase keeps its own account). */
  readonly contributorNamespaces = new Set<string>();

  /**
   * Contributors phase: each namespace's Service contributors (in list order), with the
   * zonesKey they were collected for; reused while the namespace is not in
   * contributorNamespaces and the zonesKey is the same string. Dies with the namespace.
   */
  readonly nsContributors = new Map<string, { zonesKey: string; list: Contributor[] }>();

  // Contributors phase: the identity key of the accepted zones and the Namespaces, interned
  // (equal keys are the same string, so entries compare it by pointer). Replaced when it moves.
  zonesKey = '';

  // Claims phase: the last outcome, keyed on zonesKey and every contributor's identity (in
  // collection order). One entry, replaced when either moves. The outcome is never changed
  // once made, so later phases may key on its identity.
  claims: { zonesKey: string; idents: string[]; outcome: ClaimsOutcome } | undefined;

  /** Reverse phase: the StaticHosts' verdicts last decided, with their inputs (claims.ts judgeStaticHosts). Replaced when they move. */
  staticVerdicts: StaticVerdictsMemo | undefined;

  // Shards phase.
  /**
   * Zone shard id → the shard, keyed on the zone's identity and its contributions (first
   * compared as the claims outcome they came from, then by their identities). Dies with the zone.
   */
  readonly zoneShards = new Map<string, { key: string; id: string; claims: ClaimsOutcome; built: BuiltZone }>();
  /** The hosts shard, keyed on its contributions (likewise); replaced when they move. */
  hostsShard: { key: string; claims: ClaimsOutcome; shard: Shard } | undefined;
  // Reverse phase (reverse-zones.ts, reverse-claims.ts): the cluster's reverse ranges and their
  // authoritative zone shards (from the compiler's options only), and the PTR claims judged
  // shard by shard (ReverseClaims keeps its own per-shard memory). Live as long as the cache.
  reverse: { ranges: ReverseRanges<ClusterRange>; shards: ZoneShard[]; claims: ReverseClaims } | undefined;
  /**
   * The claims outcome with refused PTRs left out: kept while the claims outcome is the same
   * object and every filtered contribution is too, so the shards phase can key on its identity.
   */
  ptrClaims: { base: ClaimsOutcome; outcome: ClaimsOutcome } | undefined;
  /** The cluster domain's zone shard (depends on the compiler's options only: lives as long as the cache). */
  clusterShard: Shard | undefined;
  /**
   * Statuses phase: each resource's last decision and result, by parsed metadata (WeakMap: dies
   * with the parsed object). An unchanged result is the same object, compile after compile.
   */
  readonly statuses = new WeakMap<Meta, { decided: Decided; result: ResourceResult }>();
  /** Statuses phase: the last results in input order and sorted (buildStatuses returns a copy of the sorted list while the results are the same objects). */
  statusesRun: { results: ResourceResult[]; sorted: ResourceResult[] } | undefined;
  /** Small shards rebuilt every time (forwarders, hosts): the previous object, by id, to return when its hash did not move. */
  readonly lastById = new Map<string, Shard>();

  /** Marks a namespace whose Service or EndpointSlice entries changed, for the phases that look. */
  touch(ns: string): void {
    this.touchedNamespaces.add(ns);
    this.contributorNamespaces.add(ns);
  }

  /** The live slice entries of a Service ("<namespace>/<name>"). */
  sliceEntriesOf(svcKey: string): readonly SliceEntry[] {
    return this.slicesBySvc.get(svcKey) ?? NONE;
  }

  /** `s`, or the previous shard of that id when its hash is the same (callers compare by identity). */
  reuse<S extends Shard>(s: S): S {
    const prev = this.lastById.get(s.id);
    if (prev && prev.hash === s.hash) return prev as S;
    this.lastById.set(s.id, s);
    return s;
  }
}

const NONE: readonly SliceEntry[] = [];

/** Parses each raw object once per object. */
export function cached<T>(cache: WeakMap<object, T>, o: object, parse: (r: Raw) => T): T {
  let v = cache.get(o);
  if (v === undefined) { v = parse(o as Raw); cache.set(o, v); }
  return v;
}
