// DNSZone, DNSForwarder and StaticHost: raw objects → checked, defaulted minimal structs. The
// defaults are the CRD schema's (crds/*.yaml; a test keeps them in step): objects applied
// through an API server arrive defaulted, manifests read from disk in local mode do not.

import type { Forwarder, RecordType } from '../../dns-server/config/types.js';
import { cached } from './cache.js';
import type { CompileCache } from './cache.js';
import { arr, obj, readMeta, readSelector, str } from './meta.js';
import type { LabelSelector, Meta, Raw } from './meta.js';
import { mapped } from './lists.js';
import { canonicalIp, checkDomainName, isBelow, resolveRelative, toFqdn } from './names.js';
import type { IpFamily } from './names.js';
import { parseRecordData } from './records.js';
import { ReverseRanges, parseCidr } from './reverse-zones.js';
import type { RecordData } from './records.js';
import { STEP_ITEMS, finish } from './steps.js';
import type { Steps } from './steps.js';
import { sameList } from './status.js';
import type { Verdicts } from './status.js';
import type { Snapshot } from './types.js';

const RECORD_TYPES: readonly RecordType[] = ['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'SRV', 'PTR', 'CAA', 'NS'];

export const ZONE_DEFAULTS = { ttl: 300, soa: { refresh: 3600, retry: 600, expire: 604800, minimum: 60 } } as const;
export const STATIC_HOST_DEFAULTS = { ttl: 300, ptr: false } as const;

const MAX_TTL = 2147483647;

function int(v: unknown, def: number, min: number, max: number, where: string, errors: string[]): number {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) { errors.push(`${where} must be an integer from ${min} to ${max}`); return def; }
  return v;
}

function bool(v: unknown, def: boolean, where: string, errors: string[]): boolean {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'boolean') { errors.push(`${where} must be true or false`); return def; }
  return v;
}

const DURATION = /^(\d{1,7})(ms|s|m)$/;

/** "500ms", "2s", "1m" → milliseconds (undefined when not such a duration). */
function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000) : undefined;
}

/** A duration field, or its default (a duration string of FORWARDER_DEFAULTS: defined once). */
function duration(v: unknown, def: string, where: string, errors: string[]): number {
  const defMs = durationMs(def)!;
  if (v === undefined || v === null) return defMs;
  const ms = typeof v === 'string' ? durationMs(v) : undefined;
  if (ms === undefined) { errors.push(`${where} must be a duration such as "500ms", "2s" or "1m"`); return defMs; }
  return ms;
}

function domain(v: unknown, where: string, errors: string[], opts: { root?: boolean } = {}): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') { errors.push(`${where} must be a domain name`); return undefined; }
  const f = toFqdn(v);
  if (f === '.' && !opts.root) { errors.push(`${where} must not be the root`); return undefined; }
  const err = checkDomainName(f);
  if (err) { errors.push(`${where}: ${err}`); return undefined; }
  return f;
}

interface ZoneRecord { name: string; type: RecordType; ttl: number; data: RecordData[] }

/** Which objects of one kind a zone publishes (spec.services, spec.ingresses, spec.routes). */
export interface Selection { namespaces: string[]; namespaceSelector?: LabelSelector; selector?: LabelSelector }

function readSelection(v: unknown, field: string, errors: string[]): Selection | undefined {
  if (v === undefined || v === null) return undefined;
  const sv = obj(v);
  return {
    namespaces: arr(sv.namespaces).filter((x): x is string => typeof x === 'string'),
    namespaceSelector: readSelector(sv.namespaceSelector, errors, `spec.${field}.namespaceSelector`),
    selector: readSelector(sv.selector, errors, `spec.${field}.selector`),
  };
}

export interface ParsedZone {
  meta: Meta;
  errors: string[];
  domain: string;
  ttl: number;
  soa: { mname?: string; rname?: string; refresh: number; retry: number; expire: number; minimum: number };
  nameServers: string[];
  records: ZoneRecord[];
  services?: Selection;
  /** spec.ingresses: the Ingresses whose hosts this zone publishes. */
  ingresses?: Selection;
  /** spec.routes: the Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute) whose hostnames this zone publishes. */
  routes?: Selection;
  /** reverseRanges: spec.delegation.reverseCIDRs, the addresses whose PTRs delegated StaticHosts may have. */
  delegation: { namespaces: string[]; namespaceSelector?: LabelSelector; reverseRanges: ReverseRanges<string> };
}

function parseZone(raw: Raw): ParsedZone {
  const meta = readMeta('DNSZone', raw);
  const spec = obj(raw.spec);
  const errors: string[] = [];
  const d = domain(spec.domain, 'spec.domain', errors) ?? '.';
  const ttl = int(spec.ttl, ZONE_DEFAULTS.ttl, 1, MAX_TTL, 'spec.ttl', errors);
  const s = obj(spec.soa);
  const soa = {
    mname: s.mname === undefined ? undefined : domain(s.mname, 'spec.soa.mname', errors),
    rname: s.rname === undefined ? undefined : domain(typeof s.rname === 'string' ? s.rname.replace('@', '.') : s.rname, 'spec.soa.rname', errors),
    refresh: int(s.refresh, ZONE_DEFAULTS.soa.refresh, 1, MAX_TTL, 'spec.soa.refresh', errors),
    retry: int(s.retry, ZONE_DEFAULTS.soa.retry, 1, MAX_TTL, 'spec.soa.retry', errors),
    expire: int(s.expire, ZONE_DEFAULTS.soa.expire, 1, MAX_TTL, 'spec.soa.expire', errors),
    minimum: int(s.minimum, ZONE_DEFAULTS.soa.minimum, 0, MAX_TTL, 'spec.soa.minimum', errors),
  };
  const nameServers: string[] = [];
  arr(spec.nameServers).forEach((n, i) => { const f = domain(n, `spec.nameServers[${i}]`, errors); if (f) nameServers.push(f); });
  const records: ZoneRecord[] = [];
  arr(spec.records).forEach((r0, i) => {
    const r = obj(r0);
    const where = `spec.records[${i}]`;
    const type = str(r.type) as RecordType | undefined;
    if (!type || !RECORD_TYPES.includes(type)) { errors.push(`${where}.type must be one of ${RECORD_TYPES.join(', ')}`); return; }
    const rawName = str(r.name) ?? '@';
    const name = resolveRelative(rawName, d);
    const nameErr = checkDomainName(name, { wildcard: true });
    if (nameErr) { errors.push(`${where}.name: ${nameErr}`); return; }
    if (!isBelow(name, d)) { errors.push(`${where}.name: ${name} is outside the zone ${d}`); return; }
    const field = type.toLowerCase();
    for (const t of RECORD_TYPES) if (t !== type && r[t.toLowerCase()] !== undefined) errors.push(`${where}: ${t.toLowerCase()} is set but type is ${type}`);
    // CNAME holds one target; every other type a list.
    const values = type === 'CNAME' ? (r.cname === undefined ? [] : [r.cname]) : arr(r[field]);
    if (values.length === 0) { errors.push(`${where}: type ${type} needs ${field} (at least one value)`); return; }
    if (type === 'CNAME' && name === d) { errors.push(`${where}: the zone apex cannot be a CNAME`); return; }
    const data: RecordData[] = [];
    values.forEach((v, j) => {
      const p = parseRecordData(type, v, d);
      if (p.ok) data.push(p.data); else errors.push(`${where}.${field}${type === 'CNAME' ? '' : `[${j}]`}: ${p.error}`);
    });
    records.push({ name, type, ttl: int(r.ttl, ttl, 0, MAX_TTL, `${where}.ttl`, errors), data });
  });
  // RFC 1034 §3.6.2: a CNAME is alone at its name.
  const types = new Map<string, Set<string>>();
  for (const r of records) { let t = types.get(r.name); if (!t) types.set(r.name, (t = new Set())); t.add(r.type); }
  for (const [n, t] of types) if (t.has('CNAME') && t.size > 1) errors.push(`spec.records: ${n} has a CNAME and other records (a CNAME must be alone at its name)`);
  const services = readSelection(spec.services, 'services', errors);
  const ingresses = readSelection(spec.ingresses, 'ingresses', errors);
  const routes = readSelection(spec.routes, 'routes', errors);
  const dl = obj(spec.delegation);
  const delegation = {
    namespaces: arr(dl.namespaces).filter((x): x is string => typeof x === 'string'),
    namespaceSelector: readSelector(dl.namespaceSelector, errors, 'spec.delegation.namespaceSelector'),
    reverseRanges: parseReverseCidrs(dl.reverseCIDRs, errors),
  };
  return { meta, errors, domain: d, ttl, soa, nameServers, records, services, ingresses, routes, delegation };
}

function parseReverseCidrs(v: unknown, errors: string[]): ReverseRanges<string> {
  const cidrs = arr(v).flatMap((t, i) => {
    const c = parseCidr(typeof t === 'string' ? t : '');
    if (typeof c === 'string') { errors.push(`spec.delegation.reverseCIDRs[${i}]: ${c}`); return []; }
    return [[c, c.text] as [Exclude<typeof c, string>, string]];
  });
  return new ReverseRanges(cidrs);
}

export interface ParsedForwarder {
  meta: Meta;
  errors: string[];
  forwarder: Forwarder;
}

export const FORWARDER_DEFAULTS = {
  policy: 'random', timeout: '2s', deadline: '5s', failFast: false, maxConcurrent: 1000,
  healthCheck: { enabled: true, interval: '5s', failures: 3, name: '.' },
  cache: {
    enabled: true, maxEntries: 10000, minTTL: 0, maxTTL: 3600, maxNegativeTTL: 300, servfailTTL: 5,
    prefetch: { enabled: false, minHits: 3, percent: 10 },
    serveStale: { enabled: false, maxStale: 86400, ttl: 30 },
  },
} as const;

export function parseForwarder(raw: Raw): ParsedForwarder {
  const meta = readMeta('DNSForwarder', raw);
  const spec = obj(raw.spec);
  const errors: string[] = [];
  const D = FORWARDER_DEFAULTS;
  const domains: string[] = [];
  arr(spec.domains).forEach((x, i) => { const f = domain(x, `spec.domains[${i}]`, errors, { root: true }); if (f && !domains.includes(f)) domains.push(f); });
  if (domains.length === 0) errors.push('spec.domains must hold at least one domain ("." forwards everything not served locally)');
  const upstreams: Forwarder['upstreams'] = [];
  arr(spec.upstreams).forEach((u0, i) => {
    const u = obj(u0);
    const where = `spec.upstreams[${i}]`;
    const ip = canonicalIp(str(u.address) ?? '');
    if (!ip) { errors.push(`${where}.address must be an IPv4 or IPv6 address`); return; }
    const protocol = str(u.protocol) ?? 'udp';
    if (protocol !== 'udp' && protocol !== 'tcp' && protocol !== 'tls') { errors.push(`${where}.protocol must be udp, tcp or tls`); return; }
    const port = int(u.port, protocol === 'tls' ? 853 : 53, 1, 65535, `${where}.port`, errors);
    const serverName = str(u.serverName);
    const caBundle = str(u.caBundle);
    if (protocol !== 'tls' && (serverName !== undefined || caBundle !== undefined)) errors.push(`${where}: serverName and caBundle are only for protocol tls`);
    if (protocol === 'tls' && !serverName) errors.push(`${where}: a tls upstream needs serverName (the name its certificate carries)`);
    if (caBundle !== undefined && !caBundle.includes('-----BEGIN CERTIFICATE-----')) errors.push(`${where}.caBundle must be PEM certificates`);
    upstreams.push(protocol === 'tls'
      ? { address: ip.ip, caBundle, port, protocol, serverName }
      : { address: ip.ip, port, protocol });
  });
  if (upstreams.length === 0 && arr(spec.upstreams).length === 0) errors.push('spec.upstreams must hold at least one upstream');
  const policy = str(spec.policy) ?? D.policy;
  if (policy !== 'random' && policy !== 'roundRobin' && policy !== 'sequential') errors.push('spec.policy must be random, roundRobin or sequential');
  const timeoutMs = duration(spec.timeout, D.timeout, 'spec.timeout', errors);
  const deadlineMs = duration(spec.deadline, D.deadline, 'spec.deadline', errors);
  if (timeoutMs < 10 || timeoutMs > 60000) errors.push('spec.timeout must be from 10ms to 60s');
  if (deadlineMs < 10 || deadlineMs > 120000) errors.push('spec.deadline must be from 10ms to 120s');
  if (deadlineMs < timeoutMs) errors.push('spec.deadline must not be shorter than spec.timeout');
  const hc = obj(spec.healthCheck);
  const c = obj(spec.cache);
  const pf = obj(c.prefetch);
  const ss = obj(c.serveStale);
  const hcName = hc.name === undefined ? '.' : domain(hc.name, 'spec.healthCheck.name', errors, { root: true }) ?? '.';
  const cache = {
    enabled: bool(c.enabled, D.cache.enabled, 'spec.cache.enabled', errors),
    maxEntries: int(c.maxEntries, D.cache.maxEntries, 1, 10000000, 'spec.cache.maxEntries', errors),
    maxNegativeTtl: int(c.maxNegativeTTL, D.cache.maxNegativeTTL, 0, MAX_TTL, 'spec.cache.maxNegativeTTL', errors),
    maxTtl: int(c.maxTTL, D.cache.maxTTL, 0, MAX_TTL, 'spec.cache.maxTTL', errors),
    minTtl: int(c.minTTL, D.cache.minTTL, 0, MAX_TTL, 'spec.cache.minTTL', errors),
    prefetch: {
      enabled: bool(pf.enabled, D.cache.prefetch.enabled, 'spec.cache.prefetch.enabled', errors),
      minHits: int(pf.minHits, D.cache.prefetch.minHits, 0, 1000000, 'spec.cache.prefetch.minHits', errors),
      percent: int(pf.percent, D.cache.prefetch.percent, 1, 99, 'spec.cache.prefetch.percent', errors),
    },
    serveStale: {
      enabled: bool(ss.enabled, D.cache.serveStale.enabled, 'spec.cache.serveStale.enabled', errors),
      maxStale: int(ss.maxStale, D.cache.serveStale.maxStale, 0, MAX_TTL, 'spec.cache.serveStale.maxStale', errors),
      ttl: int(ss.ttl, D.cache.serveStale.ttl, 0, 86400, 'spec.cache.serveStale.ttl', errors),
    },
    servfailTtl: int(c.servfailTTL, D.cache.servfailTTL, 0, 300, 'spec.cache.servfailTTL', errors),
  };
  if (cache.minTtl > cache.maxTtl) errors.push('spec.cache.minTTL must not be above spec.cache.maxTTL');
  const forwarder: Forwarder = {
    cache,
    deadlineMs,
    domains: [...domains].sort(),
    failFast: bool(spec.failFast, D.failFast, 'spec.failFast', errors),
    healthCheck: {
      enabled: bool(hc.enabled, D.healthCheck.enabled, 'spec.healthCheck.enabled', errors),
      failures: int(hc.failures, D.healthCheck.failures, 1, 100, 'spec.healthCheck.failures', errors),
      intervalMs: duration(hc.interval, D.healthCheck.interval, 'spec.healthCheck.interval', errors),
      name: hcName,
    },
    maxConcurrent: int(spec.maxConcurrent, D.maxConcurrent, 1, 1000000, 'spec.maxConcurrent', errors),
    name: meta.name,
    policy: policy as Forwarder['policy'],
    timeoutMs,
    upstreams,
  };
  if (forwarder.healthCheck.intervalMs < 100 || forwarder.healthCheck.intervalMs > 3600000) errors.push('spec.healthCheck.interval must be from 100ms to 1h');
  return { meta, errors, forwarder };
}

export interface ParsedStaticHost {
  meta: Meta;
  errors: string[];
  hostnames: string[];
  addresses: { ip: string; family: IpFamily }[];
  ttl: number;
  ptr: boolean;
}

function parseStaticHost(raw: Raw): ParsedStaticHost {
  const meta = readMeta('StaticHost', raw);
  const spec = obj(raw.spec);
  const errors: string[] = [];
  const hostnames: string[] = [];
  arr(spec.hostnames).forEach((h, i) => { const f = domain(h, `spec.hostnames[${i}]`, errors); if (f && !hostnames.includes(f)) hostnames.push(f); });
  if (arr(spec.hostnames).length === 0) errors.push('spec.hostnames must hold at least one name');
  const addresses: ParsedStaticHost['addresses'] = [];
  arr(spec.addresses).forEach((a, i) => {
    const ip = canonicalIp(str(a) ?? '');
    if (!ip) errors.push(`spec.addresses[${i}] must be an IPv4 or IPv6 address`);
    else if (!addresses.some((x) => x.ip === ip.ip)) addresses.push(ip);
  });
  if (arr(spec.addresses).length === 0) errors.push('spec.addresses must hold at least one address');
  return {
    meta, errors, hostnames: hostnames.sort(), addresses,
    ttl: int(spec.ttl, STATIC_HOST_DEFAULTS.ttl, 0, MAX_TTL, 'spec.ttl', errors),
    ptr: bool(spec.ptr, STATIC_HOST_DEFAULTS.ptr, 'spec.ptr', errors),
  };
}

export interface ParsedResources {
  /** Each DNSZone with its identity (uid@resourceVersion), in snapshot order. */
  zones: { p: ParsedZone; id: string }[];
  forwarders: ParsedForwarder[];
  staticHosts: ParsedStaticHost[];
  /** StaticHost → its identity. */
  hostIds: Map<Meta, string>;
}

/** Parse phase: every custom resource parsed (once per object, in the cache); the invalid ones refused. */
export function parseResources(s: Pick<Snapshot, 'zones' | 'forwarders' | 'staticHosts'>, cache: CompileCache, verdicts: Verdicts): ParsedResources {
  return finish(parseResourcesSteps(s, cache, verdicts));
}

/**
 * parseResources() as steps (steps.ts): yields every STEP_ITEMS StaticHosts (a cold start parses
 * them all). While the snapshot's three lists hold the same objects as last time (a Service or
 * endpoint change: the common case), last time's ParsedResources is returned, the same object
 * (later phases key their memos on it), and only its refusals are made again.
 */
export function* parseResourcesSteps(s: Pick<Snapshot, 'zones' | 'forwarders' | 'staticHosts'>, cache: CompileCache, verdicts: Verdicts): Steps<ParsedResources> {
  const last = cache.parsed;
  let parsed: ParsedResources;
  if (last !== undefined && sameList(last.zones, s.zones) && sameList(last.forwarders, s.forwarders) && sameList(last.staticHosts, s.staticHosts)) parsed = last.parsed;
  else {
    cache.parsed = undefined; // a compile stopped half way parses again next time
    // Lists by push (lists.ts): packed arrays whichever tier runs this.
    const zones = mapped(s.zones, (o) => ({ p: cached(cache.zones, o, parseZone), id: cache.ids.of(o) }));
    const forwarders = mapped(s.forwarders, (o) => cached(cache.forwarders, o, parseForwarder));
    const staticHosts: ParsedStaticHost[] = [];
    const hostIds = new Map<Meta, string>();
    for (const o of s.staticHosts) {
      if ((staticHosts.length + 1) % STEP_ITEMS === 0) yield;
      const h = cached(cache.staticHosts, o, parseStaticHost);
      staticHosts.push(h);
      hostIds.set(h.meta, cache.ids.of(o));
    }
    parsed = { zones, forwarders, staticHosts, hostIds };
    // Copies: a caller may change its lists in place.
    cache.parsed = { zones: s.zones.slice(), forwarders: s.forwarders.slice(), staticHosts: s.staticHosts.slice(), parsed };
  }
  // Indexed loops: a for-of this generator runs unoptimised makes an iterator result per item.
  for (let i = 0; i < parsed.zones.length; i++) rejectInvalid(parsed.zones[i]!.p, verdicts);
  for (let i = 0; i < parsed.forwarders.length; i++) rejectInvalid(parsed.forwarders[i]!, verdicts);
  for (let i = 0; i < parsed.staticHosts.length; i++) rejectInvalid(parsed.staticHosts[i]!, verdicts);
  return parsed;
}

function rejectInvalid(r: { meta: Meta; errors: string[] }, verdicts: Verdicts): void {
  if (r.errors.length) verdicts.reject(r.meta, 'InvalidSpec', r.errors.join('; '));
}
