// The DNS server's ConfigMap source against a real apiserver: two ConfigMaps carrying the same
// shard id. The one named as the operator names the shard is used whichever came first; removing
// the other changes nothing served; removing the used one hands the shard to the other (never
// dropped while one still carries it); the set is reported by duplicates().

import { expect } from 'chai';
import pino from 'pino';
import { configMapName, HASH_ANNOTATION, MANAGED_BY, SHARD_ID_ANNOTATION, SHARD_LABEL } from '../../dns-server/config/configmap-form.js';
import { startConfigMapSource } from '../../dns-server/source/configmap.js';
import type { ConfigMapSource } from '../../dns-server/source/configmap.js';
import type { ReloadReport } from '../../dns-server/reload.js';
import type { Envtest } from '../envtest/apiserver.js';
import { createNamespace } from '../envtest/kube.js';
import { useEnvtest } from '../envtest/shared.js';
import { until } from '../helpers/until.js';

const NS = 'cm-source-dups';
const ID = 'zone/dup.example';
const silent = pino({ level: 'silent' });

/** A shard ConfigMap named `name` carrying shard `id` with `hash` (the document is not validated here). */
function shardCm(name: string, id: string, hash: string) {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, namespace: NS, labels: { [MANAGED_BY]: 'splitdns', [SHARD_LABEL]: 'x' }, annotations: { [SHARD_ID_ANNOTATION]: id, [HASH_ANNOTATION]: hash } },
    data: { 'shard.json': JSON.stringify({ id, hash }) },
  };
}

describe('ConfigMap source: two ConfigMaps with one shard id (real apiserver)', function () {
  let env: Envtest;
  let source: ConfigMapSource | undefined;
  /** Each applyShards call: the shards handed over (id@hash) and the ids removed. */
  const calls: { changed: string[]; removed: string[] }[] = [];
  const server = {
    applyShards(changed: unknown[], removed: string[]): ReloadReport {
      calls.push({ changed: changed.map((c) => `${(c as { id: string }).id}@${(c as { hash: string }).hash}`), removed: [...removed] });
      return { applied: [], unchanged: [], removed: [], refused: [] };
    },
  };
  /** The hash of ID the server was last handed, or 'removed'. */
  const served = () => {
    let last = 'none';
    for (const c of calls) {
      for (const s of c.changed) if (s.startsWith(`${ID}@`)) last = s.slice(ID.length + 1);
      if (c.removed.includes(ID)) last = 'removed';
    }
    return last;
  };
  const create = (name: string, id: string, hash: string) => env.request('POST', `/api/v1/namespaces/${NS}/configmaps`, shardCm(name, id, hash));
  const remove = (name: string) => env.request('DELETE', `/api/v1/namespaces/${NS}/configmaps/${name}`);
  let markers = 0;
  /** Every event before it has been synced: a new unrelated shard ConfigMap, applied (the informer delivers in order). */
  async function settled(): Promise<void> {
    const id = `zone/marker-${++markers}.example`;
    await create(configMapName(id), id, 'm');
    await until(`${id} applied`, () => calls.some((c) => c.changed.includes(`${id}@m`)), 10000);
  }

  before(async function () {
    env = await useEnvtest(this);
    await createNamespace(env, NS);
  });
  after(() => source?.close());

  it('uses the operator-named one whatever the order, and never drops the shard while one carries it', async () => {
    const own = configMapName(ID);
    await create(own, ID, 'h-own');
    source = await startConfigMapSource({ kubeConfig: env.kubeConfig(), namespace: NS, server, logger: silent, backoff: { initialMs: 50, maxMs: 400 } });
    expect(served()).to.equal('h-own');

    // A copy, created later, sorted first by name: ignored (the cache's order used to decide).
    await create('a-copy', ID, 'h-copy');
    await settled();
    expect(served()).to.equal('h-own');
    expect(source.duplicates()).to.deep.equal([{ id: ID, used: own, ignored: ['a-copy'] }]);

    // The copy removed: nothing served changes.
    const before = calls.length;
    await remove('a-copy');
    await settled();
    expect(served()).to.equal('h-own');
    expect(calls.slice(before).flatMap((c) => c.changed).filter((s) => s.startsWith(`${ID}@`))).to.deep.equal([]);
    expect(source.duplicates()).to.deep.equal([]);

    // Two copies besides the operator's, then the operator's removed: the first copy by name takes
    // the shard over (handed over, not removed).
    await create('b-copy', ID, 'h-b');
    await create('a-copy', ID, 'h-a');
    await settled();
    expect(served()).to.equal('h-own');
    expect(source.duplicates()).to.deep.equal([{ id: ID, used: own, ignored: ['a-copy', 'b-copy'] }]);
    await remove(own);
    await until('the first copy by name served', () => served() === 'h-a', 10000);
    await settled();
    expect(served()).to.equal('h-a');
    expect(calls.some((c) => c.removed.includes(ID))).to.equal(false);
    expect(source.duplicates()).to.deep.equal([{ id: ID, used: 'a-copy', ignored: ['b-copy'] }]);
  });
});
