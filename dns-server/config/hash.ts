// Canonical JSON and the content hash of a shard. The operator and the DNS server both use
// these, so a hash means the same thing on both sides: sha256 (hex) of the canonical JSON of
// the shard without its `hash` field. Canonical: object keys sorted, no white space, arrays in
// their given order (the compiler sorts them), strings and numbers as JSON.stringify writes them.
//
// The DNS server checks the hash of every shard it loads, and serialising a large shard again
// costs more than hashing it. So it takes the cheapest of three ways to the same bytes
// (validShardHash): the text it received, when that text is already canonical (the operator
// writes canonical JSON, its hash member last); else JSON.stringify, when every object's keys are
// already in sorted order; else sorting (canonicalJson). docs/adr/0015-shard-validation-at-scale.md
// gives the argument that the first way hashes exactly the canonical bytes.

import { createHash } from 'node:crypto';
import type { Shard, UnhashedShard } from './types.js';

/** ordered()'s answer for a value whose JSON.stringify it cannot make canonical. */
const UNORDERED = Symbol('unordered');

/**
 * The value with every object's keys in sorted order, so that JSON.stringify of it is the
 * canonical JSON: the value itself where they already are (shards the operator wrote and a
 * server parsed back: JSON.parse keeps key order), a copy where not (a bundle written by hand
 * or by another tool); copying and JSON.stringify cost a third of sorting by hand (sortedJson).
 * UNORDERED where JSON.stringify would still differ from sortedJson: a key that is an array
 * index (V8 enumerates those first, whatever the order they were added in) or "__proto__", an
 * object that is not plain (toJSON and friends), a number that is not finite, undefined in an
 * array, a function.
 */
function ordered(value: unknown): unknown {
  switch (typeof value) {
    case 'string': case 'boolean': return value;
    case 'number': return Number.isFinite(value) ? value : UNORDERED;
    case 'object': break;
    default: return UNORDERED;
  }
  if (value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const x: unknown = value[i];
      const o = x === undefined ? UNORDERED : ordered(x);
      if (o === UNORDERED) return UNORDERED;
      if (o !== x) (out ??= value.slice())[i] = o;
    }
    return out ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return UNORDERED;
  const obj = value as Record<string, unknown>;
  let prev = '';
  let first = true;
  let same = true;
  for (const k in obj) {
    if (!first && !(prev < k)) { same = false; break; }
    if (isIndexLike(k)) return UNORDERED;
    const x = obj[k];
    if (x !== undefined) {
      const o = ordered(x);
      if (o === UNORDERED) return UNORDERED;
      if (o !== x) { same = false; break; }
    }
    prev = k;
    first = false;
  }
  if (same) return value;
  const keys = Object.keys(obj).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (isIndexLike(k)) return UNORDERED;
    const x = obj[k];
    if (x === undefined) continue;
    const o = ordered(x);
    if (o === UNORDERED) return UNORDERED;
    out[k] = o;
  }
  return out;
}

/** A key JSON.stringify could write out of its object's key order (an array index), or that sets a prototype when assigned. */
function isIndexLike(k: string): boolean {
  const c = k.charCodeAt(0);
  return (c >= 48 && c <= 57) || k === '__proto__';
}

/** JSON with object keys sorted at every depth, so equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  const o = ordered(value);
  return o === UNORDERED ? sortedJson(value) : JSON.stringify(o);
}

function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined) throw new TypeError('canonicalJson: undefined is not JSON');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + sortedJson(value[i]);
    return out + ']';
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + sortedJson(obj[keys[i]]);
  }
  return out + '}';
}

/** The hash a shard must carry: sha256 of its canonical JSON without `hash`. */
export function computeShardHash(shard: UnhashedShard | Shard): string {
  const { hash: _ignored, ...rest } = shard as Shard; // (spread keeps the key order)
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** A character JSON.stringify writes escaped, or a surrogate (a lone one it writes as \u). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const SURROGATE = /[\ud800-\udfff]/;
/** canonicalLength's answer when JSON.stringify(value) is not known to be canonical. */
export const NOT_CANONICAL = -1;

/**
 * The length of canonicalJson(value) when JSON.stringify(value) is that (every object's keys in
 * sorted order, none an array index, none undefined; plain objects; finite numbers), else
 * NOT_CANONICAL; also NOT_CANONICAL for a string holding a surrogate (rare; the received text's
 * check needs strings without: see isCanonicalText).
 */
export function canonicalLength(value: unknown): number {
  switch (typeof value) {
    case 'string': return !NEEDS_ESCAPE.test(value) ? value.length + 2 : SURROGATE.test(value) ? NOT_CANONICAL : JSON.stringify(value).length;
    case 'number': return Number.isFinite(value) ? String(value).length : NOT_CANONICAL;
    case 'boolean': return value ? 4 : 5;
    case 'object': break;
    default: return NOT_CANONICAL;
  }
  if (value === null) return 4;
  if (Array.isArray(value)) {
    let len = 1; // the opening bracket, and a comma before every item after the first
    for (let i = 0; i < value.length; i++) {
      const l = canonicalLength(value[i]);
      if (l < 0) return NOT_CANONICAL;
      len += (i ? 1 : 0) + l;
    }
    return len + 1;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_CANONICAL; // toJSON and friends
  return objectLength(value as Record<string, unknown>);
}

/**
 * canonicalLength of a plain object, less its member `skip`; `known`: the canonical lengths of
 * members already measured.
 */
function objectLength(value: Record<string, unknown>, known?: Partial<Record<string, number>>, skip?: string): number {
  let len = 1; // the opening brace, and a comma before every member after the first
  let prev = '';
  for (const k in value) {
    if (k === skip) continue;
    const l = memberLength(prev, k, value[k], known?.[k]);
    if (l < 0) return NOT_CANONICAL;
    len += (prev ? 1 : 0) + l;
    prev = k;
  }
  return len + 1;
}

/**
 * The canonical length of the member `"k":v` after a member `prev` ('' for the first), or
 * NOT_CANONICAL when k does not sort after prev or could be reordered by JSON.parse (an array
 * index: V8 enumerates those first, whatever the text's order).
 */
function memberLength(prev: string, k: string, v: unknown, known?: number): number {
  if ((prev && !(prev < k)) || k === '' || (k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57) || v === undefined) return NOT_CANONICAL;
  const l = known ?? canonicalLength(v);
  return l < 0 ? NOT_CANONICAL : canonicalLength(k) + 1 + l;
}

/**
 * The text each shard parsed by parseShardJson came from (or its part of a bundle's text,
 * receivedShardTexts; or the text its producer in this process wrote it as, rememberShardText),
 * until validShardHash has used it; `ascii`: every char below 0x80 (then its UTF-8 is
 * its latin1, which the hash reads at a third of the cost; found when first needed where not
 * given); `plain`: the text needs no scan for escapes, white space and odd numbers (a bundle's
 * whole text passed it).
 */
const receivedText = new WeakMap<object, { text: string; ascii?: boolean; plain?: true }>();
/** The text each bundle parsed by parseBundleJson came from, until receivedShardTexts. */
const receivedBundle = new WeakMap<object, string>();

const isAscii = (text: string) => Buffer.byteLength(text, 'utf8') === text.length;

/**
 * JSON.parse(text) for a shard received as text (a ConfigMap's): remembers the text, so that
 * validShardHash can hash it instead of serialising the shard again. The value must not be
 * changed before it is validated (the sources hand it straight to the shard store).
 */
export function parseShardJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (value !== null && typeof value === 'object') receivedText.set(value, { text, ascii: isAscii(text) });
  return value;
}

/**
 * Remembers `text` as what `value` was received as, as parseShardJson does for the value it
 * parses; for shard-delta.ts, which makes the value from part of the text and a held version.
 * `plain`: the caller has checked that the text holds no escape, white space or odd number
 * (isPlainText), so validShardHash checks its length only.
 */
export function rememberReceivedText(value: object, text: string, plain: boolean): void {
  receivedText.set(value, plain ? { text, ascii: isAscii(text), plain: true } : { text, ascii: isAscii(text) });
}

/**
 * Remembers `text` as what `shard` was written as by its producer in this process (the operator's
 * compiler: its canonical JSON with the hash member last, what it publishes), so that
 * validShardHash hashes that text, checked as a ConfigMap's text is (isCanonicalText), instead of
 * serialising the shard again when this process also serves it (local mode). As for
 * parseShardJson, the shard must not be changed before it is validated. ADR 0024.
 */
export function rememberShardText(shard: object, text: string): void {
  receivedText.set(shard, { text });
}

/**
 * JSON.parse(text) for a bundle received as text (the file source's): remembers the text, so
 * that validation can find each shard's text in it (receivedShardTexts) and hash that, as for
 * parseShardJson. The value must not be changed before it is validated.
 */
export function parseBundleJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (value !== null && typeof value === 'object') receivedBundle.set(value, text);
  return value;
}

/** The length of a shard's text as the operator writes it: its canonical JSON without `hash`, then the hash member last (`lengths`: as validShardHash). */
export function operatorTextLength(shard: object, lengths: Partial<Record<string, number>> = {}): number {
  if (shard === null || typeof shard !== 'object' || Array.isArray(shard)) return NOT_CANONICAL;
  const rec = shard as Record<string, unknown>;
  let last = '';
  let keys = 0;
  for (const k in rec) { last = k; keys++; }
  const hash = rec.hash;
  // (a shard of the hash alone is written without the comma this length counts: not taken)
  if (keys < 2 || last !== 'hash' || typeof hash !== 'string' || !/^[0-9a-f]*$/.test(hash)) return NOT_CANONICAL;
  const len = objectLength(rec, lengths, 'hash');
  return len < 0 ? NOT_CANONICAL : len - 1 + ',"hash":"'.length + hash.length + 2;
}

/**
 * Each shard's text within the text parseBundleJson kept for `bundle` (then forgotten), for
 * validShardHash to hash, or false (then each shard is serialised as before). `lengthOf(i)`:
 * operatorTextLength of shard i (NOT_CANONICAL: none of the texts are taken); asked only when
 * there is a text. It must be NOT_CANONICAL for a shard that failed the schema: the argument
 * below needs every number to be a member's value (so the scan sees an odd one), and a refused
 * shard's array of numbers written shorter than JSON.stringify writes them (1E20) would make room
 * for a duplicate member elsewhere, shifting a shard's window onto other text (validate.ts).
 *
 * Sound because the whole text is checked, not each shard's: it holds no escape, no white space,
 * no odd number (isPlainText), so every token in it is written as the canonical JSON writes
 * it; the envelope's keys and every shard's are in the order the expected text has them (the
 * envelope's and the shards' sorted, each shard's hash last: objectLength and operatorTextLength
 * check that), so the text is the expected one unless JSON.parse dropped a duplicate member, which
 * would make it longer than the expected length: it must be exactly that long. Then shard i's
 * text lies at the offset the lengths before it give. (A shard's own check alone would not do: a
 * longer shard before it would shift the window onto other text.) ADR 0015.
 */
export function receivedShardTexts(bundle: object, lengthOf: (i: number) => number): boolean {
  const text = receivedBundle.get(bundle);
  receivedBundle.delete(bundle); // needed once
  if (text === undefined) return false;
  const shards = (bundle as { shards: object[] }).shards;
  if (!Array.isArray(shards)) return false;
  const lengths: number[] = [];
  let arrayLength = 1 + Math.max(0, shards.length - 1) + 1; // brackets and commas
  for (let i = 0; i < shards.length; i++) {
    const l = lengthOf(i);
    if (l < 0) return false;
    lengths.push(l);
    arrayLength += l;
  }
  const env = bundle as Record<string, unknown>;
  const total = objectLength(env, { shards: arrayLength });
  if (total !== text.length || !isPlainText(text)) return false;
  const ascii = isAscii(text);
  // Where the shards' array begins: after the envelope's members before it (sorted, so known).
  let at = 1;
  for (const k in env) {
    if (k === 'shards') break;
    at += canonicalLength(k) + 1 + canonicalLength(env[k]) + 1;
  }
  at += '"shards":['.length;
  for (let i = 0; i < shards.length; i++) {
    receivedText.set(shards[i], { text: text.slice(at, at + lengths[i]), ascii, plain: true }); // (isPlainText: the whole text is)
    at += lengths[i] + 1;
  }
  return true;
}

/**
 * A number that is a member's value and could be written shorter, or as long, in canonical form:
 * with a fraction, an exponent, or 16 digits and more (past 2^53 JSON.parse rounds). A schema-valid
 * shard has numbers nowhere else (no arrays of numbers).
 */
const ODD_NUMBER = /":-?(?:\d{16}|\d+[.eE])/;

/**
 * Whether `text` (parsed into the shard) minus its last `tailLength` characters, plus '}', is the
 * canonical JSON of the shard without its hash, of which `restLength` is the canonical length
 * (every key already found in canonical order, every string free of surrogates, and the shard
 * valid by the schema). It is when the text holds no escape, no white space, no odd number, and is
 * exactly that long: every token left is then in canonical form, and a duplicate member (which
 * JSON.parse drops) would make it longer. docs/adr/0015-shard-validation-at-scale.md.
 */
function isCanonicalText(text: string, tailLength: number, restLength: number): boolean {
  return text.length - tailLength + 1 === restLength && isPlainText(text);
}

/** No escape, no white space, no odd number (isCanonicalText). */
export function isPlainText(text: string): boolean {
  return text.indexOf('\\') < 0 && text.indexOf(' ') < 0 && text.indexOf('\n') < 0 && text.indexOf('\r') < 0 && text.indexOf('\t') < 0
    && !ODD_NUMBER.test(text);
}

/**
 * computeShardHash(shard), the cheapest way (see the file comment). For a shard that passed the
 * schema (so `hash` is 64 hex digits). `lengths`: the canonical lengths of fields already
 * measured (rrset-check.ts measures the RRset lists as it checks them; NOT_CANONICAL where not).
 */
export function validShardHash(shard: Shard, lengths: Partial<Record<string, number>> = {}): string {
  const got = receivedText.get(shard);
  receivedText.delete(shard); // needed once
  const len = objectLength(shard as unknown as Record<string, unknown>, lengths, 'hash');
  if (len < 0) { // keys not in sorted order (or a surrogate): the sorted serialisation, kept as well
    const { hash: _ignored, ...rest } = shard;
    const json = canonicalJson(rest);
    hashedText.set(shard, json);
    return createHash('sha256').update(json).digest('hex');
  }
  const tail = ',"hash":"' + shard.hash + '"}'; // the hash member, last, as the operator writes it
  const text = got?.text;
  if (text !== undefined && text.endsWith(tail) && (got!.plain ? text.length - tail.length + 1 === len : isCanonicalText(text, tail.length, len))) {
    hashedText.set(shard, text);
    const body = text.slice(0, text.length - tail.length);
    return createHash('sha256').update(body, got!.ascii ?? isAscii(body) ? 'latin1' : 'utf8').update('}').digest('hex');
  }
  const { hash: _ignored, ...rest } = shard;
  const json = JSON.stringify(rest);
  hashedText.set(shard, json);
  return createHash('sha256').update(json).digest('hex');
}

/** The canonical text validShardHash hashed for a shard, until takeHashedText. */
const hashedText = new WeakMap<object, string>();

/**
 * The text validShardHash hashed for `shard` (once; undefined when it hashed none of the shard's
 * texts: a shard whose keys were not in canonical order): the canonical JSON of the shard without
 * its hash, or that JSON with the hash member written before its closing brace (the text
 * received). Either way every member before `hash` is exactly as the canonical JSON writes it,
 * which the slab builder reads its records from (tables/build.ts) instead of writing them again.
 */
export function takeHashedText(shard: object): string | undefined {
  const text = hashedText.get(shard);
  hashedText.delete(shard);
  return text;
}

/** The text validShardHash hashed for `shard`, left for takeHashedText (shard-delta.ts: was it the text received?). */
export function hashedTextOf(shard: object): string | undefined {
  return hashedText.get(shard);
}

/**
 * Returns the shard with its hash set. It keeps no text for validShardHash (ADR 0024): a shard made
 * here and changed before validation, whatever the change, is hashed from its value and refused.
 * The one producer in a serving process that hands its text over is the operator's compiler
 * (hashShard, local mode), whose text is its objects' JSON (test/operator/compile/incremental.test.ts).
 */
export function withHash<S extends UnhashedShard>(shard: S): S & { hash: string } {
  return { ...shard, hash: computeShardHash(shard) } as S & { hash: string };
}
