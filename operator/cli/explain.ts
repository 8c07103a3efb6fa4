// `splitdns explain NAME [TYPE]`: why does this name resolve to that? From a set of objects
// (manifests on disk, or read from a cluster), it names every object that speaks for the name
// (DNSZone records, a published Service, a StaticHost, a cluster Service, a DNSForwarder),
// the decisions of compile() that apply to them (accepted, or lost and why), the shard that
// holds the name, and the answer the real handler gives on the compiled configuration.
//
// The objects are read here only to say who is involved; what wins is compile()'s verdict
// (its public statuses) and the handler's answer, so explain cannot disagree with the server.

import type { Logger } from 'pino';
import { createInProcessServer } from '../../dns-server/index.js';
import { createCompiler } from '../compile/index.js';
import type { CompileResult, ResourceResult, Snapshot } from '../compile/index.js';
import type { KubeClient } from '../../kube/kube-client.js';
import { encodeQuery, readAnswers } from './answer-text.js';

export interface ExplainOptions {
  clusterDomain: string;
  operatorNamespace: string;
  logger: Logger;
}

/** One object that speaks for the name. */
export interface Involved {
  /** "DNSZone corp", "StaticHost team-a/build-farm", "Service shop/web", ... */
  object: string;
  /** Where it was read from (file) when known. */
  source?: string;
  /** How it is involved: "record www A 192.0.2.10", "zone corp.example (covers the name)", ... */
  role: string;
  /** accepted, or the reason it lost (Conflict, NotPermitted, InvalidSpec) with the message. */
  verdict: string;
  /** Whether this object answers the name now. */
  answers: boolean;
}

export interface Explanation {
  name: string;
  type: string;
  involved: Involved[];
  shard: string;
  /** Which forwarder takes the name when no local data holds it. */
  forwardedTo?: { forwarder: string; domain: string; upstreams: string[] };
  rcode: string;
  answers: string[];
}

type Obj = Record<string, any>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const fqdn = (n: string): string => (n.endsWith('.') ? n : n + '.').toLowerCase();
const isAtOrBelow = (name: string, suffix: string): boolean => suffix === '.' || name === suffix || name.endsWith('.' + suffix);
const zoneShard = (origin: string): string => `zone/${origin.replace(/\.$/, '')}`;
const refOf = (o: Obj): string => `${o.metadata?.namespace ? o.metadata.namespace + '/' : ''}${o.metadata?.name}`;

function verdictOf(res: ResourceResult | undefined): { text: string; ok: boolean } {
  const acc = res?.status.conditions.find((c) => c.type === 'Accepted');
  if (!acc) return { text: 'not compiled', ok: false };
  return acc.status === 'True' ? { text: `accepted: ${acc.message}`, ok: true } : { text: `NOT accepted: ${acc.reason}: ${acc.message}`, ok: false };
}

function recordData(r: Obj): string {
  for (const k of ['a', 'aaaa', 'txt', 'ns', 'ptr']) if (Array.isArray(r[k])) return r[k].map((x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  if (r.cname) return String(r.cname);
  for (const k of ['mx', 'srv', 'caa']) if (Array.isArray(r[k])) return r[k].map((x: Obj) => Object.values(x).join(' ')).join(', ');
  return '';
}

/** Does the record owner (relative to origin, "@" and "*." allowed) name `name`? */
function ownerMatches(owner: string, origin: string, name: string): 'exact' | 'wildcard' | undefined {
  const abs = owner === '@' || owner === '' ? origin : owner.endsWith('.') ? owner.toLowerCase() : `${owner.toLowerCase()}.${origin}`;
  if (abs === name) return 'exact';
  if (abs.startsWith('*.') && name.endsWith(abs.slice(1))) return 'wildcard';
  return undefined;
}

/** Explains `name` over the objects of `snapshot` (files by object, for messages). */
export async function explainName(snapshot: Snapshot, name: string, type: string, opts: ExplainOptions, sources = new Map<object, string>()): Promise<Explanation> {
  const q = fqdn(name);
  const qtype = type.toUpperCase();
  const compiler = createCompiler({ clusterDomain: opts.clusterDomain, operatorNamespace: opts.operatorNamespace });
  const result: CompileResult = compiler.compile(snapshot);
  const byRef = new Map(result.resources.map((r) => [`${r.kind}/${r.namespace ? r.namespace + '/' : ''}${r.name}`, r]));
  const resOf = (kind: string, o: Obj) => byRef.get(`${kind}/${refOf(o)}`);
  const involved: Involved[] = [];
  const src = (o: object) => sources.get(o);
  const shardsOf = (kind: string, o: Obj) => resOf(kind, o)?.shardIds ?? [];

  const server = createInProcessServer(opts.logger);
  server.applyBundle(result.bundle);
  const shard = server.shardOf(q);

  // Zones that cover the name; the longest accepted one is the name's zone.
  const zones = (snapshot.zones as Obj[]).filter((z) => typeof z.spec?.domain === 'string' && isAtOrBelow(q, fqdn(z.spec.domain)));
  zones.sort((a, b) => fqdn(b.spec.domain).length - fqdn(a.spec.domain).length);
  const owning = zones.find((z) => verdictOf(resOf('DNSZone', z)).ok);
  for (const z of zones) {
    const v = verdictOf(resOf('DNSZone', z));
    const origin = fqdn(z.spec.domain);
    const mine = z === owning;
    involved.push({
      object: `DNSZone ${refOf(z)}`, source: src(z), verdict: v.text, answers: mine && shard === zoneShard(origin),
      role: `zone ${origin} covers the name${mine ? '' : v.ok ? ` (not used: the longer zone ${owning ? fqdn(owning.spec.domain) : '?'} holds it)` : ''}`,
    });
    for (const r of (z.spec.records ?? []) as Obj[]) {
      const m = ownerMatches(String(r.name ?? '@'), origin, q);
      if (!m) continue;
      involved.push({
        object: `DNSZone ${refOf(z)}`, source: src(z), verdict: v.text, answers: mine && v.ok && (r.type === qtype || r.type === 'CNAME' || qtype === 'ANY'),
        role: `${m === 'wildcard' ? 'wildcard ' : ''}record ${r.name} ${r.type} ${recordData(r)}`,
      });
    }
    const del = z.spec.delegation?.namespaces;
    if (Array.isArray(del) && del.length) involved.push({ object: `DNSZone ${refOf(z)}`, source: src(z), verdict: v.text, answers: false, role: `delegates names to namespace(s) ${del.join(', ')} (their StaticHosts may claim names in ${origin})` });
  }

  // StaticHosts that claim the name.
  for (const h of snapshot.staticHosts as Obj[]) {
    const names = ((h.spec?.hostnames ?? []) as unknown[]).map((n) => fqdn(String(n)));
    if (!names.includes(q)) continue;
    const v = verdictOf(resOf('StaticHost', h));
    involved.push({ object: `StaticHost ${refOf(h)}`, source: src(h), role: `hostname ${q} → ${(h.spec.addresses ?? []).join(', ')}`, verdict: v.text, answers: v.ok && shardsOf('StaticHost', h).includes(shard) });
  }

  // Services: published in a zone (annotation or <service>.<namespace>.<zone>), or the cluster domain's.
  const cluster = fqdn(opts.clusterDomain);
  for (const s of snapshot.services as Obj[]) {
    const sname = str(s.metadata?.name);
    const ns = str(s.metadata?.namespace) ?? 'default';
    if (!sname) continue;
    const ann = str(s.metadata?.annotations?.['splitdns.io/hostname']);
    const base = `${sname}.${ns}.svc.${cluster}`;
    if (ann !== undefined && fqdn(ann) === q) {
      involved.push({ object: `Service ${ns}/${sname}`, source: src(s), role: `published by its splitdns.io/hostname annotation`, verdict: publishVerdict(result, owning, ns, sname), answers: owning !== undefined && shard === zoneShard(fqdn(owning.spec.domain)) });
    } else if (ann === undefined && owning && q === `${sname}.${ns}.${fqdn(owning.spec.domain)}`) {
      involved.push({ object: `Service ${ns}/${sname}`, source: src(s), role: `published as <service>.<namespace>.${fqdn(owning.spec.domain)} if DNSZone ${refOf(owning)}'s spec.services selects it`, verdict: publishVerdict(result, owning, ns, sname), answers: shard === zoneShard(fqdn(owning.spec.domain)) });
    }
    if (isAtOrBelow(q, base)) {
      involved.push({ object: `Service ${ns}/${sname}`, source: src(s), role: `cluster Service (Kubernetes DNS specification) under ${base}`, verdict: 'cluster Services are always served', answers: shard === `services/${ns}` });
    }
  }

  // Forwarders: the longest accepted domain that covers the name takes it when no local data does.
  let forwardedTo: Explanation['forwardedTo'];
  let best = -1;
  for (const f of snapshot.forwarders as Obj[]) {
    const v = verdictOf(resOf('DNSForwarder', f));
    for (const d of (f.spec?.domains ?? []) as string[]) {
      const dom = fqdn(d === '.' ? '' : d) === '.' ? '.' : fqdn(d);
      if (!isAtOrBelow(q, dom)) continue;
      const ups = ((f.spec.upstreams ?? []) as Obj[]).map((u) => `${u.address}:${u.port ?? (u.protocol === 'tls' ? 853 : 53)}/${u.protocol ?? 'udp'}`);
      involved.push({ object: `DNSForwarder ${refOf(f)}`, source: src(f), role: `forwards ${dom} to ${ups.join(', ')}`, verdict: v.text, answers: false });
      if (v.ok && dom.length > best) { best = dom.length; forwardedTo = { forwarder: `DNSForwarder ${refOf(f)}`, domain: dom, upstreams: ups }; }
    }
  }
  if (shard !== 'none' && shard !== 'forwarders') forwardedTo = undefined; // local data wins
  else for (const i of involved) if (forwardedTo && i.object === forwardedTo.forwarder) i.answers = true;

  // The answer the handler gives now.
  const reply = await server.query(encodeQuery(q, qtype));
  const { rcode, answers } = reply ? readAnswers(reply) : { rcode: 'DROPPED', answers: [] as string[] };
  return { name: q, type: qtype, involved, shard, forwardedTo, rcode, answers };
}

function publishVerdict(result: CompileResult, zone: Obj | undefined, ns: string, name: string): string {
  if (!zone) return 'no accepted DNSZone covers the name';
  const res = result.resources.find((r) => r.kind === 'DNSZone' && r.name === zone.metadata?.name && (r.namespace ?? undefined) === (zone.metadata?.namespace ?? undefined));
  const msg = res?.status.conditions.find((c) => c.type === 'Accepted')?.message ?? '';
  const m = new RegExp(`Service ${ns}/${name}: ([^;]*)`).exec(msg);
  return m ? `NOT published: ${m[1]}` : 'published if selected (see the answer)';
}

/** The explanation as text for a terminal. */
export function formatExplanation(e: Explanation): string {
  const lines = [`${e.name} ${e.type}`];
  if (e.involved.length === 0) lines.push('  No object names it.');
  for (const i of e.involved) {
    lines.push(`  ${i.answers ? '*' : '-'} ${i.object}${i.source ? ` (${i.source})` : ''}: ${i.role}`);
    lines.push(`      ${i.verdict}`);
  }
  lines.push(`  shard: ${e.shard === 'none' ? '(none: no local data holds this name)' : e.shard}`);
  if (e.forwardedTo) lines.push(`  forwarded: by ${e.forwardedTo.forwarder} (domain ${e.forwardedTo.domain}) to ${e.forwardedTo.upstreams.join(', ')}; explain does not send the query`);
  lines.push(`  answer now: ${e.forwardedTo ? '(from the upstream)' : e.rcode}`);
  if (!e.forwardedTo) for (const a of e.answers) lines.push(`    ${a}`);
  lines.push('  (* = answers the name now)');
  return lines.join('\n') + '\n';
}

/** The paths of the objects explain reads from a cluster (read only: GET of lists). */
const KUBE_LISTS: [keyof Snapshot, string, string, string][] = [
  ['zones', '/apis/splitdns.io/v1alpha1/dnszones', 'splitdns.io/v1alpha1', 'DNSZone'],
  ['forwarders', '/apis/splitdns.io/v1alpha1/dnsforwarders', 'splitdns.io/v1alpha1', 'DNSForwarder'],
  ['staticHosts', '/apis/splitdns.io/v1alpha1/statichosts', 'splitdns.io/v1alpha1', 'StaticHost'],
  ['services', '/api/v1/services', 'v1', 'Service'],
  ['endpointSlices', '/apis/discovery.k8s.io/v1/endpointslices', 'discovery.k8s.io/v1', 'EndpointSlice'],
  ['namespaces', '/api/v1/namespaces', 'v1', 'Namespace'],
];

/** Reads a Snapshot through the API (GET of each list; list items carry no apiVersion/kind, so they are set). */
export async function readClusterSnapshot(client: Pick<KubeClient, 'request'>): Promise<Snapshot> {
  const snap: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [] };
  await Promise.all(KUBE_LISTS.map(async ([slot, path, apiVersion, kind]) => {
    const list = await client.request<{ items?: Obj[] }>('GET', path);
    (snap[slot] as object[]).push(...(list?.items ?? []).map((o) => ({ ...o, apiVersion, kind })));
  }));
  return snap;
}
