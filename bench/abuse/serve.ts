// The server under attack, as its own process (so its resident memory can be read from
// /proc): a zone abuse.example with a 31 KB TXT record (big.abuse.example) and a small A
// record (www.abuse.example), an ops port for its metrics. Prints one JSON line
// {"port":N,"httpPort":N,"pid":N} once it listens; SIGTERM closes it.
// Usage: node serve.js ['{"tcp":{...},"udp":{...}}']   (options merged over the defaults)
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CONFIG_API_VERSION, startDnsServer, withHash } from '../../dns-server/index.js';
import type { DnsServerOptions, UnhashedShard } from '../../dns-server/index.js';

/** Two TXT records of 60 character-strings of 255 bytes: a 31 KB answer (TCP only). */
const strings = (from: number) => Array.from({ length: 60 }, (_, i) => String.fromCharCode(97 + ((from + i) % 26)).repeat(255));
export const BIG_TXT = [strings(0), strings(60)];

export function abuseBundle(): unknown {
  const shard = withHash({
    apiVersion: CONFIG_API_VERSION, kind: 'zone', id: 'zone/abuse.example', origin: 'abuse.example.', clusterDomain: false, reverse: [],
    soa: { mname: 'ns1.abuse.example.', rname: 'hostmaster.abuse.example.', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60, ttl: 3600 },
    rrsets: [
      { name: 'abuse.example.', type: 'NS', ttl: 3600, data: ['ns1.abuse.example.'] },
      { name: 'ns1.abuse.example.', type: 'A', ttl: 3600, data: ['192.0.2.53'] },
      { name: 'www.abuse.example.', type: 'A', ttl: 300, data: ['192.0.2.1'] },
      { name: 'big.abuse.example.', type: 'TXT', ttl: 300, data: BIG_TXT },
    ],
  } as UnhashedShard);
  return { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [shard] };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const extra = JSON.parse(process.argv[2] ?? '{}') as Partial<DnsServerOptions>;
  const server = await startDnsServer({ port: 0, httpPort: 0, logger: pino({ level: 'warn' }), registry: new Registry(), ...extra });
  const r = server.applyBundle(abuseBundle());
  if (r.refused.length) throw new Error(`abuse bundle refused: ${JSON.stringify(r.refused)}`);
  process.stdout.write(JSON.stringify({ port: server.port, httpPort: server.httpPort, pid: process.pid }) + '\n');
  // SIGUSR2: a settled full GC, then one line on stdout (and one on stderr when ABUSE_DEBUG is
  // set). The inspector's collectGarbage is V8's collection under memory pressure: all available
  // garbage, and the heap's spaces shrunk to what is live (a plain gc() leaves the young
  // generation at whatever size it grew to, and V8 shrinks it later at its own pace), so the
  // resident memory read after it is the same whenever it is read.
  const inspector = new Session();
  inspector.connect();
  process.on('SIGUSR2', () => {
    const before = process.memoryUsage();
    void inspector.post('HeapProfiler.collectGarbage').then(() => {
      if (process.env.ABUSE_DEBUG) process.stderr.write(JSON.stringify({ before, after: process.memoryUsage() }) + '\n');
      process.stdout.write('gc\n');
    });
  });
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
