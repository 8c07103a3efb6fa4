// The operations endpoint, on its own port: /healthz (the process is up), /readyz (a
// configuration is loaded and we are not in lame duck), /status (JSON: the shards served and
// since when, and the forwarder's view), /metrics (Prometheus text from our own Registry),
// POST /log-queries?on=1|0 (turn query logging on or off; answers the new state).

import { createRequire } from 'node:module';
import type * as Http from 'node:http';

// node:http by require, not import: an ESM import of a built-in reads every export to build its
// namespace, and under Node 22+ that calls node:http's lazy WebSocket/MessageEvent getters,
// which load undici (about 13 MB resident under Node 24, issue 14). require() leaves them lazy.
const http = createRequire(import.meta.url)('node:http') as typeof Http;
import type { Registry } from 'prom-client';

export interface OpsSource {
  ready(): boolean;
  status(): unknown;
  registry: Registry;
  setQueryLogging?(on: boolean): void;
}

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** `reusePort`: one of several worker threads sharing the port (each connection reaches one of them). */
export async function startOps(address: string, port: number, src: OpsSource, reusePort = false): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && path === '/log-queries' && src.setQueryLogging) {
      const on = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('on');
      if (on !== '1' && on !== '0' && on !== 'true' && on !== 'false') return reply(400, 'use POST /log-queries?on=1 or ?on=0\n');
      src.setQueryLogging(on === '1' || on === 'true');
      return reply(200, `query logging ${on === '1' || on === 'true' ? 'on' : 'off'}\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    switch (path) {
      case '/healthz': return reply(200, 'ok\n');
      case '/readyz': return src.ready() ? reply(200, 'ready\n') : reply(503, 'not ready\n');
      case '/status': return reply(200, JSON.stringify(src.status(), null, 2) + '\n', 'application/json');
      case '/metrics':
        src.registry.metrics().then((text) => reply(200, text, src.registry.contentType), (err: Error) => reply(500, `metrics: ${err.message}\n`));
        return;
      default: return reply(404, 'not found\n');
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, ...(reusePort ? { reusePort } : {}) } as import('node:net').ListenOptions, () => { server.off('error', reject); resolve(); });
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
