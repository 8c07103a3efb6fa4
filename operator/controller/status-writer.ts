// Status: the only owner of the custom resources' conditions and their times. It takes the
// status compile() decided (Accepted, figures, observedGeneration; any time compile supplies is
// ignored), sets Programmed and Ready from the confirmation, stamps lastTransitionTime from its
// clock when a condition's status changes against the live object (or what it last wrote) and
// keeps the live time otherwise, and merge-patches /status only when the result differs from
// the live status. A new leader therefore starts from the status already written: with nothing
// changed it writes nothing. Events (events.k8s.io/v1) on transitions: accepted, rejected (with
// the reason), programmed. A failed status or Event write is logged at warn once per kind of
// failure (then at debug), so a broken permission is visible without flooding the log.
//
// At scale (issue 16): every write goes through a WriteQueue (write-queue.ts): a client-side
// QPS/burst limit, bounded concurrency, the most recently changed resource first, Events after
// every waiting status write, and a queued
// write replaced by a newer one for the same resource. Events are aggregated as Kubernetes'
// event recorder does: the first occurrence of (object, reason) creates an Event, a repeat
// within an hour PATCHes that Event's series (count, lastObservedTime) instead of creating one.

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { canonicalJson } from '../../dns-server/config/hash.js';
import type { Condition, ConditionStatus, ResourceResult } from '../compile/index.js';
import { KubeApiError } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { OperatorMetrics } from './metrics.js';
import { WRITE_QUEUE_DEFAULTS, WriteQueue } from './write-queue.js';

const PLURAL = { DNSZone: 'dnszones', DNSForwarder: 'dnsforwarders', StaticHost: 'statichosts' } as const;

export function resourcePath(r: { kind: keyof typeof PLURAL; namespace?: string; name: string }, sub = ''): string {
  const ns = r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  return `/apis/splitdns.io/v1alpha1${ns}/${PLURAL[r.kind]}/${encodeURIComponent(r.name)}${sub}`;
}

/** A condition as decided, before the status writer gives it its time. */
export type TimelessCondition = Omit<Condition, 'lastTransitionTime'>;
export interface DesiredStatus { observedGeneration: number; conditions: TimelessCondition[]; [figure: string]: unknown }

/** metav1.Time: RFC 3339 with second precision. */
const k8sTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const ORDER = ['Accepted', 'Programmed', 'Ready'];

function strip(c: TimelessCondition & { lastTransitionTime?: unknown }): TimelessCondition {
  return { type: c.type, status: c.status, reason: c.reason, message: c.message, observedGeneration: c.observedGeneration };
}

function setCondition(conds: TimelessCondition[], c: TimelessCondition): TimelessCondition[] {
  return [...conds.filter((x) => x.type !== c.type), c];
}

/** The status to write: compile's, with Programmed and Ready from the confirmation (no times). */
export function desiredStatus(r: ResourceResult, programmed: boolean, noReplicas: boolean): DesiredStatus {
  let conds = r.status.conditions.map(strip);
  if (conds.find((c) => c.type === 'Accepted')?.status === 'True') {
    const g = r.generation;
    const cond = (type: string, status: ConditionStatus, reason: string, message: string): TimelessCondition => ({ type, status, reason, message, observedGeneration: g });
    if (programmed) {
      conds = setCondition(conds, cond('Programmed', 'True', 'Programmed', 'Every ready DNS server serves this generation'));
      conds = setCondition(conds, cond('Ready', 'True', 'Ready', 'Accepted and served by every ready DNS server'));
    } else if (noReplicas) {
      conds = setCondition(conds, cond('Programmed', 'Unknown', 'NoReadyReplicas', 'No ready DNS server replica was found to confirm'));
    }
  }
  conds.sort((a, b) => (ORDER.indexOf(a.type) + 1 || 99) - (ORDER.indexOf(b.type) + 1 || 99) || a.type.localeCompare(b.type));
  return { ...r.status, conditions: conds };
}

/**
 * Gives each condition its lastTransitionTime: the previous one while its status holds, else
 * `now`. Returns the conditions with the keys in canonical (sorted) order.
 */
export function stampTransitions(next: DesiredStatus, prev: any, now: number): ResourceResult['status'] {
  const before = new Map<string, any>((Array.isArray(prev?.conditions) ? prev.conditions : []).map((c: any) => [c?.type, c]));
  return { ...next, conditions: next.conditions.map((c) => {
    const p = before.get(c.type);
    const lastTransitionTime = p && p.status === c.status && typeof p.lastTransitionTime === 'string' ? p.lastTransitionTime : k8sTime(now);
    return { lastTransitionTime, message: c.message, observedGeneration: c.observedGeneration, reason: c.reason, status: c.status, type: c.type };
  }) };
}

export interface StatusWriterOptions {
  client: KubeClient;
  logger: Logger;
  metrics: OperatorMetrics;
  reporter: { controller: string; instance: string };
  /** Milliseconds since the epoch: the time of a transition (tests inject a fake clock). */
  now?: () => number;
  /** Client-side limit of status and Event writes (default qps 200, burst 300, 16 in flight). */
  qps?: number;
  burst?: number;
  concurrency?: number;
}

/** A repeat of the same (object, reason) within this long updates the Event's series. */
export const EVENT_SERIES_WINDOW_MS = 60 * 60 * 1000;

/** Subtracted from an Event's priority so that it runs after every waiting status write. */
const EVENT_BEHIND_STATUS = 1e15;

/** A resource's key in the writer (and in retain()): its uid, else kind/namespace/name. */
export const keyOfResult = (r: ResourceResult): string => r.uid ?? `${r.kind}/${r.namespace ?? ''}/${r.name}`;

export class StatusWriter {
  /** uid → canonical JSON and value of the status as last written. */
  #last = new Map<string, { json: string; status: any }>();
  /** Kinds of write failure already logged at warn ("status 403", "event 422", ...). */
  #warned = new Set<string>();
  /** uid → the desired status (times aside) and when it last changed: the write order. */
  #desired = new Map<string, { json: string; since: number }>();
  /** `uid reason` → the Event recorded for it (name, namespace, count, when). */
  #events = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  /**
   * uid → the last of its Events still queued or in flight: an object's Events are posted one
   * after another, in the order its statuses were written (the queue runs newer changes first
   * and 16 at a time, which could post an object's Programmed before its Accepted).
   */
  #eventTails = new Map<string, Promise<void>>();
  /**
   * uid → the desired status object and the live object last found written (or written): the
   * same two objects again need no diff at all (the Confirmer asks after every poll, 1,000s of
   * resources, while one of them changed).
   */
  #settled = new Map<string, { desired: DesiredStatus; live: unknown }>();
  /** uid → the write queued or in flight for these desired and live objects: asked again, the same promise (no second diff). */
  #pending = new Map<string, { desired: DesiredStatus; live: unknown; done: Promise<boolean> }>();
  #now: () => number;
  readonly queue: WriteQueue;

  constructor(private readonly o: StatusWriterOptions) {
    this.#now = o.now ?? Date.now;
    this.queue = new WriteQueue({
      qps: o.qps ?? WRITE_QUEUE_DEFAULTS.qps, burst: o.burst ?? WRITE_QUEUE_DEFAULTS.burst, concurrency: o.concurrency ?? WRITE_QUEUE_DEFAULTS.concurrency,
      // Every change of the queue, Events included (the gauge was set around status writes only, so it kept a stale depth while Events drained).
      onDepth: (n) => o.metrics.writeQueueDepth.set(n),
    });
  }

  /** Forget what was written: the next writes compare against the live objects (a new leader). */
  reset(): void { this.#last.clear(); this.#desired.clear(); this.#events.clear(); this.#eventTails.clear(); this.#settled.clear(); this.#pending.clear(); this.queue.clear(); }

  /** Stops writing: queued patches and Events are dropped, the ones in flight awaited (the operator is stopping). */
  close(): Promise<void> { return this.queue.close(); }

  /** Forgets resources that are gone (keys as write() makes them). */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.#settled.keys()) if (!keys.has(k)) this.#settled.delete(k);
    for (const k of this.#pending.keys()) if (!keys.has(k)) this.#pending.delete(k);
  }

  #statusFailures = 0;
  /** Status patches that failed so far: a caller compares it around its writes to know whether to try again. */
  get statusFailures(): number { return this.#statusFailures; }

  /**
   * Writes one resource's status if it differs from the live one; `live` is the informer's copy.
   * Pass the same `desired` object while the desired status is the same: with the same live
   * object as when it was last found written, nothing is compared.
   */
  write(r: ResourceResult, desired: DesiredStatus, live: any): Promise<boolean> {
    const key = keyOfResult(r);
    if (this.#isSettled(key, desired, live)) return Promise.resolve(false);
    const pending = this.#pending.get(key);
    if (pending !== undefined && pending.desired === desired && pending.live === live) return pending.done;
    const done = this.#write(key, r, desired, live);
    const entry = { desired, live, done };
    this.#pending.set(key, entry);
    // then(clear, clear), not finally(): a rejection reaches the caller through `done` and leaves no second, unhandled one here.
    const clear = () => { if (this.#pending.get(key) === entry) this.#pending.delete(key); };
    void done.then(clear, clear);
    return done;
  }

  /** Whether write() would do nothing: these desired and live objects are the ones last found written (no promise made, nothing compared). */
  settled(r: ResourceResult, desired: DesiredStatus, live: unknown): boolean {
    return this.#isSettled(keyOfResult(r), desired, live);
  }

  #isSettled(key: string, desired: DesiredStatus, live: unknown): boolean {
    const settled = this.#settled.get(key);
    return settled !== undefined && settled.desired === desired && settled.live === live;
  }

  async #write(key: string, r: ResourceResult, desired: DesiredStatus, live: any): Promise<boolean> {
    const mine = this.#last.get(key);
    const prev = mine?.status ?? live?.status;
    const next = stampTransitions(desired, prev, this.#now());
    const json = canonicalJson(next);
    if (json === mine?.json || (prev !== undefined && json === canonicalJson(prev))) {
      this.#desired.delete(key);
      this.#settled.set(key, { desired, live });
      return false;
    }
    this.#settled.delete(key);
    const want = canonicalJson(desired);
    const d = this.#desired.get(key);
    const since = d && d.json === want ? d.since : this.#now();
    this.#desired.set(key, { json: want, since });
    const queued = this.queue.enqueue(`status ${key}`, since, async () => {
      try {
        await this.o.client.request('PATCH', resourcePath(r, '/status'), { status: next }, 'application/merge-patch+json');
      } catch (err) {
        this.#statusFailures++;
        this.#failed('status', err, { kind: r.kind, namespace: r.namespace, name: r.name }, 'cannot write status');
        return false;
      }
      this.o.metrics.statusWritesTotal.inc();
      this.#last.set(key, { json, status: next });
      if (this.#desired.get(key)?.json === want) this.#desired.delete(key);
      return true;
    });
    const done = await queued;
    if (!done) return false;
    // Events queue behind every status patch: not awaited, so a caller waiting for the statuses
    // does not wait for thousands of Events too.
    void this.#recordEvents(r, prev, next, live, since).catch((err) => this.#failed('event', err, { kind: r.kind, namespace: r.namespace, name: r.name }, 'cannot record event'));
    return true;
  }

  #failed(what: 'status' | 'event', err: unknown, fields: Record<string, unknown>, msg: string): void {
    const kind = `${what} ${err instanceof KubeApiError ? err.code : (err as NodeJS.ErrnoException)?.code ?? 'error'}`;
    const first = !this.#warned.has(kind);
    this.#warned.add(kind);
    this.o.logger[first ? 'warn' : 'debug']({ err, ...fields }, first ? `${msg} (further failures of this kind are logged at debug)` : msg);
  }

  async #recordEvents(r: ResourceResult, prev: any, next: ResourceResult['status'], live: any, priority: number): Promise<void> {
    const was = (t: string) => (Array.isArray(prev?.conditions) ? prev.conditions : []).find((c: any) => c?.type === t);
    const is = (t: string) => next.conditions.find((c) => c.type === t);
    const out: { type: 'Normal' | 'Warning'; reason: string; note: string; action: string }[] = [];
    const acc = is('Accepted');
    const accBefore = was('Accepted');
    if (acc && (acc.status !== accBefore?.status || acc.reason !== accBefore?.reason)) {
      out.push(acc.status === 'True'
        ? { type: 'Normal', reason: 'Accepted', note: acc.message, action: 'Compile' }
        : { type: 'Warning', reason: acc.reason, note: acc.message, action: 'Compile' });
    }
    const prog = is('Programmed');
    if (prog?.status === 'True' && was('Programmed')?.status !== 'True') out.push({ type: 'Normal', reason: 'Programmed', note: prog.message, action: 'Publish' });
    const ns = r.namespace ?? 'default';
    const uid = r.uid ?? live?.metadata?.uid;
    if (out.length === 0) return;
    // Events wait behind every status write (a status is what tools read; an Event is a note),
    // and behind the object's earlier Events.
    const okey = uid ?? `${r.kind}/${ns}/${r.name}`;
    const before = this.#eventTails.get(okey);
    const at = this.#now(); // the Events' time: when the status changed, not when their turn came
    const run = (async () => {
      if (before !== undefined) await before;
      for (const e of out) await this.#postEvent(r, e, ns, uid, live, priority, at);
    })();
    const tail = run.then(() => undefined, () => undefined);
    this.#eventTails.set(okey, tail);
    void tail.then(() => { if (this.#eventTails.get(okey) === tail) this.#eventTails.delete(okey); });
    await run;
  }

  #postEvent(r: ResourceResult, e: { type: 'Normal' | 'Warning'; reason: string; note: string; action: string }, ns: string, uid: string | undefined, live: any, priority: number, now: number): Promise<void> {
    return this.queue.enqueue(`event ${uid ?? r.name} ${e.reason}`, priority - EVENT_BEHIND_STATUS, async () => {
      const key = `${uid ?? `${r.kind}/${ns}/${r.name}`} ${e.reason}`;
      const seen = this.#events.get(key);
      try {
        if (seen && now - seen.at < EVENT_SERIES_WINDOW_MS) {
          try {
            await this.o.client.request('PATCH', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(seen.namespace)}/events/${encodeURIComponent(seen.name)}`,
              { series: { count: seen.count + 1, lastObservedTime: microTime(now) }, note: e.note.slice(0, 1000) }, 'application/merge-patch+json');
            this.#events.set(key, { ...seen, count: seen.count + 1, at: now });
            this.o.metrics.eventsTotal.inc({ op: 'series' });
            return;
          } catch (err) {
            if (!(err instanceof KubeApiError && err.code === 404)) throw err; // expired: record it anew
          }
        }
        const name = eventName(r.name, now);
        await this.o.client.request('POST', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`, {
          apiVersion: 'events.k8s.io/v1', kind: 'Event',
          metadata: { name, namespace: ns },
          eventTime: microTime(now), type: e.type, reason: e.reason, note: e.note.slice(0, 1000), action: e.action,
          reportingController: this.o.reporter.controller, reportingInstance: this.o.reporter.instance,
          regarding: { apiVersion: 'splitdns.io/v1alpha1', kind: r.kind, name: r.name, namespace: r.namespace, uid, resourceVersion: live?.metadata?.resourceVersion },
        });
        this.#events.set(key, { name, namespace: ns, count: 1, at: now });
        this.o.metrics.eventsTotal.inc({ op: 'create' });
        if (this.#events.size > 20000) this.#pruneEvents(now);
      } catch (err) {
        this.#failed('event', err, { kind: r.kind, namespace: r.namespace, name: r.name, reason: e.reason }, 'cannot record event');
      }
    });
  }

  #pruneEvents(now: number): void {
    for (const [k, v] of this.#events) if (now - v.at >= EVENT_SERIES_WINDOW_MS) this.#events.delete(k);
  }
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

/**
 * An Event's name, as client-go's recorder makes it: `<object>.<hex>` (a DNS subdomain). Not a
 * generateName: a real apiserver refuses a generateName ending in '.' (422), and the random
 * suffix keeps two Events in the same nanosecond apart.
 */
export function eventName(object: string, nowMs: number): string {
  const suffix = (BigInt(nowMs) * 1000000n).toString(16) + randomBytes(2).toString('hex');
  return `${object.slice(0, 253 - suffix.length - 1)}.${suffix}`;
}
