// Applying configuration: validate each incoming shard, build slabs (tables/slab.ts: the name
// data in shared memory) only for the shards whose hash changed and the reverse index's next
// slabs, wrap them in tables, then publish a new Tables object with one assignment. A refused
// shard is logged once (per id and hash), counted, and its last good version keeps serving. The
// reverse index object stays; its slabs are swapped (and the touched names' prepared answers
// dropped) at the swap. apply() runs to completion synchronously.
// The built slabs come back as a BuiltUpdate: worker threads take that (applyBuilt: wrap, no
// validation, no building; ADR 0010). Deferred mode (worker threads, workers.ts): an update is
// wrapped but held; the swap (reverse included) happens at commit(), which the primary triggers
// for every worker at once after all have built.

import type { Logger } from 'pino';
import { takeHashedText } from './config/hash.js';
import { keepShapes } from './config/parsed-shapes.js';
import type { Shard } from './config/types.js';
import type { Validator } from './config/validate.js';
import type { Fallback } from './fallback.js';
import { collectGarbageSoon } from './heap.js';
import type { ServerMetrics } from './metrics.js';
import { buildShardSlab, reverseTextOf, tableFromSlab } from './tables/build.js';
import { buildReverseSlabs, hasBefore, ReverseIndex } from './tables/reverse.js';
import type { ReverseChange, ReverseUpdate } from './tables/reverse.js';
import { slabBytes } from './tables/slab.js';
import type { HostsTable, ServicesTable, ShardTable, Tables, ZoneTable } from './tables/types.js';

export interface ReloadReport {
  applied: string[];
  unchanged: string[];
  removed: string[];
  refused: { id: string; errors: string[] }[];
}

export interface ServedShard {
  id: string;
  kind: string;
  hash: string;
  since: string;
}

/** One shard version's slab, as built by the main thread. */
export interface BuiltShard { id: string; slab: SharedArrayBuffer; since: string }

/**
 * An update as built by the main thread, for the worker threads: the changed shards' slabs, the
 * removed ids, the next reverse slab; `full`: the whole set (a restarted worker), so any held
 * shard not in it goes. Posting it copies no table (SharedArrayBuffers are shared).
 */
export interface BuiltUpdate { shards: BuiltShard[]; removed: string[]; reverse: ReverseUpdate | undefined; full: boolean }

/** What applying an update did, and its slabs for the other threads. */
export interface Applied { report: ReloadReport; built: BuiltUpdate }

/** An update whose shards were already validated (by the primary thread, workers.ts). */
export type ValidatedUpdate = (
  | { form: 'bundle'; shards: Shard[]; /** ids refused by the validator: kept at their last good version */ keep: string[] }
  | { form: 'shards'; shards: Shard[]; removed: string[] }
) & { decided?: Decided };

/**
 * What the primary decided before the build (workers.ts): shards it refused (invalid, or a kind
 * change) and shards it found unchanged, none of them handed in. The store counts and logs those
 * refusals, and reports the reload's result, as apply() does for its own, so that
 * `splitdns_dns_shard_reload_failures_total` and `splitdns_dns_reloads_total` read the same with
 * `--workers` as without.
 */
export interface Decided {
  /** `errors`: as reported; `detail`: as logged (a kind change reports 'kind changed' and logs which kinds). */
  refused: { id: string; hash: string; errors: string[]; detail: string[] }[];
  unchanged: string[];
}

/** The slab bytes an update builds from which it counts as a large load (ShardStore.apply). */
export const LARGE_LOAD_BYTES = 2 * 1048576;

export class ShardStore {
  /** The shards' tables; each one's slab carries its reverse RRsets (its aux blob, tables/build.ts reverseOf). */
  private held = new Map<string, ShardTable>();
  /** The held zone and services tables by their lookup keys, and the hosts table (as last published: publish()). */
  private zones = new Map<string, ZoneTable>();
  private services = new Map<string, ServicesTable>();
  private hosts: HostsTable | undefined;
  /** Deferred mode: the built tables and reverse changes waiting for commit(). */
  private pending: { tables: Tables; reverse: ReverseUpdate | undefined } | undefined;
  private committed = false;
  private readonly reverse = new ReverseIndex();
  private readonly refusedSeen = new Set<string>();
  private generation = 0;
  private everApplied = false;

  /**
   * @param validator config/validate.ts's VALIDATOR, for applyBundle and applyShards; passed in
   *   (not imported) so that a worker thread, which takes validated updates only, never loads ajv
   * @param deferred worker threads: an applied update waits for commit() (see the file comment)
   * @param afterLargeLoad called after an update that built LARGE_LOAD_BYTES of slabs or more
   *   (default: heap.ts collectGarbageSoon)
   */
  constructor(
    private readonly state: { tables: Tables; fallback: Fallback | undefined },
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly validator: Validator | undefined,
    private readonly deferred = false,
    private readonly clock: () => Date = () => new Date(),
    private readonly afterLargeLoad: () => void = collectGarbageSoon,
  ) {}

  private validate(): Validator {
    if (this.validator === undefined) throw new Error('this shard store takes validated updates only (applyValidated)');
    return this.validator;
  }

  /** True once at least one configuration has been applied (even an empty one); deferred: committed. */
  get loaded(): boolean {
    return this.deferred ? this.committed : this.everApplied;
  }

  /** Shards validated elsewhere (the primary thread): applied without validating again; their slabs for the other threads. */
  applyValidated(u: ValidatedUpdate): Applied {
    if (u.form === 'shards') return this.apply(u.shards, u.removed, [], u.decided);
    const present = new Set<string>([...u.shards.map((s) => s.id), ...u.keep]);
    return this.apply(u.shards, [...this.held.keys()].filter((id) => !present.has(id)), [], u.decided);
  }

  /** A bundle refused whole (its envelope): nothing changes; counted and logged. */
  refuseBundle(errors: string[]): void {
    this.refuse('(bundle)', 'bundle', errors);
    this.metrics.reloads.inc({ result: 'failed' });
  }

  /** Slabs the main thread built (a worker thread): wrapped, nothing validated or built again. */
  applyBuilt(u: BuiltUpdate): ReloadReport {
    const started = performance.now();
    this.commit(); // as apply()
    let removed = u.removed;
    if (u.full) {
      const present = new Set(u.shards.map((s) => s.id));
      removed = [...this.held.keys()].filter((id) => !present.has(id));
    }
    const report = this.install({ ...u, removed }, []);
    this.finish(report, started);
    return report;
  }

  /** Deferred mode: swaps in the tables the last apply() built (no-op when none wait). */
  commit(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    if (p.reverse !== undefined) this.reverse.swap(p.reverse);
    this.state.tables = p.tables;
    this.committed = true;
  }

  /** The whole configuration: shards missing from the bundle are removed. */
  applyBundle(bundle: unknown): ReloadReport {
    const v = this.validate().bundle(bundle, (id, hash) => this.held.get(id)?.hash === hash);
    const envelope = v.refused.find((r) => r.id === '(bundle)');
    if (envelope) {
      this.refuseBundle(envelope.errors);
      return { applied: [], unchanged: [], removed: [], refused: v.refused };
    }
    const present = new Set<string>([...v.shards.map((s) => s.id), ...v.refused.map((r) => r.id)]);
    const removed = [...this.held.keys()].filter((id) => !present.has(id));
    return this.apply(v.shards, removed, v.refused).report;
  }

  /** Some shards changed or were added, some removed (the ConfigMap source). */
  applyShards(changed: unknown[], removedIds: string[]): ReloadReport {
    const good: Shard[] = [];
    const refused: { id: string; errors: string[] }[] = [];
    for (const raw of changed) {
      const held = this.held.get((raw as { id?: string })?.id ?? '');
      if (held && (raw as { hash?: string }).hash === held.hash) { good.push(raw as Shard); continue; }
      const r = this.validate().shard(raw);
      if (r.ok) good.push(r.shard);
      else refused.push({ id: r.id, errors: r.errors });
    }
    return this.apply(good, removedIds, refused).report;
  }

  private refuse(id: string, hash: string, errors: string[]): void {
    this.metrics.shardReloadFailures.inc({ shard: id });
    const k = id + '@' + hash;
    if (this.refusedSeen.has(k)) return;
    this.refusedSeen.add(k);
    this.log.error({ shard: id, hash, errors }, 'shard refused; its last good version keeps serving');
  }

  private apply(shards: Shard[], removedIds: string[], refused: { id: string; errors: string[] }[], decided?: Decided): Applied {
    const started = performance.now();
    this.commit(); // deferred: an uncommitted version is superseded only after its own swap (the primary waits, so this is a safeguard)
    for (const r of refused) this.refuse(r.id, (shards.find((s) => s.id === r.id)?.hash) ?? 'invalid', r.errors);
    if (decided) {
      for (const r of decided.refused) this.refuse(r.id, r.hash, r.detail);
      refused.push(...decided.refused.map(({ id, errors }) => ({ id, errors })));
    }
    const since = this.clock().toISOString();
    const built: BuiltUpdate = { shards: [], removed: [], reverse: undefined, full: false };
    const reverse: ReverseChange[] = [];
    const unchanged: string[] = [];
    const building = new Set<string>();
    const shaped = new Set<string>();
    for (const shard of shards) {
      const old = this.held.get(shard.id);
      if ((old && old.hash === shard.hash) || building.has(shard.id)) { unchanged.push(shard.id); continue; }
      if (old && old.kind !== shard.kind) {
        this.refuse(shard.id, shard.hash, [`${shard.id}: kind changed from ${old.kind} to ${shard.kind}`]);
        refused.push({ id: shard.id, errors: ['kind changed'] });
        continue;
      }
      let slab: SharedArrayBuffer;
      const texts: { reverseText?: string } = {};
      try {
        slab = buildShardSlab(shard, takeHashedText(shard), texts);
      } catch (err) {
        this.refuse(shard.id, shard.hash, [`${shard.id}: ${(err as Error).message}`]);
        refused.push({ id: shard.id, errors: [(err as Error).message] });
        continue;
      }
      if (!shaped.has(shard.kind)) { shaped.add(shard.kind); keepShapes(shard); } // (one per kind: a full load walks no list twice)
      building.add(shard.id);
      // The old reverse list as its text, diffed as text against the new one's where it was found (tables/reverse.ts dirtyByText).
      reverse.push({ id: shard.id, before: old ? reverseTextOf(old.slab) : [], after: shard.reverse, afterText: texts.reverseText });
      built.shards.push({ id: shard.id, slab, since });
    }
    for (const id of removedIds) {
      const old = this.held.get(id);
      if (!old || building.has(id)) continue;
      reverse.push({ id, before: reverseTextOf(old.slab), after: [] });
      built.removed.push(id);
    }
    if (reverse.some((c) => hasBefore(c) || c.after.length > 0)) built.reverse = buildReverseSlabs(this.reverse.slabs, reverse);
    const report = this.install(built, refused);
    report.unchanged = decided ? [...decided.unchanged, ...unchanged] : unchanged;
    this.finish(report, started);
    // A large load leaves its input behind as garbage that V8 may not collect for a long time
    // (heap.ts): one collection after it. One changed shard (~200 KB of slab) stays below this;
    // a namespace large enough to pass it, changing often, gets collections paced (heap.ts).
    let bytes = 0;
    for (const b of built.shards) bytes += slabBytes(b.slab); // not its answer arena (untouched pages)
    if (bytes >= LARGE_LOAD_BYTES) this.afterLargeLoad();
    return { report, built };
  }

  /** Wraps the slabs of an update in tables and publishes them (or holds them, deferred). */
  private install(u: BuiltUpdate, refused: { id: string; errors: string[] }[]): ReloadReport {
    const report: ReloadReport = { applied: [], unchanged: [], removed: [], refused };
    const next = new Map(this.held);
    const added: ShardTable[] = [];
    const gone: ShardTable[] = [];
    let forwardersChanged = false;
    for (const b of u.shards) {
      const table = tableFromSlab(b.slab, b.since);
      const old = next.get(b.id);
      if (old) gone.push(old);
      next.set(b.id, table);
      added.push(table);
      report.applied.push(b.id);
      if (table.kind === 'forwarders') forwardersChanged = true;
    }
    for (const id of u.removed) {
      const old = next.get(id);
      if (!old) continue;
      next.delete(id);
      gone.push(old);
      report.removed.push(id);
      if (old.kind === 'forwarders') forwardersChanged = true;
    }
    this.held = next;
    this.everApplied = true;
    if (report.applied.length || report.removed.length || this.generation === 0) this.publish(u.reverse, added, gone);
    if (forwardersChanged) {
      const fw = [...next.values()].find((t) => t.kind === 'forwarders');
      this.state.fallback?.applyForwarders(fw?.kind === 'forwarders' ? fw.forwarders : undefined);
    }
    return report;
  }

  private finish(report: ReloadReport, started: number): void {
    const secs = (performance.now() - started) / 1000;
    this.metrics.reloadDuration.observe(secs);
    // ok: nothing refused; partial: some refused, others applied or still current; failed: nothing accepted.
    const accepted = report.applied.length + report.unchanged.length + report.removed.length;
    const result = report.refused.length === 0 ? 'ok' : accepted > 0 ? 'partial' : 'failed';
    this.metrics.reloads.inc({ result });
    if (report.applied.length || report.removed.length || report.refused.length) {
      this.log.info({ applied: report.applied.length, removed: report.removed.length, refused: report.refused.length, unchanged: report.unchanged.length, ms: Math.round(secs * 1e4) / 10 }, 'configuration applied');
    }
  }

  /**
   * Publishes the held tables (`added`: the tables this update made; `gone`: those it replaced or
   * removed). The maps of a published Tables are never changed: the zones' and the services' are
   * copied when an update touches them, `shards` is the held map (itself replaced, not changed,
   * by each update).
   */
  private publish(reverse: ReverseUpdate | undefined, added: readonly ShardTable[], gone: readonly ShardTable[]): void {
    let zones = this.zones;
    let services = this.services;
    const zonesOf = () => (zones === this.zones ? (zones = new Map(zones)) : zones);
    const servicesOf = () => (services === this.services ? (services = new Map(services)) : services);
    for (const t of gone) {
      if (t.kind === 'zone') zonesOf().delete(t.originKey);
      else if (t.kind === 'services') servicesOf().delete(t.zoneKey + '|' + t.namespace);
      else if (t.kind === 'hosts') this.hosts = undefined;
    }
    for (const t of added) {
      if (t.kind === 'zone') zonesOf().set(t.originKey, t);
      else if (t.kind === 'services') servicesOf().set(t.zoneKey + '|' + t.namespace, t);
      else if (t.kind === 'hosts') this.hosts = t;
    }
    this.zones = zones;
    this.services = services;
    const shards = this.held;
    const hosts = this.hosts;
    this.generation++;
    const tables = { zones, services, hosts, reverse: this.reverse, shards, generation: this.generation };
    if (this.deferred) this.pending = { tables, reverse };
    else {
      if (reverse !== undefined) this.reverse.swap(reverse);
      this.state.tables = tables; // the swap
    }
    this.metrics.setConfig([...shards.values()].map((s) => ({ id: s.shardId, hash: s.hash })));
  }

  servedShards(): ServedShard[] {
    return [...this.held.values()].map((t) => ({ id: t.shardId, kind: t.kind, hash: t.hash, since: t.since })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

