// One DNSForwarder at run time: its upstreams and their health, its policy, its cache, the
// questions in flight. A reload that changes the forwarder replaces this object (and so its
// cache); an unchanged one survives a reload untouched.

import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Forwarder, Upstream } from '../config/types.js';
import type { FallbackQuery } from '../fallback.js';
import { ResponseCache } from '../cache/response-cache.js';
import { RCODE, TYPE } from '../wire/constants.js';
import { nameToKey } from '../wire/name.js';
import { errorFromQuery } from '../wire/response.js';
import type { ReplyContext } from '../wire/response.js';
import type { ForwardMetrics } from './metrics.js';
import { StreamConn, UdpPool } from './transports.js';
import type { ExchangeResult } from './transports.js';
import { buildUpstreamQuery, scanResponse, shapeForClient } from './wire.js';
import type { ScannedResponse } from './wire.js';

/** Our EDNS payload size towards upstreams. */
const UPSTREAM_UDP_SIZE = 1232;

export interface UpstreamState {
  readonly cfg: Upstream;
  readonly label: string;
  up: boolean;
  consecutiveFailures: number;
  lastCheck: string | undefined;
  /** TCP or TLS connection (tcp/tls upstreams), or the TCP retry path of a udp upstream. */
  stream: StreamConn | undefined;
  /** udp upstreams: the socket pool. */
  udp: UdpPool | undefined;
}


interface Question { key: string; qtype: number; qclass: number; dnssecOk: boolean }

export class ForwarderRuntime {
  readonly cache: ResponseCache;
  readonly upstreams: UpstreamState[];
  private rr = 0;
  private inflightCount = 0;
  private readonly inflight = new Map<string, Promise<ScannedResponse | null>>();
  private healthTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private retiring = false;
  private onClosed: () => void = () => undefined;

  constructor(
    readonly cfg: Forwarder,
    private readonly metrics: ForwardMetrics,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.cache = new ResponseCache(cfg.cache, now);
    this.upstreams = cfg.upstreams.map((u) => ({
      cfg: u, label: `${u.protocol}://${u.address.includes(':') ? `[${u.address}]` : u.address}:${u.port}`,
      up: true, consecutiveFailures: 0, lastCheck: undefined, stream: undefined,
      udp: u.protocol === 'udp' ? new UdpPool(u.address, u.port, { spoofed: () => { this.metrics.spoofed++; } }) : undefined,
    }));
    if (cfg.healthCheck.enabled) {
      void this.checkAll(); // from start-up, not only after a failure
      this.healthTimer = setInterval(() => void this.checkAll(), cfg.healthCheck.intervalMs);
      this.healthTimer.unref();
    }
  }

  /** Answers a client query: from the cache, by joining an identical question in flight, or upstream. */
  resolve(q: FallbackQuery): Buffer | Promise<Buffer> {
    // Name, type, class and DO bit: every cache and coalescing key (a CLASS ANY answer must never serve IN).
    const cacheKey = q.key + '|' + q.qtype + '|' + q.qclass + (q.dnssecOk ? '|do' : '');
    if (this.cfg.cache.enabled) {
      const hit = this.cache.lookup(cacheKey);
      if (hit.kind === 'hit') {
        if (hit.prefetch) this.prefetch(cacheKey, q);
        return shapeForClient(hit.entry, q, hit.age, -1, hit.entry.ttl);
      }
    }
    let flight = this.inflight.get(cacheKey);
    if (flight !== undefined) {
      this.metrics.coalesced.inc({ forwarder: this.cfg.name }, this.cfg.name);
    } else {
      if (this.inflightCount >= this.cfg.maxConcurrent) {
        this.metrics.overload.inc({ forwarder: this.cfg.name }, this.cfg.name);
        return errorFromQuery(q, RCODE.REFUSED);
      }
      flight = this.ask({ key: q.key, qtype: q.qtype, qclass: q.qclass, dnssecOk: q.dnssecOk }, cacheKey);
    }
    // The client's bytes are valid only until we settle: keep what shaping needs.
    const ctx: ReplyContext = { msg: Buffer.from(q.msg.subarray(0, q.qend)), qend: q.qend, optSize: q.optSize, dnssecOk: q.dnssecOk, maxSize: q.maxSize };
    return flight.then((r) => {
      if (r !== null) return shapeForClient(r, ctx);
      const stale = this.cache.stale(cacheKey);
      if (stale) return shapeForClient(stale, ctx, 0, this.cfg.cache.serveStale.ttl);
      this.metrics.servfail.inc({ forwarder: this.cfg.name }, this.cfg.name);
      return errorFromQuery(ctx, RCODE.SERVFAIL);
    });
  }

  private ask(q: Question, cacheKey: string): Promise<ScannedResponse | null> {
    this.inflightCount++;
    const done = (r: ScannedResponse | null) => {
      this.inflightCount--;
      this.inflight.delete(cacheKey);
      if (r !== null && this.cfg.cache.enabled) this.cache.store(cacheKey, r);
      if (this.retiring && this.inflightCount === 0 && !this.closed) this.close();
      return r;
    };
    const p = this.upstreamQuery(q).then(done, () => done(null));
    this.inflight.set(cacheKey, p);
    return p;
  }

  private prefetch(cacheKey: string, q: FallbackQuery): void {
    if (this.inflight.has(cacheKey) || this.inflightCount >= this.cfg.maxConcurrent) return;
    this.metrics.prefetches.inc({ forwarder: this.cfg.name }, this.cfg.name);
    void this.ask({ key: q.key, qtype: q.qtype, qclass: q.qclass, dnssecOk: q.dnssecOk }, cacheKey);
  }

  /** The upstreams to try, in order: the policy's order, healthy ones first. */
  order(): UpstreamState[] {
    const n = this.upstreams.length;
    if (n === 1) return this.upstreams;
    let list: UpstreamState[];
    switch (this.cfg.policy) {
      case 'sequential': list = [...this.upstreams]; break;
      case 'roundRobin': { const start = this.rr++ % n; list = this.upstreams.map((_, i) => this.upstreams[(start + i) % n]); break; }
      case 'random': {
        list = [...this.upstreams];
        for (let i = n - 1; i > 0; i--) { const j = randomInt(i + 1); [list[i], list[j]] = [list[j], list[i]]; }
        break;
      }
    }
    if (list.every((u) => u.up)) return list;
    return [...list.filter((u) => u.up), ...list.filter((u) => !u.up)];
  }

  private async upstreamQuery(q: Question): Promise<ScannedResponse | null> {
    const deadline = performance.now() + this.cfg.deadlineMs; // real time; this.now is the cache's clock
    let order = this.order();
    if (!order[0].up) {
      if (this.cfg.failFast) return null; // all down (order() puts healthy ones first)
    } else if (!order[order.length - 1].up) order = order.filter((u) => u.up);
    let lastAnswer: ScannedResponse | null = null;
    for (const u of order) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || this.closed) break;
      const started = performance.now();
      const r = await this.exchange(u, q, Math.min(this.cfg.timeoutMs, remaining));
      if (!r.ok) {
        this.count(u, r.reason);
        this.failed(u);
        continue;
      }
      const scanned = scanResponse(r.resp);
      if (scanned === undefined) { this.failed(u); continue; }
      this.count(u, rcodeName(scanned.rcode));
      this.metrics.latency.observe({ forwarder: this.cfg.name, upstream: u.label }, (performance.now() - started) / 1000);
      this.succeeded(u);
      lastAnswer = scanned;
      // SERVFAIL and REFUSED from one upstream: another may do better.
      if (scanned.rcode !== RCODE.SERVFAIL && scanned.rcode !== RCODE.REFUSED) return scanned;
    }
    return lastAnswer;
  }

  private readonly countKeys = new Map<string, string>();
  private count(u: UpstreamState, outcome: string): void {
    const id = u.label + '|' + outcome;
    let key = this.countKeys.get(id);
    if (key === undefined) this.countKeys.set(id, (key = `${this.cfg.name}|${id}`));
    this.metrics.requests.inc({ forwarder: this.cfg.name, upstream: u.label, rcode: outcome }, key);
  }

  /** One attempt at one upstream; a UDP answer with TC=1 is asked again over TCP. */
  private async exchange(u: UpstreamState, q: Question, timeoutMs: number): Promise<ExchangeResult> {
    const build = (id: number) => buildUpstreamQuery(id, q.key, q.qtype, q.qclass, UPSTREAM_UDP_SIZE, q.dnssecOk);
    const c = u.cfg;
    if (c.protocol !== 'udp') return this.stream(u).exchange(build, timeoutMs);
    const t0 = performance.now();
    const r = await u.udp!.exchange(build, timeoutMs);
    if (!r.ok || (r.resp[2] & 0x02) === 0) return r;
    const left = timeoutMs - (performance.now() - t0);
    return this.stream(u).exchange(build, Math.max(left, 1)); // RFC 7766 §5: truncated over UDP → TCP
  }

  private stream(u: UpstreamState): StreamConn {
    if (u.stream === undefined) {
      const c = u.cfg;
      const drops = { spoofed: () => { this.metrics.spoofed++; } };
      u.stream = new StreamConn({ address: c.address, port: c.port, tls: c.protocol === 'tls' ? { serverName: c.serverName ?? c.address, ca: c.caBundle } : undefined }, drops);
    }
    return u.stream;
  }

  private failed(u: UpstreamState): void {
    u.consecutiveFailures++;
    if (u.up && u.consecutiveFailures >= this.cfg.healthCheck.failures) {
      u.up = false;
      this.log.warn({ forwarder: this.cfg.name, upstream: u.label, failures: u.consecutiveFailures }, 'upstream marked down');
    }
  }

  private succeeded(u: UpstreamState): void {
    u.consecutiveFailures = 0;
    if (!u.up) {
      u.up = true;
      this.log.info({ forwarder: this.cfg.name, upstream: u.label }, 'upstream up again');
    }
  }

  private async checkAll(): Promise<void> {
    const hc = this.cfg.healthCheck;
    const key = nameToKey(hc.name);
    await Promise.all(this.upstreams.map(async (u) => {
      if (this.closed) return;
      const r = await this.exchange(u, { key, qtype: TYPE.NS, qclass: 1, dnssecOk: false }, this.cfg.timeoutMs);
      u.lastCheck = new Date(this.now() * 1000).toISOString();
      if (r.ok) this.succeeded(u);
      else {
        this.metrics.healthFailures.inc({ forwarder: this.cfg.name, upstream: u.label }, `${this.cfg.name}|${u.label}`);
        this.failed(u);
      }
    }));
  }

  status(): unknown {
    return {
      name: this.cfg.name, domains: this.cfg.domains, policy: this.cfg.policy, cacheEntries: this.cache.size,
      upstreams: this.upstreams.map((u) => ({ upstream: u.label, up: u.up, consecutiveFailures: u.consecutiveFailures, lastCheck: u.lastCheck ?? null })),
    };
  }

  /**
   * Out of service after a reload: no new query reaches it (it is no longer routed), and the
   * queries in flight finish on it, with its sockets; it closes when the last one settles, or
   * after its deadline at the latest.
   */
  retire(onClosed: () => void = () => undefined): void {
    clearInterval(this.healthTimer);
    this.healthTimer = undefined;
    this.onClosed = onClosed;
    if (this.inflightCount === 0) { this.close(); return; }
    this.retiring = true;
    setTimeout(() => this.close(), this.cfg.deadlineMs + 1000).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    clearInterval(this.healthTimer);
    for (const u of this.upstreams) { u.stream?.close(); u.udp?.close(); }
  }
}

const RCODE_LABELS = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
const rcodeName = (r: number) => RCODE_LABELS[r] ?? 'other';
