// Local mode and the default upstream: off unless asked (`--default-upstream`), then names no
// manifest covers go to the resolv.conf nameserver (a fake upstream on loopback).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startLocalServer } from '../../../operator/local/serve.js';
import type { LocalServer } from '../../../operator/local/serve.js';
import { rcodeOf, udpQuery } from '../../helpers/dns-client.js';
import { answerFrom, startUpstream } from '../../helpers/upstream.js';
import type { FakeUpstream } from '../../helpers/upstream.js';

describe('splitdns serve (local mode): default upstream', () => {
  let dir: string;
  let local: LocalServer | undefined;
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startUpstream(answerFrom({ 'www.example.net': ['192.0.2.80'] }));
    dir = mkdtempSync(join(tmpdir(), 'splitdns-du-'));
    writeFileSync(join(dir, 'zone.yaml'), 'apiVersion: splitdns.io/v1alpha1\nkind: DNSZone\nmetadata: {name: z}\nspec:\n  domain: example.org\n  records: [{name: www, type: A, a: [192.0.2.1]}]\n');
    writeFileSync(join(dir, 'resolv.conf.txt'), 'nameserver 127.0.0.1\n'); // not a manifest (.txt)
  });
  afterEach(async () => { await local?.close(); local = undefined; });
  after(async () => { await upstream.close(); rmSync(dir, { recursive: true, force: true }); });

  it('is off by default: a name no manifest covers is REFUSED and nothing is asked upstream', async () => {
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }) });
    const r = await udpQuery(local.dns.port, { name: 'www.example.net', type: 'A' });
    expect(rcodeOf(r.raw)).to.equal(5);
    expect(upstream.queries.filter((q) => q.packet.questions![0].name === 'www.example.net')).to.have.length(0);
  });

  it('with defaultUpstream forwards such names to the resolv.conf nameserver, and still answers its own', async () => {
    local = await startLocalServer({ manifests: dir, port: 0, logger: pino({ level: 'silent' }), defaultUpstream: { resolvConf: join(dir, 'resolv.conf.txt'), port: upstream.port } });
    const r = await udpQuery(local.dns.port, { name: 'www.example.net', type: 'A' });
    expect((r.answers ?? []).map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.80']);
    const own = await udpQuery(local.dns.port, { name: 'www.example.org', type: 'A' });
    expect((own.answers ?? []).map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.1']);
  });
});
