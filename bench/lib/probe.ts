// What the API-server benches share: a UDP A-record prober on one socket (answers matched by
// ID; no answer within `timeoutMs` reads as none) and a condition poll with a deadline.

import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface Prober {
  /** The A records `name` gets from 127.0.0.1:`port` ([] when no answer came in time). */
  queryA(port: number, name: string): Promise<string[]>;
  close(): void;
}

export function createProber(timeoutMs: number): Prober {
  const sock = dgram.createSocket('udp4');
  const waiting = new Map<number, (addrs: string[]) => void>();
  sock.on('message', (m) => {
    try {
      const p = dnsPacket.decode(m);
      waiting.get(p.id!)?.((p.answers ?? []).filter((a) => a.type === 'A').map((a) => String((a as { data: unknown }).data)));
      waiting.delete(p.id!);
    } catch { /* not a DNS message: ignored */ }
  });
  let nextId = 1;
  return {
    queryA(port, name) {
      const id = (nextId = (nextId % 65535) + 1);
      return new Promise((resolve) => {
        const t = setTimeout(() => { waiting.delete(id); resolve([]); }, timeoutMs);
        waiting.set(id, (a) => { clearTimeout(t); resolve(a); });
        sock.send(dnsPacket.encode({ id, type: 'query', flags: 0, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
      });
    },
    close() { sock.close(); },
  };
}

/** Polls `check` every `everyMs` until it holds (true) or `limitMs` passed (false). */
export async function until(limitMs: number, check: () => Promise<boolean> | boolean, everyMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) { if (await check()) return true; await new Promise((r) => setTimeout(r, everyMs)); }
  return false;
}
