// Confirm: which shard hashes does each READY DNS server replica serve? The replicas are the
// pods matching the DNS server label selector in the operator's namespace; each one's /status
// (the DNS server's ops endpoint) lists { id, hash } of the shards it serves.

import http from 'node:http';
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/kube-client.js';

export interface ReplicaState { pod: string; address: string; shards: Map<string, string> | undefined /* undefined: unreachable */ }

export interface ConfirmOptions {
  client: KubeClient;
  namespace: string;
  labelSelector: string;
  /** A fixed status port; else the container port named statusPortName. */
  statusPort?: number;
  statusPortName: string;
  logger: Logger;
  timeoutMs?: number;
}

function podReady(pod: any): boolean {
  if (pod?.metadata?.deletionTimestamp) return false;
  if (pod?.status?.phase !== 'Running' || !pod.status.podIP) return false;
  return (pod.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function statusPortOf(pod: any, name: string): number | undefined {
  for (const c of pod?.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
  return undefined;
}

function getJson(url: string, timeoutMs: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
        try { resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (err) { reject(err); }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

/** Asks every ready replica for the shards it serves (in parallel). */
export async function readReplicas(o: ConfirmOptions): Promise<ReplicaState[]> {
  const list = await o.client.request('GET', `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods?labelSelector=${encodeURIComponent(o.labelSelector)}`);
  const pods = (list.items ?? []).filter(podReady);
  return Promise.all(pods.map(async (pod: any): Promise<ReplicaState> => {
    const port = o.statusPort ?? statusPortOf(pod, o.statusPortName);
    const ip: string = pod.status.podIP;
    const address = `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    if (port === undefined) {
      o.logger.warn({ pod: pod.metadata.name, portName: o.statusPortName }, 'DNS server pod has no status port of that name');
      return { pod: pod.metadata.name, address, shards: undefined };
    }
    try {
      const st = await getJson(`http://${address}/status`, o.timeoutMs ?? 1000);
      return { pod: pod.metadata.name, address, shards: new Map((st.shards ?? []).map((s: any) => [String(s.id), String(s.hash)])) };
    } catch (err) {
      o.logger.debug({ err, pod: pod.metadata.name }, 'cannot read DNS server status');
      return { pod: pod.metadata.name, address, shards: undefined };
    }
  }));
}

/** True when there is at least one ready replica and every one serves exactly these hashes for these shards. */
export function servedEverywhere(replicas: ReplicaState[], shardIds: string[], hashes: Map<string, string>): boolean {
  if (replicas.length === 0) return false;
  return replicas.every((r) => r.shards !== undefined && shardIds.every((id) => r.shards!.get(id) === hashes.get(id)));
}
