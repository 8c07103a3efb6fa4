// Applying configuration: validate each incoming shard, build tables only for the shards whose
// hash changed, then publish a new Tables object with one assignment. A refused shard is
// logged once (per id and hash), counted, and its last good version keeps serving.
// The reverse index is the exception: updated in place, shard by shard (tables/reverse.ts says
// why that is safe), at the swap. apply() runs to completion synchronously.
// Deferred mode (worker threads, workers.ts): apply() builds the new Tables but holds them; the
// swap (reverse updates included) happens at commit(), which the primary triggers for every
// worker at once after all have built (ADR 0010).

import type { Logger } from 'pino';
import type { ForwardersShard, RRSet, Shard } from './config/types.js';
import type { Validator } from './config/validate.js';
import type { Fallback } from './fallback.js';
import type { ServerMetrics } from './metrics.js';
import { buildHostsTable, buildServicesTable, buildZoneTable } from './tables/build.js';
import { ReverseIndex } from './tables/reverse.js';
import type { ServicesTable, ShardTable, Tables, ZoneTable } from './tables/types.js';

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

interface Held {
  table: ShardTable;
  reverse: RRSet[];
  forwarders?: ForwardersShard;
}

/** An update whose shards were already validated (by the primary thread, workers.ts). */
export type ValidatedUpdate =
  | { form: 'bundle'; shards: Shard[]; /** ids refused by the validator: kept at their last good version */ keep: string[] }
  | { form: 'shards'; shards: Shard[]; removed: string[] };

interface ReverseChange { id: string; before: readonly RRSet[]; after: readonly RRSet[] }

export class ShardStore {
  private held = new Map<string, Held>();
  /** Deferred mode: the built tables and reverse changes waiting for commit(). */
  private pending: { tables: Tables; reverse: ReverseChange[] } | undefined;
  private committed = false;
  private readonly reverse = new ReverseIndex();
  private readonly refusedSeen = new Set<string>();
  private generation = 0;
  private everApplied = false;

  /**
   * @param validator config/validate.ts's VALIDATOR, for applyBundle and applyShards; passed in
   *   (not imported) so that a worker thread, which takes validated updates only, never loads ajv
   * @param deferred worker threads: an applied update waits for commit() (see the file comment)
   */
  constructor(
    private readonly state: { tables: Tables; fallback: Fallback | undefined },
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly validator: Validator | undefined,
    private readonly deferred = false,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private validate(): Validator {
    if (this.validator === undefined) throw new Error('this shard store takes validated updates only (applyValidated)');
    return this.validator;
  }

  /** True once at least one configuration has been applied (even an empty one); deferred: committed. */
  get loaded(): boolean {
    return this.deferred ? this.committed : this.everApplied;
  }

  /** Shards validated elsewhere (the primary thread): applied without validating again. */
  applyValidated(u: ValidatedUpdate): ReloadReport {
    if (u.form === 'shards') return this.apply(u.shards, u.removed, []);
    const present = new Set<string>([...u.shards.map((s) => s.id), ...u.keep]);
    return this.apply(u.shards, [...this.held.keys()].filter((id) => !present.has(id)), []);
  }

  /** Deferred mode: swaps in the tables the last apply() built (no-op when none wait). */
  commit(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    for (const c of p.reverse) this.reverse.update(c.id, c.before, c.after);
    this.state.tables = p.tables;
    this.committed = true;
  }

  /** The whole configuration: shards missing from the bundle are removed. */
  applyBundle(bundle: unknown): ReloadReport {
    const v = this.validate().bundle(bundle);
    const envelope = v.refused.find((r) => r.id === '(bundle)');
    if (envelope) {
      this.refuse(envelope.id, 'bundle', envelope.errors);
      this.metrics.reloads.inc({ result: 'failed' });
      return { applied: [], unchanged: [], removed: [], refused: v.refused };
    }
    const present = new Set<string>([...v.shards.map((s) => s.id), ...v.refused.map((r) => r.id)]);
    const removed = [...this.held.keys()].filter((id) => !present.has(id));
    return this.apply(v.shards, removed, v.refused);
  }

  /** Some shards changed or were added, some removed (the ConfigMap source). */
  applyShards(changed: unknown[], removedIds: string[]): ReloadReport {
    const good: Shard[] = [];
    const refused: { id: string; errors: string[] }[] = [];
    for (const raw of changed) {
      const held = this.held.get((raw as { id?: string })?.id ?? '');
      if (held && (raw as { hash?: string }).hash === held.table.hash) { good.push(raw as Shard); continue; }
      const r = this.validate().shard(raw);
      if (r.ok) good.push(r.shard);
      else refused.push({ id: r.id, errors: r.errors });
    }
    return this.apply(good, removedIds, refused);
  }

  private refuse(id: string, hash: string, errors: string[]): void {
    this.metrics.shardReloadFailures.inc({ shard: id });
    const k = id + '@' + hash;
    if (this.refusedSeen.has(k)) return;
    this.refusedSeen.add(k);
    this.log.error({ shard: id, hash, errors }, 'shard refused; its last good version keeps serving');
  }

  private apply(shards: Shard[], removedIds: string[], refused: { id: string; errors: string[] }[]): ReloadReport {
    const started = performance.now();
    this.commit(); // deferred: an uncommitted version is superseded only after its own swap (the primary waits, so this is a safeguard)
    for (const r of refused) this.refuse(r.id, (shards.find((s) => s.id === r.id)?.hash) ?? 'invalid', r.errors);
    const report: ReloadReport = { applied: [], unchanged: [], removed: [], refused };
    const since = this.clock().toISOString();
    const next = new Map(this.held);
    const reverse: ReverseChange[] = [];
    let forwardersChanged = false;
    for (const shard of shards) {
      const old = next.get(shard.id);
      if (old && old.table.hash === shard.hash) { report.unchanged.push(shard.id); continue; }
      if (old && old.table.kind !== shard.kind) {
        this.refuse(shard.id, shard.hash, [`${shard.id}: kind changed from ${old.table.kind} to ${shard.kind}`]);
        report.refused.push({ id: shard.id, errors: ['kind changed'] });
        continue;
      }
      let held: Held;
      try {
        held = this.build(shard, since);
      } catch (err) {
        this.refuse(shard.id, shard.hash, [`${shard.id}: ${(err as Error).message}`]);
        report.refused.push({ id: shard.id, errors: [(err as Error).message] });
        continue;
      }
      reverse.push({ id: shard.id, before: old?.reverse ?? [], after: held.reverse });
      next.set(shard.id, held);
      report.applied.push(shard.id);
      if (shard.kind === 'forwarders') forwardersChanged = true;
    }
    for (const id of removedIds) {
      const old = next.get(id);
      if (!old) continue;
      reverse.push({ id, before: old.reverse, after: [] });
      next.delete(id);
      report.removed.push(id);
      if (old.table.kind === 'forwarders') forwardersChanged = true;
    }
    this.held = next;
    this.everApplied = true;
    if (report.applied.length || report.removed.length || this.generation === 0) this.publish(reverse);
    if (forwardersChanged) {
      const fw = [...next.values()].find((h) => h.forwarders)?.forwarders;
      this.state.fallback?.applyForwarders(fw);
    }
    const secs = (performance.now() - started) / 1000;
    this.metrics.reloadDuration.observe(secs);
    // ok: nothing refused; partial: some refused, others applied or still current; failed: nothing accepted.
    const accepted = report.applied.length + report.unchanged.length + report.removed.length;
    const result = report.refused.length === 0 ? 'ok' : accepted > 0 ? 'partial' : 'failed';
    this.metrics.reloads.inc({ result });
    if (report.applied.length || report.removed.length || report.refused.length) {
      this.log.info({ applied: report.applied.length, removed: report.removed.length, refused: report.refused.length, unchanged: report.unchanged.length, ms: Math.round(secs * 1e4) / 10 }, 'configuration applied');
    }
    return report;
  }

  private build(shard: Shard, since: string): Held {
    switch (shard.kind) {
      case 'zone': return { table: buildZoneTable(shard, since), reverse: shard.reverse };
      case 'services': return { table: buildServicesTable(shard, since), reverse: shard.reverse };
      case 'hosts': return { table: buildHostsTable(shard, since), reverse: shard.reverse };
      case 'forwarders': return { table: { kind: 'forwarders', shardId: shard.id, hash: shard.hash, since }, reverse: shard.reverse, forwarders: shard };
    }
  }

  private publish(reverse: ReverseChange[]): void {
    const zones = new Map<string, ZoneTable>();
    const services = new Map<string, ServicesTable>();
    const shards = new Map<string, ShardTable>();
    let hosts: Tables['hosts'];
    for (const [id, h] of this.held) {
      shards.set(id, h.table);
      const t = h.table;
      if (t.kind === 'zone') zones.set(t.originKey, t);
      else if (t.kind === 'services') services.set(t.zoneKey + '|' + t.namespace, t);
      else if (t.kind === 'hosts') hosts = t;
    }
    this.generation++;
    const tables = { zones, services, hosts, reverse: this.reverse, shards, generation: this.generation };
    if (this.deferred) this.pending = { tables, reverse };
    else {
      for (const c of reverse) this.reverse.update(c.id, c.before, c.after);
      this.state.tables = tables; // the swap
    }
    this.metrics.setConfig([...shards.values()].map((s) => ({ id: s.shardId, hash: s.hash })));
  }

  servedShards(): ServedShard[] {
    return [...this.held.values()].map((h) => ({ id: h.table.shardId, kind: h.table.kind, hash: h.table.hash, since: h.table.since })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}

