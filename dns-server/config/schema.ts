// JSON Schema (draft 2020-12 subset that ajv compiles) of the generated configuration.
// types.ts is the same contract in TypeScript; a test keeps the two in step with examples.

import { CONFIG_API_VERSION } from './types.js';

const uint = (max: number) => ({ type: 'integer', minimum: 0, maximum: max }) as const;
export const TTL_MAX = 2147483647;
export const U16_MAX = 65535;
/** The RRset types a configuration holds (types.ts RecordType). */
export const RRSET_TYPES = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'PTR', 'CAA', 'NS'] as const;
const ttl = uint(TTL_MAX);
const u16 = uint(U16_MAX);

/** Lower-case absolute name with trailing dot, labels of 1–63 characters, at most 254 characters; "." is the root. */
export const FQDN_PATTERN = '^(\\.|([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?\\.)+)$';
/** An FQDN without wildcard labels (targets: CNAME, NS, PTR, MX exchange, SRV target). */
export const HOSTNAME_PATTERN = '^(\\.|([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\\.)+)$';
export const CAA_TAG_PATTERN = '^[a-zA-Z0-9]{1,15}$';
/** The data items of an RRset of any type but CNAME (which holds exactly one). */
export const RRSET_MAX_ITEMS = 100000;
export const TXT_MAX_STRINGS = 64;
export const TXT_STRING_MAX_LENGTH = 255;
export const CAA_VALUE_MAX_LENGTH = 1024;
export const NAME_MAX_LENGTH = 254;
const fqdn = { type: 'string', maxLength: NAME_MAX_LENGTH, pattern: FQDN_PATTERN } as const;
const hostname = { type: 'string', maxLength: NAME_MAX_LENGTH, pattern: HOSTNAME_PATTERN } as const;

const rrset = (type: string, item: object, maxItems = RRSET_MAX_ITEMS) => ({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type', 'ttl', 'data'],
  properties: {
    name: fqdn,
    type: { const: type },
    ttl,
    data: { type: 'array', minItems: 1, maxItems, items: item },
  },
});

/** One RRset (rrset-check.ts checks lists of these by hand, with the same verdicts: a test compares them). */
export const rrsetSchema = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: RRSET_TYPES } },
  discriminator: { propertyName: 'type' },
  oneOf: [
    rrset('A', { type: 'string', format: 'ipv4' }),
    rrset('AAAA', { type: 'string', format: 'ipv6' }),
    rrset('CNAME', hostname, 1),
    rrset('NS', hostname),
    rrset('PTR', hostname),
    rrset('TXT', { type: 'array', minItems: 1, maxItems: TXT_MAX_STRINGS, items: { type: 'string', maxLength: TXT_STRING_MAX_LENGTH } }),
    rrset('MX', {
      type: 'object', additionalProperties: false, required: ['preference', 'exchange'],
      properties: { preference: u16, exchange: hostname },
    }),
    rrset('SRV', {
      type: 'object', additionalProperties: false, required: ['priority', 'weight', 'port', 'target'],
      properties: { priority: u16, weight: u16, port: u16, target: hostname },
    }),
    rrset('CAA', {
      type: 'object', additionalProperties: false, required: ['flags', 'tag', 'value'],
      properties: { flags: uint(255), tag: { type: 'string', pattern: CAA_TAG_PATTERN }, value: { type: 'string', maxLength: CAA_VALUE_MAX_LENGTH } },
    }),
  ],
} as const;

const common = {
  apiVersion: { const: CONFIG_API_VERSION },
  id: { type: 'string', minLength: 1, maxLength: 300 },
  hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  reverse: { type: 'array', items: { $ref: '#/$defs/rrset' } },
} as const;
const commonRequired = ['apiVersion', 'id', 'hash', 'kind', 'reverse'];

const upstream = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'port', 'protocol'],
  properties: {
    address: { anyOf: [{ type: 'string', format: 'ipv4' }, { type: 'string', format: 'ipv6' }] },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    protocol: { enum: ['udp', 'tcp', 'tls'] },
    serverName: { type: 'string', minLength: 1, maxLength: 253 },
    caBundle: { type: 'string', minLength: 1, maxLength: 65536 },
  },
} as const;

const forwarder = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'domains', 'upstreams', 'policy', 'timeoutMs', 'deadlineMs', 'failFast', 'maxConcurrent', 'healthCheck', 'cache'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    domains: { type: 'array', minItems: 1, maxItems: 256, items: fqdn },
    upstreams: { type: 'array', minItems: 1, maxItems: 16, items: upstream },
    policy: { enum: ['random', 'roundRobin', 'sequential'] },
    timeoutMs: { type: 'integer', minimum: 10, maximum: 60000 },
    deadlineMs: { type: 'integer', minimum: 10, maximum: 120000 },
    failFast: { type: 'boolean' },
    maxConcurrent: { type: 'integer', minimum: 1, maximum: 1000000 },
    healthCheck: {
      type: 'object', additionalProperties: false, required: ['enabled', 'intervalMs', 'failures', 'name'],
      properties: {
        enabled: { type: 'boolean' },
        intervalMs: { type: 'integer', minimum: 100, maximum: 3600000 },
        failures: { type: 'integer', minimum: 1, maximum: 100 },
        name: fqdn,
      },
    },
    cache: {
      type: 'object', additionalProperties: false,
      required: ['enabled', 'maxEntries', 'minTtl', 'maxTtl', 'maxNegativeTtl', 'servfailTtl', 'prefetch', 'serveStale'],
      properties: {
        enabled: { type: 'boolean' },
        maxEntries: { type: 'integer', minimum: 1, maximum: 10000000 },
        minTtl: ttl,
        maxTtl: ttl,
        maxNegativeTtl: ttl,
        servfailTtl: uint(300),
        prefetch: {
          type: 'object', additionalProperties: false, required: ['enabled', 'minHits', 'percent'],
          properties: { enabled: { type: 'boolean' }, minHits: uint(1000000), percent: { type: 'integer', minimum: 1, maximum: 99 } },
        },
        serveStale: {
          type: 'object', additionalProperties: false, required: ['enabled', 'maxStale', 'ttl'],
          properties: { enabled: { type: 'boolean' }, maxStale: ttl, ttl: uint(86400) },
        },
      },
    },
  },
} as const;

const soa = {
  type: 'object',
  additionalProperties: false,
  required: ['mname', 'rname', 'serial', 'refresh', 'retry', 'expire', 'minimum', 'ttl'],
  properties: {
    mname: hostname, rname: hostname, serial: uint(4294967295), refresh: ttl, retry: ttl, expire: ttl, minimum: ttl, ttl,
  },
} as const;

/** Schema of one shard; a shard is validated alone, so one bad shard is refused alone. */
export const shardSchema = {
  $id: 'https://splitdns.io/schemas/config.v1/shard.json',
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['zone', 'services', 'hosts', 'forwarders'] } },
  discriminator: { propertyName: 'kind' },
  oneOf: [
    {
      type: 'object', additionalProperties: false,
      required: [...commonRequired, 'origin', 'soa', 'clusterDomain', 'rrsets'],
      properties: { ...common, kind: { const: 'zone' }, origin: hostname, soa, clusterDomain: { type: 'boolean' }, rrsets: { type: 'array', items: { $ref: '#/$defs/rrset' } } },
    },
    {
      type: 'object', additionalProperties: false,
      required: [...commonRequired, 'zone', 'namespace', 'rrsets'],
      properties: {
        ...common, kind: { const: 'services' }, zone: hostname,
        namespace: { type: 'string', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
        rrsets: { type: 'array', items: { $ref: '#/$defs/rrset' } },
      },
    },
    {
      type: 'object', additionalProperties: false,
      required: [...commonRequired, 'rrsets'],
      properties: { ...common, kind: { const: 'hosts' }, rrsets: { type: 'array', items: { $ref: '#/$defs/rrset' } } },
    },
    {
      type: 'object', additionalProperties: false,
      required: [...commonRequired, 'forwarders'],
      properties: { ...common, kind: { const: 'forwarders' }, forwarders: { type: 'array', maxItems: 1000, items: forwarder } },
    },
  ],
  $defs: { rrset: rrsetSchema },
} as const;

/**
 * shardSchema with its RRset lists (`rrsets`, `reverse`) checked only for being arrays: what the
 * DNS server's generated validator checks. The lists' items are checked by rrset-check.ts, which
 * gives the same verdicts as `rrsetSchema` at a fraction of the cost on the large generated shards
 * (test/dns-server/config-validate.test.ts compares the two on valid and invalid RRsets).
 */
export const shardOutlineSchema = {
  ...(withoutRRSetItems(shardSchema) as object),
  $id: 'https://splitdns.io/schemas/config.v1/shard-outline.json',
  // Each kind, a forwarder and an upstream a definition of its own, so ajv writes a function for
  // each: larger functions were too deep for TypeScript's flow analysis (tsc ran out of stack).
  oneOf: shardSchema.oneOf.map((k) => ({ $ref: `#/$defs/${k.properties.kind.const}` })),
  $defs: {
    ...Object.fromEntries(shardSchema.oneOf.map((k) => [k.properties.kind.const, withoutRRSetItems(k)])),
    forwarder: { ...forwarder, properties: { ...forwarder.properties, upstreams: { ...forwarder.properties.upstreams, items: { $ref: '#/$defs/upstream' } } } },
    upstream,
  },
};

function withoutRRSetItems(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutRRSetItems);
  if (node === null || typeof node !== 'object') return node;
  if (node === forwarder) return { $ref: '#/$defs/forwarder' };
  const o = node as Record<string, unknown>;
  if (o.type === 'array' && (o.items as { $ref?: string } | undefined)?.$ref === '#/$defs/rrset') return { type: 'array' };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== '$defs') out[k] = withoutRRSetItems(v);
  return out;
}

/** Schema of the envelope of a bundle; its shards are validated one by one with shardSchema. */
export const bundleEnvelopeSchema = {
  $id: 'https://splitdns.io/schemas/config.v1/bundle.json',
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'shards'],
  properties: {
    apiVersion: { const: CONFIG_API_VERSION },
    kind: { const: 'ConfigBundle' },
    shards: { type: 'array', items: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
  },
} as const;
