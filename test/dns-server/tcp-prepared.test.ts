// Over TCP a prepared answer goes out in parts: a patched head (header + the client's own
// question) and the rest of the table's prepared message, not a copy of it (wire/response.ts
// patchPrepared, `shared`). The bytes a client reads must be those of the copy path (one patched
// copy, what UDP sends): ID, flags, the 0x20-mixed question case and the OPT included.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import type { TxtAnswer } from 'dns-packet';
import type { DnsServer } from '../../dns-server/index.js';
import type { ZoneShard } from '../../dns-server/config/index.js';
import { buildZoneTable } from '../../dns-server/tables/build.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { patchPrepared } from '../../dns-server/wire/response.js';
import type { ReplyContext } from '../../dns-server/wire/response.js';
import { bundle, zoneShard } from '../helpers/bundles.js';
import { buildQuery, frame, tcpConnect } from '../helpers/dns-client.js';
import type { Query } from '../helpers/dns-client.js';
import { startTestServer } from '../helpers/server.js';

/** Two TXT records of 60 character-strings of 255 bytes: a 31 KB answer. */
const strings = (from: number) => Array.from({ length: 60 }, (_, i) => String.fromCharCode(97 + ((from + i) % 26)).repeat(255));
const BIG = [strings(0), strings(60)];
const OUR_UDP_SIZE = 1232; // the server's default EDNS payload size, in our OPT

describe('dns-server: TCP answers from prepared messages share the table bytes', () => {
  const shard = zoneShard('example.org.', [
    { name: 'example.org.', type: 'NS', ttl: 3600, data: ['ns1.example.org.'] },
    { name: 'ns1.example.org.', type: 'A', ttl: 3600, data: ['192.0.2.53'] },
    { name: 'big.example.org.', type: 'TXT', ttl: 300, data: BIG },
    { name: 'www.example.org.', type: 'A', ttl: 300, data: ['192.0.2.1'] },
  ]);
  // The same shard built again here: its prepared messages, for the copy path's bytes.
  const table = buildZoneTable(shard as ZoneShard, 'test');
  let server: DnsServer;
  before(async () => { server = await startTestServer(bundle(shard)); });
  after(() => server.close());

  /** What the copy path makes of `msg`: one patched copy of the prepared message (handler.ts builds the same context). */
  function copyPath(msg: Buffer, q: Query, qtype: number): Buffer {
    const key = nameToKey(q.name.toLowerCase() + '.');
    const tpl = table.answerFor(key, qtype);
    if (tpl === undefined) throw new Error(`${q.name} has no prepared answer`);
    const e = typeof q.edns === 'object' ? q.edns : undefined;
    const ctx: ReplyContext = { msg, qend: 12 + key.length + 4, optSize: q.edns === undefined ? -1 : OUR_UDP_SIZE, dnssecOk: e?.do === true, maxSize: 65535 };
    const out = patchPrepared(tpl, ctx);
    if (!Buffer.isBuffer(out)) throw new Error('the copy path gave parts');
    return out;
  }

  const cases: { q: Query; qtype: number }[] = [
    { q: { name: 'bIg.ExAmPlE.oRg', type: 'TXT', id: 0xbeef, flags: dnsPacket.RECURSION_DESIRED }, qtype: TYPE.TXT },
    { q: { name: 'BIG.example.ORG', type: 'TXT', id: 7, flags: 0, edns: { udpSize: 4096, do: true } }, qtype: TYPE.TXT },
    { q: { name: 'biG.eXaMple.org', type: 'TXT', id: 0x1234, flags: dnsPacket.RECURSION_DESIRED, edns: 1232 }, qtype: TYPE.TXT },
    { q: { name: 'wWw.Example.Org', type: 'A', id: 0xffff, flags: dnsPacket.RECURSION_DESIRED }, qtype: TYPE.A },
  ];

  it('sends over TCP the bytes of the copy path: ID, flags, the question as sent, the OPT', async () => {
    const c = await tcpConnect(server.port);
    const msgs = cases.map((k) => buildQuery(k.q));
    c.sock.write(Buffer.concat(msgs.map(frame)));
    const got = await c.next(cases.length);
    c.sock.destroy();
    expect(got, 'every query answered').to.have.length(cases.length);
    const byId = new Map(got.map((b) => [b.readUInt16BE(0), b]));
    for (const [i, k] of cases.entries()) {
      const r = byId.get(k.q.id!);
      expect(r, `answer to ${k.q.name}`).to.not.equal(undefined);
      const d = dnsPacket.decode(r!);
      expect(d.questions![0].name, 'question case as sent').to.equal(k.q.name);
      expect(d.flag_rd, 'RD echoed').to.equal(((k.q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) !== 0);
      expect(d.flag_aa === true && (r![3] & 0x0f) === 0, 'authoritative NOERROR').to.equal(true);
      expect(d.additionals!.filter((a) => a.type === 'OPT'), 'an OPT exactly when asked').to.have.length(k.q.edns === undefined ? 0 : 1);
      if (k.qtype === TYPE.TXT) {
        const txt = d.answers!.filter((a): a is TxtAnswer => a.type === 'TXT').map((a) => (a.data as Buffer[]).map((s) => s.toString()));
        expect(txt, 'the 31 KB TXT records').to.have.deep.members(BIG);
        expect(r!.length).to.be.above(30000);
      }
      expect(r!.equals(copyPath(msgs[i], k.q, k.qtype)), `${k.q.name}: TCP bytes equal the copy path's`).to.equal(true);
    }
  });

  it('keeps the prepared bytes shared: the parts reference the table message, and join to the copy', () => {
    const key = nameToKey('big.example.org.');
    const tpl = table.answerFor(key, TYPE.TXT)!;
    for (const k of cases.slice(0, 3)) { // big.example.org, without and with an OPT
      const msg = buildQuery(k.q);
      const e = typeof k.q.edns === 'object' ? k.q.edns : undefined;
      const qend = 12 + key.length + 4;
      const ctx: ReplyContext = { msg, qend, optSize: k.q.edns === undefined ? -1 : OUR_UDP_SIZE, dnssecOk: e?.do === true, maxSize: 65535 };
      const parts = patchPrepared(tpl, ctx, true);
      expect(Buffer.isBuffer(parts), 'in parts').to.equal(false);
      const [head, body] = parts as readonly Buffer[];
      expect(head.length, 'the head: header and question').to.equal(qend);
      expect(body.buffer === tpl.buffer && body.byteOffset === tpl.byteOffset + qend && body.length === tpl.length - qend, 'the rest is the table message itself').to.equal(true);
      expect(Buffer.concat(parts as readonly Buffer[]).equals(patchPrepared(tpl, ctx) as Buffer), k.q.name).to.equal(true);
    }
  });
});
