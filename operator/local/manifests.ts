// Reading manifests from disk: files and directories (recursively, *.yaml *.yml *.json), every
// YAML document, `kind: List` unwrapped, sorted into a Snapshot. Our custom resources are
// checked (and defaulted) against the CRDs as the API server would; an object it would refuse
// is reported and left out, and a file that cannot be parsed is reported with its path. Each
// problem carries the line and column of the bad value in its file where it can be found.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isNode, LineCounter, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import type { CompileResult, Snapshot } from '../compile/index.js';
import { checkCrdDefaults } from './crd-schemas.js';
import type { CrdValidator } from './crd-schemas.js';

export const CR_API_VERSION = 'splitdns.io/v1alpha1';

export interface ManifestObject {
  file: string;
  obj: Record<string, unknown>;
  /** "Kind/namespace/name" or "Kind/name". */
  ref: string;
}

export interface ManifestProblem {
  file: string;
  ref?: string;
  message: string;
  /** 1-based position of the bad value (or of the object) in the file, when known. */
  line?: number;
  column?: number;
  /** Local mode: the file's last good version is still served. */
  kept?: boolean;
}

/** "file:line:column: Kind/namespace/name: message" (the parts that are known). */
export function problemText(p: ManifestProblem): string {
  const at = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${at}: ${p.ref ? p.ref + ': ' : ''}${p.message}${p.kept ? ' (not applied: the last good version of this file is still served)' : ''}`;
}

/** An error reading a file, with the position of the problem when the parser knows it. */
export class ManifestParseError extends Error {
  constructor(message: string, readonly line?: number, readonly column?: number) { super(message); }
}

/** Where each parsed object came from: its YAML document, its path in it and the line counter. */
const ORIGINS = new WeakMap<object, { doc: Document; base: (string | number)[]; lc: LineCounter }>();

/** Splits "spec.records[0].a[1]" into ["spec", "records", 0, "a", 1]. */
function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

/** The 1-based line and column of `path` (or its nearest existing parent) inside a parsed object. */
export function positionOf(obj: object, path = ''): { line: number; column: number } | undefined {
  const o = ORIGINS.get(obj);
  if (!o) return undefined;
  const segs = pathSegments(path);
  for (let n = segs.length; n >= 0; n--) {
    const node = o.doc.getIn([...o.base, ...segs.slice(0, n)], true);
    if (isNode(node) && node.range) { const { line, col } = o.lc.linePos(node.range[0]); return { line, column: col }; }
  }
  return undefined;
}

export interface ManifestSet {
  snapshot: Snapshot;
  objects: ManifestObject[];
  problems: ManifestProblem[];
}

const MANIFEST = /\.(ya?ml|json)$/i;

/** Fails with a message naming the path when one of `paths` does not exist. */
export function checkPaths(paths: string[]): void {
  for (const p of paths) {
    try { statSync(p); } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT' ? `${p}: no such file or directory (give a manifest file or a directory of them)` : `${p}: ${(err as Error).message}`, { cause: err });
    }
  }
}

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
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length) {
      const e = doc.errors[0];
      const pos = e.linePos?.[0];
      throw new ManifestParseError(`cannot parse: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, pos?.line, pos?.col);
    }
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) {
      const r = doc.contents?.range;
      const pos = r ? lc.linePos(r[0]) : undefined;
      throw new ManifestParseError('cannot parse: a document is not a Kubernetes object (a map with apiVersion, kind, metadata)', pos?.line, pos?.col);
    }
    const o = v as Record<string, unknown>;
    if (o.kind === 'List' || (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items))) {
      (o.items as unknown[]).forEach((it, i) => {
        if (it && typeof it === 'object') { ORIGINS.set(it, { doc, base: ['items', i], lc }); out.push(it as Record<string, unknown>); }
      });
    } else { ORIGINS.set(o, { doc, base: [], lc }); out.push(o); }
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
  // Published routes (DNSZone spec.ingresses / spec.routes).
  'networking.k8s.io/v1/Ingress': 'ingresses',
  'gateway.networking.k8s.io/v1/Gateway': 'gateways',
  'gateway.networking.k8s.io/v1beta1/Gateway': 'gateways',
  'gateway.networking.k8s.io/v1/HTTPRoute': 'httpRoutes',
  'gateway.networking.k8s.io/v1beta1/HTTPRoute': 'httpRoutes',
  'gateway.networking.k8s.io/v1/GRPCRoute': 'grpcRoutes',
  'gateway.networking.k8s.io/v1alpha2/TLSRoute': 'tlsRoutes',
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
    if (content instanceof Error) {
      const pe = content as Partial<ManifestParseError>;
      problems.push({ file, message: content.message, line: pe.line, column: pe.column });
      continue;
    }
    for (const o of content) {
      const key = `${o.apiVersion}/${o.kind}`;
      if (key === 'apiextensions.k8s.io/v1/CustomResourceDefinition') {
        for (const m of checkCrdDefaults(o)) problems.push({ file, ref: refOf(o), message: m });
        continue;
      }
      const slot = SLOTS[key];
      if (!slot) {
        if (typeof o.apiVersion === 'string' && o.apiVersion.startsWith('splitdns.io/')) problems.push({ file, ref: refOf(o), message: `unknown kind ${String(o.kind)} in ${o.apiVersion} (DNSZone, DNSForwarder, StaticHost of ${CR_API_VERSION})`, ...positionOf(o, 'kind') });
        continue; // other Kubernetes objects (Deployments, ...) are not ours
      }
      const meta = (o.metadata && typeof o.metadata === 'object' ? o.metadata : (o.metadata = {})) as Record<string, unknown>;
      if (typeof meta.name !== 'string' || meta.name === '') { problems.push({ file, ref: refOf(o), message: 'metadata.name: Required value', ...positionOf(o, 'metadata') }); continue; }
      const v = validators.get(String(o.kind));
      const namespaced = v ? v.scope === 'Namespaced' : slot !== 'namespaces';
      if (namespaced && typeof meta.namespace !== 'string') meta.namespace = 'default';
      if (!namespaced) delete meta.namespace;
      const ref = refOf(o);
      const errs = v ? v.validate(o) : slot === 'services' ? serviceProblems(o) : [];
      if (errs.length) { for (const m of errs) problems.push({ file, ref, message: m, ...positionOf(o, m.split(':')[0].replace('<root>', '')) }); continue; }
      if (seen.has(ref)) { problems.push({ file, ref, message: `defined twice (also in ${seen.get(ref)}); the first one is used`, ...positionOf(o) }); continue; }
      seen.set(ref, file);
      ((snapshot[slot] ??= []) as object[]).push(o);
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
    try { byFile.set(f, parseManifestFile(f)); } catch (err) { byFile.set(f, err instanceof ManifestParseError ? err : new Error(`cannot read: ${(err as Error).message}`)); }
  }
  const set = buildManifestSet(byFile, validators);
  set.problems.unshift(...missing);
  return set;
}

/** The custom resources compile() did not accept, as problems located in their files. */
/**
 * What compile() serves only in part: resources with the PartiallyRefused condition (refused
 * PTRs, records inside the cluster's reverse ranges) and Services whose PTRs were refused.
 */
export function partlyRefused(set: ManifestSet, result: CompileResult): ManifestProblem[] {
  const byRef = new Map(set.objects.map((o) => [o.ref, o]));
  const out: ManifestProblem[] = [];
  const push = (ref: string, message: string) => {
    const o = byRef.get(ref);
    out.push({ file: o?.file ?? '?', ref, message, ...(o ? positionOf(o.obj) : {}) });
  };
  for (const r of result.resources) {
    const part = r.status.conditions.find((c) => c.type === 'PartiallyRefused');
    if (part?.status === 'True') push([r.kind, r.namespace, r.name].filter(Boolean).join('/'), `${part.reason}: ${part.message}`);
  }
  for (const n of result.notices ?? []) push(n.ref, `${n.reason}: ${n.message}`);
  return out;
}

export function rejectedResources(set: ManifestSet, result: CompileResult): ManifestProblem[] {
  const byRef = new Map(set.objects.map((o) => [o.ref, o]));
  const out: ManifestProblem[] = [];
  for (const r of result.resources) {
    const acc = r.status.conditions.find((c) => c.type === 'Accepted');
    if (acc?.status !== 'False') continue;
    const ref = [r.kind, r.namespace, r.name].filter(Boolean).join('/');
    const o = byRef.get(ref);
    out.push({ file: o?.file ?? '?', ref, message: `${acc.reason}: ${acc.message}`, ...(o ? positionOf(o.obj) : {}) });
  }
  return out;
}
