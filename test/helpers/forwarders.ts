// Forwarders shards for tests, with every field defaulted the way the compiler defaults it.
import { CONFIG_API_VERSION, withHash } from '../../dns-server/config/index.js';
import type { Forwarder, Shard, UnhashedShard } from '../../dns-server/config/index.js';
import { PENDING } from '../../dns-server/fallback.js';
import type { Fallback, FallbackQuery } from '../../dns-server/fallback.js';

export type ForwarderSpec = Partial<Omit<Forwarder, 'cache' | 'healthCheck'>> & Pick<Forwarder, 'name' | 'domains' | 'upstreams'> & {
  cache?: Partial<Forwarder['cache']>; healthCheck?: Partial<Forwarder['healthCheck']>;
};

export function forwarder(spec: ForwarderSpec): Forwarder {
  return {
    policy: 'sequential', timeoutMs: 300, deadlineMs: 2000, failFast: false, maxConcurrent: 1000,
    ...spec,
    healthCheck: { enabled: false, intervalMs: 1000, failures: 2, name: '.', ...spec.healthCheck },
    cache: {
      enabled: true, maxEntries: 1000, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 0,
      prefetch: { enabled: false, minHits: 2, percent: 10 }, serveStale: { enabled: false, maxStale: 86400, ttl: 30 },
      ...spec.cache,
    },
  };
}

export function forwardersShard(...specs: ForwarderSpec[]): Shard {
  return withHash({ apiVersion: CONFIG_API_VERSION, kind: 'forwarders', id: 'forwarders', forwarders: specs.map(forwarder), reverse: [] } as UnhashedShard) as Shard;
}

/**
 * Hands `q` straight to a fallback, as the server's handler does, and resolves to its answer
 * however the fallback gives it (at once, PENDING then q.answer(), or a promise). Rejects if it
 * is answered twice, or both returned and called.
 */
export function askFallback(fb: Fallback, q: Omit<FallbackQuery, 'answer'>): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let answers = 0;
    const r = fb.resolve({ ...q, answer: (b) => { if (++answers > 1) reject(new Error('answered twice')); else resolve(b); } });
    if (r === PENDING) return;
    if (answers !== 0) { reject(new Error('answer() called, and resolve() did not return PENDING')); return; }
    if (r instanceof Promise) r.then(resolve, reject); else resolve(r);
  });
}
