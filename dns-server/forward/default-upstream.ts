// The default upstream: CoreDNS's `forward . /etc/resolv.conf`. When no DNSForwarder covers
// ".", names no local data serves go to the nameservers of the DNS server pod's resolv.conf
// instead of being REFUSED. It wraps the forwarder (a Fallback) and adds, at reload time, one
// more forwarder for "." to the forwarders shard; a DNSForwarder for "." always wins.
//
// Never forward to ourselves. Like CoreDNS's `loop` plugin we send a probe, HINFO for a random
// name `<n>.<n>.`, and watch for it coming back. CoreDNS sends it to itself and halts the
// process when it sees it more than twice; we send one to each resolv.conf nameserver directly
// and, on the first sighting, know which nameserver sends our questions back to us: we answer
// the probe NXDOMAIN at once (so the loop does not spin), log an error, show it in /status and
// stop forwarding to that nameserver. The others keep serving. Like CoreDNS, a probe is retried
// (every 2 s, for up to 30 s by default) until the nameserver answers, so a server still starting
// up is not taken for a healthy one; a nameserver that never answers is kept, marked unverified.

import dgram from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import { CONFIG_API_VERSION } from '../config/types.js';
import type { Forwarder, ForwardersShard } from '../config/types.js';
import type { Fallback, FallbackQuery } from '../fallback.js';
import { RCODE } from '../wire/constants.js';
import { keyToName, nameToKey } from '../wire/name.js';
import { errorFromQuery } from '../wire/response.js';
import { parseResolvConf } from './resolv-conf.js';

/** The forwarder's name: not a valid Kubernetes object name, so no DNSForwarder can share it. */
export const DEFAULT_UPSTREAM_NAME = '_resolv.conf';

export interface DefaultUpstreamOptions {
  logger: Logger;
  /** Path of the resolv.conf to read, once, at start (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Port of every nameserver (resolv.conf has no port syntax; default 53; tests use another). */
  port?: number;
  /** Probe timing: per-attempt timeout, pause between attempts, attempts (default 2000, 2000, 15 = 30 s). */
  probe?: { timeoutMs?: number; intervalMs?: number; attempts?: number };
}

export type UpstreamVerdict = 'probing' | 'ok' | 'loop' | 'unverified';

interface Nameserver { address: string; verdict: UpstreamVerdict; detail: string | null }

export interface DefaultUpstreamFallback extends Fallback {
  /** Probes every nameserver for a loop; resolves when each has a verdict. Call once the server answers queries. */
  probe(): Promise<void>;
}

/** The same settings a DNSForwarder for "." gets from the CRD defaults (operator/compile/parse-crs.ts FORWARDER_DEFAULTS). */
export function defaultUpstreamForwarder(addresses: string[], port: number): Forwarder {
  return {
    name: DEFAULT_UPSTREAM_NAME, domains: ['.'],
    upstreams: addresses.map((address) => ({ address, port, protocol: 'udp' as const })),
    policy: 'random', timeoutMs: 2000, deadlineMs: 5000, failFast: false, maxConcurrent: 1000,
    healthCheck: { enabled: true, intervalMs: 5000, failures: 3, name: '.' },
    cache: {
      enabled: true, maxEntries: 10000, minTtl: 0, maxTtl: 3600, maxNegativeTtl: 300, servfailTtl: 5,
      prefetch: { enabled: false, minHits: 3, percent: 10 },
      serveStale: { enabled: false, maxStale: 86400, ttl: 30 },
    },
  };
}

export function withDefaultUpstream(inner: Fallback, opts: DefaultUpstreamOptions): DefaultUpstreamFallback {
  const log = opts.logger.child({ component: 'default-upstream' });
  const path = opts.resolvConf ?? '/etc/resolv.conf';
  const port = opts.port ?? 53;
  const timing = { timeoutMs: 2000, intervalMs: 2000, attempts: 15, ...opts.probe };
  let readError: string | null = null;
  let nameservers: Nameserver[] = [];
  try {
    const parsed = parseResolvConf(readFileSync(path, 'utf8'));
    nameservers = parsed.nameservers.map((address) => ({ address, verdict: 'probing', detail: null }));
    for (const s of parsed.skipped) log.warn({ resolvConf: path, skipped: s }, 'resolv.conf line skipped');
    if (nameservers.length === 0) readError = 'no usable nameserver line';
  } catch (err) {
    readError = (err as Error).message;
  }
  if (readError !== null) log.error({ resolvConf: path, problem: readError }, 'no default upstream: names no DNSForwarder covers are REFUSED');
  else log.info({ resolvConf: path, nameservers: nameservers.map((n) => n.address), port }, 'default upstream from resolv.conf');

  const probes = new Map<string, Nameserver>(); // probe name key → the nameserver it was sent to
  let shard: ForwardersShard | undefined;
  let covered = false;
  let closed = false;

  const push = () => {
    const list = shard?.forwarders ?? [];
    covered = list.some((f) => f.domains.includes('.'));
    const usable = nameservers.filter((n) => n.verdict !== 'loop').map((n) => n.address);
    if (covered || usable.length === 0) { inner.applyForwarders(shard); return; }
    const base = shard ?? { apiVersion: CONFIG_API_VERSION, kind: 'forwarders' as const, id: 'forwarders', hash: '', reverse: [] };
    inner.applyForwarders({ ...base, forwarders: [...list, defaultUpstreamForwarder(usable, port)] });
  };
  push(); // from the start: a configuration without a forwarders shard never calls applyForwarders

  const loopFound = (ns: Nameserver, name: string) => {
    if (ns.verdict === 'loop') return;
    ns.verdict = 'loop';
    ns.detail = `our probe ${name} HINFO came back to us: ${ns.address}:${port} forwards to this server`;
    log.error({ resolvConf: path, upstream: `${ns.address}:${port}`, probe: name }, 'forwarding loop detected: not forwarding to this resolv.conf nameserver');
    if (nameservers.every((n) => n.verdict === 'loop')) log.error({ resolvConf: path }, 'every resolv.conf nameserver loops back to us: names no DNSForwarder covers are REFUSED');
    push();
  };

  const probeOne = async (ns: Nameserver) => {
    for (let attempt = 1; attempt <= timing.attempts && !closed; attempt++) {
      const name = `${randomInt(2 ** 47)}.${randomInt(2 ** 47)}.`;
      probes.set(nameToKey(name), ns);
      const rcode = await sendProbe(ns.address, port, name, timing.timeoutMs);
      if (ns.verdict === 'loop') return;
      if (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) {
        ns.verdict = 'ok';
        ns.detail = null;
        log.info({ upstream: `${ns.address}:${port}` }, 'resolv.conf nameserver answered our loop probe: no loop');
        return;
      }
      ns.detail = rcode === null ? 'no answer to the loop probe' : `loop probe answered rcode ${rcode}`;
      if (attempt < timing.attempts) await new Promise((r) => setTimeout(r, timing.intervalMs).unref());
    }
    if (ns.verdict === 'probing' && !closed) {
      ns.verdict = 'unverified';
      log.warn({ upstream: `${ns.address}:${port}`, problem: ns.detail }, 'resolv.conf nameserver never answered the loop probe; still used');
    }
  };

  return {
    resolve(q: FallbackQuery) {
      if (probes.size !== 0) {
        const ns = probes.get(q.key);
        if (ns !== undefined) {
          loopFound(ns, keyToName(q.key));
          return errorFromQuery(q, RCODE.NXDOMAIN);
        }
      }
      return inner.resolve(q);
    },
    applyForwarders(next) { shard = next; push(); },
    status() {
      const s = inner.status();
      return {
        ...(typeof s === 'object' && s !== null ? s : { forwarder: s }),
        defaultUpstream: {
          resolvConf: path, port, error: readError,
          active: !covered && nameservers.some((n) => n.verdict !== 'loop'),
          coveredByDNSForwarder: covered,
          nameservers: nameservers.map((n) => ({ address: n.address, verdict: n.verdict, detail: n.detail })),
        },
      };
    },
    async probe() { await Promise.all(nameservers.map(probeOne)); },
    async close() { closed = true; await inner.close(); },
  };
}

/** One HINFO query for `name` over UDP; resolves to the answer's rcode, or null on timeout. */
function sendProbe(address: string, port: number, name: string, timeoutMs: number): Promise<number | null> {
  const id = randomBytes(2).readUInt16BE(0);
  const labels = name.split('.').filter(Boolean);
  const q = Buffer.concat([
    Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), // RD, one question
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])),
    Buffer.from([0, 0, 13, 0, 1]), // root, HINFO (13), IN
  ]);
  return new Promise((resolveProbe) => {
    const sock = dgram.createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (r: number | null) => { if (done) return; done = true; clearTimeout(timer); sock.close(); resolveProbe(r); };
    const timer = setTimeout(() => finish(null), timeoutMs);
    timer.unref();
    sock.on('error', () => finish(null));
    sock.on('message', (m, rinfo) => {
      if (m.length < 12 || m.readUInt16BE(0) !== id || (m[2] & 0x80) === 0 || rinfo.port !== port) return;
      finish(m[3] & 0x0f);
    });
    sock.send(q, port, address, (err) => { if (err) finish(null); });
  });
}
