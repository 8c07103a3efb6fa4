// One DNSForwarder at run time: its upstreams and their health, its policy, its cache, the
// questions in flight. A reload that changes the forwarder replaces this object (and so its
// cache); an unchanged one survives a reload untouched.

import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Forwarder, Upstream } from '../config/types.js';
import { PENDING } from '../fallback.js';
import type { FallbackQuery } from '../fallback.js';
import { questionSub, ResponseCache, unchain } from '../cache/response-cache.js';
import { RCODE, TYPE } from '../wire/constants.js';
import { nameToKey } from '../wire/name.js';
import { errorFromQuery } from '../wire/response.js';
import type { ReplyContext } from '../wire/response.js';
import type { ForwardMetrics, LatencySeries, TallySeries } from './metrics.js';
import { StreamConn, UdpPool, UdpQuery } from './transports.js';
import type { ExchangeResult, FailReason } from './transports.js';
import { answersQuestion, buildUpstreamQuery, scanResponse, shapeForClient, shapeInPlace, storedBody, writeUpstreamQuery } from './wire.js';
import type { ScannedResponse, StoredResponse } from './wire.js';

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
  /** What it counts, kept on it so that counting an answer looks nothing up: its outcomes' series by rcode (then timeout/error/closed/other), its latency series. */
  outcomes: (TallySeries | undefined)[];
  latency: LatencySeries;
}


interface Question { key: string; qtype: number; qclass: number; dnssecOk: boolean }

/**
 * One question in flight upstream, and the clients waiting for its answer (more than one when
 * identical questions coalesce; none for a prefetch). It is itself the UDP query the pools wait
 * on (transports.ts UdpQuery): its attempts, one upstream at a time, report back by calls into
 * the forwarder, which answers each waiting client by a call (FallbackQuery.answer), so a
 * forwarded query costs no promise, closure, timer or query buffer of its own.
 */
class Flight extends UdpQuery implements Question {
  /** The first client waiting (the usual case: no list), then any others. */
  first: FallbackQuery | undefined = undefined;
  more: FallbackQuery[] | undefined = undefined;
  /** The next flight of the same name in flight (another type, class or DO bit). */
  sameName: Flight | undefined = undefined;
  order: readonly UpstreamState[] = NO_UPSTREAMS;
  tried = 0;
  current: UpstreamState | undefined = undefined;
  /** Real time (performance.now() ms): the whole flight's deadline, and when the current attempt began. */
  deadline = 0;
  started = 0;
  /** The current attempt has been asked again over TCP (the UDP answer was truncated). */
  overTcp = false;
  /** A SERVFAIL or REFUSED answer, kept while other upstreams are tried. */
  lastAnswer: ScannedResponse | null = null;

  constructor(private readonly rt: ForwarderRuntime, readonly key: string, readonly qtype: number, readonly qclass: number, readonly dnssecOk: boolean, readonly sub: number) { super(); }

  /** A client waits for the answer: answered through its answer(). */
  wait(q: FallbackQuery): void {
    if (this.first === undefined) this.first = q; else (this.more ??= []).push(q);
  }

  write(out: Buffer, id: number): number {
    return writeUpstreamQuery(out, id, this.key, this.qtype, this.qclass, UPSTREAM_UDP_SIZE, this.dnssecOk);
  }

  answers(resp: Buffer, id: number): boolean {
    return answersQuestion(resp, id, this.key, this.qtype, this.qclass);
  }

  answered(resp: Buffer): void { this.rt.onAnswer(this, resp); }
  failed(reason: FailReason): void { this.rt.onFailure(this, reason); }
}

const NO_UPSTREAMS: readonly UpstreamState[] = [];

/** Attempts' outcomes other than an rcode: their index in UpstreamState.outcomes, after the rcodes 0-15 (6-15 are counted as 'other'). */
const OUTCOME_INDEX: Record<FailReason, number> = { timeout: 16, error: 17, closed: 18 };
const OUTCOME_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', ...Array<string>(10).fill('other'), 'timeout', 'error', 'closed'];

export class ForwarderRuntime {
  readonly cache: ResponseCache;
  readonly upstreams: UpstreamState[];
  private rr = 0;
  private inflightCount = 0;
  /** name → the first of its flights (chained by sameName). */
  private readonly inflight = new Map<string, Flight>();
  private healthTimer: NodeJS.Timeout | undefined;
  /** retire()'s limit: closes it at its deadline at the latest. */
  private retireTimer: NodeJS.Timeout | undefined;
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
      cfg: u, label: label(u),
      up: true, consecutiveFailures: 0, lastCheck: undefined, stream: undefined,
      udp: u.protocol === 'udp' ? new UdpPool(u.address, u.port, { spoofed: () => { this.metrics.spoofed++; } }) : undefined,
      outcomes: [], latency: metrics.latencyOf(cfg.name, label(u)),
    }));
    if (cfg.healthCheck.enabled) {
      void this.checkAll(); // from start-up, not only after a failure
      this.healthTimer = setInterval(() => void this.checkAll(), cfg.healthCheck.intervalMs);
      this.healthTimer.unref();
    }
  }

  /** Answers a client query: from the cache (at once), or by joining an identical question in flight or sending it upstream (PENDING: answered through q.answer()). */
  resolve(q: FallbackQuery): Buffer | typeof PENDING {
    // Name, type, class and DO bit: every cache and coalescing key (a CLASS ANY answer must never serve IN).
    const sub = questionSub(q.qtype, q.qclass, q.dnssecOk);
    const cache = this.cache;
    if (this.cfg.cache.enabled) {
      const hit = cache.lookup(q.key, sub);
      if (hit !== undefined) {
        if (cache.prefetchDue) this.prefetch(q, sub);
        return shapeForClient(cache.prepared(hit, cache.age), q);
      }
    }
    const head = this.inflight.get(q.key);
    let flight = head;
    while (flight !== undefined && flight.sub !== sub) flight = flight.sameName;
    let fresh = false;
    if (flight !== undefined) {
      this.metrics.coalesced.inc({ forwarder: this.cfg.name }, this.cfg.name);
    } else {
      if (this.inflightCount >= this.cfg.maxConcurrent) {
        this.metrics.overload.inc({ forwarder: this.cfg.name }, this.cfg.name);
        return errorFromQuery(q, RCODE.REFUSED);
      }
      flight = new Flight(this, q.key, q.qtype, q.qclass, q.dnssecOk, sub);
      fresh = true;
    }
    // The client's bytes are valid until it is answered (fallback.ts). A message that owns its
    // memory is kept as it is (from the server's handler: a UDP datagram of up to 512 bytes, else
    // the header and question, copied there; msgOwned says so without asking the ArrayBuffer); a
    // view into more is copied, question only, so a query in flight never holds a connection's buffer.
    flight.wait(q.msgOwned === true || q.msg.byteLength === q.msg.buffer.byteLength ? q : withOwnQuestion(q));
    if (fresh) this.launch(flight, head);
    return PENDING;
  }

  private flightFor(key: string, sub: number): Flight | undefined {
    let f = this.inflight.get(key);
    while (f !== undefined && f.sub !== sub) f = f.sameName;
    return f;
  }

  /** Puts a new flight in flight: counted, findable for coalescing (`head`: the first flight of its name in flight), first attempt sent. */
  private launch(f: Flight, head: Flight | undefined): void {
    this.inflightCount++;
    f.sameName = head;
    this.inflight.set(f.key, f);
    const t = performance.now();
    f.deadline = t + this.cfg.deadlineMs; // real time; this.now is the cache's clock
    let order = this.order();
    if (!order[0].up) {
      if (this.cfg.failFast) { this.land(f, null); return; } // all down (order() puts healthy ones first)
    } else if (!order[order.length - 1].up) order = order.filter((u) => u.up);
    f.order = order;
    this.attempt(f, t);
  }

  /** Sends the flight to its next upstream, or lands it when none is left or its deadline has passed (`t`: performance.now()). */
  private attempt(f: Flight, t = performance.now()): void {
    const remaining = f.deadline - t;
    if (f.tried >= f.order.length || remaining <= 0 || this.closed) { this.land(f, f.lastAnswer); return; }
    const u = f.order[f.tried++];
    f.current = u;
    f.started = t;
    f.overTcp = false;
    const timeoutMs = Math.min(this.cfg.timeoutMs, remaining);
    if (u.udp !== undefined) { u.udp.send(f, timeoutMs, t); return; }
    void this.stream(u).exchange((id) => buildUpstreamQuery(id, f.key, f.qtype, f.qclass, UPSTREAM_UDP_SIZE, f.dnssecOk), timeoutMs)
      .then((r) => (r.ok ? this.onAnswer(f, r.resp) : this.onFailure(f, r.reason)));
  }

  /** An answer to the flight's current attempt (checked: same ID and question). */
  onAnswer(f: Flight, resp: Buffer): void {
    const u = f.current!;
    if (u.udp !== undefined && !f.overTcp && (resp[2] & 0x02) !== 0) {
      // RFC 7766 §5: truncated over UDP → ask again over TCP, within this attempt's time.
      f.overTcp = true;
      const left = Math.min(this.cfg.timeoutMs, f.deadline - f.started) - (performance.now() - f.started);
      void this.stream(u).exchange((id) => buildUpstreamQuery(id, f.key, f.qtype, f.qclass, UPSTREAM_UDP_SIZE, f.dnssecOk), Math.max(left, 1))
        .then((r) => (r.ok ? this.onAnswer(f, r.resp) : this.onFailure(f, r.reason)));
      return;
    }
    const scanned = scanResponse(resp, this.cfg.cache.enabled);
    if (scanned === undefined) { this.failed(u); this.attempt(f); return; }
    this.count(u, scanned.rcode);
    u.latency.observe((performance.now() - f.started) / 1000);
    this.succeeded(u);
    f.lastAnswer = scanned;
    // SERVFAIL and REFUSED from one upstream: another may do better.
    if (scanned.rcode !== RCODE.SERVFAIL && scanned.rcode !== RCODE.REFUSED) this.land(f, scanned);
    else this.attempt(f);
  }

  /** The flight's current attempt failed (timeout, error, closed): the next upstream. */
  onFailure(f: Flight, reason: FailReason): void {
    const u = f.current!;
    this.count(u, OUTCOME_INDEX[reason]);
    this.failed(u);
    this.attempt(f);
  }

  /**
   * The flight is over: `r` is its answer, or null when every attempt failed. Stored in the
   * cache, and each waiting client answered: the last one in the upstream response's own bytes
   * when it can be (shapeInPlace), the others (and the cache) from a copy.
   */
  private land(f: Flight, r: ScannedResponse | null): void {
    this.inflightCount--;
    unchain(this.inflight, f.key, f);
    let stored: StoredResponse | undefined;
    if (r !== null && this.cfg.cache.enabled) this.cache.store(f.key, f.sub, r, (stored = storedBody(r)));
    const more = f.more;
    const first = f.first;
    f.first = undefined;
    f.more = undefined;
    if (more !== undefined) for (const w of more) w.answer(this.reply(f, r, w, stored ??= r === null ? undefined : storedBody(r)));
    if (first !== undefined) first.answer((r !== null ? shapeInPlace(r, first) : undefined) ?? this.reply(f, r, first, stored ?? (r === null ? undefined : storedBody(r))));
    f.lastAnswer = null;
    if (this.retiring && this.inflightCount === 0 && !this.closed) this.close();
  }

  /** One waiting client's response: the answer, a stale one (serve-stale), or SERVFAIL. */
  private reply(f: Flight, r: ScannedResponse | null, ctx: ReplyContext, stored: StoredResponse | undefined): Buffer {
    if (r !== null) return shapeForClient(stored!, ctx);
    const stale = this.cache.stale(f.key, f.sub);
    if (stale) return shapeForClient(stale, ctx, 0, this.cfg.cache.serveStale.ttl);
    this.metrics.servfail.inc({ forwarder: this.cfg.name }, this.cfg.name);
    return errorFromQuery(ctx, RCODE.SERVFAIL);
  }

  private prefetch(q: FallbackQuery, sub: number): void {
    if (this.flightFor(q.key, sub) !== undefined || this.inflightCount >= this.cfg.maxConcurrent) return;
    this.metrics.prefetches.inc({ forwarder: this.cfg.name }, this.cfg.name);
    this.launch(new Flight(this, q.key, q.qtype, q.qclass, q.dnssecOk, sub), this.inflight.get(q.key));
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

  /** Counts one outcome of an attempt at `u`: an rcode (0-15), or an OUTCOME_INDEX. */
  private count(u: UpstreamState, index: number): void {
    let t = u.outcomes[index];
    if (t === undefined) {
      const outcome = OUTCOME_NAMES[index];
      t = u.outcomes[index] = this.metrics.requests.series({ forwarder: this.cfg.name, upstream: u.label, rcode: outcome }, `${this.cfg.name}|${u.label}|${outcome}`);
    }
    t.n++;
  }

  /** One attempt at one upstream, as a promise (health checks); a UDP answer with TC=1 is asked again over TCP. */
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
    this.retireTimer = setTimeout(() => this.close(), this.cfg.deadlineMs + 1000).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    clearInterval(this.healthTimer);
    clearTimeout(this.retireTimer);
    for (const u of this.upstreams) { u.stream?.close(); u.udp?.close(); }
  }
}

/** `q` with a copy of its header and question of its own (answered through `q`). */
function withOwnQuestion(q: FallbackQuery): FallbackQuery {
  return { msg: Buffer.from(q.msg.subarray(0, q.qend)), qend: q.qend, optSize: q.optSize, dnssecOk: q.dnssecOk, maxSize: q.maxSize, key: q.key, qtype: q.qtype, qclass: q.qclass, answer: (b) => q.answer(b) };
}

const label = (u: Upstream): string => `${u.protocol}://${u.address.includes(':') ? `[${u.address}]` : u.address}:${u.port}`;
