// Server metrics. The query path only bumps plain numbers in typed arrays; prom-client reads
// them at scrape time through collect() (CoreDNS keeps its metrics in one file the same way).
// All metrics live on the Registry the caller gives, never on prom-client's global one.

import { Counter, Gauge, Histogram, Registry } from './prom.js';
import { COUNTED_TYPES, RCODE_NAMES } from './wire/constants.js';

export const PROTOS = ['udp', 'tcp'] as const;
/** Why the server closed a TCP connection (transport/tcp.ts). */
export const TCP_CLOSE_REASONS = ['idle', 'stalled', 'frame_timeout', 'backpressure', 'evicted', 'client_limit', 'query_limit'] as const;
export type TcpCloseReason = typeof TCP_CLOSE_REASONS[number];
const TYPE_LABELS = [...COUNTED_TYPES, 'other'] as const;
const OTHER_TYPE = TYPE_LABELS.length - 1;
/** qtype → its index in TYPE_LABELS, for qtypes 0..257 (the counted ones are all below 258; others: OTHER_TYPE); an array read per query, not a Map probe. */
const TYPE_INDEX = new Uint8Array(258).fill(OTHER_TYPE);
for (const [qtype, i] of [[1, 0], [28, 1], [5, 2], [15, 3], [2, 4], [12, 5], [6, 6], [33, 7], [16, 8], [257, 9], [255, 10]]) TYPE_INDEX[qtype] = i;

/** Request-duration buckets, seconds. */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class ServerMetrics {
  readonly registry: Registry;
  /** requests[proto * types + typeIndex] */
  private readonly requests = new Float64Array(PROTOS.length * TYPE_LABELS.length);
  private readonly responses = new Float64Array(RCODE_NAMES.length);
  private readonly durBuckets = new Float64Array(DURATION_BUCKETS.length);
  private durSum = 0;
  private durCount = 0;
  private dropped = 0;
  readonly reloads: Counter<'result'>;
  readonly shardReloadFailures: Counter<'shard'>;
  readonly reloadDuration: Histogram;
  readonly configInfo: Gauge<'shard' | 'hash'>;
  readonly tcpConnections: Gauge;
  private readonly tcpClosedCounts = new Float64Array(TCP_CLOSE_REASONS.length);

  constructor(registry?: Registry) {
    const reg = (this.registry = registry ?? new Registry());
    const self = this;
    new Counter({
      name: 'splitdns_dns_requests_total', help: 'DNS queries received, by transport and query type.', labelNames: ['proto', 'type'], registers: [reg],
      collect() {
        this.reset();
        for (let p = 0; p < PROTOS.length; p++) for (let t = 0; t < TYPE_LABELS.length; t++) {
          const v = self.requests[p * TYPE_LABELS.length + t];
          if (v > 0) this.inc({ proto: PROTOS[p], type: TYPE_LABELS[t] }, v);
        }
      },
    });
    new Counter({
      name: 'splitdns_dns_responses_total', help: 'DNS responses sent, by rcode.', labelNames: ['rcode'], registers: [reg],
      collect() {
        this.reset();
        for (let r = 0; r < RCODE_NAMES.length; r++) if (self.responses[r] > 0) this.inc({ rcode: RCODE_NAMES[r] }, self.responses[r]);
      },
    });
    new Counter({
      name: 'splitdns_dns_dropped_total', help: 'Packets dropped unanswered (shorter than a header, or a response).', registers: [reg],
      collect() { this.reset(); if (self.dropped > 0) this.inc(self.dropped); },
    });
    // A histogram filled from our own buckets: prom-client has no way to set one, so it is
    // served by a minimal metric object of the shape the Registry serialises.
    reg.registerMetric({
      name: 'splitdns_dns_request_duration_seconds',
      help: 'Time from a query read to its response handed to the socket.',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
        let cum = 0;
        for (let i = 0; i < DURATION_BUCKETS.length; i++) {
          cum += self.durBuckets[i];
          values.push({ labels: { le: DURATION_BUCKETS[i] }, value: cum, metricName: 'splitdns_dns_request_duration_seconds_bucket' });
        }
        values.push({ labels: { le: '+Inf' }, value: self.durCount, metricName: 'splitdns_dns_request_duration_seconds_bucket' });
        values.push({ labels: {}, value: self.durSum, metricName: 'splitdns_dns_request_duration_seconds_sum' });
        values.push({ labels: {}, value: self.durCount, metricName: 'splitdns_dns_request_duration_seconds_count' });
        return { name: 'splitdns_dns_request_duration_seconds', help: 'Time from a query read to its response handed to the socket.', type: 'histogram', values, aggregator: 'sum' };
      },
      reset: () => undefined,
    } as unknown as Parameters<Registry['registerMetric']>[0]);
    this.reloads = new Counter({ name: 'splitdns_dns_reloads_total', help: 'Configuration applications, by result (ok: all shards applied, partial: some refused, failed: nothing applied).', labelNames: ['result'], registers: [reg] });
    this.shardReloadFailures = new Counter({ name: 'splitdns_dns_shard_reload_failures_total', help: 'Shards refused at reload (validation failed); their last good version keeps serving.', labelNames: ['shard'], registers: [reg] });
    this.reloadDuration = new Histogram({ name: 'splitdns_dns_reload_duration_seconds', help: 'Time to validate and build the changed shards of one reload.', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [reg] });
    this.configInfo = new Gauge({ name: 'splitdns_dns_config_info', help: 'The shards being served: 1 per shard, with its hash.', labelNames: ['shard', 'hash'], registers: [reg] });
    this.tcpConnections = new Gauge({ name: 'splitdns_dns_tcp_connections', help: 'Open TCP client connections.', registers: [reg] });
    new Counter({
      name: 'splitdns_dns_tcp_closed_total', registers: [reg], labelNames: ['reason'],
      help: 'TCP connections closed by the server, by reason: idle, stalled (idle with answers unread), frame_timeout, backpressure (too many answer bytes unread), evicted (room made at the connection cap), client_limit (over the per-client cap, closed at once), query_limit.',
      collect() {
        this.reset();
        for (let r = 0; r < TCP_CLOSE_REASONS.length; r++) if (self.tcpClosedCounts[r] > 0) this.inc({ reason: TCP_CLOSE_REASONS[r] }, self.tcpClosedCounts[r]);
      },
    });
  }

  request(proto: 0 | 1, qtype: number): void {
    this.requests[proto * TYPE_LABELS.length + (qtype < TYPE_INDEX.length ? TYPE_INDEX[qtype] : OTHER_TYPE)]++;
  }

  /** Counts a response by its rcode (BADVERS passed as 16) and its handling time. */
  response(rcode: number, seconds: number): void {
    this.responses[rcode <= 5 ? rcode : rcode === 16 ? 6 : 7]++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]) i++;
    if (i < DURATION_BUCKETS.length) this.durBuckets[i]++;
    this.durSum += seconds;
    this.durCount++;
  }

  tcpClosed(reason: TcpCloseReason): void {
    this.tcpClosedCounts[TCP_CLOSE_REASONS.indexOf(reason)]++;
  }

  drop(): void {
    this.dropped++;
  }

  /** The config info gauge's series: shard id to hash. */
  private readonly configSeries = new Map<string, string>();

  /**
   * Sets the config info gauge to the given shards: only the series of shards whose hash changed,
   * that came or that went are touched (a reload of one shard among 121 made 121 label sets).
   */
  setConfig(shards: Iterable<{ id: string; hash: string }>): void {
    const seen = new Set<string>();
    for (const s of shards) {
      seen.add(s.id);
      const was = this.configSeries.get(s.id);
      if (was === s.hash) continue;
      if (was !== undefined) this.configInfo.remove({ shard: s.id, hash: was });
      this.configInfo.set({ shard: s.id, hash: s.hash }, 1);
      this.configSeries.set(s.id, s.hash);
    }
    for (const [id, hash] of this.configSeries) {
      if (seen.has(id)) continue;
      this.configInfo.remove({ shard: id, hash });
      this.configSeries.delete(id);
    }
  }
}
