// TCP transport (RFC 7766): messages framed by a 2-byte length, reassembled across chunks;
// several queries per connection, each answered as soon as it is ready (pipelining, §6.2.1.1,
// so answers may come out of order: the client matches them by ID).
//
// Limits that hold whatever a client does (RFC 7766 §6.2.3; each close is counted by reason in
// splitdns_dns_tcp_closed_total):
//   - back-pressure: while the socket holds more unsent answer bytes than its high-water mark,
//     no further query of that connection is read or handled (the socket is paused, resumed on
//     'drain'); answers still in flight land in the queue, and a queue over `maxQueuedBytes`
//     closes the connection ('backpressure');
//   - at most `maxPipelined` queries in flight per connection (reading pauses meanwhile);
//   - `frameTimeoutMs`: a frame begun must be complete within it ('frame_timeout'), whatever
//     trickles in (one byte every few seconds keeps no connection open);
//   - `idleTimeoutMs`: no complete query, no answer written and none in flight for this long
//     closes it ('idle', or 'stalled' when answers sit unread);
//   - `maxConnectionsPerClient` per remote address: over it the new connection is closed at
//     once ('client_limit');
//   - `maxConnections` in all: over it, the connection that made no progress (no complete query,
//     no answer written) for longest is closed to make room ('evicted'), so a flood of idle or
//     incomplete connections cannot lock clients out;
//   - `maxQueriesPerConnection`: after it the connection is ended once its answers are written
//     ('query_limit').
// Memory per connection is therefore bounded by one read chunk plus one partial frame, plus
// maxQueuedBytes plus one answer (at most 64 KiB); see the README, "Memory bound". The queue is
// counted in message bytes (writableLength) even where they are shared: a prepared answer is
// written as its patched head and the table's own bytes (wire/response.ts patchPrepared), so
// what it holds on the queue is the head.

import net from 'node:net';
import type { HandlerState } from '../handler.js';
import { handleQuery, PENDING, PROTO_TCP } from '../handler.js';
import { TAP_OFF } from '../query-log.js';
import type { QueryTap } from '../query-log.js';
import type { TcpCloseReason } from '../metrics.js';
import { replyLength } from '../wire/response.js';
import type { Reply } from '../wire/response.js';

export interface TcpLimits {
  /** No complete query, no answer written and none in flight for this long: closed. */
  idleTimeoutMs: number;
  /** A frame must arrive whole within this long of its first byte. */
  frameTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxQueriesPerConnection: number;
  /** Queries of one connection being answered at once. */
  maxPipelined: number;
  /** Answer bytes queued unsent on one connection before it is closed. */
  maxQueuedBytes: number;
}

export interface TcpTransport {
  readonly port: number;
  close(): Promise<void>;
}

interface Conn {
  sock: net.Socket;
  client: string;
  /** Last progress (a complete query read, an answer flushed), ms. */
  progress: number;
  inflight: number;
}

const EMPTY = Buffer.alloc(0);

export async function startTcp(address: string, port: number, st: HandlerState, limits: TcpLimits, tap: QueryTap = TAP_OFF, reusePort = false): Promise<TcpTransport> {
  // In order of last progress: the first entry is the one to evict (Map keeps insertion order).
  const conns = new Map<net.Socket, Conn>();
  const perClient = new Map<string, number>();
  const m = st.metrics;
  const closeFor = (c: Conn, reason: TcpCloseReason) => {
    if (c.sock.destroyed) return;
    m.tcpClosed(reason);
    c.sock.destroy();
  };
  const evictOne = () => {
    // The connection without progress for longest, preferring one with nothing in flight.
    let victim: Conn | undefined;
    let looked = 0;
    for (const c of conns.values()) {
      if (victim === undefined) victim = c;
      if (c.inflight === 0) { victim = c; break; }
      if (++looked >= 64) break;
    }
    if (victim !== undefined) { forget(victim); closeFor(victim, 'evicted'); }
  };
  const forget = (c: Conn) => {
    if (!conns.delete(c.sock)) return;
    const n = (perClient.get(c.client) ?? 1) - 1;
    if (n <= 0) perClient.delete(c.client); else perClient.set(c.client, n);
    m.tcpConnections.set(conns.size);
  };

  const server = net.createServer({ noDelay: true }, (sock) => {
    const client = sock.remoteAddress ?? '';
    const mine = perClient.get(client) ?? 0;
    if (mine >= limits.maxConnectionsPerClient) {
      m.tcpClosed('client_limit');
      sock.on('error', () => undefined);
      sock.destroy();
      return;
    }
    while (conns.size >= limits.maxConnections) evictOne();
    const c: Conn = { sock, client, progress: performance.now(), inflight: 0 };
    conns.set(sock, c);
    perClient.set(client, mine + 1);
    m.tcpConnections.set(conns.size);

    let pending: Buffer = EMPTY;
    let frameStart = 0; // when the partial frame in `pending` began (0: none)
    let count = 0;
    let ending = false;
    let blocked = false; // waiting for 'drain'
    const progressed = () => {
      c.progress = performance.now();
      conns.delete(sock); // move last: most recently progressed
      if (!sock.destroyed) conns.set(sock, c);
    };
    let ended = false;
    const finishIfDone = () => {
      if (!ending || ended || c.inflight > 0 || sock.destroyed) return;
      ended = true;
      m.tcpClosed('query_limit');
      sock.end();
    };

    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      timer = undefined;
      if (sock.destroyed) return;
      const t = performance.now();
      if (frameStart !== 0 && t - frameStart >= limits.frameTimeoutMs) { forget(c); closeFor(c, 'frame_timeout'); return; }
      if (c.inflight === 0 && t - c.progress >= limits.idleTimeoutMs) { forget(c); closeFor(c, sock.writableLength > 0 ? 'stalled' : 'idle'); return; }
      let next = c.progress + limits.idleTimeoutMs - t;
      if (c.inflight > 0 || next <= 0) next = limits.idleTimeoutMs;
      if (frameStart !== 0) next = Math.min(next, frameStart + limits.frameTimeoutMs - t);
      timer = setTimeout(check, Math.max(1, Math.ceil(next)));
    };
    const arm = (ms: number) => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(check, ms);
    };
    arm(limits.idleTimeoutMs);

    const send = (r: Reply | null) => {
      c.inflight--;
      if (sock.destroyed) return;
      if (r !== null) {
        // Prefix and message (or its parts: a prepared answer's bytes are the table's, shared)
        // in one writev: no framed copy of every answer (up to 64 KiB each).
        const prefix = Buffer.allocUnsafe(2);
        prefix.writeUInt16BE(replyLength(r), 0);
        sock.cork();
        sock.write(prefix);
        if (Buffer.isBuffer(r)) { if (!sock.write(r)) blocked = true; }
        else for (const part of r) if (!sock.write(part)) blocked = true;
        sock.uncork();
        if (sock.writableLength > limits.maxQueuedBytes) { forget(c); closeFor(c, 'backpressure'); return; }
        if (!blocked) progressed();
      }
      finishIfDone();
      if (!reading && !blocked && c.inflight < limits.maxPipelined) readFrames(); // an async answer freed a slot
    };

    // Handles the complete frames in `pending` while the connection may take more work.
    let reading = false;
    const readFrames = () => {
      let took = false;
      reading = true;
      while (pending.length >= 2 && !ending && !blocked && c.inflight < limits.maxPipelined && !sock.destroyed) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        took = true;
        count++;
        c.inflight++;
        const out = tap.enabled ? tap.handle(msg, PROTO_TCP, st, client) : handleQuery(msg, PROTO_TCP, st, send, null);
        if (out instanceof Promise) out.then(send, () => send(null));
        else if (out !== PENDING) send(out);
        if (count >= limits.maxQueriesPerConnection) { ending = true; finishIfDone(); }
      }
      reading = false;
      if (sock.destroyed) return;
      if (took) { progressed(); frameStart = 0; }
      const whole = hasWholeFrame(pending);
      if (pending.length === 0) { pending = EMPTY; frameStart = 0; }
      else {
        if (whole) frameStart = 0; // ours to handle (we are holding back): no deadline on the client
        else if (frameStart === 0) {
          frameStart = performance.now();
          arm(limits.frameTimeoutMs);
        }
        // Do not pin a read chunk (or a pool slab) for the few bytes left of it: copied to a
        // buffer of its own once less than half of what it holds is left. Not on every call: a
        // connection held back by a client that does not read would copy its queued queries
        // (up to a read chunk) on every 'drain', megabytes of garbage a second.
        if (pending.length * 2 <= pending.buffer.byteLength) {
          const own = Buffer.allocUnsafeSlow(pending.length);
          pending.copy(own);
          pending = own;
        }
      }
      // Read more only when every frame already read is being handled.
      const canRead = !ending && !blocked && c.inflight < limits.maxPipelined && !whole;
      if (canRead) { if (sock.isPaused()) sock.resume(); } else if (!sock.isPaused()) sock.pause();
    };

    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      readFrames();
    });
    sock.on('drain', () => {
      blocked = false;
      progressed();
      readFrames();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      pending = EMPTY;
      forget(c);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, ipv6Only: net.isIPv6(address), ...(reusePort ? { reusePort } : {}) } as net.ListenOptions, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of conns.keys()) s.destroy();
    }),
  };
}

function hasWholeFrame(b: Buffer): boolean {
  return b.length >= 2 && b.length >= 2 + b.readUInt16BE(0);
}
