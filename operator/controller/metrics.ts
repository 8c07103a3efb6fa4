// The operator's metrics, on a Registry passed in (never the global one).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The event-loop lag gauge covers windows of this length (the last complete one is shown). */
export const EVENT_LOOP_WINDOW_MS = 5000;

export class OperatorMetrics {
  readonly compileSeconds: Histogram;
  readonly compileLongestSlice: Gauge;
  readonly configBytes: Gauge;
  readonly configRecords: Gauge;
  readonly shards: Gauge;
  readonly publishTotal: Counter<'op'>;
  readonly publishErrorsTotal: Counter;
  readonly propagationSeconds: Histogram;
  readonly workqueueDepth: Gauge;
  readonly statusWritesTotal: Counter;
  readonly isLeader: Gauge;
  readonly informerRestartsTotal: Counter;
  readonly eventsTotal: Counter<'op'>;
  readonly writeQueueDepth: Gauge;
  readonly eventLoopLag: Gauge<'quantile'>;

  #lag: IntervalHistogram;
  #lagTimer: NodeJS.Timeout;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.compileSeconds = new Histogram({ name: 'splitdns_operator_compile_duration_seconds', help: 'Time to compile the snapshot into the configuration (wall time: the compile runs in slices, so it includes the event loop\'s turns between them).', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers });
    this.compileLongestSlice = new Gauge({ name: 'splitdns_operator_compile_longest_slice_seconds', help: 'The longest slice of the last compile: the event loop waited this long for it (a compile step runs to its end, so a slice can exceed the 20 ms it aims at).', registers });
    this.configBytes = new Gauge({ name: 'splitdns_operator_config_bytes', help: 'Size of the generated configuration (canonical JSON of all shards).', registers });
    this.configRecords = new Gauge({ name: 'splitdns_operator_config_records', help: 'RRsets in the generated configuration.', registers });
    this.shards = new Gauge({ name: 'splitdns_operator_config_shards', help: 'Shards in the generated configuration.', registers });
    this.publishTotal = new Counter({ name: 'splitdns_operator_publish_total', help: 'ConfigMap writes by operation.', labelNames: ['op'], registers });
    this.publishErrorsTotal = new Counter({ name: 'splitdns_operator_publish_errors_total', help: 'Failed ConfigMap writes.', registers });
    this.propagationSeconds = new Histogram({ name: 'splitdns_operator_propagation_seconds', help: 'From a change seen by the operator to its shards being served by every ready DNS server replica.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers });
    this.workqueueDepth = new Gauge({ name: 'splitdns_operator_workqueue_depth', help: 'Changes seen and not yet compiled (0 or the number of events coalesced into the next compile).', registers });
    this.statusWritesTotal = new Counter({ name: 'splitdns_operator_status_writes_total', help: 'Status patches of custom resources.', registers });
    this.isLeader = new Gauge({ name: 'splitdns_operator_leader', help: '1 while this replica holds the leader Lease.', registers });
    this.eventsTotal = new Counter({ name: 'splitdns_operator_events_total', help: 'Events recorded: op=create (a new Event) or op=series (a repeat counted on the existing Event).', labelNames: ['op'], registers });
    this.writeQueueDepth = new Gauge({ name: 'splitdns_operator_write_queue_depth', help: 'Status and Event writes waiting for the client-side rate limit or a free slot, or in flight.', registers });
    this.eventLoopLag = new Gauge({ name: 'splitdns_operator_event_loop_lag_seconds', help: `Event-loop delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution) over the last complete ${EVENT_LOOP_WINDOW_MS / 1000} s window, by quantile (0.5, 0.99, 1 = max).`, labelNames: ['quantile'], registers });
    this.#lag = monitorEventLoopDelay({ resolution: 10 });
    this.#lag.enable();
    this.#lagTimer = setInterval(() => this.sampleEventLoop(), EVENT_LOOP_WINDOW_MS).unref();
    this.informerRestartsTotal = new Counter({ name: 'splitdns_operator_informer_restarts_total', help: 'Informer restarts (fresh relists) after a failed list or watch, all resources.', registers });
  }

  /** Closes the current event-loop window: sets the gauge from it and starts the next. */
  sampleEventLoop(): { p50: number; p99: number; max: number } {
    const h = this.#lag;
    const out = h.count ? { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 } : { p50: 0, p99: 0, max: 0 };
    this.eventLoopLag.set({ quantile: '0.5' }, out.p50);
    this.eventLoopLag.set({ quantile: '0.99' }, out.p99);
    this.eventLoopLag.set({ quantile: '1' }, out.max);
    h.reset();
    return out;
  }

  close(): void { clearInterval(this.#lagTimer); this.#lag.disable(); }
}
