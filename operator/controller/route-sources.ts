// The optional inputs of the operator: Ingresses (--publish-ingress) and the Gateway API kinds
// (--publish-gateway-api). networking.k8s.io/v1 is in every supported Kubernetes; the Gateway
// API is a set of CRDs a cluster may not have, so its kinds are found by discovery once at
// start: the kinds whose CRDs are absent are skipped (logged once), and the operator runs on
// without them. Installing the CRDs later takes an operator restart.

import type { Logger } from 'pino';
import type { Snapshot } from '../compile/index.js';
import { isCode } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';

/** An informer's collection; statusMatters: its objects' status feeds compile; transform: what is kept of each object (strip.ts). */
export interface WatchedResource { key: keyof Snapshot; path: string; statusMatters?: boolean; transform?: (o: any) => any }

export const INGRESS_RESOURCE: WatchedResource = { key: 'ingresses', path: '/apis/networking.k8s.io/v1/ingresses', statusMatters: true };

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** The Gateway API kinds we read, by group version and plural. */
const GATEWAY_KINDS: { version: string; plural: string; key: keyof Snapshot }[] = [
  { version: 'v1', plural: 'gateways', key: 'gateways' },
  { version: 'v1', plural: 'httproutes', key: 'httpRoutes' },
  { version: 'v1', plural: 'grpcroutes', key: 'grpcRoutes' },
  { version: 'v1alpha2', plural: 'tlsroutes', key: 'tlsRoutes' },
];

/** The Gateway API kinds the API server serves (discovery); logs once what is missing. Other errors than 404 are thrown. */
export async function gatewayResources(client: KubeClient, log: Logger): Promise<WatchedResource[]> {
  const served = new Map<string, Set<string>>();
  for (const version of new Set(GATEWAY_KINDS.map((k) => k.version))) {
    try {
      const list = await client.request<{ resources?: { name?: string }[] }>('GET', `/apis/${GATEWAY_GROUP}/${version}`);
      served.set(version, new Set((list.resources ?? []).map((r) => r.name ?? '')));
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      served.set(version, new Set());
    }
  }
  const out: WatchedResource[] = [];
  const missing: string[] = [];
  for (const k of GATEWAY_KINDS) {
    if (served.get(k.version)!.has(k.plural)) out.push({ key: k.key, path: `/apis/${GATEWAY_GROUP}/${k.version}/${k.plural}`, statusMatters: k.key === 'gateways' });
    else missing.push(`${k.plural}.${GATEWAY_GROUP}/${k.version}`);
  }
  if (missing.length) log.warn({ missing }, out.some((r) => r.key === 'gateways') ? 'Gateway API: some route kinds are not installed; not watching them' : 'Gateway API: CRDs not installed; not watching them (install the CRDs and restart the operator to publish routes)');
  // Routes without Gateways have no addresses: nothing to watch then.
  return out.some((r) => r.key === 'gateways') ? out : [];
}
