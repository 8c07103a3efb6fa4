// The server under hostile clients, on real sockets, bounded in count and time (the attacks
// are bench/abuse/attacks.ts, which `npm run bench -- abuse` also runs for its figures).
// Memory is read from the server's own process (/proc/PID/status), so it runs as a child.
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { nonReaders, reloadUnderLoad, startChildServer, udpBurst } from '../../bench/abuse/attacks.js';
import type { ChildServer, SlowLorisFigures } from '../../bench/abuse/attacks.js';

const MB = 1024 * 1024;

describe('dns-server: hostile clients', function () {
  this.timeout(90000);
  let srv: ChildServer | undefined;
  afterEach(async () => { await srv?.stop(); srv = undefined; });

  it('keeps resident memory bounded under 20 TCP clients that pipeline 1,000 queries for a 31 KB answer and never read, and gives it back after they go', async () => {
    srv = await startChildServer({ tcp: { idleTimeoutMs: 60000 } });
    const f = await nonReaders(srv, 20, 1000);
    expect(f.rssPeak - f.rssBefore, `RSS ${f.rssBefore / MB} → peak ${f.rssPeak / MB} MiB`).to.be.below(64 * MB);
    // After they left (and a settled GC, before as after), back within 10% of the start: no
    // answer is copied per query over TCP (the queued parts share the table's bytes), so nothing
    // is left for the allocator to keep.
    expect(f.rssAfter, `RSS after the clients left: ${f.rssBefore / MB} → ${f.rssAfter / MB} MiB`).to.be.at.most(f.rssBefore * 1.1);
    expect(f.servedQueries, 'back-pressure stopped the server reading long before 20,000 queries').to.be.below(20 * 1000 / 2);
  });

  it('answers a fresh client over TCP while 1,000 slow-loris connections trickle bytes', async function () {
    // 1,000 attacking sockets and the server's 1,000 ends: more descriptors than a default
    // `ulimit -n` of 1024. The attack runs in its own process, with the limit raised to the hard
    // limit where that allows; otherwise the test is skipped, with the reason.
    const hard = execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    if (hard !== 'unlimited' && Number(hard) < 2500) {
      console.log(`      skipped: the hard open-files limit is ${hard}, the attack needs about 2,100 descriptors`);
      this.skip();
    }
    const script = new URL('../../bench/abuse/run.ts', import.meta.url).pathname;
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('bash', ['-c', `ulimit -n ${hard === 'unlimited' ? 4096 : Math.min(Number(hard), 4096)} && exec "$0" --import tsx "$1" slowloris-json`, process.execPath, script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let s = '';
      p.stdout.on('data', (d: Buffer) => { s += d.toString(); });
      p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`slow-loris run exited ${code}: ${s}`))));
    });
    const f = JSON.parse(out.trim().split('\n').pop()!) as SlowLorisFigures;
    expect(f.attackersOpen, 'the attack held the connection cap').to.be.at.least(1000);
    expect(f.freshAnswered, `fresh client answered (ms: ${f.freshMs.join(', ')})`).to.equal(f.freshAsked);
    expect(f.closedByServer.evicted ?? 0, 'attackers evicted to make room').to.be.at.least(f.freshAsked);
  });

  it('answers every one of 2,000 UDP queries sent at once', async function () {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    if (rmemMax < 4 * MB) {
      console.log(`      skipped: net.core.rmem_max is ${rmemMax}; a 2,000-datagram burst needs the 4 MiB receive buffer the server asks for`);
      this.skip();
    }
    srv = await startChildServer();
    const f = await udpBurst(srv.port, 2000);
    expect(f.lost, `${f.lost} of ${f.sent} lost`).to.equal(0);
  });

  it('fails no query while the forwarder is reloaded 20 times under load', async () => {
    const f = await reloadUnderLoad(20);
    expect(f.queries).to.be.above(200);
    expect({ servfail: f.servfail, lost: f.lost }).to.deep.equal({ servfail: 0, lost: 0 });
  });
});
