// A --workers worker (ADR 0010) serves an update only once the shared gate reaches it: built
// before, swapped in at the first query after the gate opens (or on commit()), reverse names
// included. So no worker answers from a version the others have not got yet. Runs on any Node:
// the gate is plain shared memory; the threads around it are workers.test.ts's.
import { expect } from 'chai';
import type { DnsServer } from '../../dns-server/index.js';
import type { Shard } from '../../dns-server/config/index.js';
import { exampleZone, zoneShard } from '../helpers/bundles.js';
import { rcodeOf, udpQuery } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';
import { nameToKey } from '../../dns-server/wire/name.js';

const other = (addr: string) => zoneShard('example.net.', [{ name: 'www.example.net.', type: 'A', ttl: 60, data: [addr] }], {
  reverse: [{ name: addr.split('.').reverse().join('.') + '.in-addr.arpa.', type: 'PTR', ttl: 60, data: ['www.example.net.'] }],
});
const a = async (port: number, name: string, type = 'A') => (await udpQuery(port, { name, type })).answers!.map((x) => (x as { data: unknown }).data);
const bundleUpdate = (...shards: Shard[]) => ({ form: 'bundle' as const, shards, keep: [] });

describe('dns-server: worker gate (--workers reloads swap in all at once)', () => {
  let server: DnsServer;
  let gate: Int32Array;
  beforeEach(async () => {
    gate = new Int32Array(new SharedArrayBuffer(4));
    server = await startTestServer(undefined, { worker: { index: 1, gate } });
  });
  afterEach(() => server.close());

  it('serves nothing until the gate opens for the first update, then serves it', async () => {
    server.applyValidated(1, bundleUpdate(exampleZone(), other('192.0.2.7')));
    expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.org' })).raw), 'built, not yet committed: SERVFAIL').to.equal(2);
    expect(server.isReady()).to.equal(false);
    Atomics.store(gate, 0, 1);
    expect(await a(server.port, 'www.example.org')).to.deep.equal(['192.0.2.1']); // the query itself swaps it in
    expect(server.isReady()).to.equal(true);
  });

  it('keeps answering from the old version, reverse names included, until the gate reaches the new one', async () => {
    server.applyValidated(1, bundleUpdate(exampleZone(), other('192.0.2.7')));
    Atomics.store(gate, 0, 1);
    server.commit();
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.7']);
    expect(await a(server.port, '7.2.0.192.in-addr.arpa', 'PTR')).to.deep.equal(['www.example.net']);

    server.applyValidated(2, bundleUpdate(exampleZone(), other('192.0.2.8')));
    server.commit(); // the gate is still at 1: nothing changes
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.7']);
    expect(await a(server.port, '7.2.0.192.in-addr.arpa', 'PTR')).to.deep.equal(['www.example.net']);
    expect(rcodeOf((await udpQuery(server.port, { name: '8.2.0.192.in-addr.arpa', type: 'PTR' })).raw), 'the new PTR name is not served yet').to.not.equal(0);

    Atomics.store(gate, 0, 2);
    expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.8']);
    expect(await a(server.port, '8.2.0.192.in-addr.arpa', 'PTR')).to.deep.equal(['www.example.net']);
    expect(rcodeOf((await udpQuery(server.port, { name: '7.2.0.192.in-addr.arpa', type: 'PTR' })).raw), 'the old PTR name is gone').to.not.equal(0);
  });

  it('serves the slabs the primary built (applyBuilt: nothing built again), gated the same way, and a full update replaces the set', async () => {
    const primary = await startTestServer(undefined, { worker: { index: 0, gate } });
    try {
      const { built } = primary.applyValidated(1, bundleUpdate(exampleZone(), other('192.0.2.7')));
      expect(built.shards.map((b) => b.id).sort()).to.deep.equal(['zone/example.net', 'zone/example.org'].sort());
      expect(built.shards.every((b) => b.slab instanceof SharedArrayBuffer)).to.equal(true);
      server.applyBuilt(1, built);
      expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.net' })).raw), 'gate closed').to.equal(2);
      Atomics.store(gate, 0, 1);
      expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.7']);
      expect(await a(server.port, '7.2.0.192.in-addr.arpa', 'PTR')).to.deep.equal(['www.example.net']);
      expect(server.servedShards().map((x) => x.hash)).to.deep.equal(primary.servedShards().map((x) => x.hash));

      // One shard changes: only its slab and the reverse slab travel.
      primary.commit();
      const next = primary.applyValidated(2, bundleUpdate(exampleZone(), other('192.0.2.8'))).built;
      expect(next.shards.map((b) => b.id)).to.deep.equal(['zone/example.net']);
      expect(next.reverse?.touched).to.have.members([nameToKey('7.2.0.192.in-addr.arpa.'), nameToKey('8.2.0.192.in-addr.arpa.')]);
      server.applyBuilt(2, next);
      Atomics.store(gate, 0, 2);
      expect(await a(server.port, '8.2.0.192.in-addr.arpa', 'PTR')).to.deep.equal(['www.example.net']);
      expect(rcodeOf((await udpQuery(server.port, { name: '7.2.0.192.in-addr.arpa', type: 'PTR' })).raw), 'the old PTR name is gone').to.not.equal(0);

      // A restarted worker's full update: the set as it is now; a shard it held that is not in it goes.
      server.applyBuilt(3, { shards: next.shards, removed: [], reverse: next.reverse && { ...next.reverse, touched: null }, full: true });
      Atomics.store(gate, 0, 3);
      expect(await a(server.port, 'www.example.net')).to.deep.equal(['192.0.2.8']);
      expect(rcodeOf((await udpQuery(server.port, { name: 'www.example.org' })).raw), 'example.org is not in the full set').to.equal(5);
    } finally {
      await primary.close();
    }
  });

  it('takes validated updates only: applyBundle is refused with a clear error', () => {
    expect(() => server.applyBundle({})).to.throw(/validated updates only/);
  });
});
