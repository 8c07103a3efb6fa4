// Verdicts and conditions in the Kubernetes convention. compile() decides Accepted; Programmed
// stays Unknown (Pending) until the operator has seen every ready DNS server serve the
// resource's shards; Ready summarises both. Conditions carry no lastTransitionTime: compile
// reads no clock, and the times belong to whoever writes the status (operator/controller's
// status writer), which knows what was written before.

import type { Meta } from './meta.js';
import { mapped } from './lists.js';
import { byString } from './names.js';
import type { Condition, ConditionStatus, ResourceResult } from './types.js';

/** Condition type present (status True) while part of an accepted resource is not served; reason NotPermitted or Conflict. */
export const PARTIALLY_REFUSED = 'PartiallyRefused';

export type Verdict =
  | { accepted: true; message: string; /** Served, but part of it is not (refused PTRs, records the cluster owns): condition PartiallyRefused. */ refused?: { reason: 'NotPermitted' | 'Conflict'; message: string } }
  | { accepted: false; reason: 'InvalidSpec' | 'NotPermitted' | 'Conflict'; message: string };

type Rejected = Extract<Verdict, { accepted: false }>;

/** One resource's decision, as remembered between compiles (status memo). */
export interface Decided { verdict: Verdict | undefined; shardIds: string[] | undefined; figures: Record<string, unknown> | undefined }

/** Same items (by identity) in the same order? */
export function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Figures are flat records of numbers and strings. */
function sameFigures(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}

/** What one compile decided about each custom resource (filled by the phases, read by buildStatuses). */
export class Verdicts {
  /**
   * One record per resource (one map, not one per field: at 1,000 StaticHosts the maps a compile
   * fills are most of its garbage). A record is never changed once set, so a decision replayed
   * from a memo (`replay`) is the memo's own object, which `same()` recognises by identity.
   */
  readonly #decided = new Map<Meta, Decided>();
  /** Decisions replayed as a whole from a memo (replayAll): read after #decided, never changed. */
  #replayed: ReadonlyMap<Meta, Decided> | undefined;

  reject(m: Meta, reason: Extract<Verdict, { accepted: false }>['reason'], message: string): void {
    this.#decided.set(m, rejected(reason, message));
  }

  /** `refused`: part of the resource is not served (condition PartiallyRefused). */
  accept(m: Meta, message: string, shardIds: string[], figures: Record<string, unknown>, refused?: Extract<Verdict, { accepted: true }>['refused']): void {
    this.#decided.set(m, accepted(message, shardIds, figures, refused));
  }

  /** Sets a decision made by accepted() or rejected() (a memo's, kept between compiles: not copied). */
  replay(m: Meta, d: Decided): void {
    this.#decided.set(m, d);
  }

  /**
   * Sets every decision of `all`, a memo's map kept between compiles, without copying it (1,000
   * StaticHosts' decisions every compile were a Map of 1,000 entries of garbage). Only for
   * resources not decided yet (the caller's part: judgeStaticHosts replays the undecided ones):
   * the first call keeps `all` behind the decisions already made, which would shadow it, unlike
   * replay(). A decision made afterwards wins, as with replay().
   */
  replayAll(all: ReadonlyMap<Meta, Decided>): void {
    if (this.#replayed === undefined) this.#replayed = all;
    else for (const [m, d] of all) this.#decided.set(m, d);
  }

  #lookup(m: Meta): Decided | undefined {
    return this.#decided.get(m) ?? this.#replayed?.get(m);
  }

  has(m: Meta): boolean {
    return this.#lookup(m) !== undefined;
  }

  get(m: Meta): Verdict | undefined {
    return this.#lookup(m)?.verdict;
  }

  /** Whether `m` was decided exactly as `prev` says (verdict, shard ids, figures): its result would be the same. */
  same(m: Meta, prev: Decided | undefined): boolean {
    if (prev === undefined) return false;
    const d = this.#lookup(m);
    if (d === prev) return true;
    const v = d?.verdict, p = prev.verdict;
    if (v === undefined || p === undefined || v.accepted !== p.accepted || v.message !== p.message) return false;
    if (!v.accepted || !p.accepted) return (v as Rejected).reason === (p as Rejected).reason;
    if (v.refused?.reason !== p.refused?.reason || v.refused?.message !== p.refused?.message) return false;
    return sameList(d!.shardIds, prev.shardIds) && sameFigures(d!.figures, prev.figures);
  }

  /** What `same()` compares, as decided now. */
  decided(m: Meta): Decided {
    return this.#lookup(m) ?? UNDECIDED;
  }

  /** The status and shard ids of a resource (an undecided one reads as not compiled). */
  result(m: Meta): { status: ResourceResult['status']; shardIds: string[] } {
    const d = this.#lookup(m);
    const v = d?.verdict ?? { accepted: false as const, reason: 'InvalidSpec' as const, message: 'not compiled' };
    return {
      status: { observedGeneration: m.generation, conditions: buildConditions(m, v), ...(v.accepted ? d!.figures : {}) },
      shardIds: v.accepted ? d!.shardIds ?? [] : [],
    };
  }
}

const UNDECIDED: Decided = { verdict: undefined, shardIds: undefined, figures: undefined };

/** An accepted resource's decision (for Verdicts.replay; `refused`: condition PartiallyRefused). */
export function accepted(message: string, shardIds: string[], figures: Record<string, unknown>, refused?: Extract<Verdict, { accepted: true }>['refused']): Decided {
  return { verdict: refused ? { accepted: true, message, refused } : { accepted: true, message }, shardIds, figures };
}

/** A refused resource's decision (for Verdicts.replay). */
export function rejected(reason: Rejected['reason'], message: string): Decided {
  return { verdict: { accepted: false, reason, message }, shardIds: undefined, figures: undefined };
}

function condition(meta: Meta, type: string, status: ConditionStatus, reason: string, message: string): Condition {
  return { message, observedGeneration: meta.generation, reason, status, type };
}

function buildConditions(meta: Meta, v: Verdict): Condition[] {
  if (v.accepted) {
    const out = [
      condition(meta, 'Accepted', 'True', 'Accepted', v.message),
      condition(meta, 'Programmed', 'Unknown', 'Pending', 'Waiting for every ready DNS server to serve the generated configuration'),
      condition(meta, 'Ready', 'Unknown', 'Pending', 'Accepted; not yet confirmed served by the DNS servers'),
    ];
    if (v.refused) out.push(condition(meta, PARTIALLY_REFUSED, 'True', v.refused.reason, v.refused.message));
    return out;
  }
  return [
    condition(meta, 'Accepted', 'False', v.reason, v.message),
    condition(meta, 'Programmed', 'False', 'NotAccepted', 'Not served: the resource is not accepted'),
    condition(meta, 'Ready', 'False', v.reason, v.message),
  ];
}

/**
 * Statuses phase: one result per custom resource, sorted by kind, namespace, name. With `memo`
 * (the compile cache's), a resource decided as last time (same parsed object, same verdict,
 * shard ids and figures) gets the same result object again, so a caller can skip it by identity (the operator's
 * status diff does).
 */
export function buildStatuses(
  metas: readonly Meta[], verdicts: Verdicts, memo?: WeakMap<Meta, { decided: Decided; result: ResourceResult }>,
  last?: { statusesRun?: { results: ResourceResult[]; sorted: ResourceResult[] } },
): ResourceResult[] {
  // mapped(), not metas.map(): the list sameList() compares stays packed (lists.ts).
  const resources = mapped(metas, (m): ResourceResult => {
    const prev = memo?.get(m);
    if (prev !== undefined && verdicts.same(m, prev.decided)) return prev.result;
    const { status, shardIds } = verdicts.result(m);
    const r: ResourceResult = { kind: m.kind as ResourceResult['kind'], name: m.name, generation: m.generation, status, shardIds };
    if (m.namespace !== undefined) r.namespace = m.namespace;
    if (m.uid !== undefined) r.uid = m.uid;
    memo?.set(m, { decided: verdicts.decided(m), result: r });
    return r;
  });
  // The same result objects in the same order as last time: last time's sorted list (a copy).
  const run = last?.statusesRun;
  if (run !== undefined && sameList(run.results, resources)) return run.sorted.slice();
  const sorted = resources.slice().sort((a, b) => byString(a.kind, b.kind) || byString(a.namespace ?? '', b.namespace ?? '') || byString(a.name, b.name));
  if (last) last.statusesRun = { results: resources, sorted };
  return sorted.slice();
}
