// splitdns on the real apiserver: the CRDs from crds/, the install rendered from config/ (what
// `kubectl apply --server-side -k config/` sends), and waiting for CRDs to be Established.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { renderKustomization } from '../install/render.js';
import type { Envtest } from './apiserver.js';
import { ROOT } from './assets.js';
import { apply } from './kube.js';
import type { ApplyOptions, Obj } from './kube.js';

export const CRD_FILES = ['dnszone.yaml', 'dnsforwarder.yaml', 'statichost.yaml'];
export const CRD_NAMES = ['dnszones.splitdns.io', 'dnsforwarders.splitdns.io', 'statichosts.splitdns.io'];

export function readYaml(file: string): Obj[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

const rendered = new Map<string, Obj[]>();

/** `kubectl kustomize config/` (default) as objects; rendered once per run (a copy each call). */
export function renderConfig(dir = join(ROOT, 'config')): Obj[] {
  if (!rendered.has(dir)) rendered.set(dir, renderKustomization(dir) as unknown as Obj[]);
  return structuredClone(rendered.get(dir)!);
}

/** Waits until every named CRD has condition Established=True; rejects with the CRD's conditions if not within limitMs. */
export async function waitEstablished(env: Envtest, names = CRD_NAMES, limitMs = 30000): Promise<void> {
  const end = Date.now() + limitMs;
  for (const name of names) {
    for (;;) {
      const crd = await env.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const est = (crd.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Established');
      if (est?.status === 'True') break;
      if (Date.now() > end) throw new Error(`CRD ${name} not Established within ${limitMs} ms: ${JSON.stringify(crd.status?.conditions)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Installs the three CRDs from crds/ (server-side apply) and waits until they are Established. */
export async function installCrds(env: Envtest, opts: ApplyOptions = {}): Promise<void> {
  for (const f of CRD_FILES) for (const o of readYaml(join(ROOT, 'crds', f))) await apply(env, o, opts);
  await waitEstablished(env);
}

const RBAC_KINDS = ['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'];
export const OPERATOR_SA = 'splitdns-operator';
export const DNS_SA = 'splitdns-dns';
export const DNS_SELECTOR = 'app.kubernetes.io/name=splitdns-dns';

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[] }

/**
 * config/'s install moved into namespace `ns`, so suites sharing the apiserver do not share it:
 * the Namespace (with its Pod Security labels), the ServiceAccounts, Roles and bindings as
 * rendered; cluster-scoped names get the suffix `-<ns>`. `edit` may change the rendered rules
 * (the negative test drops one).
 */
export function installObjects(ns: string, edit?: (o: Obj & { rules?: Rule[] }) => void): Obj[] {
  const out: Obj[] = [];
  for (const o of renderConfig() as (Obj & { rules?: Rule[]; roleRef?: { kind: string; name: string }; subjects?: { kind: string; namespace?: string }[] })[]) {
    if (o.kind === 'Namespace') { out.push({ ...o, metadata: { ...o.metadata, name: ns, annotations: undefined } }); continue; }
    if (!RBAC_KINDS.includes(o.kind)) continue;
    const clusterScoped = o.kind.startsWith('Cluster');
    const copy = structuredClone(o);
    copy.metadata = { ...copy.metadata, annotations: undefined, ...(clusterScoped ? { name: `${o.metadata.name}-${ns}` } : { namespace: ns }) };
    if (copy.roleRef?.kind === 'ClusterRole') copy.roleRef.name = `${copy.roleRef.name}-${ns}`;
    for (const s of copy.subjects ?? []) if (s.kind === 'ServiceAccount') s.namespace = ns;
    edit?.(copy);
    out.push(copy);
  }
  return out;
}

/** Applies installObjects(ns) and the CRDs; the `default` ServiceAccount too (no controller makes it here). */
export async function installInto(env: Envtest, ns: string, edit?: (o: Obj & { rules?: Rule[] }) => void): Promise<Obj[]> {
  await installCrds(env);
  const objs = installObjects(ns, edit);
  for (const o of objs) await apply(env, o, { fieldManager: 'kubectl' });
  await apply(env, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
  return objs;
}

/**
 * A DNS server replica Pod as the Deployment in config/ would make it (its Pod template: image,
 * ServiceAccount, security context meeting the `restricted` Pod Security profile), its `http`
 * port set to where the in-process DNS server listens, then marked Running and Ready at
 * 127.0.0.1 through the status subresource, as a kubelet would (status is dropped on create).
 */
export async function createReplicaPod(env: Envtest, ns: string, name: string, httpPort: number): Promise<any> {
  const dep = renderConfig().find((o) => o.kind === 'Deployment' && (o.metadata.labels ?? {})['app.kubernetes.io/name'] === 'splitdns-dns') as any;
  if (!dep) throw new Error('config/ renders no splitdns-dns Deployment');
  const tpl = structuredClone(dep.spec.template);
  for (const c of tpl.spec.containers) for (const p of c.ports ?? []) if (p.name === 'http') p.containerPort = httpPort;
  delete tpl.spec.topologySpreadConstraints; // no nodes here; a scheduler would place it
  const pod = await env.request('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: tpl.metadata.labels }, spec: { ...tpl.spec, nodeName: 'envtest-node' },
  });
  const now = new Date().toISOString();
  return env.request('PATCH', `/api/v1/namespaces/${ns}/pods/${name}/status`, {
    status: {
      phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }], startTime: now,
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }],
    },
  }, 'application/merge-patch+json').then((p) => p ?? pod);
}
