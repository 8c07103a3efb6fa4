// The query planner: which table holds a name (locate), and a scope over all the live tables
// for composing the answers no single table could prepare (the slow path: wildcards, CNAME
// chains that leave their shard, ANY; tables/plan.ts planAnswer does the composing). Pure: no
// I/O, no clock. The handler (handler.ts) asks the located table for its prepared answer first.

import { findInTable, labelStartsAt } from './tables/plan.js';
import type { Found, Scope } from './tables/plan.js';
import { NameTable } from './tables/table.js';
import { Slab, SlabWriter } from './tables/slab.js';
import type { Tables, ZoneTable } from './tables/types.js';

/** Where a name lives. */
export type Location =
  | { kind: 'zone'; zone: ZoneTable; table: NameTable; /** offset of the zone's origin inside the key */ originOffset: number; /** the name is `<ns>.svc.<zone>` or above it, with no table of its own */ clusterEnt?: boolean }
  | { kind: 'hosts'; table: NameTable }
  /** A name of the reverse index (its node is decoded only when the slow path needs it). */
  | { kind: 'reverse' }
  | { kind: 'none' };

const SVC = '\x03svc';
const ARPA = '\x04arpa\x00';

/** Finds the table responsible for `key`: the longest zone, the cluster namespace shard, hosts, the reverse index. */
export function locate(t: Tables, key: string): Location {
  // The reverse index (PTRs the compiler let through) answers first, also inside an authoritative reverse zone (the cluster's Service and Pod CIDRs, docs/compiler.md).
  if (key.endsWith(ARPA) && t.reverse.has(key)) return REVERSE;
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
  if (hosts !== undefined && hosts.names.has(key)) return { kind: 'hosts', table: hosts };
  if (t.reverse.has(key)) return REVERSE;
  return NONE;
}

const REVERSE: Location = { kind: 'reverse' };
const NONE: Location = { kind: 'none' };

/** A namespace of the cluster domain with no Services shard: every name below it is NXDOMAIN. */
const EMPTY_TABLE = new NameTable(new Slab(new SlabWriter().finish(null)), () => ({ find: () => ({ kind: 'outside' }) }));

/** The label that ends right at offset `end` (the namespace before ".svc."). */
function namespaceBefore(key: string, end: number): { label: string; start: number } | undefined {
  let prev = -1;
  for (let i = 0; i < end; i += key.charCodeAt(i) + 1) prev = i;
  if (prev < 0) return undefined;
  return { label: key.substring(prev + 1, end), start: prev };
}

/** Scope over the live tables (query time). */
export function tablesScope(t: Tables): Scope {
  return {
    find(key: string): Found {
      const loc = locate(t, key);
      switch (loc.kind) {
        case 'none': return { kind: 'outside' };
        case 'reverse': return { kind: 'node', node: t.reverse.node(key)!, zone: undefined, table: EMPTY_TABLE };
        case 'hosts': return { kind: 'node', node: loc.table.names.get(key)!, zone: undefined, table: loc.table };
        case 'zone': return findInTable(loc.table, key, loc.zone, loc.clusterEnt === true);
      }
    },
  };
}
