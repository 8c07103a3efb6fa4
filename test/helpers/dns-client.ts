// Raw DNS clients for tests: UDP and TCP on loopback, with dns-packet to build and read
// messages. They return the raw bytes (or null on timeout) so tests can check exact bytes.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';

export type Query = { name: string; type?: string; id?: number; flags?: number; edns?: number | { udpSize?: number; version?: number; do?: boolean } };

export function buildQuery(q: Query): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (q.edns !== undefined) {
    const e = typeof q.edns === 'number' ? { udpSize: q.edns } : q.edns;
    additionals.push({ type: 'OPT', name: '.', udpPayloadSize: e.udpSize ?? 1232, extendedRcode: 0, ednsVersion: e.version ?? 0, flags: e.do ? dnsPacket.DNSSEC_OK : 0, options: [] } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    id: q.id ?? Math.floor(Math.random() * 65536), type: 'query', flags: q.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name: q.name, type: (q.type ?? 'A') as 'A', class: 'IN' }], additionals,
  });
}

/** An answer, or null after timeoutMs: generous by default (a busy machine is slow; an answer ends the wait); a test expecting silence passes a short one. */
export function udpExchange(port: number, msg: Buffer, timeoutMs = 5000, host = '127.0.0.1'): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => { sock.close(); resolve(null); }, timeoutMs);
    sock.on('message', (m) => { clearTimeout(timer); sock.close(); resolve(m); });
    sock.on('error', () => { clearTimeout(timer); sock.close(); resolve(null); });
    sock.send(msg, port, host);
  });
}

export async function udpQuery(port: number, q: Query): Promise<Packet & { raw: Buffer }> {
  const raw = await udpExchange(port, buildQuery(q));
  if (raw === null) throw new Error(`no UDP answer for ${q.name} ${q.type ?? 'A'}`);
  return Object.assign(dnsPacket.decode(raw), { raw });
}

/** Opens a TCP connection that collects framed responses. */
export function tcpConnect(port: number, host = '127.0.0.1'): Promise<{ sock: net.Socket; responses: Buffer[]; closed: Promise<void>; next(n?: number, timeoutMs?: number): Promise<Buffer[]> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const responses: Buffer[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const waiters: (() => void)[] = [];
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        responses.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      for (const w of waiters.splice(0)) w();
    });
    const closed = new Promise<void>((r) => sock.on('close', () => { for (const w of waiters.splice(0)) w(); r(); }));
    sock.on('error', () => undefined);
    const next = async (n = 1, timeoutMs = 10000) => { // generous: a busy machine is slow, and a wait ends as soon as the answers are in
      const deadline = Date.now() + timeoutMs;
      while (responses.length < n && !sock.destroyed && Date.now() < deadline) {
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
      }
      return responses.splice(0, n);
    };
    sock.once('connect', () => resolve({ sock, responses, closed, next }));
    sock.once('error', reject);
  });
}

export function frame(msg: Buffer): Buffer {
  const b = Buffer.alloc(msg.length + 2);
  b.writeUInt16BE(msg.length, 0);
  msg.copy(b, 2);
  return b;
}

export async function tcpQuery(port: number, q: Query): Promise<Packet & { raw: Buffer }> {
  const c = await tcpConnect(port);
  c.sock.write(frame(buildQuery(q)));
  const [raw] = await c.next(1);
  c.sock.destroy();
  if (!raw) throw new Error(`no TCP answer for ${q.name}`);
  return Object.assign(dnsPacket.decode(raw), { raw });
}

export const rcodeOf = (raw: Buffer): number => raw[3] & 0x0f;
export const flagsOf = (raw: Buffer) => ({ qr: (raw[2] & 0x80) !== 0, aa: (raw[2] & 0x04) !== 0, tc: (raw[2] & 0x02) !== 0, rd: (raw[2] & 0x01) !== 0 });
