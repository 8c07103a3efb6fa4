// The status writer's pure parts: condition times (the writer is their only owner) and Event names.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { KubeApiError, OPERATOR_USER_AGENT, SPLITDNS_VERSION } from '../../../kube/kube-client.js';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';
import { desiredStatus, eventName, stampTransitions, StatusWriter } from '../../../operator/controller/status-writer.js';
import type { DesiredStatus } from '../../../operator/controller/status-writer.js';
import { until } from '../../helpers/until.js';

const T0 = Date.parse('2026-02-01T10:00:00Z');
const c = (type: string, status: 'True' | 'False' | 'Unknown', lastTransitionTime?: string) => ({ type, status, reason: 'R', message: 'm', observedGeneration: 1, ...(lastTransitionTime ? { lastTransitionTime } : {}) });

describe('operator controller: status times and Event names', () => {
  const cases: [string, DesiredStatus, any, Record<string, string>][] = [
    ['stamps every condition with now when there is no previous status',
      { observedGeneration: 1, conditions: [c('Accepted', 'True'), c('Ready', 'Unknown')] }, undefined,
      { Accepted: '2026-02-01T10:00:00Z', Ready: '2026-02-01T10:00:00Z' }],
    ['keeps the previous time while the status holds, stamps now where it changed',
      { observedGeneration: 2, conditions: [c('Accepted', 'True'), c('Ready', 'True')] },
      { conditions: [c('Accepted', 'True', '2025-12-24T00:00:00Z'), c('Ready', 'Unknown', '2025-12-24T00:00:00Z')] },
      { Accepted: '2025-12-24T00:00:00Z', Ready: '2026-02-01T10:00:00Z' }],
    ['ignores a time supplied with the desired condition (compile does not own times)',
      { observedGeneration: 1, conditions: [c('Accepted', 'False', '1999-01-01T00:00:00Z') as any] },
      { conditions: [c('Accepted', 'True', '2025-12-24T00:00:00Z')] },
      { Accepted: '2026-02-01T10:00:00Z' }],
  ];
  for (const [name, desired, prev, want] of cases) {
    it(name, () => {
      const got = stampTransitions(desired, prev, T0);
      expect(Object.fromEntries(got.conditions.map((x) => [x.type, x.lastTransitionTime]))).to.deep.equal(want);
      for (const x of got.conditions) expect(Object.keys(x)).to.deep.equal([...Object.keys(x)].sort()); // canonical key order
    });
  }

  it('names Events <object>.<hex>: a DNS subdomain the apiserver accepts, distinct within one millisecond', () => {
    const a = eventName('db', T0), b = eventName('db', T0);
    expect(a).to.match(/^db\.[0-9a-f]+$/);
    expect(a).to.not.equal(b);
    const long = eventName('x'.repeat(253), T0);
    expect(long.length).to.be.at.most(253);
    expect(long).to.match(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  });

  it('names itself in its User-Agent with the package version', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'package.json'), 'utf8'));
    expect(SPLITDNS_VERSION).to.equal(pkg.version);
    expect(OPERATOR_USER_AGENT).to.equal(`splitdns-operator/${pkg.version}`);
  });
});

describe('operator controller: status writer failures', () => {
  it('logs a failed status or Event write at warn once per kind of failure, then at debug', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => { const j = JSON.parse(l); lines.push({ level: j.level, msg: j.msg }); } });
    let code = 403;
    const client = { kc: undefined as any, request: async (method: string) => { if (method === 'PATCH' && code) throw new KubeApiError(code, 'Forbidden', 'no'); if (method === 'POST') throw new KubeApiError(422, 'Invalid', 'bad event'); return {} as any; } };
    const w = new StatusWriter({ client, logger, metrics: new OperatorMetrics(new Registry()), reporter: { controller: 'c', instance: 'i' }, now: () => T0 });
    const r = (name: string) => ({ kind: 'StaticHost' as const, namespace: 'ns', name, uid: name, generation: 1, shardIds: [], status: { observedGeneration: 1, conditions: [c('Accepted', 'True') as any] } });
    for (const n of ['a', 'b', 'c']) await w.write(r(n), desiredStatus(r(n), false, false), undefined);
    code = 0; // status writes succeed now; each Event POST fails with 422
    for (const n of ['d', 'e']) await w.write(r(n), desiredStatus(r(n), false, false), undefined);
    const warn = lines.filter((l) => l.level === 40).map((l) => l.msg);
    const debug = lines.filter((l) => l.level === 20).map((l) => l.msg);
    expect(warn).to.deep.equal(['cannot write status (further failures of this kind are logged at debug)', 'cannot record event (further failures of this kind are logged at debug)']);
    expect(debug).to.deep.equal(['cannot write status', 'cannot write status', 'cannot record event']);
    // The failed patches are counted, so the operator knows the statuses are not all written.
    expect(w.statusFailures).to.equal(3);
  });
});

describe('operator controller: status writer skips what it has settled', () => {
  const r = { kind: 'StaticHost' as const, namespace: 'ns', name: 'h', uid: 'h', generation: 1, shardIds: [], status: { observedGeneration: 1, conditions: [c('Accepted', 'True') as any] } };
  function writer() {
    const patches: unknown[] = [];
    let fail = false;
    const client = { kc: undefined as any, request: async (method: string, _path: string, body?: any) => {
      if (method === 'PATCH' && _path.endsWith('/status')) { if (fail) throw new KubeApiError(500, 'InternalError', 'boom'); patches.push(body); }
      return { metadata: { name: 'e' } } as any;
    } };
    const w = new StatusWriter({ client, logger: pino({ level: 'silent' }), metrics: new OperatorMetrics(new Registry()), reporter: { controller: 'c', instance: 'i' }, now: () => T0 });
    return { w, patches, setFail: (f: boolean) => { fail = f; } };
  }

  it('one patch carries every condition; the same desired and live objects again write nothing', async () => {
    const { w, patches } = writer();
    const desired = desiredStatus(r, true, false);
    expect(await w.write(r, desired, undefined)).to.equal(true);
    expect(patches).to.have.length(1);
    expect((patches[0] as any).status.conditions.map((x: any) => x.type)).to.deep.equal(['Accepted', 'Programmed', 'Ready']);
    const live = { metadata: { uid: 'h' }, status: (patches[0] as any).status };
    expect(await w.write(r, desired, live)).to.equal(false);
    expect(await w.write(r, desired, live)).to.equal(false);
    expect(patches).to.have.length(1);
  });

  it('says settled only for the desired and live objects last found written (the operator then skips write())', async () => {
    const { w, patches } = writer();
    const desired = desiredStatus(r, true, false);
    expect(w.settled(r, desired, undefined), 'nothing written yet').to.equal(false);
    await w.write(r, desired, undefined);
    const live = { metadata: { uid: 'h' }, status: (patches[0] as any).status };
    expect(w.settled(r, desired, live), 'this live object not yet compared').to.equal(false);
    expect(await w.write(r, desired, live)).to.equal(false);
    expect(w.settled(r, desired, live)).to.equal(true);
    expect(w.settled(r, desiredStatus(r, false, false), live), 'another desired object').to.equal(false);
    expect(w.settled(r, desired, { ...live }), 'another live object').to.equal(false);
  });

  it('a failed patch is not settled: the same objects are written again on the next call', async () => {
    const { w, patches, setFail } = writer();
    const desired = desiredStatus(r, true, false);
    setFail(true);
    expect(await w.write(r, desired, undefined)).to.equal(false);
    expect(w.statusFailures).to.equal(1);
    setFail(false);
    expect(await w.write(r, desired, undefined)).to.equal(true);
    expect(patches).to.have.length(1);
  });

  it('a live status changed by someone else is compared again and written back', async () => {
    const { w, patches } = writer();
    const desired = desiredStatus(r, true, false);
    await w.write(r, desired, undefined);
    const live = { metadata: { uid: 'h' }, status: (patches[0] as any).status };
    expect(await w.write(r, desired, live)).to.equal(false);
    w.reset(); // a new leader: what was written is forgotten
    const edited = { metadata: { uid: 'h' }, status: { observedGeneration: 1, conditions: [] } };
    expect(await w.write(r, desired, edited)).to.equal(true);
    expect(patches).to.have.length(2);
  });
});

describe('operator controller: an object\'s Events in order', () => {
  it('posts an object\'s Programmed Event only after its Accepted Event, though the queue runs newer changes first', async () => {
    const posted: string[] = [];
    const held: (() => void)[] = [];
    const client = { kc: undefined as any, request: async (method: string, path: string, body?: any) => {
      if (method === 'POST' && path.includes('/events')) {
        posted.push(body.reason);
        await new Promise<void>((res) => held.push(res)); // the apiserver answers when the test says
      }
      return { metadata: { name: 'e' } } as any;
    } };
    let now = T0;
    const w = new StatusWriter({ client, logger: pino({ level: 'silent' }), metrics: new OperatorMetrics(new Registry()), reporter: { controller: 'c', instance: 'i' }, now: () => now });
    const r = { kind: 'StaticHost' as const, namespace: 'ns', name: 'h', uid: 'h', generation: 1, shardIds: [], status: { observedGeneration: 1, conditions: [c('Accepted', 'True') as any] } };
    expect(await w.write(r, desiredStatus(r, false, false), undefined)).to.equal(true);
    await until('the Accepted Event posted', () => posted.length === 1);
    now += 1000;
    expect(await w.write(r, desiredStatus(r, true, false), undefined)).to.equal(true); // Programmed: a newer change
    // The status patch went through; its Event waits for the object's earlier one.
    for (let i = 0; i < 20; i++) await new Promise((res) => setImmediate(res));
    expect(posted).to.deep.equal(['Accepted']);
    held.shift()!();
    await until('the Programmed Event posted', () => posted.length === 2);
    expect(posted).to.deep.equal(['Accepted', 'Programmed']);
    held.shift()!();
    await w.close();
  });
});
