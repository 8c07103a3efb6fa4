// Contributors phase: everything that asks for names inside the zones or the hosts shard.
// StaticHosts (placed by the Permissions), published Services: selected by a zone's
// spec.services, or named by the splitdns.io/hostname annotation (or, opted in, ExternalDNS's
// hostname annotation), and published Ingresses and Gateway API routes (routes.ts). A Service's target zones
// and its contributor are kept on its cache entry while its inputs stay the same.

import { contributor } from './cache.js';
import type { CompileCache, Contributor, SvcEntry, SvcTarget } from './cache.js';
import { readyEndpoints } from './cluster-services.js';
import type { ServiceInfo, SliceInfo } from './cluster-services.js';
import type { DomainsOutcome } from './domains.js';
import type { Meta } from './meta.js';
import { addressRecordType, toFqdn } from './names.js';
import type { ParsedResources } from './parse-crs.js';
import { routeContributors } from './routes.js';
import { slicesOf } from './service-shards.js';
import type { Verdicts } from './status.js';
import { STEP_ITEMS, finish } from './steps.js';
import type { Steps } from './steps.js';
import type { Snapshot } from './types.js';
import { shardIdOfZone } from './zones.js';
import type { Contribution } from './zones.js';

export const describe = (meta: Meta): string => `${meta.kind} ${meta.key}`;

export interface Contributors {
  /** StaticHosts first (snapshot order), then published Services (namespace, then list order), then routes (routes.ts). */
  list: Contributor[];
  /** Identity of the accepted zones and the Namespaces (interned in the cache). */
  zonesKey: string;
}

/** Contributors phase: the accepted StaticHosts and the published Services, each a Contributor. */
export function collectContributors(
  parsed: ParsedResources, domains: DomainsOutcome, svcByNs: ReadonlyMap<string, SvcEntry[]>, namespaces: readonly object[],
  cache: CompileCache, verdicts: Verdicts, s: Partial<Snapshot> = {}, opts: { externalDnsHostnameAnnotation?: boolean } = {},
): Contributors {
  return finish(collectContributorsSteps(parsed, domains, svcByNs, namespaces, cache, verdicts, s, opts));
}

/** collectContributors() as steps (steps.ts): yields every STEP_ITEMS Services. */
export function* collectContributorsSteps(
  parsed: ParsedResources, domains: DomainsOutcome, svcByNs: ReadonlyMap<string, SvcEntry[]>, namespaces: readonly object[],
  cache: CompileCache, verdicts: Verdicts, s: Partial<Snapshot> = {}, opts: { externalDnsHostnameAnnotation?: boolean } = {},
): Steps<Contributors> {
  const { perm, acceptedZones } = domains;
  const list: Contributor[] = [];
  // The StaticHosts' contributors depend on the parse outcome (the refused ones are its invalid
  // ones) and the Permissions only: last time's, the same objects, while both are the same objects.
  let statics = cache.staticContributors;
  if (statics === undefined || statics.parsed !== parsed || statics.perm !== perm) {
    const made: Contributor[] = [];
    for (const h of parsed.staticHosts) {
      if (verdicts.has(h.meta)) continue;
      const ident = parsed.hostIds.get(h.meta)!;
      made.push(contributor(h.meta, ident, () => perm.placeStaticHost(h, ident), undefined));
    }
    cache.staticContributors = statics = { parsed, perm, list: made };
  }
  // Indexed (here and below): a for-of this generator runs unoptimised makes an iterator result per item.
  for (let i = 0; i < statics.list.length; i++) list.push(statics.list[i]!);
  // Which zones publish a Service depends on the Service, the accepted zones and the
  // Namespaces' labels: remembered per Service entry while those stay the same.
  // Built as text (not [...].map().join()): no short-lived arrays whose kind depends on the tier (lists.ts).
  let zonesKeyNow = '', first = true;
  for (const z of acceptedZones.values()) { zonesKeyNow += (first ? '' : ',') + z.id; first = false; }
  zonesKeyNow += '|';
  for (let i = 0; i < namespaces.length; i++) zonesKeyNow += (i === 0 ? '' : ',') + cache.ids.of(namespaces[i]!);
  const zonesKey = zonesKeyNow === cache.zonesKey ? cache.zonesKey : (cache.zonesKey = zonesKeyNow);
  let n = 0;
  for (const [ns, entries] of svcByNs) {
    // A namespace none of whose Services or slices changed, with the same zones: its contributors of last time.
    const memo = cache.nsContributors.get(ns);
    if (memo !== undefined && memo.zonesKey === zonesKey && !cache.contributorNamespaces.has(ns)) {
      for (let i = 0; i < memo.list.length; i++) list.push(memo.list[i]!);
      continue;
    }
    const mine: Contributor[] = [];
    for (const entry of entries) {
      if (++n % STEP_ITEMS === 0) yield;
      const c = serviceContributorOf(entry, zonesKey, perm, acceptedZones, cache, opts);
      if (c !== undefined) mine.push(c);
    }
    cache.nsContributors.set(ns, { zonesKey, list: mine });
    for (const c of mine) list.push(c);
  }
  // Only now (a compile stopped above looks again next time).
  cache.contributorNamespaces.clear();
  for (const ns of cache.nsContributors.keys()) if (!svcByNs.has(ns)) cache.nsContributors.delete(ns);
  // Ingresses and Gateway API routes (routes.ts).
  for (const c of routeContributors(s, perm, cache)) list.push(c);
  return { list, zonesKey };
}

/** The contributor of one Service entry (undefined: no zone publishes it), kept on the entry while its inputs stay the same. */
function serviceContributorOf(
  entry: SvcEntry, zonesKey: string, perm: DomainsOutcome['perm'], acceptedZones: DomainsOutcome['acceptedZones'],
  cache: CompileCache, opts: { externalDnsHostnameAnnotation?: boolean },
): Contributor | undefined {
  const { svc, id, ns } = entry;
  let targets: SvcTarget[];
  if (entry.targets && entry.targets.key === zonesKey) targets = entry.targets.list;
  else {
    targets = [];
    const anns = svc.hostnameAnnotation !== undefined ? [svc.hostnameAnnotation]
      : opts.externalDnsHostnameAnnotation && svc.externalDnsHostnames !== undefined ? svc.externalDnsHostnames : undefined;
    if (anns !== undefined) {
      for (const ann of anns) {
        const name = toFqdn(ann);
        const z = perm.zoneOf(name);
        if (z && (perm.delegatedName(z.p, ns, name) || perm.selects(z.p, svc)) && !targets.some((t) => t.name === name)) targets.push({ zone: z.p, name });
      }
    } else {
      for (const { p } of acceptedZones.values()) if (perm.selects(p, svc)) targets.push({ zone: p, name: `${svc.meta.name}.${ns}.${p.domain}` });
    }
    entry.targets = { key: zonesKey, list: targets };
  }
  if (targets.length === 0) return undefined;
  // Same Service object, same single EndpointSlice object, same zones: same contributor.
  const sl = cache.sliceEntriesOf(entry.key);
  if (entry.contributor !== undefined && entry.contributorZonesKey === zonesKey && sl.length <= 1 && entry.contributorSlice === (sl[0] ?? null)) return entry.contributor;
  entry.contributorSlice = sl.length <= 1 ? sl[0] ?? null : undefined;
  let ident = id;
  for (const x of sl) ident += ',' + x.id;
  if (entry.contributor === undefined || entry.contributor.ident !== ident || entry.contributorZonesKey !== zonesKey) {
    entry.contributorZonesKey = zonesKey;
    entry.contributor = serviceContributor(svc, ident, targets, svc.headless ? slicesOf(cache, entry.key) : []);
  }
  return entry.contributor;
}

/** A published Service's contributor, built from its own data only (so it can be kept with its entry). */
function serviceContributor(svc: ServiceInfo, ident: string, targets: SvcTarget[], slices: SliceInfo[]): Contributor {
  return contributor(svc.meta, ident, () => {
    const placements = new Map<string, Contribution>();
    for (const t of targets) {
      // Several names in one zone (ExternalDNS's annotation lists several): one contribution.
      const shardId = shardIdOfZone(t.zone.domain);
      const c: Contribution = placements.get(shardId) ?? { owner: describe(svc.meta), ident, records: [], reverse: [] };
      if (svc.type === 'ExternalName') {
        if (svc.externalName) c.records.push({ name: t.name, type: 'CNAME', ttl: t.zone.ttl, data: toFqdn(svc.externalName) });
      } else {
        const addrs = svc.headless ? readyEndpoints(svc, slices).map((e) => e.addr) : svc.lbIngress.length ? svc.lbIngress : svc.clusterIPs;
        for (const a of addrs) c.records.push({ name: t.name, type: addressRecordType(a.family), ttl: t.zone.ttl, data: a.ip });
      }
      if (c.records.length) placements.set(shardId, c);
    }
    return { placements };
  }, [...new Set(targets.map((t) => t.zone))]);
}
