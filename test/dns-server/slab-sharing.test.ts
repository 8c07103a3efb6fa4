// A worker thread's tables read the main thread's slab itself, not a copy (ADR 0010): the main
// thread builds a shard's slab once and posts it; a byte the main thread changes afterwards is
// what the worker's table reads next. (A slab is never written once built; the test writes one
// only to show that both threads see the same memory.)
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ZoneShard } from '../../dns-server/config/types.js';
import { buildShardSlab } from '../../dns-server/tables/build.js';
import { zoneShard } from '../helpers/bundles.js';

describe('dns-server: slabs are shared with worker threads', () => {
  it('a worker thread\'s table reads the SharedArrayBuffer the main thread built (a write is visible across)', async () => {
    const sab = buildShardSlab(zoneShard('example.org.', [{ name: 'www.example.org.', type: 'A', ttl: 60, data: ['192.0.2.1'] }]) as ZoneShard);
    // The thread loads TypeScript through tsx's loader, registered in the thread itself (Node 20 does not pass the
    // parent's on); tsx/esm/api's ESM entry (require.resolve names its CommonJS twin).
    const boot = `import(${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href)}).then((t) => { t.register(); return import(${JSON.stringify(new URL('./slab-thread.ts', import.meta.url).href)}); })`;
    const worker = new Worker(boot, { eval: true });
    try {
      const ask = (m: { slab?: SharedArrayBuffer; name: string }) => new Promise<{ shared: boolean; byteLength: number; node: { rrsets: { data: string[] }[] } }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage(m);
      });
      const first = await ask({ slab: sab, name: 'www.example.org.' });
      expect(first.shared, 'the worker holds a SharedArrayBuffer').to.equal(true);
      expect(first.byteLength).to.equal(sab.byteLength);
      expect(first.node.rrsets[0].data).to.deep.equal(['192.0.2.1']);
      // Change the address in the record's bytes here, in the main thread, after the post.
      const bytes = Buffer.from(sab);
      const at = bytes.indexOf('192.0.2.1');
      expect(at).to.be.greaterThan(0);
      bytes.write('192.0.2.9', at, 'latin1');
      const second = await ask({ name: 'www.example.org.' });
      expect(second.node.rrsets[0].data, 'the worker read the main thread\'s memory').to.deep.equal(['192.0.2.9']);
    } finally {
      await worker.terminate();
    }
  });
});
