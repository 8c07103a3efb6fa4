// A changed shard received as text, parsed and checked against the version of it held: only the
// RRsets whose text changed are parsed and checked; the others are the held version's own
// objects, checked when it was. ADR 0033.
//
// A shard changes a little at a time (an endpoint: a few A and PTR RRsets of a namespace's
// hundreds), yet each version came as the whole shard's text, parsed whole (JSON.parse: a fifth
// of a changed shard's apply) and checked whole. parseShardText walks each of the two RRset lists
// (`reverse`, `rrsets`) of the new text side by side with the held version's: a run of held
// RRsets whose text is the new text's at that point is taken as it is (one string comparison, a
// block at a time); where they differ, one RRset of the new text is parsed, to the next
// `},{"data":`, and the held RRsets that sort at or before it are passed. A namespace's changed
// names are spread over its list (sorted by name: `10-64-...`, `_http._tcp...`, `pod-2...`,
// `svc-...` of one Service lie apart), so a walk, not one common start and end.
//
// Sound because a held version's text passed every check (validate.ts, its hash included) as
// the text it was received as, which validShardHash took as canonical: plain (no escape, white
// space or odd number) and exactly as long as its value's canonical JSON. The new text is the held
// one's header (the members before `reverse`, compared whole: the map's key), the same members
// after `rrsets` (compared), a hash member checked by pattern, and two lists, each cut into
// pieces that are either the text of a held RRset with the comma or `]` after it, or a piece
// parsed alone that is plain and one JSON value. In a plain text a bare quote delimits a string, so
// brackets outside strings nest: a piece that parses alone is a whole value, and the walk is at
// the list's level after each piece; so the list is exactly the held RRsets taken and the values
// parsed, in the text's order, whatever the walk passed (anything else: undefined, and the text is
// parsed whole). The RRsets taken are the very objects validated before, and an RRset's check
// depends on the RRset alone (the rules between neighbours, checkRRSets, still walk the whole
// list): validation checks the parsed RRsets only (checkShardSchema), measures them, and the text
// is canonical when each parsed run is as long as its canonical JSON (then each list's canonical
// length is its text's). Where each RRset of the new text begins is known from the walk.
//
// What is held: for the HELD_MAX shards that changed last, the text (the string the source
// received: a ConfigMap's data, which the informer holds anyway), the parsed value, and where
// each RRset begins in the text. A shard's first version is not held (a full load would hold every
// shard's parse); its second, validated, is, and every later one is parsed against it. A held
// value must not be changed: the sources hand values straight to the shard store, which changes
// nothing it is given.

import { hashedTextOf, isPlainText, parseShardJson, rememberReceivedText } from './hash.js';
import { commonPrefix } from './text-diff.js';
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

/**
 * One list of a text parsed against a held version: the RRsets of the runs in `fresh` (from, to:
 * indices in the new list) were parsed, the others are held ones.
 */
export interface ListDelta {
  /** Runs of parsed RRsets: [from, to) pairs, flat. */
  readonly fresh: readonly number[];
  /** Each run's text, without the separator after it: the canonical JSON of its RRsets when as long as that (their list's, less the brackets). */
  readonly bodyLengths: readonly number[];
  /** The whole list's text, brackets included. */
  readonly textLength: number;
  /** Where each RRset of the new list begins in the new text, then one past its `]`. */
  readonly at: At;
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

/** The value of `text` made from the held version `h` and the parsed pieces of its lists, or undefined (then it is parsed whole). */
function parseAgainst(h: Held, text: string, header: number): object | undefined {
  const old = h.text;
  const n = text.length;
  if (n < header + SEP.length + HASH_TAIL_LENGTH || !HASH_TAIL.test(text.slice(n - HASH_TAIL_LENGTH))) return undefined;
  const oldRRsetsEnd = h.rrsetsAt[h.rrsetsAt.length - 1] - 1;
  const after = old.slice(oldRRsetsEnd, old.length - HASH_TAIL_LENGTH); // `],"zone":"..."`: the members after the lists, as held
  const rrsetsEnd = n - HASH_TAIL_LENGTH - after.length;
  if (rrsetsEnd < header || !text.startsWith(after, rrsetsEnd)) return undefined;
  const reverseEnd = text.indexOf(SEP, header); // the first: one found inside the list would leave it unparsable
  if (reverseEnd < 0 || reverseEnd + SEP.length > rrsetsEnd) return undefined;
  const reverse = listAgainst(old, h.reverseAt, h.value.reverse, text, header, reverseEnd);
  if (reverse === undefined) return undefined;
  const rrsets = listAgainst(old, h.rrsetsAt, h.value.rrsets, text, reverseEnd + SEP.length, rrsetsEnd);
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
  // Plain: the header and the members after the lists are the held text's, the hash matched its pattern, each piece was checked.
  rememberReceivedText(value, text, true);
  pending.set(value, { text, header, lists: [reverse.delta, rrsets.delta], lens: [[], []] }); // (lens: asked for, so the version is held)
  return value;
}

/** The last k in [i, n] with at[k] - at[i] <= length (at increasing). */
function lastWithin(at: At, i: number, n: number, length: number): number {
  const limit = at[i] + length;
  let lo = i, hi = n;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (at[mid] <= limit) lo = mid; else hi = mid - 1;
  }
  return lo;
}

/**
 * Pieces a list's walk parses before it may give up for a whole parse: one RRset parsed alone
 * costs a search and a JSON.parse call, about 3.5 times its share of a whole parse (ns-42 with every
 * TTL changed: 21-27 ms walked against 6-8 ms parsed whole, on a loaded machine), so a walk that
 * has parsed more than an eighth of the held list's RRsets (and more than PIECES_FREE) stops, and
 * the text is parsed whole: what it cost is then at most about half a whole parse more.
 */
const PIECES_FREE = 16;

/** `},{"data":` lies only between two RRsets of a list (in a plain text; file comment). */
const BETWEEN = '},{"data":';

/** Whether held RRset `o` sorts at or before RRset `n` (name, then type: a validated list's order); false for anything not an RRset. */
function atOrBefore(o: unknown, n: unknown): boolean {
  const on = (o as { name?: unknown }).name, nn = (n as { name?: unknown } | null)?.name;
  if (typeof on !== 'string' || typeof nn !== 'string') return false;
  return on < nn || (on === nn && String((o as { type?: unknown }).type) <= String((n as { type?: unknown }).type));
}

/**
 * One list of the new text (its RRsets from `start` to `end`, its `]`) against the held one (its
 * RRsets' starts `oldAt`, then one past its `]`; its RRsets `oldList`), walked side by side: a run
 * of held RRsets whose text (each with the comma or `]` after it) is the new text's at the same
 * point is taken as it is; else one RRset of the new text is parsed (to the next `},{"data":`, or
 * the list's end), and the held ones that sort at or before it are passed (changed or removed).
 * Whatever is passed, the list made is the new text's parse: each held RRset taken is the very
 * text at its place, and each parsed piece is whole values (file comment); the order only decides
 * how much is taken. Undefined when a piece is not plain or not one value (then the text is parsed whole).
 */
function listAgainst(old: string, oldAt: At, oldList: readonly unknown[], text: string, start: number, end: number): { list: unknown[]; delta: ListDelta } | undefined {
  const n = oldList.length;
  const oldEnd = oldAt[n]; // one past the held list's `]`
  const list: unknown[] = [];
  const at: At = [];
  const fresh: number[] = [];
  const bodyLengths: number[] = [];
  let q = start, i = 0, pieces = 0;
  if (start === end) q = end + 1; // the new list is empty
  while (q <= end) {
    if (i < n) { // held RRsets whose text (and separator) is the new text's here
      const same = commonPrefix(old, oldAt[i], text, q, Math.min(oldEnd - oldAt[i], end + 1 - q));
      const k = lastWithin(oldAt, i, n, same);
      if (k === n && k > i && q + oldAt[n] - oldAt[i] !== end + 1) return undefined; // (the held list's `]` is the new list's end, not one before it)
      for (; i < k; i++) { list.push(oldList[i]); at.push(q); q += oldAt[i + 1] - oldAt[i]; }
      if (q > end) break;
    }
    // One RRset of the new text, to the next seam or the list's end; parsed whole past an eighth of the held list (cheaper then).
    if (++pieces > PIECES_FREE && pieces * 8 > n) return undefined;
    const seam = text.indexOf(BETWEEN, q);
    const stop = seam >= 0 && seam < end ? seam + 1 : end;
    const piece = text.slice(q, stop);
    if (!isPlainText(piece)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(piece);
    } catch {
      return undefined;
    }
    if (fresh.length > 0 && fresh[fresh.length - 1] === list.length) { fresh[fresh.length - 1]++; bodyLengths[bodyLengths.length - 1] += 1 + piece.length; } // (the run goes on)
    else { fresh.push(list.length, list.length + 1); bodyLengths.push(piece.length); }
    list.push(parsed);
    at.push(q);
    q = stop + 1;
    while (i < n && atOrBefore(oldList[i], parsed)) i++;
  }
  at.push(end + 1);
  return { list, delta: { fresh, bodyLengths, textLength: end - start + 2, at } };
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
  const reverseAt = lists !== undefined ? lists[0].at : atOf(header, lens[0]);
  const reverseEnd = reverseAt[reverseAt.length - 1] - 1;
  if (!text.startsWith(SEP, reverseEnd)) return;
  const rrsetsAt = lists !== undefined ? lists[1].at : atOf(reverseEnd + SEP.length, lens[1]);
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
