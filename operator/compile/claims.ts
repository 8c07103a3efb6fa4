// Claims phase: who owns which name and type. Claims are made in precedence order (a zone's own
// records first, then StaticHosts, published Services, Ingresses and routes oldest first), so the first claimant
// wins and a later one learns whom it lost to. A CNAME excludes every other type at its name.

import type { RecordType } from '../../dns-server/config/types.js';
import type { ClaimsOutcome, CompileCache } from './cache.js';
import { describe } from './contributors.js';
import type { Contributors } from './contributors.js';
import type { DomainsOutcome } from './domains.js';
import { kept } from './lists.js';
import { byAge } from './meta.js';
import { byString } from './names.js';
import type { ParsedStaticHost, ParsedZone } from './parse-crs.js';
import { refusedPart } from './reverse-claims.js';
import type { PtrRefusal } from './reverse-claims.js';
import type { Meta } from './meta.js';
import { accepted, rejected } from './status.js';
import type { Decided, Verdicts } from './status.js';
import { STEP_ITEMS, finish } from './steps.js';
import type { Steps } from './steps.js';
import { shardIdOfZone } from './zones.js';

class NameClaims {
  private readonly byName = new Map<string, Map<string, string>>();

  /** The owner that blocks `owner` from claiming (name, type), or undefined when free or its own. */
  blocker(name: string, type: RecordType | 'SOA', owner: string): string | undefined {
    const types = this.byName.get(name);
    if (types === undefined) return undefined;
    for (const [t, o] of types) {
      if (o === owner) continue;
      if (t === type || t === 'CNAME' || type === 'CNAME') return o;
    }
    return undefined;
  }

  claim(name: string, type: RecordType | 'SOA', owner: string): void {
    let types = this.byName.get(name);
    if (types === undefined) this.byName.set(name, (types = new Map()));
    if (!types.has(type)) types.set(type, owner);
  }
}

/**
 * Claims phase: which contributor gets which names. The outcome is remembered in the cache:
 * the same contributors (by identity) meeting the same zones give the same outcome, so a change
 * elsewhere in the cluster skips the phase.
 */
export function resolveClaims(contributors: Contributors, domains: DomainsOutcome, staticHosts: readonly ParsedStaticHost[], cache: CompileCache): ClaimsOutcome {
  return finish(resolveClaimsSteps(contributors, domains, staticHosts, cache));
}

/** resolveClaims() as steps (steps.ts): yields every STEP_ITEMS contributors. */
export function* resolveClaimsSteps(contributors: Contributors, domains: DomainsOutcome, staticHosts: readonly ParsedStaticHost[], cache: CompileCache): Steps<ClaimsOutcome> {
  const { zonesKey, list } = contributors;
  const memo = cache.claims;
  if (memo && memo.zonesKey === zonesKey && memo.idents.length === list.length && list.every((c, i) => c.ident === memo.idents[i])) return memo.outcome;
  const idents = list.map((c) => c.ident); // before runClaims sorts the list
  const outcome = yield* runClaims(contributors, domains, staticHosts);
  cache.claims = { zonesKey, idents, outcome };
  return outcome;
}

function* runClaims(contributors: Contributors, { acceptedZones }: DomainsOutcome, staticHosts: readonly ParsedStaticHost[]): Steps<ClaimsOutcome> {
  const outcome: ClaimsOutcome = { rejected: [], accepted: [], contributions: new Map(), zoneNotes: new Map() };
  const claims = new NameClaims();
  for (const { p } of acceptedZones.values()) {
    const owner = describe(p.meta);
    claims.claim(p.domain, 'SOA', owner);
    for (const r of p.records) claims.claim(r.name, r.type, owner);
  }
  const zoneByShard = new Map([...acceptedZones.values()].map((z) => [shardIdOfZone(z.p.domain), z.p]));
  const hostByMeta = new Map(staticHosts.map((h) => [h.meta, h]));
  const note = (z: ParsedZone) => {
    let n = outcome.zoneNotes.get(z.domain);
    if (!n) outcome.zoneNotes.set(z.domain, (n = { services: 0, routes: 0, skipped: [] }));
    return n;
  };
  const list = contributors.list.sort((a, b) => byAge(a, b) || byString(a.meta.kind, b.meta.kind));
  let n = 0;
  for (const c of list) {
    if (++n % STEP_ITEMS === 0) yield;
    const r = c.build();
    if ('accepted' in r) { outcome.rejected.push([c.meta.key, r]); continue; }
    const owner = describe(c.meta);
    // Every conflict is named (validate reports them all), not just the first.
    const conflicts: string[] = [];
    for (const p of r.placements.values()) {
      for (const rec of p.records) { const by = claims.blocker(rec.name, rec.type, owner); if (by) conflicts.push(`${rec.name} ${rec.type} is already claimed by ${by}`); }
    }
    const blocked = conflicts.length ? [...new Set(conflicts)].join('; ') : undefined;
    if (blocked) {
      if (c.meta.kind === 'StaticHost') outcome.rejected.push([c.meta.key, { accepted: false, reason: 'Conflict', message: blocked }]);
      else for (const z of c.skipZones ?? []) note(z).skipped.push(`${owner}: ${blocked}`);
      continue;
    }
    for (const [shardId, p] of r.placements) {
      for (const rec of p.records) claims.claim(rec.name, rec.type, owner);
      let l = outcome.contributions.get(shardId);
      if (!l) outcome.contributions.set(shardId, (l = []));
      l.push(p);
    }
    if (c.meta.kind === 'StaticHost') {
      const h = hostByMeta.get(c.meta)!;
      outcome.accepted.push([c.meta.key, [...r.placements.keys()].sort(), { hostnames: h.hostnames.length, addresses: h.addresses.length }]);
    } else {
      for (const shardId of r.placements.keys()) {
        const z = zoneByShard.get(shardId);
        if (z) { if (c.meta.kind === 'Service') note(z).services++; else note(z).routes++; }
      }
    }
  }
  return outcome;
}

/** One StaticHost's decision, as judgeStaticHosts() made it (replayed, the same object, while its inputs stay the same). */
type HostVerdict = { h: ParsedStaticHost; d: Decided };

/** What judgeStaticHosts() last decided, and from what (compared by identity). */
export interface StaticVerdictsMemo { outcome: ClaimsOutcome; ptrRefusals: ReadonlyMap<string, readonly PtrRefusal[]> | undefined; hosts: readonly ParsedStaticHost[]; /** The decisions by metadata (Verdicts.replayAll). */ byMeta: Map<Meta, Decided> }

/** The StaticHosts not decided yet are `hosts`, in order (compared by identity, allocating nothing)? */
function sameUndecided(staticHosts: readonly ParsedStaticHost[], verdicts: Verdicts, hosts: readonly ParsedStaticHost[]): boolean {
  let j = 0;
  for (let i = 0; i < staticHosts.length; i++) {
    const h = staticHosts[i]!;
    if (verdicts.has(h.meta)) continue;
    if (hosts[j++] !== h) return false;
  }
  return j === hosts.length;
}

/**
 * The StaticHosts' verdicts from a claims outcome (every StaticHost not refused before is
 * decided here). With `memo` (the compile cache's), the same outcome, refusals and parsed
 * StaticHosts give last time's decisions again, the same objects, without rebuilding them.
 */
export function judgeStaticHosts(
  outcome: ClaimsOutcome, staticHosts: readonly ParsedStaticHost[], verdicts: Verdicts, ptrRefusals?: ReadonlyMap<string, readonly PtrRefusal[]>,
  memo?: { staticVerdicts?: StaticVerdictsMemo },
): void {
  const last = memo?.staticVerdicts;
  if (last !== undefined && last.outcome === outcome && last.ptrRefusals === ptrRefusals && sameUndecided(staticHosts, verdicts, last.hosts)) {
    verdicts.replayAll(last.byMeta);
    return;
  }
  const undecided = kept(staticHosts, (h) => !verdicts.has(h.meta)); // packed (lists.ts)
  const list: HostVerdict[] = [];
  const hostByKey = new Map(staticHosts.map((h) => [h.meta.key, h]));
  for (const [key, v] of outcome.rejected) list.push({ h: hostByKey.get(key)!, d: rejected(v.reason, v.message) });
  for (const [key, shardIds, figures] of outcome.accepted) {
    const h = hostByKey.get(key)!;
    // Refused PTRs (reverse phase) leave the forward names served: condition PartiallyRefused.
    const { refused } = refusedPart(ptrRefusals?.get(describe(h.meta)));
    list.push({ h, d: accepted(`Serving ${h.hostnames.join(', ')} in ${shardIds.join(', ')}`, shardIds, figures, refused) });
  }
  const decided = new Set(list.map((x) => x.h));
  for (const h of undecided) if (!decided.has(h)) list.push({ h, d: accepted(`Serving ${h.hostnames.join(', ')} in `, [], {}) });
  for (const x of list) verdicts.replay(x.h.meta, x.d);
  if (memo) memo.staticVerdicts = { outcome, ptrRefusals, hosts: undecided, byMeta: new Map(list.map((x) => [x.h.meta, x.d])) };
}
