// UDP transport: one socket, each datagram handled in turn. Nothing here may throw into the
// socket's event loop: a bad packet is the handler's to answer or drop.

import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HandlerState } from '../handler.js';
import { handleQuery, PROTO_UDP } from '../handler.js';
import { TAP_OFF } from '../query-log.js';
import type { QueryTap } from '../query-log.js';

export interface UdpTransport {
  readonly port: number;
  close(): Promise<void>;
}

export async function startUdp(address: string, port: number, st: HandlerState, reusePort: boolean, tap: QueryTap = TAP_OFF): Promise<UdpTransport> {
  const type = isIPv6(address) ? 'udp6' : 'udp4';
  const opts: dgram.SocketOptions & { reusePort?: boolean } = { type, ipv6Only: type === 'udp6' };
  if (reusePort) opts.reusePort = true;
  const sock = dgram.createSocket(opts);
  let closed = false;
  sock.on('message', (msg, rinfo) => {
    const out = tap.enabled ? tap.handle(msg, PROTO_UDP, st, rinfo.address) : handleQuery(msg, PROTO_UDP, st);
    if (out === null) return;
    if (out instanceof Promise) {
      out.then((b) => { if (b !== null && !closed) sock.send(b, rinfo.port, rinfo.address); }, () => undefined);
      return;
    }
    sock.send(out, rinfo.port, rinfo.address);
  });
  sock.on('error', () => undefined); // e.g. ICMP port unreachable reflected as send errors: not fatal
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address, port, exclusive: reusePort ? true : undefined }, () => { sock.off('error', reject); resolve(); });
  });
  return {
    port: sock.address().port,
    close: () => new Promise<void>((resolve) => { closed = true; sock.close(() => resolve()); }),
  };
}
