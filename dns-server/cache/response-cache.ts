// The forwarder's response cache, one per forwarder (a reload that changes a forwarder drops
// its cache with it). Entries are upstream responses without their per-hop OPT; what is served
// is a copy with the TTLs counted down (forward/wire.ts shapeForClient).
//  - positive answers live for their smallest answer TTL, negative ones (NXDOMAIN, NODATA) for
//    the SOA's min(TTL, MINIMUM) (RFC 2308 §5), both clamped to [minTtl, maxTtl] (negative also
//    to maxNegativeTtl); SERVFAIL for servfailTtl seconds (0: not cached);
//  - a bounded size with LRU eviction: the entries are linked in order of use (a hit moves its
//    entry last by relinking it, no hashing), the least recently used first out;
//  - keyed by name, then by type, class and DO bit: the name is the query's own lookup key (its
//    hash already computed by the server's lookups), the rest a number (`questionSub`), so a
//    lookup builds no key string; the entries of one name are chained;
//  - an entry asked for again keeps a prepared reply body: its TTLs counted down for the current
//    second, rewritten once per second of age, so a hit copies it and patches the ID, RD bit
//    and question (shapeForClient without a TTL pass);
//  - expired entries are kept for serve-stale (RFC 8767) up to maxStale seconds, when enabled.

import type { ForwarderCache } from '../config/types.js';
import type { ScannedResponse, StoredResponse } from '../forward/wire.js';
import { ASCII_LOWER } from '../wire/query.js';

/** Type, class and DO bit of a question as one number (the second half of a cache or coalescing key). */
export function questionSub(qtype: number, qclass: number, dnssecOk: boolean): number {
  return (qclass * 65536 + qtype) * 2 + (dnssecOk ? 1 : 0);
}

/**
 * Takes `e` out of the chain of `key` in `map` (entries of one name chained by sameName, the
 * first in the map): the cache's entries, the forwarder's flights.
 */
export function unchain<T extends { sameName: T | undefined }>(map: Map<string, T>, key: string, e: T): void {
  const head = map.get(key);
  if (head === e) {
    if (e.sameName === undefined) map.delete(key); else map.set(key, e.sameName);
    return;
  }
  let p = head;
  while (p !== undefined && p.sameName !== e) p = p.sameName;
  if (p !== undefined) p.sameName = e.sameName;
}

/**
 * Writes the lookup key over the question name of a stored body, when the name there is the key
 * but for case (an upstream may answer with the question's case changed: what it echoes is not
 * ours to hand on). Returns whether it did: the body's question is then the key's bytes, its
 * type and class those the entry is kept under (the flight asked them, and the answer was
 * checked to be for them).
 */
function toKeyQuestion(body: Buffer, key: string): boolean {
  const n = key.length;
  if (body.length < 12 + n + 4 || body[4] !== 0 || body[5] !== 1) return false;
  for (let i = 0; i < n; i++) if (ASCII_LOWER[body[12 + i]] !== key.charCodeAt(i)) return false;
  for (let i = 0; i < n; i++) body[12 + i] = key.charCodeAt(i);
  return true;
}

export class CacheEntry implements StoredResponse {
  /** Hits so far. */
  hits = 0;
  /** A prefetch for it is under way or done for this entry. */
  prefetching = false;
  /** Links in the order of use (older: towards the least recently used). */
  older: CacheEntry | undefined = undefined;
  newer: CacheEntry | undefined = undefined;
  /** The next entry of the same name (another type, class or DO bit). */
  sameName: CacheEntry | undefined = undefined;
  /** The body with TTLs counted down to `preparedAge`, made at the first hit. */
  prepared: StoredResponse | undefined = undefined;
  preparedAge = -1;

  constructor(
    readonly name: string,
    readonly sub: number,
    /** The stored response (ID 0, no OPT) and where its TTLs are. */
    readonly body: Buffer,
    readonly ttlOffsets: readonly number[],
    readonly rcode: number,
    /** Seconds (clock) when stored. */
    readonly storedAt: number,
    /** The TTL it was stored with (after clamping), seconds. */
    readonly ttl: number,
  ) {}
}

export interface CacheCounters {
  hits: number;
  misses: number;
  evictions: number;
  staleServed: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

export class ResponseCache {
  /** name → the first of its entries (chained by sameName). */
  private readonly map = new Map<string, CacheEntry>();
  private count = 0;
  private lru: CacheEntry | undefined; // least recently used
  private mru: CacheEntry | undefined; // most recently used
  readonly counters: CacheCounters = { hits: 0, misses: 0, evictions: 0, staleServed: 0 };
  /** Set by lookup() on a hit: the entry's age in whole seconds, and whether to prefetch it now. */
  age = 0;
  prefetchDue = false;

  constructor(private readonly cfg: ForwarderCache, private readonly now: () => number) {}

  get size(): number {
    return this.count;
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

  private find(name: string, sub: number): CacheEntry | undefined {
    let e = this.map.get(name);
    while (e !== undefined && e.sub !== sub) e = e.sameName;
    return e;
  }

  /** The fresh entry for a question (counted a hit, moved last in the order of use; `age` and `prefetchDue` set), or undefined (a miss). */
  lookup(name: string, sub: number): CacheEntry | undefined {
    const e = this.find(name, sub);
    if (e === undefined) { this.counters.misses++; return undefined; }
    const age = Math.floor(this.now() - e.storedAt);
    if (age < e.ttl) {
      this.counters.hits++;
      e.hits++;
      if (e !== this.mru) { this.unlink(e); this.append(e); }
      const p = this.cfg.prefetch;
      const due = p.enabled && !e.prefetching && e.hits >= p.minHits && (e.ttl - age) * 100 < e.ttl * p.percent;
      if (due) e.prefetching = true;
      this.prefetchDue = due;
      this.age = age;
      return e;
    }
    this.counters.misses++;
    const s = this.cfg.serveStale;
    if (!(s.enabled && age < e.ttl + s.maxStale)) this.remove(e);
    return undefined;
  }

  /**
   * The entry's body with its TTLs counted down by `age` seconds and capped at its TTL, for
   * shapeForClient to copy as it is: rewritten only when the age has changed since the last hit.
   */
  prepared(e: CacheEntry, age: number): StoredResponse {
    let p = e.prepared;
    if (p === undefined) {
      const body = Buffer.from(e.body);
      p = e.prepared = { body, ttlOffsets: e.ttlOffsets, keyQuestion: toKeyQuestion(body, e.name) };
    }
    if (e.preparedAge !== age) {
      const { body } = e;
      const out = p.body;
      for (const o of e.ttlOffsets) out.writeUInt32BE(Math.max(0, Math.min(body.readUInt32BE(o), e.ttl) - age), o);
      e.preparedAge = age;
    }
    return p;
  }

  /** The stale entry for a question, if serve-stale allows it now (used when every upstream failed). */
  stale(name: string, sub: number): CacheEntry | undefined {
    const s = this.cfg.serveStale;
    if (!s.enabled) return undefined;
    const e = this.find(name, sub);
    if (e === undefined) return undefined;
    const age = this.now() - e.storedAt;
    if (age < e.ttl + s.maxStale) { this.counters.staleServed++; return e; }
    return undefined;
  }

  /** Stores an answer (`stored`: its body, storedBody(r)) for its TTL, if it may be cached; evicts the least recently used beyond maxEntries. */
  store(name: string, sub: number, r: ScannedResponse, stored: StoredResponse): void {
    const ttl = this.ttlFor(r);
    if (ttl <= 0 || !this.cfg.enabled) return;
    const old = this.find(name, sub);
    if (old !== undefined) this.remove(old);
    const e = new CacheEntry(name, sub, stored.body, stored.ttlOffsets, r.rcode, this.now(), ttl);
    e.sameName = this.map.get(name);
    this.map.set(name, e);
    this.append(e);
    this.count++;
    while (this.count > this.cfg.maxEntries && this.lru !== undefined) {
      this.remove(this.lru);
      this.counters.evictions++;
    }
  }

  clear(): void {
    this.map.clear();
    this.lru = this.mru = undefined;
    this.count = 0;
  }

  private append(e: CacheEntry): void {
    e.older = this.mru;
    e.newer = undefined;
    if (this.mru !== undefined) this.mru.newer = e; else this.lru = e;
    this.mru = e;
  }

  private unlink(e: CacheEntry): void {
    const { older, newer } = e;
    if (older !== undefined) older.newer = newer; else this.lru = newer;
    if (newer !== undefined) newer.older = older; else this.mru = older;
    e.older = e.newer = undefined;
  }

  private remove(e: CacheEntry): void {
    this.unlink(e);
    this.count--;
    unchain(this.map, e.name, e);
    e.sameName = undefined;
  }
}
