// Collecting records into RRsets, then emitting them sorted and canonical: objects are built
// with their keys already in sorted order, so JSON.stringify gives the canonical JSON of
// dns-server/config/hash.ts (a test checks the hash against computeShardHash) at a fraction of
// its cost on a 100,000-endpoint cluster. Each shard is serialised once, by hashShard(), and
// that text is what shardJson() returns to whoever writes the shard out; a patched shard copies
// the text of what it kept from its predecessor's (cluster-services.ts spliceJson).

import { createHash } from 'node:crypto';
import { rememberShardText } from '../../dns-server/config/hash.js';
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

/** Each shard hashShard() made: its canonical JSON (one flat string), and where each top-level field's value lies in it; kept until the shard object is collected. */
const madeShards = new WeakMap<object, { json: string; at: Record<string, [number, number]> }>();

/**
 * Sets the hash of a shard whose objects all have sorted keys (see the header), serialising it
 * once: the canonical JSON is hashed piece by piece, then joined once into one flat string, kept
 * (with the hash) for shardJson() and shardFieldJson(). `pre` holds top-level fields the caller
 * has already serialised: JSON.stringify of that field's value, or the pieces that joined make it
 * (a patched list: runs of last time's text and what is new, not joined into a string of its own).
 */
export function hashShard<S extends UnhashedShard>(shard: S, pre: Partial<Record<keyof S & string, string | readonly string[]>> = {}): S & { hash: string } {
  const top = shard as unknown as Record<string, unknown>;
  const given = pre as Record<string, string | readonly string[] | undefined>;
  const ordered: Record<string, unknown> = {};
  const at: Record<string, [number, number]> = {};
  // Hashed piece by piece (a flat or sliced string is hashed without a copy on the heap), then
  // joined once: no intermediate string of a 350 KB Services shard, no rope flattened later.
  const h = createHash('sha256').update('{');
  const parts: string[] = ['{'];
  let length = 1;
  const put = (piece: string) => { h.update(piece); parts.push(piece); length += piece.length; };
  for (const k of Object.keys(top).sort(cmp)) {
    if (top[k] === undefined) continue;
    ordered[k] = top[k];
    put((length > 1 ? ',' : '') + JSON.stringify(k) + ':');
    const from = length;
    const value = given[k] ?? JSON.stringify(top[k]);
    if (typeof value === 'string') put(value);
    else for (const piece of value) put(piece);
    at[k] = [from, length];
  }
  const hash = h.update('}').digest('hex');
  ordered.hash = hash;
  parts.push(',"hash":"', hash, '"}');
  const json = parts.join('');
  madeShards.set(ordered, { json, at });
  rememberShardText(ordered, json); // a server in this process (local mode) hashes this text, as a ConfigMap's
  return ordered as unknown as S & { hash: string };
}

/** The JSON of one top-level field of a shard hashShard() made (a slice of its JSON, not a copy: for hashShard's `pre`); undefined for another shard. */
export function shardFieldJson(shard: object, key: string): string | undefined {
  const made = madeShards.get(shard);
  const at = made?.at[key];
  return at === undefined ? undefined : made!.json.slice(at[0], at[1]);
}

/** JSON.stringify(shard), without serialising again a shard compile() made. */
export function shardJson(shard: object): string {
  return madeShards.get(shard)?.json ?? JSON.stringify(shard);
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
