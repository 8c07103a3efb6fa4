// The publisher's gzip: the fastest zlib level, and the best level when the fast one would not
// fit a ConfigMap. Whatever the level, the ConfigMap decodes to the shard compile made (the
// DNS server's ConfigMap source decodes it with the contract's decodeShardConfigMap).

import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { decodeShardConfigMap, SHARD_GZIP_KEY, SHARD_KEY } from '../../../dns-server/config/configmap-form.js';
import { computeShardHash } from '../../../dns-server/config/index.js';
import type { KubeClient } from '../../../kube/kube-client.js';
import { createCompiler, shardJson } from '../../../operator/compile/index.js';
import type { Snapshot } from '../../../operator/compile/index.js';
import { OperatorMetrics } from '../../../operator/controller/metrics.js';
import { BEST_GZIP_LEVEL, CONFIGMAP_MAX_BYTES, FAST_GZIP_LEVEL, Publisher } from '../../../operator/controller/publish.js';

const silent = pino({ level: 'silent' });
/** configMap() makes no request: a client that fails the test if one is made. */
const noClient = { request: () => { throw new Error('no request expected'); } } as unknown as KubeClient;
const publisher = (gzipAboveBytes: number, maxBytes?: number) => new Publisher(noClient, 'splitdns', silent, new OperatorMetrics(new Registry()), gzipAboveBytes, maxBytes);

/** One namespace of `n` headless Services with 10 endpoints each, compiled (the shape of a large Services shard). */
function servicesShard(n: number) {
  const s: Snapshot = { zones: [], forwarders: [], staticHosts: [], services: [], endpointSlices: [], namespaces: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', uid: 'ns' } }] };
  for (let i = 0; i < n; i++) {
    s.services.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'team-a', uid: `s${i}`, resourceVersion: '1' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    s.endpointSlices.push({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4', metadata: { name: `svc-${i}-a`, namespace: 'team-a', uid: `e${i}`, resourceVersion: '1', labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: 10 }, (_, j) => ({ addresses: [`10.${128 + (i >> 12)}.${(i >> 4) & 255}.${((i & 15) << 4) | j}`], conditions: { ready: true } })) });
  }
  const shard = createCompiler({ clusterDomain: 'cluster.local', operatorNamespace: 'splitdns' }).compile(s).bundle.shards.find((x) => x.id === 'services/team-a')!;
  expect(shard, 'the namespace has a shard').to.not.equal(undefined);
  return shard;
}

const gzBytes = (cm: Record<string, any>) => Buffer.from(cm.binaryData[SHARD_GZIP_KEY], 'base64').length;

describe('operator publish: gzip level', () => {
  const shard = servicesShard(200);
  const json = shardJson(shard);
  const fast = gzipSync(json, { level: FAST_GZIP_LEVEL }).length;
  const best = gzipSync(json, { level: BEST_GZIP_LEVEL }).length;

  it('gzips a large shard at the fastest level, and the ConfigMap decodes to the same shard', () => {
    expect(fast, 'the fast level is larger here, so the tests below can tell the levels apart').to.be.greaterThan(best);
    const cm = publisher(1024).configMap(shard);
    expect(gzBytes(cm)).to.equal(fast);
    const decoded = decodeShardConfigMap(cm) as { hash: string };
    expect(decoded).to.deep.equal(JSON.parse(json));
    expect(computeShardHash(decoded as never), 'the hash still matches the decoded shard').to.equal(shard.hash);
  });

  it('keeps a shard under the gzip threshold as JSON in data', () => {
    const cm = publisher(json.length + 1).configMap(shard);
    expect(cm.binaryData).to.equal(undefined);
    expect(cm.data[SHARD_KEY]).to.equal(json);
  });

  it('compresses at the best level a shard whose fast gzip would not fit, and it fits and decodes the same', () => {
    const limit = Math.floor((fast + best) / 2); // between the two sizes: only the best level fits
    const cm = publisher(1024, limit).configMap(shard);
    expect(gzBytes(cm)).to.equal(best).and.to.be.at.most(limit);
    expect(decodeShardConfigMap(cm)).to.deep.equal(JSON.parse(json));
    // At exactly the fast size, the fast level is kept.
    expect(gzBytes(publisher(1024, fast).configMap(shard))).to.equal(fast);
  });

  it('fits a ConfigMap with a Services shard of 2,000 headless Services (20,000 endpoints)', function () {
    this.timeout(20000);
    const big = servicesShard(2000);
    const cm = publisher(256 * 1024).configMap(big);
    expect(shardJson(big).length, 'larger than a ConfigMap holds uncompressed').to.be.greaterThan(1024 * 1024);
    expect(gzBytes(cm)).to.be.at.most(CONFIGMAP_MAX_BYTES);
    expect(decodeShardConfigMap(cm)).to.deep.equal(JSON.parse(shardJson(big)));
  });
});
