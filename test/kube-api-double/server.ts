// A Kubernetes API server test double: an in-process HTTP server on 127.0.0.1 (port 0) with
// the semantics the operator and the ConfigMap source depend on. See README.md.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { apiVersionOf, matchesSelector, mergePatch, parsePath, RESOURCE_TYPES } from './resources.js';
import type { ParsedPath, ResourceType } from './resources.js';

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, any>; [k: string]: any };
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEntry { rv: number; type: EventType; key: string; obj: Obj }
interface Watcher { type: ResourceType; namespace?: string; selector?: string; bookmarks: boolean; res: http.ServerResponse }

export interface KubeApiDoubleOptions {
  /** Send a BOOKMARK to watchers that asked for them this often (default 1000 ms; 0 = never). */
  bookmarkMs?: number;
  /** Listen port on 127.0.0.1 (default 0: ephemeral). */
  port?: number;
}

export interface RequestRecord { method: string; path: string; status: number }

export class KubeApiDouble {
  #server = http.createServer((req, res) => this.#handle(req, res));
  #objects = new Map<string, Obj>();
  #history: HistoryEntry[] = [];
  #rv = 1;
  #compactedRv = 0;
  #watchers = new Set<Watcher>();
  #bookmarkTimer?: NodeJS.Timeout;
  /** Every request answered, for assertions about what a client did (e.g. "no write"). */
  readonly requests: RequestRecord[] = [];
  url = '';
  port = 0;
  /** While true, every list and watch answers 503 (an API outage as the informers see it); item reads and writes still work. */
  outage = false;

  static async start(opts: KubeApiDoubleOptions = {}): Promise<KubeApiDouble> {
    const d = new KubeApiDouble();
    await new Promise<void>((resolve) => d.#server.listen(opts.port ?? 0, '127.0.0.1', resolve));
    d.port = (d.#server.address() as AddressInfo).port;
    d.url = `http://127.0.0.1:${d.port}`;
    const every = opts.bookmarkMs ?? 1000;
    if (every > 0) { d.#bookmarkTimer = setInterval(() => d.sendBookmarks(), every); d.#bookmarkTimer.unref(); }
    return d;
  }

  async close(): Promise<void> {
    clearInterval(this.#bookmarkTimer);
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---- test controls ----

  /** Ends every open watch connection (the client sees the stream close). */
  dropWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  /** Forgets the event history: a watch or list from an older resourceVersion now gets 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
  }

  /** Sends a 410 Gone ERROR event on every open watch, then ends them (etcd compaction mid-watch). */
  expireWatches(): void {
    this.compact();
    for (const w of this.#watchers) {
      w.res.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n');
      w.res.end();
    }
    this.#watchers.clear();
  }

  sendBookmarks(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { apiVersion: apiVersionOf(w.type), kind: w.type.kind, metadata: { resourceVersion: String(this.#rv) } } }) + '\n');
    }
  }

  watchCount(): number { return this.#watchers.size; }

  /** The stored objects of a type (by plural, and group for the ambiguous "events"). */
  list(plural: string, namespace?: string, group?: string): Obj[] {
    const out: Obj[] = [];
    for (const [key, obj] of this.#objects) {
      const [g, , p, ns] = key.split('|');
      if (p === plural && (group === undefined || g === group) && (namespace === undefined || ns === namespace)) out.push(structuredClone(obj));
    }
    return out;
  }

  // ---- store ----

  #key(t: ResourceType, namespace: string | undefined, name: string): string {
    return [t.group, t.version, t.plural, t.namespaced ? namespace ?? '' : '', name].join('|');
  }

  #record(type: EventType, key: string, obj: Obj): void {
    this.#history.push({ rv: Number(obj.metadata.resourceVersion), type, key, obj: structuredClone(obj) });
    const [g, v, p, ns] = key.split('|');
    for (const w of this.#watchers) {
      if (w.type.group !== g || w.type.version !== v || w.type.plural !== p) continue;
      if (w.namespace !== undefined && w.namespace !== ns) continue;
      if (!matchesSelector(obj.metadata.labels, w.selector)) continue;
      w.res.write(JSON.stringify({ type, object: obj }) + '\n');
    }
  }

  // ---- HTTP ----

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const reply = (code: number, body: unknown) => {
        this.requests.push({ method: req.method ?? '', path: u.pathname, status: code });
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const p = parsePath(u.pathname);
      if (!p) return reply(404, status(404, 'NotFound', `the server could not find the requested resource (${u.pathname})`));
      let body: Obj | undefined;
      if (chunks.length) {
        try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { return reply(400, status(400, 'BadRequest', 'body is not JSON')); }
      }
      if (this.outage && req.method === 'GET' && p.name === undefined) return reply(503, status(503, 'ServiceUnavailable', 'the API double is in an outage'));
      try {
        if (req.method === 'GET' && p.name === undefined && u.searchParams.get('watch') === 'true') return this.#watch(p, u, req, res);
        const [code, out] = this.#serve(req.method ?? 'GET', p, u, req.headers['content-type'] ?? '', body);
        reply(code, out);
      } catch (err) {
        reply(500, status(500, 'InternalError', (err as Error).message));
      }
    });
  }

  #serve(method: string, p: ParsedPath, u: URL, contentType: string, body: Obj | undefined): [number, unknown] {
    const t = p.type;
    if (p.name === undefined) {
      if (method === 'GET') return [200, this.#listBody(p, u)];
      if (method === 'POST') return this.#create(p, body);
      return [405, status(405, 'MethodNotAllowed', `${method} on a collection`)];
    }
    const key = this.#key(t, p.namespace, p.name);
    const current = this.#objects.get(key);
    if (method === 'POST') return [405, status(405, 'MethodNotAllowed', 'POST on an item')];
    if (!current) return [404, status(404, 'NotFound', `${t.plural} "${p.name}" not found`)];
    if (method === 'GET') return [200, current];
    if (method === 'DELETE') {
      this.#objects.delete(key);
      const gone = structuredClone(current);
      gone.metadata.resourceVersion = String(++this.#rv);
      this.#record('DELETED', key, gone);
      return [200, gone];
    }
    let next: Obj;
    if (method === 'PUT') {
      if (!body?.metadata) return [400, status(400, 'BadRequest', 'body has no metadata')];
      next = body;
    } else if (method === 'PATCH') {
      if (!contentType.startsWith('application/merge-patch+json')) return [415, status(415, 'UnsupportedMediaType', `the double supports application/merge-patch+json only, not ${contentType}`)];
      next = mergePatch(current, body ?? {}) as Obj;
    } else return [405, status(405, 'MethodNotAllowed', method)];
    const wantRv = next.metadata?.resourceVersion;
    if (wantRv !== undefined && wantRv !== current.metadata.resourceVersion && (method === 'PUT' || body?.metadata?.resourceVersion !== undefined)) {
      return [409, status(409, 'Conflict', `Operation cannot be fulfilled on ${t.plural} "${p.name}": the object has been modified; please apply your changes to the latest version and try again`)];
    }
    const merged: Obj = structuredClone(current);
    if (t.statusSubresource && p.subresource === 'status') {
      merged.status = next.status;
    } else {
      for (const [k, v] of Object.entries(next)) if (k !== 'metadata' && k !== 'status') merged[k] = v;
      for (const k of Object.keys(merged)) if (!(k in next) && k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') delete merged[k];
      if (!t.statusSubresource && 'status' in next) merged.status = next.status;
      merged.metadata.labels = next.metadata?.labels;
      merged.metadata.annotations = next.metadata?.annotations;
      if (merged.metadata.labels === undefined) delete merged.metadata.labels;
      if (merged.metadata.annotations === undefined) delete merged.metadata.annotations;
      if (JSON.stringify(current.spec) !== JSON.stringify(merged.spec)) merged.metadata.generation = (current.metadata.generation ?? 1) + 1;
    }
    if (JSON.stringify(merged) === JSON.stringify(current)) return [200, current]; // no-op write: no new resourceVersion
    merged.metadata.resourceVersion = String(++this.#rv);
    this.#objects.set(key, merged);
    this.#record('MODIFIED', key, merged);
    return [200, merged];
  }

  #create(p: ParsedPath, body: Obj | undefined): [number, unknown] {
    const t = p.type;
    if (!body?.metadata) return [400, status(400, 'BadRequest', 'body has no metadata')];
    const name = body.metadata.name ?? (body.metadata.generateName ? body.metadata.generateName + randomUUID().slice(0, 5) : undefined);
    if (!name) return [422, status(422, 'Invalid', 'metadata.name: Required value')];
    const namespace = t.namespaced ? p.namespace ?? body.metadata.namespace : undefined;
    if (t.namespaced && !namespace) return [422, status(422, 'Invalid', 'metadata.namespace: Required value')];
    const key = this.#key(t, namespace, name);
    if (this.#objects.has(key)) return [409, status(409, 'AlreadyExists', `${t.plural} "${name}" already exists`)];
    const obj: Obj = structuredClone(body);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata = { ...obj.metadata, name, uid: randomUUID(), resourceVersion: String(++this.#rv), generation: 1, creationTimestamp: obj.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    if (namespace) obj.metadata.namespace = namespace; else delete obj.metadata.namespace;
    delete obj.metadata.generateName;
    this.#objects.set(key, obj);
    this.#record('ADDED', key, obj);
    return [201, obj];
  }

  #matching(p: ParsedPath, selector: string | null): Obj[] {
    return this.list(p.type.plural, p.namespace, p.type.group).filter((o) => o.apiVersion === apiVersionOf(p.type) && matchesSelector(o.metadata.labels, selector));
  }

  #listBody(p: ParsedPath, u: URL): unknown {
    const rv = u.searchParams.get('resourceVersion');
    if (rv && rv !== '0' && Number(rv) < this.#compactedRv && u.searchParams.get('resourceVersionMatch') === 'Exact') {
      return status(410, 'Expired', 'too old resource version');
    }
    return { apiVersion: apiVersionOf(p.type), kind: `${p.type.kind}List`, metadata: { resourceVersion: String(this.#rv) }, items: this.#matching(p, u.searchParams.get('labelSelector')) };
  }

  #watch(p: ParsedPath, u: URL, req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests.push({ method: 'WATCH', path: u.pathname, status: 200 });
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const selector = u.searchParams.get('labelSelector') ?? undefined;
    const rvParam = u.searchParams.get('resourceVersion');
    const w: Watcher = { type: p.type, namespace: p.namespace, selector, bookmarks: u.searchParams.get('allowWatchBookmarks') === 'true', res };
    if (!rvParam || rvParam === '0') {
      for (const o of this.#matching(p, selector ?? null)) res.write(JSON.stringify({ type: 'ADDED', object: o }) + '\n');
    } else {
      const from = Number(rvParam);
      if (!Number.isFinite(from) || from < this.#compactedRv) {
        res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${rvParam} (${this.#compactedRv})`) }) + '\n');
        return;
      }
      for (const h of this.#history) {
        if (h.rv <= from) continue;
        const [g, v, pl, ns] = h.key.split('|');
        if (g !== p.type.group || v !== p.type.version || pl !== p.type.plural) continue;
        if (p.namespace !== undefined && ns !== p.namespace) continue;
        if (!matchesSelector(h.obj.metadata.labels, selector)) continue;
        res.write(JSON.stringify({ type: h.type, object: h.obj }) + '\n');
      }
    }
    this.#watchers.add(w);
    res.on('close', () => this.#watchers.delete(w));
  }
}

function status(code: number, reason: string, message: string) {
  return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message, reason, code };
}

export { RESOURCE_TYPES };
