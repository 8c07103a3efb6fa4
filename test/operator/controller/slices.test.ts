// The operator runs compile in slices (operator/controller/slices.ts, issue 16): while a compile
// of a large snapshot is in progress, the ops endpoint answers. Shown with conditions (the
// answer arrives while the compile has not ended), not with timings.

import http from 'node:http';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { compile, createCompiler } from '../../../operator/compile/index.js';
import type { CompilePhase } from '../../../operator/compile/index.js';
import { STEP_SERVICES } from '../../../operator/compile/steps.js';
import type { Steps } from '../../../operator/compile/index.js';
import { startOpsHttp } from '../../../operator/controller/ops-http.js';
import { runSliced } from '../../../operator/controller/slices.js';
import { OPTS, namespace, service, slice, snap } from '../compile/fixtures.js';

function bigCluster(namespaces: number, perNs: number) {
  const services = [], endpointSlices = [];
  for (let n = 0; n < namespaces; n++) {
    for (let i = 0; i < perNs; i++) {
      services.push(service(`ns${n}`, `svc${i}`, i % 4 === 0 ? { clusterIP: 'None', ports: [{ name: 'p', port: 80 }] } : { clusterIP: `10.96.${n}.${i + 1}`, ports: [{ name: 'p', port: 80 }] }));
      endpointSlices.push(slice(`ns${n}`, `svc${i}-a`, `svc${i}`, { ports: [{ name: 'p', port: 8080 }], endpoints: [{ addresses: [`10.244.${n}.${i + 1}`] }] }));
    }
  }
  return snap({ services, endpointSlices, namespaces: Array.from({ length: namespaces }, (_, n) => namespace(`ns${n}`)) });
}

const get = (port: number, path: string) => new Promise<number>((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); }).on('error', reject);
});

describe('operator controller: compile in slices', () => {
  it('runSliced gives the compile result and pauses only once a slice has run its length', async () => {
    const s = bigCluster(10, 30);
    let t = 0;
    let pauses = 0;
    // A fake clock: each step "takes" 1 ms; slices of 5 ms pause every 5 steps or so.
    const result = await runSliced(createCompiler(OPTS).steps(s), { sliceMs: 5, now: () => t++, pause: async () => { pauses++; } });
    expect(JSON.stringify(result)).to.equal(JSON.stringify(compile(s, OPTS)));
    expect(pauses).to.be.greaterThan(3);
    let never = 0;
    await runSliced(createCompiler(OPTS).steps(s), { sliceMs: 1e9, pause: async () => { never++; } });
    expect(never, 'no pause while the slice is not used up').to.equal(0);
  });

  it('a namespace with many Services is compiled over several slices (a long step would make a long slice)', async () => {
    // One namespace: before, its shard was one step, so no pause could fall inside it.
    const s = bigCluster(1, 8 * STEP_SERVICES);
    let t = 0, last: CompilePhase | undefined;
    const pausedAfter: (CompilePhase | undefined)[] = [];
    const slices: number[] = [];
    // A fake clock: each reading is 1 ms later; slices of 1 ms pause after every step.
    const result = await runSliced(createCompiler({ ...OPTS, onPhase: (p) => { last = p; } }).steps(s), { sliceMs: 1, now: () => t++, pause: async () => { pausedAfter.push(last); }, onSlice: (ms) => slices.push(ms) });
    expect(JSON.stringify(result)).to.equal(JSON.stringify(compile(s, OPTS)));
    expect(pausedAfter.filter((p) => p === 'index').length, 'pauses while the services phase runs').to.be.at.least(6);
    expect(slices.length).to.equal(pausedAfter.length + 1);
  });

  it('runSliced tells each slice\'s length, a long step making a long slice (the operator exports the longest)', async () => {
    // Steps of these lengths on a fake clock; slices of 5 ms: [1, 2, 3] [9] [1, 1] (the last, ended by the result).
    const costs = [1, 2, 3, 9, 1, 1];
    let t = 0;
    function* steps(): Generator<void, string, void> { for (const c of costs) { t += c; yield; } return 'done'; }
    const slices: number[] = [];
    const order: string[] = [];
    const result = await runSliced(steps(), { sliceMs: 5, now: () => t, pause: async () => { order.push('pause'); }, onSlice: (ms) => { slices.push(ms); order.push(`slice ${ms}`); } });
    expect(result).to.equal('done');
    expect(slices).to.deep.equal([6, 9, 2]);
    expect(order, 'each slice is told before its pause').to.deep.equal(['slice 6', 'pause', 'slice 9', 'pause', 'slice 2']);
  });

  it('/healthz and /metrics are answered while a large compile is still running', async () => {
    const ops = await startOpsHttp('127.0.0.1', 0, () => true, new Registry(), () => ({}));
    try {
      const s = bigCluster(40, 50);
      let compiling = true;
      let answeredDuring = 0;
      // The requests are sent first; the compile then runs in slices of 1 ms. With one
      // synchronous compile neither could be answered before it ends.
      const asks = ['/healthz', '/metrics'].map((p) => get(ops.port, p).then((code) => { expect(code).to.equal(200); if (compiling) answeredDuring++; }));
      const steps: Steps<ReturnType<typeof compile>> = createCompiler(OPTS).steps(s);
      const result = await runSliced(steps, { sliceMs: 1 });
      compiling = false;
      await Promise.all(asks);
      expect(answeredDuring, 'requests answered while the compile ran').to.equal(2);
      expect(result.bundle.shards.filter((x) => x.kind === 'services')).to.have.length(40);
    } finally { await ops.close(); }
  });
});
