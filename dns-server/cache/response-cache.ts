// The forwarder's response cache, one per forwarder (a reload that changes a forwarder drops
// its cache with it). Entries are upstream responses without their per-hop OPT; what is served
// is a copy with the TTLs counted down (forward/wire.ts shapeForClient).
//  - positive answers live for their smallest answer TTL, negative ones (NXDOMAIN, NODATA) for
//    the SOA's min(TTL, MINIMUM) (RFC 2308 §5), both clamped to [minTtl, maxTtl] (negative also
//    to maxNegativeTtl); SERVFAIL for servfailTtl seconds (0: not cached);
//  - a bounded size with LRU eviction (a Map keeps insertion order: a hit moves the entry last);
//  - expired entries are kept for serve-stale (RFC 8767) up to maxStale seconds, when enabled.

import type { ForwarderCache } from '../config/types.js';
import type { ScannedResponse } from '../forward/wire.js';

export interface CacheEntry {
  body: Buffer;
  ttlOffsets: number[];
  rcode: number;
  /** Seconds (clock) when stored. */
  storedAt: number;
  /** The TTL it was stored with (after clamping), seconds. */
  ttl: number;
  hits: number;
  /** A prefetch for it is under way or done for this entry. */
  prefetching: boolean;
}

export type CacheLookup =
  | { kind: 'hit'; entry: CacheEntry; age: number; prefetch: boolean }
  | { kind: 'stale'; entry: CacheEntry }
  | { kind: 'miss' };

export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
  staleServed: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

export class ResponseCache {
  private readonly map = new Map<string, CacheEntry>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, evictions: 0, staleServed: 0 };

  constructor(private readonly cfg: ForwarderCache, private readonly now: () => number) {}

  get size(): number {
    return this.map.size;
  }

  /** The TTL to cache a scanned response with, or 0 when it must not be cached. */
  ttlFor(r: ScannedResponse): number {
    const c = this.cfg;
    if (r.rcode === RCODE_SERVFAIL) return c.servfailTtl;
    if (r.rcode !== 0 && r.rcode !== RCODE_NXDOMAIN) return 0; // REFUSED, FORMERR...: not cached
    const negative = r.rcode === RCODE_NXDOMAIN || r.answerCount === 0;
    if (negative) {
      if (r.negativeTtl === undefined) return 0; // RFC 2308 §5: no SOA, no negative caching
      return Math.max(c.minTtl, Math.min(r.negativeTtl, c.maxNegativeTtl, c.maxTtl));
    }
    if (r.minAnswerTtl === Infinity) return 0;
    return Math.max(c.minTtl, Math.min(r.minAnswerTtl, c.maxTtl));
  }

  lookup(key: string): CacheLookup {
    const e = this.map.get(key);
    if (e === undefined) { this.counters.misses++; return { kind: 'miss' }; }
    const age = Math.floor(this.now() - e.storedAt);
    if (age < e.ttl) {
      this.counters.hits++;
      e.hits++;
      this.map.delete(key); // LRU: most recently used last
      this.map.set(key, e);
      const p = this.cfg.prefetch;
      const prefetch = p.enabled && !e.prefetching && e.hits >= p.minHits && (e.ttl - age) * 100 < e.ttl * p.percent;
      if (prefetch) e.prefetching = true;
      return { kind: 'hit', entry: e, age, prefetch };
    }
    this.counters.misses++;
    const s = this.cfg.serveStale;
    if (s.enabled && age < e.ttl + s.maxStale) return { kind: 'stale', entry: e };
    this.map.delete(key);
    return { kind: 'miss' };
  }

  /** The stale entry for a key, if serve-stale allows it now (used when every upstream failed). */
  stale(key: string): CacheEntry | undefined {
    const e = this.map.get(key);
    const s = this.cfg.serveStale;
    if (!e || !s.enabled) return undefined;
    const age = this.now() - e.storedAt;
    if (age < e.ttl + s.maxStale) { this.counters.staleServed++; return e; }
    return undefined;
  }

  store(key: string, r: ScannedResponse): void {
    const ttl = this.ttlFor(r);
    if (ttl <= 0 || !this.cfg.enabled) return;
    this.map.delete(key);
    this.map.set(key, { body: r.body, ttlOffsets: r.ttlOffsets, rcode: r.rcode, storedAt: this.now(), ttl, hits: 0, prefetching: false });
    while (this.map.size > this.cfg.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.counters.evictions++;
    }
  }

  clear(): void {
    this.map.clear();
  }
}
