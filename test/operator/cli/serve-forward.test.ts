// Local mode forwards a DNSForwarder's domains to its upstream (here a tiny resolver on
// loopback started by the test) while still answering its own names locally.
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';

describe('splitdns serve (local mode) with a DNSForwarder', () => {
  let dir: string;
  let local: LocalServer;
  let upstream: Socket;
  let asked: string[] = [];

  before(async () => {
    upstream = createSocket('udp4');
    upstream.on('message', (msg, rinfo) => {
      const q = dnsPacket.decode(msg);
      const name = q.questions![0].name;
      asked.push(name);
      const answers = q.questions![0].type === 'A' ? [{ type: 'A' as const, name, ttl: 60, data: '192.0.2.99' }] : [];
      upstream.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    dir = mkdtempSync(join(tmpdir(), 'splitdns-fwd-'));
    writeFileSync(join(dir, 'fwd.yaml'), `apiVersion: splitdns.io/v1alpha1
kind: DNSForwarder
metadata: {name: corp}
spec:
  domains: [example.com]
  upstreams: [{address: 127.0.0.1, port: ${upstream.address().port}}]
  healthCheck: {enabled: false}
`);
    writeFileSync(join(dir, 'zone.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: DNSZone\nmetadata: {name: z}\nspec:\n  domain: example.org\n  records: [{name: www, type: A, a: [192.0.2.1]}]\n');
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await local?.close();
    upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a forwarded domain from the upstream and its own zone locally', async () => {
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${local.dns.port}`]);
    expect(await r.resolve4('www.example.com')).to.deep.equal(['192.0.2.99']);
    expect(asked).to.include('www.example.com');
    asked = [];
    expect(await r.resolve4('www.example.org')).to.deep.equal(['192.0.2.1']);
    expect(asked).to.deep.equal([]);
  });
});
