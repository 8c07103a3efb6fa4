// Who may put which name where, for one compile: the accepted zones (longest match), their
// delegation to namespaces, their Service selection, and where a StaticHost's names go.

import type { ServiceInfo } from './cluster-services.js';
import type { Rejection } from './cache.js';
import { matchesSelector } from './meta.js';
import type { Meta } from './meta.js';
import { addressRecordType, isBelow, reverseName } from './names.js';
import type { ParsedStaticHost, ParsedZone, Selection } from './parse-crs.js';
import { shardIdOfZone } from './zones.js';
import type { Contribution } from './zones.js';

export class Permissions {
  readonly #admitted = new Map<Selection, Map<string, boolean>>();

  constructor(
    private readonly zones: ReadonlyMap<string, { p: ParsedZone; id: string }>,
    private readonly nsLabels: ReadonlyMap<string, Record<string, string>>,
    private readonly operatorNamespace: string,
    private readonly clusterZone: string,
  ) {}

  /** The accepted zone holding `name` (the longest), if any. */
  zoneOf(name: string): { p: ParsedZone; id: string } | undefined {
    for (let n = name; ; ) {
      const z = this.zones.get(n);
      if (z) return z;
      if (n === '.') return undefined;
      const dot = n.indexOf('.');
      n = dot === n.length - 1 ? '.' : n.slice(dot + 1);
    }
  }

  /** The zone lets namespace `ns` add names (the operator's namespace always may). */
  delegated(z: ParsedZone, ns: string): boolean {
    const sel = z.delegation.namespaceSelector;
    return ns === this.operatorNamespace || z.delegation.namespaces.includes(ns) ||
      (sel !== undefined && this.nsLabels.has(ns) && matchesSelector(sel, this.nsLabels.get(ns)!));
  }

  /** The delegation lets namespace `ns` have `name`: never the apex, except for the operator's namespace (docs/compiler.md). */
  delegatedName(z: ParsedZone, ns: string, name: string): boolean {
    return this.delegated(z, ns) && (name !== z.domain || ns === this.operatorNamespace);
  }

  /** The zone's spec.services selects the Service. */
  selects(z: ParsedZone, svc: ServiceInfo): boolean {
    return this.selectsIn(z, 'services', svc.meta);
  }

  /** The zone's spec.<field> (services, ingresses or routes) selects the object. */
  selectsIn(z: ParsedZone, field: 'services' | 'ingresses' | 'routes', meta: Meta): boolean {
    const sv = z[field];
    if (!sv) return false;
    const ns = meta.namespace ?? 'default';
    let admitted = this.#admitted.get(sv);
    if (!admitted) this.#admitted.set(sv, (admitted = new Map()));
    let nsOk = admitted.get(ns);
    if (nsOk === undefined) {
      const anyNs = sv.namespaces.length === 0 && sv.namespaceSelector === undefined;
      nsOk = anyNs || sv.namespaces.includes(ns) || (sv.namespaceSelector !== undefined && this.nsLabels.has(ns) && matchesSelector(sv.namespaceSelector, this.nsLabels.get(ns)!));
      admitted.set(ns, nsOk);
    }
    return nsOk && (sv.selector === undefined || matchesSelector(sv.selector, meta.labels));
  }

  /** Where a StaticHost's records go (shard id → records), or why it may not have them. */
  placeStaticHost(h: ParsedStaticHost, ident: string): { placements: Map<string, Contribution> } | Rejection {
    const ns = h.meta.namespace ?? '';
    const placements = new Map<string, Contribution>();
    for (const name of h.hostnames) {
      if (isBelow(name, this.clusterZone)) return { accepted: false, reason: 'NotPermitted', message: `${name} is in the cluster domain ${this.clusterZone}, whose names belong to its Services` };
      const z = this.zoneOf(name);
      let shardId: string;
      if (z) {
        if (!this.delegated(z.p, ns)) return { accepted: false, reason: 'NotPermitted', message: `${name} is in DNSZone ${z.p.meta.name}, which does not delegate to namespace ${ns}` };
        if (name === z.p.domain && ns !== this.operatorNamespace) return { accepted: false, reason: 'NotPermitted', message: `${name} is the apex of DNSZone ${z.p.meta.name}: a delegation grants names below the apex only (apex records belong in the DNSZone)` };
        shardId = shardIdOfZone(z.p.domain);
      } else {
        if (ns !== this.operatorNamespace) return { accepted: false, reason: 'NotPermitted', message: `${name} is outside every DNSZone; only StaticHosts in the operator's namespace ${this.operatorNamespace} may claim such names` };
        shardId = 'hosts';
      }
      let c = placements.get(shardId);
      if (!c) placements.set(shardId, (c = { owner: `StaticHost ${h.meta.key}`, ident, records: [], reverse: [] }));
      for (const a of h.addresses) {
        c.records.push({ name, type: addressRecordType(a.family), ttl: h.ttl, data: a.ip });
        if (h.ptr) c.reverse.push({ name: reverseName(a.ip, a.family), ttl: h.ttl, target: name });
      }
    }
    return { placements };
  }
}
