// The generated configuration: the only input of the DNS server, and the output of the
// operator's compile(). Versioned; the JSON Schema in schema.ts says the same in JSON terms.
//
// A configuration is a set of shards. Each shard is a self-contained document with its own
// content hash (see hash.ts), so a change rewrites one shard and a server rebuilds only the
// lookup tables of the shards whose hash moved. A bundle carries a whole set in one file.

export const CONFIG_API_VERSION = 'splitdns.io/config.v1';

/** A fully-qualified domain name: lower-case, absolute, with the trailing dot ("www.example.org."). The root is ".". */
export type Fqdn = string;

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'MX' | 'SRV' | 'PTR' | 'CAA' | 'NS';

export interface MxData {
  preference: number;
  exchange: Fqdn;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: Fqdn;
}

export interface CaaData {
  flags: number;
  tag: string;
  value: string;
}

interface RRSetBase {
  /** Owner name, an Fqdn. In zone shards it may start with the wildcard label "*." (RFC 4592). */
  name: Fqdn;
  /** Time to live in seconds, one per RRset (RFC 2181 §5.2). */
  ttl: number;
}

/**
 * All records of one name and type. The data lists hold one entry per record, with no
 * duplicates. A server may rotate the order of the records between responses.
 */
export type RRSet =
  | (RRSetBase & { type: 'A'; data: string[] }) // dotted IPv4
  | (RRSetBase & { type: 'AAAA'; data: string[] }) // IPv6 text form
  | (RRSetBase & { type: 'CNAME'; data: [Fqdn] }) // exactly one target
  | (RRSetBase & { type: 'NS'; data: Fqdn[] })
  | (RRSetBase & { type: 'PTR'; data: Fqdn[] })
  | (RRSetBase & { type: 'TXT'; data: string[][] }) // each record: its character-strings (≤ 255 bytes each)
  | (RRSetBase & { type: 'MX'; data: MxData[] })
  | (RRSetBase & { type: 'SRV'; data: SrvData[] })
  | (RRSetBase & { type: 'CAA'; data: CaaData[] });

export interface Soa {
  /** Primary name server. */
  mname: Fqdn;
  /** Responsible mailbox, in name form ("hostmaster.example.org."). */
  rname: Fqdn;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  /** Negative-caching TTL bound (RFC 2308): negative answers carry min(minimum, ttl). */
  minimum: number;
  /** TTL of the SOA record itself. */
  ttl: number;
}

interface ShardBase {
  apiVersion: typeof CONFIG_API_VERSION;
  /** Stable identity of the shard: "zone/<origin>", "services/<namespace>", "hosts", "forwarders". */
  id: string;
  /** hex sha256 of the shard's canonical JSON without this field (hash.ts). */
  hash: string;
  /**
   * PTR RRsets whose owners are reverse names (in-addr.arpa. / ip6.arpa.). The server keeps
   * one reverse index across all shards, updated shard by shard; a reverse name not in it is
   * not ours (forwarded, or REFUSED when nothing forwards it).
   */
  reverse: RRSet[];
}

/**
 * An authoritative zone. Every RRset owner is the origin or below it. The apex NS RRset is in
 * rrsets like any other. With clusterDomain set, the names "<x>.<namespace>.svc.<origin>" are
 * answered from the ServicesShard of that namespace; a namespace with no such shard does not
 * exist (NXDOMAIN).
 */
export interface ZoneShard extends ShardBase {
  kind: 'zone';
  origin: Fqdn;
  soa: Soa;
  clusterDomain: boolean;
  rrsets: RRSet[];
}

/**
 * The cluster domain's Service records of one namespace (Kubernetes DNS specification 1.1.0),
 * prepared by the compiler: every owner is below "<namespace>.svc.<zone>".
 */
export interface ServicesShard extends ShardBase {
  kind: 'services';
  /** The cluster domain this shard belongs to; a ZoneShard with clusterDomain=true has it as origin. */
  zone: Fqdn;
  namespace: string;
  rrsets: RRSet[];
}

/**
 * Hosts-file style names outside every zone (StaticHosts of the operator's own namespace).
 * A name here is answered (records or NODATA); a name not here falls through.
 */
export interface HostsShard extends ShardBase {
  kind: 'hosts';
  rrsets: RRSet[];
}

export type UpstreamProtocol = 'udp' | 'tcp' | 'tls';
export type ForwardPolicy = 'random' | 'roundRobin' | 'sequential';

export interface Upstream {
  /** IPv4 or IPv6 literal. */
  address: string;
  port: number;
  protocol: UpstreamProtocol;
  /** TLS only: the name the upstream's certificate must carry. */
  serverName?: string;
  /** TLS only: PEM CA bundle to verify against instead of the system roots. */
  caBundle?: string;
}

export interface ForwarderCache {
  enabled: boolean;
  maxEntries: number;
  minTtl: number;
  maxTtl: number;
  /** Upper bound on the TTL of cached NXDOMAIN/NODATA answers. */
  maxNegativeTtl: number;
  /** How long a SERVFAIL is cached, seconds (0: never). */
  servfailTtl: number;
  /** Refresh an entry asked at least `prefetchMinHits` times when under `prefetchPercent`% of its TTL is left. */
  prefetch: { enabled: boolean; minHits: number; percent: number };
  /** RFC 8767: serve expired answers while every upstream fails, up to maxStale seconds past expiry. */
  serveStale: { enabled: boolean; maxStale: number; ttl: number };
}

export interface Forwarder {
  /** The DNSForwarder resource's name: identity for metrics, /status and cache ownership. */
  name: string;
  /** Domains routed here (longest suffix wins across all forwarders; "." is the default route). */
  domains: Fqdn[];
  upstreams: Upstream[];
  policy: ForwardPolicy;
  /** Per-attempt timeout, ms. */
  timeoutMs: number;
  /** Overall deadline for one client query, ms. */
  deadlineMs: number;
  /** When every upstream is marked down: true answers SERVFAIL at once, false tries them anyway. */
  failFast: boolean;
  maxConcurrent: number;
  healthCheck: { enabled: boolean; intervalMs: number; failures: number; name: Fqdn };
  cache: ForwarderCache;
}

export interface ForwardersShard extends ShardBase {
  kind: 'forwarders';
  forwarders: Forwarder[];
}

export type Shard = ZoneShard | ServicesShard | HostsShard | ForwardersShard;

/** A whole configuration in one document (local mode, tests, a mounted file). */
export interface ConfigBundle {
  apiVersion: typeof CONFIG_API_VERSION;
  kind: 'ConfigBundle';
  shards: Shard[];
}

/** A shard as the producer builds it, before its hash is set. */
export type UnhashedShard = Shard extends infer S ? (S extends Shard ? Omit<S, 'hash'> : never) : never;
