// The publisher reads what is already published in pages (a restart at 10,000 Services found
// 100+ ConfigMaps, ~6 MB of JSON parsed in one go), and what it
// read from every page counts: a restart with nothing changed writes nothing.

import { expect } from 'chai';
import pino from 'pino';
import { Registry } from 'prom-client';
import { configMapName, HASH_ANNOTATION, SHARD_ID_ANNOTATION } from '../../../dns-server/config/configmap-form.js';
import type { Shard } from '../../../dns-server/config/index.js';
import type { KubeClient } from '../../../kube/kube-client.js';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';
import { LOAD_PAGE_SIZE, Publisher } from '../../../operator/controller/publish.js';

/**
 * A client serving `n` published shard ConfigMaps by label, in pages as the apiserver does (limit,
 * continue); it records every request. `failPage(from)`: an error to throw instead of the page
 * that starts at `from` (an expired continue token: 410); `beforePage(from)`: awaited before a
 * page is served (a test holds a page there).
 */
function pagedClient(n: number, failPage?: (from: number) => Error | undefined, beforePage?: (from: number) => Promise<void>) {
  const cms = Array.from({ length: n }, (_, i) => ({ metadata: { name: configMapName(`services/ns-${i}`), resourceVersion: String(100 + i), annotations: { [SHARD_ID_ANNOTATION]: `services/ns-${i}`, [HASH_ANNOTATION]: `h${i}` } } }));
  const requests: { method: string; path: string; body?: any }[] = [];
  const client = {
    request: async (method: string, path: string, body?: unknown) => {
      requests.push({ method, path, body });
      if (method !== 'GET') return { metadata: { resourceVersion: '999' } };
      const q = new URL(path, 'http://x').searchParams;
      await beforePage?.(Number(q.get('continue') ?? 0));
      const err = failPage?.(Number(q.get('continue') ?? 0));
      if (err !== undefined) throw err;
      const from = Number(q.get('continue') ?? 0), limit = Number(q.get('limit') ?? n);
      const to = Math.min(n, from + limit);
      return { items: cms.slice(from, to), metadata: to < n ? { continue: String(to) } : {} };
    },
  } as unknown as KubeClient;
  return { client, requests, cms };
}
const shards = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `services/ns-${i}`, kind: 'services', hash: `h${i}` }) as unknown as Shard);

describe('operator publish: reading what is published', () => {
  it('reads the published ConfigMaps in pages, and a publish of the same shards then writes nothing', async () => {
    const n = LOAD_PAGE_SIZE * 6 + 5;
    const { client, requests } = pagedClient(n);
    const p = new Publisher(client, 'splitdns', pino({ level: 'silent' }), new OperatorMetrics(new Registry()));
    const out = await p.publish(shards(n));
    const gets = requests.filter((r) => r.method === 'GET');
    expect(gets, 'one GET per page').to.have.length(7);
    for (const g of gets) expect(new URL(g.path, 'http://x').searchParams.get('limit')).to.equal(String(LOAD_PAGE_SIZE));
    expect(out, 'every page was read: the shards of the last page too are known').to.deep.equal({ written: [], deleted: [], unchanged: n, errors: 0 });
    expect(requests.filter((r) => r.method !== 'GET')).to.deep.equal([]);
  });

  it('updates a shard found on a later page with the resourceVersion read there', async () => {
    const n = LOAD_PAGE_SIZE * 2 + 1;
    const { client, requests } = pagedClient(n);
    const p = new Publisher(client, 'splitdns', pino({ level: 'silent' }), new OperatorMetrics(new Registry()), Infinity);
    const changed = shards(n).map((s, i) => (i === n - 1 ? { ...s, hash: 'moved', rrsets: [] } as unknown as Shard : s));
    // configMap() serialises the shard: give it the fields the ConfigMap form reads.
    const out = await p.publish(changed);
    expect(out.written).to.deep.equal([`services/ns-${n - 1}`]);
    const put = requests.find((r) => r.method === 'PUT');
    expect(put?.path).to.match(new RegExp(`/configmaps/${configMapName(`services/ns-${n - 1}`)}$`));
    expect(put?.body?.metadata?.resourceVersion, 'the resourceVersion of the last page').to.equal(String(100 + n - 1));
  });

  it('a page that fails (an expired continue token, 410) fails the publish with nothing written or deleted; the next publish lists again from the first page', async () => {
    const n = LOAD_PAGE_SIZE * 3;
    let fail = true;
    const gone = Object.assign(new Error('continue token expired'), { code: 410 });
    const { client, requests } = pagedClient(n, (from) => (fail && from === LOAD_PAGE_SIZE * 2 ? gone : undefined));
    const p = new Publisher(client, 'splitdns', pino({ level: 'silent' }), new OperatorMetrics(new Registry()));
    // One shard fewer than published: a publish that had read only the first pages would delete or create wrongly.
    const want = shards(n).slice(1);
    let err: unknown;
    await p.publish(want).catch((e) => { err = e; });
    expect(err, 'the publish fails (the reconcile loop retries it)').to.equal(gone);
    expect(requests.filter((r) => r.method !== 'GET'), 'nothing written or deleted').to.deep.equal([]);
    fail = false;
    requests.length = 0;
    const out = await p.publish(want);
    const gets = requests.filter((r) => r.method === 'GET');
    expect(new URL(gets[0]!.path, 'http://x').searchParams.has('continue'), 'listed from the first page').to.equal(false);
    expect(gets).to.have.length(3);
    expect(out).to.deep.equal({ written: [], deleted: ['services/ns-0'], unchanged: n - 1, errors: 0 });
  });

  it('a reset (leadership lost) while the pages are read: that list is not taken, and the next publish lists again and writes a shard rewritten meanwhile', async () => {
    const n = LOAD_PAGE_SIZE * 2 + 1;
    let hold: Promise<void> | undefined, release = () => {}, reached = () => {};
    const atSecondPage = new Promise<void>((r) => { reached = r; });
    const { client, requests, cms } = pagedClient(n, undefined, async (from) => {
      if (from === LOAD_PAGE_SIZE && hold !== undefined) { reached(); await hold; }
    });
    hold = new Promise<void>((r) => { release = r; });
    const p = new Publisher(client, 'splitdns', pino({ level: 'silent' }), new OperatorMetrics(new Registry()), Infinity);
    const first = p.publish(shards(n)).then(() => undefined, (e: Error) => e);
    await atSecondPage;
    // Leadership lost: another leader rewrites ns-0 (on the page already read) with its own hash.
    p.reset();
    cms[0]!.metadata.annotations[HASH_ANNOTATION] = 'other';
    cms[0]!.metadata.resourceVersion = '500';
    hold = undefined;
    release();
    expect(await first, 'the publish whose list a reset overtook fails').to.be.instanceOf(Error);
    expect(requests.filter((r) => r.method !== 'GET'), 'nothing written from that list').to.deep.equal([]);
    requests.length = 0;
    const out = await p.publish(shards(n).map((s, i) => (i === 0 ? { ...s, rrsets: [] } as unknown as Shard : s)));
    const pages = requests.filter((r) => r.method === 'GET').map((r) => new URL(r.path, 'http://x').searchParams.get('continue'));
    expect(pages, 'listed again, from the first page').to.deep.equal([null, String(LOAD_PAGE_SIZE), String(LOAD_PAGE_SIZE * 2)]);
    expect(out.written, 'ns-0 is written back to this compile\'s hash').to.deep.equal(['services/ns-0']);
    expect(requests.find((r) => r.method === 'PUT')?.body?.metadata?.resourceVersion).to.equal('500');
  });
});
