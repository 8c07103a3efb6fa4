// compile(): a Snapshot of raw objects → the generated configuration (a bundle of shards) and
// the status of every custom resource, in named phases (docs/compiler.md):
//   parse → domains → index, services (cluster-service shards) → contributors → claims
//   → shards (zone, hosts, forwarders) → statuses
// Pure: no I/O, no clock, sorted output. What is remembered between calls is one CompileCache,
// made by createCompiler() and passed to the phases; a one-shot compile() uses a fresh one.

import type { ConfigBundle } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { CompileCache } from './cache.js';
import { judgeStaticHosts, resolveClaims } from './claims.js';
import { buildConfigShards } from './config-shards.js';
import { collectContributors } from './contributors.js';
import { decideDomains } from './domains.js';
import { byString, toFqdn } from './names.js';
import { parseResources } from './parse-crs.js';
import { buildServiceShards, indexServices } from './service-shards.js';
import { Verdicts, buildStatuses } from './status.js';
import type { CompileOptions, CompileResult, Compiler, Snapshot } from './types.js';

/** A compiler that remembers, between calls, what did not change (its CompileCache lives as long as it does). */
export function createCompiler(opts: CompileOptions): Compiler {
  const cache = new CompileCache();
  return { compile: (s) => compileWith(s, opts, cache) };
}

/** One-shot compile (a fresh cache, dropped on return). */
export function compile(s: Snapshot, opts: CompileOptions): CompileResult {
  return compileWith(s, opts, new CompileCache());
}

function compileWith(s: Snapshot, opts: CompileOptions, cache: CompileCache): CompileResult {
  const clusterZone = toFqdn(opts.clusterDomain);
  const phase = opts.onPhase ?? (() => {});
  const verdicts = new Verdicts();

  const parsed = parseResources(s, cache, verdicts);
  phase('parse');
  const domains = decideDomains(parsed, s.namespaces, clusterZone, opts.operatorNamespace, verdicts);
  phase('domains');
  const svcByNs = indexServices(s, cache);
  phase('index');
  const shards = buildServiceShards(svcByNs, cache, clusterZone);
  phase('services');
  const contributors = collectContributors(parsed, domains, svcByNs, s.namespaces, cache, verdicts);
  phase('contributors');
  const claims = resolveClaims(contributors, domains, parsed.staticHosts, cache);
  judgeStaticHosts(claims, parsed.staticHosts, verdicts);
  phase('claims');
  for (const shard of buildConfigShards(domains, claims, clusterZone, cache, verdicts)) shards.push(shard);
  shards.sort((a, b) => byString(a.id, b.id));
  phase('shards');
  const bundle: ConfigBundle = { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
  const resources = buildStatuses([...parsed.zones.map((z) => z.p.meta), ...parsed.forwarders.map((f) => f.meta), ...parsed.staticHosts.map((h) => h.meta)], verdicts);
  phase('statuses');
  return { bundle, resources };
}
