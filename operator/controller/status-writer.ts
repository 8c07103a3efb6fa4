// Status: the compiled status of each custom resource, with Programmed/Ready decided by what
// the DNS servers serve, patched (merge patch on /status) only when it differs from what was
// last written; lastTransitionTime kept while a condition's status holds. Events (events.k8s.io/v1)
// on transitions: accepted, rejected (with the reason), programmed.

import type { Logger } from 'pino';
import type { Condition, ResourceResult } from '../compile/index.js';
import type { KubeClient } from '../../kube/kube-client.js';
import type { OperatorMetrics } from './metrics.js';

const PLURAL = { DNSZone: 'dnszones', DNSForwarder: 'dnsforwarders', StaticHost: 'statichosts' } as const;

export function resourcePath(r: { kind: keyof typeof PLURAL; namespace?: string; name: string }, sub = ''): string {
  const ns = r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  return `/apis/splitdns.io/v1alpha1${ns}/${PLURAL[r.kind]}/${encodeURIComponent(r.name)}${sub}`;
}

function setCondition(conds: Condition[], c: Condition): Condition[] {
  return [...conds.filter((x) => x.type !== c.type), c];
}

/** The status to write: compile's, with Programmed and Ready from the confirmation. */
export function desiredStatus(r: ResourceResult, programmed: boolean, noReplicas: boolean, now: Date): ResourceResult['status'] {
  const accepted = r.status.conditions.find((c) => c.type === 'Accepted');
  let conds = r.status.conditions;
  const t = now.toISOString().replace(/\.\d+Z$/, 'Z');
  if (accepted?.status === 'True') {
    const g = r.generation;
    if (programmed) {
      conds = setCondition(conds, { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'Every ready DNS server serves this generation', observedGeneration: g, lastTransitionTime: t });
      conds = setCondition(conds, { type: 'Ready', status: 'True', reason: 'Ready', message: 'Accepted and served by every ready DNS server', observedGeneration: g, lastTransitionTime: t });
    } else if (noReplicas) {
      conds = setCondition(conds, { type: 'Programmed', status: 'Unknown', reason: 'NoReadyReplicas', message: 'No ready DNS server replica was found to confirm', observedGeneration: g, lastTransitionTime: t });
    }
  }
  // compile() gives conditions without a time: a condition whose status changed takes `now`
  // (write() keeps the previous time of one whose status held).
  conds = conds.map((c) => (c.lastTransitionTime === undefined ? { ...c, lastTransitionTime: t } : c));
  const order = ['Accepted', 'Programmed', 'Ready'];
  conds = [...conds].sort((a, b) => (order.indexOf(a.type) + 1 || 99) - (order.indexOf(b.type) + 1 || 99) || a.type.localeCompare(b.type));
  return { ...r.status, conditions: conds };
}

/** Keep lastTransitionTime of a condition whose status did not change. */
function keepTransitionTimes(next: ResourceResult['status'], prev: any): ResourceResult['status'] {
  const before = new Map<string, any>((prev?.conditions ?? []).map((c: any) => [c.type, c]));
  return { ...next, conditions: next.conditions.map((c) => {
    const p = before.get(c.type);
    return p && p.status === c.status ? { ...c, lastTransitionTime: p.lastTransitionTime } : c;
  }) };
}

const canon = (v: unknown) => JSON.stringify(v);

export class StatusWriter {
  /** uid → status as last written (or read from the object). */
  #last = new Map<string, { json: string; status: any }>();

  constructor(private readonly client: KubeClient, private readonly log: Logger, private readonly metrics: OperatorMetrics,
    private readonly reporter: { controller: string; instance: string }) {}

  reset(): void { this.#last.clear(); }

  /** Writes one resource's status if it changed; `live` is the informer's copy of the object. */
  async write(r: ResourceResult, desired: ResourceResult['status'], live: any): Promise<boolean> {
    const key = r.uid ?? `${r.kind}/${r.namespace ?? ''}/${r.name}`;
    const prev = this.#last.get(key)?.status ?? live?.status;
    const next = keepTransitionTimes(desired, prev);
    if (canon(next) === canon(prev) || canon(next) === this.#last.get(key)?.json) return false;
    try {
      await this.client.request('PATCH', resourcePath(r, '/status'), { status: next }, 'application/merge-patch+json');
    } catch (err) {
      this.log.warn({ err, kind: r.kind, namespace: r.namespace, name: r.name }, 'cannot write status');
      return false;
    }
    this.metrics.statusWritesTotal.inc();
    this.#last.set(key, { json: canon(next), status: next });
    await this.#events(r, prev, next, live);
    return true;
  }

  async #events(r: ResourceResult, prev: any, next: ResourceResult['status'], live: any): Promise<void> {
    const was = (t: string) => (prev?.conditions ?? []).find((c: any) => c.type === t);
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
    for (const e of out) {
      const ns = r.namespace ?? 'default';
      const now = new Date().toISOString().replace('Z', '000Z');
      try {
        await this.client.request('POST', `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/events`, {
          apiVersion: 'events.k8s.io/v1', kind: 'Event',
          metadata: { generateName: `${r.name}.`, namespace: ns },
          eventTime: now, type: e.type, reason: e.reason, note: e.note.slice(0, 1000), action: e.action,
          reportingController: this.reporter.controller, reportingInstance: this.reporter.instance,
          regarding: { apiVersion: 'splitdns.io/v1alpha1', kind: r.kind, name: r.name, namespace: r.namespace, uid: r.uid ?? live?.metadata?.uid, resourceVersion: live?.metadata?.resourceVersion },
        });
      } catch (err) {
        this.log.debug({ err, reason: e.reason }, 'cannot record event');
      }
    }
  }
}
