// Domains: DNSZones and DNSForwarders claim theirs, oldest first (then namespace/name); the
// cluster domain and everything below it belongs to the cluster's Services. A resource whose
// domain is taken is refused as a whole, naming the winner.

import { byAge } from './meta.js';
import type { Meta } from './meta.js';
import { byString, isBelow } from './names.js';
import type { ParsedForwarder, ParsedZone } from './parse-crs.js';

export interface DomainClaims {
  /** Accepted zones by domain. */
  acceptedZones: Map<string, { p: ParsedZone; id: string }>;
  acceptedFwds: ParsedForwarder[];
}

export function claimDomains(
  zones: { p: ParsedZone; id: string }[], fwds: ParsedForwarder[], clusterZone: string,
  conflict: (m: Meta, message: string) => void,
): DomainClaims {
  const domainOwner = new Map<string, string>();
  const acceptedZones = new Map<string, { p: ParsedZone; id: string }>();
  const acceptedFwds: ParsedForwarder[] = [];
  type Claimant = { meta: Meta; domains: string[]; zone?: { p: ParsedZone; id: string }; fwd?: ParsedForwarder };
  const claimants: Claimant[] = [
    ...zones.map((z) => ({ meta: z.p.meta, domains: [z.p.domain], zone: z })),
    ...fwds.map((f) => ({ meta: f.meta, domains: f.forwarder.domains, fwd: f })),
  ].sort((a, b) => byAge(a, b) || byString(a.meta.kind, b.meta.kind));
  for (const c of claimants) {
    const inCluster = c.domains.find((d) => d !== '.' && isBelow(d, clusterZone));
    if (inCluster) { conflict(c.meta, `${inCluster} is the cluster domain or below it, served from the cluster's Services`); continue; }
    const taken = c.domains.find((d) => domainOwner.has(d));
    if (taken) { conflict(c.meta, `${taken} is already claimed by ${domainOwner.get(taken)} (older)`); continue; }
    for (const d of c.domains) domainOwner.set(d, `${c.meta.kind} ${c.meta.key}`);
    if (c.zone) acceptedZones.set(c.zone.p.domain, c.zone);
    else acceptedFwds.push(c.fwd!);
  }
  return { acceptedZones, acceptedFwds };
}
