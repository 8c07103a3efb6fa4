// Domains phase: DNSZones and DNSForwarders claim theirs, oldest first (then namespace/name);
// the cluster domain and everything below it belongs to the cluster's Services. A resource
// whose domain is taken is refused as a whole, naming the winner. The accepted zones and the
// Namespaces' labels then make the Permissions later phases ask.

import { byAge, readMeta } from './meta.js';
import type { Meta, Raw } from './meta.js';
import { byString, isBelow } from './names.js';
import type { ParsedForwarder, ParsedResources, ParsedZone } from './parse-crs.js';
import { Permissions } from './permissions.js';
import { sameList } from './status.js';
import type { Verdicts } from './status.js';

interface DomainClaims {
  /** Accepted zones by domain. */
  acceptedZones: Map<string, { p: ParsedZone; id: string }>;
  acceptedFwds: ParsedForwarder[];
}

export interface DomainsOutcome extends DomainClaims {
  /** Who may put which name where, given the accepted zones. */
  perm: Permissions;
}

/**
 * Domains phase: which zones and forwarders get their domains (the others refused as Conflict).
 * With `memo` (the compile cache's): the same parse outcome (by identity) and the same Namespace
 * objects give last time's outcome again, the same object (its Permissions too, which later
 * phases key on), and its refusals made again.
 */
export function decideDomains(
  parsed: ParsedResources, namespaces: readonly object[], clusterZone: string, operatorNamespace: string, verdicts: Verdicts,
  memo?: { domains: DomainsMemo | undefined },
): DomainsOutcome {
  const last = memo?.domains;
  if (last !== undefined && last.parsed === parsed && sameList(last.namespaces, namespaces)) {
    for (const [m, message] of last.conflicts) verdicts.reject(m, 'Conflict', message);
    return last.outcome;
  }
  const nsLabels = new Map<string, Record<string, string>>();
  for (const n of namespaces) { const m = readMeta('Service', n as Raw); nsLabels.set(m.name, m.labels); }
  const conflicts: [Meta, string][] = [];
  const { acceptedZones, acceptedFwds } = claimDomains(
    parsed.zones.filter((z) => !verdicts.has(z.p.meta)), parsed.forwarders.filter((f) => !verdicts.has(f.meta)), clusterZone,
    (m, message) => { conflicts.push([m, message]); verdicts.reject(m, 'Conflict', message); },
  );
  const outcome = { acceptedZones, acceptedFwds, perm: new Permissions(acceptedZones, nsLabels, operatorNamespace, clusterZone) };
  if (memo) memo.domains = { parsed, namespaces: namespaces.slice(), outcome, conflicts };
  return outcome;
}

/** What decideDomains() last decided, and from what. */
export interface DomainsMemo { parsed: ParsedResources; namespaces: object[]; outcome: DomainsOutcome; conflicts: [Meta, string][] }

function claimDomains(
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
