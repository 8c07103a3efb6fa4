// Probes run in a fresh Node process (their heap, their flags, their own module state), for the
// tests of what a process or a thread does with its memory (heap.test.ts, reload.test.ts).
import { execFileSync } from 'node:child_process';

/**
 * Runs `script` as an ES module in a fresh Node process, TypeScript loaded through tsx and
 * `flags` (Node's) before it, and returns what it printed, parsed (one JSON value).
 */
export function runProbe<T>(script: string, opts: { flags?: readonly string[]; timeout?: number } = {}): T {
  const out = execFileSync(process.execPath, [...(opts.flags ?? []), '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: opts.timeout });
  return JSON.parse(out) as T;
}

/**
 * Probe code (inside an async module or function) that makes about `items` objects of garbage
 * and drops them, then asks heap.ts for a collection: it leaves `used()` (the heap in use),
 * `before` and `dropped` (the heap before the garbage and with it) for the probe to go on with.
 */
export function garbageThenCollection(items: number): string {
  const heap = new URL('../../dns-server/heap.ts', import.meta.url).href;
  return `const { collectGarbageSoon } = await import(${JSON.stringify(heap)});
      const used = () => process.memoryUsage().heapUsed;
      const before = used();
      (() => { const junk = []; for (let i = 0; i < ${items}; i++) junk.push({ i, s: 'name-' + i + '.example.org.' }); globalThis.keep = junk; })();
      globalThis.keep = undefined;
      const dropped = used();
      collectGarbageSoon();`;
}
