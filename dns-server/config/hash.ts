// Canonical JSON and the content hash of a shard. The operator and the DNS server both use
// these, so a hash means the same thing on both sides: sha256 (hex) of the canonical JSON of
// the shard without its `hash` field. Canonical: object keys sorted, no white space, arrays in
// their given order (the compiler sorts them).

import { createHash } from 'node:crypto';
import type { Shard, UnhashedShard } from './types.js';

/**
 * Whether JSON.stringify(value) is already canonical: every object's keys in sorted order and
 * no undefined anywhere. Shards the operator wrote and a server parsed back are (JSON.parse
 * keeps key order), and checking is far cheaper than building the string by hand.
 */
function inCanonicalOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return value !== undefined && (typeof value !== 'number' || Number.isFinite(value));
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!inCanonicalOrder(value[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false; // toJSON and friends: take the slow path
  let prev = '';
  let first = true;
  for (const k in value) {
    if (!first && !(prev < k)) return false;
    if (!inCanonicalOrder((value as Record<string, unknown>)[k])) return false;
    prev = k;
    first = false;
  }
  return true;
}

/** JSON with object keys sorted at every depth, so equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  return inCanonicalOrder(value) ? JSON.stringify(value) : sortedJson(value);
}

function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined) throw new TypeError('canonicalJson: undefined is not JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + sortedJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + sortedJson(obj[keys[i]]);
  }
  return out + '}';
}

/** The hash a shard must carry: sha256 of its canonical JSON without `hash`. */
export function computeShardHash(shard: UnhashedShard | Shard): string {
  const { hash: _ignored, ...rest } = shard as Shard; // (spread keeps the key order)
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Returns the shard with its hash set. */
export function withHash<S extends UnhashedShard>(shard: S): S & { hash: string } {
  return { ...shard, hash: computeShardHash(shard) } as S & { hash: string };
}
