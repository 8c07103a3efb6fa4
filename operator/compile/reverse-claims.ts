// Who may have the PTR of an address: tenancy for reverse names. Every PTR the compiler would
// publish (a Service's ClusterIP, a headless Service's endpoint, a StaticHost with ptr: true) is
// a claim; judgePtrClaims() refuses the ones the rules in docs/compiler.md ("Reverse names")
// forbid, and ReverseClaims applies the verdict to the built shards and contributions without
// touching what they hold otherwise (a refused PTR never takes a forward name with it).

import type { RRSet, Shard, ServicesShard } from '../../dns-server/config/types.js';
import { byString } from './names.js';
import { sameEntries } from './lists.js';
import type { ParsedZone } from './parse-crs.js';
import { hashShard, shardFieldJson } from './rrsets.js';
import { addressOfReverseName } from './reverse-zones.js';
import type { ClusterRange, ReverseRanges } from './reverse-zones.js';
import { STEP_ITEMS, finish } from './steps.js';
import type { Steps } from './steps.js';
import type { Contribution } from './zones.js';

export type PtrSource = 'clusterIP' | 'endpoint' | 'static';

export interface PtrClaim {
  /** The reverse name (1.0.96.10.in-addr.arpa.). */
  name: string;
  target: string;
  namespace: string;
  /** "Service default/kubernetes", "StaticHost team-a/db". */
  owner: string;
  source: PtrSource;
  /** Set when the claimant's own grant does not cover the address (StaticHosts: the delegation). */
  denied?: string;
}

/** A PtrClaim as the compiler makes them: every field, `denied` too, always in this order (one object shape: README "Shapes"). */
const ptrClaim = (name: string, target: string, namespace: string, owner: string, source: PtrSource, denied: string | undefined): PtrClaim =>
  ({ name, target, namespace, owner, source, denied });

export interface PtrRefusal {
  claim: PtrClaim;
  reason: 'NotPermitted' | 'Conflict';
  message: string;
}

export interface PtrRules {
  /** The cluster range holding a reverse name. */
  clusterRange(name: string): ClusterRange | undefined;
  /** The DNSZone ("DNSZone corp") whose own records are at a reverse name outside the cluster ranges. */
  zoneRecordOwner(name: string): string | undefined;
}

const addr = (name: string): string => addressOfReverseName(name) ?? name;
const list = (owners: Iterable<string>): string => [...new Set(owners)].sort(byString).join(', ');

/** The refused claims, sorted by owner then name. Claims of one name are judged together. */
export function judgePtrClaims(claims: readonly PtrClaim[], rules: PtrRules): PtrRefusal[] {
  const byName = new Map<string, PtrClaim[]>();
  for (const c of claims) { const l = byName.get(c.name); if (l) l.push(c); else byName.set(c.name, [c]); }
  const refused: PtrRefusal[] = [];
  for (const [name, group] of byName) judgeName(name, group, rules, refused);
  return refused.sort((a, b) => byString(a.claim.owner, b.claim.owner) || byString(a.claim.name, b.claim.name) || byString(a.claim.target, b.claim.target));
}

/** Judges the claims of one reverse name, appending the refused ones to `refused`. */
export function judgeName(name: string, group: readonly PtrClaim[], rules: PtrRules, refused: PtrRefusal[]): void {
  const range = rules.clusterRange(name);
  // One claim, in its own grant, outside the Service CIDRs and the zones' records: served (the common case, kept cheap).
  if (group.length === 1 && group[0].denied === undefined && (range === undefined || range.role !== 'Service') && (range !== undefined || rules.zoneRecordOwner(name) === undefined)) return;
  const ip = addr(name);
  const clusterIPs = group.filter((c) => c.source === 'clusterIP');
  const zoneOwner = range === undefined ? rules.zoneRecordOwner(name) : undefined;
  const eligible: PtrClaim[] = [];
  for (const c of group) {
    const refuse = (reason: PtrRefusal['reason'], message: string) => refused.push({ claim: c, reason, message: `PTR ${ip} → ${c.target}: ${message}` });
    if (clusterIPs.length && c.source !== 'clusterIP') refuse('Conflict', `${ip} is the ClusterIP of ${list(clusterIPs.map((x) => x.owner))}, which alone has its PTR`);
    else if (c.denied !== undefined) {
      const others = group.filter((x) => x.namespace !== c.namespace && x.denied === undefined).map((x) => x.owner);
      refuse('NotPermitted', c.denied + (others.length ? `; the address is claimed by ${list(others)}` : ''));
    }
    else if (range?.role === 'Service' && c.source !== 'clusterIP') refuse('NotPermitted', `${ip} is in the cluster's Service CIDR ${range.cidr}, whose PTRs only the Service holding the address as ClusterIP may have`);
    else if (zoneOwner !== undefined) refuse('Conflict', `${zoneOwner} has its own records at ${name}`);
    else eligible.push(c);
  }
  const namespaces = new Set(eligible.map((c) => c.namespace));
  if (namespaces.size > 1) {
    for (const c of eligible) {
      const others = eligible.filter((x) => x.namespace !== c.namespace).map((x) => x.owner);
      refused.push({ claim: c, reason: 'Conflict', message: `PTR ${ip} → ${c.target}: ${ip} is also claimed by ${list(others)}; an address claimed from more than one namespace has no PTR` });
    }
  }
}

/**
 * The PTR claims a Services shard makes: its reverse RRsets, owned by the Service each target
 * names. With the shard it replaces (same id) and that shard's claims, the claims of an RRset
 * that is the same object in both (a rebuilt namespace shard keeps the PTR RRsets its changed
 * Services do not touch) are that shard's claim objects, not made again; a claim equal to one
 * of the old shard's (name and target) is that one too.
 */
export function claimsOfServicesShard(shard: ServicesShard, old?: { shard: ServicesShard; claims: readonly PtrClaim[] }): PtrClaim[] {
  const suffix = `.${shard.namespace}.svc.${shard.zone}`;
  // The old shard's claims by RRset: its claims are made in RRset order, those of one RRset in a row.
  const oldRanges = new Map<RRSet, [number, number]>();
  if (old !== undefined && old.shard.namespace === shard.namespace && old.shard.zone === shard.zone) {
    let i = 0;
    for (const rs of old.shard.reverse) {
      const from = i;
      for (const target of rs.data as string[]) if (target.endsWith(suffix)) i++;
      oldRanges.set(rs, [from, i]);
    }
    if (i !== old.claims.length) oldRanges.clear(); // not the claims of that shard: nothing reused
  }
  const walked = oldRanges.size > 0;
  const out: PtrClaim[] = [];
  /** Where the claims made here (not taken from the old shard's kept RRsets) are in `out`. */
  const made: number[] = [];
  for (const rs of shard.reverse) {
    const range = oldRanges.get(rs);
    if (range !== undefined) {
      for (let i = range[0]; i < range[1]; i++) out.push(old!.claims[i]!);
      oldRanges.delete(rs); // what is left are the old RRsets not kept
      continue;
    }
    for (const target of rs.data as string[]) {
      if (!target.endsWith(suffix)) continue;
      const head = target.slice(0, -suffix.length); // "<service>" or "<endpoint>.<service>"
      const dot = head.indexOf('.');
      made.push(out.length);
      out.push(ptrClaim(rs.name, target, shard.namespace, `Service ${shard.namespace}/${head.slice(dot + 1)}`, dot < 0 ? 'clusterIP' : 'endpoint', undefined));
    }
  }
  if (made.length === 0 || old === undefined) return out;
  // Claims made again that equal a claim of an old RRset not kept keep the old object (the
  // index then moves only what differs). Without ranges (no old shard to walk), all old claims.
  const byKey = new Map<string, PtrClaim>();
  const add = (x: PtrClaim) => byKey.set(x.name + '\n' + x.target, x);
  if (!walked) old.claims.forEach(add);
  else for (const [from, to] of oldRanges.values()) for (let i = from; i < to; i++) add(old.claims[i]!);
  if (byKey.size === 0) return out;
  // In place rather than out.map(): a list built by push keeps one array shape, whichever tier runs this (README "Shapes").
  // Only the claims made here: the others are the old shard's already.
  for (const i of made) out[i] = byKey.get(out[i]!.name + '\n' + out[i]!.target) ?? out[i]!;
  return out;
}

/** Claims in the order claimsOfServicesShard() makes them: by reverse name, then target (a shard's RRsets and their data are sorted so). */
const byNameTarget = (a: PtrClaim, b: PtrClaim): number => byString(a.name, b.name) || byString(a.target, b.target);

/**
 * Calls `gone` for each claim of `was` not in `now` and `came` for each of `now` not in `was`
 * (by identity), walking both in step: both are in byNameTarget order, one claim per name and
 * target. When a list is not in that order, by Sets instead (the same answer).
 */
export function diffClaims(was: readonly PtrClaim[], now: readonly PtrClaim[], gone: (x: PtrClaim) => void, came: (x: PtrClaim) => void): void {
  let ordered = true;
  for (let i = 1; i < was.length && ordered; i++) ordered = byNameTarget(was[i - 1]!, was[i]!) < 0;
  for (let i = 1; i < now.length && ordered; i++) ordered = byNameTarget(now[i - 1]!, now[i]!) < 0;
  if (!ordered) {
    const inNow = new Set(now), inWas = new Set(was);
    for (const x of was) if (!inNow.has(x)) gone(x);
    for (const x of now) if (!inWas.has(x)) came(x);
    return;
  }
  let i = 0, j = 0;
  while (i < was.length || j < now.length) {
    if (i < was.length && j < now.length && was[i] === now[j]) { i++; j++; continue; }
    const order = i === was.length ? 1 : j === now.length ? -1 : byNameTarget(was[i]!, now[j]!);
    if (order <= 0) gone(was[i++]!); // equal name and target, another object: the old one goes, the new one comes next
    else came(now[j++]!);
  }
}

const claimKey = (name: string, target: string, owner: string) => `${owner}\n${name}\n${target}`;

interface Summary { refusals: Map<string, PtrRefusal[]>; byNamespace: Map<string, ReadonlySet<string>>; statics: ReadonlySet<string> }

/** Same refusals (by claim and message): a re-judged name whose outcome did not move changes nothing. */
function sameRefusals(a: readonly PtrRefusal[], b: readonly PtrRefusal[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].claim.owner !== b[i].claim.owner || a[i].claim.target !== b[i].claim.target || a[i].message !== b[i].message) return false;
  return true;
}

export interface ReverseOutcome {
  /** The contributions with refused PTRs left out (new objects where something was refused; the input is not changed). */
  contributions: Map<string, Contribution[]>;
  /** Refusals by owner ("Service ns/x", "StaticHost ns/y"). */
  refusals: Map<string, PtrRefusal[]>;
}

/**
 * Applies the PTR rules to one compile's output. Kept by the compiler: a Services shard's
 * claims and its filtered copy are remembered with the shard object, so an unchanged
 * namespace costs a lookup.
 */
export class ReverseClaims {
  readonly #claims = new WeakMap<Shard, PtrClaim[]>();
  readonly #filtered = new WeakMap<Shard, { refused: ReadonlySet<string>; shard: Shard }>();
  /** The Services shards' claims by reverse name, kept in step shard by shard (a recompile after one change re-judges only the names it touched). */
  readonly #index = new Map<string, PtrClaim[]>();
  /** The Services shards whose claims are in #index, by id. */
  readonly #indexed = new Map<string, Shard>();
  /** Refusals by reverse name, as last judged. */
  readonly #refusedAt = new Map<string, PtrRefusal[]>();
  #lastStatic = new Map<string, PtrClaim[]>();
  /** The inputs #lastStatic was collected from (compared by identity). */
  #staticInput: { contributions: ReadonlyMap<string, Contribution[]>; zoneOfShard: ReadonlyMap<string, ParsedZone> } | undefined;
  /** The last filtered contributions, with the contributions and refused set they came from. */
  #lastOut: { contributions: ReadonlyMap<string, Contribution[]>; refused: ReadonlySet<string>; out: Map<string, Contribution[]> } | undefined;
  /** A contribution without its refused PTRs, kept while the refused set is the same object. */
  readonly #kept = new WeakMap<Contribution, { refused: ReadonlySet<string>; kept: Contribution }>();
  /** A contribution's PTR claims, kept while the contribution object and its zone are the same. */
  readonly #staticClaims = new WeakMap<Contribution, { zone: ParsedZone | undefined; claims: PtrClaim[] }>();
  /** What the refusals add up to; rebuilt when a re-judged name changed its refusals. */
  #summary: Summary | undefined;
  #lastZoneRecords = '';
  /** The DNSZones' own records at reverse names, as of the last apply (what #rules reads). */
  #zoneRecords: ReadonlyMap<string, string> = new Map();
  /** The rules judgeName() applies: one object with the same two functions for the cache's life (not new closures per compile, which the optimised judgeName would not recognise). */
  readonly #rules: PtrRules = { clusterRange: (n) => this.ranges.find(n), zoneRecordOwner: (n) => this.#zoneRecords.get(n) };

  constructor(private readonly ranges: ReverseRanges<ClusterRange>, private readonly operatorNamespace: string) {}

  /** Replaces, in `shards`, the Services shards that lose PTRs; returns the filtered contributions and the refusals. */
  apply(shards: Shard[], contributions: ReadonlyMap<string, Contribution[]>, zoneOfShard: ReadonlyMap<string, ParsedZone>): ReverseOutcome {
    return finish(this.applySteps(shards, contributions, zoneOfShard));
  }

  /**
   * apply() as steps (steps.ts): yields after each Services shard indexed or filtered and every
   * STEP_ITEMS names judged or contributions filtered. Its memory is consistent only once the
   * steps have run to the end: a caller never leaves them half run (the operator's driver runs
   * every compile to its end).
   */
  *applySteps(shards: Shard[], contributions: ReadonlyMap<string, Contribution[]>, zoneOfShard: ReadonlyMap<string, ParsedZone>): Steps<ReverseOutcome> {
    const dirty = new Set<string>();
    // A Services shard that replaces one of the same id (its namespace changed): only the claims
    // that differ leave and enter the index (equal claims keep their objects), so one changed
    // Service re-judges its own names, not its namespace's.
    const indexClaim = (x: PtrClaim) => { const l = this.#index.get(x.name); if (l) l.push(x); else this.#index.set(x.name, [x]); dirty.add(x.name); };
    const unindexClaim = (x: PtrClaim) => {
      dirty.add(x.name);
      const rest = (this.#index.get(x.name) ?? []).filter((y) => y !== x);
      if (rest.length) this.#index.set(x.name, rest); else this.#index.delete(x.name);
    };
    let live = 0;
    for (const s of shards) {
      if (s.kind !== 'services' || s.reverse.length === 0) continue;
      live++;
      const old = this.#indexed.get(s.id);
      if (old === s) continue;
      yield;
      const oldClaims = old !== undefined ? this.#claims.get(old) : undefined;
      let c = this.#claims.get(s);
      if (c === undefined) {
        c = claimsOfServicesShard(s, oldClaims === undefined ? undefined : { shard: old as ServicesShard, claims: oldClaims });
        this.#claims.set(s, c);
      }
      this.#indexed.set(s.id, s);
      if (oldClaims === undefined) { for (const x of c) indexClaim(x); continue; }
      diffClaims(oldClaims, c, unindexClaim, indexClaim);
    }
    // Shards gone (or left without PTRs) since last time: only when there are more than this compile's.
    if (this.#indexed.size > live) {
      const ids = new Set<string>();
      for (const s of shards) if (s.kind === 'services' && s.reverse.length > 0) ids.add(s.id);
      for (const [id, s] of this.#indexed) {
        if (ids.has(id)) continue;
        for (const x of this.#claims.get(s) ?? []) unindexClaim(x);
        this.#indexed.delete(id);
      }
    }
    // The StaticHosts' (and routes') claims: the same as last time while the contributions map
    // and the zones are the same objects (a change to Services only leaves both).
    const lastIn = this.#staticInput;
    if (lastIn === undefined || lastIn.contributions !== contributions || !sameEntries(lastIn.zoneOfShard, zoneOfShard)) {
      const statics = new Map<string, PtrClaim[]>();
      for (const [shardId, contribs] of contributions) {
        const zone = zoneOfShard.get(shardId);
        for (const c of contribs) {
          if (c.reverse.length === 0) continue;
          let memo = this.#staticClaims.get(c);
          if (memo === undefined || memo.zone !== zone) this.#staticClaims.set(c, (memo = { zone, claims: c.reverse.map((p) => this.#staticClaim(c.owner, p.name, p.target, zone)) }));
          for (const x of memo.claims) { const l = statics.get(x.name); if (l) l.push(x); else statics.set(x.name, [x]); }
        }
      }
      // A name's static claims count as changed unless they are the same claim objects as last time.
      for (const [n, l] of this.#lastStatic) { const now = statics.get(n); if (now === undefined || now.length !== l.length || now.some((x, i) => x !== l[i])) dirty.add(n); }
      for (const n of statics.keys()) if (!this.#lastStatic.has(n)) dirty.add(n);
      this.#lastStatic = statics;
      this.#staticInput = { contributions, zoneOfShard };
    }
    const statics = this.#lastStatic;
    const zoneRecords = new Map<string, string>();
    for (const z of zoneOfShard.values()) for (const r of z.records) if (r.name.endsWith('.arpa.')) zoneRecords.set(r.name, `DNSZone ${z.meta.name}`);
    const zoneKey = [...zoneRecords].join('|');
    const names = zoneKey === this.#lastZoneRecords ? dirty : new Set([...this.#index.keys(), ...statics.keys()]);
    this.#lastZoneRecords = zoneKey;
    this.#zoneRecords = zoneRecords;
    const rules = this.#rules;
    const changedNs = new Set<string>();
    let changed = this.#summary === undefined;
    let n = 0;
    for (const name of names) {
      if (++n % STEP_ITEMS === 0) yield;
      const group = [...(this.#index.get(name) ?? []), ...(statics.get(name) ?? [])];
      const r: PtrRefusal[] = [];
      if (group.length) judgeName(name, group, rules, r);
      r.sort((a, b) => byString(a.claim.owner, b.claim.owner) || byString(a.claim.target, b.claim.target));
      const old = this.#refusedAt.get(name) ?? [];
      if (sameRefusals(old, r)) continue;
      changed = true;
      for (const x of [...old, ...r]) if (x.claim.source !== 'static') changedNs.add(x.claim.namespace);
      if (r.length) this.#refusedAt.set(name, r); else this.#refusedAt.delete(name);
    }
    if (changed) this.#summary = this.#summarize(changedNs);
    const { refusals, byNamespace, statics: refused } = this.#summary!;
    for (let i = 0; i < shards.length; i++) {
      const s = shards[i];
      const lost = s.kind === 'services' ? byNamespace.get(s.namespace) : undefined;
      if (lost !== undefined && s.kind === 'services') { shards[i] = this.#filterServices(s, lost); yield; }
    }
    // The contributions without their refused PTRs: the same map as last time while the
    // contributions and the refused set are the same objects.
    const lastOut = this.#lastOut;
    if (lastOut !== undefined && lastOut.contributions === contributions && lastOut.refused === refused) return { contributions: lastOut.out, refusals };
    const out = new Map<string, Contribution[]>();
    let m = 0;
    for (const [shardId, contribs] of contributions) {
      const l: Contribution[] = [];
      for (const c of contribs) {
        if (++m % STEP_ITEMS === 0) yield;
        l.push(this.#withoutRefused(c, refused));
      }
      out.set(shardId, l);
    }
    this.#lastOut = { contributions, refused, out };
    return { contributions: out, refusals };
  }

  /** A contribution without its refused PTRs (itself when it loses none), kept while the refused set is the same object. */
  #withoutRefused(c: Contribution, refused: ReadonlySet<string>): Contribution {
    if (c.reverse.length === 0) return c;
    const memo = this.#kept.get(c);
    if (memo?.refused === refused) return memo.kept;
    const lost = c.reverse.filter((p) => refused.has(claimKey(p.name, p.target, c.owner)));
    const kept = lost.length === 0 ? c : { ...c, ident: c.ident + '#noptr:' + lost.map((p) => p.name).join(','), reverse: c.reverse.filter((p) => !lost.includes(p)) };
    this.#kept.set(c, { refused, kept });
    return kept;
  }

  /** Refusals by owner (sorted), refused Service claim keys by namespace (a namespace not in `changedNs` keeps its Set object, so its filtered shard is reused), refused StaticHost claim keys. */
  #summarize(changedNs: ReadonlySet<string>): Summary {
    const byOwner = new Map<string, PtrRefusal[]>();
    const byNs = new Map<string, Set<string>>();
    const statics = new Set<string>();
    for (const list of this.#refusedAt.values()) {
      for (const r of list) {
        const l = byOwner.get(r.claim.owner);
        if (l) l.push(r); else byOwner.set(r.claim.owner, [r]);
        const key = claimKey(r.claim.name, r.claim.target, r.claim.owner);
        if (r.claim.source === 'static') { statics.add(key); continue; }
        const ns = byNs.get(r.claim.namespace);
        if (ns) ns.add(key); else byNs.set(r.claim.namespace, new Set([key]));
      }
    }
    const prev = this.#summary?.byNamespace;
    const byNamespace = new Map<string, ReadonlySet<string>>();
    for (const [ns, set] of byNs) byNamespace.set(ns, !changedNs.has(ns) && prev?.get(ns) ? prev.get(ns)! : set);
    const order = (a: PtrRefusal, b: PtrRefusal) => byString(a.claim.name, b.claim.name) || byString(a.claim.target, b.claim.target);
    const refusals = new Map([...byOwner.keys()].sort(byString).map((o) => [o, byOwner.get(o)!.sort(order)]));
    return { refusals, byNamespace, statics };
  }

  #staticClaim(owner: string, name: string, target: string, zone: ParsedZone | undefined): PtrClaim {
    const namespace = owner.slice(owner.indexOf(' ') + 1, owner.indexOf('/'));
    let denied: string | undefined;
    if (namespace === this.operatorNamespace) denied = undefined;
    else if (zone === undefined) denied = `only StaticHosts in the operator's namespace ${this.operatorNamespace} may have PTRs outside every DNSZone`;
    else if (zone.delegation.reverseRanges.find(name) === undefined) {
      denied = `no CIDR in spec.delegation.reverseCIDRs of DNSZone ${zone.meta.name} holds ${addr(name)} (a delegated namespace has PTRs only for the addresses its delegation grants)`;
    }
    return ptrClaim(name, target, namespace, owner, 'static', denied);
  }

  #filterServices(s: ServicesShard, refused: ReadonlySet<string>): Shard {
    const memo = this.#filtered.get(s);
    if (memo?.refused === refused) return memo.shard;
    const suffix = `.${s.namespace}.svc.${s.zone}`;
    const reverse = [];
    for (const rs of s.reverse) {
      const data = (rs.data as string[]).filter((t) => {
        const head = t.endsWith(suffix) ? t.slice(0, -suffix.length) : '';
        return !refused.has(claimKey(rs.name, t, `Service ${s.namespace}/${head.slice(head.indexOf('.') + 1)}`));
      });
      if (data.length) reverse.push(data.length === rs.data.length ? rs : { ...rs, data });
    }
    const { hash: _hash, ...rest } = s;
    // Only `reverse` differs: the forward RRsets' JSON is taken from the shard's own, not made again.
    const shard = hashShard({ ...rest, reverse } as Omit<ServicesShard, 'hash'>, { rrsets: shardFieldJson(s, 'rrsets') }) as ServicesShard;
    this.#filtered.set(s, { refused, shard });
    return shard;
  }

}

/** The PartiallyRefused part of an accepted resource's verdict from its refusals (every one listed). */
export function refusedPart(list: readonly PtrRefusal[] | undefined): { refused?: { reason: 'NotPermitted' | 'Conflict'; message: string } } {
  if (!list?.length) return {};
  return { refused: { reason: list.some((r) => r.reason === 'Conflict') ? 'Conflict' : 'NotPermitted', message: list.map((r) => r.message).join('; ') } };
}

