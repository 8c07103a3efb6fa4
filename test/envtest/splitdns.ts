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

/** `kubectl kustomize config/` (default) as objects. */
export function renderConfig(dir = join(ROOT, 'config')): Obj[] {
  return renderKustomization(dir) as unknown as Obj[];
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
