// Publish: one ConfigMap per shard in the operator's namespace, labelled as ours. Written only
// when the shard's hash moves (the hash is an annotation), gzip'd into binaryData when large,
// deleted when its shard disappears. Updates carry the resourceVersion read last; a 409 means
// someone else wrote it: re-read and retry. The ConfigMap form (names, labels, annotations,
// encoding) is the contract's: dns-server/config/configmap-form.ts.
//
// gzip at zlib's fastest level: at 10,000 Services a changed namespace's shard is ~350 KB of
// JSON, which the default level (6) took ~5 ms to compress and level 1 ~1.3 ms, for ~28% more
// bytes (28 KB instead of 22 KB, far below the ConfigMap's 1 MiB). A shard whose fast gzip would
// not fit a ConfigMap is compressed again at the best level (9), so no shard that fitted before
// is refused now.

import type { Logger } from 'pino';
import type { Shard } from '../../dns-server/config/index.js';
import { HASH_ANNOTATION, SHARD_GZIP_KEY, SHARD_ID_ANNOTATION, SHARD_SELECTOR, shardConfigMap } from '../../dns-server/config/configmap-form.js';
import { isCode } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { shardJson } from '../compile/index.js';
import type { OperatorMetrics } from './metrics.js';

/** ConfigMaps per page when the published ones are read (a large Services shard's is ~30-60 KB, gzip'd and base64'd; an ungzip'd one up to 256 KiB). */
export const LOAD_PAGE_SIZE = 16;

/** ConfigMap writes in flight at once. */
export const PUBLISH_CONCURRENCY = 16;

/** zlib levels of the shards' gzip: the fastest first, the best when the fast one does not fit. */
export const FAST_GZIP_LEVEL = 1;
export const BEST_GZIP_LEVEL = 9;
/** What the apiserver lets a ConfigMap's data and binaryData hold in all (1 MiB), less room for the key and the rest. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024 - 1024;

/** Runs `task` on each item of `list`, PUBLISH_CONCURRENCY at a time, in list order. */
async function inPool<T>(list: readonly T[], task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, list.length) }, async () => {
    while (next < list.length) await task(list[next++]);
  }));
}

export interface PublishResult { written: string[]; deleted: string[]; unchanged: number; errors: number }

export class Publisher {
  /** shard id → { name, hash, resourceVersion } of the ConfigMaps as last read or written. */
  #known = new Map<string, { name: string; hash: string; rv: string }>();
  #loaded = false;
  /** Counts reset() calls: a list that a reset overtook is not taken (see #load). */
  #resets = 0;
  #base: string;

  constructor(private readonly client: KubeClient, private readonly namespace: string, private readonly log: Logger,
    private readonly metrics: OperatorMetrics, private readonly gzipAboveBytes = 256 * 1024,
    /** The most gzip'd bytes a ConfigMap may carry before the best level is tried (tests make it small). */
    private readonly maxBytes = CONFIGMAP_MAX_BYTES) {
    this.#base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
  }

  /** Forget what we know (e.g. when leadership was lost: another replica may have written). */
  reset(): void { this.#known.clear(); this.#loaded = false; this.#resets++; }

  /**
   * Reads the published ConfigMaps in pages of LOAD_PAGE_SIZE, as the informers list: at 10,000
   * Services they are 100+ ConfigMaps, ~6 MB of JSON that the kube client parsed in one go (about
   * 30 ms of CPU in a restart's profile, as much as an informer's page of 500 objects; on a loaded
   * machine several times that in wall time). Each page is of the same snapshot. A reset() while
   * the pages are read (leadership lost, perhaps regained) makes the list stale: not taken, the
   * publish fails and the next one lists again (otherwise a shard that another leader rewrote
   * meanwhile would count as published with the hash read here, and never be written).
   */
  async #load(): Promise<void> {
    const resets = this.#resets;
    const known = new Map<string, { name: string; hash: string; rv: string }>();
    let cont: string | undefined;
    do {
      const q = new URLSearchParams({ labelSelector: SHARD_SELECTOR, limit: String(LOAD_PAGE_SIZE) });
      if (cont) q.set('continue', cont);
      const list = await this.client.request('GET', `${this.#base}?${q}`);
      for (const cm of list.items ?? []) {
        const id = cm.metadata?.annotations?.[SHARD_ID_ANNOTATION];
        if (typeof id === 'string') known.set(id, { name: cm.metadata.name, hash: cm.metadata.annotations[HASH_ANNOTATION] ?? '', rv: cm.metadata.resourceVersion });
      }
      cont = list.metadata?.continue || undefined;
    } while (cont);
    if (resets !== this.#resets) throw new Error('the published ConfigMaps were listed across a reset (leadership changed): listed again on the next publish');
    this.#known = known;
    this.#loaded = true;
  }

  /** The shard's JSON (what goes into its ConfigMap): the text compile() hashed, never serialised again. */
  serialised(s: Shard): string {
    return shardJson(s);
  }

  /**
   * Makes the ConfigMaps match the shards. Errors are counted and logged; the next run retries.
   * The shards that carry custom resources (zones, hosts, forwarders: every kind but
   * `services`) are written first, all of them, then `onCustomWritten` is called with how many
   * of them were written (0 too) and how many Services shards are to be written next, then the namespaces' Services shards: on a cold start at 10,000
   * Services the operator can confirm and write the custom resources' statuses meanwhile,
   * instead of after 100+ Services shards (seconds on a loaded apiserver).
   */
  async publish(shards: readonly Shard[], onCustomWritten?: (written: number, servicesToWrite: number) => void): Promise<PublishResult> {
    if (!this.#loaded) await this.#load();
    const out: PublishResult = { written: [], deleted: [], unchanged: 0, errors: 0 };
    const want = new Set(shards.map((s) => s.id));
    const changed = shards.filter((s) => this.#known.get(s.id)?.hash !== s.hash);
    out.unchanged = shards.length - changed.length;
    // PUBLISH_CONCURRENCY at a time: a cold start's 100+ ConfigMaps were all built and sent in
    // one synchronous run (a fifth of a second of blocked event loop at 10,000 Services).
    const writeAll = (list: Shard[]): Promise<void> => inPool(list, async (s) => {
      try { await this.#write(s); out.written.push(s.id); }
      catch (err) { out.errors++; this.metrics.publishErrorsTotal.inc(); this.log.error({ err, shard: s.id }, 'cannot write shard ConfigMap'); }
    });
    await writeAll(changed.filter((s) => s.kind !== 'services'));
    const services = changed.filter((s) => s.kind === 'services');
    onCustomWritten?.(out.written.length, services.length);
    await writeAll(services);
    // Deletes too (a namespace cleanup can drop 100+ shards at once): the kube client's sockets
    // are sized for PUBLISH_CONCURRENCY of these beside the status writes and the Lease.
    await inPool([...this.#known].filter(([id]) => !want.has(id)), async ([id, k]) => {
      try {
        await this.client.request('DELETE', `${this.#base}/${k.name}`).catch((err) => { if (!isCode(err, 404)) throw err; });
        this.#known.delete(id);
        this.metrics.publishTotal.inc({ op: 'delete' });
        out.deleted.push(id);
      } catch (err) { out.errors++; this.metrics.publishErrorsTotal.inc(); this.log.error({ err, shard: id }, 'cannot delete shard ConfigMap'); }
    });
    return out;
  }

  /** The shard's ConfigMap: gzip'd at the fastest level, or at the best one when that does not fit. */
  configMap(s: Shard): Record<string, any> {
    const json = this.serialised(s);
    const fast = shardConfigMap(this.namespace, s, this.gzipAboveBytes, json, FAST_GZIP_LEVEL);
    const gz: string | undefined = fast.binaryData?.[SHARD_GZIP_KEY];
    if (gz === undefined || Buffer.byteLength(gz, 'base64') <= this.maxBytes) return fast;
    return shardConfigMap(this.namespace, s, this.gzipAboveBytes, json, BEST_GZIP_LEVEL);
  }

  async #write(s: Shard): Promise<void> {
    const body = this.configMap(s);
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
