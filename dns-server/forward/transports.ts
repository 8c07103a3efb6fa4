// How one upstream query travels. Every exchange sends a query with a fresh random ID and
// accepts only an answer from the upstream's own address and port, with the same ID and the
// same question (RFC 5452 §9). An answer with an ID no query waits for, or another question, is
// dropped and counted (splitdns_forward_spoofed_total); one from another address or port never
// reaches us: the kernel drops it, the sockets being connected (so it is not counted).
//
// UDP: per upstream, a pool of sockets, each bound by the kernel to a random ephemeral port and
// connected to the upstream; every query takes a socket at random and a random ID free on it;
// a socket is retired after RETIRE_AFTER queries and replaced by a freshly bound one, so the
// source ports keep moving. The query path is callbacks (UdpQuery), without a promise, a timer
// or a buffer of its own per query (a view of the pool's arena); queries asked in one poll phase
// go out back to back at its end (ADR 0029). TCP and TLS below keep promises (not the hot path).
// Why a pool rather than a socket per query: docs/adr/0001-forwarder-source-ports.md.
//
// TCP and TLS (RFC 7766, RFC 7858): one reused connection per upstream, queries pipelined on it
// and matched by ID; reconnected on demand; closed when idle.

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type * as Tls from 'node:tls';
import { frame } from '../wire/frame.js';
import { random16, randomBelow } from './random.js';
import { answersQuery } from './wire.js';

export type FailReason = 'timeout' | 'error' | 'closed';
export type ExchangeResult = { ok: true; resp: Buffer } | { ok: false; reason: FailReason };

export interface DropCounter {
  /** An answer that failed the checks (wrong source, ID or question). */
  spoofed(): void;
}

interface Pending {
  query: Buffer;
  resolve: (r: ExchangeResult) => void;
  timer: NodeJS.Timeout;
}

/**
 * node:tls, loaded on the first TLS connection: an ESM import of it reads its rootCertificates
 * getter, which parses every bundled root certificate (3-4 MB resident under Node 24) in servers
 * with no DNS-over-TLS upstream (issue 14).
 */
let tlsModule: typeof Tls | undefined;
const tls = (): typeof Tls => (tlsModule ??= createRequire(import.meta.url)('node:tls') as typeof Tls);

const POOL_SIZE = 32;
const RETIRE_AFTER = 256;
/** Room for any upstream query: header, a name of at most 255 bytes, type, class, OPT. */
const QUERY_ROOM = 512;
/** The bytes of the queries of one poll phase (~40-300 each); a full one is replaced, not waited on. */
const ARENA = 16384;

/**
 * A query waiting on a pooled UDP socket, told of its outcome by a call, not a promise. The
 * forwarder's question in flight is one itself (forwarder.ts Flight), so an upstream attempt
 * allocates nothing: the pool keeps its socket, ID and expiry in these fields, and links it into
 * its list of queries in order of expiry.
 */
export abstract class UdpQuery {
  /** The pool's: the socket it waits on (undefined when not waiting), its ID there, when it expires (performance.now() ms). */
  sock: PooledSocket | undefined = undefined;
  id = 0;
  expires = 0;
  prev: UdpQuery | undefined = undefined;
  next: UdpQuery | undefined = undefined;
  /** A timer of its own, for the rare query that expires before the last one queued (a deadline cut its timeout short). */
  timer: NodeJS.Timeout | undefined = undefined;
  /** Writes the query with this ID into `out` (QUERY_ROOM bytes); returns its length. */
  abstract write(out: Buffer, id: number): number;
  /** Whether `resp` (with the query's ID) answers it: same ID and question (RFC 5452 §9). */
  abstract answers(resp: Buffer, id: number): boolean;
  abstract answered(resp: Buffer): void;
  abstract failed(reason: FailReason): void;
}

export class PooledSocket {
  readonly sock: dgram.Socket;
  readonly pending = new Map<number, UdpQuery>();
  /** Queries drawn to this socket before it was connected. */
  readonly early: UdpQuery[] = [];
  uses = 0;
  retired = false;
  isReady = false;
  readonly ready: Promise<boolean>;

  constructor(family: 'udp4' | 'udp6', private readonly address: string, private readonly port: number, private readonly pool: UdpPool, private readonly drops: DropCounter) {
    this.sock = dgram.createSocket(family);
    this.sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    // Sends carry no callback (a callback costs a deferred call per query), so a send error is
    // not seen; the kernel reports an upstream port that is closed (ICMP port unreachable) on
    // the connected socket as a receive error instead: every query waiting here was sent to
    // that closed port, and fails over at once rather than waiting for its timeout.
    this.sock.on('error', () => this.failAll('error'));
    // Bound by the kernel to a random ephemeral port, and connected to the upstream: sends skip
    // the address lookup, and the kernel already drops datagrams from any other source.
    this.ready = new Promise<boolean>((resolve) => {
      this.sock.once('error', () => resolve(false));
      this.sock.connect(port, address, () => { this.isReady = true; resolve(true); });
    });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12 || rinfo.port !== this.port || rinfo.address !== this.address) { this.drops.spoofed(); return; }
    const id = (msg[0] << 8) | msg[1];
    const q = this.pending.get(id);
    if (q === undefined || !q.answers(msg, id)) { this.drops.spoofed(); return; }
    this.settle(q);
    q.answered(msg);
  }

  /** Takes a query off this socket and off the pool's expiry list. */
  settle(q: UdpQuery): void {
    this.pending.delete(q.id);
    q.sock = undefined;
    this.pool.unlink(q);
    if (this.retired && this.pending.size === 0) this.close();
  }

  failAll(reason: FailReason): void {
    if (this.pending.size === 0) return;
    const all = [...this.pending.values()];
    for (const q of all) this.settle(q);
    for (const q of all) q.failed(reason);
  }

  freeId(): number {
    for (;;) { const id = random16(); if (!this.pending.has(id)) return id; }
  }

  close(): void {
    this.pool.draining.delete(this);
    try { this.sock.close(); } catch { /* already closed */ }
  }
}

/**
 * An IP literal as Node reports a datagram's source (libuv's inet_ntop: lower case, the longest
 * run of zero groups as "::", an IPv4-mapped tail dotted), so that an answer's source compares
 * equal to an upstream configured as `0:0:0:0:0:0:0:1` or `::FFFF:127.0.0.1`. Throws on a string
 * that is no literal of the family (validated config and resolv.conf hold none).
 */
export function canonicalAddress(address: string, family: 'udp4' | 'udp6'): string {
  return new net.SocketAddress({ address, family: family === 'udp6' ? 'ipv6' : 'ipv4' }).address;
}

/**
 * UDP exchanges with one upstream, from a pool of sockets on random ports. Queries asked in one
 * poll phase are sent back to back at its end (one setImmediate; ADR 0029): each is written into
 * `scratch`, copied to the next bytes of `arena` and queued as a view of them; a flush sends the
 * queue and, when libuv sent every datagram at once (the usual case), writes the next phase's
 * queries over the same arena, else (it queued some: the bytes are its until sent) takes a fresh
 * one. A query's ID, socket and expiry are its from the moment it is asked. Expiry: the queries
 * are kept in order of expiry (they come with the same timeout, so each new one goes last) under
 * one timer, armed for the first.
 */
export class UdpPool {
  private readonly sockets: PooledSocket[] = [];
  /** Retired sockets that queries still wait on (each closes when its last query settles, or with the pool). */
  readonly draining = new Set<PooledSocket>();
  private closed = false;
  private readonly family: 'udp4' | 'udp6';
  private readonly scratch = Buffer.allocUnsafe(QUERY_ROOM);
  /** The bytes of the queries queued in this poll phase, from 0 to `used`. */
  private arena = Buffer.allocUnsafe(ARENA);
  private used = 0;
  /** The queries queued to be sent at the end of this poll phase: each one's socket, ID and bytes. */
  private readonly outQs: UdpQuery[] = [];
  private readonly outSocks: PooledSocket[] = [];
  private readonly outIds: number[] = [];
  private readonly outBufs: Buffer[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private readonly onFlush = () => this.flush();
  private first: UdpQuery | undefined;
  private last: UdpQuery | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer is due (performance.now() ms). */
  private timerAt = 0;
  private readonly onTimer = () => this.expireDue();

  private readonly address: string;

  constructor(address: string, private readonly port: number, private readonly drops: DropCounter, size = POOL_SIZE) {
    this.family = net.isIPv6(address) ? 'udp6' : 'udp4';
    this.address = canonicalAddress(address, this.family);
    for (let i = 0; i < size; i++) this.sockets.push(this.fresh());
  }

  private fresh(): PooledSocket {
    return new PooledSocket(this.family, this.address, this.port, this, this.drops);
  }

  /** Sends `q` from a random pooled socket with a random free ID; its answer, or its failure after `timeoutMs` from `now` (performance.now()), is reported to it. */
  send(q: UdpQuery, timeoutMs: number, now = performance.now()): void {
    if (this.closed) { q.failed('closed'); return; }
    const i = randomBelow(this.sockets.length);
    let s = this.sockets[i];
    if (++s.uses > RETIRE_AFTER) {
      s.retired = true;
      if (s.pending.size === 0 && s.early.length === 0) s.close(); // else when its last query settles
      else this.draining.add(s);
      s = this.sockets[i] = this.fresh();
      s.uses = 1;
    }
    if (!s.isReady) {
      // Still connecting (a fresh socket): sent once connected, failed if it never is or the pool closes first.
      q.expires = now + timeoutMs;
      if (s.early.length === 0) void s.ready.then((ok) => this.flushEarly(s, ok));
      s.early.push(q);
      return;
    }
    this.transmit(s, q, now + timeoutMs);
  }

  private flushEarly(s: PooledSocket, ok: boolean): void {
    const early = s.early.splice(0);
    for (const q of early) {
      if (this.closed) q.failed('closed');
      else if (!ok) q.failed('error');
      else this.transmit(s, q, Math.max(q.expires, performance.now() + 1));
    }
    if (s.retired && s.pending.size === 0) s.close();
  }

  /** Queues `q` to be sent on `s` at the end of this poll phase, to expire at `expires` (performance.now() ms). */
  private transmit(s: PooledSocket, q: UdpQuery, expires: number): void {
    const id = s.freeId();
    const len = q.write(this.scratch, id);
    q.sock = s;
    q.id = id;
    s.pending.set(id, q);
    this.queue(q, expires);
    if (this.used + len > this.arena.length) { this.arena = Buffer.allocUnsafe(ARENA); this.used = 0; } // the full one stays with the views queued in it
    const at = this.used;
    this.scratch.copy(this.arena, at, 0, len);
    this.used = at + len;
    this.outQs.push(q);
    this.outSocks.push(s);
    this.outIds.push(id);
    if (this.outBufs.push(this.arena.subarray(at, at + len)) === 1) this.flushing = setImmediate(this.onFlush);
  }

  /**
   * Sends the queries queued in this poll phase, back to back (ADR 0029), skipping any that no
   * longer waits on its socket with its ID (failed meanwhile: its socket's error, close()). A
   * send that throws fails that query only.
   */
  private flush(): void {
    this.flushing = undefined;
    const qs = this.outQs, socks = this.outSocks, ids = this.outIds, bufs = this.outBufs;
    let kept = false;
    for (let i = 0; i < bufs.length; i++) {
      const q = qs[i], s = socks[i];
      if (q.sock !== s || q.id !== ids[i]) continue;
      try {
        s.sock.send(bufs[i]);
        if (s.sock.getSendQueueCount() > 0) kept = true; // queued by libuv: the bytes are its until sent
      } catch {
        s.settle(q);
        q.failed('error');
      }
    }
    qs.length = 0; socks.length = 0; ids.length = 0; bufs.length = 0;
    if (kept) this.arena = Buffer.allocUnsafe(ARENA);
    this.used = 0;
  }

  /** Puts `q` on the expiry list (last, in the usual case), arming the timer if none is. */
  private queue(q: UdpQuery, expires: number): void {
    q.expires = expires;
    const last = this.last;
    if (last !== undefined && expires < last.expires) {
      q.timer = setTimeout(() => this.expire(q), Math.max(1, expires - performance.now()));
      return;
    }
    q.prev = last;
    q.next = undefined;
    if (last !== undefined) last.next = q; else this.first = q;
    this.last = q;
    // The timer may still be armed for a query answered since, due later than this one (the list
    // was empty, and this one's deadline cut its timeout short): armed again for this one.
    if (this.timer !== undefined && this.timerAt > this.first!.expires) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.timer === undefined) this.arm();
  }

  private arm(): void {
    const at = this.first!.expires;
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(1, at - performance.now()));
  }

  /** Takes `q` off the expiry list (or clears its own timer). */
  unlink(q: UdpQuery): void {
    if (q.timer !== undefined) { clearTimeout(q.timer); q.timer = undefined; return; }
    const { prev, next } = q;
    if (prev !== undefined) prev.next = next; else if (this.first === q) this.first = next;
    if (next !== undefined) next.prev = prev; else if (this.last === q) this.last = prev;
    q.prev = undefined;
    q.next = undefined;
  }

  private expire(q: UdpQuery): void {
    if (q.sock !== undefined) q.sock.settle(q); else this.unlink(q);
    q.failed('timeout');
  }

  /** The timer: fails every query whose time is up, then re-arms for the first left. */
  private expireDue(): void {
    this.timer = undefined;
    // Timers run on the loop's millisecond clock: within a millisecond counts as due.
    const due = performance.now() + 1;
    while (this.first !== undefined && this.first.expires <= due) this.expire(this.first);
    if (this.first !== undefined && this.timer === undefined && !this.closed) this.arm();
  }

  /** Sends `build(id)` from a random pooled socket; resolves with the checked answer (health checks). */
  exchange(build: (id: number) => Buffer, timeoutMs: number): Promise<ExchangeResult> {
    return new Promise<ExchangeResult>((resolve) => this.send(new PromisedQuery(build, resolve), timeoutMs));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    // The queries queued for this phase's end are not sent: they fail as closed with the rest.
    clearImmediate(this.flushing);
    this.flushing = undefined;
    this.outQs.length = 0; this.outSocks.length = 0; this.outIds.length = 0; this.outBufs.length = 0;
    this.used = 0;
    for (const s of [...this.sockets, ...this.draining]) {
      s.failAll('closed');
      for (const q of s.early.splice(0)) q.failed('closed');
      s.close();
    }
  }
}

/** A UDP query whose outcome resolves a promise (health checks: not on the query path). */
class PromisedQuery extends UdpQuery {
  private query: Buffer | undefined;
  constructor(private readonly build: (id: number) => Buffer, private readonly resolve: (r: ExchangeResult) => void) { super(); }
  write(out: Buffer, id: number): number {
    const q = (this.query = this.build(id));
    return q.copy(out, 0, 0, Math.min(q.length, out.length));
  }
  answers(resp: Buffer): boolean { return this.query !== undefined && answersQuery(resp, this.query); }
  answered(resp: Buffer): void { this.resolve({ ok: true, resp }); }
  failed(reason: FailReason): void { this.resolve({ ok: false, reason }); }
}

export interface StreamTarget {
  address: string;
  port: number;
  tls?: { serverName: string; ca?: string };
}

/** One reused, pipelined TCP or TLS connection to an upstream. */
export class StreamConn {
  private sock: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  /** The socket of `connecting`: close() destroys it, failing the queries that wait for it. */
  private connectingSock: net.Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer = Buffer.alloc(0);
  private idle: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly target: StreamTarget, private readonly drops: DropCounter, private readonly idleMs = 10000) {}

  private connect(timeoutMs: number): Promise<net.Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    if (this.connecting) return this.connecting;
    const t = this.target;
    this.connecting = new Promise<net.Socket>((resolve, reject) => {
      const sock = t.tls
        ? tls().connect({ host: t.address, port: t.port, servername: t.tls.serverName, ca: t.tls.ca, rejectUnauthorized: true, ALPNProtocols: ['dot'] })
        : net.connect({ host: t.address, port: t.port });
      this.connectingSock = sock;
      const timer = setTimeout(() => { sock.destroy(); reject(new Error('connect timeout')); }, timeoutMs);
      sock.once(t.tls ? 'secureConnect' : 'connect', () => { clearTimeout(timer); sock.setNoDelay(true); resolve(sock); });
      sock.once('error', (err) => { clearTimeout(timer); reject(err); });
      // Destroyed before it connected (close(), or the timer): a destroy with no error emits no 'error'.
      sock.once('close', () => { clearTimeout(timer); reject(new Error('closed while connecting')); });
      sock.on('data', (d: Buffer) => this.onData(d));
      sock.on('close', () => this.onClose(sock));
      sock.on('error', () => undefined);
    }).then((s) => {
      this.connecting = undefined;
      this.connectingSock = undefined;
      if (this.closed) { s.destroy(); throw new Error('closed while connecting'); } // a connect that completes after close() does nothing
      this.sock = s;
      this.buf = Buffer.alloc(0);
      return s;
    }, (err) => { this.connecting = undefined; this.connectingSock = undefined; throw err; });
    return this.connecting;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const msg = Buffer.from(this.buf.subarray(2, 2 + len));
      this.buf = this.buf.subarray(2 + len);
      const id = msg.length >= 2 ? (msg[0] << 8) | msg[1] : -1;
      const p = this.pending.get(id);
      if (p === undefined || !answersQuery(msg, p.query)) { this.drops.spoofed(); continue; }
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve({ ok: true, resp: msg });
    }
    this.armIdle();
  }

  private onClose(sock: net.Socket): void {
    if (this.sock === sock) this.sock = undefined;
    for (const p of this.pending.values()) { clearTimeout(p.timer); p.resolve({ ok: false, reason: 'closed' }); }
    this.pending.clear();
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    if (this.pending.size === 0) this.idle = setTimeout(() => this.sock?.end(), this.idleMs);
  }

  async exchange(build: (id: number) => Buffer, timeoutMs: number): Promise<ExchangeResult> {
    if (this.closed) return { ok: false, reason: 'closed' };
    let sock: net.Socket;
    try { sock = await this.connect(timeoutMs); } catch { return { ok: false, reason: this.closed ? 'closed' : 'error' }; }
    if (this.closed) return { ok: false, reason: 'closed' };
    clearTimeout(this.idle);
    let id: number;
    do id = randomInt(65536); while (this.pending.has(id));
    const query = build(id);
    return new Promise<ExchangeResult>((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); this.armIdle(); resolve({ ok: false, reason: 'timeout' }); }, timeoutMs);
      this.pending.set(id, { query, resolve, timer });
      sock.write(frame(query));
    });
  }

  /** Closes the connection, or the one still connecting, at once: every query waiting on it fails as 'closed'. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    this.sock?.destroy();
    this.connectingSock?.destroy();
  }
}
