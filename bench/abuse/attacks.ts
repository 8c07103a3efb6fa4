// Hostile clients on loopback, as functions that return figures: the abuse bench prints them
// (bench/abuse/run.ts) and test/dns-server/abuse.test.ts asserts on them. Every attack is
// bounded in connections, packets and time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { Registry } from 'prom-client';
import { CONFIG_API_VERSION, createForwarder, startDnsServer, withHash } from '../../dns-server/index.js';
import type { DnsServerOptions, UnhashedShard } from '../../dns-server/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;

export function query(name: string, id: number, type = 'A'): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }] });
}

export function framed(msg: Buffer): Buffer {
  const b = Buffer.allocUnsafe(msg.length + 2);
  b.writeUInt16BE(msg.length, 0);
  msg.copy(b, 2);
  return b;
}

/** Resident memory of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export interface ChildServer {
  port: number; httpPort: number; pid: number; proc: ChildProcess;
  metric(name: string): Promise<number>;
  /** Has the server run a settled full GC (SIGUSR2: serve.ts) and waits until it has. */
  gc(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts bench/abuse/serve in its own process (the same file the bench and the tests run). */
export async function startChildServer(opts: Partial<DnsServerOptions> = {}): Promise<ChildServer> {
  const self = new URL(import.meta.url);
  const ts = self.pathname.endsWith('.ts');
  const script = new URL(ts ? './serve.ts' : './serve.js', self).pathname;
  const proc = spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), script, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: proc.stdout! });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`abuse server exited (${code}) before listening`)));
  });
  const { port, httpPort, pid } = JSON.parse(line) as { port: number; httpPort: number; pid: number };
  return {
    port, httpPort, pid, proc,
    /** Sum of every series of a metric on the child's /metrics. */
    async metric(name: string) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      let sum = 0;
      for (const l of text.split('\n')) if (l.startsWith(name + ' ') || l.startsWith(name + '{')) sum += Number(l.slice(l.lastIndexOf(' ') + 1));
      return sum;
    },
    gc: () => new Promise<void>((resolve) => { rl.once('line', () => resolve()); proc.kill('SIGUSR2'); }),
    stop: () => new Promise<void>((resolve) => { if (proc.exitCode !== null) { resolve(); return; } proc.once('exit', () => resolve()); proc.kill('SIGTERM'); }),
  };
}

function connect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.once('connect', () => { s.off('error', reject); resolve(s); });
    s.once('error', reject);
  });
}

/** Polls until `cond` holds (or the deadline passes); returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

export interface NonReaderFigures {
  clients: number; queriesEach: number;
  /** After a settled full GC, before the attack. */
  rssBefore: number;
  rssPeak: number;
  /** Once the server has closed every connection, before any GC of ours (V8 collects at its own pace). */
  rssAfterNoGc: number;
  /** The same after a settled full GC: what the server still holds. */
  rssAfter: number;
  servedQueries: number; closedByServer: number;
}

/**
 * `clients` TCP connections each pipeline `queries` queries for the 31 KB TXT record and never
 * read. Resident memory is sampled while the server takes what it will take (until its query
 * count stops moving), then the clients go and memory is read again once the server has
 * closed every connection, before and after a settled GC (ChildServer.gc; the baseline is read
 * after one too, so both sides are V8's heap shrunk to what is live).
 */
export async function nonReaders(srv: ChildServer, clients = 20, queries = 1000): Promise<NonReaderFigures> {
  // Warm the server up (code paths, the prepared answer) before the baseline.
  const warm = await connect(srv.port);
  await new Promise<void>((resolve) => {
    let buf = Buffer.alloc(0), answers = 0;
    warm.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { buf = buf.subarray(2 + buf.readUInt16BE(0)); answers++; }
      if (answers >= 20) resolve();
    });
    warm.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => framed(query('big.abuse.example', i, 'TXT')))));
  });
  warm.destroy();
  await waitFor(async () => (await srv.metric('splitdns_dns_tcp_connections')) === 0, 5000);
  await srv.gc();
  const rssBefore = rssOf(srv.pid);
  const socks: net.Socket[] = [];
  const payload = Buffer.concat(Array.from({ length: queries }, (_, i) => framed(query('big.abuse.example', i & 0xffff, 'TXT'))));
  for (let c = 0; c < clients; c++) {
    const s = await connect(srv.port);
    s.on('error', () => undefined);
    s.pause(); // never read: the answers pile up in the kernel, then (without back-pressure) in the server
    s.write(payload);
    socks.push(s);
  }
  let rssPeak = rssBefore;
  let last = -1, still = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < 20000) { // until the server stops taking queries (5 polls unchanged)
    rssPeak = Math.max(rssPeak, rssOf(srv.pid));
    const served = await srv.metric('splitdns_dns_requests_total');
    if (served === last) { if (++still >= 5) break; } else { still = 0; last = served; }
    await sleep(100);
  }
  rssPeak = Math.max(rssPeak, rssOf(srv.pid));
  const servedQueries = (await srv.metric('splitdns_dns_requests_total')) - 20;
  for (const s of socks) s.destroy();
  await waitFor(async () => (await srv.metric('splitdns_dns_tcp_connections')) === 0, 10000);
  const rssAfterNoGc = rssOf(srv.pid);
  await srv.gc();
  return { clients, queriesEach: queries, rssBefore, rssPeak, rssAfterNoGc, rssAfter: rssOf(srv.pid), servedQueries, closedByServer: await srv.metric('splitdns_dns_tcp_closed_total') };
}

export interface SlowLorisFigures { attackers: number; attackersOpen: number; freshAnswered: number; freshAsked: number; freshMs: number[]; closedByServer: Record<string, number> }

/**
 * `attackers` connections from `sources` loopback addresses (127.0.1.x), each sending one byte
 * of a frame every `trickleMs` and never completing it, reconnecting when closed. Meanwhile a
 * fresh client (127.0.0.2) asks `fresh` TCP queries, one connection each, one after another;
 * the time to each answer is recorded (a query not answered within `freshTimeoutMs` counts as
 * unanswered).
 */
export async function slowLoris(srv: ChildServer, attackers = 1000, sources = 20, fresh = 5, trickleMs = 500, freshTimeoutMs = 5000): Promise<SlowLorisFigures> {
  let stopping = false;
  const open = new Set<net.Socket>();
  const attack = async (src: string): Promise<void> => {
    while (!stopping) {
      let s: net.Socket;
      try { s = await connect(srv.port, src); } catch { await sleep(trickleMs); continue; }
      if (stopping) { s.destroy(); return; } // connected after the attack was called off
      open.add(s);
      s.on('data', () => undefined);
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.on('error', () => undefined);
      s.write(Buffer.from([0xff])); // first byte of a 65 KB length prefix
      const timer = setInterval(() => { if (!s.destroyed) s.write(Buffer.from([0x41])); }, trickleMs);
      await closed;
      clearInterval(timer);
      open.delete(s);
    }
  };
  const running: Promise<void>[] = [];
  for (let i = 0; i < attackers; i++) {
    running.push(attack(`127.0.1.${1 + (i % sources)}`));
    if (i % 100 === 99) await waitFor(() => open.size >= i + 1 - 10, 5000, 10); // do not overflow the listen backlog
  }
  await waitFor(() => open.size >= attackers, 10000, 20);
  const attackersOpen = open.size;
  const freshMs: number[] = [];
  let freshAnswered = 0;
  for (let i = 0; i < fresh; i++) {
    const t0 = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const timer = setTimeout(() => { s.destroy(); resolve(false); }, freshTimeoutMs);
      let buf = Buffer.alloc(0);
      s.on('error', () => { clearTimeout(timer); resolve(false); });
      s.on('close', () => { clearTimeout(timer); resolve(false); });
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) { clearTimeout(timer); s.destroy(); resolve(dnsPacket.decode(buf.subarray(2)).id === 4242 + i); }
      });
      s.once('connect', () => s.write(framed(query('www.abuse.example', 4242 + i))));
    });
    if (ok) { freshAnswered++; freshMs.push(performance.now() - t0); }
  }
  stopping = true;
  for (const s of open) s.destroy();
  await Promise.all(running);
  const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
  const closedByServer: Record<string, number> = {};
  for (const m of text.matchAll(/^splitdns_dns_tcp_closed_total\{reason="([a-z_]+)"\} (\d+)/gm)) closedByServer[m[1]] = Number(m[2]);
  return { attackers, attackersOpen, freshAnswered, freshAsked: fresh, freshMs, closedByServer };
}

export interface BurstFigures { sent: number; answered: number; lost: number; recvBufferGranted: number }

/** `n` UDP queries sent at once from one socket (as fast as the loop goes), answers matched by ID. */
export async function udpBurst(port: number, n = 2000, timeoutMs = 10000): Promise<BurstFigures> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * MiB });
  const seen = new Set<number>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => { done = r; });
  sock.on('message', (m) => { if (m.length >= 2) { seen.add(m.readUInt16BE(0)); if (seen.size >= n) done(); } });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const pkts = Array.from({ length: n }, (_, i) => query(`n${i}.abuse.example`, i));
  for (const p of pkts) sock.send(p, port, '127.0.0.1');
  await Promise.race([all, sleep(timeoutMs)]);
  const granted = sock.getRecvBufferSize();
  sock.close();
  return { sent: n, answered: seen.size, lost: n - seen.size, recvBufferGranted: granted };
}

/** A UDP upstream answering every A query with 10.0.0.1 after 0-`maxDelayMs` ms. */
export async function startFakeUpstream(maxDelayMs = 5): Promise<{ port: number; close(): void }> {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * MiB });
  sock.on('message', (m, r) => {
    let q: dnsPacket.Packet;
    try { q = dnsPacket.decode(m); } catch { return; }
    const out = dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name: q.questions![0].name, type: 'A', ttl: 60, data: '10.0.0.1' }] });
    setTimeout(() => sock.send(out, r.port, r.address), Math.floor(Math.random() * (maxDelayMs + 1)));
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, close: () => sock.close() };
}

export interface ReloadFigures { reloads: number; queries: number; answered: number; servfail: number; lost: number }

function forwardersBundle(upstreamPort: number, timeoutMs: number): unknown {
  const shard = withHash({
    apiVersion: CONFIG_API_VERSION, kind: 'forwarders', id: 'forwarders', reverse: [],
    forwarders: [{
      name: 'f', domains: ['.'], upstreams: [{ address: '127.0.0.1', port: upstreamPort, protocol: 'udp' }],
      policy: 'sequential', timeoutMs, deadlineMs: 5000, failFast: false, maxConcurrent: 10000,
      healthCheck: { enabled: false, intervalMs: 1000, failures: 3, name: '.' },
      cache: { enabled: false, maxEntries: 1000, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 0,
        prefetch: { enabled: false, minHits: 2, percent: 10 }, serveStale: { enabled: false, maxStale: 0, ttl: 30 } },
    }],
  } as UnhashedShard);
  return { apiVersion: CONFIG_API_VERSION, kind: 'ConfigBundle', shards: [shard] };
}

/**
 * A forwarding server (in this process) under `concurrency` clients asking distinct names in
 * a loop, while the forwarder's configuration changes `reloads` times (each change replaces
 * the forwarder). Every answer is checked: SERVFAIL and no answer within 2 s are counted.
 */
export async function reloadUnderLoad(reloads = 20, concurrency = 50, everyMs = 25): Promise<ReloadFigures> {
  const up = await startFakeUpstream(20);
  const logger = pino({ level: 'silent' });
  const registry = new Registry();
  const server = await startDnsServer({ port: 0, logger, registry, fallback: createForwarder({ logger, registry }) });
  server.applyBundle(forwardersBundle(up.port, 1000));
  let stop = false, queries = 0, answered = 0, servfail = 0, lost = 0, seq = 0;
  const client = async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    while (!stop) {
      const id = seq++ & 0xffff;
      queries++;
      const r = await new Promise<Buffer | null>((resolve) => {
        const t = setTimeout(() => { sock.off('message', on); resolve(null); }, 2000);
        const on = (m: Buffer) => { if (m.readUInt16BE(0) !== id) return; clearTimeout(t); sock.off('message', on); resolve(m); };
        sock.on('message', on);
        sock.send(query(`q${seq}.reload.example`, id), server.port, '127.0.0.1');
      });
      if (r === null) lost++;
      else if ((r[3] & 0x0f) === 2) servfail++;
      else answered++;
    }
    sock.close();
  };
  const clients = Array.from({ length: concurrency }, client);
  for (let i = 0; i < reloads; i++) {
    await sleep(everyMs);
    server.applyBundle(forwardersBundle(up.port, 1000 + i + 1)); // a changed forwarder: a new runtime each time
  }
  await sleep(everyMs);
  stop = true;
  await Promise.all(clients);
  await server.close();
  up.close();
  return { reloads, queries, answered, servfail, lost };
}
