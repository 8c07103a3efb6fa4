// A changed shard received as text, parsed and checked against the version of it held: only the
// RRsets whose text changed are parsed and checked; the others are the held version's own
// objects, checked when it was. ADR 0033.
//
// A shard changes a little at a time (an endpoint: a few A and PTR RRsets of a namespace's
// hundreds), yet each version came as the whole shard's text, parsed whole (JSON.parse: a fifth
// of a changed shard's apply) and checked whole. parseShardText finds, in each of the two RRset
// lists (`reverse`, `rrsets`), the chars the new text has in common with the held version's at
// the list's start and at its end; the RRsets lying wholly in those are the held ones, and only
// the text between (from the start of the RRset the first difference is in, to the start of the
// first RRset wholly in the common end) is parsed, as a list of its own.
//
// Sound because a held version's text passed every check (validate.ts, its hash included) as
// the text it was received as, which validShardHash took as canonical: plain (no escape, white
// space or odd number) and exactly as long as its value's canonical JSON. The new text is the held
// one's header (the members before `reverse`, compared whole: the map's key), the same members
// after `rrsets` (compared), a hash member checked by pattern, and two lists each made of a held
// start, a middle and a held end. In a plain text a bare quote delimits a string, so the held
// start ends where the held version's RRset began (in the list, between two RRsets) and the held
// end begins at one: the middle, parsed as `[middle]` and found plain, is a run of whole values,
// and the whole text is the JSON of the held value with the middle's RRsets in place of the held
// ones there (anything else: undefined, and the text is parsed whole). The RRsets kept are the
// very objects validated before, and an RRset's check depends on the RRset alone (the rules
// between neighbours, checkRRSets, still walk the whole list): validation checks the middle's
// RRsets only (checkShardSchema), measures them, and the text is canonical when the middle is
// as long as its canonical JSON (then each list's canonical length is its text's).
//
// What is held: for the HELD_MAX shards that changed last, the text (the string the source
// received: a ConfigMap's data, which the informer holds anyway), the parsed value, and where
// each RRset begins in the text. A shard's first version is not held (a full load would hold every
// shard's parse); its second, validated, is, and every later one is parsed against it. A held
// value must not be changed: the sources hand values straight to the shard store, which changes
// nothing it is given.

import { hashedTextOf, isPlainText, parseShardJson, rememberReceivedText } from './hash.js';
import { commonPrefix, commonSuffix } from './text-diff.js';
import type { Shard } from './types.js';

const REVERSE_KEY = '"reverse":[';
/** Between the two lists (keys in canonical order: `reverse`, then `rrsets`). */
const SEP = '],"rrsets":[';
/** The hash member, last, as the operator writes it (a schema-valid hash: 64 hex digits). */
const HASH_TAIL = /^,"hash":"[0-9a-f]{64}"\}$/;
const HASH_TAIL_LENGTH = ',"hash":""}'.length + 64;
/** The header (the members before `reverse`) of a shard whose text is looked at: services, zone, hosts shards' are short. */
const HEADER_MAX = 1024;
/** Shards held at most: the ones that changed last. */
const HELD_MAX = 4;

/** One list (`reverse` or `rrsets`) of a held version: where each RRset begins in its text, then one past the list's `]`. */
type At = number[];

interface Held {
  id: string;
  text: string;
  value: { reverse: unknown[]; rrsets: unknown[] };
  reverseAt: At;
  rrsetsAt: At;
}

/** Held versions by header text (the text up to and including `"reverse":[`), least recently held first. */
const held = new Map<string, Held>();
/** Shards validated from a received text at least once (their next version is held). */
const seen = new Set<string>();

/** One list of a text parsed against a held version: RRsets `from` to `to - 1` are the middle's (parsed), the rest held. */
export interface ListDelta {
  readonly from: number;
  readonly to: number;
  /** The middle's text, without the comma after it: the canonical JSON of its RRsets when as long as that (their list's, less the brackets). */
  readonly bodyLength: number;
  /** The whole list's text, brackets included. */
  readonly textLength: number;
  /** The held list's RRset starts, and what the new list's start and end moved by (for the new starts: atAfter). */
  readonly oldAt: At;
  readonly shiftStart: number;
  readonly shiftEnd: number;
  /** The held RRsets from `b` on are the new list's last. */
  readonly b: number;
  /** Where the middle begins in the new text. */
  readonly middleAt: number;
}

/** A value parsed from a text by parseShardText, until validated: the text, where its header ends, and the lists' deltas (none: parsed whole). */
interface Pending { text: string; header: number; lists?: readonly [ListDelta, ListDelta]; lens?: [number[], number[]] }
const pending = new WeakMap<object, Pending>();

/**
 * JSON.parse(text) of a shard received as text (a ConfigMap's), as parseShardJson (whose
 * remembering of the text for the hash it keeps); against the held version of the same shard
 * when there is one (file comment): the same value, but for which RRset objects are the held ones.
 */
export function parseShardText(text: string): unknown {
  const open = text.indexOf(REVERSE_KEY);
  const header = open < 0 || open > HEADER_MAX ? -1 : open + REVERSE_KEY.length;
  if (header > 0) {
    const h = held.get(text.slice(0, header));
    const value = h === undefined ? undefined : parseAgainst(h, text, header);
    if (value !== undefined) return value;
  }
  const value = parseShardJson(text);
  if (header > 0 && value !== null && typeof value === 'object') pending.set(value, { text, header });
  return value;
}

/** The value of `text` made from the held version `h` and the parsed middles of its lists, or undefined (then it is parsed whole). */
function parseAgainst(h: Held, text: string, header: number): object | undefined {
  const old = h.text;
  const n = text.length;
  if (n < header + SEP.length + HASH_TAIL_LENGTH || !HASH_TAIL.test(text.slice(n - HASH_TAIL_LENGTH))) return undefined;
  const oldReverseEnd = h.reverseAt[h.reverseAt.length - 1] - 1; // its `]`
  const oldRRsetsEnd = h.rrsetsAt[h.rrsetsAt.length - 1] - 1;
  const after = old.slice(oldRRsetsEnd, old.length - HASH_TAIL_LENGTH); // `],"zone":"..."`: the members after the lists, as held
  const rrsetsEnd = n - HASH_TAIL_LENGTH - after.length;
  if (rrsetsEnd < header || !text.startsWith(after, rrsetsEnd)) return undefined;
  const reverseEnd = text.indexOf(SEP, header); // the first: one found inside the list would leave it unparsable
  if (reverseEnd < 0 || reverseEnd + SEP.length > rrsetsEnd) return undefined;
  const reverse = listAgainst(old, header, oldReverseEnd, h.reverseAt, h.value.reverse, text, header, reverseEnd);
  if (reverse === undefined) return undefined;
  const rrsets = listAgainst(old, oldReverseEnd + SEP.length, oldRRsetsEnd, h.rrsetsAt, h.value.rrsets, text, reverseEnd + SEP.length, rrsetsEnd);
  if (rrsets === undefined) return undefined;
  // The shard's other members parsed from their own text (small), so the value has JSON.parse's map.
  let value: { reverse: unknown[]; rrsets: unknown[] };
  try {
    value = JSON.parse(text.slice(0, header) + SEP + text.slice(rrsetsEnd)) as typeof value;
  } catch {
    return undefined;
  }
  value.reverse = reverse.list;
  value.rrsets = rrsets.list;
  // Plain: the header and the members after the lists are the held text's, the hash matched its pattern, each middle was checked.
  rememberReceivedText(value, text, true);
  pending.set(value, { text, header, lists: [reverse.delta, rrsets.delta], lens: [[], []] });
  return value;
}

/** The last i below n with at[i] <= p (at increasing, at[0] <= p). */
function lastAtOrBefore(at: At, n: number, p: number): number {
  let lo = 0, hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (at[mid] <= p) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/** The first i in [from, n) with at[i] >= p, else n. */
function firstAtOrAfter(at: At, from: number, n: number, p: number): number {
  let lo = from, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (at[mid] >= p) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/**
 * One list of the new text (its RRsets between `start` and `end`, the `]`) against the held
 * one (between `oldStart` and `oldEnd`, its RRsets' starts `oldAt`, its RRsets `oldList`).
 */
function listAgainst(old: string, oldStart: number, oldEnd: number, oldAt: At, oldList: readonly unknown[], text: string, start: number, end: number): { list: unknown[]; delta: ListDelta } | undefined {
  const lo = oldEnd - oldStart, ln = end - start;
  const n = oldList.length;
  const head = commonPrefix(old, oldStart, text, start, Math.min(lo, ln));
  const shiftStart = start - oldStart, shiftEnd = shiftStart + ln - lo;
  if (head === lo && head === ln) {
    return { list: oldList as unknown[], delta: { from: n, to: n, bodyLength: 0, textLength: ln + 2, oldAt, shiftStart, shiftEnd, b: n, middleAt: end } };
  }
  const tail = commonSuffix(old, oldEnd, text, end, Math.min(lo, ln) - head);
  // The middle: from the start of the RRset the first difference is in, to the first RRset wholly in the common end.
  const a = n === 0 ? 0 : lastAtOrBefore(oldAt, n, oldStart + head);
  const b = firstAtOrAfter(oldAt, a, n, oldEnd - tail);
  const from = n === 0 ? start : oldAt[a] + shiftStart;
  const to = b < n ? oldAt[b] + shiftEnd : end;
  if (to < from) return undefined;
  let body = text.slice(from, to);
  if (b < n) { // the middle ends with the comma before the held end's first RRset (or is empty)
    if (body.length === 1 || (body.length > 0 && body.charCodeAt(body.length - 1) !== 44)) return undefined; // ','
    body = body.slice(0, -1);
  } else if (body.length === 0 && a > 0) return undefined; // (a comma would end the list)
  if (body.length > 0 && !isPlainText(body)) return undefined;
  let items: unknown[];
  try {
    items = body.length === 0 ? [] : JSON.parse('[' + body + ']') as unknown[];
  } catch {
    return undefined;
  }
  const list = a === 0 && b === n ? items : oldList.slice(0, a).concat(items, oldList.slice(b));
  return { list, delta: { from: a, to: a + items.length, bodyLength: body.length, textLength: ln + 2, oldAt, shiftStart, shiftEnd, b, middleAt: from } };
}

/**
 * What validation is to check of a value parsed by parseShardText: each list's delta (the RRsets
 * to check; none: all) and where to put each checked RRset's canonical length (none: not wanted,
 * the version will not be held). Undefined for any other value.
 */
export function deltaOf(value: unknown, id: string): { lists?: readonly [ListDelta, ListDelta]; lens?: [number[], number[]] } | undefined {
  const p = value !== null && typeof value === 'object' ? pending.get(value) : undefined;
  if (p === undefined) return undefined;
  if (p.lens === undefined && seen.has(id)) p.lens = [[], []];
  return p;
}

/** The starts of a list's RRsets whose text begins at `start`, from their canonical lengths; then one past its `]`. */
function atOf(start: number, lens: readonly number[]): At {
  if (lens.length === 0) return [start + 1];
  const at: At = new Array<number>(lens.length + 1);
  let p = start;
  for (let i = 0; i < lens.length; i++) { at[i] = p; p += lens[i] + 1; }
  at[lens.length] = p;
  return at;
}

/** The starts of a list parsed against a held one: the held start's and end's moved, the middle's from their canonical lengths. */
function atAfter(d: ListDelta, lens: readonly number[]): At {
  const n = d.oldAt.length - 1;
  const at: At = [];
  for (let i = 0; i < d.from; i++) at.push(d.oldAt[i] + d.shiftStart);
  let p = d.middleAt;
  for (let k = 0; k < lens.length; k++) { at.push(p); p += lens[k] + 1; }
  for (let j = d.b; j <= n; j++) at.push(d.oldAt[j] + d.shiftEnd);
  return at;
}

/**
 * Called for a shard that passed validation: holds it when it came as text through
 * parseShardText, it is not its first version, and its hash was taken from that text (so the text
 * is canonical; validShardHash). The version held before it is let go.
 */
export function holdValidated(shard: Shard): void {
  const p = pending.get(shard);
  if (p === undefined) return;
  pending.delete(shard);
  if (!seen.has(shard.id)) { seen.add(shard.id); return; }
  const { text, header, lens, lists } = p;
  if (lens === undefined || hashedTextOf(shard) !== text) return;
  const value = shard as unknown as Held['value'];
  if (!Array.isArray(value.reverse) || !Array.isArray(value.rrsets)) return;
  const reverseAt = lists !== undefined ? atAfter(lists[0], lens[0]) : atOf(header, lens[0]);
  const reverseEnd = reverseAt[reverseAt.length - 1] - 1;
  if (!text.startsWith(SEP, reverseEnd)) return;
  const rrsetsAt = lists !== undefined ? atAfter(lists[1], lens[1]) : atOf(reverseEnd + SEP.length, lens[1]);
  const rrsetsEnd = rrsetsAt[rrsetsAt.length - 1] - 1;
  if (reverseAt.length !== value.reverse.length + 1 || rrsetsAt.length !== value.rrsets.length + 1 || text.charCodeAt(rrsetsEnd) !== 93
    || rrsetsEnd > text.length - HASH_TAIL_LENGTH || !HASH_TAIL.test(text.slice(text.length - HASH_TAIL_LENGTH))) return;
  const key = text.slice(0, header);
  held.delete(key);
  held.set(key, { id: shard.id, text, value, reverseAt, rrsetsAt });
  if (held.size > HELD_MAX) held.delete(held.keys().next().value!);
}

/**
 * Where a held shard's RRsets lie in `text` (tables/slab-names.ts rrsetsInText's answer, found
 * without a search): when `shard` is the value held and `text` its text; else undefined.
 */
export function heldLayout(shard: object, text: string): { at: number[]; reverse: string } | undefined {
  const open = text.indexOf(REVERSE_KEY);
  if (open < 0 || open > HEADER_MAX) return undefined;
  const h = held.get(text.slice(0, open + REVERSE_KEY.length));
  if (h === undefined || h.value !== shard || h.text !== text) return undefined;
  return { at: h.rrsetsAt, reverse: text.slice(open + REVERSE_KEY.length - 1, h.reverseAt[h.reverseAt.length - 1]) };
}

/** Forgets a shard that is gone (the ConfigMap source, on its removal): its held version, and that it was seen. */
export function forgetShardText(id: string): void {
  seen.delete(id);
  for (const [key, h] of held) if (h.id === id) held.delete(key);
}

/** The shards held now and the chars of their texts (tests, the bench's memory count). */
export function heldShards(): { ids: string[]; chars: number } {
  let chars = 0;
  for (const h of held.values()) chars += h.text.length;
  return { ids: [...held.values()].map((h) => h.id), chars };
}
