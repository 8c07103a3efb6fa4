// Instructions per apply of one changed shard (issue 14: "one changed shard under 5 ms"), counted
// by valgrind's callgrind: the same count however busy the machine is, where the scale bench's
// milliseconds move by half from run to run on a shared machine. Compiles the synthetic cluster
// (bench/scale/synth.ts) and one endpoint change (services/ns-42, as bench/scale/run.ts), then
// for each build (this one; SCALE_BASE: another build's dist/, run beside it) and each form
// (FORMS: `configmap,bundle`) runs apply-count-child.js under callgrind: a full load, WARM (40)
// applies of ns-42's two versions in turn, then N (20) counted (the counters zeroed before, dumped
// after: every thread, the collector's and the compiler's included). REPS (1) repeats it all.
// Prints the instructions per apply. CG_KEEP=DIR keeps each counted part's callgrind file there
// (callgrind_annotate it, naming JIT'd code from /tmp/perf-PID.map: the child runs with --perf-basic-prof).
//   node dist/bench/scale/apply-count.js      (needs valgrind; a few minutes per build and form)
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createCompiler } from '../../operator/compile/index.js';
import { DEFAULT_SYNTH, sliceObject, synthCluster } from './synth.js';

const dir = mkdtempSync(join(tmpdir(), 'splitdns-apply-count-'));
const snap = synthCluster();
const compiler = createCompiler({ clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' });
const before = compiler.compile(snap);
const sliceIdx = 4242; // as run.ts: a headless Service's slice in ns-42, its first change
const s2 = { ...snap, endpointSlices: [...snap.endpointSlices] };
s2.endpointSlices[sliceIdx] = sliceObject(sliceIdx % DEFAULT_SYNTH.namespaces, sliceIdx, DEFAULT_SYNTH.endpointsPerService, sliceIdx, 1);
const after = compiler.compile(s2);
const changed = after.bundle.shards.find((s) => s.id === 'services/ns-42')!;
writeFileSync(join(dir, 'bundle.json'), JSON.stringify(before.bundle));
writeFileSync(join(dir, 'changed.json'), JSON.stringify(changed));

const child = fileURLToPath(new URL('./apply-count-child.js', import.meta.url));
const N = Number(process.env.N ?? 20);
const keep = process.env.CG_KEEP;

/** callgrind_control on the child; resolves when it exits. */
const control = (args: string[]) => new Promise<void>((r) => spawn('callgrind_control', args, { stdio: 'ignore' }).on('exit', () => r()));

async function count(dist: string | undefined, form: string, label: string): Promise<number> {
  const out = join(dir, `cg-${label.replace(/\W+/g, '_')}-${form}.out`);
  const p = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', '--dump-instr=no',
    process.execPath, '--expose-gc', ...(keep ? ['--perf-basic-prof'] : []), child, join(dir, 'bundle.json'), join(dir, 'changed.json'), form, ...(dist ? [dist] : [])],
  { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, N: String(N) } });
  let err = '';
  p.stderr.on('data', (d) => { err += d; });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  const expect = async (what: string) => {
    const l = await lines.next();
    if (l.done || l.value !== what) throw new Error(`${label} ${form}: expected ${what}, got ${l.value}\n${err.slice(-2000)}`);
  };
  await expect('READY');
  const dumped = () => readdirSync(dir).filter((f) => f.startsWith(`cg-${label.replace(/\W+/g, '_')}-${form}.out.`));
  const n0 = dumped().length;
  await control(['-z', String(p.pid)]);
  p.stdin.write('go\n');
  await expect('DONE');
  await control(['-d', String(p.pid)]);
  const files = dumped();
  p.stdin.end();
  await new Promise((r) => p.on('exit', r));
  if (files.length <= n0) throw new Error(`${label} ${form}: no dump`);
  let total = 0;
  const { readFileSync } = await import('node:fs');
  for (const f of files.slice(n0)) {
    for (const l of readFileSync(join(dir, f), 'utf8').split('\n')) if (l.startsWith('summary:')) total += Number(l.split(/\s+/)[1]);
    if (keep) copyFileSync(join(dir, f), join(keep, `${f}.pid${p.pid}`));
  }
  return total / N;
}

const builds: [string, string | undefined][] = [['this build', undefined], ...(process.env.SCALE_BASE ? [['base', process.env.SCALE_BASE] as [string, string]] : [])];
const forms = (process.env.FORMS ?? 'configmap,bundle').split(',');
try {
  for (let r = 0; r < Number(process.env.REPS ?? 1); r++) {
    for (const form of forms) {
      for (const [label, dist] of builds) {
        const per = await count(dist, form, label);
        console.log(`[${label}] one changed shard (services/ns-42, ${form === 'configmap' ? 'from its ConfigMap, decode counted' : 'as objects'}): ${(per / 1e6).toFixed(2)} M instructions per apply (mean of ${N}, callgrind, all threads)`);
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
