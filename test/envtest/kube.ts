// What tests do to the real apiserver, as kubectl would: namespaces, server-side apply of
// manifests (fieldManager, optionally dry-run), ServiceAccounts, TokenRequest tokens and a
// client-node KubeConfig per identity.

import type { KubeConfig } from '@kubernetes/client-node';
import { isCode } from '../../kube/kube-client.js';
import type { Envtest } from './apiserver.js';
import { SA_ISSUER } from './apiserver.js';

export interface Obj { apiVersion: string; kind: string; metadata: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown }; [k: string]: unknown }

export const FIELD_MANAGER = 'splitdns-tests';
interface Mapping { resource: string; namespaced: boolean }
const discovery = new WeakMap<Envtest, Map<string, Map<string, Mapping>>>();

/** The REST resource for an apiVersion/kind, from the apiserver's discovery (refreshed on a miss: CRDs come and go). */
export async function mapping(env: Envtest, apiVersion: string, kind: string): Promise<Mapping> {
  let byGv = discovery.get(env);
  if (!byGv) discovery.set(env, byGv = new Map());
  let kinds = byGv.get(apiVersion);
  if (!kinds?.has(kind)) {
    const list = await env.request('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
    kinds = new Map((list.resources as { name: string; kind: string; namespaced: boolean }[])
      .filter((r) => !r.name.includes('/')).map((r) => [r.kind, { resource: r.name, namespaced: r.namespaced }]));
    byGv.set(apiVersion, kinds);
  }
  const m = kinds.get(kind);
  if (!m) throw new Error(`envtest: the apiserver serves no ${kind} in ${apiVersion}`);
  return m;
}

/** The collection path for an object (namespaced where its kind is), and its own path. */
export async function pathOf(env: Envtest, o: Obj): Promise<{ collection: string; item: string }> {
  const m = await mapping(env, o.apiVersion, o.kind);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = m.namespaced ? `/namespaces/${o.metadata.namespace ?? 'default'}` : '';
  const collection = `${base}${ns}/${m.resource}`;
  return { collection, item: `${collection}/${o.metadata.name}` };
}

export interface ApplyOptions { dryRun?: boolean; fieldManager?: string; force?: boolean; subresource?: 'status' }

/** Server-side apply (`kubectl apply --server-side`): PATCH application/apply-patch+yaml with a fieldManager. */
export async function apply(env: Envtest, o: Obj, opts: ApplyOptions = {}): Promise<any> {
  const { item } = await pathOf(env, o);
  const q = new URLSearchParams({ fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: String(opts.force ?? true) });
  if (opts.dryRun) q.set('dryRun', 'All');
  return env.request('PATCH', `${item}${opts.subresource ? `/${opts.subresource}` : ''}?${q}`, o, 'application/apply-patch+yaml');
}

/** Applies objects in order: Namespaces and CRDs first, as kubectl does. */
export async function applyAll(env: Envtest, objs: Obj[], opts: ApplyOptions = {}): Promise<any[]> {
  const rank = (o: Obj) => (o.kind === 'Namespace' || o.kind === 'CustomResourceDefinition' ? 0 : 1);
  const out = [];
  for (const o of [...objs].sort((a, b) => rank(a) - rank(b))) out.push(await apply(env, o, opts));
  return out;
}

/** Creates a namespace (labels, e.g. Pod Security) and its `default` ServiceAccount, which no controller makes here. */
export async function createNamespace(env: Envtest, name: string, labels: Record<string, string> = {}): Promise<void> {
  await apply(env, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await createServiceAccount(env, name, 'default');
}

export async function deleteNamespace(env: Envtest, name: string): Promise<void> {
  await env.request('DELETE', `/api/v1/namespaces/${name}`).catch((err) => { if (!isCode(err, 404)) throw err; });
}

export async function createServiceAccount(env: Envtest, namespace: string, name: string): Promise<void> {
  await apply(env, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } });
}

/** A bound token for a ServiceAccount through the TokenRequest API (what a kubelet mounts into a Pod). */
export async function serviceAccountToken(env: Envtest, namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const tr = await env.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [SA_ISSUER], expirationSeconds } });
  return tr.status.token as string;
}

/** A KubeConfig that acts as the ServiceAccount (optionally through another server URL, e.g. a proxy). */
export async function kubeConfigFor(env: Envtest, namespace: string, sa: string, server?: string): Promise<KubeConfig> {
  return env.kubeConfig(await serviceAccountToken(env, namespace, sa), server, `system:serviceaccount:${namespace}:${sa}`);
}
