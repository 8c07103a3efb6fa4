// Child of the scale bench: loads a bundle into an in-process DNS server and reports load
// times (wall and CPU), resident memory, and whether queries sent during a shard reload are all
// answered. `bundle` form: the bundle and the changed shard parsed beforehand and applied as
// objects (applyBundle, applyShards), as the file source does after its parse (parseBundleJson,
// which keeps the text for the shards' hash check; JSON.parse for a build without it); `configmap`
// form: each shard in its ConfigMap (as the operator publishes it), decoded and applied as the
// ConfigMap source does, the decoding (JSON.parse, gunzip) counted in the load.
// Usage: server-child.js BUNDLE CHANGED [bundle|configmap] [DIST]: DIST, another build's dist/
// directory (main's, say), runs that build's DNS server instead of this one's.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import dnsPacket from 'dns-packet';
import pino from 'pino';

const [bundleFile, changedFile, form = 'bundle', dist] = process.argv.slice(2);
const from = (path: string) => (dist ? pathToFileURL(`${dist}/${path}`).href : new URL(`../../${path}`, import.meta.url).href);
const { decodeShardConfigMap, shardConfigMap } = await import(from('dns-server/config/configmap-form.js')) as typeof import('../../dns-server/config/configmap-form.js');
const { holdYoungGeneration } = await import(from('dns-server/heap.js')) as typeof import('../../dns-server/heap.js');
const { startDnsServer } = await import(from('dns-server/index.js')) as typeof import('../../dns-server/index.js');
const hashMod = await import(from('dns-server/config/hash.js')) as Partial<typeof import('../../dns-server/config/hash.js')>;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (b: number) => (b / 1048576).toFixed(1) + ' MiB';
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const cpuMs = (c0: NodeJS.CpuUsage) => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; };
/** The operator's ConfigMap of a shard (gzip'd above the publisher's default 256 KiB), from its JSON. */
const configMapOf = (json: string) => { const s = JSON.parse(json); return shardConfigMap('splitdns', s, 256 * 1024, json); };

holdYoungGeneration(); // as dns-server/main.ts does, so the RSS is the standalone server's
gc();
const base = process.memoryUsage().rss;
const server = await startDnsServer({ port: 0, logger: pino({ level: 'silent' }) });
// The changed shard's two versions, read before the load: nothing of the bundle's text or value
// is held by this script once it is applied (a server's file source drops both), so the RSS
// measured is the server's.
const changedText = readFileSync(changedFile, 'utf8');
const changedId = (JSON.parse(changedText) as { id: string }).id;
const versions = [changedText, JSON.stringify((JSON.parse(readFileSync(bundleFile, 'utf8')).shards as { id: string }[]).find((x) => x.id === changedId))];
/** Parses the bundle as the file source does (keeping the text for the hash check where this build has that), or makes the shards' ConfigMaps. */
const input = (): { bundle?: unknown; configMaps: object[] } => {
  const text = readFileSync(bundleFile, 'utf8');
  if (form === 'bundle') return { bundle: (hashMod.parseBundleJson ?? JSON.parse)(text), configMaps: [] };
  return { configMaps: (JSON.parse(text).shards as object[]).map((s) => configMapOf(JSON.stringify(s))) };
};
let loading: ReturnType<typeof input> | undefined = input();
gc();
// The full load, timed from the call that starts it to its return (the tables of every shard built
// and published: the server answers from them at once): `bundle`, applyBundle of the parsed bundle
// (the file source's parse before it not counted); `configmap`, the decode of the first ConfigMap
// (base64, gunzip, JSON.parse: what the ConfigMap source does with a ConfigMap) to applyShards'
// return, the decode timed apart too. Not in it: the one full collection after a large load
// (heap.ts, ADR 0018), which runs in a later turn of the event loop, while the server already answers.
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
let decodeMs = 0;
let rep: ReturnType<typeof server.applyBundle>;
if (loading.bundle !== undefined) rep = server.applyBundle(loading.bundle);
else {
  const decoded = loading.configMaps.map(decodeShardConfigMap);
  decodeMs = ms(t0);
  rep = server.applyShards(decoded, []);
}
const full = ms(t0);
const fullCpu = cpuMs(c0);
loading = undefined; // (the ConfigMaps: held by the informer's cache in a real server, not by the tables)
// The server's RSS as it is a second after the load (a build that collects after a large load
// has done so; V8 sweeps and gives pages back on its own threads, so not at once), then after
// two collections of this script's (what V8 could give back).
const settle = () => new Promise((r) => setTimeout(r, 1000));
await settle();
const rss = process.memoryUsage().rss;
gc(); gc();
await settle();
const rssGc = process.memoryUsage().rss;
// (After the ConfigMap form's load the heap the parsed texts took is not all given back: its RSS is not the tables'.)
const memory = form === 'bundle' ? `; RSS serving it ${mib(rss)}, ${mib(rssGc)} after a forced GC (empty server ${mib(base)}; target < 150 MB)` : '';
const what = form === 'bundle' ? 'full load (objects: applyBundle of the parsed bundle)' : `full load from the shards' ConfigMaps (decode ${decodeMs.toFixed(0)} ms, then applyShards ${(full - decodeMs).toFixed(0)} ms)`;
console.log(`dns server: ${what} ${full.toFixed(0)} ms, CPU ${fullCpu.toFixed(0)} ms (${rep.applied.length} shards, ${rep.refused.length} refused; target < 300 ms)${memory}`);
// For run.ts's summary (not echoed): the figures of this load.
console.log(`SCALE_RESULT ${JSON.stringify({ form, full, fullCpu, decodeMs, rss: form === 'bundle' ? rss : undefined, rssGc: form === 'bundle' ? rssGc : undefined })}`);

// Queries in flight while one changed shard loads, RELOADS times (the changed version, then the
// loaded one again, in turn): every query must be answered.
const maps = versions.map(configMapOf);
// SCALE_SHARD_RELOADS (default 11): more loads give a steadier median (the first ones after the
// full load run code the JIT has not optimised yet; "first" is printed apart).
const RELOADS = Number(process.env.SCALE_SHARD_RELOADS ?? 11);
const sock = createSocket('udp4');
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
// Paced: at most 64 queries in flight (a burst larger than the socket buffer would be lost in
// the kernel, not by the server); the reload happens while queries are in flight.
const N = Math.max(2000, Math.ceil(RELOADS * 100 * 4 / 3) + 200); // a reload every 100 queries sent, from the first quarter on
const WINDOW = 64;
const names = ['www.corp.example.org', 'svc-1.ns-1.svc.cluster.local', 'svc-4242.ns-42.svc.cluster.local', 'host-1.internal.example'];
const pending = new Map<number, NodeJS.Timeout>();
let sent = 0, answered = 0, lost = 0;
const reloadMs: number[] = [], reloadCpu: number[] = [];
let reloadReport = '';
await new Promise<void>((done) => {
  const pump = () => {
    while (pending.size < WINDOW && sent < N) {
      const id = sent++ & 0xffff;
      pending.set(id, setTimeout(() => { pending.delete(id); lost++; pump(); }, 2000));
      sock.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: names[id % names.length] }] }), server.port, '127.0.0.1');
      if (sent % 100 === 0 && sent >= N / 4 && reloadMs.length < RELOADS) {
        const v = reloadMs.length % 2;
        // The file source's parse is not counted; it keeps the text for the hash check (parseShardJson,
        // as parseBundleJson does for the full load above; JSON.parse for a build without it).
        const parsed = form === 'bundle' ? (hashMod.parseShardJson ?? JSON.parse)(versions[v]) : undefined;
        const c = process.cpuUsage();
        const t = process.hrtime.bigint();
        const rep = server.applyShards([parsed ?? decodeShardConfigMap(maps[v])], []);
        reloadMs.push(ms(t));
        reloadCpu.push(cpuMs(c));
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
const spread = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return `first ${xs[0].toFixed(1)}, median ${v[v.length >> 1].toFixed(1)}, max ${v[v.length - 1].toFixed(1)} ms`; };
console.log(`dns server: one changed shard (${reloadReport}${form === 'bundle' ? '' : ', from its ConfigMap'}), ${reloadMs.length} loads: ${spread(reloadMs)}; CPU ${spread(reloadCpu)} (target < 5 ms, issue 14); queries answered ${answered}/${N}, lost ${lost}, while it reloaded`);
sock.close();
await server.close();
