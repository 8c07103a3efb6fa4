// Preloaded into an operator by the scale-api bench (BENCH_OPERATOR_MEMORY=1: `node --import
// <this> ...`, the file to write in SPLITDNS_BENCH_MEM_PROBE): every 100 ms it reads the
// process's memory split (process.memoryUsage() and V8's heap spaces) and, whenever the
// resident size is the highest seen so far, writes that sample to the file, so the bench can
// print what the peak was made of: V8's heap (each space's committed size and what is used in
// it) against what lies outside it (code and data of the binary, malloc: TLS, zlib, HTTP
// parsing, Buffers' backing stores). Never imported by the operator itself.

import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

/** One sample: MiB, except `at` (ms since the probe started). */
export interface MemSample {
  at: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Per V8 heap space (new, old, code, large_object, ...): [committed, used]. */
  spaces: Record<string, [number, number]>;
}

const MiB = 1048576;
const file = process.env.SPLITDNS_BENCH_MEM_PROBE;
if (file) {
  const t0 = performance.now();
  let top = 0;
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss <= top) return;
    top = m.rss;
    const spaces: Record<string, [number, number]> = {};
    for (const s of v8.getHeapSpaceStatistics()) if (s.space_size > 0) spaces[s.space_name.replace(/_space$/, '')] = [s.space_size / MiB, s.space_used_size / MiB];
    const sample: MemSample = { at: performance.now() - t0, rss: m.rss / MiB, heapTotal: m.heapTotal / MiB, heapUsed: m.heapUsed / MiB, external: m.external / MiB, arrayBuffers: m.arrayBuffers / MiB, spaces };
    writeFileSync(file, JSON.stringify(sample));
  }, 100).unref();
}
