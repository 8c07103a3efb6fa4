// Composing an answer inside a scope: the records for (name, type), CNAME chains, wildcard
// synthesis (RFC 4592), negative answers with their SOA, additional addresses. Pure: no I/O, no
// clock, nothing mutated. Tables prepare their answers with it in their own scope (prepare.ts,
// one table); the query planner (lookup.ts) calls it on the slow path with a scope over all the
// live tables. It sits here, below both, so the tables never import the planner.

import { RCODE, TYPE } from '../wire/constants.js';
import { nameToKey, parentKey } from '../wire/name.js';
import type { Plan, PlanRR } from '../wire/response.js';
import type { Soa } from '../config/types.js';
import { rrsetOf } from './types.js';
import type { NameData, NameNode } from './types.js';

/** The zone whose SOA goes in a negative answer. */
export interface SoaOwner { readonly origin: string; readonly soa: Soa }

/** A lookup scope for planAnswer: the whole tables at query time, one table at build time. */
export interface Scope {
  /** The node at `key` and the negative-answer zone, or why there is none. */
  find(key: string): Found;
}

export type Found =
  | { kind: 'node'; node: NameNode; zone: SoaOwner | undefined; table: NameData }
  | { kind: 'ent'; zone: SoaOwner | undefined }
  | { kind: 'nxdomain'; zone: SoaOwner | undefined }
  /** Not ours (outside every zone) or, at build time, outside the table being built. */
  | { kind: 'outside' };

/** Scope over one table (preparing its answers). Names outside `base` are "outside". */
export function tableScope(table: NameData, zone: SoaOwner | undefined, baseKey: string): Scope {
  return {
    find(key: string): Found {
      if (!(key === baseKey || (key.endsWith(baseKey) && labelStartsAt(key, key.length - baseKey.length)))) return { kind: 'outside' };
      return findInTable(table, key, zone, false);
    },
  };
}

export function labelStartsAt(key: string, at: number): boolean {
  for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) { if (i === at) return true; if (i > at) return false; }
  return false;
}

export function findInTable(table: NameData, key: string, zone: SoaOwner | undefined, ent: boolean): Found {
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
export function wildcardFor(table: NameData, key: string): NameNode | undefined {
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

function soaRR(zone: SoaOwner): PlanRR {
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
      for (const rs of node.rrsets) pushRRSet(plan.answer, owner, rs.type, rs.ttl, rs.data, 0);
      break;
    }
    const rs = rrsetOf(node, qtype);
    if (rs !== undefined) { pushRRSet(plan.answer, owner, rs.type, rs.ttl, rs.data, rotation); break; }
    const cname = rrsetOf(node, TYPE.CNAME);
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
      const rs = rrsetOf(f.node, type);
      if (rs !== undefined) pushRRSet(plan.additional, target, type, rs.ttl, rs.data, 0);
    }
  }
}

