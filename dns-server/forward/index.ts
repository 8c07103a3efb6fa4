// createForwarder: the Fallback the DNS server hands every query its local data does not
// cover. Routes by the longest matching domain across all forwarders ('.' is the default
// route); answers from the forwarder's cache or its upstreams.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { canonicalJson } from '../config/hash.js';
import type { ForwardersShard } from '../config/types.js';
import type { Fallback, FallbackQuery } from '../fallback.js';
import { nameToKey } from '../wire/name.js';
import { ForwarderRuntime } from './forwarder.js';
import { ForwardMetrics } from './metrics.js';

const ROOT_KEY = nameToKey('.');

export interface ForwarderOptions {
  logger: Logger;
  registry: Registry;
  /** Clock in seconds (tests inject one to count TTLs down without sleeping). */
  now?: () => number;
}

export function createForwarder(opts: ForwarderOptions): Fallback {
  const log = opts.logger.child({ component: 'forwarder' });
  const now = opts.now ?? (() => Date.now() / 1000);
  let runtimes = new Map<string, { runtime: ForwarderRuntime; json: string }>();
  let routes = new Map<string, ForwarderRuntime>(); // domain wire key → forwarder
  let routeLengths = new Uint8Array(256); // 1 at the key length of any routed domain but '.': other suffixes are not looked up
  let rootRoute: ForwarderRuntime | undefined; // the '.' route (the default upstream): no Map lookup, no suffix string
  const retiring = new Set<ForwarderRuntime>(); // replaced, finishing their queries in flight
  const metrics = new ForwardMetrics(opts.registry, {
    forwarders: () => [...runtimes.values()].map(({ runtime }) => ({
      name: runtime.cfg.name, cacheSize: runtime.cache.size, cache: runtime.cache.counters,
      upstreams: runtime.upstreams.map((u) => ({ label: u.label, up: u.up })),
    })),
  });

  return {
    resolve(q: FallbackQuery) {
      const key = q.key;
      const n = key.length;
      for (let off = 0; off < n; off += key.charCodeAt(off) + 1) {
        if (routeLengths[n - off] === 1) {
          const f = routes.get(off === 0 ? key : key.substring(off));
          if (f !== undefined) return f.resolve(q);
        }
        if (key.charCodeAt(off) === 0) break;
      }
      return rootRoute === undefined ? null : rootRoute.resolve(q);
    },

    applyForwarders(shard: ForwardersShard | undefined) {
      const next = new Map<string, { runtime: ForwarderRuntime; json: string }>();
      const list = shard?.forwarders ?? [];
      for (const f of list) {
        const json = canonicalJson(f);
        const old = runtimes.get(f.name);
        if (old && old.json === json) { next.set(f.name, old); continue; }
        next.set(f.name, { runtime: new ForwarderRuntime(f, metrics, log, now), json });
      }
      for (const [name, old] of runtimes) {
        if (next.get(name)?.runtime === old.runtime) continue;
        const r = old.runtime;
        retiring.add(r);
        r.retire(() => retiring.delete(r)); // changed or gone: its cache goes with it; queries in flight finish on it
        metrics.retire(name, old.runtime.cache.counters);
      }
      const r = new Map<string, ForwarderRuntime>();
      const lengths = new Uint8Array(256);
      for (const { runtime } of [...next.values()].sort((a, b) => (a.runtime.cfg.name < b.runtime.cfg.name ? -1 : 1))) {
        for (const d of runtime.cfg.domains) { const k = nameToKey(d); if (!r.has(k)) r.set(k, runtime); lengths[k.length] = 1; }
      }
      lengths[ROOT_KEY.length] = 0; // only '.' has a key of length 1
      runtimes = next;
      routes = r;
      routeLengths = lengths;
      rootRoute = r.get(ROOT_KEY);
      log.info({ forwarders: list.length }, 'forwarders applied');
    },

    status() {
      return { forwarders: [...runtimes.values()].map(({ runtime }) => runtime.status()) };
    },

    async close() {
      for (const { runtime } of runtimes.values()) runtime.close();
      for (const r of retiring) r.close();
      retiring.clear();
      runtimes = new Map();
      routes = new Map();
      routeLengths = new Uint8Array(256);
      rootRoute = undefined;
    },
  };
}
