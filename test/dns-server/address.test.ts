// The one address parser (config/address.ts) against Node's own (node:net isIPv4/isIPv6),
// and the bytes it writes for A and AAAA RDATA.
import { isIPv4, isIPv6 } from 'node:net';
import { expect } from 'chai';
import { addressRecordType, parseIPv4, parseIPv6, writeAddress } from '../../dns-server/config/address.js';

const V4 = ['0.0.0.0', '192.0.2.1', '255.255.255.255', '10.0.0.01', '1.2.3', '1.2.3.4.5', '256.0.0.1', '1..2.3', '', '.1.2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4 ', '+1.2.3.4', '1234.1.1.1'];
const V6 = ['::', '::1', '1::', '2001:db8::1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::ffff:192.0.2.1', '1:2:3:4:5:6:1.2.3.4',
  '1:2:3:4:5:6:7:8:9', '1::2::3', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', 'g::1', '12345::1', '::ffff:1.2.3', '::1.2.3.4.5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '', '1.2.3.4', 'ABCD::EF01'];

describe('dns-server: address parsing (config/address.ts)', () => {
  for (const a of V4) {
    it(`IPv4 ${JSON.stringify(a)}: ${isIPv4(a) ? 'valid' : 'invalid'}, as node:net says`, () => {
      expect(parseIPv4(a) !== undefined).to.equal(isIPv4(a));
    });
  }
  for (const a of V6) {
    it(`IPv6 ${JSON.stringify(a)}: ${isIPv6(a) && !a.includes('%') ? 'valid' : 'invalid'}, as node:net says (zones refused)`, () => {
      expect(parseIPv6(a) !== undefined).to.equal(isIPv6(a) && !a.includes('%'));
    });
  }

  it('writes the bytes of each family', () => {
    const out = Buffer.alloc(20);
    expect(writeAddress(out, 0, 4, '192.0.2.10')).to.equal(4);
    expect([...out.subarray(0, 4)]).to.deep.equal([192, 0, 2, 10]);
    expect(writeAddress(out, 4, 6, '2001:db8::ffff:192.0.2.1')).to.equal(20);
    expect(out.subarray(4, 20).toString('hex')).to.equal('20010db8000000000000ffffc0000201');
    expect(() => writeAddress(out, 0, 4, '2001:db8::1')).to.throw(/bad IPv4/);
    expect(() => writeAddress(out, 0, 6, '192.0.2.1')).to.throw(/bad IPv6/);
  });

  it('names the record type of a family', () => {
    expect([addressRecordType(4), addressRecordType(6)]).to.deep.equal(['A', 'AAAA']);
  });
});
