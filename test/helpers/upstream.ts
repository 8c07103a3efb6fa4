// Fake upstream DNS servers for forwarding tests: UDP, TCP and TLS listeners on loopback,
// answering with a function the test gives, and able to misbehave on purpose (stay silent,
// truncate over UDP, answer with a wrong ID, from a wrong port, or for another question).
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import dnsPacket from 'dns-packet';
import type { Packet } from 'dns-packet';

export type Reply = Packet | null | Buffer; // null: stay silent
export type Behaviour = (q: Packet, proto: 'udp' | 'tcp' | 'tls') => Reply | Promise<Reply>;

export interface FakeUpstream {
  port: number;
  /** Every query received, in order. */
  queries: { packet: Packet; proto: 'udp' | 'tcp' | 'tls'; raw: Buffer; from: number }[];
  behaviour: Behaviour;
  /** Sends raw bytes to the last UDP client seen, from this upstream's own socket or a second one. */
  udpSocket: dgram.Socket;
  close(): Promise<void>;
}

/** A normal answer: A records for the name (from a table), NXDOMAIN with an SOA otherwise. */
export function answerFrom(table: Record<string, string[]>, ttl = 300): Behaviour {
  return (q) => {
    const question = q.questions![0];
    const addrs = table[question.name.toLowerCase()];
    const base = { id: q.id, type: 'response' as const, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions };
    if (addrs && question.type === 'A') return { ...base, answers: addrs.map((data) => ({ name: question.name, type: 'A' as const, ttl, data })) };
    const soa = { name: 'example.com', type: 'SOA' as const, ttl: 900, data: { mname: 'ns.example.com', rname: 'h.example.com', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } };
    if (addrs) return { ...base, answers: [], authorities: [soa] };
    return { ...base, flags: base.flags | 3, answers: [], authorities: [soa] } as Packet; // NXDOMAIN (rcode in flags)
  };
}

function encodeReply(r: Reply): Buffer | null {
  if (r === null) return null;
  return Buffer.isBuffer(r) ? r : dnsPacket.encode(r);
}

export async function startUpstream(behaviour: Behaviour, opts: { tls?: { key: string; cert: string }; port?: number } = {}): Promise<FakeUpstream> {
  const queries: FakeUpstream['queries'] = [];
  let udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 }); // takes a burst of forwarded queries
  const sockets = new Set<net.Socket>();
  const up: FakeUpstream = {
    port: 0, queries, behaviour, udpSocket: udp,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => server.close(() => r()))]);
    },
  };
  const onUdp = async (raw: Buffer, rinfo: dgram.RemoteInfo) => {
    let packet: Packet;
    try { packet = dnsPacket.decode(raw); } catch { return; }
    queries.push({ packet, proto: 'udp', raw, from: rinfo.port });
    const out = encodeReply(await up.behaviour(packet, 'udp'));
    if (out) udp.send(out, rinfo.port, rinfo.address);
  };
  udp.on('message', onUdp);
  const onConn = (sock: net.Socket, proto: 'tcp' | 'tls') => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', async (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + raw.length);
        let packet: Packet;
        try { packet = dnsPacket.decode(raw); } catch { continue; }
        queries.push({ packet, proto, raw: Buffer.from(raw), from: sock.remotePort ?? 0 });
        const out = encodeReply(await up.behaviour(packet, proto));
        if (out && !sock.destroyed) { const f = Buffer.alloc(out.length + 2); f.writeUInt16BE(out.length); out.copy(f, 2); sock.write(f); }
      }
    });
  };
  const server: net.Server = opts.tls
    ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert }, (s) => onConn(s, 'tls'))
    : net.createServer((s) => onConn(s, 'tcp'));
  // UDP and TCP on one port number: with an ephemeral UDP port the same TCP port may be taken; try again.
  for (let attempt = 0; ; attempt++) {
    await new Promise<void>((r) => udp.bind(opts.port ?? 0, '127.0.0.1', () => r()));
    up.port = udp.address().port;
    try {
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(up.port, '127.0.0.1', () => { server.off('error', reject); resolve(); }); });
      return up;
    } catch (err) {
      if (attempt >= 9 || opts.port) throw err;
      await new Promise<void>((r) => udp.close(() => r()));
      udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      up.udpSocket = udp;
      udp.on('message', onUdp);
    }
  }
}

/** A self-signed CA and a server certificate for `name`, made with the openssl CLI in a temp dir (never committed). */
export function makeTestCerts(name: string): { key: string; cert: string; ca: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitdns-certs-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=splitdns test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${name}`]);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), `subjectAltName=DNS:${name},IP:127.0.0.1\n`);
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext.cnf']);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), dir };
}
