// Validation of the generated configuration: the JSON Schema (schema.ts, compiled ahead of time
// by ajv into schema-validators.generated.ts, so that neither ajv nor a schema compile is paid
// at start; compile-schema.ts writes it) plus the rules a schema cannot say (owners inside
// their zone, CNAME alone at its name, one RRset per name and type, the hash).
// Each shard is validated alone: a bad shard is refused alone and the rest still loads.

import { computeShardHash } from './hash.js';
import { checkEnvelope, checkShard } from './schema-validators.generated.js';
import type { ConfigBundle, RRSet, Shard } from './types.js';

/** An ajv validating function (the generated module is untyped). */
interface SchemaCheck {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string }[] | null;
}
const checkShardSchema = checkShard as SchemaCheck;
const checkEnvelopeSchema = checkEnvelope as SchemaCheck;

export type ShardValidation = { ok: true; shard: Shard } | { ok: false; id: string; errors: string[] };

function isBelow(name: string, suffix: string): boolean {
  return suffix === '.' || name === suffix || name.endsWith('.' + suffix);
}

function checkRRSets(rrsets: RRSet[], where: string, inside: (name: string) => boolean, errors: string[]): void {
  const seen = new Set<string>();
  const typesAt = new Map<string, Set<string>>();
  for (const rs of rrsets) {
    const key = rs.name + ' ' + rs.type;
    if (seen.has(key)) errors.push(`${where}: two RRsets for ${rs.name} ${rs.type} (merge them)`);
    seen.add(key);
    if (!inside(rs.name)) errors.push(`${where}: ${rs.name} ${rs.type} is outside the shard's names`);
    let types = typesAt.get(rs.name);
    if (!types) typesAt.set(rs.name, (types = new Set()));
    types.add(rs.type);
  }
  for (const [name, types] of typesAt) {
    if (types.has('CNAME') && types.size > 1) errors.push(`${where}: ${name} has a CNAME and other data (RFC 1034 §3.6.2)`);
  }
}

const isReverse = (n: string) => n.endsWith('.in-addr.arpa.') || n.endsWith('.ip6.arpa.');

/** Validates one shard: schema, semantic rules, and that its hash matches its content. */
export function validateShard(input: unknown): ShardValidation {
  const id = typeof (input as { id?: unknown })?.id === 'string' ? (input as { id: string }).id : '(no id)';
  if (!checkShardSchema(input)) {
    const errors = (checkShardSchema.errors ?? []).map((e) => `${id}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    return { ok: false, id, errors };
  }
  const shard = input as Shard;
  const errors: string[] = [];
  switch (shard.kind) {
    case 'zone':
      checkRRSets(shard.rrsets, id, (n) => isBelow(n, shard.origin), errors);
      break;
    case 'services': {
      const base = `${shard.namespace}.svc.${shard.zone}`;
      checkRRSets(shard.rrsets, id, (n) => n.endsWith('.' + base), errors);
      break;
    }
    case 'hosts':
      checkRRSets(shard.rrsets, id, () => true, errors);
      for (const rs of shard.rrsets) if (rs.type !== 'A' && rs.type !== 'AAAA') errors.push(`${id}: hosts shard holds only A and AAAA, not ${rs.type}`);
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
  checkRRSets(shard.reverse, `${id} reverse`, isReverse, errors);
  for (const rs of shard.reverse) if (rs.type !== 'PTR') errors.push(`${id}: reverse holds only PTR, not ${rs.type} at ${rs.name}`);
  if (errors.length === 0) {
    const want = computeShardHash(shard);
    if (want !== shard.hash) errors.push(`${id}: hash ${shard.hash} does not match the content (${want})`);
  }
  return errors.length ? { ok: false, id, errors } : { ok: true, shard };
}

export interface BundleValidation {
  /** The shards that passed, in input order. */
  shards: Shard[];
  /** One entry per refused shard (or for the envelope itself, id "(bundle)"). */
  refused: { id: string; errors: string[] }[];
}

/** Validates a bundle's envelope, then each shard alone. Duplicate ids: the later one is refused. */
export function validateBundle(input: unknown): BundleValidation {
  if (!checkEnvelopeSchema(input)) {
    const errors = (checkEnvelopeSchema.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    return { shards: [], refused: [{ id: '(bundle)', errors }] };
  }
  const out: BundleValidation = { shards: [], refused: [] };
  const ids = new Set<string>();
  for (const raw of (input as ConfigBundle).shards) {
    const v = validateShard(raw);
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
