// Memory of --workers N (ADR 0010, ADR 0027): the standalone server (dist/dns-server/main.js)
// serving a synthetic cluster config (reload.js's generator: SERVICES Services in 100
// namespaces), started with N = 1, 2, ... workers; once every worker is ready and every worker has
// answered every Service name (so the lazily prepared answers exist in each: the kernel spreads
// datagrams over the workers by source port, so the names are asked from ROUNDS sockets per
// worker, and a worker missed by all of them is unlikely: N (1-1/N)^(ROUNDS N)), the resident
// memory of the whole process tree (VmRSS of the server and any children; threads share the one
// process), the median of 12 samples over 3 s, and again SETTLE_S s later (V8's memory reducer
// gives back some pages a few seconds after a burst). Target: each extra worker adds at most
// 25 MB over one, at both. First, the server before any data (an empty bundle).
// The bundle's modification time is set in the past, so the file source trusts its stat at every
// N (a bundle written less than 2 s before the start is read again at the first poll: file.ts).
// Needs Node >= 22.12 for N > 1 (reusePort); older Nodes run one process whatever N says, and
// the figures show it.
// Usage: node workers.js [SERVICES=1000] [MAX_WORKERS=4] [MAIN=dist/dns-server/main.js]; env
// ROUNDS (default 6), SETTLE_S (default 10).
import { execFileSync, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVICES = Number(process.argv[2] ?? 1000);
const MAX = Number(process.argv[3] ?? 4);
const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN = process.argv[4] ?? path.resolve(here, '../../dns-server/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitdns-workers-bench-'));
const config = path.join(dir, 'bundle.json');
execFileSync(process.execPath, [path.join(here, 'reload.js'), String(SERVICES), '100', '10'], { env: { ...process.env, DUMP: config } });
const past = new Date(Date.now() - 60_000);
fs.utimesSync(config, past, past);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SETTLE_S = Number(process.env.SETTLE_S ?? 10);

const freePort = () => new Promise<number>((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => res(p)); }); });
const get = (port: number, p: string) => new Promise<{ code: number; body: string }>((res) => {
  http.get({ host: '127.0.0.1', port, path: p, agent: false }, (r) => { let b = ''; r.on('data', (d) => { b += d; }); r.on('end', () => res({ code: r.statusCode ?? 0, body: b })); }).on('error', () => res({ code: 0, body: '' }));
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
function treeRssMb(pid: number): number {
  let kids: number[] = [];
  try { kids = execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number); } catch { /* none */ }
  return (rssKb(pid) + kids.reduce((a, k) => a + treeRssMb(k) * 1024, 0)) / 1024;
}

/** Asks every Service name once (A), from one socket, a window of 200 outstanding; a lost datagram is asked again after 500 ms without an answer. */
async function askAll(port: number): Promise<number> {
  const sock = dgram.createSocket('udp4');
  const names = Array.from({ length: SERVICES }, (_, s) => `svc${s}.ns${s % 100}.svc.cluster.local`);
  const query = (i: number) => Buffer.concat([Buffer.from([i >> 8, i & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...names[i].split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
  const pending = new Set<number>();
  let answered = 0;
  await new Promise<void>((resolve) => {
    let next = 0;
    let lastAnswer = performance.now();
    const sendOne = () => {
      if (next >= names.length) return;
      pending.add(next);
      sock.send(query(next++), port, '127.0.0.1');
    };
    const resend = setInterval(() => {
      if (performance.now() - lastAnswer < 500) return;
      for (const i of pending) sock.send(query(i), port, '127.0.0.1');
    }, 250);
    const end = () => { clearInterval(resend); resolve(); };
    sock.on('message', (m: Buffer) => {
      if (!pending.delete(m.readUInt16BE(0))) return; // an answer to a query asked twice
      lastAnswer = performance.now();
      answered++;
      if (answered === names.length) end(); else sendOne();
    });
    for (let k = 0; k < 200; k++) sendOne();
    setTimeout(end, 30000).unref();
  });
  sock.close();
  return answered;
}

/** The median of 12 samples over 3 s: the resident size moves by several MB with the garbage collector's timing. */
async function medianRss(pid: number): Promise<{ mb: number; lo: number; hi: number }> {
  const samples: number[] = [];
  for (let k = 0; k < 12; k++) { await sleep(250); samples.push(treeRssMb(pid)); }
  samples.sort((a, b) => a - b);
  return { mb: (samples[5] + samples[6]) / 2, lo: samples[0], hi: samples[11] };
}

/** Starts the server on `bundle` with n workers and waits until every worker says it is ready. */
async function startServer(bundle: string, n: number) {
  const [port, httpPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [MAIN, '--config', bundle, '--port', String(port), '--http-port', String(httpPort), '--workers', String(n), '--no-default-upstream', '--log-level', 'warn', '--lame-duck-ms', '0'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = performance.now();
  const ready = new Set<string>();
  for (let i = 0; i < 600 && ready.size < n; i++) {
    const st = await get(httpPort, '/status');
    if (st.code === 200) { const j = JSON.parse(st.body) as { ready: boolean; pid: number; worker?: number }; if (j.ready) ready.add(`${j.pid}/${j.worker ?? 0}`); }
    if (ready.size < n) await sleep(50);
  }
  const stop = async () => { child.kill('SIGTERM'); await new Promise((r) => child.on('exit', r)); };
  return { child, port, ready: ready.size, readyMs: performance.now() - t0, stop };
}

console.log(`workers: node ${process.versions.node}, ${os.cpus().length} cores, ${SERVICES} Services (${path.relative(process.cwd(), MAIN)})`);
{
  // Before any data: the runtime and the modules (issue 14: under 90 MB at 1,000 Services leaves
  // this much for everything else).
  const empty = path.join(dir, 'empty.json');
  fs.writeFileSync(empty, JSON.stringify({ apiVersion: 'splitdns.io/config.v1', kind: 'ConfigBundle', shards: [] }));
  const s = await startServer(empty, 1);
  await sleep(500);
  console.log(`workers: before any data (an empty bundle), N=1 ready=${s.ready}/1, rss_mb=${treeRssMb(s.child.pid!).toFixed(1)}`);
  await s.stop();
}
let one = { now: 0, settled: 0 };
for (let n = 1; n <= MAX; n++) {
  const { child, port, ready, readyMs, stop } = await startServer(config, n);
  let answered = 0;
  for (let k = 0; k < ROUNDS * n; k++) answered += await askAll(port); // each round goes to one worker, chosen by its source port
  const now = await medianRss(child.pid!);
  await sleep(SETTLE_S * 1000);
  const settled = await medianRss(child.pid!);
  if (n === 1) one = { now: now.mb, settled: settled.mb };
  const extra = n === 1 ? '' : ` per extra worker ${((now.mb - one.now) / (n - 1)).toFixed(1)} MB, settled ${((settled.mb - one.settled) / (n - 1)).toFixed(1)} MB (target <= 25)`;
  console.log(`workers: N=${n} ready=${ready}/${n} in ${readyMs.toFixed(0)} ms, answered ${answered}/${ROUNDS * n * SERVICES}, rss_mb=${now.mb.toFixed(1)} (median; ${now.lo.toFixed(1)}-${now.hi.toFixed(1)}), ${SETTLE_S} s later ${settled.mb.toFixed(1)}${extra}`);
  await stop();
}
fs.rmSync(dir, { recursive: true, force: true });
