// The main thread's V8 young generation. V8 doubles the semi-spaces whenever a burst allocates
// fast (parsing a bundle, building the tables) up to 16 MB each, and keeps them: 32 MB resident
// for a server whose live young objects are a few kilobytes (issue 14: measured at 10,000
// Services). Worker threads are capped by their resourceLimits (workers.ts); the main thread's
// heap is configured before our code runs, but V8 reads the growth factor at each growth, so a
// factor of 1 keeps its semi-spaces near their initial size: a step or two at most (seen: new
// space 1 -> 2 MB under Node 20, up to 8 MB under Node 24, against V8's own 32-128 MB). The query path allocates little, so
// scavenges stay cheap and rare (ADR 0010 gives the same reason for the workers' cap).
import v8 from 'node:v8';

/** Keeps this process's young generation near its initial size (see the file comment). */
export function holdYoungGeneration(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
