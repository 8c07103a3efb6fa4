// Resolution: from the current tables, a query name and type to an outcome. Pure: no I/O, no
// clock; the tables are immutable. The handler (handler.ts) uses the prepared answers directly
// for the common cases and calls planAnswer() for the rest (wildcards, CNAME chains that leave
// their shard, ANY); build.ts calls planAnswer() with a one-table scope to prepare answers.

import { RCODE, TYPE } from './wire/constants.js';
import { nameToKey, parentKey } from './wire/name.js';
import type { Plan, PlanRR } from './wire/response.js';
import type { NameNode, NameTable, ServicesTable, Tables, ZoneTable } from './tables/types.js';

/** Where a name lives. */
export type Location =
  | { kind: 'zone'; zone: ZoneTable; table: NameTable; /** offset of the zone's origin inside the key */ originOffset: number; /** the name is `<ns>.svc.<zone>` or above it, with no table of its own */ clusterEnt?: boolean }
  | { kind: 'hosts'; table: NameTable; node: NameNode }
  | { kind: 'reverse'; node: NameNode }
  | { kind: 'none' };

const SVC = '\x03svc';
const ARPA = '\x04arpa\x00';

/** Finds the table responsible for `key`: the longest zone, the cluster namespace shard, hosts, the reverse index. */
export function locate(t: Tables, key: string): Location {
  // The reverse index (PTRs the compiler let through) answers first, also inside an authoritative reverse zone (the cluster's Service and Pod CIDRs, docs/compiler.md).
  if (key.endsWith(ARPA)) { const rev = t.reverse.get(key); if (rev !== undefined) return { kind: 'reverse', node: rev.node }; }
  const zones = t.zones;
  for (let off = 0; off < key.length; off += key.charCodeAt(off) + 1) {
    const zone = zones.get(off === 0 ? key : key.substring(off));
    if (zone === undefined) { if (key.charCodeAt(off) === 0) break; continue; }
    if (zone.clusterDomain && off >= 4) {
      const s = off - 4; // "\x03svc" right before the origin?
      if (key.substring(s, off) === SVC && (s === 0 || labelStartsAt(key, s))) {
        if (s === 0) return { kind: 'zone', zone, table: zone, originOffset: off, clusterEnt: true };
        const ns = namespaceBefore(key, s);
        if (ns === undefined) return { kind: 'zone', zone, table: zone, originOffset: off };
        const table = t.services.get(zone.originKey + '|' + ns.label);
        if (table === undefined) return { kind: 'zone', zone, table: EMPTY_TABLE, originOffset: off };
        return { kind: 'zone', zone, table, originOffset: off, clusterEnt: ns.start === 0 };
      }
    }
    return { kind: 'zone', zone, table: zone, originOffset: off };
  }
  const hosts = t.hosts;
  const host = hosts?.names.get(key);
  if (host !== undefined) return { kind: 'hosts', table: hosts!, node: host };
  const rev = t.reverse.get(key);
  if (rev !== undefined) return { kind: 'reverse', node: rev.node };
  return { kind: 'none' };
}

const EMPTY_TABLE: NameTable = { names: new Map(), ents: new Set(), wildcardParents: new Set() };

function labelStartsAt(key: string, at: number): boolean {
  for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) { if (i === at) return true; if (i > at) return false; }
  return false;
}

/** The label that ends right at offset `end` (the namespace before ".svc."). */
function namespaceBefore(key: string, end: number): { label: string; start: number } | undefined {
  let prev = -1;
  for (let i = 0; i < end; i += key.charCodeAt(i) + 1) prev = i;
  if (prev < 0) return undefined;
  return { label: key.substring(prev + 1, end), start: prev };
}

/** A lookup scope for planAnswer: the whole tables at query time, one table at build time. */
export interface Scope {
  /** The node at `key` and the negative-answer zone, or why there is none. */
  find(key: string): Found;
}

export type Found =
  | { kind: 'node'; node: NameNode; zone: ZoneTable | undefined; table: NameTable }
  | { kind: 'ent'; zone: ZoneTable | undefined }
  | { kind: 'nxdomain'; zone: ZoneTable | undefined }
  /** Not ours (outside every zone) or, at build time, outside the table being built. */
  | { kind: 'outside' };

/** Scope over the live tables (query time). */
export function tablesScope(t: Tables): Scope {
  return {
    find(key: string): Found {
      const loc = locate(t, key);
      switch (loc.kind) {
        case 'none': return { kind: 'outside' };
        case 'reverse': return { kind: 'node', node: loc.node, zone: undefined, table: EMPTY_TABLE };
        case 'hosts': return { kind: 'node', node: loc.node, zone: undefined, table: loc.table };
        case 'zone': return findInTable(loc.table, key, loc.zone, loc.clusterEnt === true);
      }
    },
  };
}

/** Scope over one table (build time). Names outside `base` are "outside". */
export function tableScope(table: NameTable, zone: ZoneTable | undefined, baseKey: string): Scope {
  return {
    find(key: string): Found {
      if (!(key === baseKey || (key.endsWith(baseKey) && labelStartsAt(key, key.length - baseKey.length)))) return { kind: 'outside' };
      return findInTable(table, key, zone, false);
    },
  };
}

function findInTable(table: NameTable, key: string, zone: ZoneTable | undefined, ent: boolean): Found {
  const node = table.names.get(key);
  if (node !== undefined) return { kind: 'node', node, zone, table };
  if (ent || table.ents.has(key)) return { kind: 'ent', zone };
  const wild = wildcardFor(table, key);
  if (wild !== undefined) return { kind: 'node', node: wild, zone, table };
  return { kind: 'nxdomain', zone };
}

/**
 * RFC 4592 §3.3.1: the closest encloser is the longest existing ancestor (data or ENT); the
 * wildcard "*.<closest encloser>" answers when it exists. Returns the wildcard's node.
 */
export function wildcardFor(table: NameTable, key: string): NameNode | undefined {
  if (table.wildcardParents.size === 0) return undefined;
  let p = parentKey(key);
  while (p !== undefined) {
    if (table.wildcardParents.has(p)) return table.names.get('\x01*' + p);
    if (table.names.has(p) || table.ents.has(p)) return undefined; // closest encloser without a wildcard
    p = parentKey(p);
  }
  return undefined;
}

const MAX_CHAIN = 8;

function pushRRSet(out: PlanRR[], owner: string, type: number, ttl: number, data: readonly unknown[], rotation: number): void {
  const n = data.length;
  const r = n > 1 ? rotation % n : 0;
  for (let i = 0; i < n; i++) out.push({ owner, type, ttl, data: data[(i + r) % n] });
}

function soaRR(zone: ZoneTable): PlanRR {
  const s = zone.soa;
  return { owner: zone.origin, type: TYPE.SOA, ttl: Math.min(s.minimum, s.ttl), data: s };
}

/**
 * The plan for (qname, qtype) starting at a found node, or undefined when the answer leaves
 * the scope (build time: not preparable). `qname` is the dotted lower-case query name (a
 * wildcard's records are synthesised under it).
 */
export function planAnswer(scope: Scope, first: Found, qname: string, qtype: number, rotation: number): Plan | undefined {
  const plan: Plan = { rcode: RCODE.NOERROR, aa: true, answer: [], authority: [], additional: [] };
  let found = first;
  let owner = qname;
  const seen = new Set<string>();
  for (let hop = 0; ; hop++) {
    if (found.kind === 'outside') {
      if (hop === 0) return undefined;
      break; // CNAME target outside our data: the client's resolver follows it
    }
    if (found.kind === 'ent' || found.kind === 'nxdomain') {
      if (found.kind === 'nxdomain') plan.rcode = RCODE.NXDOMAIN; // RFC 6604: the rcode of the last name
      if (found.zone !== undefined) plan.authority.push(soaRR(found.zone)); // hosts/reverse have no SOA
      break;
    }
    const node = found.node;
    if (qtype === TYPE.ANY) {
      for (const rs of node.rrsets.values()) pushRRSet(plan.answer, owner, rs.type, rs.ttl, rs.data, 0);
      break;
    }
    const rs = node.rrsets.get(qtype);
    if (rs !== undefined) { pushRRSet(plan.answer, owner, rs.type, rs.ttl, rs.data, rotation); break; }
    const cname = node.rrsets.get(TYPE.CNAME);
    if (cname === undefined || qtype === TYPE.CNAME) {
      if (found.zone !== undefined) plan.authority.push(soaRR(found.zone)); // NODATA
      break;
    }
    plan.answer.push({ owner, type: TYPE.CNAME, ttl: cname.ttl, data: cname.data[0] });
    const target = cname.data[0] as string;
    if (seen.has(target) || hop >= MAX_CHAIN) break; // loop or too long: give what we have
    seen.add(owner);
    owner = target;
    let tkey: string;
    try { tkey = nameToKey(target); } catch { break; }
    found = scope.find(tkey);
  }
  addAdditional(scope, plan);
  return plan;
}

/** SRV, MX and NS targets' addresses we hold go in the additional section (RFC 2782, RFC 1035 §3.3.9). */
function addAdditional(scope: Scope, plan: Plan): void {
  const targets: string[] = [];
  for (const rr of plan.answer) {
    if (rr.type === TYPE.SRV) targets.push((rr.data as { target: string }).target);
    else if (rr.type === TYPE.MX) targets.push((rr.data as { exchange: string }).exchange);
    else if (rr.type === TYPE.NS) targets.push(rr.data as string);
  }
  if (targets.length === 0) return;
  const done = new Set<string>();
  for (const target of targets) {
    if (done.has(target) || target === '.') continue;
    done.add(target);
    let f: Found;
    try { f = scope.find(nameToKey(target)); } catch { continue; }
    if (f.kind !== 'node' || f.node.name !== target) continue; // no synthesis for additional data
    for (const type of [TYPE.A, TYPE.AAAA]) {
      const rs = f.node.rrsets.get(type);
      if (rs !== undefined) pushRRSet(plan.additional, target, type, rs.ttl, rs.data, 0);
    }
  }
}

