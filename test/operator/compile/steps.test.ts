// compile() as steps (operator/compile/steps.ts, issue 16): the phases yield between phases and
// inside their big loops, and running the steps one by one, with a warm compiler across changes,
// gives exactly what compile() gives.

import { expect } from 'chai';
import { compile, createCompiler, finish, STEP_ITEMS } from '../../../operator/compile/index.js';
import { STEP_SERVICES } from '../../../operator/compile/steps.js';
import type { CompilePhase, Snapshot } from '../../../operator/compile/index.js';
import { OPTS, T0, namespace, service, slice, snap, staticHost, zone } from './fixtures.js';

/** A cluster big enough that the per-object loops pass several yield points. */
function cluster(namespaces = 8, perNs = 40): Snapshot {
  const services = [], endpointSlices = [];
  for (let n = 0; n < namespaces; n++) {
    for (let i = 0; i < perNs; i++) {
      const headless = i % 3 === 0;
      services.push(service(`ns${n}`, `svc${i}`, headless ? { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] } : { clusterIP: `10.96.${n}.${i + 1}`, ports: [{ name: 'p', port: 80 }] }, { labels: i % 5 === 0 ? { publish: 'yes' } : {} }));
      endpointSlices.push(slice(`ns${n}`, `svc${i}-a`, `svc${i}`, { ports: [{ name: 'p', port: 8080 }], endpoints: [{ addresses: [`10.244.${n}.${i * 2 + 1}`], hostname: `h${i}` }, { addresses: [`10.244.${n}.${i * 2 + 2}`] }] }));
    }
  }
  const staticHosts = [];
  for (let i = 0; i < 300; i++) staticHosts.push(staticHost('splitdns', `h${i}`, { hostnames: [`h${i}.static.example`], addresses: [`10.250.${i >> 8}.${(i & 255) + 1}`], ptr: i % 2 === 0 }));
  // A conflict and a refused PTR, so the claims and reverse phases judge something.
  staticHosts.push(staticHost('splitdns', 'dup', { hostnames: ['h1.static.example'], addresses: ['10.250.9.9'] }));
  staticHosts.push(staticHost('splitdns', 'clusterip', { hostnames: ['ip.static.example'], addresses: ['10.96.0.1'], ptr: true }));
  return snap({
    zones: [zone('corp', { domain: 'corp.example.org', ttl: 300, records: [], services: { selector: { matchLabels: { publish: 'yes' } } } }, T0)],
    staticHosts, services, endpointSlices, namespaces: Array.from({ length: namespaces }, (_, n) => namespace(`ns${n}`)),
  });
}

/** Runs steps one by one; the result, the yields and the phases ended between two yields. */
function stepByStep(steps: Generator<void, ReturnType<typeof compile>, void>, phases: CompilePhase[]): { result: ReturnType<typeof compile>; yields: number; phasesAtYield: number[] } {
  let yields = 0;
  const phasesAtYield: number[] = [];
  for (;;) {
    const r = steps.next();
    if (r.done) return { result: r.value, yields, phasesAtYield };
    yields++;
    phasesAtYield.push(phases.length);
  }
}

describe('compile as steps (issue 16: a compile that can be run in slices)', () => {
  it('gives the identical result to compile(), yielding between phases and inside the per-object loops', () => {
    const s = cluster();
    const phases: CompilePhase[] = [];
    const c = createCompiler({ ...OPTS, onPhase: (p) => phases.push(p) });
    const { result, yields, phasesAtYield } = stepByStep(c.steps(s), phases);
    expect(JSON.stringify(result)).to.equal(JSON.stringify(compile(s, OPTS)));
    expect(phases).to.deep.equal(['parse', 'domains', 'index', 'services', 'contributors', 'claims', 'reverse', 'shards', 'statuses']);
    // Inside the index phase (after 'domains', before 'index' ended) there are several yields:
    // 320 Services + 320 slices at one yield per STEP_ITEMS objects.
    const inIndex = phasesAtYield.filter((n) => n === 2).length;
    expect(inIndex).to.be.at.least(Math.floor((320 * 2) / STEP_ITEMS));
    // ... and inside the services phase (one per namespace) and the reverse phase.
    expect(phasesAtYield.filter((n) => n === 3).length).to.be.at.least(7);
    expect(phasesAtYield.filter((n) => n === 6).length).to.be.at.least(2);
    expect(yields).to.be.greaterThan(20);
  });

  it('a warm compiler run step by step across changes gives what a fresh compile() gives', () => {
    const c = createCompiler(OPTS);
    let s = cluster();
    stepByStep(c.steps(s), []);
    // One endpoint change, one Service change, a namespace's Services gone, a StaticHost gone.
    const sl = s.endpointSlices[4] as ReturnType<typeof slice>;
    s = { ...s, endpointSlices: s.endpointSlices.map((x, i) => i === 4 ? { ...sl, metadata: { ...sl.metadata, resourceVersion: 'e1' }, endpoints: [{ addresses: ['10.244.0.200'] }] } : x) };
    expect(JSON.stringify(stepByStep(c.steps(s), []).result)).to.equal(JSON.stringify(compile(s, OPTS)));
    const sv = s.services[7] as ReturnType<typeof service>;
    s = { ...s, services: s.services.map((x, i) => i === 7 ? { ...sv, metadata: { ...sv.metadata, resourceVersion: 's1' }, spec: { ...sv.spec, clusterIP: '10.96.0.250' } } : x) };
    expect(JSON.stringify(stepByStep(c.steps(s), []).result)).to.equal(JSON.stringify(compile(s, OPTS)));
    s = { ...s, services: s.services.filter((x) => (x as { metadata: { namespace: string } }).metadata.namespace !== 'ns3'), staticHosts: s.staticHosts.slice(1) };
    expect(JSON.stringify(stepByStep(c.steps(s), []).result)).to.equal(JSON.stringify(compile(s, OPTS)));
    // The synchronous form of the same compiler agrees too.
    expect(JSON.stringify(c.compile(s))).to.equal(JSON.stringify(compile(s, OPTS)));
  });

  it('a resource whose status did not move keeps its result object across compiles (callers skip it by identity)', () => {
    const c = createCompiler(OPTS);
    const s = cluster(2, 10);
    const first = c.compile(s);
    const h = s.staticHosts[0] as ReturnType<typeof staticHost>;
    const s2 = { ...s, staticHosts: [{ ...h, metadata: { ...h.metadata, resourceVersion: 'h2', generation: 2 } }, ...s.staticHosts.slice(1)] };
    const second = c.compile(s2);
    const byName = (r: typeof first) => new Map(r.resources.map((x) => [x.name, x]));
    const [a, b] = [byName(first), byName(second)];
    expect(b.get('h1')).to.equal(a.get('h1'));
    expect(b.get('corp')).to.equal(a.get('corp'));
    expect(b.get('h0')).to.not.equal(a.get('h0'));
    expect(b.get('h0')!.generation).to.equal(2);
    expect(JSON.stringify(second)).to.equal(JSON.stringify(compile(s2, OPTS)));
  });

  it('a namespace with many Services is built over several steps; the parse and reverse phases yield inside (StaticHosts, contributions)', () => {
    // One namespace (its shard is the services phase's only one: no yield between namespaces) of
    // 6 × STEP_SERVICES Services, and 300 StaticHosts with PTRs in the operator's namespace.
    const s = cluster(1, 6 * STEP_SERVICES);
    const phases: CompilePhase[] = [];
    const { result, phasesAtYield } = stepByStep(createCompiler({ ...OPTS, onPhase: (p) => phases.push(p) }).steps(s), phases);
    expect(JSON.stringify(result)).to.equal(JSON.stringify(compile(s, OPTS)));
    expect(phasesAtYield.filter((n) => n === 3).length, 'yields inside the one namespace\'s shard').to.be.at.least(5);
    // The reverse phase: the Services shard indexed, the names judged and the 302 StaticHost contributions filtered, STEP_ITEMS at a time.
    const ptrNames = 6 * STEP_SERVICES + 150;
    expect(phasesAtYield.filter((n) => n === 6).length).to.be.at.least(Math.floor(ptrNames / STEP_ITEMS) + Math.floor(302 / STEP_ITEMS));
    // The parse phase, 302 StaticHosts parsed STEP_ITEMS at a time.
    expect(phasesAtYield.filter((n) => n === 0).length).to.be.at.least(Math.floor(302 / STEP_ITEMS));
  });

  it('finish() runs steps to the end at once', () => {
    const s = cluster(2, 10);
    expect(JSON.stringify(finish(createCompiler(OPTS).steps(s)))).to.equal(JSON.stringify(compile(s, OPTS)));
  });
});
