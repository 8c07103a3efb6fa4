// A full load's phases, as the shard store runs them, in this fresh process (a full load is a
// cold start): the bundle parsed as the file source parses it (not counted), then the CPU time
// of validateBundle, of buildShardSlab for every shard (from the text its hash was checked on,
// takeHashedText, as reload.ts builds it), and of buildReverseSlabs from an empty index. For
// profiling (`node --cpu-prof`, `--trace-gc`) and for comparing builds in turn.
// Usage: node --expose-gc dist/bench/scale/load-phases.js BUNDLE [DIST]: BUNDLE, a bundle's JSON
// (`KEEP=1 bash bench/scale.sh` leaves one); DIST, another build's dist/ (main's, say) to run
// instead of this one's (parsed with JSON.parse when that build has no parseBundleJson). OBJECTS=1:
// parsed with JSON.parse (no text kept), as a bundle handed over as values is (local mode, the
// reload bench): each shard is then hashed from its value. CONFIGMAPS=1: each shard in the
// ConfigMap the operator publishes, decoded as the ConfigMap source decodes it (a phase of its
// own, counted: the cluster's full load) and validated shard by shard (validateShard, as
// applyShards does).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Shard } from '../../dns-server/config/types.js';
import type { ReverseChange } from '../../dns-server/tables/reverse.js';

const [bundleFile, dist] = process.argv.slice(2);
if (bundleFile === undefined) throw new Error('usage: load-phases.js BUNDLE [DIST]');
const from = (path: string) => (dist ? pathToFileURL(`${dist}/${path}`).href : new URL(`../../${path}`, import.meta.url).href);
const { validateBundle, validateShard } = await import(from('dns-server/config/validate.js')) as typeof import('../../dns-server/config/validate.js');
const hash = await import(from('dns-server/config/hash.js')) as Partial<typeof import('../../dns-server/config/hash.js')>;
const { decodeShardConfigMap, shardConfigMap } = await import(from('dns-server/config/configmap-form.js')) as typeof import('../../dns-server/config/configmap-form.js');
const { buildShardSlab } = await import(from('dns-server/tables/build.js')) as typeof import('../../dns-server/tables/build.js');
const { buildReverseSlabs, ReverseIndex } = await import(from('dns-server/tables/reverse.js')) as typeof import('../../dns-server/tables/reverse.js');
const { holdYoungGeneration } = await import(from('dns-server/heap.js')) as typeof import('../../dns-server/heap.js');

holdYoungGeneration(); // as dns-server/main.ts does
const text = readFileSync(bundleFile, 'utf8');
const configMaps = process.env.CONFIGMAPS ? (JSON.parse(text).shards as Shard[]).map((s) => shardConfigMap('splitdns', s, 256 * 1024, JSON.stringify(s))) : undefined;
let bundle = configMaps ? undefined : (process.env.OBJECTS ? JSON.parse : hash.parseBundleJson ?? JSON.parse)(text);
(globalThis as { gc?: () => void }).gc?.();
const cpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
const t0 = cpu();
let shards: Shard[];
let refused: unknown[];
let td = t0; // the decode's end (CONFIGMAPS=1)
if (configMaps !== undefined) {
  const decoded = configMaps.map(decodeShardConfigMap);
  td = cpu();
  const vs = decoded.map(validateShard);
  shards = vs.flatMap((v) => (v.ok ? [v.shard] : []));
  refused = vs.filter((v) => !v.ok);
} else {
  ({ shards, refused } = validateBundle(bundle));
  bundle = undefined;
}
const t1 = cpu();
const changes: ReverseChange[] = [];
for (const s of shards) {
  buildShardSlab(s, hash.takeHashedText?.(s));
  changes.push({ id: s.id, before: [], after: s.reverse });
}
const t2 = cpu();
buildReverseSlabs(new ReverseIndex().slabs, changes);
const t3 = cpu();
if (refused.length) throw new Error(JSON.stringify(refused));
const decode = configMaps !== undefined ? `decode ${(td - t0).toFixed(0)} ` : '';
console.log(`load phases (CPU ms): ${decode}validation ${(t1 - td).toFixed(0)} slabs ${(t2 - t1).toFixed(0)} reverse ${(t3 - t2).toFixed(0)} total ${(t3 - t0).toFixed(0)} (${shards.length} shards)`);
