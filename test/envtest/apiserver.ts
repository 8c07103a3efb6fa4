// A real etcd + kube-apiserver pair on loopback, as controller-runtime's envtest starts them.
// Ports are free loopback ports picked at start; certificates are made at start (certs.ts); the
// admin identity is a static token in group system:masters; authorization is RBAC; the
// ServiceAccount issuer, key pair and audience let TokenRequest mint tokens. Processes are
// stopped by PID: close(), a process 'exit' hook, and a detached watchdog per child that kills
// it if this Node process dies without running either.

import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createKubeClient } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { Assets } from './assets.js';
import { makePki } from './certs.js';
import type { Pki } from './certs.js';

export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const live = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => { for (const c of live) if (c.exitCode === null && c.pid) try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ } });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => { process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
  }
}

/** Kills `child` (and removes `dir`, if given) when this process is gone (SIGKILLed, crashed) without its exit hook running. */
function watchdog(child: ChildProcess, dir = ''): void {
  const script = 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; [ -z "$3" ] || { sleep 1; rm -rf "$3"; }; fi';
  const w = spawn('sh', ['-c', script, 'watchdog', String(process.pid), String(child.pid), dir], { detached: true, stdio: 'ignore' });
  w.unref();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

function startProcess(bin: string, args: string[], log: string, cleanDir?: string): ChildProcess {
  hookExit();
  const fd = openSync(log, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  live.add(child);
  child.once('exit', () => live.delete(child));
  watchdog(child, cleanDir);
  return child;
}

async function stopProcess(child: ChildProcess | undefined, graceMs = 15000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

const tail = (file: string, n = 15) => { try { return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n'); } catch { return ''; } };

// Every request, once its response is complete, at Metadata level: who, what, and the response code.
const AUDIT_POLICY = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n';

/** One audit log entry (the fields tests read). */
export interface AuditEvent {
  verb: string; requestURI: string; user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string; apiGroup?: string };
  responseStatus?: { code: number; reason?: string; message?: string };
  annotations?: Record<string, string>;
  /** When the apiserver received the request, and when it completed the response (RFC 3339, microseconds: they compare as strings). */
  requestReceivedTimestamp?: string; stageTimestamp?: string;
}

export interface EnvtestOptions { readyTimeoutMs?: number }

export class Envtest {
  readonly dir: string;
  readonly pki: Pki;
  readonly adminToken = randomBytes(24).toString('hex');
  port = 0;
  version = '';
  private etcd?: ChildProcess;
  private apiserver?: ChildProcess;
  private etcdUrl = '';
  private adminClient?: KubeClient;

  private constructor(readonly assets: Assets, private readonly opts: EnvtestOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'splitdns-envtest-'));
    this.pki = makePki(this.dir);
    writeFileSync(join(this.dir, 'audit-policy.yaml'), AUDIT_POLICY);
    writeFileSync(join(this.dir, 'tokens.csv'), `${this.adminToken},envtest-admin,envtest-admin,"system:masters"\n`, { mode: 0o600 });
  }

  /** Starts etcd, then kube-apiserver, and waits for /readyz. */
  static async start(assets: Assets, opts: EnvtestOptions = {}): Promise<Envtest> {
    const e = new Envtest(assets, opts);
    try {
      await e.startEtcd();
      await e.startApiServer();
      e.version = (await e.request('GET', '/version')).gitVersion;
    } catch (err) { await e.close(); throw err; }
    return e;
  }

  get auditLog(): string { return join(this.dir, 'audit.log'); }

  /** The audit log so far (all apiserver runs), optionally only one user's requests. */
  audit(username?: string): AuditEvent[] {
    let text = '';
    try { text = readFileSync(this.auditLog, 'utf8'); } catch { return []; }
    return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => username === undefined || e.user.username === username);
  }

  get url(): string { return `https://127.0.0.1:${this.port}`; }
  get apiserverPid(): number | undefined { return this.apiserver?.pid; }
  get caPem(): string { return readFileSync(this.pki.caCert, 'utf8'); }

  /** A client-node KubeConfig for `server` (default: the apiserver) with a bearer token (default: admin). */
  kubeConfig(token = this.adminToken, server = this.url, user = 'admin'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'envtest', server, caData: Buffer.from(readFileSync(this.pki.caCert)).toString('base64'), skipTLSVerify: false }],
      users: [{ name: user, token }],
      contexts: [{ name: 'envtest', cluster: 'envtest', user }],
      currentContext: 'envtest',
    });
    return kc;
  }

  /** A request as the admin (system:masters); rejects with KubeApiError (code, reason) on non-2xx. */
  request<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    this.adminClient ??= createKubeClient(this.kubeConfig(), { timeoutMs: 30000, userAgent: 'splitdns-tests', fieldManager: 'splitdns-tests' });
    return this.adminClient.request<T>(method, path, body, contentType);
  }

  private async startEtcd(): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    this.etcdUrl = `http://127.0.0.1:${client}`;
    this.etcd = startProcess(this.assets.etcd, [
      '--data-dir', join(this.dir, 'etcd'), '--listen-client-urls', this.etcdUrl, '--advertise-client-urls', this.etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `default=http://127.0.0.1:${peer}`, '--listen-metrics-urls', '', '--unsafe-no-fsync', '--log-level', 'warn',
    ], join(this.dir, 'etcd.log'), this.dir);
  }

  /** Starts kube-apiserver (on the port it had before, if any) and waits until /readyz says ok. */
  async startApiServer(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const p = this.pki;
    const log = join(this.dir, 'kube-apiserver.log');
    this.apiserver = startProcess(this.assets.kubeApiserver, [
      `--etcd-servers=${this.etcdUrl}`, '--bind-address=127.0.0.1', `--secure-port=${this.port}`,
      `--tls-cert-file=${p.serverCert}`, `--tls-private-key-file=${p.serverKey}`, `--client-ca-file=${p.caCert}`,
      `--token-auth-file=${join(this.dir, 'tokens.csv')}`, '--authorization-mode=RBAC', '--service-cluster-ip-range=10.96.0.0/12,fd00:10:96::/112',
      `--service-account-issuer=${SA_ISSUER}`, `--service-account-key-file=${p.saPub}`,
      `--service-account-signing-key-file=${p.saKey}`, `--api-audiences=${SA_ISSUER}`,
      `--audit-policy-file=${join(this.dir, 'audit-policy.yaml')}`, `--audit-log-path=${this.auditLog}`, '--audit-log-format=json',
      '--allow-privileged=true', '--profiling=false', `--cert-dir=${join(this.dir, 'cert-dir')}`,
    ], log);
    const child = this.apiserver;
    const limit = this.opts.readyTimeoutMs ?? 90000;
    const end = Date.now() + limit;
    const ready = createKubeClient(this.kubeConfig(), { timeoutMs: 2000, userAgent: 'splitdns-tests' });
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`envtest: kube-apiserver exited (${child.exitCode ?? child.signalCode}) before it was ready; its log ends:\n${tail(log)}`);
      }
      const ok = await ready.request<string>('GET', '/readyz').then(() => true, () => false);
      if (ok) return;
      if (Date.now() > end) throw new Error(`envtest: kube-apiserver not ready within ${limit} ms; its log ends:\n${tail(log)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops kube-apiserver by PID (SIGTERM, then SIGKILL after graceMs); etcd keeps the data. */
  async stopApiServer(graceMs?: number): Promise<void> {
    await stopProcess(this.apiserver, graceMs);
  }

  async restartApiServer(): Promise<void> {
    await this.stopApiServer();
    await this.startApiServer();
  }

  async close(): Promise<void> {
    await stopProcess(this.apiserver);
    await stopProcess(this.etcd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `etcd --version`'s first line's version, for the one line the harness prints. */
export function etcdVersion(etcd: string): string {
  try { return /etcd Version: (\S+)/.exec(execFileSync(etcd, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?'; } catch { return '?'; }
}
