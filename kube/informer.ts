// One resource kept in memory with client-node's ListWatch (list, then watch from the list's
// resourceVersion; on a 410 it relists and diffs, so deletions missed while the watch was down
// are seen). client-node does not restart a ListWatch that stopped on any other error, so this
// wrapper does: capped, jittered backoff, and a FRESH ListWatch (a full relist) each time, so a
// long outage is never resumed from a stale resourceVersion. The cap is low (2 s) so that an
// API server back from an outage is seen within about 2 s however long the outage lasted; the
// backoff starts again from its first step after every successful list.
//
// `transform` cuts each object down as it enters (listed or watched), before the cache keeps it,
// so the cache holds only what its user reads (the operator keeps what compile() needs).
// Updates are compared by a SHA-1 of the object (less resourceVersion and managedFields, and
// less status where `ignoreStatus`), not by a kept copy.

import { createHash } from 'node:crypto';
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubernetesObject, KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClient } from './kube-client.js';

export interface InformerOptions {
  client: KubeClient;
  /** Collection path, e.g. /apis/splitdns.io/v1alpha1/statichosts or /api/v1/namespaces/ns/configmaps. */
  path: string;
  labelSelector?: string;
  logger: Logger;
  /** Called on every add/update/delete and after every (re)list. */
  onChange: () => void;
  backoff?: BackoffOptions;
  /** Called when the informer stopped on an error and a restart is scheduled `delayMs` later. */
  onRestart?: (delayMs: number) => void;
  /** Cuts each object down before it is kept (default: kept whole). */
  transform?: (o: any) => any;
  /** Objects per list page (default 500; 0: one unpaged list). */
  pageSize?: number;
  /** An update that changed only status is not a change (default true: our own status writes). */
  ignoreStatus?: boolean;
  /** The status feeds compile too (a Service's or Ingress's load balancer, a Gateway's addresses): a status-only update is a change. */
  statusMatters?: boolean;
}

export interface BackoffOptions { initialMs?: number; maxMs?: number }

/** Defaults: 200 ms doubling per consecutive failure, capped at 2 s. */
export const BACKOFF_DEFAULTS = { initialMs: 200, maxMs: 2000 };

/**
 * Capped exponential backoff with jitter: after n consecutive failures the delay is drawn from
 * [d/2, d], d = min(max, initial·2^(n-1)). reset() after a success. `random` is injectable.
 */
export class Backoff {
  #failures = 0;
  constructor(private readonly o: BackoffOptions = {}, private readonly random: () => number = Math.random) {}
  get failures(): number { return this.#failures; }
  /** Counts a failure and returns the delay before the next attempt. */
  next(): number {
    this.#failures++;
    const initial = this.o.initialMs ?? BACKOFF_DEFAULTS.initialMs;
    const max = this.o.maxMs ?? BACKOFF_DEFAULTS.maxMs;
    const d = Math.min(max, initial * 2 ** Math.min(this.#failures - 1, 30));
    return d / 2 + this.random() * d / 2;
  }
  reset(): void { this.#failures = 0; }
}

export class ResourceInformer<T extends KubernetesObject = KubernetesObject> {
  #opts: InformerOptions;
  #lw?: ListWatch<T>;
  #stopped = false;
  #synced = false;
  #backoff: Backoff;
  #timer?: NodeJS.Timeout;
  #wake?: () => void;
  #log: Logger;
  restarts = 0;

  constructor(opts: InformerOptions) {
    this.#opts = opts;
    this.#backoff = new Backoff(opts.backoff);
    this.#log = opts.logger.child({ informer: opts.path });
  }

  get synced(): boolean { return this.#synced; }

  /** Current objects (the last successful list plus watch events since). */
  list(): readonly T[] { return this.#lw?.list() ?? []; }

  /** Resolves once the first list succeeded (retrying with backoff until then) or stop() was called. */
  async start(): Promise<void> {
    let delay: number | undefined;
    while (!this.#stopped && (delay = await this.#startOnce()) !== undefined) await this.#sleep(delay);
  }

  /** undefined when listed (or stopped), else the delay before the next try. */
  async #startOnce(): Promise<number | undefined> {
    const { client, path, labelSelector } = this.#opts;
    const transform = this.#opts.transform ?? ((o: T) => o);
    // Listed in pages (as client-go's pager does): no single huge response to hold and parse
    // at once, and the event loop runs between pages. Every page is of the same snapshot; the
    // last page's resourceVersion is the list's.
    const limit = this.#opts.pageSize ?? 500;
    const listFn = async (): Promise<KubernetesListObject<T>> => {
      const items: T[] = [];
      let cont: string | undefined;
      for (;;) {
        const q = new URLSearchParams();
        if (labelSelector) q.set('labelSelector', labelSelector);
        if (limit > 0) q.set('limit', String(limit));
        if (cont) q.set('continue', cont);
        const qs = q.toString();
        const page = await client.request<KubernetesListObject<T>>('GET', path + (qs ? `?${qs}` : ''));
        for (const o of page.items ?? []) items.push(transform(o));
        cont = (page.metadata as { continue?: string } | undefined)?.continue;
        if (!cont) return { ...page, items };
      }
    };
    const watch = new Watch(client.kc);
    if (this.#opts.transform) {
      const inner = watch.watch.bind(watch);
      watch.watch = (p, q, callback, done) => inner(p, q, (phase, obj, raw) => callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? transform(obj) : obj, raw), done);
    }
    const lw = new ListWatch<T>(path, watch, listFn, false, labelSelector);
    let failed: unknown;
    // Only what feeds compile() counts: an update that changed nothing but status (our own
    // status writes, for one; unless statusMatters) or the resourceVersion is not a change.
    const ignoreStatus = this.#opts.statusMatters === true ? false : this.#opts.ignoreStatus ?? true;
    // key → the object as last seen, or its fingerprint once it has been compared: computed only
    // when an update comes (a relist of 10,000 objects adds them all in one synchronous loop of
    // client-node's ListWatch; hashing each there blocked the event loop for a second at scale).
    const prints = new Map<string, string | T>();
    const fingerprint = (o: T) => {
      const { status, metadata, ...rest } = o as any;
      const { resourceVersion: _r, managedFields: _m, ...meta } = metadata ?? {};
      return createHash('sha1').update(JSON.stringify(ignoreStatus ? [meta, rest] : [meta, rest, status])).digest('base64');
    };
    const keyOf = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const onChange = () => { if (this.#lw === lw) this.#opts.onChange(); };
    lw.on('add', (o) => { prints.set(keyOf(o), o); onChange(); });
    lw.on('delete', (o) => { prints.delete(keyOf(o)); onChange(); });
    lw.on('update', (o) => {
      const k = keyOf(o);
      const prev = prints.get(k);
      const f = fingerprint(o);
      prints.set(k, f);
      if (prev !== undefined && (typeof prev === 'string' ? prev : fingerprint(prev)) === f) return;
      onChange();
    });
    lw.on('error', (err) => {
      failed = err ?? new Error('watch failed');
      if (this.#lw === lw && !this.#stopped) this.#restartLater(err);
    });
    await lw.start();
    if (failed !== undefined || this.#stopped) {
      await lw.stop();
      if (this.#stopped) return undefined;
      const delay = this.#backoff.next();
      this.#log.warn({ err: failed, failures: this.#backoff.failures, retryInMs: Math.round(delay) }, 'list failed; retrying with backoff');
      this.restarts++;
      this.#opts.onRestart?.(delay);
      return delay;
    }
    const old = this.#lw;
    this.#lw = lw;
    await old?.stop();
    this.#backoff.reset();
    this.#synced = true;
    this.#opts.onChange();
    return undefined;
  }

  #restartLater(err: unknown): void {
    const delay = this.#backoff.next();
    this.restarts++;
    this.#opts.onRestart?.(delay);
    this.#log.warn({ err, failures: this.#backoff.failures, retryInMs: Math.round(delay) }, 'informer stopped; restarting with a fresh list');
    const lw = this.#lw;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#stopped || this.#lw !== lw) return;
      void this.start();
    }, delay);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => { this.#wake = resolve; this.#timer = setTimeout(resolve, ms); });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#lw?.stop();
  }
}
