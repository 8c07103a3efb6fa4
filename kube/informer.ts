// One resource kept in memory with client-node's ListWatch (list, then watch from the list's
// resourceVersion; on a 410 it relists and diffs, so deletions missed while the watch was down
// are seen). client-node does not restart a ListWatch that stopped on any other error, so this
// wrapper does: capped, jittered backoff, and a FRESH ListWatch (a full relist) each time, so a
// long outage is never resumed from a stale resourceVersion.

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
  backoff?: { initialMs?: number; maxMs?: number };
  /** Called when the informer stopped on an error and a restart is scheduled. */
  onRestart?: () => void;
}

export class ResourceInformer<T extends KubernetesObject = KubernetesObject> {
  #opts: InformerOptions;
  #lw?: ListWatch<T>;
  #stopped = false;
  #synced = false;
  #failures = 0;
  #timer?: NodeJS.Timeout;
  #wake?: () => void;
  #log: Logger;
  restarts = 0;

  constructor(opts: InformerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ informer: opts.path });
  }

  get synced(): boolean { return this.#synced; }

  /** Current objects (the last successful list plus watch events since). */
  list(): readonly T[] { return this.#lw?.list() ?? []; }

  /** Resolves once the first list succeeded (retrying with backoff until then) or stop() was called. */
  async start(): Promise<void> {
    while (!this.#stopped && !(await this.#startOnce())) await this.#sleep();
  }

  async #startOnce(): Promise<boolean> {
    const { client, path, labelSelector } = this.#opts;
    const query = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const listFn = () => client.request<KubernetesListObject<T>>('GET', path + query);
    const lw = new ListWatch<T>(path, new Watch(client.kc), listFn, false, labelSelector);
    let failed: unknown;
    // Only the spec and metadata feed compile(): an update that changed nothing but status
    // (our own status writes, for one) or the resourceVersion is not a change.
    const prints = new Map<string, string>();
    const fingerprint = (o: T) => { const { status: _s, metadata, ...rest } = o as any; const { resourceVersion: _r, managedFields: _m, ...meta } = metadata ?? {}; return JSON.stringify([meta, rest]); };
    const keyOf = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const onChange = () => { if (this.#lw === lw) this.#opts.onChange(); };
    lw.on('add', (o) => { prints.set(keyOf(o), fingerprint(o)); onChange(); });
    lw.on('delete', (o) => { prints.delete(keyOf(o)); onChange(); });
    lw.on('update', (o) => {
      const f = fingerprint(o);
      if (prints.get(keyOf(o)) === f) return;
      prints.set(keyOf(o), f);
      onChange();
    });
    lw.on('error', (err) => {
      failed = err ?? new Error('watch failed');
      if (this.#lw === lw && !this.#stopped) this.#restartLater(err);
    });
    await lw.start();
    if (failed !== undefined || this.#stopped) {
      await lw.stop();
      if (failed !== undefined) {
        this.#log.warn({ err: failed, failures: this.#failures + 1 }, 'list failed; retrying with backoff');
        this.restarts++;
        this.#opts.onRestart?.();
      }
      this.#failures++;
      return this.#stopped;
    }
    const old = this.#lw;
    this.#lw = lw;
    await old?.stop();
    this.#failures = 0;
    this.#synced = true;
    this.#opts.onChange();
    return true;
  }

  #restartLater(err: unknown): void {
    this.restarts++;
    this.#opts.onRestart?.();
    this.#failures++;
    this.#log.warn({ err, failures: this.#failures }, 'informer stopped; restarting with a fresh list');
    const lw = this.#lw;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      if (this.#stopped || this.#lw !== lw) return;
      void this.start();
    }, this.#delay());
  }

  #delay(): number {
    const initial = this.#opts.backoff?.initialMs ?? 200;
    const max = this.#opts.backoff?.maxMs ?? 30000;
    const d = Math.min(max, initial * 2 ** Math.min(this.#failures, 20));
    return d / 2 + Math.random() * d / 2;
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => { this.#wake = resolve; this.#timer = setTimeout(resolve, this.#delay()); });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#lw?.stop();
  }
}
