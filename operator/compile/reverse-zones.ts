// Address ranges (CIDRs) as reverse zones: the cluster's Service and Pod CIDRs become zones the
// DNS server is authoritative for (NXDOMAIN with the SOA for an address nobody has, never
// forwarded), and a DNSZone's delegation may grant CIDRs whose PTRs its tenants may publish.
// A CIDR maps to the reverse zones at the next label boundary (8 bits for IPv4, 4 for IPv6),
// which cover exactly the CIDR: 10.96.0.0/12 is 96.10.in-addr.arpa. … 111.10.in-addr.arpa.
// Pure; the rules are in docs/compiler.md ("Reverse names").

import { createHash } from 'node:crypto';
import type { ZoneShard } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { parseIPv6 } from '../../dns-server/config/address.js';
import { canonicalIp, isBelow } from './names.js';
import type { IpFamily } from './names.js';
import { hashShard } from './rrsets.js';

/** Defaults of the operator's --service-cidr / --pod-cidr and local mode (kubeadm's and flannel's usual ranges). */
export const DEFAULT_SERVICE_CIDRS: readonly string[] = ['10.96.0.0/12'];
export const DEFAULT_POD_CIDRS: readonly string[] = ['10.244.0.0/16'];

/** TTL of the cluster reverse zones' SOA and their negative answers (as the cluster domain's). */
const REVERSE_TTL = 5;

export interface Cidr {
  /** Canonical text, "10.96.0.0/12". */
  text: string;
  family: IpFamily;
  prefix: number;
  /** The reverse zones that cover exactly this range, sorted. */
  zones: string[];
}

const WIDTH = { 4: 32, 6: 128 } as const;
const STEP = { 4: 8, 6: 4 } as const;

function toBigInt(ip: string, family: IpFamily): bigint {
  if (family === 4) return ip.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n);
  return parseIPv6(ip)!.reduce((n, g) => (n << 16n) | BigInt(g), 0n);
}

/** The reverse name of the first `bits` bits of `n` (a multiple of 8 for IPv4, of 4 for IPv6). */
function reversePrefix(n: bigint, family: IpFamily, bits: number): string {
  const step = STEP[family];
  const labels: string[] = [];
  for (let i = 0; i < bits / step; i++) {
    const shift = BigInt(WIDTH[family] - (i + 1) * step);
    const v = Number((n >> shift) & ((1n << BigInt(step)) - 1n));
    labels.push(family === 4 ? String(v) : v.toString(16));
  }
  const suffix = family === 4 ? 'in-addr.arpa.' : 'ip6.arpa.';
  return labels.length ? labels.reverse().join('.') + '.' + suffix : suffix;
}

/** Parses "10.96.0.0/12" or "fd00:10:96::/112"; a string says why it is not a CIDR. */
export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  const ip = m ? canonicalIp(m[1]) : undefined;
  if (!m || !ip) return `${JSON.stringify(text)} is not a CIDR such as 10.96.0.0/12 or fd00:10:96::/112`;
  const prefix = Number(m[2]);
  const width = WIDTH[ip.family];
  if (prefix > width) return `${JSON.stringify(text)}: the prefix length must be at most ${width}`;
  const n = toBigInt(ip.ip, ip.family);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((n & hostMask) !== 0n) return `${JSON.stringify(text)} has bits set after the prefix (the network address is needed)`;
  // Round the prefix up to a label boundary: 2^(boundary - prefix) zones, at most 128 (IPv4) or 8 (IPv6).
  const step = STEP[ip.family];
  const boundary = Math.ceil(prefix / step) * step;
  const zones: string[] = [];
  for (let i = 0n; i < 1n << BigInt(boundary - prefix); i++) zones.push(reversePrefix(n + (i << BigInt(width - boundary)), ip.family, boundary));
  return { text: `${ip.ip}/${prefix}`, family: ip.family, prefix, zones: zones.sort() };
}

/** Parses a list of CIDRs; throws one error naming every bad entry (`what` names the option). */
export function parseCidrList(list: readonly string[], what: string): Cidr[] {
  const out: Cidr[] = [];
  const errors: string[] = [];
  for (const t of list) { const c = parseCidr(t); if (typeof c === 'string') errors.push(c); else out.push(c); }
  if (errors.length) throw new Error(`${what}: ${errors.join('; ')}`);
  return out;
}

/** A set of ranges, looked up by reverse name. */
export class ReverseRanges<T> {
  readonly #byZone = new Map<string, T>();

  constructor(entries: Iterable<[Cidr, T]>) {
    for (const [c, v] of entries) for (const z of c.zones) if (!this.#byZone.has(z)) this.#byZone.set(z, v);
  }

  /** The value of the range holding reverse name `name` (or the zone at or above it), if any. */
  find(name: string): T | undefined {
    for (let n = name; ; ) {
      const v = this.#byZone.get(n);
      if (v !== undefined) return v;
      const dot = n.indexOf('.');
      if (dot < 0 || dot === n.length - 1) return undefined;
      n = n.slice(dot + 1);
    }
  }

  /** The zones strictly below `domain` (a DNSZone above a range). */
  zonesBelow(domain: string): string[] {
    return [...this.#byZone.keys()].filter((z) => z !== domain && isBelow(z, domain)).sort();
  }

  get zones(): string[] {
    return [...this.#byZone.keys()].sort();
  }
}

/** What a cluster reverse zone is for (messages name it). */
export interface ClusterRange { cidr: string; role: 'Service' | 'Pod' }

/** The cluster's Service and Pod ranges. */
export function clusterRanges(serviceCidrs: readonly string[], podCidrs: readonly string[]): ReverseRanges<ClusterRange> {
  const svc = parseCidrList(serviceCidrs, 'service CIDRs');
  const pod = parseCidrList(podCidrs, 'pod CIDRs');
  return new ReverseRanges<ClusterRange>([
    ...svc.map((c) => [c, { cidr: c.text, role: 'Service' }] as [Cidr, ClusterRange]),
    ...pod.map((c) => [c, { cidr: c.text, role: 'Pod' }] as [Cidr, ClusterRange]),
  ]);
}

/**
 * One authoritative zone shard per cluster reverse zone: SOA only. Its PTRs are the reverse
 * index entries of the Services shards (the server answers those first); every other name in
 * it is NXDOMAIN with this SOA, AA set, and never forwarded.
 */
export function buildClusterReverseShards(clusterZone: string, ranges: ReverseRanges<ClusterRange>): ZoneShard[] {
  return ranges.zones.map((origin) => {
    const serial = parseInt(createHash('sha256').update(origin).digest('hex').slice(0, 8), 16);
    return hashShard({
      apiVersion: CONFIG_API_VERSION, clusterDomain: false, id: `zone/${origin.slice(0, -1)}`, kind: 'zone', origin,
      reverse: [], rrsets: [],
      soa: { expire: 86400, minimum: REVERSE_TTL, mname: `ns.dns.${clusterZone}`, refresh: 7200, retry: 1800, rname: `hostmaster.${clusterZone}`, serial, ttl: REVERSE_TTL },
    } as Omit<ZoneShard, 'hash'>) as ZoneShard;
  });
}

/** The address of a reverse name, or undefined when it is not one whole address. */
export function addressOfReverseName(name: string): string | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.$/.exec(name);
  if (v4) return canonicalIp([v4[4], v4[3], v4[2], v4[1]].join('.'))?.ip;
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa\.$/.exec(name);
  if (!v6) return undefined;
  const hex = v6[1].split('.').slice(0, 32).reverse().join('');
  return canonicalIp(hex.match(/.{4}/g)!.join(':'))?.ip;
}

/** Why a DNSZone for `domain` may not exist (it is a cluster reverse zone or inside one), or undefined. */
export function clusterRangeClash(domain: string, ranges: ReverseRanges<ClusterRange>): string | undefined {
  const r = ranges.find(domain);
  return r && `${domain} is inside the cluster's ${r.role} CIDR ${r.cidr}, whose reverse names the cluster's Services and endpoints have`;
}

/** A DNSZone above a cluster reverse zone: its records there, which the cluster's reverse zone answers instead. */
export function recordsInClusterRanges(records: readonly { name: string; type: string }[], ranges: ReverseRanges<ClusterRange>): { reason: 'NotPermitted'; message: string } | undefined {
  const lost = records.filter((r) => ranges.find(r.name) !== undefined).map((r) => `${r.name} ${r.type}`);
  if (lost.length === 0) return undefined;
  return { reason: 'NotPermitted', message: `not served, in the cluster's Service or Pod CIDRs (${[...new Set(records.map((r) => ranges.find(r.name)).filter((x) => x !== undefined).map((x) => x!.cidr))].join(', ')}): ${lost.join(', ')}` };
}
