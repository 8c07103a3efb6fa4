// Renders a kustomization with the real kubectl (kustomize built in) and parses the objects.

import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string; kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/** `kubectl kustomize <dir>` parsed; a missing kubectl is a failure with a message saying so. */
export function renderKustomization(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`kubectl not found (looked for "${KUBECTL}" on PATH): the install tests need kubectl with kustomize (Debian: apt-get install kubernetes-client; or set KUBECTL=/path/to/kubectl)`, { cause: err });
    throw new Error(`kubectl kustomize ${dir} failed: ${e.stderr ?? e.message}`, { cause: err });
  }
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length) throw new Error(`kubectl kustomize ${dir}: unparseable YAML: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  }).filter((o) => o !== null);
}
