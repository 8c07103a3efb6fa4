// The status writer's queue: client-side QPS/burst, bounded concurrency, newest change first,
// a queued write replaced by a newer one; and Events aggregated into a series (issue 16).

import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { KubeApiError } from '../../../kube/kube-client.js';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';
import { desiredStatus, StatusWriter } from '../../../operator/controller/status-writer.js';
import { TokenBucket, WriteQueue } from '../../../operator/controller/write-queue.js';
import { until } from '../../helpers/until.js';

/** A fake monotonic clock whose sleep advances it. */
function fakeTime() {
  let t = 0;
  const sleeps: number[] = [];
  return { now: () => t, sleep: async (ms: number) => { sleeps.push(ms); t += ms; }, sleeps };
}

describe('operator controller: write queue', () => {
  it('a token bucket gives `burst` at once, then one per 1/qps', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.wait(), b.wait(), b.wait()]).to.deep.equal([0, 0, 0]);
    expect(b.wait()).to.equal(100);
    t += 100;
    expect(b.wait()).to.equal(0);
  });

  it('reports its depth (waiting and in flight) on every change, down to 0 when all is written', async () => {
    const depths: number[] = [];
    const q = new WriteQueue({ qps: 1000, burst: 1000, concurrency: 2, onDepth: (n) => depths.push(n) });
    await Promise.all([1, 2, 3].map((i) => q.enqueue(`k${i}`, 0, async () => i)));
    expect(depths[depths.length - 1]).to.equal(0);
    expect(Math.max(...depths)).to.equal(3);
  });

  it('never runs two jobs of one key at once: a newer write waits for the one in flight', async () => {
    const q = new WriteQueue({ qps: 1000, burst: 1000, concurrency: 8 });
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const first = q.enqueue('status a', 0, async () => { order.push('a1 start'); await held; order.push('a1 end'); return 1; });
    await new Promise((r) => setImmediate(r));
    const second = q.enqueue('status a', 0, async () => { order.push('a2 start'); return 2; });
    const other = q.enqueue('status b', 0, async () => { order.push('b'); return 3; });
    expect(await other).to.equal(3);
    expect(order).to.deep.equal(['a1 start', 'b']);
    release();
    expect(await Promise.all([first, second])).to.deep.equal([1, 2]);
    expect(order).to.deep.equal(['a1 start', 'b', 'a1 end', 'a2 start']);
  });

  it('close() drops the waiting writes, refuses new ones, and settles only after the ones in flight end', async () => {
    const q = new WriteQueue({ qps: 1000, burst: 1000, concurrency: 1 });
    const ran: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const inFlight = q.enqueue('a', 0, async () => { ran.push('a'); await held; return 'a'; });
    await until('a in flight', () => ran.includes('a'));
    const waiting = q.enqueue('b', 0, async () => { ran.push('b'); return 'b'; });
    let closed = false;
    const closing = q.close().then(() => { closed = true; });
    expect(await waiting, 'a waiting write is dropped').to.equal(undefined);
    expect(await q.enqueue('c', 0, async () => { ran.push('c'); return 'c'; }), 'a write after close is refused').to.equal(undefined);
    await new Promise((r) => setImmediate(r));
    expect(closed, 'close() waits for the write in flight').to.equal(false);
    release();
    await closing;
    expect(await inFlight).to.equal('a');
    expect(ran).to.deep.equal(['a']);
  });

  it('runs 300 writes at qps 100 / burst 50 in 2.5 s of (fake) time, never more than `concurrency` at once', async () => {
    const clock = fakeTime();
    const q = new WriteQueue({ qps: 100, burst: 50, concurrency: 4, now: clock.now, sleep: clock.sleep });
    let inFlight = 0, most = 0;
    const jobs = Array.from({ length: 300 }, (_, i) => q.enqueue(`k${i}`, 0, async () => {
      inFlight++; most = Math.max(most, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return i;
    }));
    const got = await Promise.all(jobs);
    expect(got).to.deep.equal(Array.from({ length: 300 }, (_, i) => i));
    expect(most).to.equal(4);
    expect(clock.now()).to.be.within(2490, 2510); // 250 writes beyond the burst at 100/s
  });

  it('runs the most recently changed first, and a queued job replaced under its key runs once, newest', async () => {
    const q = new WriteQueue({ qps: 1000, burst: 1000, concurrency: 1 });
    const order: string[] = [];
    const job = (name: string) => async () => { order.push(name); return name; };
    const first = q.enqueue('a', 1, job('a1')); // starts at once: the queue is idle
    const b = q.enqueue('b', 2, job('b'));
    const c = q.enqueue('c', 5, job('c'));
    const old = q.enqueue('d', 3, job('d-old'));
    const d = q.enqueue('d', 4, job('d-new'));
    expect(await Promise.all([first, b, c, old, d])).to.deep.equal(['a1', 'b', 'c', undefined, 'd-new']);
    expect(order).to.deep.equal(['a1', 'c', 'd-new', 'b']);
  });
});

describe('operator controller: Events as a series', () => {
  it('a repeat of (object, reason) PATCHes the Event\'s series count instead of creating another', async () => {
    const calls: { method: string; path: string; body: any }[] = [];
    const client = { kc: undefined as any, request: async (method: string, path: string, body?: unknown) => { calls.push({ method, path, body }); return {} as any; } };
    let t = Date.parse('2026-02-01T10:00:00Z');
    const w = new StatusWriter({ client, logger: pino({ level: 'silent' }), metrics: new OperatorMetrics(new Registry()), reporter: { controller: 'c', instance: 'i' }, now: () => t });
    const cond = (status: 'True' | 'False', reason: string) => ({ type: 'Accepted', status, reason, message: reason, observedGeneration: 1 });
    const r = (status: 'True' | 'False', reason: string) => ({ kind: 'StaticHost' as const, namespace: 'ns', name: 'h', uid: 'u1', generation: 1, shardIds: [], status: { observedGeneration: 1, conditions: [cond(status, reason) as any] } });
    // Invalid → Accepted → Invalid → Accepted: two reasons, each seen twice.
    for (const [s, why] of [['False', 'Invalid'], ['True', 'Accepted'], ['False', 'Invalid'], ['True', 'Accepted']] as const) {
      t += 1000;
      await w.write(r(s, why), desiredStatus(r(s, why), false, false), undefined);
    }
    // Events are not awaited by write() (they queue behind statuses and the object's earlier Events).
    const events = await until('four Event writes', () => { const e = calls.filter((c) => c.path.includes('/events')); return e.length >= 4 ? e : undefined; });
    expect(events.map((c) => c.method)).to.deep.equal(['POST', 'POST', 'PATCH', 'PATCH']);
    const [firstInvalid, , repeatInvalid] = events;
    expect(repeatInvalid.path.endsWith(`/events/${firstInvalid.body.metadata.name}`)).to.equal(true);
    expect(repeatInvalid.body.series).to.deep.equal({ count: 2, lastObservedTime: '2026-02-01T10:00:03.000000Z' });
  });

  it('records the Event anew when the one it would count has expired (404)', async () => {
    const methods: string[] = [];
    const client = { kc: undefined as any, request: async (method: string, path: string) => { methods.push(method); if (method === 'PATCH' && path.includes('/events/')) throw new KubeApiError(404, 'NotFound', 'gone'); return {} as any; } };
    let t = 0;
    const lines: string[] = [];
    const w = new StatusWriter({ client, logger: pino({ level: 'debug' }, { write: (l: string) => { lines.push(l); } }), metrics: new OperatorMetrics(new Registry()), reporter: { controller: 'c', instance: 'i' }, now: () => (t += 1000) });
    const r = (status: 'True' | 'False') => ({ kind: 'StaticHost' as const, namespace: 'ns', name: 'h', uid: 'u1', generation: 1, shardIds: [], status: { observedGeneration: 1, conditions: [{ type: 'Accepted', status, reason: status === 'True' ? 'Accepted' : 'Invalid', message: 'm', observedGeneration: 1 } as any] } });
    for (const s of ['True', 'False', 'True'] as const) await w.write(r(s), desiredStatus(r(s), false, false), undefined);
    // status PATCH + Event POST, twice; then status PATCH, the series PATCH (404), a new POST
    await until('seven writes', () => methods.length >= 7);
    expect(methods, lines.join('')).to.deep.equal(['PATCH', 'POST', 'PATCH', 'POST', 'PATCH', 'PATCH', 'POST']);
  });
});
