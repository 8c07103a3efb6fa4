// Memory of --workers N (ADR 0010): the standalone server (dist/dns-server/main.js) serving a
// synthetic cluster config (reload.js's generator: SERVICES Services in 100 namespaces), started
// with N = 1, 2, ... workers; once every worker is ready and every Service name has been asked
// once (so the lazily prepared answers exist), the resident memory of the whole process tree
// (VmRSS of the server and any children; threads share the one process), the median of 12
// samples over 3 s. Target: each extra
// worker adds at most 25 MB over one. First, the server before any data (an empty bundle).
// Needs Node >= 22.12 for N > 1 (reusePort); older Nodes run one process whatever N says, and
// the figures show it.
// Usage: node workers.js [SERVICES=1000] [MAX_WORKERS=4] [MAIN=dist/dns-server/main.js]
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

/** Asks every Service name once (A), from one socket, a window of 200 outstanding. */
async function askAll(port: number): Promise<number> {
  const sock = dgram.createSocket('udp4');
  let answered = 0;
  const names = Array.from({ length: SERVICES }, (_, s) => `svc${s}.ns${s % 100}.svc.cluster.local`);
  await new Promise<void>((resolve) => {
    let next = 0;
    const sendOne = () => {
      if (next >= names.length) return;
      const i = next++;
      const labels = names[i].split('.');
      const q = Buffer.concat([Buffer.from([i >> 8, i & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0, 0, 1, 0, 1])]);
      sock.send(q, port, '127.0.0.1');
    };
    sock.on('message', () => { answered++; if (answered === names.length) resolve(); else sendOne(); });
    for (let k = 0; k < 200; k++) sendOne();
    setTimeout(resolve, 20000).unref(); // lost datagrams: count what came back
  });
  sock.close();
  return answered;
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
let one = 0;
for (let n = 1; n <= MAX; n++) {
  const { child, port, ready, readyMs, stop } = await startServer(config, n);
  let answered = 0;
  for (let k = 0; k < n; k++) answered += await askAll(port); // each round spreads over the workers by source port
  // The median of 12 samples over 3 s: the resident size moves by several MB with the garbage
  // collector's timing (the file source re-reads the bundle every 2 s), one sample misleads.
  const samples: number[] = [];
  for (let k = 0; k < 12; k++) { await sleep(250); samples.push(treeRssMb(child.pid!)); }
  samples.sort((a, b) => a - b);
  const mb = (samples[5] + samples[6]) / 2;
  if (n === 1) one = mb;
  const extra = n === 1 ? '' : ` per extra worker ${((mb - one) / (n - 1)).toFixed(1)} MB (target <= 25)`;
  console.log(`workers: N=${n} ready=${ready}/${n} in ${readyMs.toFixed(0)} ms, answered ${answered}/${n * SERVICES}, rss_mb=${mb.toFixed(1)} (median; ${samples[0].toFixed(1)}-${samples[11].toFixed(1)})${extra}`);
  await stop();
}
fs.rmSync(dir, { recursive: true, force: true });
