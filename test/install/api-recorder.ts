// A recording HTTP proxy in front of the Kubernetes API double: each client (the operator, the
// DNS server's ConfigMap source) gets its own, so every request is attributed to its caller and
// can be turned into the RBAC (apiGroup, resource, verb, namespace) it needs. Loopback only.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parsePath } from '../kube-api-double/resources.js';

export interface ApiCall { method: string; url: string }
export interface RbacNeed { group: string; resource: string; verb: string; namespace?: string }

export class ApiRecorder {
  readonly calls: ApiCall[] = [];
  url = '';
  #server: http.Server;
  #upstream: http.ClientRequest[] = [];

  private constructor(target: number) {
    this.#server = http.createServer((req, res) => {
      this.calls.push({ method: req.method ?? 'GET', url: req.url ?? '/' });
      const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        res.flushHeaders(); // a watch sends its headers before any event; pass them on at once
        ur.pipe(res);
      });
      this.#upstream.push(up);
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      req.pipe(up);
    });
  }

  static async start(targetPort: number): Promise<ApiRecorder> {
    const r = new ApiRecorder(targetPort);
    await new Promise<void>((resolve) => r.#server.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.#server.address() as AddressInfo).port}`;
    return r;
  }

  async close(): Promise<void> {
    for (const u of this.#upstream) u.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The RBAC each recorded call needs; throws on a path that is not a Kubernetes resource. */
  needs(): RbacNeed[] {
    return this.calls.map((c) => rbacNeedOf(c.method, c.url));
  }
}

/** The verb and resource a request needs, as the API server's authorizer sees it. */
export function rbacNeedOf(method: string, url: string): RbacNeed {
  const u = new URL(url, 'http://x');
  const p = parsePath(u.pathname);
  if (!p) throw new Error(`${method} ${url} is not a resource path`);
  const watch = ['true', '1'].includes(u.searchParams.get('watch') ?? '');
  const verb = method === 'GET' ? (watch ? 'watch' : p.name === undefined ? 'list' : 'get')
    : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch'
    : method === 'DELETE' ? (p.name === undefined ? 'deletecollection' : 'delete') : method.toLowerCase();
  return { group: p.type.group, resource: p.type.plural + (p.subresource ? `/${p.subresource}` : ''), verb, namespace: p.namespace };
}
