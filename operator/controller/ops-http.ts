// The operator's HTTP endpoint: /healthz (the process runs), /readyz (every informer has
// synced: a standby replica is ready too, so it can take over at once), /metrics.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface OpsHttp { readonly port: number; close(): Promise<void> }

export async function startOpsHttp(address: string, port: number, ready: () => boolean, registry: Registry, extra: () => object): Promise<OpsHttp> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'text/plain', 'ok\n');
    if (path === '/readyz') return ready() ? send(200, 'text/plain', 'ok\n') : send(503, 'text/plain', 'informers not synced\n');
    if (path === '/status') return send(200, 'application/json', JSON.stringify(extra()));
    if (path === '/metrics') {
      registry.metrics().then((m) => send(200, registry.contentType, m), (err: Error) => send(500, 'text/plain', err.message));
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, address, () => resolve()); });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
