// The RRset lists of a shard (`rrsets`, `reverse`), checked by hand against schema.ts's
// `rrsetSchema`: the same verdict for every input, and the same first error (instance path and
// message) as ajv's code for it. These lists are nearly all of a large configuration (a 10,000
// Service cluster: about 100,000 RRsets in 100 namespace shards), and the generated validator's
// code for them (one large function per definition, compiled late by V8 in a fresh process)
// cost most of a full load's validation (ADR 0015). test/dns-server/rrset-check.test.ts compares
// this check with ajv compiling the schema at run time, on valid RRsets, on a mutation of each
// rule and on random mutations; a change to the RRset definition fails it until made here too.
//
// While it walks a list, it also measures the list's canonical JSON (hash.ts) for the shard hash,
// when every object in it has its keys in canonical (sorted) order: what lets the hash use the
// received text, or JSON.stringify, without sorting anything (hash.ts validShardHash).

import {
  CAA_TAG_PATTERN, CAA_VALUE_MAX_LENGTH, FQDN_PATTERN, HOSTNAME_PATTERN, NAME_MAX_LENGTH, RRSET_MAX_ITEMS, RRSET_TYPES, TTL_MAX,
  TXT_MAX_STRINGS, TXT_STRING_MAX_LENGTH, U16_MAX,
} from './schema.js';
import { IPV4_FORMAT, IPV6_FORMAT, ucs2length } from './schema-validators.generated.js';
import { canonicalLength, NOT_CANONICAL } from './hash.js';

// Without ajv's "u" flag: the pattern is ASCII, so a string with anything else fails either way.
const CAA_TAG = new RegExp(CAA_TAG_PATTERN);
const TYPES = new Set<unknown>(RRSET_TYPES);

// '{"data":' + data + ',"name":"' + name + '","ttl":' + ttl + ',"type":"' + type + '"}'
const RRSET_OVERHEAD = '{"data":,"name":"","ttl":,"type":""}'.length;
const MX_OVERHEAD = '{"exchange":"","preference":}'.length;
const SRV_OVERHEAD = '{"port":,"priority":,"target":"","weight":}'.length;
const CAA_OVERHEAD = '{"flags":,"tag":"","value":""}'.length;

/** The first error found: its path below what was being checked, and ajv's message. */
class Refusal {
  constructor(readonly path: string, readonly message: string) {}
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isInteger = (v: unknown): v is number => typeof v === 'number' && !(v % 1) && !isNaN(v) && isFinite(v);

/** maxLength: code points (ajv's ucs2length), counted only when the UTF-16 length is over (it is never less). */
const tooLong = (s: string, max: number) => s.length > max && ucs2length(s) > max;

/** Decimal digits of a non-negative integer (JSON.stringify's length of it; -0 is "0"). */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) { n = Math.floor(n / 10); d++; }
  return d;
}

/** A sum of canonical lengths: NOT_CANONICAL when either is. */
const plus = (a: number, b: number): number => (a < 0 || b < 0 ? NOT_CANONICAL : a + b);

function checkInteger(v: unknown, path: string, max: number): void {
  if (!isInteger(v)) throw new Refusal(path, 'must be integer');
  if (v > max) throw new Refusal(path, `must be <= ${max}`);
  if (v < 0) throw new Refusal(path, 'must be >= 0');
}

/**
 * FQDN_PATTERN (`wildcard`) or HOSTNAME_PATTERN, by hand (the regexps backtrack at every label's
 * end, and were half of this check's time): "." or labels each followed by a dot; a label of 1 to
 * 63 characters of [a-z0-9_-], '*' too as its first with `wildcard`, neither starting nor ending
 * with '-' (nor ending with '*').
 */
export function isDomainName(s: string, wildcard: boolean): boolean {
  const n = s.length;
  if (n === 0 || s.charCodeAt(n - 1) !== 46) return false;
  if (n === 1) return true; // the root
  let start = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) { // '.': the end of a label
      const len = i - start;
      if (len === 0 || len > 63 || (len > 1 && s.charCodeAt(i - 1) === 45)) return false;
      start = i + 1;
    } else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || (c === 45 && i !== start) || (c === 42 && wildcard && i === start))) {
      return false;
    }
  }
  return true;
}

function checkName(v: unknown, path: string, wildcard: boolean): string {
  if (typeof v !== 'string') throw new Refusal(path, 'must be string');
  if (tooLong(v, NAME_MAX_LENGTH)) throw new Refusal(path, `must NOT have more than ${NAME_MAX_LENGTH} characters`);
  if (!isDomainName(v, wildcard)) throw new Refusal(path, `must match pattern "${wildcard ? FQDN_PATTERN : HOSTNAME_PATTERN}"`);
  return v;
}

/** An RRset, or a data item that is an object (the errors' paths are below it, so ''). */
function checkObject(v: unknown): Record<string, unknown> {
  if (!isObject(v)) throw new Refusal('', 'must be object');
  return v;
}

/**
 * ajv's error for the first of the required properties (in the schema's order) that is undefined,
 * which the caller names with named property reads: a loop over the names with keyed reads cost
 * this whole check a quarter more.
 */
function missing(key: string | undefined): void {
  if (key !== undefined) throw new Refusal('', `must have required property '${key}'`);
}

/**
 * Whether the object's keys, all of which must be in `keys` (sorted), are in that order; throws
 * ajv's additionalProperties error for any other key. Every key being required and present, in
 * order means exactly `keys`, in canonical order.
 */
function keysInOrder(v: Record<string, unknown>, keys: readonly string[]): boolean {
  let i = 0;
  let ordered = true;
  for (const k in v) {
    if (k === keys[i]) { i++; continue; }
    if (!keys.includes(k)) throw new Refusal('', 'must NOT have additional properties');
    ordered = false;
  }
  return ordered;
}

const RRSET_KEYS = ['data', 'name', 'ttl', 'type'];
const MX_KEYS = ['exchange', 'preference'];
const SRV_KEYS = ['port', 'priority', 'target', 'weight'];
const CAA_KEYS = ['flags', 'tag', 'value'];

/** One data item; returns its canonical JSON length, or NOT_CANONICAL. Paths are below the item. */
function checkItem(type: string, item: unknown): number {
  switch (type) {
    case 'A':
    case 'AAAA':
      if (typeof item !== 'string') throw new Refusal('', 'must be string');
      if (!(type === 'A' ? IPV4_FORMAT : IPV6_FORMAT).test(item)) throw new Refusal('', `must match format "${type === 'A' ? 'ipv4' : 'ipv6'}"`);
      return item.length + 2;
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return checkName(item, '', false).length + 2;
    case 'TXT': {
      if (!Array.isArray(item)) throw new Refusal('', 'must be array');
      if (item.length > TXT_MAX_STRINGS) throw new Refusal('', `must NOT have more than ${TXT_MAX_STRINGS} items`);
      if (item.length < 1) throw new Refusal('', 'must NOT have fewer than 1 items');
      let len = 1 + item.length; // brackets and commas
      for (let j = 0; j < item.length; j++) {
        const s = item[j];
        if (typeof s !== 'string') throw new Refusal(`/${j}`, 'must be string');
        if (tooLong(s, TXT_STRING_MAX_LENGTH)) throw new Refusal(`/${j}`, `must NOT have more than ${TXT_STRING_MAX_LENGTH} characters`);
        const l = canonicalLength(s);
        len = plus(len, l);
      }
      return len;
    }
    case 'MX': {
      const mx = checkObject(item);
      missing(mx.preference === undefined ? 'preference' : mx.exchange === undefined ? 'exchange' : undefined);
      const ordered = keysInOrder(mx, MX_KEYS);
      checkInteger(mx.preference, '/preference', U16_MAX);
      const exchange = checkName(mx.exchange, '/exchange', false);
      return ordered ? MX_OVERHEAD + exchange.length + digits(mx.preference as number) : NOT_CANONICAL;
    }
    case 'SRV': {
      const srv = checkObject(item);
      missing(srv.priority === undefined ? 'priority' : srv.weight === undefined ? 'weight' : srv.port === undefined ? 'port' : srv.target === undefined ? 'target' : undefined);
      const ordered = keysInOrder(srv, SRV_KEYS);
      checkInteger(srv.priority, '/priority', U16_MAX);
      checkInteger(srv.weight, '/weight', U16_MAX);
      checkInteger(srv.port, '/port', U16_MAX);
      const target = checkName(srv.target, '/target', false);
      return ordered ? SRV_OVERHEAD + target.length + digits(srv.port as number) + digits(srv.priority as number) + digits(srv.weight as number) : NOT_CANONICAL;
    }
    case 'CAA': {
      const caa = checkObject(item);
      missing(caa.flags === undefined ? 'flags' : caa.tag === undefined ? 'tag' : caa.value === undefined ? 'value' : undefined);
      const ordered = keysInOrder(caa, CAA_KEYS);
      checkInteger(caa.flags, '/flags', 255);
      if (typeof caa.tag !== 'string') throw new Refusal('/tag', 'must be string');
      if (!CAA_TAG.test(caa.tag)) throw new Refusal('/tag', `must match pattern "${CAA_TAG_PATTERN}"`);
      if (typeof caa.value !== 'string') throw new Refusal('/value', 'must be string');
      if (tooLong(caa.value, CAA_VALUE_MAX_LENGTH)) throw new Refusal('/value', `must NOT have more than ${CAA_VALUE_MAX_LENGTH} characters`);
      const value = canonicalLength(caa.value);
      return ordered && value >= 0 ? CAA_OVERHEAD + digits(caa.flags as number) + caa.tag.length + value - 2 : NOT_CANONICAL;
    }
  }
  throw new Error(`unreachable: RRset type ${type}`);
}

/** One RRset; returns its canonical JSON length, or NOT_CANONICAL. Paths are below the RRset. */
function checkRRSet(input: unknown): number {
  const rs = checkObject(input);
  if (rs.type === undefined) throw new Refusal('', "must have required property 'type'");
  const type = rs.type as string;
  if (!TYPES.has(type)) throw new Refusal('/type', 'must be equal to one of the allowed values');
  missing(rs.name === undefined ? 'name' : rs.ttl === undefined ? 'ttl' : rs.data === undefined ? 'data' : undefined);
  const ordered = keysInOrder(rs, RRSET_KEYS);
  const name = checkName(rs.name, '/name', true);
  checkInteger(rs.ttl, '/ttl', TTL_MAX);
  const data = rs.data;
  if (!Array.isArray(data)) throw new Refusal('/data', 'must be array');
  const maxItems = type === 'CNAME' ? 1 : RRSET_MAX_ITEMS;
  if (data.length > maxItems) throw new Refusal('/data', `must NOT have more than ${maxItems} items`);
  if (data.length < 1) throw new Refusal('/data', 'must NOT have fewer than 1 items');
  let len = ordered ? RRSET_OVERHEAD + name.length + digits(rs.ttl as number) + type.length + 1 + data.length : NOT_CANONICAL; // + brackets and commas of data
  for (let i = 0; i < data.length; i++) {
    let l: number;
    try {
      l = checkItem(type, data[i]);
    } catch (err) {
      throw err instanceof Refusal ? new Refusal(`/data/${i}${err.path}`, err.message) : err;
    }
    len = plus(len, l);
  }
  return len;
}

/**
 * Checks each RRset of `list` (an array) against the schema's RRset definition. On the first
 * error, pushes `<where>: <field>/<index>/... <ajv's message>` to `errors` and stops. Returns the
 * length of the list's canonical JSON (hash.ts) when every object in it has its keys in canonical
 * order, else NOT_CANONICAL (also after an error). `from`, `to`: only the RRsets from `from` to
 * `to - 1` are checked and measured (as the list of them: shard-delta.ts, whose other RRsets were
 * checked in a version held); `lens`: each one's canonical length is pushed to it.
 */
export function checkRRSetList(list: readonly unknown[], where: string, field: string, errors: string[], from = 0, to = list.length, lens?: number[]): number {
  let len = Math.max(2, 1 + to - from); // brackets and commas
  for (let i = from; i < to; i++) {
    let l: number;
    try {
      l = checkRRSet(list[i]);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      errors.push(`${where}: ${field}/${i}${err.path} ${err.message}`);
      return NOT_CANONICAL;
    }
    if (lens !== undefined) lens.push(l);
    len = plus(len, l);
  }
  return len;
}
