// UDP transport: one socket, each datagram handled in turn. Nothing here may throw into the
// socket's event loop: a bad packet is the handler's to answer or drop.
//
// The socket's receive and send buffers are set at bind (default 4 MiB each): the OS default
// (about 212 KB on Linux, some 256 small datagrams) drops a burst in the kernel before Node
// reads it. The kernel caps what is asked at net.core.rmem_max / wmem_max; startUdp reports the
// size granted so the server can log it.
//
// Replies are sent at the end of the event loop's poll phase (setImmediate), all those of the
// datagrams read in it back to back, not one after each query (ADR 0029): each reply sent while
// the client sleeps wakes it, and on a busy server that wake-up, paid in the server's own send
// (the loopback delivers it), cost more than the query's whole answer.

import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIPv6 } from 'node:net';
import type { HandlerState } from '../handler.js';
import { handleQuery, PENDING, PROTO_UDP } from '../handler.js';
import { TAP_OFF } from '../query-log.js';
import type { QueryTap } from '../query-log.js';
import type { Reply } from '../wire/response.js';

export interface UdpBuffers {
  /** SO_RCVBUF asked, bytes. */
  recvBufferBytes: number;
  /** SO_SNDBUF asked, bytes. */
  sendBufferBytes: number;
}

export interface UdpTransport {
  readonly port: number;
  /** The buffer sizes the kernel granted (Linux reports twice the usable size: halved here). */
  readonly granted: UdpBuffers;
  close(): Promise<void>;
}

export async function startUdp(address: string, port: number, st: HandlerState, reusePort: boolean, buffers: UdpBuffers, tap: QueryTap = TAP_OFF): Promise<UdpTransport> {
  const type = isIPv6(address) ? 'udp6' : 'udp4';
  // Every send goes to a client's address as the socket read it (rinfo.address: always a
  // literal), yet dgram passes it through dns.lookup, which checks it with a regular expression
  // and calls back on the next tick (an async-hooks scope and a tick per reply). Once bound, the
  // socket's lookup hands the literal straight back: the send happens within sock.send().
  let bound = false;
  const lookup = (host: string, options: dns.LookupOneOptions, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void => {
    if (bound) cb(null, host, type === 'udp6' ? 6 : 4);
    else dns.lookup(host, options, cb); // bind: --address as given
  };
  const opts: dgram.SocketOptions & { reusePort?: boolean } = {
    type, ipv6Only: type === 'udp6', recvBufferSize: buffers.recvBufferBytes, sendBufferSize: buffers.sendBufferBytes, lookup,
  };
  if (reusePort) opts.reusePort = true;
  const sock = dgram.createSocket(opts);
  let closed = false;
  // The replies made in this poll phase, sent by flush() at its end (the file comment; ADR
  // 0029). At most those of the datagrams libuv reads in one phase (32 a readiness event per
  // socket, the forwarder's upstream sockets included), emptied by every flush.
  const outBufs: Buffer[] = [];
  const outPorts: number[] = [];
  const outAddrs: string[] = [];
  const flush = (): void => {
    const n = outBufs.length;
    for (let i = 0; i < n; i++) {
      // Over UDP a reply is always one Buffer (handler.ts): sent in the three-argument form, as
      // node-echo does (no offset and length: no view made of it). A send that throws (an
      // address dgram refuses) loses that reply only.
      try { sock.send(outBufs[i], outPorts[i], outAddrs[i]); } catch { /* not sent */ }
    }
    outBufs.length = 0; outPorts.length = 0; outAddrs.length = 0;
  };
  const queue = (b: Buffer, port: number, address: string): void => {
    if (closed) return;
    if (outBufs.push(b) === 1) setImmediate(flush);
    outPorts.push(port); outAddrs.push(address);
  };
  // A forwarded query's reply, sent when its answer comes (a UDP reply is always one Buffer): one
  // function for every query, the client's address handed back with the reply (handler.ts).
  const sendTo = (b: Reply, rinfo: dgram.RemoteInfo): void => { queue(b as Buffer, rinfo.port, rinfo.address); };
  // The query log's path, apart: it may answer with a promise (a forwarded query), the plain
  // path never does (PENDING and the sink instead), so it needs no test for one per query.
  const logged = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const out = tap.handle(msg, PROTO_UDP, st, rinfo.address);
    if (out === null) return;
    if (out instanceof Promise) {
      out.then((b) => { if (b !== null) queue(b as Buffer, rinfo.port, rinfo.address); }, () => undefined);
      return;
    }
    queue(out as Buffer, rinfo.port, rinfo.address);
  };
  sock.on('message', (msg, rinfo) => {
    if (tap.enabled) { logged(msg, rinfo); return; }
    const out = handleQuery(msg, PROTO_UDP, st, sendTo, rinfo);
    if (out !== null && out !== PENDING) queue(out as Buffer, rinfo.port, rinfo.address);
  });
  sock.on('error', () => undefined); // e.g. ICMP port unreachable reflected as send errors: not fatal
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address, port, exclusive: reusePort ? true : undefined }, () => { sock.off('error', reject); bound = true; resolve(); });
  });
  const halve = process.platform === 'linux' ? 2 : 1;
  return {
    port: sock.address().port,
    granted: { recvBufferBytes: Math.floor(sock.getRecvBufferSize() / halve), sendBufferBytes: Math.floor(sock.getSendBufferSize() / halve) },
    // The replies already made go out first.
    close: () => new Promise<void>((resolve) => { flush(); closed = true; sock.close(() => resolve()); }),
  };
}
