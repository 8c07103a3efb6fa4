// Object metadata stripped from raw Kubernetes JSON, plus label selectors.

import type { ResourceKind } from './types.js';

/** The published objects that are not Services (routes.ts). */
export type RouteKind = 'Ingress' | 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute';

export interface Meta {
  kind: ResourceKind | 'Service' | RouteKind;
  name: string;
  namespace?: string;
  uid?: string;
  generation: number;
  /** RFC 3339 creationTimestamp ("" when absent: sorts first, then by name). */
  created: string;
  /** creationTimestamp in ms; -Infinity when absent (sorts first), +Infinity when unparseable. */
  createdMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** "<namespace>/<name>" or "<name>" for cluster-scoped resources. */
  key: string;
}

export type Raw = Record<string, unknown>;

export const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

export function readMeta(kind: Meta['kind'], raw: Raw): Meta {
  const m = obj(raw.metadata);
  const name = str(m.name) ?? '';
  const namespace = str(m.namespace);
  const gen = m.generation;
  return {
    kind, name, namespace,
    uid: str(m.uid),
    generation: typeof gen === 'number' && Number.isInteger(gen) ? gen : 0,
    created: str(m.creationTimestamp) ?? '',
    createdMs: createdMs(str(m.creationTimestamp)),
    labels: stringMap(m.labels),
    annotations: stringMap(m.annotations),
    key: namespace ? `${namespace}/${name}` : name,
  };
}

/** Age order for conflicts: oldest creationTimestamp first, then namespace/name. */
function createdMs(t: string | undefined): number {
  if (!t) return -Infinity;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? Infinity : ms;
}

export function byAge(a: { meta: Meta }, b: { meta: Meta }): number {
  const ta = a.meta.createdMs, tb = b.meta.createdMs;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.meta.key < b.meta.key ? -1 : a.meta.key > b.meta.key ? 1 : 0;
}

export interface LabelSelector {
  matchLabels: Record<string, string>;
  matchExpressions: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[];
}

export function readSelector(v: unknown, errors: string[], where: string): LabelSelector | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v);
  const sel: LabelSelector = { matchLabels: stringMap(o.matchLabels), matchExpressions: [] };
  for (const e of arr(o.matchExpressions)) {
    const x = obj(e);
    const op = str(x.operator);
    if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') { errors.push(`${where}.matchExpressions: unknown operator ${JSON.stringify(op)}`); continue; }
    const values = arr(x.values).filter((s): s is string => typeof s === 'string');
    if ((op === 'In' || op === 'NotIn') && values.length === 0) errors.push(`${where}.matchExpressions: ${op} needs values`);
    sel.matchExpressions.push({ key: str(x.key) ?? '', operator: op, values });
  }
  return sel;
}

/** Kubernetes label selector semantics; an empty selector matches everything. */
export function matchesSelector(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In': if (!has || !e.values.includes(labels[e.key])) return false; break;
      case 'NotIn': if (has && e.values.includes(labels[e.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}
