// Leader election on a coordination.k8s.io/v1 Lease (client-node 1.x has no elector). The
// holder renews every retryPeriod; another replica takes the Lease only once renewTime +
// leaseDurationSeconds has passed (or the holder released it). Every write carries the
// resourceVersion read, so two candidates racing for an expired Lease cannot both win (409).
// A leader that cannot renew within renewDeadline steps down before anyone else may take over.

import type { Logger } from 'pino';
import { isCode } from '../../kube/kube-client.js';
import type { KubeClient } from '../../kube/kube-client.js';

export interface LeaderOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number; // ≥ 1
  renewDeadlineMs: number;      // < leaseDuration
  retryPeriodMs: number;
  logger: Logger;
  onStart: () => void;
  onStop: () => void;
}

const micro = (d: Date) => d.toISOString().replace('Z', '000Z');

export class LeaderElector {
  #leader = false;
  #stopped = false;
  #timer?: NodeJS.Timeout;
  #lastRenew = 0;
  #log: Logger;
  #path: string;

  constructor(private readonly o: LeaderOptions) {
    this.#log = o.logger.child({ component: 'leader', identity: o.identity });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`;
  }

  get isLeader(): boolean { return this.#leader; }

  start(): void { void this.#tick(); }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try { await this.#tryAcquireOrRenew(); }
    catch (err) { this.#log.warn({ err }, 'lease request failed'); }
    if (this.#leader && Date.now() - this.#lastRenew > this.o.renewDeadlineMs) {
      this.#log.warn('could not renew the lease in time; stepping down');
      this.#setLeader(false);
    }
    if (!this.#stopped) this.#timer = setTimeout(() => void this.#tick(), this.o.retryPeriodMs);
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const now = new Date();
    const spec = { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, renewTime: micro(now) };
    let lease: any;
    try {
      lease = await this.o.client.request('GET', `${this.#path}/${this.o.name}`);
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      try {
        await this.o.client.request('POST', this.#path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 } });
        this.#lastRenew = Date.now();
        this.#setLeader(true);
      } catch (e) { if (!isCode(e, 409)) throw e; }
      return;
    }
    const s = lease.spec ?? {};
    const holder: string | undefined = s.holderIdentity || undefined;
    const expired = !holder || !s.renewTime || Date.parse(s.renewTime) + (s.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000 < now.getTime();
    if (holder !== this.o.identity && !expired) { if (this.#leader) this.#setLeader(false); return; }
    const next = holder === this.o.identity
      ? { ...s, ...spec }
      : { ...s, ...spec, acquireTime: micro(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 };
    try {
      await this.o.client.request('PUT', `${this.#path}/${this.o.name}`, { ...lease, spec: next });
      this.#lastRenew = Date.now();
      this.#setLeader(true);
    } catch (err) {
      if (!isCode(err, 409)) throw err; // someone else wrote first: not ours this round
    }
  }

  #setLeader(v: boolean): void {
    if (v === this.#leader) return;
    this.#leader = v;
    this.#log.info({ leader: v }, v ? 'became leader' : 'lost leadership');
    (v ? this.o.onStart : this.o.onStop)();
  }

  /**
   * Stops campaigning; a leader releases the Lease so another replica takes over at once.
   * `release: false` leaves the Lease to expire, as a crashed process would.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leader) return;
    this.#setLeader(false);
    if (opts.release === false) return;
    try {
      const lease = await this.o.client.request('GET', `${this.#path}/${this.o.name}`);
      if (lease.spec?.holderIdentity === this.o.identity) {
        await this.o.client.request('PUT', `${this.#path}/${this.o.name}`, { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: micro(new Date()) } });
      }
    } catch (err) { this.#log.warn({ err }, 'cannot release the lease'); }
  }
}
