// Reads a V8 CPU profile (node --cpu-prof) and prints its longest synchronous slices: runs of
// consecutive samples under the same top-level frame (the JS entry of one event-loop task:
// processImmediate, listOnTimeout, a socket's callback, ...), a GC sample inside a run counted in
// it, an (idle) or (program) sample ending it. Two back-to-back tasks entered through the same
// function count as one run, so a run is at most as long as the longest task, never shorter.
// Runs are ranked by their samples (the profiler samples the main thread while it runs, every
// `interval`: its CPU time), not by wall time: on a loaded machine a run's wall time is mostly
// time the process waited for a core. For each run: its samples' time, its wall time, when (ms
// after the profile's start and monotonic µs, the bench's clock), and the frames with the most
// inclusive time in it. FROM_US..TO_US: only runs starting in that window.
//   node dist/bench/scale-api/long-tasks.js PROFILE [RUNS] [FRAMES] [FROM_US] [TO_US]

import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const [file, runsArg, framesArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: long-tasks.js PROFILE [RUNS] [FRAMES]');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const rootId = p.nodes[0]!.id;
const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};
/** The frame right under (root) of a sample's stack. */
const topOf = (id: number) => { let x = id; while (parent.get(x) !== undefined && parent.get(x) !== rootId) x = parent.get(x)!; return x; };

interface Run { top: number; start: number; end: number; samples: number[] }
const runs: Run[] = [];
let t = p.startTime;
let cur: Run | undefined;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i]!;
  const id = p.samples[i]!;
  const name = byId.get(id)!.callFrame.functionName;
  const next = p.timeDeltas[i + 1] ?? 0;
  if (name === '(idle)' || name === '(program)') { cur = undefined; continue; }
  if (name === '(garbage collector)' && cur) { cur.end = t + next; cur.samples.push(id); continue; }
  const top = topOf(id);
  if (cur && cur.top === top) { cur.end = t + next; cur.samples.push(id); continue; }
  cur = { top, start: t, end: t + next, samples: [id] };
  runs.push(cur);
}
/** The median gap between samples: the sampling interval as it was. */
const interval = [...p.timeDeltas].sort((a, b) => a - b)[p.timeDeltas.length >> 1]!;
const from = Number(fromArg ?? -Infinity), to = Number(toArg ?? Infinity);
const ranked = runs.filter((r) => r.start >= from && r.start <= to).sort((a, b) => b.samples.length - a.samples.length);
for (const r of ranked.slice(0, Number(runsArg ?? 5))) {
  const incl = new Map<string, number>();
  for (const id of r.samples) {
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined && x !== rootId; x = parent.get(x)) {
      const l = label(byId.get(x)!);
      if (!seen.has(l)) { seen.add(l); incl.set(l, (incl.get(l) ?? 0) + 1); }
    }
  }
  console.log(`${((r.samples.length * interval) / 1000).toFixed(0)} ms of samples (${r.samples.length} × ${(interval / 1000).toFixed(2)} ms), ${((r.end - r.start) / 1000).toFixed(0)} ms wall, at ${((r.start - p.startTime) / 1000).toFixed(0)} ms (monotonic µs ${r.start}), ${r.samples.length} samples under ${label(byId.get(r.top)!)}`);
  for (const [l, n] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(framesArg ?? 12))) console.log(`    ${((100 * n) / r.samples.length).toFixed(0)}%  ${l}`);
}
