// Prepared answers are one copy for all threads (tables/arena.ts, ADR 0031): a slab's answer
// arena holds a name's messages once, made by the first thread to ask it; every other thread
// answers from those bytes. A full arena leaves the answers to each thread (still right), a
// lost race wastes one copy and serves the winner's, each thread goes round a name's rotations
// by itself, and a new version of a shard (a new slab) answers from its own arena only. The
// arenas have room only in a process with worker threads (main.ts sets it); one thread keeps
// its answers itself, as it did before the arenas.
import { expect } from 'chai';
import dnsPacket from 'dns-packet';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RRSet, ServicesShard, ZoneShard } from '../../dns-server/config/types.js';
import { AnswerArena } from '../../dns-server/tables/arena.js';
import { buildShardSlab, tableFromSlab } from '../../dns-server/tables/build.js';
import { prepareAnswers } from '../../dns-server/tables/prepare.js';
import { SHARED_ANSWER_ROOM, Slab, setAnswerRoom } from '../../dns-server/tables/slab.js';
import { decodeNode } from '../../dns-server/tables/slab-names.js';
import type { NameTable } from '../../dns-server/tables/table.js';
import { TYPE } from '../../dns-server/wire/constants.js';
import { nameToKey } from '../../dns-server/wire/name.js';
import { servicesShard, zoneShard } from '../helpers/bundles.js';

const Z = 'ns1.svc.cluster.local.';
/** `n` Services, every third headless with ten addresses (eight rotations). */
function services(n: number): RRSet[] {
  const out: RRSet[] = [];
  for (let i = 0; i < n; i++) {
    const data = i % 3 === 0 ? Array.from({ length: 10 }, (_, k) => `10.1.${i}.${k + 1}`) : [`10.0.0.${i + 1}`];
    out.push({ name: `svc${i}.${Z}`, type: 'A', ttl: 5, data });
  }
  return out;
}
const slabOf = (rrsets: RRSet[]) => buildShardSlab(servicesShard('cluster.local.', 'ns1', rrsets) as ServicesShard);
const tableOf = (sab: SharedArrayBuffer) => tableFromSlab(sab, 'now') as NameTable;
const use = (sab: SharedArrayBuffer) => new AnswerArena(new Slab(sab)).use();
const addresses = (m: Buffer) => (dnsPacket.decode(m).answers ?? []).map((a) => String((a as { data: unknown }).data));

function thread(): { ask: (m: { slab?: SharedArrayBuffer; names: string[]; times: number }) => Promise<string[]>; stop: () => Promise<number> } {
  // The thread loads TypeScript through tsx's loader, registered in the thread itself (as slab-sharing.test.ts).
  const boot = `import(${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href)}).then((t) => { t.register(); return import(${JSON.stringify(new URL('./arena-thread.ts', import.meta.url).href)}); })`;
  const worker = new Worker(boot, { eval: true });
  return {
    ask: (m) => new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); worker.postMessage(m); }),
    stop: () => worker.terminate(),
  };
}

describe('dns-server: prepared answers, one copy for all threads (tables/arena.ts)', () => {
  it('without worker threads an arena has no room: a thread keeps the answers it prepares, and they rotate as before', () => {
    const rrsets = services(6);
    const sab = slabOf(rrsets);
    const table = tableOf(sab);
    const key = nameToKey(rrsets[0].name);
    const firsts: string[] = [];
    for (let r = 0; r < 9; r++) firsts.push(addresses(table.answerFor(key, TYPE.A)!)[0]);
    // Eight rotations of ten addresses, each starting at floor(i * 10 / 8) (prepare.ts), then round again.
    expect(firsts).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 0].map((i) => `10.1.0.${Math.floor((i * 10) / 8) + 1}`));
    expect(addresses(table.answerFor(nameToKey(rrsets[1].name), TYPE.A)!)).to.deep.equal(['10.0.0.2']);
    expect(use(sab)).to.deep.include({ capacity: 0, used: 0, full: 2 });
  });

  describe('with worker threads (room for SHARED_ANSWER_ROOM times the entries)', () => {
    before(() => setAnswerRoom(SHARED_ANSWER_ROOM));
    after(() => setAnswerRoom(0));

    it('a name asked in two worker threads is prepared once: the second answers from the first\'s bytes, not its own preparation', async function () {
      this.timeout(30_000); // two threads load TypeScript
      const rrsets = services(30);
      const names = rrsets.map((r) => r.name);
      const sab = slabOf(rrsets);
      // What one thread's preparation of every name takes: the same slab built again, asked here.
      const ref = slabOf(rrsets);
      const refTable = tableOf(ref);
      for (const name of names) refTable.answerFor(nameToKey(name), TYPE.A);
      const once = use(ref).used;
      expect(once).to.be.greaterThan(0);

      const [a, b] = [thread(), thread()];
      try {
        const first = await a.ask({ slab: sab, names, times: 1 });
        expect(addresses(Buffer.from(first[1], 'hex'))).to.deep.equal(['10.0.0.2']);
        expect(use(sab), 'after the first thread').to.deep.include({ used: once, wasted: 0, full: 0 });
        // The record of svc1 changes in the slab's bytes (a slab is never written once built: the
        // test does, to tell a thread that prepares from the record from one that takes the arena's answer).
        const bytes = Buffer.from(sab);
        const at = bytes.indexOf('10.0.0.2"');
        expect(at).to.be.greaterThan(0);
        bytes.write('10.0.0.9', at, 'latin1');
        const slab = new Slab(sab);
        const key = nameToKey(`svc1.${Z}`);
        expect(decodeNode(slab.recordAt(slab.find(key)), slab.flagsOf(key), key).rrsets[0].data, 'the record now').to.deep.equal(['10.0.0.9']);
        const second = await b.ask({ slab: sab, names, times: 1 });
        expect(second, 'the second thread\'s answers are the first\'s bytes').to.deep.equal(first);
        expect(use(sab), 'nothing more prepared').to.deep.include({ used: once, wasted: 0, full: 0 });
      } finally {
        await a.stop();
        await b.stop();
      }
    });

    it('goes round a name\'s rotations in each thread by itself, each rotation\'s bytes those prepare.ts makes', async function () {
      this.timeout(30_000);
      const rrsets = services(3);
      const sab = slabOf(rrsets);
      const key = nameToKey(`svc0.${Z}`);
      const slab = new Slab(sab);
      const i = slab.find(key);
      const made = prepareAnswers(key, decodeNode(slab.recordAt(i), slab.flagsAt(i), key), { find: () => ({ kind: 'outside' }) });
      const rotations = made[0].bufs.map((m) => m.toString('hex'));
      expect(rotations).to.have.length(8);
      const [a, b] = [thread(), thread()];
      try {
        const inA = await a.ask({ slab: sab, names: [`svc0.${Z}`], times: 10 });
        const inB = await b.ask({ slab: sab, names: [`svc0.${Z}`], times: 3 });
        expect(inA).to.deep.equal([...rotations, rotations[0], rotations[1]]);
        expect(inB, 'another thread starts at the first rotation').to.deep.equal(rotations.slice(0, 3));
        const more = await a.ask({ names: [`svc0.${Z}`], times: 1 });
        expect(more, 'and the first goes on where it was').to.deep.equal([rotations[2]]);
      } finally {
        await a.stop();
        await b.stop();
      }
    });

    it('a thread that loses the race to publish a name serves the winner\'s answers (its own bytes counted as wasted)', () => {
      const sab = slabOf(services(3));
      const key = nameToKey(`svc1.${Z}`);
      // Two views of one arena, as two threads hold them; both find the name unprepared.
      const [x, y] = [new AnswerArena(new Slab(sab)), new AnswerArena(new Slab(sab))];
      const slab = new Slab(sab);
      const i = slab.find(key);
      expect([x.refOf(i), y.refOf(i)]).to.deep.equal([0, 0]);
      const answers = () => prepareAnswers(key, decodeNode(slab.recordAt(i), slab.flagsAt(i), key), { find: () => ({ kind: 'outside' }) });
      const won = x.publish(i, answers());
      const lost = y.publish(i, answers());
      expect(lost, 'the loser takes the winner\'s').to.equal(won);
      expect(y.refOf(i)).to.equal(won);
      const u = use(sab);
      expect(u.wasted).to.be.greaterThan(0);
      expect(u.used).to.equal(2 * u.wasted);
    });

    it('answers every name right when the arena is full: the rest are prepared per thread, and rotate as before', () => {
      // A zone of names with eight addresses each: eight rotations of about 200 bytes a name, far
      // past four times the slab's bytes.
      const rrsets: RRSet[] = Array.from({ length: 100 }, (_, n) => ({ name: `h${n}.example.org.`, type: 'A', ttl: 60, data: Array.from({ length: 8 }, (_, k) => `192.0.${n}.${k + 1}`) }));
      const sab = buildShardSlab(zoneShard('example.org.', rrsets) as ZoneShard);
      const table = tableOf(sab);
      for (let n = 0; n < 100; n++) {
        const key = nameToKey(`h${n}.example.org.`);
        const firsts: string[] = [];
        for (let r = 0; r < 9; r++) firsts.push(addresses(table.answerFor(key, TYPE.A)!)[0]);
        expect(firsts, `h${n}`).to.deep.equal([...Array.from({ length: 8 }, (_, k) => `192.0.${n}.${k + 1}`), `192.0.${n}.1`]);
        expect(addresses(table.answerFor(key, TYPE.A)!).sort(), `h${n}: every address`).to.have.length(8);
      }
      const u = use(sab);
      expect(u.full, 'names prepared outside the arena').to.be.greaterThan(0);
      expect(u.used).to.be.at.most(u.capacity);
    });

    it('a new version of a shard answers from its own arena, the old one from its own (no query mixes them)', () => {
      const v1 = slabOf([{ name: `web.${Z}`, type: 'A', ttl: 5, data: ['10.0.0.1'] }]);
      const v2 = slabOf([{ name: `web.${Z}`, type: 'A', ttl: 5, data: ['10.0.0.2'] }]);
      const [old, next] = [tableOf(v1), tableOf(v2)];
      const key = nameToKey(`web.${Z}`);
      expect(addresses(old.answerFor(key, TYPE.A)!)).to.deep.equal(['10.0.0.1']);
      expect(addresses(next.answerFor(key, TYPE.A)!)).to.deep.equal(['10.0.0.2']);
      expect(addresses(old.answerFor(key, TYPE.A)!), 'a query still on the old tables').to.deep.equal(['10.0.0.1']);
      expect(use(v2).used).to.be.greaterThan(0);
    });
  });
});
