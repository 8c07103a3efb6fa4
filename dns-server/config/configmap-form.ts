// The ConfigMap form of a shard: how the generated configuration travels through the Kubernetes
// API. Part of the contract, so both sides take it from here: the operator's publisher encodes
// (`shardConfigMap`), the DNS server's ConfigMap source selects and decodes
// (`SHARD_SELECTOR`, `SHARD_ID_ANNOTATION`, `HASH_ANNOTATION`, `decodeShardConfigMap`).
//
// One ConfigMap per shard in the operator's namespace, labelled as ours, the shard id and hash
// as annotations (a server re-reads a shard only when its hash annotation moves), the shard's
// JSON in data (`shard.json`), or gzip'd and base64'd in binaryData (`shard.json.gz`) when it is
// larger than the publisher's threshold.

import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseShardText } from './shard-delta.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SHARD_LABEL = 'splitdns.io/shard';
export const SHARD_ID_ANNOTATION = 'splitdns.io/shard-id';
export const HASH_ANNOTATION = 'splitdns.io/shard-hash';
export const SHARD_KEY = 'shard.json';
export const SHARD_GZIP_KEY = 'shard.json.gz';
/** The label selector of the shard ConfigMaps (the publisher lists by it, the server watches by it). */
export const SHARD_SELECTOR = `${MANAGED_BY}=splitdns,${SHARD_LABEL}`;

/** What encoding needs of a shard: its id and hash, plus the rest of the document. */
/** What the ConfigMap form needs of a shard (the contract's Shard is one). */
export interface ShardDoc { readonly id: string; readonly hash: string }

/** `zone/example.org` → `splitdns-zone.example.org`; anything not a DNS subdomain gets a hash suffix. */
export function configMapName(id: string): string {
  const base = 'splitdns-' + id.replace(/\//g, '.').toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  const ok = base === 'splitdns-' + id.replace(/\//g, '.') && base.length <= 240 && /[a-z0-9]$/.test(base) && !base.includes('..');
  return ok ? base : `${base.slice(0, 220).replace(/[.-]+$/, '')}-${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

/** A label value (≤ 63 characters) naming the shard; the full id is in the annotation. */
function shardLabelValue(id: string): string {
  const v = id.replace(/\//g, '.').replace(/[^A-Za-z0-9._-]/g, '-');
  return v.length <= 63 && /^[A-Za-z0-9]/.test(v) && /[A-Za-z0-9]$/.test(v) ? v : 'h-' + createHash('sha256').update(id).digest('hex').slice(0, 40);
}

/** The ConfigMap carrying `shard` in `namespace`: gzip'd into binaryData above `gzipAboveBytes`. */
/** `json`: JSON.stringify(shard), when the caller already holds it (compile serialises each shard once). */
/** `gzipLevel`: zlib's level (the operator's publisher picks it: a speed and size trade; any level decodes the same). */
export function shardConfigMap(namespace: string, shard: ShardDoc, gzipAboveBytes: number, json: string = JSON.stringify(shard), gzipLevel?: number): Record<string, any> {
  const big = Buffer.byteLength(json) > gzipAboveBytes;
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: configMapName(shard.id), namespace,
      labels: { [MANAGED_BY]: 'splitdns', [SHARD_LABEL]: shardLabelValue(shard.id) },
      annotations: { [SHARD_ID_ANNOTATION]: shard.id, [HASH_ANNOTATION]: shard.hash },
    },
    ...(big ? { binaryData: { [SHARD_GZIP_KEY]: gzipSync(json, gzipLevel === undefined ? {} : { level: gzipLevel }).toString('base64') } } : { data: { [SHARD_KEY]: json } }),
  };
}

/**
 * The shard document a ConfigMap carries (JSON in data, or gzip'd JSON in binaryData); unvalidated.
 * Parsed with parseShardText (shard-delta.ts), so that validation hashes the text received
 * (hash.ts), and a shard's changed RRsets only are parsed and checked where a version of it is held.
 */
export function decodeShardConfigMap(cm: any): unknown {
  const gz = cm?.binaryData?.[SHARD_GZIP_KEY];
  if (typeof gz === 'string') return parseShardText(gunzipSync(Buffer.from(gz, 'base64')).toString('utf8'));
  const text = cm?.data?.[SHARD_KEY];
  if (typeof text !== 'string') throw new Error(`ConfigMap has neither data.${SHARD_KEY} nor binaryData.${SHARD_GZIP_KEY}`);
  return parseShardText(text);
}
