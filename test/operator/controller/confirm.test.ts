// The Confirmer against a replica's real /status endpoint (HTTP on loopback) and a scripted pod
// list: a poll overtaken by a newer bundle polls again, the statuses of a compile are written
// even when the replicas cannot be listed, and a poll's retries reuse its pod list.

import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Confirmer, POD_LIST_REUSE_MS } from '../../../operator/controller/confirm.js';
import type { KubeClient } from '../../../kube/kube-client.js';
import { until } from '../../helpers/until.js';

const silent = pino({ level: 'silent' });

const readyPod = { metadata: { name: 'dns-0' }, status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } };

describe('operator controller: Confirmer', () => {
  let server: http.Server;
  let port = 0;
  /** What the replica says it serves. */
  let serving: { id: string; hash: string }[] = [];
  /** The replica answers 503 (not reachable, as the Confirmer sees it). */
  let failing = false;
  before(async () => {
    server = http.createServer((_req, res) => {
      if (failing) { res.statusCode = 503; res.end(); return; }
      res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ shards: serving }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('polls again when a newer bundle was tracked while a poll was in flight (it used to stop: Programmed never came)', async () => {
    const lists: ((v: unknown) => void)[] = [];
    const client = { request: () => new Promise((resolve) => { lists.push(resolve); }) } as unknown as KubeClient;
    const served: number[][] = [];
    let reads = 0;
    const c = new Confirmer({
      client, namespace: 'splitdns', labelSelector: 'app=dns', statusPort: port, statusPortName: 'http', logger: silent, intervalMs: 10,
      onRead: async () => { reads++; return true; },
      onServed: (seen) => served.push(seen),
    });
    try {
      c.track(new Map([['hosts', 'h1']]), 1);
      c.poll();
      await until('the first pod list to be asked', () => lists.length === 1);
      // A newer bundle while that poll waits for the pod list.
      c.track(new Map([['hosts', 'h2']]), 2);
      c.poll();
      serving = [{ id: 'hosts', hash: 'h2' }];
      lists.shift()!({ items: [readyPod] });
      await until('a second pod list to be asked', () => lists.length === 1);
      lists.shift()!({ items: [readyPod] });
      await until('the newer bundle confirmed', () => served.length === 1);
      expect(served[0]).to.deep.equal([1, 2]);
      expect(reads, 'the stale answer wrote nothing').to.equal(1);
      expect(c.programmed({ key: 'k', generation: 3, accepted: true, shardIds: ['hosts'] })).to.equal(true);
    } finally { c.close(); }
  });

  it('writes the statuses after a publish even when the pods cannot be listed, and keeps polling', async () => {
    let lists = 0;
    const client = { request: async () => { lists++; throw new Error('503 apiserver unavailable'); } } as unknown as KubeClient;
    let reads = 0;
    const c = new Confirmer({ client, namespace: 'splitdns', labelSelector: 'app=dns', statusPort: port, statusPortName: 'http', logger: silent, intervalMs: 1, onRead: async () => { reads++; return true; } });
    try {
      c.track(new Map([['hosts', 'h1']]), 1);
      c.poll();
      await until('two polls', () => lists >= 2 && reads >= 2);
      expect(c.programmed({ key: 'k', generation: 1, accepted: true, shardIds: ['hosts'] })).to.equal(false);
    } finally { c.close(); }
  });

  it('does not reuse an empty pod list: a replica ready after the first read is asked on the next retry, not a second later', async () => {
    // The first list finds no ready replica (a cold start: the DNS servers still loading), the next one finds it.
    let lists = 0;
    const client = { request: async () => (++lists === 1 ? { items: [] } : { items: [readyPod] }) } as unknown as KubeClient;
    const served: number[][] = [];
    // The clock stands still: a reused list would never be a second old, so only a fresh list finds the replica.
    const c = new Confirmer({ client, namespace: 'splitdns', labelSelector: 'app=dns', statusPort: port, statusPortName: 'http', logger: silent, intervalMs: 1, maxIntervalMs: 1, now: () => 0,
      onRead: async () => true, onServed: (seen) => served.push(seen) });
    try {
      serving = [{ id: 'hosts', hash: 'h1' }];
      failing = false;
      c.track(new Map([['hosts', 'h1']]), 1);
      c.poll();
      await until('confirmed once the replica is listed', () => served.length >= 1);
      expect(lists).to.be.greaterThan(1);
    } finally { c.close(); }
  });

  it('lists the pods once per poll: its retries ask the same replicas, unless one did not answer or the list is a second old', async () => {
    let lists = 0;
    const client = { request: async () => { lists++; return { items: [readyPod] }; } } as unknown as KubeClient;
    let reads = 0;
    let now = 0;
    const served: number[][] = [];
    const c = new Confirmer({ client, namespace: 'splitdns', labelSelector: 'app=dns', statusPort: port, statusPortName: 'http', logger: silent, intervalMs: 1, maxIntervalMs: 1, now: () => now,
      onRead: async () => { reads++; return true; }, onServed: (seen) => served.push(seen) });
    try {
      serving = [{ id: 'hosts', hash: 'h0' }];
      failing = false;
      c.track(new Map([['hosts', 'h1']]), 1);
      c.poll();
      await until('three reads of the old hash', () => reads >= 3);
      expect(lists, 'one pod list for the retries of one poll').to.equal(1);
      // The replica stops answering: the next retry lists again (it may be gone).
      failing = true;
      const r0 = reads;
      await until('a read that found it unreachable, and a retry after it', () => lists > 1 && reads >= r0 + 2);
      failing = false;
      await until('the replica answering again', async () => { const l = lists; const r = reads; await until('two reads', () => reads >= r + 2); return lists === l; });
      // A second old list is listed again.
      const l1 = lists;
      now += POD_LIST_REUSE_MS;
      await until('a list after a second', () => lists > l1);
      // A new poll (a publish) lists afresh, and confirms.
      serving = [{ id: 'hosts', hash: 'h1' }];
      const l2 = lists;
      c.poll();
      // >= 1: a poll in flight when poll() was called may confirm too (on the list it had), then
      // the one it asked for, which lists afresh: waited for, not expected at the first confirmation.
      await until('confirmed, and the pods listed afresh', () => served.length >= 1 && lists > l2);
    } finally { c.close(); failing = false; }
  });
});
