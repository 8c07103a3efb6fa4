// The DNS server as a library (the operator's local mode and tests use it in-process).
export { startDnsServer } from './server.js';
export type { DnsServer, DnsServerOptions, ReloadReport, ServedShard } from './server.js';
export { PENDING } from './fallback.js';
export type { Fallback, FallbackQuery } from './fallback.js';
export * from './config/index.js';
export { createForwarder } from './forward/index.js';
export type { ForwarderOptions } from './forward/index.js';
export { withDefaultUpstream } from './forward/default-upstream.js';
export type { DefaultUpstreamFallback, DefaultUpstreamOptions } from './forward/default-upstream.js';
export { createInProcessServer } from './in-process.js';
export type { InProcessServer } from './in-process.js';
