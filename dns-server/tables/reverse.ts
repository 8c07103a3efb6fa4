// The reverse index: every shard's PTR names merged into one entry per reverse name, in slabs
// (slab.ts) that the main thread builds and every thread reads (ADR 0010). Two of them: a large
// base and a small overlay of the names changed since the base was written (a record, or a
// tombstone for a name gone). A lookup probes the overlay, then the base. A reload rebuilds only
// the overlay (buildReverseSlabs: its entries copied as bytes, the touched names merged again),
// so one changed shard costs its own names, not the index; when the overlay passes an eighth of
// the base it is folded into a new base (slab.ts patchSlab). Each record keeps what every shard
// contributes, so the next update needs nothing but the slabs and the changed shards' own
// RRsets; the merge itself (lowest TTL, targets sorted) is done when a name is decoded.
//
// A name's PTR answer is made on its first query in any thread (few of the many names are ever
// asked) into the answer arena of the slab that holds its record (arena.ts, ADR 0031): the
// overlay's for a name the overlay has, else the base's. The answer is a function of that one
// record, and a slab never changes, so an answer stays right for as long as its slab serves:
// a name an update touches is found in the new overlay, with an arena of its own.
//
// Per thread (ReverseIndex): the slabs in service (with this thread's views of their arenas),
// swapped at commit (reload.ts) in one synchronous step. The index object lives as long as its
// shard store.

import type { RRSet } from '../config/types.js';
import { commonPrefix, commonSuffix } from '../config/text-diff.js';
import { TYPE } from '../wire/constants.js';
import { keyOfName } from './keys.js';
import { AnswerArena, pickedBuffer } from './arena.js';
import { noteNewName } from '../heap.js';
import { prepareAnswers } from './prepare.js';
import { hashKey, NODE, patchSlab, Slab, SlabWriter, typeBit } from './slab.js';
import type { NameNode } from './types.js';

/** What one shard contributes to a reverse name: [shard id, TTL, PTR targets]. */
type Part = [string, number, readonly string[]];
/** A reverse name's record: [name, parts]. */
type ReverseRecord = [string, Part[]];

const FLAGS = NODE | typeBit(TYPE.PTR);
/** An overlay entry for a name no shard has any more (the base still holds it). */
const TOMBSTONE = 16;

/** A reverse slab with no names (base or overlay). */
export const EMPTY_REVERSE_SLAB = new SlabWriter().finish({ size: 0 });

/** Above this many touched names an update reports them as all (null) instead of each. */
const TOUCHED_MAX = 4096;
/** The overlay is folded into the base when it holds more entries than this and an eighth of the base. */
const OVERLAY_MIN = 1024;

/**
 * The reverse index's slabs after an update, and the names whose answers changed (null: all of
 * them). The overlay's meta holds the number of names ({ size }).
 */
export interface ReverseUpdate { base: SharedArrayBuffer; overlay: SharedArrayBuffer; touched: readonly string[] | null }

/** The two slabs of the reverse index (read views, with this thread's views of their answer arenas). */
export class ReverseSlabs {
  readonly size: number;
  readonly baseArena: AnswerArena;
  readonly overlayArena: AnswerArena;

  constructor(readonly base: Slab, readonly overlay: Slab) {
    this.size = (overlay.meta() as { size: number }).size;
    this.baseArena = new AnswerArena(base);
    this.overlayArena = new AnswerArena(overlay);
  }

  static of(u: Pick<ReverseUpdate, 'base' | 'overlay'>): ReverseSlabs {
    return new ReverseSlabs(new Slab(u.base), new Slab(u.overlay));
  }

  has(key: string): boolean {
    const h = hashKey(key);
    const o = this.overlay;
    if (o.entries > 0) { const i = o.find(key, h); if (i >= 0) return (o.flagsAt(i) & NODE) !== 0; }
    return this.base.find(key, h) >= 0;
  }

  record(key: string): ReverseRecord | undefined {
    const h = hashKey(key);
    const o = this.overlay;
    if (o.entries > 0) { const i = o.find(key, h); if (i >= 0) return o.flagsAt(i) & NODE ? o.recordAt(i) as ReverseRecord : undefined; }
    const i = this.base.find(key, h);
    return i < 0 ? undefined : this.base.recordAt(i) as ReverseRecord;
  }
}

const EMPTY = new ReverseSlabs(new Slab(EMPTY_REVERSE_SLAB), new Slab(EMPTY_REVERSE_SLAB));

export class ReverseIndex {
  #slabs = EMPTY;

  /** The slabs in service (the main thread builds the next ones from them). */
  get slabs(): ReverseSlabs { return this.#slabs; }

  get size(): number { return this.#slabs.size; }

  /** Whether a shard has the reverse name (key: wire/name.ts form): probes, nothing decoded. */
  has(key: string): boolean {
    return this.#slabs.has(key);
  }

  /** The merged node of a reverse name, if any shard has it (decoded: the slow path and a first query). */
  node(key: string): NameNode | undefined {
    const rec = this.#slabs.record(key);
    return rec === undefined ? undefined : mergedNode(rec);
  }

  /**
   * Whether (key, qtype) has a prepared answer: true with its next rotation in arena.ts `picked`.
   * Made on the name's first query (in any thread) into the arena of the slab holding its record.
   */
  pick(key: string, qtype: number): boolean {
    const slabs = this.#slabs;
    const h = hashKey(key);
    let slab = slabs.overlay;
    let arena = slabs.overlayArena;
    let i = slab.entries > 0 ? slab.find(key, h) : -1;
    if (i >= 0) { if (!(slab.flagsAt(i) & NODE)) return false; } else {
      slab = slabs.base;
      arena = slabs.baseArena;
      i = slab.find(key, h);
      if (i < 0) return false;
    }
    let ref = arena.refOf(i);
    if (ref === 0) {
      noteNewName(); // a PTR name is not recalled (lookup.ts): counted here, where it is prepared
      const node = mergedNode(slab.recordAt(i) as ReverseRecord);
      // The node alone is the scope: a PTR answer needs nothing else.
      const table = { names: new Map([[key, node]]), ents: new Set<string>(), wildcardParents: new Set<string>() };
      ref = arena.publish(i, prepareAnswers(key, node, { find: (k) => (k === key ? { kind: 'node', node, zone: undefined, table } : { kind: 'outside' }) }));
    }
    return arena.pick(ref, qtype);
  }

  /** The prepared response for (key, qtype), as NameTable.answerFor (a view of the arena's bytes: tools and tests). */
  answerFor(key: string, qtype: number): Buffer | undefined {
    return this.pick(key, qtype) ? pickedBuffer() : undefined;
  }

  /** Serves the update's slabs from now on (a touched name's record, and so its answer, is in the new overlay). */
  swap(u: ReverseUpdate): void {
    this.#slabs = ReverseSlabs.of(u);
  }
}

/**
 * A change of one shard's reverse RRsets: they were `before`, are `after` now. `before` may be
 * given as the list's canonical JSON text (a shard slab's aux blob: tables/build.ts reverseTextOf),
 * and `afterText` may give `after`'s (the text the shard's hash was checked on): two texts are
 * diffed as text (dirtyByText), a text alone is parsed.
 */
export interface ReverseChange { id: string; before: readonly RRSet[] | string; after: readonly RRSet[]; afterText?: string }

/** Whether a change's `before` has RRsets (a text: more than `[]`). */
export const hasBefore = (c: ReverseChange): boolean => c.before.length > (typeof c.before === 'string' ? 2 : 0);

/** What dirty() answers: the RRsets a change removes or changes (`before`) and adds or changes (`after`), and the names it leaves. */
export interface Dirty { before: readonly RRSet[]; after: readonly RRSet[]; kept: KeptNames }

/** A reverse name an update touches: its record as it will be, whether the index had it, whether it is written as a tombstone. */
interface Touched { rec: ReverseRecord; was: boolean; tombstone: boolean }

/** Whether two PTR target lists are the same, in the same order. */
function sameTargets(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Names a change left as they were (dirty): `has(name)`. */
interface KeptNames { has(name: string): boolean }

const NONE_KEPT: KeptNames = { has: () => false };

/** Whether an RRset list is sorted by name, no name twice (compile() writes reverse lists so). */
function sortedByName(list: readonly RRSet[]): boolean {
  for (let i = 1; i < list.length; i++) if (!(list[i - 1].name < list[i].name)) return false;
  return true;
}

/** A sorted list of names as KeptNames (binary search: asked only for names another change touches). */
function sortedNames(names: readonly string[]): KeptNames {
  return {
    has(name) {
      let lo = 0, hi = names.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (names[mid] < name) lo = mid + 1;
        else hi = mid;
      }
      return lo < names.length && names[lo] === name;
    },
  };
}

/**
 * A change less the names whose part it leaves as it was (same TTL, same targets), which the
 * update need not touch: a changed shard mostly keeps its reverse names (one endpoint of a
 * thousand moved), and each touched name costs a decode, an encode and an overlay entry, and
 * its answer prepared again. `kept`: those names (their records keep this shard's part). Names are
 * compared as strings: a validated name is lower case, so one name has one spelling. Two lists
 * sorted by name (as compile() writes them, and as a slab's aux gives them back) are walked side
 * by side, with no map of the names (a changed shard's first reloads run this code cold: a map
 * of its hundreds of names was a tenth of such a reload); any other order through a map
 * (dirtyByMap), with the same result.
 */
export function dirty(c: ReverseChange): Dirty {
  if (typeof c.before === 'string') {
    const byText = c.afterText !== undefined && c.after.length > 0 ? dirtyByText(c.before, c.afterText) : undefined;
    return byText ?? dirty({ id: c.id, before: JSON.parse(c.before) as RRSet[], after: c.after });
  }
  if (c.before.length === 0 || c.after.length === 0) return { before: c.before, after: c.after, kept: NONE_KEPT };
  const was = c.before, now = c.after;
  if (!sortedByName(was) || !sortedByName(now)) return dirtyByMap({ id: c.id, before: was, after: now });
  const before: RRSet[] = [];
  const after: RRSet[] = [];
  const kept: string[] = [];
  let i = 0, j = 0;
  while (i < was.length && j < now.length) {
    const o = was[i], n = now[j];
    if (o.name < n.name) { before.push(o); i++; continue; }
    if (n.name < o.name) { after.push(n); j++; continue; }
    if (o.ttl === n.ttl && sameTargets(o.data, n.data)) kept.push(n.name);
    else { before.push(o); after.push(n); }
    i++; j++;
  }
  while (i < was.length) before.push(was[i++]);
  while (j < now.length) after.push(now[j++]);
  if (kept.length === 0) return { before: was, after: now, kept: NONE_KEPT };
  return { before, after, kept: sortedNames(kept) };
}

/** The start of every RRset of a reverse list's text; `},{"data":[` only lies between two RRsets. */
const RRSET_START = '{"data":[';
const BETWEEN = '},{"data":[';

/**
 * dirty() for two reverse lists given as their canonical JSON texts, parsing neither whole: the RRsets the two texts have in common at their start and at their end are left
 * as they were (canonical JSON writes equal RRsets, and only those, the same), and only the RRsets
 * between are parsed and diffed (dirty; its RRsets are then parsed copies of the new list's, of
 * the same values). A changed shard mostly keeps its reverse names: for the
 * scale bench's changed namespace, 1.6 KB of a 41 KB list; the whole old list parsed from its
 * slab and walked was a tenth of the apply.
 *
 * The same answer as dirty() on the parsed lists because a validated reverse list names each name
 * once (one RRset per name and type, PTR only): a name in the common start or end is in no other
 * RRset of either list. Both texts are of validated lists (the old slab's aux blob was written
 * from one; `now` is the text the new shard's hash was checked on) and hold no backslash (else
 * undefined: the lists are parsed), so a bare quote delimits a string, `{"data":[` can only begin
 * an RRset and `},{"data":[` only lie between two: the first common chars end inside or at the
 * end of an RRset that begins at the same place in both texts, and the last common chars begin
 * at such a seam (or the list's end).
 */
export function dirtyByText(was: string, now: string): Dirty | undefined {
  if (was.indexOf('\\') >= 0 || now.indexOf('\\') >= 0) return undefined;
  const lw = was.length, ln = now.length;
  if (lw < 2 || ln < 2 || was.charCodeAt(0) !== 91 || now.charCodeAt(0) !== 91 || was.charCodeAt(lw - 1) !== 93 || now.charCodeAt(ln - 1) !== 93) return undefined; // '[', ']'
  const head = commonPrefix(was, 0, now, 0, Math.min(lw, ln));
  if (head === lw && head === ln) return { before: [], after: [], kept: { has: (name) => was.includes('"name":"' + name + '","ttl":') } };
  // The middle: from the start of the RRset the first difference is in (or the list's start)...
  const from = Math.max(1, was.lastIndexOf(RRSET_START, head));
  // ...to the seam after the last difference (or the list's end), in each text.
  const tail = commonSuffix(was, lw, now, ln, Math.min(lw, ln) - head);
  const seam = was.indexOf(BETWEEN, lw - tail);
  const toW = seam < 0 ? lw - 1 : seam + 1;
  const toN = seam < 0 ? ln - 1 : seam + 1 - lw + ln;
  if (toW < from || toN < from) return undefined;
  let middleBefore: RRSet[], middleAfter: RRSet[];
  try {
    middleBefore = JSON.parse('[' + was.slice(from, toW) + ']') as RRSet[];
    middleAfter = JSON.parse('[' + now.slice(from, toN) + ']') as RRSet[];
  } catch {
    return undefined;
  }
  const d = dirty({ id: '', before: middleBefore, after: middleAfter });
  // Kept: a name of the middle dirty() kept, or one of the common start or end of the old text.
  const kept: KeptNames = {
    has(name) {
      if (d.kept.has(name)) return true;
      const at = was.indexOf('"name":"' + name + '","ttl":');
      return at >= 0 && (at < from || at >= toW);
    },
  };
  return { before: d.before, after: d.after, kept };
}

/** dirty() for lists in any order. */
export function dirtyByMap(c: { id: string; before: readonly RRSet[]; after: readonly RRSet[] }): Dirty {
  const was = new Map<string, RRSet>();
  for (const rs of c.before) was.set(rs.name, rs);
  const kept = new Set<string>();
  const after: RRSet[] = [];
  for (const rs of c.after) {
    const old = was.get(rs.name);
    if (old !== undefined && old.ttl === rs.ttl && sameTargets(old.data, rs.data)) kept.add(rs.name);
    else after.push(rs);
  }
  if (kept.size === 0) return { before: c.before, after: c.after, kept: NONE_KEPT };
  return { before: c.before.filter((rs) => !kept.has(rs.name)), after, kept };
}

/**
 * The next reverse slabs after `changes` (the main thread, at reload). `merging`: false only in
 * tests, to compare the first load's way (firstBase) with this one.
 */
export function buildReverseSlabs(current: ReverseSlabs, changes: readonly ReverseChange[], merging = true): ReverseUpdate {
  if (merging && current.base.entries === 0 && current.overlay.entries === 0) {
    const first = firstBase(changes);
    if (first !== undefined) return first;
  }
  // A touched name drops the parts of the changed shards, but keeps those of a changed shard
  // that left this name as it was (when another change touches the name).
  const keptBy = new Map<string, KeptNames>();
  const dirtyChanges = changes.map((c) => { const d = dirty(c); keptBy.set(c.id, d.kept); return { id: c.id, ...d }; });
  const touched = new Map<string, Touched>();
  const entry = (name: string): ReverseRecord => {
    const key = keyOfName(name);
    let t = touched.get(key);
    if (t === undefined) {
      const prev = current.record(key);
      const parts = prev === undefined ? [] : prev[1].filter((p) => { const kept = keptBy.get(p[0]); return kept === undefined || kept.has(name); });
      touched.set(key, (t = { rec: [name, parts], was: prev !== undefined, tombstone: false }));
    }
    return t.rec;
  };
  for (const c of dirtyChanges) for (const rs of c.before) entry(rs.name);
  for (const c of dirtyChanges) for (const rs of c.after) entry(rs.name)[1].push([c.id, rs.ttl, rs.data as string[]]);
  // First pass: what is written (a live name, or a tombstone for one the base still has), to
  // choose between patching the overlay and folding; second: the entries, written as bytes.
  let size = current.size;
  let adds = 0;
  const { base, overlay } = current;
  touched.forEach((t, key) => { // (no [key, value] array per name)
    const live = t.rec[1].length > 0;
    size += (live ? 1 : 0) - (t.was ? 1 : 0);
    if (live) adds++;
    else if (base.find(key) >= 0) { t.tombstone = true; adds++; }
  });
  const touchedKeys = current.size === 0 || touched.size > TOUCHED_MAX ? null : [...touched.keys()];
  const w = new SlabWriter();
  if (overlay.entries + adds <= Math.max(OVERLAY_MIN, base.entries / 8)) {
    writeTouched(w, touched, true);
    return { base: base.sab, overlay: patchSlab(overlay, touched.keys(), w, { size }), touched: touchedKeys };
  }
  // Fold: the overlay's live entries and this update's into a new base (every overlay key,
  // tombstones included, and every touched key leave the base first); the overlay starts empty.
  const remove = new Set(touched.keys());
  for (let i = 0; i < overlay.capacity; i++) {
    if (!overlay.used(i)) continue;
    const key = overlay.keyAt(i);
    if (!touched.has(key) && overlay.flagsAt(i) & NODE) w.copyEntry(overlay, i);
    remove.add(key);
  }
  writeTouched(w, touched, false);
  return { base: patchSlab(base, remove, w, null), overlay: new SlabWriter().finish({ size }), touched: touchedKeys };
}

/**
 * A first load's reverse slabs (an empty index, nothing before): each name's entry written
 * straight from its RRset (key and record as bytes: no key string, no record, no map of the
 * names; a full load has 37,000 of them, and every object the merging way made lived until the
 * slab was written, which the young generation's collections copied again and again). The
 * slabs are byte for byte the ones the merging way writes. Undefined, and the merging way, when
 * a name is in two RRsets (two shards' parts to merge), something was there before, or the
 * names are few enough for an overlay.
 */
function firstBase(changes: readonly ReverseChange[]): ReverseUpdate | undefined {
  let n = 0;
  for (const c of changes) {
    if (hasBefore(c)) return undefined;
    n += c.after.length;
  }
  if (n <= OVERLAY_MIN) return undefined;
  const w = new SlabWriter(n * 160); // a services shard's name, its key and its record: about 140 bytes
  for (const c of changes) {
    for (const rs of c.after) {
      w.beginName(rs.name, FLAGS);
      w.raw('[');
      w.str(rs.name);
      w.raw(',[[');
      w.str(c.id);
      w.raw(',');
      w.num(rs.ttl);
      w.raw(',');
      w.json(rs.data);
      w.raw(']]]');
      w.end();
    }
  }
  const base = w.finishUnique(null, null, Math.min(4096, n));
  return base === undefined ? undefined : { base, overlay: new SlabWriter().finish({ size: n }), touched: null };
}

const byShard = (a: Part, b: Part) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/** The touched names' entries: each live one's record (parts sorted by shard id), and tombstones when asked. */
function writeTouched(w: SlabWriter, touched: ReadonlyMap<string, Touched>, tombstones: boolean): void {
  touched.forEach(({ rec, tombstone }, key) => {
    if (rec[1].length > 0) {
      if (rec[1].length > 1) rec[1].sort(byShard);
      w.begin(key, FLAGS);
      writeReverseRecord(w, rec);
      w.end();
    } else if (tombstone && tombstones) w.add(key, TOMBSTONE);
  });
}

/** A reverse name's record as JSON ([name, [[shard id, ttl, targets], ...]]), written as bytes. */
function writeReverseRecord(w: SlabWriter, [name, parts]: ReverseRecord): void {
  w.raw('[');
  w.str(name);
  w.raw(',[');
  for (let i = 0; i < parts.length; i++) {
    w.raw(i === 0 ? '[' : ',[');
    w.str(parts[i][0]);
    w.raw(',');
    w.num(parts[i][1]);
    w.raw(',');
    w.json(parts[i][2]);
    w.raw(']');
  }
  w.raw(']]');
}

/** One reverse name's node from the PTR targets every shard contributes (lowest TTL, targets sorted). */
function mergedNode([name, parts]: ReverseRecord): NameNode {
  let ttl = Infinity;
  const data: string[] = [];
  for (const p of parts) { ttl = Math.min(ttl, p[1]); for (const d of p[2]) if (!data.includes(d)) data.push(d); }
  data.sort();
  return { name, rrsets: [{ type: TYPE.PTR, ttl: ttl === Infinity ? 0 : ttl, data }], cname: false };
}

