// How one upstream query travels. Every exchange sends a query with a fresh random ID and
// accepts only an answer from the upstream's own address and port, with the same ID and the
// same question (RFC 5452 §9). An answer with an ID no query waits for, or another question, is
// dropped and counted (splitdns_forward_spoofed_total); one from another address or port never
// reaches us: the kernel drops it, the sockets being connected (so it is not counted).
//
// UDP: per upstream, a pool of sockets, each bound by the kernel to a random ephemeral port and
// connected to the upstream; every query takes a socket at random and a random ID free on it;
// a socket is retired after RETIRE_AFTER queries and replaced by a freshly bound one, so the
// source ports keep moving.
// Why a pool rather than a socket per query: docs/adr/0001-forwarder-source-ports.md.
//
// TCP and TLS (RFC 7766, RFC 7858): one reused connection per upstream, queries pipelined on it
// and matched by ID; reconnected on demand; closed when idle.

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { frame } from '../wire/frame.js';
import { answersQuery } from './wire.js';

export type ExchangeResult = { ok: true; resp: Buffer } | { ok: false; reason: 'timeout' | 'error' | 'closed' };

export interface DropCounter {
  /** An answer that failed the checks (wrong source, ID or question). */
  spoofed(): void;
}

interface Pending {
  query: Buffer;
  resolve: (r: ExchangeResult) => void;
  timer: NodeJS.Timeout;
}

const POOL_SIZE = 32;
const RETIRE_AFTER = 256;

class PooledSocket {
  readonly sock: dgram.Socket;
  readonly pending = new Map<number, Pending>();
  uses = 0;
  retired = false;
  isReady = false;
  readonly ready: Promise<boolean>;

  constructor(family: 'udp4' | 'udp6', private readonly address: string, private readonly port: number, private readonly drops: DropCounter) {
    this.sock = dgram.createSocket(family);
    this.sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.sock.on('error', () => undefined);
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
    const p = this.pending.get(id);
    if (p === undefined || !answersQuery(msg, p.query)) { this.drops.spoofed(); return; }
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ ok: true, resp: msg });
    if (this.retired && this.pending.size === 0) this.close();
  }

  freeId(): number {
    for (;;) { const id = randomInt(65536); if (!this.pending.has(id)) return id; }
  }

  close(): void {
    try { this.sock.close(); } catch { /* already closed */ }
  }
}

/** UDP exchanges with one upstream, from a pool of sockets on random ports. */
export class UdpPool {
  private readonly sockets: PooledSocket[] = [];
  private closed = false;
  private readonly family: 'udp4' | 'udp6';

  constructor(private readonly address: string, private readonly port: number, private readonly drops: DropCounter, size = POOL_SIZE) {
    this.family = net.isIPv6(address) ? 'udp6' : 'udp4';
    for (let i = 0; i < size; i++) this.sockets.push(this.fresh());
  }

  private fresh(): PooledSocket {
    return new PooledSocket(this.family, this.address, this.port, this.drops);
  }

  /** Sends `build(id)` from a random pooled socket; resolves with the checked answer. */
  exchange(build: (id: number) => Buffer, timeoutMs: number): Promise<ExchangeResult> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'closed' });
    const i = randomInt(this.sockets.length);
    let s = this.sockets[i];
    if (++s.uses > RETIRE_AFTER) {
      s.retired = true;
      if (s.pending.size === 0) s.close();
      s = this.sockets[i] = this.fresh();
      s.uses = 1;
    }
    if (!s.isReady) {
      const sock = s;
      return sock.ready.then((ok) => (ok ? this.send(sock, build, timeoutMs) : { ok: false, reason: 'error' } as ExchangeResult));
    }
    return this.send(s, build, timeoutMs);
  }

  private send(s: PooledSocket, build: (id: number) => Buffer, timeoutMs: number): Promise<ExchangeResult> {
    const id = s.freeId();
    const query = build(id);
    return new Promise<ExchangeResult>((resolve) => {
      const timer = setTimeout(() => {
        s.pending.delete(id);
        if (s.retired && s.pending.size === 0) s.close();
        resolve({ ok: false, reason: 'timeout' });
      }, timeoutMs);
      s.pending.set(id, { query, resolve, timer });
      s.sock.send(query, (err) => {
        if (!err) return;
        clearTimeout(timer);
        s.pending.delete(id);
        resolve({ ok: false, reason: 'error' }); // e.g. ECONNREFUSED from an earlier ICMP port unreachable
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sockets) {
      for (const p of s.pending.values()) { clearTimeout(p.timer); p.resolve({ ok: false, reason: 'closed' }); }
      s.pending.clear();
      s.close();
    }
  }
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
        ? tls.connect({ host: t.address, port: t.port, servername: t.tls.serverName, ca: t.tls.ca, rejectUnauthorized: true, ALPNProtocols: ['dot'] })
        : net.connect({ host: t.address, port: t.port });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error('connect timeout')); }, timeoutMs);
      sock.once(t.tls ? 'secureConnect' : 'connect', () => { clearTimeout(timer); sock.setNoDelay(true); resolve(sock); });
      sock.once('error', (err) => { clearTimeout(timer); reject(err); });
      sock.on('data', (d: Buffer) => this.onData(d));
      sock.on('close', () => this.onClose(sock));
      sock.on('error', () => undefined);
    }).then((s) => { this.sock = s; this.connecting = undefined; this.buf = Buffer.alloc(0); return s; }, (err) => { this.connecting = undefined; throw err; });
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
    try { sock = await this.connect(timeoutMs); } catch { return { ok: false, reason: 'error' }; }
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

  close(): void {
    this.closed = true;
    clearTimeout(this.idle);
    this.sock?.destroy();
  }
}
