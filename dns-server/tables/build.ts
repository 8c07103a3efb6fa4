// Building the lookup tables of one shard (off the query path, at reload). Everything a common
// query needs is prepared here as complete response bytes, so answering is a copy and a patch.

import type { RRSet, ServicesShard, Soa, HostsShard, ZoneShard } from '../config/types.js';
import { planAnswer, tableScope } from '../lookup.js';
import type { Scope } from '../lookup.js';
import { RR_TYPE_BY_NAME, TYPE } from '../wire/constants.js';
import { nameToKey, parentKey } from '../wire/name.js';
import { encodePlan } from '../wire/response.js';
import type { Plan } from '../wire/response.js';
import { ipv6Bytes, WireWriter } from '../wire/writer.js';
import type { Answer, HostsTable, NameNode, NameTable, RRData, ServicesTable, ZoneTable } from './types.js';

/** At most this many rotations are prepared for an RRset (evenly spaced starting records). */
export const MAX_ROTATIONS = 8;

interface MutableNode { name: string; rrsets: Map<number, RRData>; prepared: Map<number, Answer>; ready: boolean; cname: boolean }

/** Shared by every node not prepared yet (replaced by the node's own map when it is). */
const NOT_PREPARED: Map<number, Answer> = new Map();

function nodesFrom(rrsets: readonly RRSet[], extra?: (nodes: Map<string, MutableNode>) => void): Map<string, MutableNode> {
  const nodes = new Map<string, MutableNode>();
  for (const rs of rrsets) {
    const key = nameToKey(rs.name);
    let node = nodes.get(key);
    if (node === undefined) nodes.set(key, (node = { name: rs.name, rrsets: new Map(), prepared: NOT_PREPARED, ready: false, cname: false }));
    const type = RR_TYPE_BY_NAME[rs.type];
    node.rrsets.set(type, { type, ttl: rs.ttl, data: rs.data });
    if (type === TYPE.CNAME) node.cname = true;
  }
  extra?.(nodes);
  return nodes;
}

/** Empty non-terminals and wildcard parents of a set of names below `baseKey`. */
function structure(nodes: Map<string, MutableNode>, baseKey: string): { ents: Set<string>; wildcardParents: Set<string> } {
  const ents = new Set<string>();
  const wildcardParents = new Set<string>();
  for (const key of nodes.keys()) {
    if (key.startsWith('\x01*')) wildcardParents.add(key.substring(2));
    let p = parentKey(key);
    while (p !== undefined && p.length >= baseKey.length && p !== baseKey) {
      if (!nodes.has(p)) ents.add(p);
      p = parentKey(p);
    }
    if (p === baseKey && !nodes.has(p)) ents.add(p);
  }
  return { ents, wildcardParents };
}

/** Canonical question section (lower-case name, type, class IN): the wire key is the name's wire form. */
function canonicalQuestion(key: string, qtype: number): Buffer {
  const q = Buffer.allocUnsafe(key.length + 4);
  q.write(key, 0, key.length, 'latin1');
  q.writeUInt16BE(qtype, key.length);
  q.writeUInt16BE(1, key.length + 2);
  return q;
}

/** One writer reused for every prepared message (preparation is synchronous). */
const scratch = new WireWriter(4096);

function encodePrepared(plan: Plan, key: string, name: string, qtype: number): Buffer {
  return encodePlan(plan, { id: 0, rd: 0, question: canonicalQuestion(key, qtype), qname: name, optSize: -1, optExtRcode: 0, dnssecOk: false, maxSize: 65535 }, scratch);
}

/**
 * The common answer, encoded directly: one A or AAAA RRset owned by the query name, nothing
 * else (no plan objects, no compression map: the owner is always the pointer to offset 12).
 * Same bytes as encodePlan would give; a test checks that.
 */
export function encodeAddressAnswer(key: string, type: number, ttl: number, data: readonly unknown[], rotation: number): Buffer {
  const n = data.length;
  const rdlen = type === TYPE.A ? 4 : 16;
  const qlen = key.length + 4;
  const out = Buffer.allocUnsafe(12 + qlen + n * (12 + rdlen));
  out[0] = 0; out[1] = 0; out[2] = 0x84; out[3] = 0; // QR AA, NOERROR
  out.writeUInt16BE(1, 4); out.writeUInt16BE(n, 6); out.writeUInt32BE(0, 8);
  out.write(key, 12, key.length, 'latin1');
  let p = 12 + key.length;
  out.writeUInt16BE(type, p); out.writeUInt16BE(1, p + 2); p += 4;
  for (let i = 0; i < n; i++) {
    const addr = data[(i + rotation) % n] as string;
    out[p] = 0xc0; out[p + 1] = 12;
    out.writeUInt16BE(type, p + 2); out.writeUInt16BE(1, p + 4); out.writeUInt32BE(ttl, p + 6); out.writeUInt16BE(rdlen, p + 10);
    p += 12;
    if (type === TYPE.A) {
      let v = 0, o = 0;
      for (let c = 0; c < addr.length; c++) { const ch = addr.charCodeAt(c); if (ch === 46) { out[p + o++] = v; v = 0; } else v = v * 10 + ch - 48; }
      out[p + o] = v;
    } else ipv6Bytes(addr).copy(out, p);
    p += rdlen;
  }
  return out;
}

/** Prepares the answers of every node (zones, hosts: small, admin-written data). */
function prepare(nodes: Map<string, MutableNode>, scope: Scope): void {
  for (const [key, node] of nodes) prepareNode(key, node, scope);
}

/**
 * Prepares one node's answers: every type it holds and, for a CNAME, A and AAAA chased
 * through the chain, as long as the answer stays inside the scope (others go the slow path).
 */
export function prepareNode(key: string, node: MutableNode | NameNode, scope: Scope): void {
  const prepared = new Map<number, Answer>();
  node.prepared = prepared;
  node.ready = true;
  if (key.startsWith('\x01*')) return; // wildcards are synthesised per query name
  if (!node.cname) {
    // Fast path for the common case: address RRsets answer themselves, no additional data.
    for (const type of [TYPE.A, TYPE.AAAA]) {
      const rs = node.rrsets.get(type);
      if (rs === undefined) continue;
      const n = rs.data.length;
      const rotations = Math.min(n, MAX_ROTATIONS);
      const bufs: Buffer[] = [];
      for (let i = 0; i < rotations; i++) bufs.push(encodeAddressAnswer(key, type, rs.ttl, rs.data, Math.floor((i * n) / rotations)));
      prepared.set(type, { bufs, next: 0 });
    }
  }
  const types = new Set<number>(node.rrsets.keys());
  if (node.cname) { types.add(TYPE.A); types.add(TYPE.AAAA); }
  for (const qtype of types) {
    if (prepared.has(qtype)) continue;
    const first = scope.find(key);
    const plan0 = planAnswer(scope, first, node.name, qtype, 0);
    if (plan0 === undefined) continue;
    // Only self-contained positive answers are prepared; the rest needs the live tables.
    const last = plan0.answer[plan0.answer.length - 1];
    if (plan0.rcode !== 0 || plan0.authority.length > 0 || last === undefined || (last.type !== qtype && qtype !== TYPE.CNAME)) continue;
    const finalSet = last.type === TYPE.CNAME ? undefined : plan0.answer.filter((rr) => rr.type === qtype && rr.owner === last.owner).length;
    const n = finalSet ?? 1;
    const rotations = Math.min(n, MAX_ROTATIONS);
    const bufs: Buffer[] = [encodePrepared(plan0, key, node.name, qtype)];
    for (let i = 1; i < rotations; i++) {
      const plan = planAnswer(scope, first, node.name, qtype, Math.floor((i * n) / rotations))!;
      bufs.push(encodePrepared(plan, key, node.name, qtype));
    }
    prepared.set(qtype, { bufs, next: 0 });
  }
}

/** Prepares a services-table node on its first query (the table's own scope, as at build). */
export function prepareServicesNode(key: string, node: NameNode, table: ServicesTable): void {
  prepareNode(key, node, tableScope(table, undefined, table.baseKey));
}

/** The SOA record as it follows its owner in a negative answer: TYPE CLASS TTL RDLENGTH RDATA (names uncompressed). */
export function soaTail(soa: Soa): Buffer {
  const w = new WireWriter(128);
  w.u16(TYPE.SOA); w.u16(1); w.u32(Math.min(soa.minimum, soa.ttl));
  const at = w.len; w.u16(0);
  w.name(soa.mname, false); w.name(soa.rname, false);
  w.u32(soa.serial); w.u32(soa.refresh); w.u32(soa.retry); w.u32(soa.expire); w.u32(soa.minimum);
  w.endRecord(at);
  return w.result();
}

export function buildZoneTable(shard: ZoneShard, since: string): ZoneTable {
  const originKey = nameToKey(shard.origin);
  const nodes = nodesFrom(shard.rrsets, (ns) => {
    let apex = ns.get(originKey);
    if (apex === undefined) ns.set(originKey, (apex = { name: shard.origin, rrsets: new Map(), prepared: NOT_PREPARED, ready: false, cname: false }));
    apex.rrsets.set(TYPE.SOA, { type: TYPE.SOA, ttl: shard.soa.ttl, data: [shard.soa] });
  });
  const { ents, wildcardParents } = structure(nodes, originKey);
  const table: ZoneTable = {
    kind: 'zone', shardId: shard.id, hash: shard.hash, since, originKey, origin: shard.origin, soa: shard.soa,
    soaTail: soaTail(shard.soa), clusterDomain: shard.clusterDomain, names: nodes as Map<string, NameNode>, ents, wildcardParents,
  };
  prepare(nodes, tableScope(table, table, originKey));
  return table;
}

export function buildServicesTable(shard: ServicesShard, since: string): ServicesTable {
  const zoneKey = nameToKey(shard.zone);
  const baseKey = nameToKey(`${shard.namespace}.svc.${shard.zone}`);
  const nodes = nodesFrom(shard.rrsets);
  const { ents, wildcardParents } = structure(nodes, baseKey);
  // Not prepared here: a cluster's generated names are many and mostly never asked; each is
  // prepared on its first query (prepareServicesNode), which keeps reloads and memory small.
  return {
    kind: 'services', shardId: shard.id, hash: shard.hash, since, zoneKey, baseKey, namespace: shard.namespace,
    names: nodes as Map<string, NameNode>, ents, wildcardParents,
  };
}

export function buildHostsTable(shard: HostsShard, since: string): HostsTable {
  const nodes = nodesFrom(shard.rrsets);
  const table: HostsTable = { kind: 'hosts', shardId: shard.id, hash: shard.hash, since, names: nodes as Map<string, NameNode>, ents: new Set(), wildcardParents: new Set() };
  const scope: Scope = { find: (key) => { const node = nodes.get(key); return node ? { kind: 'node', node, zone: undefined, table } : { kind: 'outside' }; } };
  prepare(nodes, scope);
  return table;
}

/**
 * A node for one reverse name, from the PTR targets every shard contributes. Its prepared
 * answer is made on first use (preparePtr), not here: a large cluster has one reverse name per
 * Service and endpoint address, few of which are ever asked, and every reload touching them
 * would otherwise pay for all of them.
 */
export function buildReverseNode(name: string, parts: Iterable<{ ttl: number; data: readonly string[] }>): NameNode {
  let ttl = Infinity;
  const data: string[] = [];
  for (const p of parts) { ttl = Math.min(ttl, p.ttl); for (const d of p.data) if (!data.includes(d)) data.push(d); }
  data.sort();
  return { name, rrsets: new Map([[TYPE.PTR, { type: TYPE.PTR, ttl: ttl === Infinity ? 0 : ttl, data }]]), prepared: NOT_PREPARED, ready: false, cname: false };
}

/** Prepares a reverse node's PTR answer (once; the node belongs to one version of the index entry). */
export function preparePtr(node: NameNode): void {
  const key = nameToKey(node.name);
  const table: NameTable = { names: new Map([[key, node]]), ents: new Set(), wildcardParents: new Set() };
  prepareNode(key, node, { find: (k) => (k === key ? { kind: 'node', node, zone: undefined, table } : { kind: 'outside' }) });
}
