// Leader election on a coordination.k8s.io/v1 Lease (client-node 1.x has no elector). The
// holder renews every retryPeriod; another replica takes the Lease only once the same record
// (holder, renewTime, transitions) has stood unchanged for leaseDurationSeconds, or at once when
// the holder released it. The record's age counts from its renewTime, capped at the moment this
// replica first saw it (so a holder's clock running ahead cannot stretch the lease, and a
// standby started after the holder died need not wait a whole lease more). Every write carries
// the resourceVersion read, so two candidates racing for an expired Lease cannot both win
// (409). A leader that cannot renew within renewDeadline steps down before anyone else may
// take over. A standby polls every min(retryPeriod, standbyPollMs), so a released Lease is
// taken within that, and an expired one within leaseDuration plus that.

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
  /** How often a standby looks at the Lease (default 250 ms, at most retryPeriodMs). */
  standbyPollMs?: number;
  logger: Logger;
  onStart: () => void;
  onStop: () => void;
  /** Milliseconds since the epoch (tests inject a fake clock). */
  now?: () => number;
}

const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  #leader = false;
  #stopped = false;
  #timer?: NodeJS.Timeout;
  #lastRenew = 0;
  /** The Lease record last seen (holder, renewTime, transitions) and when, on our clock. */
  #observed?: { record: string; at: number };
  #inFlight?: Promise<void>;
  /** The Lease as we last wrote it (its resourceVersion lets stop() release it in one request). */
  #written?: any;
  #log: Logger;
  #path: string;
  #now: () => number;

  constructor(private readonly o: LeaderOptions) {
    this.#log = o.logger.child({ component: 'leader', identity: o.identity });
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(o.namespace)}/leases`;
    this.#now = o.now ?? Date.now;
  }

  get isLeader(): boolean { return this.#leader; }

  /** Campaigns (and renews) until stop(). */
  start(): void { void this.#loop(); }

  async #loop(): Promise<void> {
    if (this.#stopped) return;
    await this.tick();
    if (this.#stopped) return;
    const wait = this.#leader ? this.o.retryPeriodMs : Math.min(this.o.retryPeriodMs, this.o.standbyPollMs ?? 250);
    this.#timer = setTimeout(() => void this.#loop(), wait);
  }

  /** One round: acquire or renew; step down when the renew deadline passed. start() calls it on a timer; tests call it directly. */
  tick(): Promise<void> {
    this.#inFlight = this.#tickOnce().finally(() => { this.#inFlight = undefined; });
    return this.#inFlight;
  }

  async #tickOnce(): Promise<void> {
    if (this.#stopped) return;
    try { await this.#tryAcquireOrRenew(); }
    catch (err) { this.#log.warn({ err }, 'lease request failed'); }
    if (this.#leader && this.#now() - this.#lastRenew > this.o.renewDeadlineMs) {
      this.#log.warn('could not renew the lease in time; stepping down');
      this.#setLeader(false);
    }
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const now = this.#now();
    const spec = { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, renewTime: micro(now) };
    let lease: any;
    try {
      lease = await this.o.client.request('GET', `${this.#path}/${this.o.name}`);
    } catch (err) {
      if (!isCode(err, 404)) throw err;
      try {
        this.#written = await this.o.client.request('POST', this.#path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.name, namespace: this.o.namespace }, spec: { ...spec, acquireTime: micro(now), leaseTransitions: 0 } });
        this.#won(now);
      } catch (e) { if (!isCode(e, 409)) throw e; }
      return;
    }
    const s = lease.spec ?? {};
    const holder: string | undefined = s.holderIdentity || undefined;
    const record = JSON.stringify([holder, s.renewTime, s.leaseTransitions]);
    if (this.#observed?.record !== record) {
      // A record seen for the first time is as old as its renewTime says, but never younger than
      // now: a renewTime from a clock ahead of ours cannot stretch the lease.
      const renewed = typeof s.renewTime === 'string' ? Date.parse(s.renewTime) : NaN;
      this.#observed = { record, at: Number.isFinite(renewed) ? Math.min(renewed, now) : now };
    }
    const expired = !holder || now - this.#observed.at > (s.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    if (holder !== this.o.identity && !expired) { if (this.#leader) this.#setLeader(false); return; }
    const next = holder === this.o.identity
      ? { ...s, ...spec }
      : { ...s, ...spec, acquireTime: micro(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 };
    if (this.#stopped) return;
    try {
      this.#written = await this.o.client.request('PUT', `${this.#path}/${this.o.name}`, { ...lease, spec: next });
      this.#won(now);
    } catch (err) {
      if (!isCode(err, 409)) throw err; // someone else wrote first: not ours this round
    }
  }

  #won(at: number): void {
    if (this.#stopped) return; // stop() ran while the write was in flight: it releases what we just took
    this.#lastRenew = at;
    this.#setLeader(true);
  }

  #setLeader(v: boolean): void {
    if (v === this.#leader) return;
    this.#leader = v;
    this.#log.info({ leader: v }, v ? 'became leader' : 'lost leadership');
    (v ? this.o.onStart : this.o.onStop)();
  }

  /**
   * Stops campaigning; waits for a round in flight, then releases the Lease if we hold it, so
   * another replica takes over at once. `release: false` leaves the Lease to expire, as a
   * crashed process would.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
    if (this.#leader) this.#setLeader(false);
    if (opts.release === false) return;
    const release = (lease: any) => this.o.client.request('PUT', `${this.#path}/${this.o.name}`, { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: micro(this.#now()) } });
    try {
      // One request when the Lease is as we last wrote it; else (409) read it and release it if still ours.
      if (this.#written?.spec?.holderIdentity === this.o.identity) {
        try { await release(this.#written); return; } catch (err) { if (!isCode(err, 409)) throw err; }
      }
      const lease = await this.o.client.request('GET', `${this.#path}/${this.o.name}`);
      if (lease.spec?.holderIdentity === this.o.identity) await release(lease);
    } catch (err) { if (!isCode(err, 404)) this.#log.warn({ err }, 'cannot release the lease'); }
  }
}
