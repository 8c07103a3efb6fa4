// A Corefile translated into splitdns manifests: `hosts` (inline and hosts files) → StaticHost,
// `forward` (+ the block's `cache`) → DNSForwarder, `file` → DNSZone. Every other plugin is
// reported with its line: built in (splitdns does it without configuration), or untranslated
// (with what to do instead). Reading files named in the Corefile goes through `readFile` so
// tests and the CLI resolve them against the Corefile's directory.

import { isIP } from 'node:net';
import { parseCorefile } from './corefile-parse.js';
import type { Directive, ServerBlock } from './corefile-parse.js';
import { importZoneFile, objectName } from './zonefile.js';
import type { ImportProblem, Manifest } from './zonefile.js';

export interface CorefileImportOptions {
  /** Shown in problems ("Corefile:12"). */
  file: string;
  /** Reads a file the Corefile names (hosts files, zone files, CA bundles); throws when it cannot. */
  readFile: (path: string) => string;
  /** Namespace of the StaticHosts (the operator's own may claim any name; default splitdns). */
  namespace?: string;
  /** The cluster domain: `kubernetes` serves it, and hosts names inside it cannot be StaticHosts (default cluster.local). */
  clusterDomain?: string;
}

export interface CorefileImport { manifests: Manifest[]; problems: ImportProblem[] }

/** Plugins splitdns has built in, and what stands in for each. */
const BUILTIN: Record<string, string> = {
  kubernetes: 'built in: the operator serves the cluster domain\'s Services and EndpointSlices (--cluster-domain); pod records (`pods insecure`) are not served',
  prometheus: 'built in: /metrics on the DNS server\'s --http-port (8080); add --metrics-compat=coredns for the coredns_* names',
  errors: 'built in: errors are logged (JSON, pino)',
  health: 'built in: /healthz on --http-port; the lame duck is --lame-duck-ms',
  ready: 'built in: /readyz on --http-port',
  reload: 'built in: configuration changes are hot-reloaded shard by shard',
  loop: 'built in: the default upstream probes resolv.conf nameservers for loops (and skips one that loops)',
  loadbalance: 'built in: answers with several addresses are rotated',
  cancel: 'built in: each forwarded query has a deadline (DNSForwarder spec.deadline)',
  bind: 'not a manifest: the DNS server\'s --address flag',
  debug: 'not needed: no panics to recover from',
  whoami: 'not translated: no equivalent',
  log: 'not translated: splitdns writes no per-query log; use the metrics',
  rewrite: 'not translated: splitdns does not rewrite names; publish the name you want (DNSZone record, StaticHost, CNAME)',
  template: 'not translated: no templated answers; use DNSZone records (wildcards are supported)',
  acl: 'not translated: no per-client ACLs; restrict with NetworkPolicy',
  dnssec: 'not translated: splitdns does not sign zones',
  autopath: 'not translated: clients search their own search path',
  k8s_external: 'not translated: publish Services with DNSZone spec.services',
  etcd: 'not translated', route53: 'not translated', clouddns: 'not translated', azure: 'not translated',
  trace: 'not translated', dnstap: 'not translated', any: 'not translated: ANY is answered from local data as usual', chaos: 'not translated: no CH class',
  nsid: 'not translated', local: 'built in: localhost and reverse loopback are answered by the resolver library of the client', secondary: 'not translated: no zone transfers', transfer: 'not translated: no zone transfers',
};
const BUILTIN_KINDS = new Set(['kubernetes', 'prometheus', 'errors', 'health', 'ready', 'reload', 'loop', 'loadbalance', 'cancel', 'local']);

interface BlockZone { zone: string; port: number }

function blockZones(b: ServerBlock): BlockZone[] {
  return b.keys.map((k) => {
    const m = /^(?:[a-z]+:\/\/)?(.*?)(?::(\d+))?$/.exec(k.toLowerCase())!;
    const zone = m[1] === '' || m[1] === '.' ? '.' : m[1].replace(/\.$/, '');
    return { zone, port: m[2] ? Number(m[2]) : 53 };
  });
}

const POLICY: Record<string, string> = { random: 'random', round_robin: 'roundRobin', sequential: 'sequential' };

/** "5s", "500ms", "1m" as CoreDNS writes durations → a DNSForwarder duration string, or undefined. */
function duration(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)(ms|s|m|h)$/.exec(s);
  if (!m) return undefined;
  return m[2] === 'h' ? `${Number(m[1]) * 60}m` : s;
}
function seconds(s: string | undefined): number | undefined {
  const d = duration(s);
  if (d === undefined) return undefined;
  const m = /^(\d+)(ms|s|m)$/.exec(d)!;
  return m[2] === 'ms' ? Math.ceil(Number(m[1]) / 1000) : m[2] === 's' ? Number(m[1]) : Number(m[1]) * 60;
}

export function importCorefile(text: string, opts: CorefileImportOptions): CorefileImport {
  const file = opts.file;
  const namespace = opts.namespace ?? 'splitdns';
  const clusterDomain = (opts.clusterDomain ?? 'cluster.local').toLowerCase();
  const problems: ImportProblem[] = [];
  const manifests: Manifest[] = [];
  const problem = (d: Directive | { line: number; name: string }, kind: ImportProblem['kind'], message: string) => problems.push({ file, line: d.line, what: d.name, kind, message });
  const names = new Set<string>();
  const unique = (kind: string, base: string) => { let n = base; for (let i = 2; names.has(`${kind}/${n}`); i++) n = `${base}-${i}`; names.add(`${kind}/${n}`); return n; };
  const hosts = new Map<string, { addresses: string[]; ttl: number; ptr: boolean; line: number }>(); // hostname → entry

  for (const b of parseCorefile(text)) {
    if (b.keys.length === 1 && /^\(.*\)$/.test(b.keys[0])) {
      problem({ line: b.line, name: `snippet ${b.keys[0]}` }, 'untranslated', `a snippet (${b.directives.map((d) => d.name).join(', ')}) is only imported where \`import\` names it: inline it there and import again`);
      continue;
    }
    const zones = blockZones(b);
    for (const z of zones) if (z.port !== 53) problem({ line: b.line, name: 'server block' }, 'partial', `port ${z.port}: splitdns serves every zone on the DNS server's one --port`);
    const cache = b.directives.find((d) => d.name === 'cache');
    const forwardersBefore = manifests.filter((m) => m.kind === 'DNSForwarder').length;
    for (const d of b.directives) {
      switch (d.name) {
        case 'hosts': readHosts(d); break;
        case 'forward': readForward(d, zones, cache); break;
        case 'cache': break; // read with the block's forward; reported below when no DNSForwarder took it
        case 'file': readFileZone(d, zones); break;
        case 'kubernetes':
          if (!d.args.some((a) => a.replace(/\.$/, '').toLowerCase() === clusterDomain)) problem(d, 'partial', `${BUILTIN.kubernetes}; zones ${d.args.join(' ')} do not include the cluster domain ${clusterDomain} (set --cluster-domain)`);
          else problem(d, 'builtin', BUILTIN.kubernetes);
          break;
        case 'import': problem(d, 'untranslated', 'import of snippets or files is not followed: inline them and import again'); break;
        default: {
          const why = BUILTIN[d.name];
          problem(d, why && BUILTIN_KINDS.has(d.name) ? 'builtin' : 'untranslated', why ?? `plugin ${d.name} has no splitdns equivalent`);
        }
      }
    }
    if (cache && manifests.filter((m) => m.kind === 'DNSForwarder').length === forwardersBefore) {
      if (b.directives.some((x) => x.name === 'forward')) problem(cache, 'partial', `${cache.name} ${cache.args.join(' ')}`.trim() + ': the default upstream caches with the DNSForwarder defaults (maxTTL 3600, maxNegativeTTL 300); to keep these settings write a DNSForwarder for "." with the nameservers\' addresses');
      else problem(cache, 'builtin', 'cache without forward: local answers need no cache; the cache belongs to each DNSForwarder');
    }
  }

  // hosts entries: one StaticHost per set of names sharing the same addresses, TTL and PTR choice.
  const groups = new Map<string, { hostnames: string[]; addresses: string[]; ttl: number; ptr: boolean }>();
  for (const [name, e] of [...hosts].sort((a, b) => a[1].line - b[1].line)) {
    const key = `${e.addresses.join(',')}|${e.ttl}|${e.ptr}`;
    const g = groups.get(key);
    if (g) g.hostnames.push(name); else groups.set(key, { hostnames: [name], addresses: e.addresses, ttl: e.ttl, ptr: e.ptr });
  }
  for (const g of groups.values()) {
    for (let i = 0; i < g.hostnames.length; i += 64) { // StaticHost: at most 64 hostnames
      const hostnames = g.hostnames.slice(i, i + 64);
      manifests.push({
        apiVersion: 'splitdns.io/v1alpha1', kind: 'StaticHost', metadata: { name: unique('StaticHost', objectName(hostnames[0])), namespace },
        spec: { hostnames, addresses: g.addresses.slice(0, 64), ttl: g.ttl, ptr: g.ptr },
      });
    }
  }
  // The report in reading order: the Corefile's lines first, then each file it names.
  const fileRank = (f: string) => (f === file ? 0 : 1);
  problems.sort((a, b) => fileRank(a.file) - fileRank(b.file) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line);
  return { manifests, problems };

  function readHosts(d: Directive): void {
    let ttl = 3600; // CoreDNS hosts default
    let ptr = true;
    const entries: { ip: string; names: string[]; file: string; line: number }[] = [];
    // hosts [FILE [ZONES...]]: FILE defaults to /etc/hosts, the CoreDNS container's own (localhost, its
    // own name): that one is not read from this machine.
    const path = d.args[0];
    if (path === undefined) problem(d, 'builtin', 'no FILE: CoreDNS also read its container\'s /etc/hosts (localhost names): not imported');
    if (d.args.length > 1) problem(d, 'partial', `zones ${d.args.slice(1).join(' ')}: StaticHost names are served whatever zone they are in`);
    for (const o of d.block) {
      if (isIP(o.name)) { entries.push({ ip: o.name, names: o.args, file, line: o.line }); continue; }
      switch (o.name) {
        case 'ttl': ttl = Number(o.args[0]); if (!Number.isInteger(ttl) || ttl < 0) { problem(o, 'untranslated', `bad ttl ${o.args[0]}`); ttl = 3600; } break;
        case 'no_reverse': ptr = false; break;
        case 'reload': problem({ line: o.line, name: 'hosts reload' }, 'builtin', 'StaticHosts are watched: a change is served at once'); break;
        case 'fallthrough': problem({ line: o.line, name: 'hosts fallthrough' }, 'builtin', 'names not in a StaticHost fall through to zones and forwarders'); break;
        default: problem({ line: o.line, name: `hosts ${o.name}` }, 'untranslated', `unknown hosts option ${o.name}`);
      }
    }
    if (path !== undefined) {
      let text: string | undefined;
      try { text = opts.readFile(path); } catch (err) { problem(d, 'untranslated', `cannot read hosts file ${path}: ${(err as Error).message}`); }
      if (text !== undefined) {
        text.split('\n').forEach((raw, i) => {
          const w = raw.replace(/#.*$/, '').trim().split(/\s+/).filter(Boolean);
          if (w.length >= 2 && isIP(w[0])) entries.push({ ip: w[0], names: w.slice(1), file: path, line: i + 1 });
          else if (w.length) problems.push({ file: path, line: i + 1, what: 'hosts', kind: 'untranslated', message: `not a hosts line: ${raw.trim()}` });
        });
      }
    }
    for (const e of entries) {
      for (const raw of e.names) {
        const name = raw.toLowerCase().replace(/\.$/, '');
        const note = (kind: ImportProblem['kind'], message: string) => problems.push({ file: e.file, line: e.line, what: 'hosts', kind, message });
        if (name === 'localhost' || name.endsWith('.localhost') || /^(ip6-|localhost)/.test(name)) { note('builtin', `${name}: localhost names are answered by the client's own resolver`); continue; }
        if (name === clusterDomain || name.endsWith('.' + clusterDomain)) { note('untranslated', `${name} is inside the cluster domain: publish a Service instead`); continue; }
        const cur = hosts.get(name);
        if (cur) { if (!cur.addresses.includes(e.ip)) cur.addresses.push(e.ip); }
        else hosts.set(name, { addresses: [e.ip], ttl, ptr, line: e.line });
      }
    }
  }

  function readForward(d: Directive, zones: BlockZone[], cache: Directive | undefined): void {
    const from = (d.args[0] ?? '.').replace(/\.$/, '') || '.';
    const tos = d.args.slice(1);
    if (tos.length === 0) { problem(d, 'untranslated', 'forward without an upstream'); return; }
    const domains = from === '.' ? zones.map((z) => z.zone) : [from];
    if (tos.some((t) => t.startsWith('/'))) {
      if (tos.length === 1 && tos[0] === '/etc/resolv.conf' && domains.length === 1 && domains[0] === '.') {
        problem(d, 'builtin', 'forward . /etc/resolv.conf is the DNS server\'s default upstream (--no-default-upstream turns it off): no manifest needed');
        if (d.block.length) problem(d, 'partial', `options ${d.block.map((o) => o.name).join(', ')}: the default upstream uses the DNSForwarder defaults; for other settings write a DNSForwarder for "." with the nameservers' addresses`);
      } else problem(d, 'untranslated', `upstreams from a resolv.conf file (${tos.filter((t) => t.startsWith('/')).join(' ')}) are only read for "." by the default upstream: list the addresses instead`);
      return;
    }
    const upstreams: Record<string, unknown>[] = [];
    for (const t of tos) {
      const m = /^(?:(dns|tls):\/\/)?(\[[^\]]+\]|[^:/]+|[0-9a-f:]+)(?::(\d+))?$/i.exec(t);
      const addr = m?.[2].replace(/^\[|\]$/g, '');
      if (!m || addr === undefined || isIP(addr) === 0) { problem(d, 'untranslated', `upstream ${t}: not an IP address (with an optional dns:// or tls:// and :port)`); continue; }
      const tls = m[1]?.toLowerCase() === 'tls';
      upstreams.push({ address: addr, port: m[3] ? Number(m[3]) : tls ? 853 : 53, protocol: tls ? 'tls' : 'udp' });
    }
    if (upstreams.length === 0) return;
    const spec: Record<string, unknown> = { domains };
    const hc: Record<string, unknown> = {};
    for (const o of d.block) {
      const opt = { line: o.line, name: `forward ${o.name}` };
      switch (o.name) {
        case 'policy': if (POLICY[o.args[0]]) spec.policy = POLICY[o.args[0]]; else problem(opt, 'untranslated', `unknown policy ${o.args[0]}`); break;
        case 'tls_servername': for (const u of upstreams) if (u.protocol === 'tls') u.serverName = o.args[0]; break;
        case 'tls': {
          if (o.args.length >= 3 || o.args.length === 1) {
            const ca = o.args[o.args.length - 1];
            try { const pem = opts.readFile(ca); for (const u of upstreams) if (u.protocol === 'tls') u.caBundle = pem; } catch (err) { problem(opt, 'untranslated', `cannot read CA ${ca}: ${(err as Error).message}`); }
          }
          if (o.args.length >= 2) problem(opt, 'partial', 'client certificates (tls CERT KEY) are not supported: the upstream is verified, we present none');
          break;
        }
        case 'health_check': {
          const iv = duration(o.args[0]);
          if (iv === undefined) problem(opt, 'untranslated', `bad duration ${o.args[0]}`); else hc.interval = iv;
          const di = o.args.indexOf('domain');
          if (di >= 0 && o.args[di + 1]) hc.name = o.args[di + 1];
          if (o.args.includes('no_rec')) problem(opt, 'partial', 'no_rec: health checks always ask with RD set');
          break;
        }
        case 'max_fails': { const n = Number(o.args[0]); if (n === 0) hc.enabled = false; else if (Number.isInteger(n) && n > 0 && n <= 100) hc.failures = n; else problem(opt, 'untranslated', `bad max_fails ${o.args[0]}`); break; }
        case 'max_concurrent': { const n = Number(o.args[0]); if (Number.isInteger(n) && n >= 1) spec.maxConcurrent = n; else problem(opt, 'untranslated', `bad max_concurrent ${o.args[0]}`); break; }
        case 'force_tcp': for (const u of upstreams) if (u.protocol === 'udp') u.protocol = 'tcp'; break;
        case 'prefer_udp': problem(opt, 'builtin', 'udp upstreams are asked over UDP and retried over TCP when truncated'); break;
        case 'expire': problem(opt, 'builtin', 'connections are pooled and reopened as needed: no expiry to set'); break;
        case 'except': problem(opt, 'untranslated', `except ${o.args.join(' ')}: serve those names locally (a DNSZone or StaticHost wins over any forwarder) or give them their own DNSForwarder`); break;
        case 'next': problem(opt, 'untranslated', 'next: no plugin chain to continue to'); break;
        case 'failfast_all_unhealthy_upstreams': spec.failFast = true; break;
        default: problem(opt, 'untranslated', `unknown forward option ${o.name}`);
      }
    }
    if (Object.keys(hc).length) spec.healthCheck = hc;
    spec.upstreams = upstreams;
    spec.cache = cache ? readCache(cache) : { enabled: false };
    if (!cache) problem(d, 'partial', 'no cache in this server block: the DNSForwarder gets cache.enabled: false (splitdns caches by default)');
    manifests.push({ apiVersion: 'splitdns.io/v1alpha1', kind: 'DNSForwarder', metadata: { name: unique('DNSForwarder', `forward-${from === '.' ? (domains[0] === '.' ? 'root' : objectName(domains[0])) : objectName(from)}`) }, spec });
  }

  function readCache(d: Directive): Record<string, unknown> {
    const c: Record<string, unknown> = { minTTL: 5 }; // CoreDNS's default MINTTL
    const ttl = d.args[0] !== undefined && /^\d+$/.test(d.args[0]) ? Number(d.args[0]) : undefined;
    if (ttl !== undefined) { c.maxTTL = ttl; c.maxNegativeTTL = Math.min(ttl, 1800); } else { c.maxTTL = 3600; c.maxNegativeTTL = 1800; }
    if (d.args.length > (ttl !== undefined ? 1 : 0)) problem(d, 'partial', `cache zones ${d.args.slice(ttl !== undefined ? 1 : 0).join(' ')}: the cache applies to the block's DNSForwarders`);
    for (const o of d.block) {
      const opt = { line: o.line, name: `cache ${o.name}` };
      switch (o.name) {
        case 'success': case 'denial': {
          const cap = Number(o.args[0]);
          if (o.name === 'success' && Number.isInteger(cap)) c.maxEntries = cap;
          if (o.name === 'denial') problem(opt, 'partial', 'one cache size for both answers and denials: the success capacity is used');
          if (o.args[1] !== undefined) c[o.name === 'success' ? 'maxTTL' : 'maxNegativeTTL'] = Number(o.args[1]);
          if (o.args[2] !== undefined && o.name === 'success') c.minTTL = Number(o.args[2]);
          break;
        }
        case 'prefetch': {
          const pf: Record<string, unknown> = { enabled: true, minHits: Number(o.args[0] ?? 2) };
          const pct = o.args.find((a) => a.endsWith('%'));
          if (pct) pf.percent = Number(pct.slice(0, -1));
          if (o.args.some((a) => duration(a) !== undefined)) problem(opt, 'partial', 'prefetch DURATION: popularity counts hits over the entry\'s life, not within a window');
          c.prefetch = pf;
          break;
        }
        case 'serve_stale': { const s = seconds(o.args[0]); c.serveStale = { enabled: true, ...(s !== undefined ? { maxStale: s } : {}) }; if (o.args[1]) problem(opt, 'partial', `serve_stale ${o.args[1]}: stale answers are served only when every upstream fails`); break; }
        case 'servfail': { const s = seconds(o.args[0]); if (s !== undefined) c.servfailTTL = Math.min(s, 300); break; }
        case 'keepttl': problem(opt, 'untranslated', 'keepttl: cached answers count their TTL down'); break;
        case 'disable': problem(opt, 'untranslated', 'disable: the cache is per forwarder, on or off'); break;
        default: problem(opt, 'untranslated', `unknown cache option ${o.name}`);
      }
    }
    return c;
  }

  function readFileZone(d: Directive, zones: BlockZone[]): void {
    const path = d.args[0];
    if (!path) { problem(d, 'untranslated', 'file without a zone file'); return; }
    const origins = d.args.length > 1 ? d.args.slice(1).map((z) => z.replace(/\.$/, '')) : zones.map((z) => z.zone);
    let text: string;
    try { text = opts.readFile(path); } catch (err) { problem(d, 'untranslated', `cannot read zone file ${path}: ${(err as Error).message}`); return; }
    for (const o of d.block) problem({ line: o.line, name: `file ${o.name}` }, o.name === 'reload' ? 'builtin' : 'untranslated', o.name === 'reload' ? 'a DNSZone change is served at once' : `option ${o.name} is not supported`);
    for (const origin of origins) {
      if (origin === '.') { problem(d, 'untranslated', 'a zone file for the root zone'); continue; }
      const z = importZoneFile(text, origin, path);
      z.manifest.metadata.name = unique('DNSZone', z.manifest.metadata.name);
      manifests.push(z.manifest);
      problems.push(...z.problems);
    }
  }
}
