// explain's own reader of replies, checked against dns-packet (a devDependency) on every type it prints.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { encodeQuery, readAnswers } from '../../../operator/cli/answer-text.js';

describe('explain: query encoding and answer reading', () => {
  it('encodes a query dns-packet reads as the same question, with RD', () => {
    const d = dnsPacket.decode(encodeQuery('www.Example.org.', 'AAAA'));
    expect(d.questions).to.deep.equal([{ name: 'www.example.org', type: 'AAAA', class: 'IN' }]);
    expect(d.flags! & dnsPacket.RECURSION_DESIRED).to.not.equal(0);
    expect(() => encodeQuery('x.example.org.', 'BOGUS')).to.throw(/unknown record type "BOGUS"/);
  });

  it('prints each record type as dig does, names decompressed', () => {
    const reply = dnsPacket.encode({
      type: 'response', id: 1, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: [{ type: 'ANY', name: 'a.example.org', class: 'IN' }],
      answers: [
        { type: 'A', name: 'a.example.org', ttl: 30, data: '192.0.2.1' },
        { type: 'AAAA', name: 'a.example.org', ttl: 30, data: '2001:db8::1' },
        { type: 'AAAA', name: 'a.example.org', ttl: 30, data: '2001:db8:1:0:1:0:0:1' },
        { type: 'CNAME', name: 'c.example.org', ttl: 5, data: 'a.example.org' },
        { type: 'MX', name: 'a.example.org', ttl: 60, data: { preference: 10, exchange: 'mail.example.org' } },
        { type: 'SRV', name: '_h._tcp.example.org', ttl: 60, data: { priority: 0, weight: 100, port: 80, target: 'a.example.org' } },
        { type: 'TXT', name: 'a.example.org', ttl: 60, data: ['v=1', 'two words'] },
        { type: 'SOA', name: 'example.org', ttl: 60, data: { mname: 'ns.example.org', rname: 'hostmaster.example.org', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } },
        { type: 'CAA', name: 'example.org', ttl: 60, data: { flags: 0, tag: 'issue', value: 'ca.example.net' } },
        { type: 'PTR', name: '1.2.0.192.in-addr.arpa', ttl: 60, data: 'a.example.org' },
        { type: 'HINFO', name: 'a.example.org', ttl: 60, data: { cpu: 'x', os: 'y' } },
      ],
    } as unknown as dnsPacket.Packet);
    expect(readAnswers(reply)).to.deep.equal({
      rcode: 'NOERROR',
      answers: [
        'a.example.org. 30 A 192.0.2.1',
        'a.example.org. 30 AAAA 2001:db8::1',
        'a.example.org. 30 AAAA 2001:db8:1:0:1::1',
        'c.example.org. 5 CNAME a.example.org.',
        'a.example.org. 60 MX 10 mail.example.org.',
        '_h._tcp.example.org. 60 SRV 0 100 80 a.example.org.',
        'a.example.org. 60 TXT "v=1" "two words"',
        'example.org. 60 SOA ns.example.org. hostmaster.example.org. 7 1 2 3 4',
        'example.org. 60 CAA 0 issue "ca.example.net"',
        '1.2.0.192.in-addr.arpa. 60 PTR a.example.org.',
        'a.example.org. 60 TYPE13 \\# 4 01780179',
      ],
    });
  });

  it('names the rcode of a negative answer', () => {
    const reply = dnsPacket.encode({ type: 'response', id: 1, flags: 3, questions: [{ type: 'A', name: 'n.example.org', class: 'IN' }] } as unknown as dnsPacket.Packet);
    expect(readAnswers(reply)).to.deep.equal({ rcode: 'NXDOMAIN', answers: [] });
  });
});
