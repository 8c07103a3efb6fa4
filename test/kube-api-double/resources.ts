// The resource types the API double serves: the paths the operator and the DNS server's
// ConfigMap source use. Anything else answers 404.

export interface ResourceType {
  group: string; // '' for core
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Has a status subresource: the main resource ignores status, /status ignores the rest. */
  statusSubresource: boolean;
}

export const RESOURCE_TYPES: ResourceType[] = [
  { group: 'splitdns.io', version: 'v1alpha1', plural: 'dnszones', kind: 'DNSZone', namespaced: false, statusSubresource: true },
  { group: 'splitdns.io', version: 'v1alpha1', plural: 'dnsforwarders', kind: 'DNSForwarder', namespaced: false, statusSubresource: true },
  { group: 'splitdns.io', version: 'v1alpha1', plural: 'statichosts', kind: 'StaticHost', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, statusSubresource: true },
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true, statusSubresource: false },
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, statusSubresource: true },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, statusSubresource: false },
  { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, statusSubresource: false },
  { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true, statusSubresource: false },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true, statusSubresource: false },
];

export function apiVersionOf(t: ResourceType): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export interface ParsedPath {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: 'status';
}

/** /api/v1/[namespaces/NS/]PLURAL[/NAME[/status]] and /apis/G/V/[namespaces/NS/]PLURAL[/NAME[/status]]. */
export function parsePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean);
  let group: string, version: string, rest: string[];
  if (parts[0] === 'api') { group = ''; version = parts[1]; rest = parts.slice(2); }
  else if (parts[0] === 'apis') { group = parts[1]; version = parts[2]; rest = parts.slice(3); }
  else return undefined;
  const find = (plural: string) => RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && find(rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = find(rest[0]);
  if (!type || rest.length > 3) return undefined;
  if (rest[2] !== undefined && rest[2] !== 'status') return undefined;
  if (type.namespaced === false && namespace !== undefined) return undefined;
  return { type, namespace, name: rest[1] !== undefined ? decodeURIComponent(rest[1]) : undefined, subresource: rest[2] as 'status' | undefined };
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated (all must hold). */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | null | undefined): boolean {
  if (!selector) return true;
  const l = labels ?? {};
  for (const raw of selector.split(',')) {
    const term = raw.trim();
    if (!term) continue;
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^!=]+)!=(.*)$/))) { if (l[m[1].trim()] === m[2].trim()) return false; }
    else if ((m = term.match(/^([^!=]+)==?(.*)$/))) { if (l[m[1].trim()] !== m[2].trim()) return false; }
    else if (term.startsWith('!')) { if (term.slice(1).trim() in l) return false; }
    else if (!(term in l)) return false;
  }
  return true;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
