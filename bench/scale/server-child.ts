// Child of the scale bench: loads a bundle into an in-process DNS server and reports load
// times, resident memory, and whether queries sent during a shard reload are all answered.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { holdYoungGeneration } from '../../dns-server/heap.js';
import { startDnsServer } from '../../dns-server/index.js';

const [bundleFile, changedFile] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (b: number) => (b / 1048576).toFixed(1) + ' MiB';
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

holdYoungGeneration(); // as dns-server/main.ts does, so the RSS is the standalone server's
gc();
const base = process.memoryUsage().rss;
const server = await startDnsServer({ port: 0, logger: pino({ level: 'silent' }) });
const bundle = JSON.parse(readFileSync(bundleFile, 'utf8'));
const t0 = process.hrtime.bigint();
const rep = server.applyBundle(bundle);
const full = ms(t0);
gc();
const rss = process.memoryUsage().rss;
console.log(`dns server: full load ${full.toFixed(0)} ms (${rep.applied.length} shards, ${rep.refused.length} refused; target < 300 ms); RSS serving it ${mib(rss)} (empty server ${mib(base)}; target < 150 MB)`);

// Queries in flight while one changed shard loads: every one must be answered.
const changed = JSON.parse(readFileSync(changedFile, 'utf8'));
const sock = createSocket('udp4');
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
// Paced: at most 64 queries in flight (a burst larger than the socket buffer would be lost in
// the kernel, not by the server); the reload happens while queries are in flight.
const N = 2000;
const WINDOW = 64;
const names = ['www.corp.example.org', 'svc-1.ns-1.svc.cluster.local', 'svc-4242.ns-42.svc.cluster.local', 'host-1.internal.example'];
const pending = new Map<number, NodeJS.Timeout>();
let sent = 0, answered = 0, lost = 0;
let reloadMs = 0;
let reloadReport = '';
await new Promise<void>((done) => {
  const pump = () => {
    while (pending.size < WINDOW && sent < N) {
      const id = sent++ & 0xffff;
      pending.set(id, setTimeout(() => { pending.delete(id); lost++; pump(); }, 2000));
      sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: names[id % names.length] }] }), server.port, '127.0.0.1');
      if (sent === N / 2) {
        const t = process.hrtime.bigint();
        const rep = server.applyShards([changed], []);
        reloadMs = ms(t);
        reloadReport = rep.applied.join(',');
      }
    }
    if (answered + lost === N) done();
  };
  sock.on('message', (msg) => {
    const id = msg.readUInt16BE(0);
    const t = pending.get(id);
    if (t) { clearTimeout(t); pending.delete(id); answered++; }
    pump();
  });
  pump();
});
console.log(`dns server: one changed shard (${changed.id}) loaded in ${reloadMs.toFixed(1)} ms (${reloadReport}; target < 5 ms, issue 14); queries answered ${answered}/${N}, lost ${lost}, while it reloaded`);
sock.close();
await server.close();
