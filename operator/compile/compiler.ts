// compile(): a Snapshot of raw objects → the generated configuration (a bundle of shards) and
// the status of every custom resource, in named phases (docs/compiler.md):
//   parse → domains → index, services (cluster-service shards) → contributors → claims
//   → reverse (PTR tenancy, cluster reverse zones) → shards (zone, hosts, forwarders) → statuses
// Pure: no I/O, no clock, sorted output. What is remembered between calls is one CompileCache,
// made by createCompiler() and passed to the phases; a one-shot compile() uses a fresh one.
// The phases are steps (steps.ts): compileSteps() yields between phases and inside the big
// loops, so a caller can run a large compile in slices; compile() runs the same steps at once.

import type { ConfigBundle } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { CompileCache } from './cache.js';
import { judgeStaticHosts, resolveClaimsSteps } from './claims.js';
import { buildConfigShards } from './config-shards.js';
import { collectContributorsSteps } from './contributors.js';
import { decideDomains } from './domains.js';
import { describe } from './contributors.js';
import { byString, toFqdn } from './names.js';
import { parseResourcesSteps } from './parse-crs.js';
import type { ParsedZone } from './parse-crs.js';
import { ReverseClaims } from './reverse-claims.js';
import { DEFAULT_POD_CIDRS, DEFAULT_SERVICE_CIDRS, buildClusterReverseShards, clusterRangeClash, clusterRanges } from './reverse-zones.js';
import { shardIdOfZone } from './zones.js';
import type { ClaimsOutcome } from './cache.js';
import type { Meta } from './meta.js';
import type { Contribution } from './zones.js';
import { buildServiceShardsSteps, indexServicesSteps } from './service-shards.js';
import { finish } from './steps.js';
import type { Steps } from './steps.js';
import { Verdicts, buildStatuses } from './status.js';
import type { CompileOptions, CompileResult, Compiler, Snapshot } from './types.js';

/** A compiler that remembers, between calls, what did not change (its CompileCache lives as long as it does). */
export function createCompiler(opts: CompileOptions): Compiler {
  const cache = new CompileCache();
  return { compile: (s) => finish(compileSteps(s, opts, cache)), steps: (s) => compileSteps(s, opts, cache) };
}

/** One-shot compile (a fresh cache, dropped on return). */
export function compile(s: Snapshot, opts: CompileOptions): CompileResult {
  return finish(compileSteps(s, opts, new CompileCache()));
}

/** The phases as steps: yields between phases and every STEP_ITEMS objects inside the big loops. */
function* compileSteps(s: Snapshot, opts: CompileOptions, cache: CompileCache): Steps<CompileResult> {
  const clusterZone = toFqdn(opts.clusterDomain);
  const phase = opts.onPhase ?? (() => {});
  const verdicts = new Verdicts();
  // The cluster's reverse ranges (options only: made once per cache).
  const rev = (cache.reverse ??= (() => {
    const ranges = clusterRanges(opts.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS, opts.podCIDRs ?? DEFAULT_POD_CIDRS);
    return { ranges, shards: buildClusterReverseShards(clusterZone, ranges), claims: new ReverseClaims(ranges, opts.operatorNamespace) };
  })());

  const parsed = yield* parseResourcesSteps(s, cache, verdicts);
  // A DNSZone at or inside a cluster reverse zone would replace the cluster's PTRs: refused.
  for (const z of parsed.zones) {
    const clash = clusterRangeClash(z.p.domain, rev.ranges);
    if (clash && !verdicts.has(z.p.meta)) verdicts.reject(z.p.meta, 'Conflict', clash);
  }
  phase('parse');
  yield;
  const domains = decideDomains(parsed, s.namespaces, clusterZone, opts.operatorNamespace, verdicts, cache);
  phase('domains');
  yield;
  const svcByNs = yield* indexServicesSteps(s, cache);
  phase('index');
  yield;
  const shards = yield* buildServiceShardsSteps(svcByNs, cache, clusterZone);
  for (const shard of rev.shards) shards.push(shard);
  phase('services');
  yield;
  const contributors = yield* collectContributorsSteps(parsed, domains, svcByNs, s.namespaces, cache, verdicts, s, opts);
  phase('contributors');
  yield;
  const claims = yield* resolveClaimsSteps(contributors, domains, parsed.staticHosts, cache);
  phase('claims');
  yield;
  // PTR tenancy: refused PTRs leave the Services shards (replaced in `shards`) and the contributions.
  const zoneByShard = new Map<string, ParsedZone>([...domains.acceptedZones.values()].map((z) => [shardIdOfZone(z.p.domain), z.p]));
  const ptrs = yield* rev.claims.applySteps(shards, claims.contributions, zoneByShard);
  const effective = withoutRefusedPtrs(claims, ptrs.contributions, cache);
  judgeStaticHosts(effective, parsed.staticHosts, verdicts, ptrs.refusals, cache);
  phase('reverse');
  yield;
  for (const shard of buildConfigShards(domains, effective, clusterZone, cache, verdicts, rev.ranges)) shards.push(shard);
  shards.sort((a, b) => byString(a.id, b.id));
  phase('shards');
  yield;
  const bundle: ConfigBundle = { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
  const metas: Meta[] = [];
  for (const z of parsed.zones) metas.push(z.p.meta);
  for (const f of parsed.forwarders) metas.push(f.meta);
  for (let i = 0; i < parsed.staticHosts.length; i++) metas.push(parsed.staticHosts[i]!.meta); // indexed: no iterator result per item in this generator
  const resources = buildStatuses(metas, verdicts, cache.statuses, cache);
  // Services have no status: their refused PTRs are reported here (validate prints them).
  const notices = [...ptrs.refusals].filter(([owner]) => owner.startsWith('Service ')).flatMap(([owner, l]) => l.map((r) => ({ ref: owner.replace(' ', '/'), reason: r.reason, message: r.message })));
  phase('statuses');
  return { bundle, resources, notices };
}

/**
 * The claims outcome with the PTR-filtered contributions. The same object as last time while the
 * claims outcome and every filtered contribution are (the shards phase keys its memos on it).
 */
function withoutRefusedPtrs(claims: ClaimsOutcome, contributions: Map<string, Contribution[]>, cache: CompileCache): ClaimsOutcome {
  const prev = cache.ptrClaims;
  if (prev && prev.base === claims && sameContributions(prev.outcome.contributions, contributions)) return prev.outcome;
  const outcome: ClaimsOutcome = { ...claims, contributions };
  cache.ptrClaims = { base: claims, outcome };
  return outcome;
}

function sameContributions(a: ReadonlyMap<string, Contribution[]>, b: ReadonlyMap<string, Contribution[]>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, la] of a) {
    const lb = b.get(k);
    if (lb === undefined || lb.length !== la.length) return false;
    for (let i = 0; i < la.length; i++) if (la[i] !== lb[i]) return false;
  }
  return true;
}
