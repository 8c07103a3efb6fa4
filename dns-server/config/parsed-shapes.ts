// The hidden classes (V8 "maps") of parsed shards, kept alive between reloads.
//
// JSON.parse gives every RRset object of a shard one map ({data, name, ttl, type}), and every
// SRV, MX or CAA item its own; the validation and slab-building code the JIT optimises for a
// changed shard is specialised to those maps. The maps are held only by the objects that have
// them: once a shard is applied nothing parsed is left, and the next full collection frees the
// maps and throws away all that optimised code ("weak objects" in --trace-deopt: checkRRSet,
// checkItem, checkRRSets, runsOf, writeRuns, rrsetsInText, dirty, ...), which the next change
// then runs unoptimised and compiles again. A full collection follows every large load
// (heap.ts), so that was every first change after a load. ADR 0028.
//
// keepShapes holds a small parse of each kind of shard last seen: its members, and of each list
// the first item and the first RRset of each type (their data items), parsed from their JSON as
// the shard was, so with the same maps (JSON.parse follows the same map transitions for the same
// keys in the same order). A few hundred bytes; nothing of the shard itself is held.

const kept = new Map<string, unknown>();

/** A copy of `value` with each array cut to its first item and the first object of each `type`. */
function skeleton(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    const types = new Set<unknown>();
    for (let i = 0; i < value.length; i++) {
      const x: unknown = value[i];
      const type = x !== null && typeof x === 'object' ? (x as { type?: unknown }).type : undefined;
      if (i > 0 && (type === undefined || types.has(type))) continue;
      types.add(type);
      out.push(skeleton(x));
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k in value) out[k] = skeleton((value as Record<string, unknown>)[k]);
  return out;
}

/** Keeps the maps of a parsed shard of this kind (see the file comment); cheap: a few small objects. */
export function keepShapes(shard: { kind: string }): void {
  kept.set(shard.kind, JSON.parse(JSON.stringify(skeleton(shard))));
}
