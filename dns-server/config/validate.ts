// Validation of the generated configuration: the JSON Schema (schema.ts; its outline compiled
// ahead of time by ajv into schema-validators.generated.ts, so that neither ajv nor a schema
// compile is paid at start; compile-schema.ts writes it; the RRset lists, nearly all of a large
// configuration, checked by hand with the same verdicts: rrset-check.ts) plus the rules a schema
// cannot say (owners inside their zone, CNAME alone at its name, one RRset per name and type, the
// hash). Each shard is validated alone: a bad shard is refused alone and the rest still loads.

import { NOT_CANONICAL, operatorTextLength, receivedShardTexts, validShardHash } from './hash.js';
import { checkRRSetList } from './rrset-check.js';
import { deltaOf, holdValidated } from './shard-delta.js';
import type { ListDelta } from './shard-delta.js';
import { checkEnvelope as checkEnvelopeSchema, checkShardOutline as checkShardOutlineSchema } from './schema-validators.generated.js';
import type { ConfigBundle, RRSet, Shard } from './types.js';

export type ShardValidation = { ok: true; shard: Shard } | { ok: false; id: string; errors: string[] };

const everyName = () => true;
/** `name` is `origin` or below it (the root holds every name). */
function below(origin: string): (name: string) => boolean {
  const dotted = '.' + origin;
  return origin === '.' ? everyName : (name) => name === origin || name.endsWith(dotted);
}
/** `name` is below `base`, not `base` itself. */
function strictlyBelow(base: string): (name: string) => boolean {
  const dotted = '.' + base;
  return (name) => name.endsWith(dotted);
}

/** The types a list may hold (`types`), and the error for an RRset of another (`say`). */
interface OnlyTypes { types: readonly string[]; say: (rs: RRSet) => string }
const HOSTS_TYPES: OnlyTypes = { types: ['A', 'AAAA'], say: (rs) => `hosts shard holds only A and AAAA, not ${rs.type}` };
const REVERSE_TYPES: OnlyTypes = { types: ['PTR'], say: (rs) => `reverse holds only PTR, not ${rs.type} at ${rs.name}` };

/**
 * The rules on an RRset list a schema cannot say: owners inside the shard's names, one RRset per
 * name and type, a CNAME alone at its name, and with `only` the types it may hold (those errors
 * after the others, prefixed with `id`). A list sorted by name then type (as compile() writes
 * them) is checked by comparing neighbours, allocating nothing; any other order with a map. One
 * walk for all of it where it can be: a first load walks every RRset of a large configuration.
 */
function checkRRSets(rrsets: RRSet[], where: string, inside: (name: string) => boolean, errors: string[], only?: OnlyTypes, id?: string): void {
  let sorted = true;
  let late: string[] | undefined;
  for (let i = 0; i < rrsets.length; i++) {
    const rs = rrsets[i];
    if (!inside(rs.name)) errors.push(`${where}: ${rs.name} ${rs.type} is outside the shard's names`);
    if (only !== undefined && !only.types.includes(rs.type)) (late ??= []).push(`${id}: ${only.say(rs)}`);
    if (i > 0 && sorted) {
      const p = rrsets[i - 1];
      if (p.name > rs.name || (p.name === rs.name && p.type >= rs.type)) sorted = false;
    }
  }
  if (sorted) { // no two alike; the RRsets of a name are neighbours
    let cname = false, types = 0, told = false;
    for (let i = 0; i < rrsets.length; i++) {
      const rs = rrsets[i];
      if (i === 0 || rrsets[i - 1].name !== rs.name) { cname = false; types = 0; told = false; }
      types++;
      if (rs.type === 'CNAME') cname = true;
      if (cname && types > 1 && !told) {
        errors.push(`${where}: ${rs.name} has a CNAME and other data (RFC 1034 §3.6.2)`);
        told = true;
      }
    }
    if (late !== undefined) errors.push(...late);
    return;
  }
  const seen = new Set<string>();
  const typesAt = new Map<string, Set<string>>();
  for (const rs of rrsets) {
    const key = rs.name + ' ' + rs.type;
    if (seen.has(key)) errors.push(`${where}: two RRsets for ${rs.name} ${rs.type} (merge them)`);
    seen.add(key);
    let types = typesAt.get(rs.name);
    if (!types) typesAt.set(rs.name, (types = new Set()));
    types.add(rs.type);
  }
  for (const [name, types] of typesAt) {
    if (types.has('CNAME') && types.size > 1) errors.push(`${where}: ${name} has a CNAME and other data (RFC 1034 §3.6.2)`);
  }
  if (late !== undefined) errors.push(...late);
}

const isReverse = (n: string) => n.endsWith('.in-addr.arpa.') || n.endsWith('.ip6.arpa.');

export interface SchemaVerdict {
  /** The first error (`<id>: <path> <message>`), or none. */
  errors: string[];
  /** The canonical JSON lengths of the RRset lists (rrset-check.ts), for validShardHash. */
  lengths: { rrsets?: number; reverse?: number };
}

/**
 * The JSON Schema's verdict on one shard (schema.ts `shardSchema`): its outline by the generated
 * validator, then its RRset lists by rrset-check.ts.
 */
export function checkShardSchema(input: unknown, id: string): SchemaVerdict {
  if (!checkShardOutlineSchema(input)) {
    const errors = (checkShardOutlineSchema.errors ?? []).map((e) => `${id}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    return { errors, lengths: {} };
  }
  const shard = input as Shard;
  const errors: string[] = [];
  const lengths: SchemaVerdict['lengths'] = {};
  const d = deltaOf(input, id); // a shard parsed against a held version: its changed RRsets only (shard-delta.ts)
  if ('rrsets' in shard) lengths.rrsets = checkList(shard.rrsets, id, '/rrsets', errors, d?.lists?.[1], d?.lens?.[1]);
  if (errors.length === 0) lengths.reverse = checkList(shard.reverse, id, '/reverse', errors, d?.lists?.[0], d?.lens?.[0]);
  return { errors, lengths };
}

/**
 * checkRRSetList of a whole list, or of the runs of RRsets `delta` says were parsed (the others
 * are a held version's, checked when it was: shard-delta.ts); then the list's length is its text's
 * when each run's text is its canonical JSON (the rest is the held version's text, canonical), else
 * NOT_CANONICAL (the shard is then serialised to be hashed).
 */
function checkList(list: readonly unknown[], id: string, field: string, errors: string[], delta: ListDelta | undefined, lens: number[] | undefined): number {
  if (delta === undefined) return checkRRSetList(list, id, field, errors, 0, list.length, lens);
  let canonical = true;
  for (let r = 0; r < delta.bodyLengths.length; r++) {
    const l = checkRRSetList(list, id, field, errors, delta.fresh[2 * r], delta.fresh[2 * r + 1], lens);
    if (errors.length > 0) return NOT_CANONICAL;
    if (l !== delta.bodyLengths[r] + 2) canonical = false;
  }
  return canonical ? delta.textLength : NOT_CANONICAL;
}

/** A shard checked but for its hash: its id, errors (none: it passed), and the canonical lengths the schema check measured. */
interface Checked { input: unknown; id: string; errors: string[]; lengths: SchemaVerdict['lengths'] }

/** Validates one shard: schema, semantic rules, and that its hash matches its content. */
export function validateShard(input: unknown): ShardValidation {
  return checkHash(checkShard(input));
}

/** The hash check that completes a shard's validation (validShardHash). */
function checkHash({ input, id, errors, lengths }: Checked): ShardValidation {
  if (errors.length === 0) {
    const shard = input as Shard;
    const want = validShardHash(shard, lengths);
    if (want !== shard.hash) errors.push(`${id}: hash ${shard.hash} does not match the content (${want})`);
    else holdValidated(shard);
  }
  return errors.length ? { ok: false, id, errors } : { ok: true, shard: input as Shard };
}

/** A shard's schema and semantic rules (all of validateShard but the hash). */
function checkShard(input: unknown): Checked {
  const id = typeof (input as { id?: unknown })?.id === 'string' ? (input as { id: string }).id : '(no id)';
  const { errors, lengths } = checkShardSchema(input, id);
  if (errors.length) return { input, id, errors, lengths };
  const shard = input as Shard;
  switch (shard.kind) {
    case 'zone':
      checkRRSets(shard.rrsets, id, below(shard.origin), errors);
      break;
    case 'services':
      checkRRSets(shard.rrsets, id, strictlyBelow(`${shard.namespace}.svc.${shard.zone}`), errors);
      break;
    case 'hosts':
      checkRRSets(shard.rrsets, id, everyName, errors, HOSTS_TYPES, id);
      break;
    case 'forwarders':
      for (const f of shard.forwarders) {
        for (const u of f.upstreams) {
          if (u.protocol !== 'tls' && (u.serverName || u.caBundle)) errors.push(`${id}: forwarder ${f.name}: serverName and caBundle are for tls upstreams`);
        }
        if (f.cache.minTtl > f.cache.maxTtl) errors.push(`${id}: forwarder ${f.name}: cache.minTtl is above cache.maxTtl`);
      }
      break;
  }
  checkRRSets(shard.reverse, `${id} reverse`, isReverse, errors, REVERSE_TYPES, id);
  return { input, id, errors, lengths };
}

export interface BundleValidation {
  /** The shards that passed, in input order. */
  shards: Shard[];
  /** One entry per refused shard (or for the envelope itself, id "(bundle)"). */
  refused: { id: string; errors: string[] }[];
}

/**
 * Validates a bundle's envelope, then each shard alone. Duplicate ids: the later one is refused.
 * `known(id, hash)`: whether that version of a shard was validated before and is held; such a
 * shard is passed on unchecked (its hash names content already checked, and a holder treats it
 * as unchanged: nothing is built from it), as applyShards does (reload.ts). A reload of a bundle
 * in which one shard changed checks that one.
 */
export function validateBundle(input: unknown, known?: (id: string, hash: string) => boolean): BundleValidation {
  if (!checkEnvelopeSchema(input)) {
    const errors = (checkEnvelopeSchema.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    return { shards: [], refused: [{ id: '(bundle)', errors }] };
  }
  const out: BundleValidation = { shards: [], refused: [] };
  const ids = new Set<string>();
  const raws = (input as ConfigBundle).shards as unknown[];
  const isKnown = (raw: unknown) => {
    const { id, hash } = raw as { id?: unknown; hash?: unknown };
    return known !== undefined && typeof id === 'string' && typeof hash === 'string' && known(id, hash);
  };
  // Nothing known (a first load): every shard checked before any hash, so that, when the bundle
  // came as text (hash.ts parseBundleJson), each shard's text can be found in it from the lengths
  // the checks measured and hashed instead of the shard serialised again (receivedShardTexts).
  const held = raws.map(isKnown);
  let checked: Checked[] | undefined;
  if (!held.includes(true)) {
    checked = raws.map(checkShard);
    // Only when every shard passed its checks: a refused shard's text may be written shorter than
    // its value's JSON (a number in an array, 1E20, is no "odd number" to the text's scan), making
    // room for another shard written longer, and so shifting that one's window onto other text.
    receivedShardTexts(input as object, (i) => (checked![i].errors.length ? NOT_CANONICAL : operatorTextLength(raws[i] as object, checked![i].lengths)));
  }
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i];
    const v: ShardValidation = checked !== undefined ? checkHash(checked[i]) : held[i] ? { ok: true, shard: raw as Shard } : validateShard(raw);
    if (!v.ok) { out.refused.push({ id: v.id, errors: v.errors }); continue; }
    if (ids.has(v.shard.id)) { out.refused.push({ id: v.shard.id, errors: [`${v.shard.id}: duplicate shard id`] }); continue; }
    ids.add(v.shard.id);
    out.shards.push(v.shard);
  }
  return out;
}

/** The validating functions, as the shard store takes them (reload.ts). */
export const VALIDATOR = { bundle: validateBundle, shard: validateShard };
export type Validator = typeof VALIDATOR;
