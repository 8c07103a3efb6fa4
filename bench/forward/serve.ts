// A forwarding-only server for the bench: no zones, one '.' forwarder to 127.0.0.1:UPSTREAM,
// cache on (cached) or off (cold). Usage: node serve.js PORT UPSTREAM_PORT cold|cached
import pino from 'pino';
import { Registry } from 'prom-client';
import { CONFIG_API_VERSION, createForwarder, startDnsServer, withHash } from '../../dns-server/index.js';
import type { UnhashedShard } from '../../dns-server/index.js';

const [port, upstream, mode] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] ?? 'cold'];
const logger = pino({ level: 'warn' });
const registry = new Registry();
const server = await startDnsServer({ port, logger, registry, fallback: createForwarder({ logger, registry }) });
const shard = withHash({
  apiVersion: CONFIG_API_VERSION, kind: 'forwarders', id: 'forwarders', reverse: [],
  forwarders: [{
    name: 'bench', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: upstream, protocol: 'udp' }],
    policy: 'sequential', timeoutMs: 2000, deadlineMs: 5000, failFast: false, maxConcurrent: 100000,
    healthCheck: { enabled: false, intervalMs: 1000, failures: 3, name: '.' },
    cache: { enabled: mode === 'cached', maxEntries: 100000, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 0,
      prefetch: { enabled: false, minHits: 2, percent: 10 }, serveStale: { enabled: false, maxStale: 0, ttl: 30 } },
  }],
} as UnhashedShard);
server.applyBundle({ apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [shard] });
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
