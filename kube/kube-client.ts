// A small JSON REST client on a client-node KubeConfig: the credentials, CA and agent come from
// kc.applyToHTTPSOptions (in-cluster service account, a KUBECONFIG file, or, in tests, a plain
// http://127.0.0.1 server with skipTLSVerify). Informers use client-node's own ListWatch/Watch.

import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeApiError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) { super(message); }
}

export interface KubeClient {
  readonly kc: KubeConfig;
  request<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
}

/** KubeConfig from a URL (tests: `http://127.0.0.1:PORT`), else in-cluster or KUBECONFIG / ~/.kube/config. */
export function loadKubeConfig(server?: string): KubeConfig {
  const kc = new KubeConfig();
  if (server) {
    kc.loadFromOptions({
      clusters: [{ name: 'c', server, skipTLSVerify: server.startsWith('http:') }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
  } else {
    kc.loadFromDefault();
  }
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured (in-cluster service account, KUBECONFIG or --kube-api)');
  return kc;
}

export function createKubeClient(kc: KubeConfig, timeoutMs = 10000): KubeClient {
  return {
    kc,
    async request(method, path, body, contentType = 'application/json') {
      const cluster = kc.getCurrentCluster()!;
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      const opts: https.RequestOptions = { method, headers: {} };
      await kc.applyToHTTPSOptions(opts);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      opts.headers = { ...(opts.headers as Record<string, string>), accept: 'application/json', ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}) };
      const mod = url.protocol === 'http:' ? http : https;
      return new Promise((resolve, reject) => {
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
        req.on('error', reject);
        if (payload) req.write(payload);
        req.end();
      });
    },
  };
}

export function isCode(err: unknown, code: number): boolean {
  return err instanceof KubeApiError && err.code === code;
}
