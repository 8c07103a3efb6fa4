// Published routes: Ingresses (networking.k8s.io/v1) and Gateway API routes (HTTPRoute,
// GRPCRoute, TLSRoute), each a Contributor of the contributors phase, decided by the claims
// phase like a published Service. An Ingress's names are its spec.rules[].host and
// spec.tls[].hosts, its addresses its status.loadBalancer.ingress; a route's names are its
// spec.hostnames, its addresses those of the Gateways its spec.parentRefs name (their
// status.addresses). IP addresses become A/AAAA records; with no IP address, the first
// hostname becomes a CNAME. A name is published only where the zone holding it (the longest
// accepted zone) selects the object by its spec.ingresses or spec.routes; names outside every
// zone are ignored. A wildcard ("*.apps.example.org") becomes the zone's wildcard record.

import { contributor } from './cache.js';
import type { CompileCache, Contributor } from './cache.js';
import { arr, obj, readMeta, str } from './meta.js';
import type { Meta, Raw, RouteKind } from './meta.js';
import { addressRecordType, canonicalIp, checkDomainName, toFqdn } from './names.js';
import type { IpFamily } from './names.js';
import type { ParsedZone } from './parse-crs.js';
import type { Permissions } from './permissions.js';
import type { Snapshot } from './types.js';
import { shardIdOfZone } from './zones.js';
import type { Contribution } from './zones.js';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Where a route's records point: IP addresses, or (when it has none) a hostname for a CNAME. */
export interface RouteTarget { ips: { ip: string; family: IpFamily }[]; hostnames: string[] }

interface ParsedRoute { meta: Meta; names: string[]; target?: RouteTarget; parents: string[] }

/** The host names of an object, lower-cased with the trailing dot; invalid ones are dropped. */
function hostNames(list: unknown[]): string[] {
  const out: string[] = [];
  for (const h of list) {
    const s = str(h);
    if (!s) continue;
    const n = toFqdn(s);
    if (n !== '.' && checkDomainName(n, { wildcard: true }) === undefined && !out.includes(n)) out.push(n);
  }
  return out;
}

/** Reads a list of addresses: each an IP (A/AAAA) or a hostname (CNAME). */
function target(entries: { ip?: string; hostname?: string }[]): RouteTarget {
  const t: RouteTarget = { ips: [], hostnames: [] };
  for (const e of entries) {
    const ip = e.ip === undefined ? undefined : canonicalIp(e.ip);
    if (ip && !t.ips.some((x) => x.ip === ip.ip)) t.ips.push(ip);
    if (e.hostname !== undefined) {
      const h = toFqdn(e.hostname);
      if (h !== '.' && checkDomainName(h) === undefined && !t.hostnames.includes(h)) t.hostnames.push(h);
    }
  }
  return t;
}

export function parseIngress(raw: Raw): ParsedRoute {
  const meta = readMeta('Ingress', raw);
  const spec = obj(raw.spec);
  const names = hostNames([...arr(spec.rules).map((r) => obj(r).host), ...arr(spec.tls).flatMap((t) => arr(obj(t).hosts))]);
  const lb = arr(obj(obj(raw.status).loadBalancer).ingress).map((i) => ({ ip: str(obj(i).ip), hostname: str(obj(i).hostname) }));
  return { meta, names, target: target(lb), parents: [] };
}

export function parseRoute(kind: Exclude<RouteKind, 'Ingress'>, raw: Raw): ParsedRoute {
  const meta = readMeta(kind, raw);
  const spec = obj(raw.spec);
  const ns = meta.namespace ?? 'default';
  const parents: string[] = [];
  for (const p0 of arr(spec.parentRefs)) {
    const p = obj(p0);
    // Defaults of ParentReference: group gateway.networking.k8s.io, kind Gateway, the route's namespace.
    if ((str(p.group) ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (str(p.kind) ?? 'Gateway') !== 'Gateway') continue;
    const name = str(p.name);
    if (name) { const key = `${str(p.namespace) ?? ns}/${name}`; if (!parents.includes(key)) parents.push(key); }
  }
  return { meta, names: hostNames(arr(spec.hostnames)), parents };
}

/** A Gateway's addresses (status.addresses: type IPAddress, the default, or Hostname). */
export function parseGateway(raw: Raw): { key: string; target: RouteTarget } {
  const m = obj(raw.metadata);
  const entries = arr(obj(raw.status).addresses).map((a0) => {
    const a = obj(a0);
    const type = str(a.type) ?? 'IPAddress';
    const value = str(a.value);
    return type === 'IPAddress' ? { ip: value } : type === 'Hostname' ? { hostname: value } : {};
  });
  return { key: `${str(m.namespace) ?? 'default'}/${str(m.name) ?? ''}`, target: target(entries) };
}

/** The kinds of routes in a Snapshot, with the zone field that selects them. */
const ROUTE_SOURCES: { slot: keyof Snapshot; kind: RouteKind; field: 'ingresses' | 'routes' }[] = [
  { slot: 'ingresses', kind: 'Ingress', field: 'ingresses' },
  { slot: 'httpRoutes', kind: 'HTTPRoute', field: 'routes' },
  { slot: 'grpcRoutes', kind: 'GRPCRoute', field: 'routes' },
  { slot: 'tlsRoutes', kind: 'TLSRoute', field: 'routes' },
];

/** Contributors phase, routes part: one Contributor per selected Ingress or route that has a name in a zone and an address. */
export function routeContributors(s: Partial<Snapshot>, perm: Permissions, cache: CompileCache): Contributor[] {
  const out: Contributor[] = [];
  let gateways: Map<string, { id: string; target: RouteTarget }> | undefined;
  for (const { slot, kind, field } of ROUTE_SOURCES) {
    for (const raw of (s[slot] ?? []) as Raw[]) {
      const r = kind === 'Ingress' ? parseIngress(raw) : parseRoute(kind, raw);
      const targets: { zone: ParsedZone; name: string }[] = [];
      for (const name of r.names) {
        const z = perm.zoneOf(name);
        // A wildcard at the apex's own label ("*" alone) is not a host name; outside every zone: ignored.
        if (z && name !== z.p.domain && perm.selectsIn(z.p, field, r.meta)) targets.push({ zone: z.p, name });
      }
      if (targets.length === 0) continue;
      let ident = cache.ids.of(raw);
      let t = r.target;
      if (kind !== 'Ingress') {
        gateways ??= new Map((s.gateways ?? []).map((g) => { const p = parseGateway(g as Raw); return [p.key, { id: cache.ids.of(g), target: p.target }]; }));
        t = { ips: [], hostnames: [] };
        for (const key of r.parents) {
          const g = gateways.get(key);
          if (!g) continue;
          ident += ',' + g.id;
          for (const a of g.target.ips) if (!t.ips.some((x) => x.ip === a.ip)) t.ips.push(a);
          for (const h of g.target.hostnames) if (!t.hostnames.includes(h)) t.hostnames.push(h);
        }
      }
      out.push(routeContributor(r.meta, ident, targets, t!));
    }
  }
  return out;
}

function routeContributor(meta: Meta, ident: string, targets: { zone: ParsedZone; name: string }[], t: RouteTarget): Contributor {
  return contributor(meta, ident, () => {
    const placements = new Map<string, Contribution>();
    for (const { zone, name } of targets) {
      const shardId = shardIdOfZone(zone.domain);
      let c = placements.get(shardId);
      if (!c) placements.set(shardId, (c = { owner: `${meta.kind} ${meta.key}`, ident, records: [], reverse: [] }));
      if (t.ips.length) for (const a of t.ips) c.records.push({ name, type: addressRecordType(a.family), ttl: zone.ttl, data: a.ip });
      else if (t.hostnames.length) c.records.push({ name, type: 'CNAME', ttl: zone.ttl, data: t.hostnames[0] });
    }
    for (const [k, c] of placements) if (c.records.length === 0) placements.delete(k);
    return { placements };
  }, [...new Set(targets.map((x) => x.zone))]);
}
