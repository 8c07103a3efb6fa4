// Reads a V8 CPU profile (node --cpu-prof) and prints where the time went inside one window of
// it: the top functions by self time and by inclusive time (a function's own samples and its
// callees', a recursive function counted once per sample). The scale-api bench prints the
// window of its endpoint changes (`changes window (monotonic µs): FROM..TO`, the clock of the
// profile's timestamps: process.hrtime) and how many there were, so the figures are per change.
//   node dist/bench/scale-api/profile-window.js PROFILE FROM TO [CHANGES] [TOP]

import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

const [file, fromArg, toArg, changesArg, topArg] = process.argv.slice(2);
if (!file || !fromArg || !toArg) {
  console.error('usage: profile-window.js PROFILE FROM_US TO_US [CHANGES] [TOP]');
  process.exit(2);
}
const from = Number(fromArg), to = Number(toArg), changes = Number(changesArg ?? 1), top = Number(topArg ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

// Each sample's duration is the delta to the next sample (the last one's is unknown: dropped).
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let t = p.startTime, inWindow = 0, idle = 0;
for (let i = 0; i < p.samples.length - 1; i++) {
  t += p.timeDeltas[i]!;
  if (t < from || t > to) continue;
  const dt = p.timeDeltas[i + 1]!;
  const leaf = byId.get(p.samples[i]!)!;
  const name = label(leaf);
  if (name.startsWith('(idle)')) { idle += dt; continue; }
  inWindow += dt;
  self.set(name, (self.get(name) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}
const ms = (us: number) => (us / 1000 / changes).toFixed(2).padStart(8);
console.log(`window ${((to - from) / 1e6).toFixed(2)} s: busy ${ms(inWindow)} ms, idle ${ms(idle)} ms per change (${changes} changes)`);
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (ms per change)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(v)}  ${k}`);
};
print('self time', self);
print('inclusive time', inclusive);
