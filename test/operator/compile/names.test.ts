// The compiler's own IPv4/IPv6 parser (no node:net in compile): table cases, and agreement with
// Node's isIPv4/isIPv6 on a generated set (the test may use node:net; compile may not).
import { expect } from 'chai';
import { isIPv4, isIPv6 } from 'node:net';
import { addressRecordType, canonicalIp, dashedIp, reverseName } from '../../../operator/compile/names.js';

describe('compile names: canonicalIp', () => {
  const cases: [string, { ip: string; family: 4 | 6 } | undefined][] = [
    ['192.0.2.1', { ip: '192.0.2.1', family: 4 }],
    [' 10.0.0.255 ', { ip: '10.0.0.255', family: 4 }],
    ['0.0.0.0', { ip: '0.0.0.0', family: 4 }],
    ['256.0.0.1', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['1.2.3.-4', undefined],
    ['2001:DB8:0:0::10', { ip: '2001:db8::10', family: 6 }],
    ['2001:db8:0:0:1:0:0:1', { ip: '2001:db8::1:0:0:1', family: 6 }],
    ['::', { ip: '::', family: 6 }],
    ['::1', { ip: '::1', family: 6 }],
    ['1::', { ip: '1::', family: 6 }],
    ['::ffff:192.0.2.1', { ip: '::ffff:c000:201', family: 6 }],
    ['1:2:3:4:5:6:7:8', { ip: '1:2:3:4:5:6:7:8', family: 6 }],
    ['1:0:3:4:5:6:7:8', { ip: '1:0:3:4:5:6:7:8', family: 6 }],
    ['0001:0db8::0001', { ip: '1:db8::1', family: 6 }],
    ['1:2:3:4::5:6:7:8', undefined],
    ['1:2:3:4:5:6:7', undefined],
    ['1::2::3', undefined],
    [':::', undefined],
    [':1', undefined],
    ['1:', undefined],
    ['12345::', undefined],
    ['fe80::1%eth0', undefined],
    ['1.2.3.4::', undefined],
    ['::1.2.3.4:5', undefined],
    ['', undefined],
    ['example.org', undefined],
  ];
  for (const [text, want] of cases) {
    it(`reads ${JSON.stringify(text)} as ${want ? want.ip : 'no address'}`, () => expect(canonicalIp(text)).to.deep.equal(want));
  }

  it("accepts exactly what Node's isIPv4/isIPv6 accept (zone indexes aside)", () => {
    let seed = 7;
    const pick = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    const hex = () => pick(65536).toString(16).slice(0, 1 + pick(4));
    const octet = () => String(pick(300));
    const samples: string[] = [];
    for (let i = 0; i < 5000; i++) {
      let t: string;
      if (pick(4) === 0) t = [octet(), octet(), octet(), octet()].join('.');
      else {
        const g = Array.from({ length: 8 }, hex);
        if (pick(3) === 0) g.splice(6, 2, [octet(), octet(), octet(), octet()].join('.'));
        if (pick(2) === 0) { const at = pick(g.length); g.splice(at, pick(g.length - at + 1), ''); if (at === 0) g.unshift(''); if (at === g.length - 1) g.push(''); }
        t = g.join(':');
      }
      // Then, often, one slip: a character dropped, doubled or replaced.
      const k = pick(t.length + 1);
      switch (pick(6)) {
        case 0: t = t.slice(0, k) + t.slice(k + 1); break;
        case 1: t = t.slice(0, k) + t[k - 1 < 0 ? 0 : k - 1] + t.slice(k); break;
        case 2: t = t.slice(0, k) + ':.0fg'[pick(5)] + t.slice(k + 1); break;
      }
      samples.push(t);
    }
    const accepted = samples.filter((t) => isIPv4(t) || isIPv6(t)).length;
    expect(accepted, 'valid samples').to.be.within(1000, 4000);
    for (const t of samples) {
      const node = isIPv4(t) ? 4 : isIPv6(t) ? 6 : undefined;
      expect(canonicalIp(t)?.family, t).to.equal(node);
    }
  });
});

describe('compile names: reverse and dashed forms, record type by family', () => {
  it('writes an IPv6 reverse name nibble by nibble', () => {
    expect(reverseName('2001:db8::1', 6)).to.equal('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.');
    expect(reverseName('192.0.2.1', 4)).to.equal('1.2.0.192.in-addr.arpa.');
  });
  it('dashes an address as CoreDNS does', () => {
    expect(dashedIp('2001:db8::1', 6)).to.equal('2001-db8-0-0-0-0-0-1');
    expect(dashedIp('10.1.0.2', 4)).to.equal('10-1-0-2');
  });
  it('gives A for IPv4 and AAAA for IPv6', () => {
    expect([addressRecordType(4), addressRecordType(6)]).to.deep.equal(['A', 'AAAA']);
  });
});
