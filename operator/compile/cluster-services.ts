// Core Services and EndpointSlices → the Kubernetes DNS-based service discovery records
// (kubernetes/dns docs/specification.md, schema 1.1.0) of one namespace, as a ServicesShard.

import type { RRSet, ServicesShard } from '../../dns-server/config/types.js';
import { CONFIG_API_VERSION } from '../../dns-server/config/types.js';
import { arr, obj, readMeta, str } from './meta.js';
import type { Meta, Raw } from './meta.js';
import { addressRecordType, canonicalIp, checkDomainName, dashedIp, reverseName, toFqdn } from './names.js';
import type { IpFamily } from './names.js';
import { kept, mapped, trimmed } from './lists.js';
import { RRSetBag, byNameType, hashShard, shardFieldJson } from './rrsets.js';

/** TTL of the cluster domain's records (CoreDNS's kubernetes plugin uses 5 s too). */
export const CLUSTER_TTL = 5;
/** The schema version answered at dns-version.<zone> (specification §2.2). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** The annotation that names a Service's published hostname in a DNSZone. */
const HOSTNAME_ANNOTATION = 'splitdns.io/hostname';
/** ExternalDNS's hostname annotation (comma-separated names): an opt-in alias. */
export const EXTERNAL_DNS_HOSTNAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';

interface Port { name: string; port: number; protocol: string }
interface Addr { ip: string; family: IpFamily }

export interface ServiceInfo {
  meta: Meta;
  type: string;
  headless: boolean;
  clusterIPs: Addr[];
  externalName?: string;
  ports: Port[];
  publishNotReady: boolean;
  lbIngress: Addr[];
  /** The splitdns.io/hostname annotation. */
  hostnameAnnotation?: string;
  /** ExternalDNS's hostname annotation, split at commas (used when the compile option opts in). */
  externalDnsHostnames?: string[];
}

export interface SliceHead {
  namespace: string;
  service: string;
  /** "<namespace>/<slice name>" */
  key: string;
}

export interface SliceInfo extends SliceHead {
  ports: Port[];
  endpoints: { addresses: Addr[]; ready: boolean; hostname?: string }[];
}

function ports(v: unknown): Port[] {
  const out: Port[] = [];
  for (const p0 of arr(v)) {
    const p = obj(p0);
    const port = p.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    out.push({ name: str(p.name) ?? '', port, protocol: (str(p.protocol) ?? 'TCP').toLowerCase() });
  }
  return out;
}

function addrs(list: unknown[]): Addr[] {
  const out: Addr[] = [];
  for (const a of list) { const ip = canonicalIp(str(a) ?? ''); if (ip && !out.some((x) => x.ip === ip.ip)) out.push(ip); }
  return out;
}

export function parseService(raw: Raw): ServiceInfo {
  const meta = readMeta('Service', raw);
  const spec = obj(raw.spec);
  const type = str(spec.type) ?? 'ClusterIP';
  const clusterIP = str(spec.clusterIP);
  const ipList = arr(spec.clusterIPs).length ? arr(spec.clusterIPs) : clusterIP ? [clusterIP] : [];
  const headless = type !== 'ExternalName' && (clusterIP === 'None' || ipList[0] === 'None');
  const ingress = arr(obj(obj(raw.status).loadBalancer).ingress).map((i) => obj(i).ip);
  return {
    meta, type, headless,
    clusterIPs: headless || type === 'ExternalName' ? [] : addrs(ipList),
    externalName: type === 'ExternalName' ? str(spec.externalName) : undefined,
    ports: ports(spec.ports),
    publishNotReady: spec.publishNotReadyAddresses === true,
    lbIngress: type === 'LoadBalancer' ? addrs(ingress) : [],
    hostnameAnnotation: meta.annotations[HOSTNAME_ANNOTATION],
    externalDnsHostnames: meta.annotations[EXTERNAL_DNS_HOSTNAME_ANNOTATION]?.split(',').map((h) => h.trim()).filter((h) => h !== ''),
  };
}

/** Which Service a slice belongs to (cheap: metadata only); undefined when it is not a Service's IPv4/IPv6 slice. */
export function sliceHead(raw: Raw): SliceHead | undefined {
  const m = obj(raw.metadata);
  const namespace = str(m.namespace) ?? '';
  const service = str(obj(m.labels)['kubernetes.io/service-name']);
  const addressType = str(raw.addressType);
  if (!service || (addressType !== 'IPv4' && addressType !== 'IPv6')) return undefined;
  return { namespace, service, key: `${namespace}/${str(m.name) ?? ''}` };
}

export function parseSlice(raw: Raw): SliceInfo | undefined {
  const head = sliceHead(raw);
  if (head === undefined) return undefined;
  const family = raw.addressType === 'IPv4' ? 4 : 6;
  return {
    ...head,
    ports: ports(raw.ports),
    // mapped(), kept(): packed lists whichever tier parses the slice (lists.ts; readyEndpoints reads them);
    // trimmed(): kept in the cache as long as the slice, so without push's spare slots.
    endpoints: trimmed(mapped(arr(raw.endpoints), (e0) => {
      const e = obj(e0);
      // Specification: nil `ready` means ready (EndpointConditions).
      const ready = obj(e.conditions).ready !== false;
      const hostname = str(e.hostname)?.toLowerCase();
      return { addresses: trimmed(kept(addrs(arr(e.addresses)), (a) => a.family === family)), ready, hostname: hostname && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(hostname) ? hostname : undefined };
    })),
  };
}

/** The ready endpoints of a service, sorted; with publishNotReadyAddresses every endpoint counts. */
export function readyEndpoints(svc: ServiceInfo, slices: SliceInfo[]): { addr: Addr; hostname?: string; ports: Port[] }[] {
  const out: { addr: Addr; hostname?: string; ports: Port[] }[] = [];
  for (const s of slices) {
    for (const e of s.endpoints) {
      if (!e.ready && !svc.publishNotReady) continue;
      for (const a of e.addresses) out.push({ addr: a, hostname: e.hostname, ports: s.ports });
    }
  }
  return out;
}

/** Adds one Service's records (and PTRs) under `base` ("<svc>.<ns>.svc.<zone>."). */
function addServiceRecords(bag: RRSetBag, reverse: RRSetBag, svc: ServiceInfo, slices: SliceInfo[], base: string): void {
  const ttl = CLUSTER_TTL;
  if (svc.type === 'ExternalName') {
    if (!svc.externalName) return;
    const target = toFqdn(svc.externalName);
    if (checkDomainName(target) === undefined && target !== '.') bag.add(base, 'CNAME', ttl, target);
    return;
  }
  if (!svc.headless) {
    for (const a of svc.clusterIPs) {
      bag.add(base, addressRecordType(a.family), ttl, a.ip);
      reverse.add(reverseName(a.ip, a.family), 'PTR', ttl, base);
    }
    if (svc.clusterIPs.length === 0) return;
    for (const p of svc.ports) {
      if (p.name) bag.add(`_${p.name}._${p.protocol}.${base}`, 'SRV', ttl, { port: p.port, priority: 0, target: base, weight: 100 });
    }
    return;
  }
  // Headless: the ready endpoints; none → no name at all (NXDOMAIN).
  for (const ep of readyEndpoints(svc, slices)) {
    const t = addressRecordType(ep.addr.family);
    bag.add(base, t, ttl, ep.addr.ip);
    const host = `${ep.hostname ?? dashedIp(ep.addr.ip, ep.addr.family)}.${base}`;
    bag.add(host, t, ttl, ep.addr.ip);
    reverse.add(reverseName(ep.addr.ip, ep.addr.family), 'PTR', ttl, host); // spec §2.4.3: every ready address, hostname or system-assigned label
    for (const p of ep.ports) {
      if (p.name) bag.add(`_${p.name}._${p.protocol}.${base}`, 'SRV', ttl, { port: p.port, priority: 0, target: host, weight: 100 });
    }
  }
}

/**
 * One Service's records in its namespace's shard: its forward RRsets (sorted; no other Service
 * has names under its own) and its PTRs (merged with the other Services' in the shard: two
 * Services may have PTRs at the same address). Compact, as the cache keeps one per Service
 * (the RRset objects are the shard's own; their JSON is not kept: 16 MiB at 10k Services).
 */
export interface ServiceRecords { forward: RRSet[]; /** PTRs: reverse name, target, reverse name, target, ... (TTL CLUSTER_TTL). */ reverse: string[] }

/** The records of one Service (`slices`: its EndpointSlices, read only when it is headless). */
export function serviceRecords(zone: string, namespace: string, svc: ServiceInfo, slices: SliceInfo[]): ServiceRecords {
  const bag = new RRSetBag();
  const reverse = new RRSetBag();
  const base = `${svc.meta.name}.${namespace}.svc.${zone}`;
  if (checkDomainName(base) === undefined) addServiceRecords(bag, reverse, svc, slices, base);
  const forward = bag.toRRSets();
  const ptrs: string[] = [];
  for (const rs of reverse.toRRSets()) for (const t of rs.data as string[]) ptrs.push(rs.name, t);
  return { forward, reverse: ptrs };
}

/** The ServicesShard of one namespace. */
export function buildServicesShard(zone: string, namespace: string, services: ServiceInfo[], slicesByService: Map<string, SliceInfo[]>): ServicesShard {
  return servicesShardOf(zone, namespace, services.map((svc) => serviceRecords(zone, namespace, svc, slicesByService.get(svc.meta.name) ?? []))).shard;
}

/** A namespace's Services' records and the forward and reverse RRsets they make, sorted (to patch when few Services change). */
export interface ServicesForward {
  records: readonly ServiceRecords[];
  sorted: RRSet[];
  /** The PTR RRsets, sorted by name (before any PTR is refused). */
  reverse: RRSet[];
  /** The shard made of them (its JSON, which hashShard keeps, is where the next patched shard copies the kept RRsets' text from). */
  shard: ServicesShard;
}

/**
 * The ServicesShard of one namespace from its Services' records (kept per Service by the
 * compile cache). With `prev`, the records the namespace's last shard was made from: when
 * only a few Services' records differ, their RRsets leave and enter the sorted lists of last
 * time (a linear merge; the PTR RRsets at the names they touch are made again from every
 * record holding that name) instead of collecting and sorting every RRset again. Returns what
 * to pass next time.
 */
export function servicesShardOf(zone: string, namespace: string, records: readonly ServiceRecords[], prev?: ServicesForward): { shard: ServicesShard; forward: ServicesForward } {
  const diff = prev && recordsDiff(prev, records);
  const leave = diff && new Set(forwardOf(diff.gone));
  let sorted = (diff && mergeSorted(prev!.sorted, leave!, forwardOf(diff.added).sort(byNameType))) ?? forwardOf(records).sort(byNameType);
  // Two Service objects of one name (a snapshot that repeats one): their RRsets merged, as one bag would.
  let repeated = false;
  for (let i = 1; i < sorted.length && !repeated; i++) repeated = byNameType(sorted[i - 1]!, sorted[i]!) === 0;
  if (repeated) {
    const bag = new RRSetBag();
    for (const rs of sorted) for (const d of rs.data) bag.add(rs.name, rs.type, rs.ttl, d);
    sorted = bag.toRRSets();
  }
  const patched = diff && patchReverse(prev!.reverse, records, diff);
  const reverse = patched?.list ?? reverseOf(records);
  // Patched lists: the RRsets kept from last time are copied as text from last time's JSON.
  const rrsetsWas = diff && shardFieldJson(prev!.shard, 'rrsets');
  const reverseWas = patched && shardFieldJson(prev!.shard, 'reverse');
  const pre: { rrsets?: string[]; reverse?: string[] } = {};
  if (rrsetsWas !== undefined) pre.rrsets = spliceJson(prev!.sorted, rrsetsWas, leave!, sorted);
  if (reverseWas !== undefined) pre.reverse = spliceJson(prev!.reverse, reverseWas, patched!.leave, reverse);
  const shard = hashShard({
    apiVersion: CONFIG_API_VERSION, id: `services/${namespace}`, kind: 'services', namespace,
    reverse, rrsets: sorted, zone,
  } as Omit<ServicesShard, 'hash'>, pre) as ServicesShard;
  return { shard, forward: { records, sorted, reverse, shard } };
}

/** The forward RRsets of `records`, in their order (by push, not flatMap: one array kind, lists.ts). */
function forwardOf(records: readonly ServiceRecords[]): RRSet[] {
  const out: RRSet[] = [];
  for (const r of records) for (const rs of r.forward) out.push(rs);
  return out;
}

/** Where an RRset's JSON ends and the next one's begins in a list's JSON: keys are sorted, so each RRset starts with "data", and a quote inside a string is escaped. */
const BETWEEN_RRSETS = '},{"data":';

/**
 * The pieces of JSON.stringify(list) (joined, they make it), where `list` is `was` (sorted, its
 * JSON `wasJson`) less the RRsets in `leave`, with others merged in, in the same order: runs of
 * RRsets kept from `was` are copied from `wasJson` (slices, not copies), the others serialised.
 * Walks both lists once, in step: an RRset is copied only when it is the object at the place in
 * `was` the walk has come to (so a wrong `leave` costs serialising, never a wrong text).
 * undefined when `wasJson` does not hold `was` element by element (then the caller serialises).
 */
function spliceJson(was: readonly RRSet[], wasJson: string, leave: ReadonlySet<RRSet>, list: readonly RRSet[]): string[] | undefined {
  if (was.length === 0) return undefined;
  const starts: number[] = [1];
  for (let at = wasJson.indexOf(BETWEEN_RRSETS); at >= 0; at = wasJson.indexOf(BETWEEN_RRSETS, at + 1)) starts.push(at + 2);
  if (starts.length !== was.length || wasJson[0] !== '[' || !wasJson.startsWith('{"data":', 1)) return undefined;
  starts.push(wasJson.length); // one past the last one's end (its "]" at wasJson.length - 1, less the comma's place)
  const pieces: string[] = ['['];
  let i = 0; // the place in `was`
  for (let k = 0; k < list.length;) {
    if (k > 0) pieces.push(',');
    while (i < was.length && leave.has(was[i]!)) i++;
    if (i === was.length || list[k] !== was[i]) { pieces.push(JSON.stringify(list[k])); k++; continue; }
    const from = i; // a run of consecutive RRsets of `was`
    do { i++; k++; } while (k < list.length && i < was.length && list[k] === was[i]);
    pieces.push(wasJson.slice(starts[from]!, starts[i]! - 1));
  }
  pieces.push(']');
  return pieces;
}

/** The PTR RRsets of `records` (those of names in `only`, when given), sorted by name. */
function reverseOf(records: readonly ServiceRecords[], only?: ReadonlySet<string>): RRSet[] {
  const bag = new RRSetBag();
  for (const r of records) {
    for (let i = 0; i < r.reverse.length; i += 2) if (only === undefined || only.has(r.reverse[i])) bag.add(r.reverse[i], 'PTR', CLUSTER_TTL, r.reverse[i + 1]);
  }
  return bag.toRRSets();
}

/** The records that came and went since `prev`; undefined when too many did to gain by patching. */
function recordsDiff(prev: ServicesForward, records: readonly ServiceRecords[]): { added: ServiceRecords[]; gone: ServiceRecords[] } | undefined {
  const was = new Set(prev.records), now = new Set(records);
  const added = kept(records, (r) => !was.has(r));
  const gone = kept(prev.records, (r) => !now.has(r));
  return (added.length + gone.length) * 4 > records.length ? undefined : { added, gone };
}

/** `list` (sorted) without the RRsets in `leave`, with `enter` (sorted) merged in. */
function mergeSorted(list: readonly RRSet[], leave: ReadonlySet<RRSet>, enter: readonly RRSet[]): RRSet[] {
  const out: RRSet[] = [];
  // One loop, one place that takes from `enter` (not a second loop for its tail, which ran only
  // now and then and was deoptimised each time it first did: README "Shapes").
  let i = 0, j = 0;
  while (i < list.length || j < enter.length) {
    if (i < list.length && leave.has(list[i]!)) { i++; continue; }
    if (j < enter.length && (i === list.length || byNameType(enter[j]!, list[i]!) < 0)) out.push(enter[j++]!);
    else out.push(list[i++]!);
  }
  return out;
}

/** The PTR RRsets from last time's (and those of them left out): the names the changed records hold are made again from every record holding them; undefined when too many moved to gain. */
function patchReverse(prev: readonly RRSet[], records: readonly ServiceRecords[], diff: { added: ServiceRecords[]; gone: ServiceRecords[] }): { list: RRSet[]; leave: Set<RRSet> } | undefined {
  const touched = new Set<string>();
  for (const r of diff.added) for (let i = 0; i < r.reverse.length; i += 2) touched.add(r.reverse[i]);
  for (const r of diff.gone) for (let i = 0; i < r.reverse.length; i += 2) touched.add(r.reverse[i]);
  if (touched.size * 4 > prev.length) return undefined;
  const leave = new Set<RRSet>();
  for (const rs of prev) if (touched.has(rs.name)) leave.add(rs);
  return { list: mergeSorted(prev, leave, reverseOf(records, touched)), leave };
}
