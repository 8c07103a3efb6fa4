// Publish: one ConfigMap per shard in the operator's namespace, labelled as ours. Written only
// when the shard's hash moves (the hash is an annotation), gzip'd into binaryData when large,
// deleted when its shard disappears. Updates carry the resourceVersion read last; a 409 means
// someone else wrote it: re-read and retry.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from 'pino';
import type { Shard } from '../../dns-server/config/index.js';
import { isCode } from './kube-client.js';
import type { KubeClient } from './kube-client.js';
import type { OperatorMetrics } from './metrics.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SHARD_LABEL = 'splitdns.io/shard';
export const SHARD_ID_ANNOTATION = 'splitdns.io/shard-id';
export const HASH_ANNOTATION = 'splitdns.io/shard-hash';
export const SHARD_KEY = 'shard.json';
export const SHARD_GZIP_KEY = 'shard.json.gz';
/** The label selector of our ConfigMaps (the DNS server's ConfigMap source uses it too). */
export const SHARD_SELECTOR = `${MANAGED_BY}=splitdns,${SHARD_LABEL}`;

/** `zone/example.org` → `splitdns-zone.example.org`; anything not a DNS subdomain gets a hash suffix. */
export function configMapName(id: string): string {
  const base = 'splitdns-' + id.replace(/\//g, '.').toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  const ok = base === 'splitdns-' + id.replace(/\//g, '.') && base.length <= 240 && /[a-z0-9]$/.test(base) && !base.includes('..');
  return ok ? base : `${base.slice(0, 220).replace(/[.-]+$/, '')}-${createHash('sha256').update(id).digest('hex').slice(0, 10)}`;
}

/** A label value (≤ 63 characters) naming the shard; the full id is in the annotation. */
export function shardLabelValue(id: string): string {
  const v = id.replace(/\//g, '.').replace(/[^A-Za-z0-9._-]/g, '-');
  return v.length <= 63 && /^[A-Za-z0-9]/.test(v) && /[A-Za-z0-9]$/.test(v) ? v : 'h-' + createHash('sha256').update(id).digest('hex').slice(0, 40);
}

/** The ConfigMap of a shard; `json` is the shard serialised (pass it when already made). */
export function shardConfigMap(namespace: string, shard: Shard, gzipAboveBytes: number, json = JSON.stringify(shard)): Record<string, any> {
  const big = Buffer.byteLength(json) > gzipAboveBytes;
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: configMapName(shard.id), namespace,
      labels: { [MANAGED_BY]: 'splitdns', [SHARD_LABEL]: shardLabelValue(shard.id) },
      annotations: { [SHARD_ID_ANNOTATION]: shard.id, [HASH_ANNOTATION]: shard.hash },
    },
    ...(big ? { binaryData: { [SHARD_GZIP_KEY]: gzipSync(json).toString('base64') } } : { data: { [SHARD_KEY]: json } }),
  };
}

export interface PublishResult { written: string[]; deleted: string[]; unchanged: number; errors: number }

export class Publisher {
  /** shard id → { name, hash, resourceVersion } of the ConfigMaps as last read or written. */
  #known = new Map<string, { name: string; hash: string; rv: string }>();
  #loaded = false;
  #base: string;
  /** shard id → its JSON for the hash it had when serialised: each shard is serialised once per hash. */
  #json = new Map<string, { hash: string; json: string }>();

  constructor(private readonly client: KubeClient, private readonly namespace: string, private readonly log: Logger,
    private readonly metrics: OperatorMetrics, private readonly gzipAboveBytes = 256 * 1024) {
    this.#base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  }

  /** Forget what we know (e.g. when leadership was lost: another replica may have written). */
  reset(): void { this.#known.clear(); this.#loaded = false; }

  async #load(): Promise<void> {
    const list = await this.client.request('GET', `${this.#base}?labelSelector=${encodeURIComponent(SHARD_SELECTOR)}`);
    this.#known.clear();
    for (const cm of list.items ?? []) {
      const id = cm.metadata?.annotations?.[SHARD_ID_ANNOTATION];
      if (typeof id === 'string') this.#known.set(id, { name: cm.metadata.name, hash: cm.metadata.annotations[HASH_ANNOTATION] ?? '', rv: cm.metadata.resourceVersion });
    }
    this.#loaded = true;
  }

  /** The shard's JSON (what goes into its ConfigMap), made once per hash. */
  serialised(s: Shard): string {
    const had = this.#json.get(s.id);
    if (had?.hash === s.hash) return had.json;
    const json = JSON.stringify(s);
    this.#json.set(s.id, { hash: s.hash, json });
    return json;
  }

  /** Makes the ConfigMaps match the shards. Errors are counted and logged; the next run retries. */
  async publish(shards: readonly Shard[]): Promise<PublishResult> {
    if (!this.#loaded) await this.#load();
    const out: PublishResult = { written: [], deleted: [], unchanged: 0, errors: 0 };
    const want = new Set(shards.map((s) => s.id));
    for (const id of this.#json.keys()) if (!want.has(id)) this.#json.delete(id);
    await Promise.all(shards.map(async (s) => {
      if (this.#known.get(s.id)?.hash === s.hash) { out.unchanged++; return; }
      try { await this.#write(s); out.written.push(s.id); }
      catch (err) { out.errors++; this.metrics.publishErrorsTotal.inc(); this.log.error({ err, shard: s.id }, 'cannot write shard ConfigMap'); }
    }));
    await Promise.all([...this.#known].filter(([id]) => !want.has(id)).map(async ([id, k]) => {
      try {
        await this.client.request('DELETE', `${this.#base}/${k.name}`).catch((err) => { if (!isCode(err, 404)) throw err; });
        this.#known.delete(id);
        this.metrics.publishTotal.inc({ op: 'delete' });
        out.deleted.push(id);
      } catch (err) { out.errors++; this.metrics.publishErrorsTotal.inc(); this.log.error({ err, shard: id }, 'cannot delete shard ConfigMap'); }
    }));
    return out;
  }

  async #write(s: Shard): Promise<void> {
    const body = shardConfigMap(this.namespace, s, this.gzipAboveBytes, this.serialised(s));
    const name = body.metadata.name as string;
    for (let attempt = 0; ; attempt++) {
      const known = this.#known.get(s.id);
      try {
        let res: any;
        if (known) {
          res = await this.client.request('PUT', `${this.#base}/${name}`, { ...body, metadata: { ...body.metadata, resourceVersion: known.rv } });
          this.metrics.publishTotal.inc({ op: 'update' });
        } else {
          res = await this.client.request('POST', this.#base, body);
          this.metrics.publishTotal.inc({ op: 'create' });
        }
        this.#known.set(s.id, { name, hash: s.hash, rv: res.metadata.resourceVersion });
        return;
      } catch (err) {
        // 409: stale resourceVersion or it already exists; 404: it was deleted under us. Re-read, retry.
        if (attempt >= 4 || !(isCode(err, 409) || isCode(err, 404))) throw err;
        this.log.debug({ shard: s.id, attempt }, 'shard ConfigMap changed under us; re-reading');
        try {
          const cur = await this.client.request('GET', `${this.#base}/${name}`);
          this.#known.set(s.id, { name, hash: cur.metadata?.annotations?.[HASH_ANNOTATION] ?? '', rv: cur.metadata.resourceVersion });
          if (cur.metadata?.annotations?.[HASH_ANNOTATION] === s.hash) return;
        } catch (e) {
          if (!isCode(e, 404)) throw e;
          this.#known.delete(s.id);
        }
      }
    }
  }
}
