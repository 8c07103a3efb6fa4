// Tables own their answers (tables/table.ts): every table (zones, hosts, cluster Services) reads
// its names from a shared slab and prepares a name's answers on its first query in the thread;
// a Services table and a zone table holding the same names give the same bytes.
import { expect } from 'chai';
import type { RRSet, ServicesShard, ZoneShard } from '../../dns-server/config/types.js';
import { buildServicesTable, buildZoneTable } from '../../dns-server/tables/build.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { servicesShard, zoneShard } from '../helpers/bundles.js';

const rrsets: RRSet[] = [
  { name: 'web.ns1.svc.cluster.local.', type: 'A', ttl: 5, data: ['10.0.0.1', '10.0.0.2'] },
  { name: 'alias.ns1.svc.cluster.local.', type: 'CNAME', ttl: 5, data: ['web.ns1.svc.cluster.local.'] },
  { name: '_http._tcp.web.ns1.svc.cluster.local.', type: 'SRV', ttl: 5, data: [{ priority: 0, weight: 100, port: 80, target: 'web.ns1.svc.cluster.local.' }] },
];

describe('dns-server: tables own their answers', () => {
  const lazy = buildServicesTable(servicesShard('cluster.local.', 'ns1', rrsets) as ServicesShard, 'now');
  // The same names in a zone table: a zone at ns1.svc.cluster.local.
  const eager = buildZoneTable(zoneShard('ns1.svc.cluster.local.', rrsets) as ZoneShard, 'now');

  for (const [name, type] of [['web.ns1.svc.cluster.local.', TYPE.A], ['alias.ns1.svc.cluster.local.', TYPE.A], ['_http._tcp.web.ns1.svc.cluster.local.', TYPE.SRV]] as const) {
    it(`prepares ${name} type ${type} on first query with the bytes a zone table prepares`, () => {
      const key = nameToKey(name);
      const a = lazy.answerFor(key, type);
      const b = eager.answerFor(key, type);
      expect(a, 'lazy answer').to.be.instanceOf(Buffer);
      expect(a!.equals(b!)).to.equal(true);
    });
  }

  it('rotates a multi-record RRset on successive calls, and has no answer for a missing name or type', () => {
    const key = nameToKey('web.ns1.svc.cluster.local.');
    const first = lazy.answerFor(key, TYPE.A)!;
    const second = lazy.answerFor(key, TYPE.A)!;
    expect(first.equals(second)).to.equal(false);
    expect(lazy.answerFor(key, TYPE.A)!.equals(first)).to.equal(true);
    expect(lazy.answerFor(key, TYPE.TXT)).to.equal(undefined);
    expect(lazy.answerFor(nameToKey('nope.ns1.svc.cluster.local.'), TYPE.A)).to.equal(undefined);
  });
});
