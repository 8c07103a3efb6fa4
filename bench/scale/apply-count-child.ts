// Child of bench/scale/apply-count.ts: a DNS server (in process, no queries) that loads a bundle,
// then applies one changed shard's two versions in turn, WARM times, says READY, waits for a
// line on stdin, applies them N more times (the steady state: no full collection in between) (the counted part: the driver zeroes callgrind's
// counters before and dumps them after), says DONE and waits for stdin to close.
// Usage: apply-count-child.js BUNDLE CHANGED [bundle|configmap] [DIST]: as server-child.js (the
// `configmap` form decodes each version from its ConfigMap inside the count; the `bundle` form
// parses it with parseShardJson outside the count, as server-child.js times it).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const [bundleFile, changedFile, form = 'configmap', dist] = process.argv.slice(2);
const WARM = Number(process.env.WARM ?? 40);
const N = Number(process.env.N ?? 20);
const from = (path: string) => (dist ? pathToFileURL(`${dist}/${path}`).href : new URL(`../../${path}`, import.meta.url).href);
const { decodeShardConfigMap, shardConfigMap } = await import(from('dns-server/config/configmap-form.js')) as typeof import('../../dns-server/config/configmap-form.js');
const { holdYoungGeneration } = await import(from('dns-server/heap.js')) as typeof import('../../dns-server/heap.js');
const { startDnsServer } = await import(from('dns-server/index.js')) as typeof import('../../dns-server/index.js');
const hashMod = await import(from('dns-server/config/hash.js')) as Partial<typeof import('../../dns-server/config/hash.js')>;

const configMapOf = (json: string) => shardConfigMap('splitdns', JSON.parse(json), 256 * 1024, json);

holdYoungGeneration();
const server = await startDnsServer({ port: 0, logger: pino({ level: 'silent' }) });
const changedText = readFileSync(changedFile, 'utf8');
const changedId = (JSON.parse(changedText) as { id: string }).id;
let bundleText: string | undefined = readFileSync(bundleFile, 'utf8');
const versions = [changedText, JSON.stringify((JSON.parse(bundleText).shards as { id: string }[]).find((x) => x.id === changedId))];
const maps = versions.map(configMapOf);
if (form === 'bundle') server.applyBundle((hashMod.parseBundleJson ?? JSON.parse)(bundleText));
else server.applyShards((JSON.parse(bundleText).shards as object[]).map((s) => decodeShardConfigMap(configMapOf(JSON.stringify(s)))), []);
bundleText = undefined;
// The collection a large load asks for (heap.ts collectGarbageSoon) runs in a turn of its own:
// let it run now, not inside the count (it drops the maps the optimised code was made for, ADR 0025).
await new Promise((r) => setTimeout(r, 100));
let k = 0;
const applyOne = () => {
  const v = k++ % 2;
  const parsed = form === 'bundle' ? (hashMod.parseShardJson ?? JSON.parse)(versions[v]) : undefined;
  const rep = server.applyShards([parsed ?? decodeShardConfigMap(maps[v])], []);
  if (rep.applied.length !== 1) throw new Error(`not applied: ${JSON.stringify(rep)}`);
};
for (let i = 0; i < WARM; i++) applyOne();
// GC_AFTER_WARM=1: a full collection (node --expose-gc) between the warm-up and the count, as
// after a large load or when V8 runs one of its own: what the first changes after one cost.
if (process.env.GC_AFTER_WARM) for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.(); // (V8 keeps an unused map for two)
const lines = createInterface({ input: process.stdin });
const it = lines[Symbol.asyncIterator]();
console.log('READY');
await it.next();
for (let i = 0; i < N; i++) { if (process.env.MARK) console.log("apply " + i); applyOne(); }
console.log('DONE');
await it.next();
await server.close();
