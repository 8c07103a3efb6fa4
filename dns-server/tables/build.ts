// Building the lookup tables of one shard (off the query path, at reload), in two steps: the
// main thread builds the shard's slab once (buildShardSlab: the name nodes, the empty
// non-terminals and wildcard parents, in shared memory, slab.ts); every thread wraps it in a
// NameTable (tableFromSlab), which prepares its own answers on each name's first query.

import { heldLayout } from '../config/shard-delta.js';
import type { ForwardersShard, RRSet, ServicesShard, Shard, Soa, HostsShard, ZoneShard } from '../config/types.js';
import { RR_TYPE_BY_NAME, TYPE } from '../wire/constants.js';
import { nameToKey, parentKey } from '../wire/name.js';
import { isKeyName, keyOfName } from './keys.js';
import { WireWriter } from '../wire/writer.js';
import { tableScope } from './plan.js';
import { ReverseIndex } from './reverse.js';
import { Slab, SlabWriter } from './slab.js';
import { addRRSet, rrsetsInText, runsOf, writeNames, writeRRSet, writeRuns } from './slab-names.js';
import type { NameRecord } from './slab-names.js';
import { NameTable } from './table.js';
import type { HostsTable, ServicesTable, ShardTable, Tables, ZoneInfo, ZoneTable } from './types.js';

/** The records of a shard's names, by key (RRsets in the shard's order; one per name and type: validated). */
function recordsFrom(rrsets: readonly RRSet[]): Map<string, NameRecord> {
  const records = new Map<string, NameRecord>();
  let last: NameRecord | undefined;
  for (const rs of rrsets) {
    // A name's RRsets are neighbours in a sorted list (compile() writes them so): its key once.
    if (last !== undefined && last.name === rs.name) { addRRSet(last, rs.name, RR_TYPE_BY_NAME[rs.type], rs); continue; }
    const key = keyOfName(rs.name);
    const r = records.get(key);
    last = addRRSet(r, rs.name, RR_TYPE_BY_NAME[rs.type], rs);
    if (r === undefined) records.set(key, last);
  }
  return records;
}

/** The parent of an absolute name ("a.b." -> "b.", "b." -> "."), as parentKey is of its key; undefined for the root (and for a name with no dot). */
function parentName(name: string): string | undefined {
  if (name === '.') return undefined;
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  return dot === name.length - 1 ? '.' : name.substring(dot + 1);
}

/** A key's wildcard label ("*"), its first, as keys write it; or a name's ("*."). */
const WILDCARD_KEY = '\x01*';
const WILDCARD_NAME = '*.';

/**
 * Empty non-terminals and wildcard parents of a set of keys below `baseKey` (wire/name.ts
 * parentKey); `byName`: of a set of names below the name `baseKey`, in the form keys.ts writes
 * straight (lower-case ASCII, absolute), which have the same tree as their keys.
 */
function structure(nodes: ReadonlyMap<string, unknown> | ReadonlySet<string>, baseKey: string, byName = false): { ents: Set<string>; wildcardParents: Set<string> } {
  const ents = new Set<string>();
  const wildcardParents = new Set<string>();
  const parent = byName ? parentName : parentKey;
  const wildcard = byName ? WILDCARD_NAME : WILDCARD_KEY;
  for (const key of nodes.keys()) {
    if (key.startsWith(wildcard)) wildcardParents.add(key.substring(2));
    // Up to the base, stopping at a node or a known ENT: their own ancestors are done (or will
    // be, a node's when its own key comes), so each ancestor is walked once, not once a name.
    let p = parent(key);
    while (p !== undefined && p.length >= baseKey.length && p !== baseKey && !nodes.has(p) && !ents.has(p)) {
      ents.add(p);
      p = parent(p);
    }
    if (p === baseKey && !nodes.has(p)) ents.add(p);
  }
  return { ents, wildcardParents };
}

const sameName = (name: string) => name;

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

/** What a slab says about its shard (its meta blob): enough to make the table in any thread. */
type SlabMeta =
  | { kind: 'zone'; id: string; hash: string; origin: string; soa: Soa; clusterDomain: boolean }
  | { kind: 'services'; id: string; hash: string; zone: string; namespace: string }
  | { kind: 'hosts'; id: string; hash: string }
  | { kind: 'forwarders'; id: string; hash: string; forwarders: ForwardersShard };

/**
 * A validated shard's slab (the main thread, once per shard version): its names, the meta the
 * table needs, and its reverse RRsets as the aux blob (what the reverse index diffs against when
 * the shard changes again; reload.ts). `text`: the text the shard's hash was checked on
 * (config/hash.ts takeHashedText), from which a services shard's records and any shard's reverse
 * list are copied (slab-names.ts rrsetsInText); the same bytes as written from the RRsets.
 * `out.reverseText`: set to the reverse list's text when it was found in `text` (what the reverse
 * index diffs against the old slab's, reload.ts).
 */
export function buildShardSlab(shard: Shard, text?: string, out?: { reverseText?: string }): SharedArrayBuffer {
  const inText = text !== undefined && shard.kind !== 'forwarders' ? heldLayout(shard, text) ?? rrsetsInText(text, shard.rrsets) : undefined;
  if (out !== undefined) out.reverseText = inText?.reverse;
  const aux = inText !== undefined ? (w: SlabWriter) => w.utf8(inText.reverse) : reverseAux(shard.reverse);
  let w = new SlabWriter();
  switch (shard.kind) {
    case 'zone': {
      const originKey = nameToKey(shard.origin);
      const nodes = recordsFrom(shard.rrsets);
      const apex = nodes.get(originKey);
      const withSoa = addRRSet(apex, shard.origin, TYPE.SOA, { ttl: shard.soa.ttl, data: [shard.soa] }); // the SOA after the apex's own RRsets
      if (apex === undefined) nodes.set(originKey, withSoa);
      const { ents, wildcardParents } = structure(nodes, originKey);
      writeNames(w, nodes, ents, wildcardParents);
      return w.finish({ kind: 'zone', id: shard.id, hash: shard.hash, origin: shard.origin, soa: shard.soa, clusterDomain: shard.clusterDomain } satisfies SlabMeta, aux);
    }
    case 'services': {
      const base = `${shard.namespace}.svc.${shard.zone}`;
      // The usual case (a validated shard, sorted): runs of names, their structure found by name
      // and each key written straight from its name: no key string, no NameRecords. Thrown away
      // for the keys' way below when a name is not in the form that needs (beginName: false).
      const byName = isKeyName(base) ? runsOf(shard.rrsets, sameName) : undefined;
      if (byName !== undefined) {
        const { ents, wildcardParents } = structure(byName.nodes, base, true);
        const source = inText !== undefined ? { text: text!, at: inText.at } : undefined;
        if (writeRuns(w, shard.rrsets, byName, ents, wildcardParents, true, source)) return w.finish({ kind: 'services', id: shard.id, hash: shard.hash, zone: shard.zone, namespace: shard.namespace } satisfies SlabMeta, aux);
        w.discard();
        w = new SlabWriter();
      }
      const baseKey = nameToKey(base);
      const runs = runsOf(shard.rrsets, keyOfName); // no NameRecords
      if (runs !== undefined) {
        const { ents, wildcardParents } = structure(runs.nodes, baseKey);
        writeRuns(w, shard.rrsets, runs, ents, wildcardParents);
      } else {
        const nodes = recordsFrom(shard.rrsets);
        const { ents, wildcardParents } = structure(nodes, baseKey);
        writeNames(w, nodes, ents, wildcardParents);
      }
      return w.finish({ kind: 'services', id: shard.id, hash: shard.hash, zone: shard.zone, namespace: shard.namespace } satisfies SlabMeta, aux);
    }
    case 'hosts':
      writeNames(w, recordsFrom(shard.rrsets), [], []); // hosts names stand alone: no structure
      return w.finish({ kind: 'hosts', id: shard.id, hash: shard.hash } satisfies SlabMeta, aux);
    case 'forwarders':
      return w.finish({ kind: 'forwarders', id: shard.id, hash: shard.hash, forwarders: shard } satisfies SlabMeta, aux);
  }
}

/**
 * A shard's reverse RRsets as its slab's aux blob: the list as the canonical JSON writes it
 * (what buildShardSlab copies from a shard's text when it has one), written as bytes by the
 * slab's writer (no JSON string of it made first).
 */
function reverseAux(reverse: readonly RRSet[]): (w: SlabWriter) => void {
  return (w) => {
    w.raw('[');
    for (let i = 0; i < reverse.length; i++) {
      if (i > 0) w.raw(',');
      writeRRSet(w, reverse[i].name, reverse[i].type, reverse[i]);
    }
    w.raw(']');
  };
}

/** The reverse RRsets a shard slab was built with (its aux blob). */
export function reverseOf(slab: Slab): RRSet[] {
  return slab.aux() as RRSet[];
}

/** The reverse RRsets a shard slab was built with, as their canonical JSON text (its aux blob, unparsed). */
export function reverseTextOf(slab: Slab): string {
  return slab.auxText();
}

/** The table over a shard's slab (any thread: no validation, no building, nothing copied). */
export function tableFromSlab(sab: SharedArrayBuffer, since: string): ShardTable {
  const slab = new Slab(sab);
  const meta = slab.meta() as SlabMeta;
  const shardId = meta.id;
  const hash = meta.hash;
  switch (meta.kind) {
    case 'zone': {
      const originKey = nameToKey(meta.origin);
      const info: ZoneInfo = {
        kind: 'zone', shardId, hash, since, originKey, origin: meta.origin, soa: meta.soa, soaTail: soaTail(meta.soa), clusterDomain: meta.clusterDomain,
      };
      return Object.assign(new NameTable(slab, (t) => tableScope(t, info, originKey)), info);
    }
    case 'services': {
      const baseKey = nameToKey(`${meta.namespace}.svc.${meta.zone}`);
      return Object.assign(new NameTable(slab, (t) => tableScope(t, undefined, baseKey)), {
        kind: 'services' as const, shardId, hash, since, zoneKey: nameToKey(meta.zone), baseKey, namespace: meta.namespace,
      });
    }
    case 'hosts': {
      // Hosts names stand alone (no zone, no structure): the scope is the names themselves.
      const scopeOf = (table: NameTable) => ({ find: (key: string) => { const node = table.names.get(key); return node ? { kind: 'node' as const, node, zone: undefined, table } : { kind: 'outside' as const }; } });
      return Object.assign(new NameTable(slab, scopeOf), { kind: 'hosts' as const, shardId, hash, since });
    }
    case 'forwarders':
      return { kind: 'forwarders', shardId, hash, since, forwarders: meta.forwarders, slab };
  }
}

export function buildZoneTable(shard: ZoneShard, since: string): ZoneTable {
  return tableFromSlab(buildShardSlab(shard), since) as ZoneTable;
}

export function buildServicesTable(shard: ServicesShard, since: string): ServicesTable {
  return tableFromSlab(buildShardSlab(shard), since) as ServicesTable;
}

export function buildHostsTable(shard: HostsShard, since: string): HostsTable {
  return tableFromSlab(buildShardSlab(shard), since) as HostsTable;
}

/** The tables before the first configuration (generation 0: the handler answers SERVFAIL). */
export const EMPTY_TABLES: Tables = {
  zones: new Map(), services: new Map(), hosts: undefined, reverse: new ReverseIndex(), shards: new Map(), generation: 0,
};
