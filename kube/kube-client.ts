// A small JSON REST client on a client-node KubeConfig: the credentials and CA come from
// kc.applyToHTTPSOptions (in-cluster service account, a KUBECONFIG file, or, in tests, a plain
// http://127.0.0.1 server with skipTLSVerify). Informers use client-node's own ListWatch/Watch.
//
// Connections: client-node makes a new https.Agent (so a new TCP connection, TLS handshake and
// TLS context) for every request. This client makes ONE keep-alive agent per client, from the
// TLS options of the first request, and uses it for every request and every watch of that
// client (the informers' Watch gets it through applyToFetchOptions), so requests reuse a few
// open connections. The bearer token is still read per request (a rotated service-account token
// is picked up); a client certificate is read once. A request that fails with ECONNRESET on a
// reused socket (the server closed an idle connection just as we sent) is sent again once.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** The release, for User-Agent headers (a test checks it against package.json). */
export const SPLITDNS_VERSION = '0.1.0';
/** The field manager of every write the operator makes (PATCH/POST/PUT `fieldManager`). */
export const OPERATOR_FIELD_MANAGER = 'splitdns-operator';
export const OPERATOR_USER_AGENT = `splitdns-operator/${SPLITDNS_VERSION}`;
export const DNS_SERVER_USER_AGENT = `splitdns-dns-server/${SPLITDNS_VERSION}`;
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export class KubeApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) { super(message); }
}

export interface KubeClient {
  readonly kc: KubeConfig;
  /** The one connection pool of this client (undefined until the first request). */
  readonly agent?: http.Agent;
  request<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
}

/** No credentials anywhere: the message says, in one line, what is missing and how to provide it. */
export class KubeConfigMissingError extends Error {}

/**
 * KubeConfig from a URL (tests: `http://127.0.0.1:PORT`), else KUBECONFIG, ~/.kube/config or
 * the in-cluster service account, in client-node's order. Where none exists client-node would
 * fall back to http://localhost:8080 and fail on every request; this throws
 * KubeConfigMissingError instead.
 */
export function loadKubeConfig(server?: string, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  if (server) {
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: server.startsWith('http:') }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
  } else if (env.KUBECONFIG) {
    kc.loadFromDefault();
  } else if (fs.existsSync(path.join(env.HOME || os.homedir(), '.kube', 'config'))) {
    kc.loadFromFile(path.join(env.HOME || os.homedir(), '.kube', 'config'));
  } else if (fs.existsSync(SERVICE_ACCOUNT_TOKEN) && env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new KubeConfigMissingError('no Kubernetes credentials: KUBECONFIG is not set, there is no ~/.kube/config and no in-cluster service account; set KUBECONFIG, pass --kube-api URL, or run in a Pod with a service account');
  }
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured (in-cluster service account, KUBECONFIG or --kube-api)');
  return kc;
}

export interface KubeClientOptions {
  /** Sent on every request, watches included (default: the operator's). */
  userAgent?: string;
  /** Added as `fieldManager` to every PATCH, POST and PUT (default: the operator's). */
  fieldManager?: string;
  timeoutMs?: number;
  /** Most connections open at once, watches included (default 32; requests beyond wait for one). */
  maxSockets?: number;
}

const WRITES = new Set(['PATCH', 'POST', 'PUT']);

/**
 * The KubeConfig a client-node Watch should use: the same credentials, plus our User-Agent
 * (Watch builds its headers with applyToFetchOptions({}), which keeps headers passed in).
 */
function withUserAgent(kc: KubeConfig, userAgent: string, agent: (opts: https.RequestOptions) => http.Agent): KubeConfig {
  const out = Object.create(kc) as KubeConfig;
  out.applyToFetchOptions = async (opts) => {
    const init = await kc.applyToFetchOptions({ ...opts, headers: { ...(opts.headers as Record<string, string>), 'user-agent': userAgent } });
    return { ...init, agent: agent(init as https.RequestOptions) };
  };
  return out;
}

/** A keep-alive agent with the TLS settings client-node chose for `opts` (its agent is dropped). */
function pooledAgent(server: string, opts: https.RequestOptions, maxSockets: number, proxied: boolean): http.Agent {
  // Behind a proxy, client-node's agent is the proxy's (hpagent/socks): keep that one, once.
  if (proxied && opts.agent) return opts.agent as http.Agent;
  const common = { keepAlive: true, keepAliveMsecs: 30000, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' as const };
  if (server.startsWith('http:')) return new http.Agent(common);
  const a = (opts.agent as https.Agent | undefined)?.options ?? {};
  return new https.Agent({
    ...common, ca: opts.ca ?? a.ca, cert: opts.cert ?? a.cert, key: opts.key ?? a.key, pfx: opts.pfx ?? a.pfx, passphrase: opts.passphrase ?? a.passphrase,
    servername: opts.servername ?? a.servername, ...((opts.rejectUnauthorized ?? a.rejectUnauthorized) !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized ?? a.rejectUnauthorized } : {}),
  });
}

/** `options` as a number: the timeout in ms (older callers). */
export function createKubeClient(config: KubeConfig, options: KubeClientOptions | number = {}): KubeClient {
  const o: KubeClientOptions = typeof options === 'number' ? { timeoutMs: options } : options;
  const userAgent = o.userAgent ?? OPERATOR_USER_AGENT;
  const fieldManager = o.fieldManager ?? OPERATOR_FIELD_MANAGER;
  const timeoutMs = o.timeoutMs ?? 10000;
  let agent: http.Agent | undefined;
  const agentFor = (opts: https.RequestOptions): http.Agent => {
    const cluster = config.getCurrentCluster()!;
    agent ??= pooledAgent(cluster.server, opts, o.maxSockets ?? 32, Boolean((cluster as { proxyUrl?: string }).proxyUrl));
    return agent;
  };
  const kc = withUserAgent(config, userAgent, agentFor);
  const send = (mod: typeof http | typeof https, url: URL, opts: https.RequestOptions, method: string, path: string, payload: Buffer | undefined, retried: boolean): Promise<any> =>
    new Promise((resolve, reject) => {
        const req = mod.request(url, { ...opts, timeout: timeoutMs }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) return resolve(json);
            reject(new KubeApiError(code, json?.reason ?? 'Unknown', `${method} ${path}: ${code} ${json?.message ?? text.slice(0, 200)}`));
          });
        });
        req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (!retried && req.reusedSocket && err.code === 'ECONNRESET') resolve(send(mod, url, opts, method, path, payload, true));
          else reject(err);
        });
        if (payload) req.write(payload);
        req.end();
    });
  return {
    kc,
    get agent() { return agent; },
    async request(method, path, body, contentType = 'application/json') {
      const cluster = kc.getCurrentCluster()!;
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      if (WRITES.has(method) && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', fieldManager);
      const opts: https.RequestOptions = { method, headers: {} };
      await config.applyToHTTPSOptions(opts);
      opts.agent = agentFor(opts);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      opts.headers = { ...(opts.headers as Record<string, string>), accept: 'application/json', 'user-agent': userAgent, ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}) };
      return send(url.protocol === 'http:' ? http : https, url, opts, method, path, payload, false);
    },
  };
}

export function isCode(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.code === code;
}
