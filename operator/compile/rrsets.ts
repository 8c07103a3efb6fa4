// Collecting records into RRsets, then emitting them sorted and canonical: objects are built
// with their keys already in sorted order, so JSON.stringify gives the canonical JSON of
// dns-server/config/hash.ts (a test checks the hash against computeShardHash) at a fraction of
// its cost on a 100,000-endpoint cluster. Each shard is serialised once, by hashShard(), and
// that text is what shardJson() returns to whoever writes the shard out.

import { createHash } from 'node:crypto';
import type { RRSet, RecordType, Shard, UnhashedShard } from '../../dns-server/config/types.js';
import type { RecordData } from './records.js';

interface Bucket { name: string; type: RecordType; ttl: number; data: Map<string, RecordData> }

/** Sort key of one record's data. */
function dataKey(d: RecordData): string {
  if (typeof d === 'string') return d;
  return JSON.stringify(d);
}

/** A sorted-key copy of record data (MX, SRV, CAA objects). */
function sortedData(d: RecordData): RecordData {
  if (typeof d === 'string' || Array.isArray(d)) return d;
  if ('exchange' in d) return { exchange: d.exchange, preference: d.preference };
  if ('target' in d) return { port: d.port, priority: d.priority, target: d.target, weight: d.weight };
  return { flags: d.flags, tag: d.tag, value: d.value };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class RRSetBag {
  private readonly buckets = new Map<string, Bucket>();

  /** Adds records; the TTL of an RRset is its lowest record TTL (RFC 2181 §5.2). */
  add(name: string, type: RecordType, ttl: number, data: RecordData): void {
    const key = name + ' ' + type;
    let b = this.buckets.get(key);
    if (b === undefined) this.buckets.set(key, (b = { name, type, ttl, data: new Map() }));
    else if (ttl < b.ttl) b.ttl = ttl;
    b.data.set(dataKey(data), data);
  }

  has(name: string, type: RecordType): boolean {
    return this.buckets.has(name + ' ' + type);
  }

  /** The RRsets sorted by name then type, data sorted, keys in canonical order. */
  toRRSets(): RRSet[] {
    const list = [...this.buckets.values()].sort((a, b) => cmp(a.name, b.name) || cmp(a.type, b.type));
    // Built by push (lists.ts): the RRset lists and their data stay packed arrays whichever tier runs this.
    const out: RRSet[] = [];
    for (const b of list) {
      const keys = [...b.data.keys()].sort(cmp);
      const data: RecordData[] = [];
      for (const k of keys) data.push(sortedData(b.data.get(k)!));
      out.push({ data, name: b.name, ttl: b.ttl, type: b.type } as RRSet);
    }
    return out;
  }
}

/** An RRset list sorted by name then type, as toRRSets() sorts it. */
export const byNameType = (a: RRSet, b: RRSet): number => cmp(a.name, b.name) || cmp(a.type, b.type);

/** The canonical JSON of each shard hashShard() made, kept until the shard object is collected. */
const jsonOfShard = new WeakMap<object, string>();
/** Where each top-level field's value lies in that JSON (start, end). */
const fieldsOfShard = new WeakMap<object, Record<string, [number, number]>>();

/**
 * Sets the hash of a shard whose objects all have sorted keys (see the header), serialising it
 * once: the canonical JSON is hashed, then kept (with the hash) for shardJson(). `pre` holds
 * top-level fields the caller has already serialised (JSON.stringify of that field's value).
 */
export function hashShard<S extends UnhashedShard>(shard: S, pre: Partial<Record<keyof S & string, string>> = {}): S & { hash: string } {
  const top = shard as unknown as Record<string, unknown>;
  const given = pre as Record<string, string | undefined>;
  const ordered: Record<string, unknown> = {};
  const at: Record<string, [number, number]> = {};
  // Hashed piece by piece as it is built: the text is joined (a rope) and flattened only once,
  // when it is written out, not also for the hash (a second copy of a 350 KB Services shard).
  const h = createHash('sha256').update('{');
  let json = '{';
  for (const k of Object.keys(top).sort(cmp)) {
    if (top[k] === undefined) continue;
    ordered[k] = top[k];
    const value = given[k] ?? JSON.stringify(top[k]);
    const key = (json.length > 1 ? ',' : '') + JSON.stringify(k) + ':';
    h.update(key).update(value);
    json += key;
    at[k] = [json.length, json.length + value.length];
    json += value;
  }
  const hash = h.update('}').digest('hex');
  ordered.hash = hash;
  jsonOfShard.set(ordered, json + ',"hash":"' + hash + '"}');
  fieldsOfShard.set(ordered, at);
  return ordered as unknown as S & { hash: string };
}

/** The JSON of one top-level field of a shard hashShard() made (for hashShard's `pre`: a field not serialised again); undefined for another shard. */
export function shardFieldJson(shard: object, key: string): string | undefined {
  const at = fieldsOfShard.get(shard)?.[key];
  return at === undefined ? undefined : jsonOfShard.get(shard)!.slice(at[0], at[1]);
}

/** JSON.stringify(shard), without serialising again a shard compile() made. */
export function shardJson(shard: object): string {
  return jsonOfShard.get(shard) ?? JSON.stringify(shard);
}

/** Rebuilds a value with sorted keys at every depth (for the small, rarely built shards). */
export function sortKeys<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortKeys) as T;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(obj).sort(cmp)) if (obj[k] !== undefined) out[k] = sortKeys(obj[k]);
  return out as T;
}

export type { Shard };
