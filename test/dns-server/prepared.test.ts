// The direct address encoder must give the same bytes as the general plan encoder.
import { expect } from 'chai';
import { encodeAddressAnswer } from '../../dns-server/tables/prepare.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { encodePlan } from '../../dns-server/wire/response.js';

function viaPlan(name: string, type: number, ttl: number, data: string[], rotation: number): Buffer {
  const key = nameToKey(name);
  const question = Buffer.concat([Buffer.from(key, 'latin1'), Buffer.from([type >> 8, type & 255, 0, 1])]);
  const answer = data.map((_, i) => ({ owner: name, type, ttl, data: data[(i + rotation) % data.length] }));
  return encodePlan({ rcode: 0, aa: true, answer, authority: [], additional: [] }, { id: 0, rd: 0, question, qname: name, optSize: -1, optExtRcode: 0, dnssecOk: false, maxSize: 65535 });
}

describe('dns-server: prepared address answers', () => {
  const cases: [string, number, string[]][] = [
    ['www.example.org.', TYPE.A, ['192.0.2.1']],
    ['multi.example.org.', TYPE.A, ['10.0.0.1', '10.0.0.2', '255.255.255.255', '0.0.0.0']],
    ['v6.example.org.', TYPE.AAAA, ['2001:db8::1', '::ffff:192.0.2.1', 'fe80::1:2:3:4']],
  ];
  for (const [name, type, data] of cases) {
    it(`encodes ${name} type ${type} like the general encoder, for every rotation`, () => {
      for (let r = 0; r < data.length; r++) {
        expect(encodeAddressAnswer(nameToKey(name), type, 300, data, r).equals(viaPlan(name, type, 300, data, r)), `rotation ${r}`).to.equal(true);
      }
    });
  }
});
