// --workers N, checked on whichever Node runs the suite: on Node >= 22.12 (dgram reusePort)
// N worker threads of one process share the UDP port and all answer, and a reload reaches all
// of them at once (after the first new answer, no worker gives the old one); on older Node a
// clear message and one process that still serves. CI runs the suite under Node 20 and Node 24,
// so both paths run.
import { expect } from 'chai';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { reusePortSupported } from '../../dns-server/workers.js';
import { bundle, exampleZone, zoneShard } from '../helpers/bundles.js';
import { tcpQuery, udpQuery } from '../helpers/dns-client.js';

/** GET on a new connection each time (cluster spreads connections, not requests, over workers). */
function getFresh(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); }).on('error', reject);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });
}

describe('dns-server: --workers', function () {
  this.timeout(60000);
  it(`${reusePortSupported() ? 'runs N reusePort workers that all answer' : 'says reusePort needs Node 22.12 and serves with one process'} (Node ${process.versions.node})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitdns-workers-'));
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(bundle(exampleZone())));
    const port = await freePort();
    const httpPort = await freePort();
    const main = path.resolve('dns-server/main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', main, '--config', file, '--port', String(port), '--http-port', String(httpPort), '--workers', '2', '--lame-duck-ms', '0', '--no-default-upstream'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let ready = false;
      for (let i = 0; i < 250 && !ready; i++) { // up to 25 s: the machine may be busy (CI runs two suites)
        try { ready = (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200; } catch { /* not up yet */ }
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, `server never became ready; output:\n${out}`).to.equal(true);
      if (reusePortSupported()) {
        // each worker thread has its own ops socket on the port: wait until both say they are ready (fresh connections reach both)
        const readyWorkers = new Set<number>();
        for (let i = 0; i < 200 && readyWorkers.size < 2; i++) {
          const st = JSON.parse(await getFresh(httpPort, '/status')) as { worker: number; ready: boolean };
          if (st.ready) readyWorkers.add(st.worker); else await new Promise((r) => setTimeout(r, 50));
        }
        expect([...readyWorkers].sort(), 'both workers ready').to.deep.equal([0, 1]);
      }
      for (let i = 0; i < 40; i++) {
        const r = await udpQuery(port, { name: 'www.example.org' });
        expect(r.answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.1']);
      }
      // Workers are threads now: no child process runs this script (tsx's esbuild service, on a cold cache, is not a worker).
      let kids: string[] = [];
      try { kids = execFileSync('ps', ['--ppid', String(child.pid), '-o', 'args=']).toString().split('\n').filter((l) => l.includes(main)); } catch { /* ps exits 1 when none match */ }
      if (reusePortSupported()) {
        expect(kids, 'no worker processes').to.have.length(0);
        // each worker thread bound its own UDP socket on the port (SO_REUSEPORT), all in the one process
        const ss = execFileSync('ss', ['-lunpH', `sport = :${port}`]).toString().trim().split('\n').filter(Boolean);
        expect(ss.length, ss.join('\n')).to.equal(2);
        expect(new Set(ss.map((l) => /pid=(\d+)/.exec(l)?.[1])).size, ss.join('\n')).to.equal(1);

        // A reload: loaded and validated once by the main thread, swapped in by all workers at once.
        const v2 = bundle(zoneShard('example.org.', [{ name: 'www.example.org.', type: 'A', ttl: 60, data: ['192.0.2.2'] }]));
        fs.writeFileSync(file + '.tmp', JSON.stringify(v2));
        fs.renameSync(file + '.tmp', file);
        let sawNew = false;
        let afterNew = 0;
        for (let i = 0; i < 3000 && afterNew < 60; i++) { // 60 answers after the first new one, each from a fresh source port (spread over both workers)
          const r = await udpQuery(port, { name: 'www.example.org' });
          const data = r.answers!.map((a) => (a as { data: unknown }).data);
          if (sawNew) { expect(data, `answer ${afterNew} after the first new one`).to.deep.equal(['192.0.2.2']); afterNew++; }
          else if (data[0] === '192.0.2.2') sawNew = true;
          else { expect(data).to.deep.equal(['192.0.2.1']); await new Promise((r) => setTimeout(r, 10)); }
        }
        expect(afterNew, 'the new version served').to.equal(60);
        // TCP too: each worker thread listens on the port (reusePort); fresh connections spread over them
        for (let i = 0; i < 10; i++) {
          const r = await tcpQuery(port, { name: 'www.example.org' });
          expect(r.answers!.map((a) => (a as { data: unknown }).data)).to.deep.equal(['192.0.2.2']);
        }
        const hashes = new Map<number, string>();
        for (let i = 0; i < 200 && hashes.size < 2; i++) {
          const st = JSON.parse(await getFresh(httpPort, '/status')) as { worker: number; shards: { hash: string }[] };
          hashes.set(st.worker, st.shards.map((x) => x.hash).join());
        }
        expect(hashes.size, 'both workers answered /status').to.equal(2);
        expect(hashes.get(0)).to.equal(hashes.get(1)).and.to.equal(v2.shards.map((x) => x.hash).join());
      } else {
        expect(out).to.match(/--workers 2 needs Node\.js 22\.12 or newer \(dgram reusePort\); running one process/);
        expect(kids, 'no worker processes').to.have.length(0);
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
