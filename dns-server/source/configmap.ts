// Config from ConfigMaps: lists and watches the shard ConfigMaps the operator publishes (by
// label, in one namespace, nothing else) through the Kubernetes API, and applies what moved
// with applyShards(changed, removedIds). A shard is re-read only when its hash annotation
// changes. A ConfigMap that cannot be decoded is logged and skipped: the shard's last good
// version keeps serving. The informer relists after a 410 or a broken watch, so a shard
// deleted while the watch was down is removed after reconnect.
//
// Two ConfigMaps carrying the same shard id (a copy made by hand, an old operator's leftover):
// the one named as the operator names that shard (configMapName) is used, else the first by
// name; the choice does not depend on the order the informer's cache holds them in (which a
// relist changes), and removing the one not used changes nothing served. Each such set is
// logged once at warn, naming the one used and those ignored, and listed by duplicates().

import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { ResourceInformer } from '../../kube/informer.js';
import { createKubeClient, DNS_SERVER_USER_AGENT } from '../../kube/kube-client.js';
import { configMapName, decodeShardConfigMap, HASH_ANNOTATION, SHARD_ID_ANNOTATION, SHARD_SELECTOR } from '../config/configmap-form.js';
import { forgetShardText } from '../config/shard-delta.js';
import type { ReloadReport } from '../reload.js';

export interface ConfigMapSourceOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Default: the operator's shard selector (app.kubernetes.io/managed-by=splitdns,splitdns.io/shard). */
  labelSelector?: string;
  server: { applyShards(changed: unknown[], removedIds: string[]): ReloadReport };
  logger: Logger;
  backoff?: { initialMs?: number; maxMs?: number };
}

export interface ConfigMapSource {
  /** Resolves after the first list has been applied. */
  readonly synced: Promise<void>;
  /** Shard ids carried by more than one ConfigMap now: the ConfigMap used and those ignored (by name). */
  duplicates(): DuplicateShard[];
  close(): void;
}

export interface DuplicateShard { id: string; used: string; ignored: string[] }

/** Whether ConfigMap `a` is preferred to `b` for shard `id`: the operator's own name first, then by name. */
function preferred(id: string, a: any, b: any): boolean {
  const own = configMapName(id);
  const an = String(a.metadata?.name ?? ''), bn = String(b.metadata?.name ?? '');
  if ((an === own) !== (bn === own)) return an === own;
  return an < bn;
}

export async function startConfigMapSource(o: ConfigMapSourceOptions): Promise<ConfigMapSource> {
  const log = o.logger.child({ component: 'configmap-source', namespace: o.namespace });
  const client = createKubeClient(o.kubeConfig, { userAgent: DNS_SERVER_USER_AGENT });
  /** shard id → hash annotation last handed to the server (applied or refused). */
  const seen = new Map<string, string>();
  let scheduled = false;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => { resolveSynced = r; });

  /** id → the duplicates as last logged (`used ignored...`), so each set is logged once. */
  let dups = new Map<string, DuplicateShard>();

  const sync = () => {
    scheduled = false;
    const present = new Map<string, any>();
    const ignored = new Map<string, string[]>();
    for (const cm of informer.list() as any[]) {
      const id = cm.metadata?.annotations?.[SHARD_ID_ANNOTATION];
      if (typeof id !== 'string') continue;
      const other = present.get(id);
      if (other === undefined) { present.set(id, cm); continue; }
      const [use, skip] = preferred(id, cm, other) ? [cm, other] : [other, cm];
      present.set(id, use);
      ignored.set(id, [...(ignored.get(id) ?? []), skip.metadata?.name]);
    }
    const nowDups = new Map<string, DuplicateShard>();
    for (const [id, names] of ignored) {
      const d = { id, used: String(present.get(id).metadata?.name), ignored: names.map(String).sort() };
      nowDups.set(id, d);
      const was = dups.get(id);
      if (!was || was.used !== d.used || was.ignored.join() !== d.ignored.join()) log.warn({ shard: id, used: d.used, ignored: d.ignored }, 'more than one ConfigMap carries this shard id: one is used, the others ignored');
    }
    dups = nowDups;
    const changed: unknown[] = [];
    for (const [id, cm] of present) {
      const hash = cm.metadata.annotations[HASH_ANNOTATION];
      if (seen.get(id) === hash && hash !== undefined) continue;
      try { changed.push(decodeShardConfigMap(cm)); }
      catch (err) { log.error({ err, shard: id, configMap: cm.metadata.name }, 'cannot decode shard ConfigMap; the last good shard keeps serving'); }
      seen.set(id, hash);
    }
    const removed = [...seen.keys()].filter((id) => !present.has(id));
    for (const id of removed) { seen.delete(id); forgetShardText(id); } // (its held version too: shard-delta.ts)
    if (changed.length || removed.length || !informerApplied) {
      const report = o.server.applyShards(changed, removed);
      informerApplied = true;
      if (report.refused.length) log.error({ refused: report.refused }, 'shards refused; their last good versions keep serving');
      log.info({ applied: report.applied.length, removed: report.removed.length, unchanged: report.unchanged.length }, 'applied shard ConfigMaps');
    }
    resolveSynced();
  };
  let informerApplied = false;
  const informer = new ResourceInformer({
    client, path: `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/configmaps`, labelSelector: o.labelSelector ?? SHARD_SELECTOR,
    logger: log, backoff: o.backoff,
    onChange: () => { if (!scheduled && informer.synced) { scheduled = true; setImmediate(sync); } },
  });
  await informer.start();
  if (!scheduled) { scheduled = true; setImmediate(sync); }
  await synced;
  return { synced, duplicates: () => [...dups.values()], close: () => { void informer.stop(); } };
}
