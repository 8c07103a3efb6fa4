// The API double's own semantics: what the operator's tests rely on.

import { expect } from 'chai';
import http from 'node:http';
import { KubeApiDouble } from './server.js';
import { matchesSelector, mergePatch } from './resources.js';
import { until } from '../helpers/until.js';

async function call(d: KubeApiDouble, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; json: any }> {
  const res = await fetch(d.url + path, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Opens a watch and collects its events until it ends or `count` arrived. */
/** Collects a watch's events until `count` arrived or the server ends it; `events` fills as they come. */
function watch(d: KubeApiDouble, path: string, count: number): Promise<{ events: any[]; ended: boolean }> & { events: any[] } {
  const events: any[] = [];
  return Object.assign(new Promise<{ events: any[]; ended: boolean }>((resolve, reject) => {
    let buf = '';
    const req = http.get(d.url + path, (res) => {
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) { events.push(JSON.parse(buf.slice(0, i))); buf = buf.slice(i + 1); }
        if (events.length >= count) { req.destroy(); resolve({ events, ended: false }); }
      });
      res.on('end', () => resolve({ events, ended: true }));
    });
    req.on('error', (err) => { if (events.length < count) reject(err); });
  }), { events });
}


const CM = '/api/v1/namespaces/ns1/configmaps';
const ZONES = '/apis/splitdns.io/v1alpha1/dnszones';

describe('kube-api-double', () => {
  let d: KubeApiDouble;
  beforeEach(async () => { d = await KubeApiDouble.start({ bookmarkMs: 0 }); });
  afterEach(async () => { await d.close(); });

  it('creates, lists by label selector with a resourceVersion, gets, and 404s what is absent', async () => {
    const a = await call(d, 'POST', CM, { metadata: { name: 'a', labels: { app: 'x' } }, data: { k: 'v' } });
    expect(a.status).to.equal(201);
    expect(a.json.metadata).to.include({ name: 'a', namespace: 'ns1', generation: 1 });
    await call(d, 'POST', CM, { metadata: { name: 'b', labels: { app: 'y' } } });
    await call(d, 'POST', '/api/v1/namespaces/ns2/configmaps', { metadata: { name: 'c', labels: { app: 'x' } } });
    expect((await call(d, 'POST', CM, { metadata: { name: 'a' } })).status).to.equal(409);
    const list = await call(d, 'GET', `${CM}?labelSelector=app%3Dx`);
    expect(list.json.items.map((o: any) => o.metadata.name)).to.deep.equal(['a']);
    expect(Number(list.json.metadata.resourceVersion)).to.be.at.least(Number(a.json.metadata.resourceVersion));
    expect((await call(d, 'GET', '/api/v1/configmaps?labelSelector=app%3Dx')).json.items).to.have.length(2);
    expect((await call(d, 'GET', `${CM}/zzz`)).status).to.equal(404);
    expect((await call(d, 'GET', '/api/v1/widgets')).status).to.equal(404);
  });

  it('answers 409 Conflict to an update with a stale resourceVersion', async () => {
    const a = (await call(d, 'POST', CM, { metadata: { name: 'a' }, data: { k: '1' } })).json;
    const ok = await call(d, 'PUT', `${CM}/a`, { ...a, data: { k: '2' } });
    expect(ok.status).to.equal(200);
    const stale = await call(d, 'PUT', `${CM}/a`, { ...a, data: { k: '3' } });
    expect(stale.status).to.equal(409);
    expect(stale.json.reason).to.equal('Conflict');
    expect((await call(d, 'GET', `${CM}/a`)).json.data).to.deep.equal({ k: '2' });
  });

  it('bumps generation on spec changes only; the status subresource changes status only', async () => {
    const z = (await call(d, 'POST', ZONES, { metadata: { name: 'z' }, spec: { domain: 'example.org' }, status: { x: 1 } })).json;
    expect(z.metadata.namespace).to.equal(undefined);
    const patched = (await call(d, 'PATCH', `${ZONES}/z`, { spec: { ttl: 60 }, status: { ignored: true } }, 'application/merge-patch+json')).json;
    expect(patched.metadata.generation).to.equal(2);
    expect(patched.spec).to.deep.equal({ domain: 'example.org', ttl: 60 });
    expect(patched.status).to.deep.equal({ x: 1 });
    const st = (await call(d, 'PATCH', `${ZONES}/z/status`, { status: { observedGeneration: 2 }, spec: { domain: 'nope.org' } }, 'application/merge-patch+json')).json;
    expect(st.metadata.generation).to.equal(2);
    expect(st.spec.domain).to.equal('example.org');
    expect(st.status).to.deep.equal({ x: 1, observedGeneration: 2 });
    expect((await call(d, 'PATCH', `${ZONES}/z`, [{ op: 'add' }], 'application/json-patch+json')).status).to.equal(415);
  });

  it('watches from a resourceVersion (replaying history), sends bookmarks when asked, and ends on dropWatches', async () => {
    const a = (await call(d, 'POST', CM, { metadata: { name: 'a' } })).json;
    await call(d, 'POST', CM, { metadata: { name: 'b' } });
    await call(d, 'DELETE', `${CM}/a`);
    const replay = await watch(d, `${CM}?watch=true&resourceVersion=${a.metadata.resourceVersion}`, 2);
    expect(replay.events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED b', 'DELETED a']);
    const fresh = await watch(d, `${CM}?watch=true`, 1);
    expect(fresh.events.map((e) => `${e.type} ${e.object.metadata.name}`)).to.deep.equal(['ADDED b']);
    const live = watch(d, `${CM}?watch=true&allowWatchBookmarks=true&resourceVersion=${a.metadata.resourceVersion}`, 10);
    await until('the replay read (the watch is open)', () => live.events.length === 2);
    d.sendBookmarks();
    await call(d, 'POST', CM, { metadata: { name: 'c' } });
    await until('the watches whose clients went away are dropped', () => d.watchCount() === 1);
    d.dropWatches();
    const got = await live;
    expect(got.ended).to.equal(true);
    expect(got.events.map((e) => e.type)).to.deep.equal(['ADDED', 'DELETED', 'BOOKMARK', 'ADDED']);
  });

  it('answers a watch from a compacted resourceVersion with a 410 ERROR event, and expires open watches', async () => {
    const a = (await call(d, 'POST', CM, { metadata: { name: 'a' } })).json;
    await call(d, 'POST', CM, { metadata: { name: 'b' } });
    d.compact();
    const gone = await watch(d, `${CM}?watch=true&resourceVersion=${a.metadata.resourceVersion}`, 5);
    expect(gone.ended).to.equal(true);
    expect(gone.events).to.have.length(1);
    expect(gone.events[0]).to.deep.include({ type: 'ERROR' });
    expect(gone.events[0].object.code).to.equal(410);
    const open = watch(d, `${CM}?watch=true&resourceVersion=${(await call(d, 'GET', CM)).json.metadata.resourceVersion}`, 5);
    await until('the watch is open', () => d.watchCount() === 1); // (the 410 one above never was)
    d.expireWatches();
    const expired = await open;
    expect(expired.events.map((e) => [e.type, e.object.code])).to.deep.equal([['ERROR', 410]]);
  });

  it('answers lists and watches with 503 during an outage while item writes still work', async () => {
    d.outage = true;
    expect((await call(d, 'GET', CM)).status).to.equal(503);
    expect((await call(d, 'POST', CM, { metadata: { name: 'a' } })).status).to.equal(201);
    d.outage = false;
    expect((await call(d, 'GET', CM)).json.items).to.have.length(1);
  });

  it('matches equality-based selectors and applies RFC 7386 merge patches', () => {
    expect(matchesSelector({ a: '1', b: '2' }, 'a=1,b')).to.equal(true);
    expect(matchesSelector({ a: '1' }, 'a!=1')).to.equal(false);
    expect(matchesSelector({ a: '1' }, '!b,a==1')).to.equal(true);
    expect(matchesSelector({}, 'a')).to.equal(false);
    expect(mergePatch({ a: { b: 1, c: 2 }, d: [1] }, { a: { b: null, e: 3 }, d: [2] })).to.deep.equal({ a: { c: 2, e: 3 }, d: [2] });
  });
});
