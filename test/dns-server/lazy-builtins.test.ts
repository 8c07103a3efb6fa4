// What the DNS server loads of Node's own modules (issue 14: resident memory per process). An
// ESM import of a built-in reads every one of its exports, so lazy getters run: node:http's
// WebSocket/MessageEvent getters load undici (about 13 MB under Node 24), node:tls's
// rootCertificates parses every bundled root certificate (3-4 MB). http.ts takes node:http by
// require(); transports.ts loads node:tls on the first DNS-over-TLS connection only.

import { expect } from 'chai';
import { execFileSync } from 'node:child_process';

describe('what the DNS server loads of Node (issue 14: resident memory)', () => {
  it('serves, forwards over UDP and answers /metrics without loading undici or node:tls', () => {
    const index = new URL('../../dns-server/index.ts', import.meta.url).href;
    const prom = new URL('../../dns-server/prom.ts', import.meta.url).href; // prom-client's index loads node:https (its Pushgateway)
    const probe = `import { createRequire } from 'node:module';
      import dgram from 'node:dgram';
      import pino from 'pino';
      const { Registry } = await import(${JSON.stringify(prom)});
      const m = await import(${JSON.stringify(index)});
      const up = dgram.createSocket('udp4');
      up.on('message', (q, r) => { q[2] |= 0x80; up.send(q, r.port, r.address); }); // echoes the question as an empty answer
      await new Promise((res) => up.bind(0, '127.0.0.1', res));
      const logger = pino({ level: 'silent' });
      const registry = new Registry();
      const server = await m.startDnsServer({ port: 0, httpPort: 0, logger, registry, fallback: m.createForwarder({ logger, registry }) });
      server.applyBundle({ apiVersion: m.CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [m.withHash({
        apiVersion: m.CONFIG_API_VERSION, kind: 'forwarders', id: 'forwarders', reverse: [],
        forwarders: [{ name: 'up', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: up.address().port, protocol: 'udp' }],
          policy: 'sequential', timeoutMs: 2000, deadlineMs: 5000, failFast: false, maxConcurrent: 100,
          healthCheck: { enabled: false, intervalMs: 1000, failures: 3, name: '.' },
          cache: { enabled: true, maxEntries: 10, minTtl: 0, maxTtl: 60, maxNegativeTtl: 60, servfailTtl: 0,
            prefetch: { enabled: false, minHits: 2, percent: 10 }, serveStale: { enabled: false, maxStale: 0, ttl: 30 } } }] })] });
      const client = dgram.createSocket('udp4');
      const answer = await new Promise((res) => {
        client.on('message', (b) => res(b[3] & 15));
        client.send(Buffer.from('1234010000010000000000000178076578616d706c6500000100 01'.replace(/ /g, ''), 'hex'), server.port, '127.0.0.1');
      });
      const http = createRequire(import.meta.url)('node:http');
      const metrics = await new Promise((res, rej) => http.get({ host: '127.0.0.1', port: server.httpPort, path: '/metrics' }, (r) => {
        let b = ''; r.on('data', (d) => { b += d; }); r.on('end', () => res(b)); }).on('error', rej));
      await server.close(); up.close(); client.close();
      console.log(JSON.stringify({ answer, forwarded: metrics.includes('splitdns_forward_requests_total{'),
        loaded: process.moduleLoadList.filter((x) => /undici|\\btls\\b|tls_wrap/.test(x)) }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60000 })) as { answer: number; forwarded: boolean; loaded: string[] };
    expect(out.answer, 'rcode of the forwarded answer').to.equal(0);
    expect(out.forwarded, '/metrics counts the forwarded query').to.equal(true);
    expect(out.loaded, 'Node modules loaded').to.deep.equal([]);
  });
});
