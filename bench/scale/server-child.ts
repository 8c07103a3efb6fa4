// Child of the scale bench: loads a bundle into an in-process DNS server and reports load
// times, resident memory, and whether queries sent during a shard reload are all answered.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { startDnsServer } from '../../dns-server/index.js';

const [bundleFile, changedFile] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (b: number) => (b / 1048576).toFixed(1) + ' MiB';
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

gc();
const base = process.memoryUsage().rss;
const server = await startDnsServer({ port: 0, logger: pino({ level: 'silent' }) });
const bundle = JSON.parse(readFileSync(bundleFile, 'utf8'));
let t0 = process.hrtime.bigint();
const rep = server.applyBundle(bundle);
const full = ms(t0);
gc();
const rss = process.memoryUsage().rss;
console.log(`dns server: full load ${full.toFixed(0)} ms (${rep.applied.length} shards, ${rep.refused.length} refused; target < 300 ms); RSS serving it ${mib(rss)} (empty server ${mib(base)}; target < 150 MB)`);

// Queries in flight while one changed shard loads: every one must be answered.
const changed = JSON.parse(readFileSync(changedFile, 'utf8'));
const sock = createSocket('udp4');
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
const N = 2000;
let answered = 0;
sock.on('message', () => { answered++; });
const names = ['www.corp.example.org', 'svc-1.ns-1.svc.cluster.local', 'svc-4242.ns-42.svc.cluster.local', 'host-1.internal.example'];
let sent = 0;
const sendSome = (k: number) => {
  for (let i = 0; i < k && sent < N; i++, sent++) {
    sock.send(dnsPacket.encode({ type: 'query', id: sent & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: names[sent % names.length] }] }), server.port, '127.0.0.1');
  }
};
sendSome(N / 2);
t0 = process.hrtime.bigint();
const rep2 = server.applyShards([changed], []);
const one = ms(t0);
sendSome(N / 2);
const deadline = Date.now() + 5000;
while (answered < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
console.log(`dns server: one changed shard (${changed.id}) loaded in ${one.toFixed(1)} ms (${rep2.applied.join(',')}; target < 10 ms); queries answered ${answered}/${N} across the reload`);
sock.close();
await server.close();
