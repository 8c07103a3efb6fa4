// Reading manifests from disk: files and directories (recursively, *.yaml *.yml *.json), every
// YAML document, `kind: List` unwrapped, sorted into a Snapshot. Our custom resources are
// checked (and defaulted) against the CRDs as the API server would; an object it would refuse
// is reported and left out, and a file that cannot be parsed is reported with its path.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Snapshot } from '../compile/index.js';
import { checkCrdDefaults } from './crd-schemas.js';
import type { CrdValidator } from './crd-schemas.js';

export const CR_API_VERSION = 'splitdns.io/v1alpha1';

export interface ManifestObject {
  file: string;
  obj: Record<string, unknown>;
  /** "Kind/namespace/name" or "Kind/name". */
  ref: string;
}

export interface ManifestProblem { file: string; ref?: string; message: string }

export interface ManifestSet {
  snapshot: Snapshot;
  objects: ManifestObject[];
  problems: ManifestProblem[];
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** The manifest files under the given paths, sorted. */
export function listManifestFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, explicit: boolean) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) { if (!e.startsWith('.')) walk(join(p, e), false); }
    } else if (explicit || MANIFEST.test(p)) out.push(p);
  };
  for (const p of paths) walk(p, true);
  return [...new Set(out)].sort();
}

/** Parses one file into objects; throws an Error with a message naming the problem. */
export function parseManifestFile(file: string, text = readFileSync(file, 'utf8')): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(doc.errors[0].message.split('\n')[0]);
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new Error('a document is not a Kubernetes object');
    const o = v as Record<string, unknown>;
    if (o.kind === 'List' || (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items))) {
      for (const it of o.items as unknown[]) if (it && typeof it === 'object') out.push(it as Record<string, unknown>);
    } else out.push(o);
  }
  return out;
}

function refOf(o: Record<string, unknown>): string {
  const m = (o.metadata ?? {}) as Record<string, unknown>;
  return [o.kind, m.namespace, m.name].filter((x) => typeof x === 'string' && x).join('/');
}

/** Kinds we read, by apiVersion + kind, and where they go in the Snapshot. */
const SLOTS: Record<string, keyof Snapshot> = {
  [`${CR_API_VERSION}/DNSZone`]: 'zones',
  [`${CR_API_VERSION}/DNSForwarder`]: 'forwarders',
  [`${CR_API_VERSION}/StaticHost`]: 'staticHosts',
  'v1/Service': 'services',
  'discovery.k8s.io/v1/EndpointSlice': 'endpointSlices',
  'v1/Namespace': 'namespaces',
};

/**
 * Sorts parsed objects into a Snapshot. `byFile` maps each file to its objects (or an Error
 * when it could not be parsed). CRs are validated with the CRD validators (and defaulted).
 */
export function buildManifestSet(byFile: Map<string, Record<string, unknown>[] | Error>, validators: Map<string, CrdValidator & { scope: string }>, base = process.cwd()): ManifestSet {
  const snapshot: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
  const objects: ManifestObject[] = [];
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, string>();
  for (const [abs, content] of [...byFile].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const rel = relative(base, abs);
    const file = rel && !rel.startsWith('..') ? rel : abs;
    if (content instanceof Error) { problems.push({ file, message: content.message }); continue; }
    for (const o of content) {
      const key = `${o.apiVersion}/${o.kind}`;
      if (key === 'apiextensions.k8s.io/v1/CustomResourceDefinition') {
        for (const m of checkCrdDefaults(o)) problems.push({ file, ref: refOf(o), message: m });
        continue;
      }
      const slot = SLOTS[key];
      if (!slot) {
        if (typeof o.apiVersion === 'string' && o.apiVersion.startsWith('splitdns.io/')) problems.push({ file, ref: refOf(o), message: `unknown kind ${String(o.kind)} in ${o.apiVersion} (DNSZone, DNSForwarder, StaticHost of ${CR_API_VERSION})` });
        continue; // other Kubernetes objects (Deployments, ...) are not ours
      }
      const meta = (o.metadata && typeof o.metadata === 'object' ? o.metadata : (o.metadata = {})) as Record<string, unknown>;
      if (typeof meta.name !== 'string' || meta.name === '') { problems.push({ file, ref: refOf(o), message: 'metadata.name: Required value' }); continue; }
      const v = validators.get(String(o.kind));
      const namespaced = v ? v.scope === 'Namespaced' : slot !== 'namespaces';
      if (namespaced && typeof meta.namespace !== 'string') meta.namespace = 'default';
      if (!namespaced) delete meta.namespace;
      const ref = refOf(o);
      const errs = v ? v.validate(o) : slot === 'services' ? serviceProblems(o) : [];
      if (errs.length) { for (const m of errs) problems.push({ file, ref, message: m }); continue; }
      if (seen.has(ref)) { problems.push({ file, ref, message: `defined twice (also in ${seen.get(ref)}); the first one is used` }); continue; }
      seen.set(ref, file);
      (snapshot[slot] as object[]).push(o);
      objects.push({ file, obj: o, ref });
    }
  }
  return { snapshot, objects, problems };
}

/**
 * The API server's checks of a Service's fields the compiler reads (its clusterIPs): two cluster
 * IPs need a dual-stack ipFamilyPolicy, and clusterIP must be the first of clusterIPs.
 */
function serviceProblems(o: Record<string, unknown>): string[] {
  const spec = (o.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[]; ipFamilyPolicy?: string; ipFamilies?: string[] };
  const out: string[] = [];
  const policy = spec.ipFamilyPolicy ?? 'SingleStack';
  if (policy === 'SingleStack' && (spec.clusterIPs?.length ?? 0) > 1) out.push(`spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`);
  if (policy === 'SingleStack' && (spec.ipFamilies?.length ?? 0) > 1) out.push(`spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified`);
  if (spec.clusterIP && spec.clusterIPs?.length && spec.clusterIPs[0] !== spec.clusterIP) out.push(`spec.clusterIPs: Invalid value: ${JSON.stringify(spec.clusterIPs)}: first value must match \`clusterIP\``);
  return out;
}

/** Reads and sorts the manifests under `paths`. */
export function readManifests(paths: string[], validators: Map<string, CrdValidator & { scope: string }>): ManifestSet {
  const byFile = new Map<string, Record<string, unknown>[] | Error>();
  const missing: ManifestProblem[] = [];
  let files: string[] = [];
  for (const p of paths) {
    try { files.push(...listManifestFiles([p])); } catch (err) { missing.push({ file: p, message: (err as Error).message }); }
  }
  files = [...new Set(files)];
  for (const f of files) {
    try { byFile.set(f, parseManifestFile(f)); } catch (err) { byFile.set(f, new Error(`cannot parse: ${(err as Error).message}`)); }
  }
  const set = buildManifestSet(byFile, validators);
  set.problems.unshift(...missing);
  return set;
}
