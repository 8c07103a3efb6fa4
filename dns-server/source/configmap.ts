// Config from ConfigMaps: lists and watches the shard ConfigMaps the operator publishes (by
// label, in one namespace, nothing else) through the Kubernetes API, and applies what moved
// with applyShards(changed, removedIds). A shard is re-read only when its hash annotation
// changes. A ConfigMap that cannot be decoded is logged and skipped: the shard's last good
// version keeps serving. The informer relists after a 410 or a broken watch, so a shard
// deleted while the watch was down is removed after reconnect.

import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { ResourceInformer } from '../../kube/informer.js';
import { createKubeClient, DNS_SERVER_USER_AGENT } from '../../kube/kube-client.js';
import { decodeShardConfigMap, HASH_ANNOTATION, SHARD_ID_ANNOTATION, SHARD_SELECTOR } from '../config/configmap-form.js';
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
  close(): void;
}

export async function startConfigMapSource(o: ConfigMapSourceOptions): Promise<ConfigMapSource> {
  const log = o.logger.child({ component: 'configmap-source', namespace: o.namespace });
  const client = createKubeClient(o.kubeConfig, { userAgent: DNS_SERVER_USER_AGENT });
  /** shard id → hash annotation last handed to the server (applied or refused). */
  const seen = new Map<string, string>();
  let scheduled = false;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => { resolveSynced = r; });

  const sync = () => {
    scheduled = false;
    const present = new Map<string, any>();
    for (const cm of informer.list() as any[]) {
      const id = cm.metadata?.annotations?.[SHARD_ID_ANNOTATION];
      if (typeof id === 'string') present.set(id, cm);
    }
    const changed: unknown[] = [];
    for (const [id, cm] of present) {
      const hash = cm.metadata.annotations[HASH_ANNOTATION];
      if (seen.get(id) === hash && hash !== undefined) continue;
      try { changed.push(decodeShardConfigMap(cm)); }
      catch (err) { log.error({ err, shard: id, configMap: cm.metadata.name }, 'cannot decode shard ConfigMap; the last good shard keeps serving'); }
      seen.set(id, hash);
    }
    const removed = [...seen.keys()].filter((id) => !present.has(id));
    for (const id of removed) seen.delete(id);
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
  return { synced, close: () => { void informer.stop(); } };
}
