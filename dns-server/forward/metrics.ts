// Forwarder and cache metrics. Per-query counts are plain numbers (each upstream holds its own
// series' records, so counting an answer is one increment, no label lookup), turned into
// prom-client series at scrape time (collect()), on the Registry the server was given.

import { Counter, Gauge } from '../prom.js';
import type { Registry } from 'prom-client';

/** One series of a Tally: its labels and its count. */
export interface TallySeries { readonly labels: Record<string, string>; n: number }

/** A counter keyed by a fixed tuple of label values, read at scrape time. */
export class Tally {
  readonly values = new Map<string, TallySeries>();
  inc(labels: Record<string, string>, key: string, by = 1): void {
    this.series(labels, key).n += by;
  }
  /** The series for these labels (created at 0): kept by the query path to count without a lookup. */
  series(labels: Record<string, string>, key: string): TallySeries {
    let v = this.values.get(key);
    if (v === undefined) this.values.set(key, (v = { labels, n: 0 }));
    return v;
  }
}

/** Upstream round-trip buckets, seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** One series of the latency histogram: per-bucket counts (not cumulative), sum and count. */
export class LatencySeries {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length);
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string>) {}
  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    if (i < LATENCY_BUCKETS.length) this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }
}

export interface ForwardStats {
  /** name → live counters of each forwarder (cache, health) for collect(). */
  forwarders(): Iterable<{ name: string; cacheSize: number; cache: { hits: number; misses: number; evictions: number; staleServed: number }; upstreams: { label: string; up: boolean }[] }>;
}

export class ForwardMetrics {
  readonly requests = new Tally();
  readonly overload = new Tally();
  readonly coalesced = new Tally();
  readonly servfail = new Tally();
  readonly prefetches = new Tally();
  readonly healthFailures = new Tally();
  spoofed = 0;
  /** forwarder|upstream → its latency series (kept across reloads, like a prom-client histogram's). */
  private readonly latency = new Map<string, LatencySeries>();
  // cache counters of forwarders replaced by a reload, so totals never go down
  readonly retired = { hits: new Map<string, number>(), misses: new Map<string, number>(), evictions: new Map<string, number>(), staleServed: new Map<string, number>() };

  constructor(reg: Registry, stats: ForwardStats) {
    const self = this;
    const fromTally = (name: string, help: string, labelNames: string[], t: Tally) => new Counter({
      name, help, labelNames, registers: [reg],
      collect() { this.reset(); for (const v of t.values.values()) this.inc(v.labels, v.n); },
    });
    fromTally('splitdns_forward_requests_total', 'Upstream queries, by forwarder, upstream and outcome (an rcode, or timeout/error).', ['forwarder', 'upstream', 'rcode'], this.requests);
    fromTally('splitdns_forward_overload_total', 'Client queries answered REFUSED because the forwarder was at its cap of concurrent upstream queries.', ['forwarder'], this.overload);
    fromTally('splitdns_forward_coalesced_total', 'Client queries that joined an identical question already in flight upstream.', ['forwarder'], this.coalesced);
    fromTally('splitdns_forward_servfail_total', 'Client queries answered SERVFAIL because every upstream failed (or all were down with failFast).', ['forwarder'], this.servfail);
    fromTally('splitdns_cache_prefetches_total', 'Background refreshes of popular cache entries near expiry.', ['forwarder'], this.prefetches);
    fromTally('splitdns_forward_healthcheck_failures_total', 'Failed active health checks, by upstream.', ['forwarder', 'upstream'], this.healthFailures);
    new Counter({ name: 'splitdns_forward_spoofed_total', help: 'Upstream answers that reached a forwarder socket and were dropped: an ID with no query waiting, or a different question. Answers from another address or port are dropped by the kernel (the UDP sockets are connected) and not counted here.', registers: [reg],
      collect() { this.reset(); if (self.spoofed) this.inc(self.spoofed); } });
    // A histogram filled from our own buckets (as ServerMetrics does: prom-client cannot set one),
    // served by a metric object of the shape the Registry serialises.
    const latencyName = 'splitdns_forward_upstream_duration_seconds';
    const latencyHelp = 'Upstream round trip of answered queries.';
    reg.registerMetric({
      name: latencyName, help: latencyHelp, type: 'histogram', aggregator: 'sum',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        for (const h of self.latency.values()) {
          let cum = 0;
          for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
            cum += h.counts[i];
            values.push({ labels: { ...h.labels, le: LATENCY_BUCKETS[i] }, value: cum, metricName: `${latencyName}_bucket` });
          }
          values.push({ labels: { ...h.labels, le: '+Inf' }, value: h.count, metricName: `${latencyName}_bucket` });
          values.push({ labels: h.labels, value: h.sum, metricName: `${latencyName}_sum` });
          values.push({ labels: h.labels, value: h.count, metricName: `${latencyName}_count` });
        }
        return { name: latencyName, help: latencyHelp, type: 'histogram', values, aggregator: 'sum' };
      },
      reset: () => undefined,
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    new Gauge({ name: 'splitdns_forward_upstream_up', help: '1 when the upstream is considered healthy, 0 when marked down.', labelNames: ['forwarder', 'upstream'], registers: [reg],
      collect() { this.reset(); for (const f of stats.forwarders()) for (const u of f.upstreams) this.set({ forwarder: f.name, upstream: u.label }, u.up ? 1 : 0); } });
    new Gauge({ name: 'splitdns_cache_entries', help: 'Entries in each forwarder\'s cache.', labelNames: ['forwarder'], registers: [reg],
      collect() { this.reset(); for (const f of stats.forwarders()) this.set({ forwarder: f.name }, f.cacheSize); } });
    const cacheCounter = (name: string, help: string, field: 'hits' | 'misses' | 'evictions' | 'staleServed') => new Counter({
      name, help, labelNames: ['forwarder'], registers: [reg],
      collect() {
        this.reset();
        const totals = new Map(self.retired[field]);
        for (const f of stats.forwarders()) totals.set(f.name, (totals.get(f.name) ?? 0) + f.cache[field]);
        for (const [forwarder, n] of totals) if (n) this.inc({ forwarder }, n);
      },
    });
    cacheCounter('splitdns_cache_hits_total', 'Client queries answered from the cache.', 'hits');
    cacheCounter('splitdns_cache_misses_total', 'Client queries not in the cache (or expired).', 'misses');
    cacheCounter('splitdns_cache_evictions_total', 'Entries evicted to keep the cache within its size.', 'evictions');
    cacheCounter('splitdns_cache_stale_served_total', 'Expired entries served because every upstream failed (RFC 8767).', 'staleServed');
  }

  /** The latency series of one upstream of one forwarder. */
  latencyOf(forwarder: string, upstream: string): LatencySeries {
    const key = `${forwarder}|${upstream}`;
    let h = this.latency.get(key);
    if (h === undefined) this.latency.set(key, (h = new LatencySeries({ forwarder, upstream })));
    return h;
  }

  retire(name: string, c: { hits: number; misses: number; evictions: number; staleServed: number }): void {
    for (const k of ['hits', 'misses', 'evictions', 'staleServed'] as const) this.retired[k].set(name, (this.retired[k].get(name) ?? 0) + c[k]);
  }
}
