// TCP transport (RFC 7766): messages framed by a 2-byte length, reassembled across chunks;
// several queries per connection, each answered as soon as it is ready (pipelining, §6.2.1.1,
// so answers may come out of order: the client matches them by ID); an idle timeout; a cap on
// open connections (over it a new connection is closed at once) and on queries per connection
// (after the cap the connection is closed once its answers are written).

import net from 'node:net';
import type { HandlerState } from '../handler.js';
import { handleQuery, PROTO_TCP } from '../handler.js';
import { TAP_OFF } from '../query-log.js';
import type { QueryTap } from '../query-log.js';
import { frame } from '../wire/frame.js';

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
  maxQueriesPerConnection: number;
}

export interface TcpTransport {
  readonly port: number;
  close(): Promise<void>;
}

export async function startTcp(address: string, port: number, st: HandlerState, limits: TcpLimits, tap: QueryTap = TAP_OFF, reusePort = false): Promise<TcpTransport> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (sock) => {
    if (sockets.size >= limits.maxConnections) {
      st.metrics.tcpRejected.inc();
      sock.destroy();
      return;
    }
    sockets.add(sock);
    st.metrics.tcpConnections.set(sockets.size);
    let pending: Buffer = Buffer.alloc(0);
    let count = 0;
    let inflight = 0;
    let ending = false;
    sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
    const finishIfDone = () => { if (ending && inflight === 0) sock.end(); };
    const send = (b: Buffer | null) => {
      inflight--;
      if (b !== null && !sock.destroyed) sock.write(frame(b));
      finishIfDone();
    };
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && !ending) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        count++;
        inflight++;
        const out = tap.enabled ? tap.handle(msg, PROTO_TCP, st, sock.remoteAddress ?? '-') : handleQuery(msg, PROTO_TCP, st);
        if (out instanceof Promise) out.then(send, () => send(null));
        else send(out);
        if (count >= limits.maxQueriesPerConnection) { ending = true; finishIfDone(); }
      }
      if (pending.length > 0) pending = Buffer.from(pending); // do not pin the chunk's memory
    });
    sock.on('error', () => undefined);
    sock.on('close', () => { sockets.delete(sock); st.metrics.tcpConnections.set(sockets.size); });
  });
  server.maxConnections = limits.maxConnections + 1; // the handler above closes the extra one and counts it
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, ipv6Only: net.isIPv6(address), ...(reusePort ? { reusePort } : {}) } as net.ListenOptions, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    }),
  };
}
