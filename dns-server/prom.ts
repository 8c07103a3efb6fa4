// The four prom-client classes the DNS server uses, loaded from prom-client's own files rather
// than its index: the index also loads the Pushgateway (node:https), the cluster aggregator and
// the default process metrics, about 11 MB resident per thread on Node 24 (issue 14), none of
// which the server uses. Same classes (one CommonJS module cache), so a Registry made through
// the index (the operator's local mode) and these work together.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const require = createRequire(import.meta.url);

export const Registry: typeof PromClient.Registry = require('prom-client/lib/registry.js');
export const Counter: typeof PromClient.Counter = require('prom-client/lib/counter.js');
export const Gauge: typeof PromClient.Gauge = require('prom-client/lib/gauge.js');
export const Histogram: typeof PromClient.Histogram = require('prom-client/lib/histogram.js');
export type Registry = PromClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
