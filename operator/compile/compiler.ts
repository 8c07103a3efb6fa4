// compile(): a Snapshot of raw objects → the generated configuration (a bundle of shards) and
// the status of every custom resource. Pure: no I/O, no clock but the injected `now`, sorted
// output. createCompiler() keeps the parsed objects and the last shard of every namespace and
// zone, keyed on the identity of their inputs, so a recompile after one change rebuilds one
// shard. The rules (delegation, conflicts, precedence) are written down in docs/compiler.md.

import type { ConfigBundle, ForwardersShard, HostsShard, Shard } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { NameClaims } from './claims.js';
import { buildServicesShard, parseService, parseSlice, readyEndpoints } from './cluster-services.js';
import type { SliceInfo } from './cluster-services.js';
import { byAge, readMeta } from './meta.js';
import { Identities, cached } from './compile-state.js';
import type { ClaimsOutcome, Contributor, SliceEntry, SvcEntry } from './compile-state.js';
import type { Meta, Raw } from './meta.js';
import { toFqdn, byString } from './names.js';
import { parseForwarder, parseStaticHost, parseZone } from './parse-crs.js';
import type { ParsedForwarder, ParsedStaticHost, ParsedZone } from './parse-crs.js';
import { RRSetBag, hashShard, sortKeys } from './rrsets.js';
import { claimDomains } from './domains.js';
import { Permissions } from './permissions.js';
import { buildConditions } from './status.js';
import type { Verdict } from './status.js';
import type { CompileOptions, CompileResult, Compiler, ResourceResult, Snapshot } from './types.js';
import { buildClusterZoneShard, buildZoneShard, shardIdOfZone } from './zones.js';
import { ReverseClaims, refusedPart } from './reverse-claims.js';
import { DEFAULT_POD_CIDRS, DEFAULT_SERVICE_CIDRS, buildClusterReverseShards, clusterRangeClash, clusterRanges, recordsInClusterRanges } from './reverse-zones.js';
import type { BuiltZone, Contribution } from './zones.js';

/** The annotation that names a Service's published hostname in a DNSZone. */
export const HOSTNAME_ANNOTATION = 'splitdns.io/hostname';

const describe = (meta: Meta): string => `${meta.kind} ${meta.key}`;

export function createCompiler(opts: CompileOptions): Compiler & { compile(s: Snapshot, now?: Date): CompileResult; /** ms per phase of the last compile (bench) */ phases(): [string, number][] } {
  const clusterZone = toFqdn(opts.clusterDomain);
  const ids = new Identities();
  const zoneCache = new WeakMap<object, ParsedZone>();
  const fwdCache = new WeakMap<object, ParsedForwarder>();
  const hostCache = new WeakMap<object, ParsedStaticHost>();
  // Strong maps swept of objects gone from the snapshot: cheaper for the GC than WeakMaps of
  // 100,000 entries (ephemerons are traced on every scavenge).
  const svcCache = new Map<object, SvcEntry>();
  const sliceCache = new Map<object, SliceEntry>();
  /** Live slice entries by "<namespace>/<service>" (removed when their object leaves the snapshot; lists are replaced, never mutated in place, when one goes). */
  const slicesBySvc = new Map<string, SliceEntry[]>();
  let generation = 0;
  let claimsMemo: { key: string; outcome: ClaimsOutcome } | undefined;
  let hostsMemo: { key: string; shard: Shard } | undefined;
  let lastZonesKey = '';
  const servicesMemo = new Map<string, { entries: object[]; sortedKey: string; shard: Shard }>();
  const zoneMemo = new Map<string, { key: string; built: BuiltZone }>();
  let clusterShard: Shard | undefined;
  let lastPhases: [string, number][] = [];
  // Reverse names (reverse-zones.ts, reverse-claims.ts): the cluster's ranges are served authoritatively; PTRs obey tenancy.
  const clusterReverse = clusterRanges(opts.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS, opts.podCIDRs ?? DEFAULT_POD_CIDRS);
  const clusterReverseShards = buildClusterReverseShards(clusterZone, clusterReverse);
  const reverseClaims = new ReverseClaims(clusterReverse, opts.operatorNamespace);
  /** Small shards rebuilt every time: keep the previous object when the hash did not move. */
  const lastById = new Map<string, Shard>();
  const reuse = (s: Shard): Shard => {
    const prev = lastById.get(s.id);
    if (prev && prev.hash === s.hash) return prev;
    lastById.set(s.id, s);
    return s;
  };

  function compile(s: Snapshot, now: Date = opts.now): CompileResult {
    const t0 = performance.now();
    const phases: [string, number][] = [];
    const mark = (name: string) => phases.push([name, performance.now()]);
    const zones = s.zones.map((o) => ({ p: cached(zoneCache, o, parseZone), id: ids.of(o) }));
    const fwds = s.forwarders.map((o) => cached(fwdCache, o, parseForwarder));
    const hosts = s.staticHosts.map((o) => cached(hostCache, o, parseStaticHost));
    const hostIds = new Map(s.staticHosts.map((o, i) => [hosts[i].meta, ids.of(o)]));
    const verdicts = new Map<Meta, Verdict>();
    const figures = new Map<Meta, Record<string, unknown>>();
    const shardsOf = new Map<Meta, string[]>();
    const reject = (m: Meta, reason: 'InvalidSpec' | 'NotPermitted' | 'Conflict', message: string) => verdicts.set(m, { accepted: false, reason, message });
    for (const z of zones) if (z.p.errors.length) reject(z.p.meta, 'InvalidSpec', z.p.errors.join('; '));
    for (const f of fwds) if (f.errors.length) reject(f.meta, 'InvalidSpec', f.errors.join('; '));
    for (const h of hosts) if (h.errors.length) reject(h.meta, 'InvalidSpec', h.errors.join('; '));
    for (const z of zones) { const clash = clusterRangeClash(z.p.domain, clusterReverse); if (clash && !verdicts.has(z.p.meta)) reject(z.p.meta, 'Conflict', clash); }

    mark('parse');
    // Namespaces and their labels (delegation and service selection by namespace labels).
    const nsLabels = new Map<string, Record<string, string>>();
    for (const n of s.namespaces) { const m = readMeta('Service', n as Raw); nsLabels.set(m.name, m.labels); }

    mark('namespaces');
    // Domains: zones and forwarders claim theirs, oldest first; the cluster domain is taken.
    const { acceptedZones, acceptedFwds } = claimDomains(
      zones.filter((z) => !verdicts.has(z.p.meta)), fwds.filter((f) => !verdicts.has(f.meta)), clusterZone,
      (m, message) => reject(m, 'Conflict', message),
    );
    const perm = new Permissions(acceptedZones, nsLabels, opts.operatorNamespace, clusterZone);
    const zoneOf = (name: string) => perm.zoneOf(name);

    mark('domains');
    // Cluster Services, grouped by namespace. The parse caches persist across compiles and are
    // swept of objects no longer in the snapshot (no per-compile copies: on a 100,000-endpoint
    // cluster the garbage collector's work is what a recompile mostly costs).
    const gen = ++generation;
    const svcByNs = new Map<string, SvcEntry[]>();
    for (const o of s.services) {
      let e = svcCache.get(o);
      if (e === undefined) {
        const svc = parseService(o as Raw);
        svcCache.set(o, (e = { svc, id: ids.fresh(o), key: `${svc.meta.namespace ?? 'default'}/${svc.meta.name}`, gen }));
      }
      e.gen = gen;
      const ns = e.svc.meta.namespace ?? 'default';
      let l = svcByNs.get(ns);
      if (!l) svcByNs.set(ns, (l = []));
      l.push(e);
    }
    // Slices by "<namespace>/<service>", kept across compiles and changed only for slices that
    // appeared or went away (each compile only marks the ones it sees).
    for (const o of s.endpointSlices) {
      let e = sliceCache.get(o);
      if (e === undefined) {
        const p = parseSlice(o as Raw);
        sliceCache.set(o, (e = p ? { slice: p, id: ids.fresh(o), key: `${p.namespace}/${p.service}`, gen } : { slice: undefined, id: '', key: '', gen }));
        if (e.slice !== undefined) {
          const l = slicesBySvc.get(e.key);
          if (l === undefined) slicesBySvc.set(e.key, [e]); else l.push(e);
        }
      }
      e.gen = gen;
    }
    if (svcCache.size > s.services.length) for (const [o, e] of svcCache) if (e.gen !== gen) svcCache.delete(o);
    if (sliceCache.size > s.endpointSlices.length) {
      for (const [o, e] of sliceCache) {
        if (e.gen === gen) continue;
        sliceCache.delete(o);
        const l = e.slice !== undefined ? slicesBySvc.get(e.key) : undefined;
        if (l === undefined) continue;
        const rest = l.filter((x) => x !== e);
        if (rest.length) slicesBySvc.set(e.key, rest); else slicesBySvc.delete(e.key);
      }
    }
    const NONE: readonly SliceEntry[] = [];
    const sliceEntriesOf = (svcKey: string): readonly SliceEntry[] => slicesBySvc.get(svcKey) ?? NONE;
    const slicesOf = (svcKey: string): SliceInfo[] => sliceEntriesOf(svcKey).map((x) => x.slice!);
    mark('group');
    const shards: Shard[] = [];
    const liveNs = new Set<string>();
    for (const [ns, list] of svcByNs) {
      liveNs.add(ns);
      // Fast path: the same input entries in the same order as last time (informer caches
      // keep their order), compared by identity without allocating; otherwise the sorted
      // identity key decides.
      const memo = servicesMemo.get(ns);
      if (memo) {
        const prev = memo.entries;
        let i = 0, same = true;
        for (const e of list) {
          if (prev[i++] !== e) { same = false; break; }
          for (const y of sliceEntriesOf(e.key)) if (prev[i++] !== y) { same = false; break; }
          if (!same) break;
        }
        if (same && i === prev.length) { shards.push(memo.shard); continue; }
      }
      const entries: object[] = [];
      for (const e of list) { entries.push(e); for (const x of sliceEntriesOf(e.key)) entries.push(x); }
      list.sort((a, b) => byString(a.svc.meta.name, b.svc.meta.name));
      let sortedKey = clusterZone;
      for (const { id, key } of list) {
        sortedKey += '|' + id;
        for (const x of [...sliceEntriesOf(key)].sort((a, b) => byString(a.slice!.key, b.slice!.key))) sortedKey += ',' + x.id;
      }
      if (memo && memo.sortedKey === sortedKey) { memo.entries = entries; shards.push(memo.shard); continue; }
      const bySvc = new Map<string, SliceInfo[]>();
      for (const e of list) bySvc.set(e.svc.meta.name, slicesOf(e.key).sort((a, b) => byString(a.key, b.key)));
      const shard = buildServicesShard(clusterZone, ns, list.map((x) => x.svc), bySvc);
      servicesMemo.set(ns, { entries, sortedKey, shard });
      shards.push(shard);
    }
    for (const ns of servicesMemo.keys()) if (!liveNs.has(ns)) servicesMemo.delete(ns);
    clusterShard ??= buildClusterZoneShard(clusterZone);
    shards.push(clusterShard);
    shards.push(...clusterReverseShards);

    mark('services');
    // Names inside zones and the hosts shard: zone records first, then contributors by age.
    const claims = new NameClaims();
    for (const { p } of acceptedZones.values()) {
      const owner = describe(p.meta);
      claims.claim(p.domain, 'SOA', owner);
      for (const r of p.records) claims.claim(r.name, r.type, owner);
    }
    
    const contributions = new Map<string, Contribution[]>(); // shard id → contributions
    const zoneNotes = new Map<string, { services: number; skipped: string[] }>();
    const contributors: Contributor[] = [];

    for (const h of hosts) {
      if (verdicts.has(h.meta)) continue;
      contributors.push({ meta: h.meta, ident: hostIds.get(h.meta)!, build: () => perm.placeStaticHost(h, hostIds.get(h.meta)!) });
    }

    mark('hosts');
    // Published Services: selected by a zone's spec.services, or named by the annotation.
    const zoneByShard = new Map([...acceptedZones.values()].map((z) => [shardIdOfZone(z.p.domain), z.p]));
    const hostByMeta = new Map(hosts.map((h) => [h.meta, h]));
    // Which zones publish a Service depends on the Service and on the accepted zones and the
    // namespaces' labels: remembered per Service entry while those stay the same.
    const zonesKeyNow = [...acceptedZones.values()].map((z) => z.id).join(',') + '|' + s.namespaces.map((n) => ids.of(n)).join(',');
    // Interned: equal keys are then the same string, compared by pointer below.
    const zonesKey = zonesKeyNow === lastZonesKey ? lastZonesKey : (lastZonesKey = zonesKeyNow);
    for (const [ns, list] of svcByNs) {
      for (const entry of list) {
        const { svc, id } = entry;
        let targets: { zone: ParsedZone; name: string }[];
        if (entry.targets && entry.targets.key === zonesKey) targets = entry.targets.list;
        else {
          targets = [];
          const ann = svc.hostnameAnnotation;
          if (ann !== undefined) {
            const name = toFqdn(ann);
            const z = zoneOf(name);
            if (z && (perm.delegatedName(z.p, ns, name) || perm.selects(z.p, svc))) targets.push({ zone: z.p, name });
          } else {
            for (const { p } of acceptedZones.values()) if (perm.selects(p, svc)) targets.push({ zone: p, name: `${svc.meta.name}.${ns}.${p.domain}` });
          }
          entry.targets = { key: zonesKey, list: targets };
        }
        if (targets.length === 0) continue;
        // Same Service object, same single EndpointSlice object, same zones: same contributor.
        const sl = sliceEntriesOf(entry.key);
        if (entry.contributor !== undefined && entry.contributorZonesKey === zonesKey && sl.length <= 1 && entry.contributorSlice === (sl[0] ?? null)) {
          contributors.push(entry.contributor);
          continue;
        }
        entry.contributorSlice = sl.length <= 1 ? sl[0] ?? null : undefined;
        let ident = id;
        for (const x of sliceEntriesOf(entry.key)) ident += ',' + x.id;
        if (entry.contributor === undefined || entry.contributor.ident !== ident || entry.contributorZonesKey !== zonesKey) {
          entry.contributorZonesKey = zonesKey;
          // Built from this entry's own data only, so it can be kept with the entry.
          const slices = slicesOf(entry.key);
          entry.contributor = {
            meta: svc.meta,
            ident,
            skipZones: targets.map((t) => t.zone),
            build: () => {
              const placements = new Map<string, Contribution>();
              for (const t of targets) {
                const c: Contribution = { owner: describe(svc.meta), ident, records: [], reverse: [] };
                if (svc.type === 'ExternalName') {
                  if (svc.externalName) c.records.push({ name: t.name, type: 'CNAME', ttl: t.zone.ttl, data: toFqdn(svc.externalName) });
                } else {
                  const addrs = svc.headless ? readyEndpoints(svc, slices).map((e) => e.addr) : svc.lbIngress.length ? svc.lbIngress : svc.clusterIPs;
                  for (const a of addrs) c.records.push({ name: t.name, type: a.family === 4 ? 'A' : 'AAAA', ttl: t.zone.ttl, data: a.ip });
                }
                if (c.records.length) placements.set(shardIdOfZone(t.zone.domain), c);
              }
              return { placements };
            },
          };
        }
        contributors.push(entry.contributor);
      }
    }
    function note(z: ParsedZone) {
      let n = zoneNotes.get(z.domain);
      if (!n) zoneNotes.set(z.domain, (n = { services: 0, skipped: [] }));
      return n;
    }

    mark('published');
    // The claims are remembered: when the same contributors (by identity) meet the same zones,
    // the outcome is the same, so a change elsewhere in the cluster skips this phase.
    const claimsKey = zonesKey + '#' + contributors.map((c) => c.ident).join('|');
    let outcome: ClaimsOutcome;
    if (claimsMemo && claimsMemo.key === claimsKey) outcome = claimsMemo.outcome;
    else {
      outcome = { rejected: [], accepted: [], contributions: new Map(), zoneNotes: new Map() };
      runClaims(outcome);
      claimsMemo = { key: claimsKey, outcome };
    }
    const hostByKey = new Map(hosts.map((h) => [h.meta.key, h.meta]));
    for (const [key, v] of outcome.rejected) verdicts.set(hostByKey.get(key)!, v);
    for (const [key, ids2, fig] of outcome.accepted) { const m = hostByKey.get(key)!; shardsOf.set(m, ids2); figures.set(m, fig); }
    if (outcome.contributions !== contributions) for (const [k, v] of outcome.contributions) contributions.set(k, v);
    if (outcome.zoneNotes !== zoneNotes) for (const [k, v] of outcome.zoneNotes) zoneNotes.set(k, v);

    function runClaims(outcome: ClaimsOutcome): void {
    outcome.contributions = contributions;
    outcome.zoneNotes = zoneNotes;
    contributors.sort((a, b) => byAge(a, b) || byString(a.meta.kind, b.meta.kind));
    for (const c of contributors) {
      const r = c.build();
      if ('accepted' in r) { reject(c.meta, r.reason, r.message); outcome.rejected.push([c.meta.key, r]); continue; }
      const owner = describe(c.meta);
      // Every conflict is named (validate reports them all), not just the first.
      const conflicts: string[] = [];
      for (const p of r.placements.values()) {
        for (const rec of p.records) { const by = claims.blocker(rec.name, rec.type, owner); if (by) conflicts.push(`${rec.name} ${rec.type} is already claimed by ${by}`); }
      }
      const blocked = conflicts.length ? [...new Set(conflicts)].join('; ') : undefined;
      if (blocked) {
        if (c.meta.kind === 'StaticHost') { reject(c.meta, 'Conflict', blocked); outcome.rejected.push([c.meta.key, { accepted: false, reason: 'Conflict', message: blocked }]); }
        else for (const z of c.skipZones ?? []) note(z).skipped.push(`Service ${c.meta.key}: ${blocked}`);
        continue;
      }
      for (const [shardId, p] of r.placements) {
        for (const rec of p.records) claims.claim(rec.name, rec.type, owner);
        let l = contributions.get(shardId);
        if (!l) contributions.set(shardId, (l = []));
        l.push(p);
      }
      if (c.meta.kind === 'StaticHost') {
        const h = hostByMeta.get(c.meta)!;
        outcome.accepted.push([c.meta.key, [...r.placements.keys()].sort(), { hostnames: h.hostnames.length, addresses: h.addresses.length }]);
      } else {
        for (const shardId of r.placements.keys()) {
          const z = zoneByShard.get(shardId);
          if (z) note(z).services++;
        }
      }
    }

    }

    mark('claims');
    // PTR tenancy: refused PTRs leave the Services shards (replaced in `shards`) and the contributions.
    const ptrs = reverseClaims.apply(shards, contributions, zoneByShard);
    mark('reverse');
    // Zone shards (memoised on the zone object and what was contributed to it).
    const liveZones = new Set<string>();
    for (const { p, id } of acceptedZones.values()) {
      const shardId = shardIdOfZone(p.domain);
      const contribs = ptrs.contributions.get(shardId) ?? [];
      let key = id;
      for (const c of contribs) key += '|' + c.owner + '@' + (c.ident || JSON.stringify(c.records) + JSON.stringify(c.reverse));
      liveZones.add(shardId);
      let memo = zoneMemo.get(shardId);
      if (!memo || memo.key !== key) zoneMemo.set(shardId, (memo = { key, built: buildZoneShard(p, contribs) }));
      shards.push(memo.built.shard);
      shardsOf.set(p.meta, [shardId]);
      const n = zoneNotes.get(p.domain);
      figures.set(p.meta, { records: memo.built.records, services: n?.services ?? 0 });
      let message = `Serving ${memo.built.records} records for ${p.domain}`;
      if (n?.skipped.length) message += `; not published: ${n.skipped.slice(0, 3).join('; ')}${n.skipped.length > 3 ? ` (and ${n.skipped.length - 3} more)` : ''}`;
      const refused = recordsInClusterRanges(p.records, clusterReverse);
      verdicts.set(p.meta, { accepted: true, message, ...(refused && { refused }) });
    }
    for (const id of zoneMemo.keys()) if (!liveZones.has(id)) zoneMemo.delete(id);

    mark('zones');
    // Hosts outside every zone (operator namespace only).
    const hostContribs = ptrs.contributions.get('hosts') ?? [];
    const hostsKey = hostContribs.map((c) => c.owner + '@' + c.ident).join('|');
    if (hostContribs.length && hostsMemo?.key === hostsKey) shards.push(hostsMemo.shard);
    else if (hostContribs.length) {
      const bag = new RRSetBag();
      const rev = new RRSetBag();
      for (const c of hostContribs) {
        for (const r of c.records) bag.add(r.name, r.type, r.ttl, r.data);
        for (const p of c.reverse) rev.add(p.name, 'PTR', p.ttl, p.target);
      }
      hostsMemo = { key: hostsKey, shard: reuse(hashShard({ apiVersion: CONFIG_API_VERSION, id: 'hosts', kind: 'hosts', reverse: rev.toRRSets(), rrsets: bag.toRRSets() } as Omit<HostsShard, 'hash'>) as HostsShard) };
      shards.push(hostsMemo.shard);
    }

    // Forwarders.
    const fwdList = acceptedFwds.map((f) => f.forwarder).sort((a, b) => byString(a.name, b.name));
    shards.push(reuse(hashShard({ apiVersion: CONFIG_API_VERSION, forwarders: sortKeys(fwdList), id: 'forwarders', kind: 'forwarders', reverse: [] } as Omit<ForwardersShard, 'hash'>) as ForwardersShard));
    for (const f of acceptedFwds) {
      verdicts.set(f.meta, { accepted: true, message: `Forwarding ${f.forwarder.domains.join(', ')} to ${f.forwarder.upstreams.length} upstream(s)` });
      shardsOf.set(f.meta, ['forwarders']);
      figures.set(f.meta, { domains: f.forwarder.domains.length, upstreams: f.forwarder.upstreams.length });
    }
    for (const h of hosts) {
      if (!verdicts.has(h.meta)) {
        const where = shardsOf.get(h.meta) ?? [];
        verdicts.set(h.meta, { accepted: true, message: `Serving ${h.hostnames.join(', ')} in ${where.join(', ')}`, ...refusedPart(ptrs.refusals.get(describe(h.meta))) });
      }
    }

    mark('forwarders');
    shards.sort((a, b) => byString(a.id, b.id));
    const bundle: ConfigBundle = { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards };
    const metas = [...zones.map((z) => z.p.meta), ...fwds.map((f) => f.meta), ...hosts.map((h) => h.meta)];
    const resources: ResourceResult[] = metas.map((m) => {
      const v = verdicts.get(m) ?? { accepted: false as const, reason: 'InvalidSpec' as const, message: 'not compiled' };
      const base: ResourceResult = {
        kind: m.kind as ResourceResult['kind'], name: m.name, generation: m.generation,
        status: { observedGeneration: m.generation, conditions: buildConditions(m, v, now), ...(v.accepted ? figures.get(m) : {}) },
        shardIds: v.accepted ? shardsOf.get(m) ?? [] : [],
      };
      if (m.namespace !== undefined) base.namespace = m.namespace;
      if (m.uid !== undefined) base.uid = m.uid;
      return base;
    });
    mark('statuses');
    lastPhases = phases.map(([n, t], i) => [n, t - (i ? phases[i - 1][1] : t0)]);
    resources.sort((a, b) => byString(a.kind, b.kind) || byString(a.namespace ?? '', b.namespace ?? '') || byString(a.name, b.name));
    const notices = [...ptrs.refusals].filter(([owner]) => owner.startsWith('Service ')).flatMap(([owner, l]) => l.map((r) => ({ ref: owner.replace(' ', '/'), reason: r.reason, message: r.message })));
    return { bundle, resources, notices };
  }

  return { compile, phases: () => lastPhases };
}

/** One-shot compile. */
export function compile(s: Snapshot, opts: CompileOptions): CompileResult {
  return createCompiler(opts).compile(s);
}
