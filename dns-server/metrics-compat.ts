// --metrics-compat=coredns: CoreDNS's metric names beside our own, for the dashboards and
// alerts a cluster already has (the kube-dns mixin, CoreDNS's Grafana dashboards). Nothing is
// counted twice: at scrape time each compat metric reads one of our metrics on the same
// Registry (which itself reads the plain counters of the query path) and re-labels it the way
// CoreDNS's `prometheus`, `cache` and `forward` plugins define theirs. The table of names,
// labels and what they carry here is in dns-server/README.md ("CoreDNS-compatible metrics").

import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;
interface Sample { labels: Labels; value: number; metricName?: string }
interface Snapshot { values: Sample[] }

export const METRICS_COMPAT_MODES = ['coredns'] as const;
export type MetricsCompatMode = (typeof METRICS_COMPAT_MODES)[number];

export interface CorednsCompatOptions {
  /** CoreDNS's `server` label: `dns://[bind]:port` (`dns://:53` for a server on every address). */
  server: string;
  /** The `family` label: 1 = IPv4, 2 = IPv6 (from the listen address: we do not count per family). */
  family: 1 | 2;
}

/** `dns://:PORT` for a wildcard address, `dns://ADDR:PORT` otherwise (CoreDNS's form). */
export function corednsServerLabel(address: string, port: number): string {
  if (address === '0.0.0.0' || address === '::' || address === '') return `dns://:${port}`;
  return `dns://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** Registers the CoreDNS-named metrics on `reg`, each derived from ours on the same registry at scrape time. */
export function registerCorednsCompat(reg: Registry, opts: CorednsCompatOptions): void {
  const base = { server: opts.server, zone: '.', view: '' };
  const read = async (name: string): Promise<Sample[]> => {
    const m = reg.getSingleMetric(name);
    if (m === undefined) return [];
    return ((await m.get()) as Snapshot).values;
  };
  /** Sums samples by a key of chosen labels (several forwarders fold into CoreDNS's one cache/forward). */
  const sumBy = (samples: Sample[], labelsOf: (s: Sample) => Labels | undefined, metricName?: string): Sample[] => {
    const acc = new Map<string, Sample>();
    for (const s of samples) {
      const labels = labelsOf(s);
      if (labels === undefined) continue;
      const key = JSON.stringify(labels);
      const cur = acc.get(key);
      if (cur) cur.value += s.value; else acc.set(key, { labels, value: s.value, metricName });
    }
    return [...acc.values()];
  };
  const define = (name: string, help: string, type: 'counter' | 'gauge' | 'histogram', get: () => Promise<Sample[]>) => {
    reg.registerMetric({
      name, help, type, aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: await get() }),
      reset: () => undefined,
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  };
  /** A histogram of ours renamed: each series' suffix (_bucket/_sum/_count) kept, labels mapped. */
  const histogram = (from: string, to: string, labelsOf: (s: Sample) => Labels) => async () => {
    const out: Sample[] = [];
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const part = (await read(from)).filter((s) => s.metricName === from + suffix);
      out.push(...sumBy(part, (s) => ({ ...labelsOf(s), ...(s.labels.le !== undefined ? { le: s.labels.le } : {}) }), to + suffix));
    }
    return out;
  };
  const to = (s: Sample) => String(s.labels.upstream ?? '').replace(/^[a-z]+:\/\//, ''); // "udp://10.0.0.1:53" → "10.0.0.1:53"
  const outcome = (s: Sample) => String(s.labels.rcode ?? '');
  const isRcode = (s: Sample) => /^[A-Z]+$/.test(outcome(s)) || outcome(s) === 'other'; // timeout/error are not responses

  // plugin/metrics (the `prometheus` plugin)
  define('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family (splitdns_dns_requests_total).', 'counter',
    async () => sumBy(await read('splitdns_dns_requests_total'), (s) => ({ ...base, proto: String(s.labels.proto), family: String(opts.family), type: String(s.labels.type) })));
  define('coredns_dns_responses_total', 'Counter of response status codes (splitdns_dns_responses_total).', 'counter',
    async () => sumBy(await read('splitdns_dns_responses_total'), (s) => ({ ...base, rcode: String(s.labels.rcode), plugin: '' })));
  define('coredns_dns_request_duration_seconds', 'Histogram of the time (in seconds) each request took (splitdns_dns_request_duration_seconds).', 'histogram',
    histogram('splitdns_dns_request_duration_seconds', 'coredns_dns_request_duration_seconds', () => ({ ...base, type: 'other' })));

  // plugin/cache: one cache per forwarder here, summed; `type` (success/denial) is not split.
  const cacheBase = { server: opts.server, zones: '.', view: '' };
  const cacheSum = async (name: string, extra: Labels = {}) => sumBy(await read(name), () => ({ ...cacheBase, ...extra }));
  define('coredns_cache_entries', 'The number of elements in the cache (splitdns_cache_entries, all forwarders).', 'gauge', () => cacheSum('splitdns_cache_entries', { type: 'success' }));
  define('coredns_cache_hits_total', 'The count of cache hits (splitdns_cache_hits_total).', 'counter', () => cacheSum('splitdns_cache_hits_total', { type: 'success' }));
  define('coredns_cache_misses_total', 'The count of cache misses (splitdns_cache_misses_total).', 'counter', () => cacheSum('splitdns_cache_misses_total'));
  define('coredns_cache_requests_total', 'The count of cache requests: hits plus misses.', 'counter',
    async () => sumBy([...(await read('splitdns_cache_hits_total')), ...(await read('splitdns_cache_misses_total'))], () => cacheBase));
  define('coredns_cache_evictions_total', 'The count of cache evictions (splitdns_cache_evictions_total).', 'counter', () => cacheSum('splitdns_cache_evictions_total', { type: 'success' }));
  define('coredns_cache_served_stale_total', 'The number of requests served from stale cache entries (splitdns_cache_stale_served_total).', 'counter', () => cacheSum('splitdns_cache_stale_served_total'));
  define('coredns_cache_prefetch_total', 'The number of times the cache has prefetched a cached item (splitdns_cache_prefetches_total).', 'counter', () => cacheSum('splitdns_cache_prefetches_total'));

  // plugin/forward: `to` is the upstream's address:port.
  define('coredns_forward_requests_total', 'Counter of requests made per upstream (splitdns_forward_requests_total, every outcome).', 'counter',
    async () => sumBy(await read('splitdns_forward_requests_total'), (s) => ({ to: to(s) })));
  define('coredns_forward_responses_total', 'Counter of responses received per upstream, by rcode (splitdns_forward_requests_total, answered outcomes).', 'counter',
    async () => sumBy(await read('splitdns_forward_requests_total'), (s) => (isRcode(s) ? { to: to(s), rcode: outcome(s) } : undefined)));
  define('coredns_forward_request_duration_seconds', 'Histogram of the time each upstream request took (splitdns_forward_upstream_duration_seconds).', 'histogram',
    histogram('splitdns_forward_upstream_duration_seconds', 'coredns_forward_request_duration_seconds', (s) => ({ to: to(s) })));
  define('coredns_forward_healthcheck_failures_total', 'Counter of the number of failed health checks per upstream (splitdns_forward_healthcheck_failures_total).', 'counter',
    async () => sumBy(await read('splitdns_forward_healthcheck_failures_total'), (s) => ({ to: to(s) })));
  define('coredns_forward_max_concurrent_rejects_total', 'Counter of queries rejected because the concurrent queries were at maximum (splitdns_forward_overload_total).', 'counter',
    async () => sumBy(await read('splitdns_forward_overload_total'), () => ({})));
}
