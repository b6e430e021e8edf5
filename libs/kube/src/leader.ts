// LeaderElector: Lease-based leader election (coordination.k8s.io/v1) with client-go semantics.
//
// Guarantee: never two leaders at once, given renewDeadline < leaseDuration and clocks that tick at
// the same rate (no synchronised wall clocks needed):
//  - A candidate judges a Lease expired by its OWN clock: leaseDuration after the moment it last saw
//    the record change. It never compares the remote renewTime with its local clock.
//  - The leader counts renewDeadline from the moment it SENT its last successful renew. That renew
//    committed after it was sent, so any candidate saw the change no earlier than that; the leader
//    steps down (aborts its work signal, calls onStoppedLeading) at send + renewDeadline, which is
//    before any candidate's send + leaseDuration.
//  - Writes are optimistic: the Lease read is replaced with its resourceVersion, so two candidates
//    racing for an expired Lease cannot both win (one gets 409).
//  - On stop() the leader first stops its work, then releases the Lease (empty holderIdentity), so a
//    standby takes over at its next retry instead of after a full lease duration.

import type { KubeClient } from './client.ts';
import { type Clock, sleep } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { isConflict, isNotFound } from './errors.ts';
import { type KubeLogger, silentLogger } from './logger.ts';
import { Resources } from './resources.ts';
import type { KubeObject } from './types.ts';

/** `spec` of a coordination.k8s.io/v1 Lease. Times are MicroTime strings. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** Metrics hooks of the elector. */
export interface LeaderElectorMetrics {
  /** Leadership changed: set a `portico_leader{lease}` gauge to 1/0. */
  leader?(info: { readonly lease: string; readonly identity: string; readonly isLeader: boolean }): void;
}

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  /** Namespace of the Lease (the controller's own namespace). */
  readonly namespace: string;
  /** Lease name, e.g. `portico-servicelb`. */
  readonly name: string;
  /** Unique per process, e.g. `<pod name>_<random>`. */
  readonly identity: string;
  /** How long a candidate waits after the last observed change before taking over. @default 15000 */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps leading without a successful renew. Must be < leaseDurationMs. @default 10000 */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts (acquire: jittered × up to 2.2). @default 2000 */
  readonly retryPeriodMs?: number;
  /** Release the Lease on stop() when leading. @default true */
  readonly releaseOnStop?: boolean;
  /**
   * Became leader. Do the work until `signal` aborts (leadership lost or stop()). Errors thrown are
   * logged. Called synchronously; start async work from it.
   */
  readonly onStartedLeading?: (signal: AbortSignal) => void;
  /**
   * No longer leader (lost or stopping). The returned promise, if any, is awaited (bounded by
   * renewDeadlineMs) before the Lease is released: stop work first, then let the standby in.
   */
  readonly onStoppedLeading?: () => void | Promise<void>;
  /** The observed holder changed (including to ourselves, or to '' when released). */
  readonly onNewLeader?: (identity: string) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly logger?: KubeLogger;
  readonly metrics?: LeaderElectorMetrics;
}

/** How run() ended. */
export type LeaderRunResult = 'lost' | 'stopped';

const JITTER_FACTOR = 1.2; // client-go's JitterFactor for the acquire loop

/** Formats ms since epoch as a Kubernetes MicroTime (six fractional digits, which the server requires). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Validates elector timings; returns one message per problem (empty when fine). */
export function leaderTimingProblems(o: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): string[] {
  const out: string[] = [];
  if (!(o.leaseDurationMs > o.renewDeadlineMs)) out.push(`leaseDuration (${o.leaseDurationMs} ms) must be greater than renewDeadline (${o.renewDeadlineMs} ms)`);
  if (!(o.renewDeadlineMs > JITTER_FACTOR * o.retryPeriodMs)) out.push(`renewDeadline (${o.renewDeadlineMs} ms) must be greater than ${JITTER_FACTOR} × retryPeriod (${o.retryPeriodMs} ms)`);
  if (!(o.retryPeriodMs > 0)) out.push(`retryPeriod (${o.retryPeriodMs} ms) must be positive`);
  return out;
}

/**
 * One candidate for one Lease. `run()` campaigns until it leads, leads until it loses or `stop()`
 * is called, then resolves. To campaign again after losing, call `run()` again (most apps exit
 * instead, as client-go's do).
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: KubeLogger;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  #observed: LeaseSpec | undefined;
  #observedAt = 0; // local time the record last changed as we saw it
  #observedLease: Lease | undefined;
  #leader = false;
  #work: AbortController | undefined; // aborted when leadership ends
  #stop = new AbortController();
  #running: Promise<LeaderRunResult> | undefined;
  #stepDownTimer: ReturnType<Clock['setTimeout']> | undefined;
  #stepDownDone: Promise<void> | undefined;
  #lastHolder: string | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#o = opts;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    const problems = leaderTimingProblems(this);
    if (problems.length > 0) throw new Error(`leader election ${opts.namespace}/${opts.name}: ${problems.join('; ')}`);
    if (!opts.identity) throw new Error(`leader election ${opts.namespace}/${opts.name}: identity must not be empty`);
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? silentLogger;
  }

  /** `namespace/name` of the Lease. */
  get lease(): string {
    return `${this.#o.namespace}/${this.#o.name}`;
  }

  /** True while this process may act as leader. */
  isLeader(): boolean {
    return this.#leader;
  }

  /** The holder last observed on the Lease ('' when released, undefined before the first read). */
  observedLeader(): string | undefined {
    return this.#observed?.holderIdentity;
  }

  /** Campaigns and leads; resolves with why it ended. Calling it while running returns the same promise. */
  run(): Promise<LeaderRunResult> {
    if (this.#running) return this.#running;
    if (this.#stop.signal.aborted) this.#stop = new AbortController();
    this.#running = this.#campaign().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /**
   * Stops campaigning or leading. A leader stops its work (signal + onStoppedLeading), then releases
   * the Lease unless `releaseOnStop` is false. Resolves when run() has ended.
   */
  async stop(): Promise<void> {
    this.#stop.abort(new Error('leader election stopped'));
    await this.#running;
  }

  async #campaign(): Promise<LeaderRunResult> {
    const stop = this.#stop.signal;
    // Acquire.
    for (;;) {
      if (stop.aborted) return 'stopped';
      const sentAt = this.#clock.now();
      if (await this.#tryAcquireOrRenew(stop)) {
        this.#becomeLeader(sentAt);
        break;
      }
      try {
        await sleep(this.#clock, this.retryPeriodMs * (1 + JITTER_FACTOR * this.#random()), stop);
      } catch {
        return 'stopped';
      }
    }
    // Renew until the deadline passes or we are stopped.
    const work = this.#work!;
    while (this.#leader) {
      try {
        await sleep(this.#clock, this.retryPeriodMs, AbortSignal.any([stop, work.signal]));
      } catch {
        break;
      }
      const sentAt = this.#clock.now();
      const ok = await this.#tryAcquireOrRenew(AbortSignal.any([stop, work.signal]));
      if (!this.#leader) break;
      if (ok) this.#armStepDown(sentAt);
      else if (this.#observed?.holderIdentity && this.#observed.holderIdentity !== this.#o.identity) {
        // Someone else holds it now (e.g. we were partitioned past the deadline and it has not fired
        // yet on a stalled event loop): step down at once.
        this.#stepDown('lease held by another');
        break;
      }
    }
    if (this.#leader && stop.aborted) {
      this.#stepDown('stopping');
      await this.#stepDownDone;
      if (this.#o.releaseOnStop ?? true) await this.#release();
      return 'stopped';
    }
    await this.#stepDownDone;
    return stop.aborted ? 'stopped' : 'lost';
  }

  #becomeLeader(sentAt: number): void {
    this.#leader = true;
    this.#work = new AbortController();
    this.#armStepDown(sentAt);
    this.#log.info({ event: 'leaderAcquired', lease: this.lease, identity: this.#o.identity }, 'became leader');
    this.#o.metrics?.leader?.({ lease: this.lease, identity: this.#o.identity, isLeader: true });
    try {
      this.#o.onStartedLeading?.(this.#work.signal);
    } catch (err) {
      this.#log.error({ event: 'onStartedLeadingFailed', lease: this.lease, err }, 'onStartedLeading threw');
    }
  }

  /** Leadership ends at sentAt + renewDeadline unless a later renew succeeds first. */
  #armStepDown(sentAt: number): void {
    if (this.#stepDownTimer) this.#clock.clearTimeout(this.#stepDownTimer);
    const remaining = sentAt + this.renewDeadlineMs - this.#clock.now();
    this.#stepDownTimer = this.#clock.setTimeout(() => this.#stepDown('renew deadline passed'), Math.max(0, remaining));
  }

  #stepDown(why: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    if (this.#stepDownTimer) this.#clock.clearTimeout(this.#stepDownTimer);
    this.#stepDownTimer = undefined;
    this.#work?.abort(new Error(`leadership of ${this.lease} ended: ${why}`));
    const level = why === 'stopping' ? 'info' : 'warn';
    this.#log[level]({ event: 'leaderLost', lease: this.lease, identity: this.#o.identity, why }, 'stopped leading');
    this.#o.metrics?.leader?.({ lease: this.lease, identity: this.#o.identity, isLeader: false });
    let done: Promise<void>;
    try {
      done = Promise.resolve(this.#o.onStoppedLeading?.());
    } catch (err) {
      done = Promise.reject(err);
    }
    const bound = new AbortController();
    const slow = sleep(this.#clock, this.renewDeadlineMs, bound.signal).then(
      () => this.#log.warn({ event: 'onStoppedLeadingSlow', lease: this.lease }, 'onStoppedLeading did not finish in time'),
      () => undefined,
    );
    this.#stepDownDone = Promise.race([
      done.catch((err: unknown) => this.#log.error({ event: 'onStoppedLeadingFailed', lease: this.lease, err }, 'onStoppedLeading failed')),
      slow,
    ]).finally(() => bound.abort());
  }

  /**
   * One attempt (client-go's tryAcquireOrRenew). Returns true when this candidate now holds the
   * Lease with a fresh renewTime.
   */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    const now = this.#clock.now();
    const deadline = this.#timeoutSignal();
    try {
      return await this.#attempt(AbortSignal.any([signal, deadline.signal]), now, durationSeconds);
    } finally {
      deadline.dispose();
    }
  }

  async #attempt(timeout: AbortSignal, now: number, durationSeconds: number): Promise<boolean> {
    const { client, namespace, name, identity } = this.#o;
    let lease: Lease;
    try {
      lease = await client.get<Lease>(Resources.Lease, { namespace, name }, { signal: timeout });
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.warn({ event: 'leaseGetFailed', lease: this.lease, err }, 'reading the Lease failed');
        return false;
      }
      const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        const created = await client.create<Lease>(Resources.Lease, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec }, { signal: timeout });
        this.#observe(created);
        return true;
      } catch (e) {
        this.#log.info({ event: 'leaseCreateFailed', lease: this.lease, err: e }, 'creating the Lease failed');
        return false;
      }
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const recordDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.#observedAt + recordDurationMs > this.#clock.now()) {
      return false; // held by someone else and not expired by our own clock
    }
    const renewed: LeaseSpec =
      holder === identity
        ? { ...spec, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: microTime(now) }
        : {
            holderIdentity: identity,
            leaseDurationSeconds: durationSeconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          };
    try {
      const updated = await client.replace<Lease>(Resources.Lease, { ...lease, spec: renewed }, { signal: timeout });
      this.#observe(updated);
      return true;
    } catch (err) {
      const level = isConflict(err) ? 'info' : 'warn';
      this.#log[level]({ event: 'leaseUpdateFailed', lease: this.lease, err }, holder === identity ? 'renewing the Lease failed' : 'acquiring the Lease failed');
      return false;
    }
  }

  /** Records the Lease; a changed record restarts the local expiry clock. */
  #observe(lease: Lease): void {
    const spec = lease.spec ?? {};
    this.#observedLease = lease;
    if (!sameRecord(spec, this.#observed)) {
      this.#observed = { ...spec };
      this.#observedAt = this.#clock.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.#lastHolder) {
      this.#lastHolder = holder;
      this.#log.info({ event: 'leaderObserved', lease: this.lease, holder }, 'lease holder changed');
      try {
        this.#o.onNewLeader?.(holder);
      } catch (err) {
        this.#log.error({ event: 'onNewLeaderFailed', lease: this.lease, err }, 'onNewLeader threw');
      }
    }
  }

  /** Empties holderIdentity so a standby can take over at once (client-go's release). */
  async #release(): Promise<void> {
    const { client, namespace, name, identity } = this.#o;
    const deadline = this.#timeoutSignal();
    const signal = deadline.signal;
    try {
      const lease = await client.get<Lease>(Resources.Lease, { namespace, name }, { signal });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = microTime(this.#clock.now());
      const spec: LeaseSpec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
      this.#observe(await client.replace<Lease>(Resources.Lease, { ...lease, spec }, { signal }));
      this.#log.info({ event: 'leaderReleased', lease: this.lease, identity }, 'released the Lease');
    } catch (err) {
      this.#log.warn({ event: 'leaseReleaseFailed', lease: this.lease, err }, 'releasing the Lease failed; the standby takes over after the lease duration');
    } finally {
      deadline.dispose();
    }
  }

  /** An AbortSignal firing after renewDeadline on our clock (bounds each Lease request). */
  #timeoutSignal(): { signal: AbortSignal; dispose: () => void } {
    const c = new AbortController();
    const t = this.#clock.setTimeout(() => c.abort(new Error('lease request timed out')), this.renewDeadlineMs);
    return { signal: c.signal, dispose: () => this.#clock.clearTimeout(t) };
  }

  /** The last Lease object seen (for tests and status pages). */
  get observedLease(): Lease | undefined {
    return this.#observedLease;
  }
}

function sameRecord(a: LeaseSpec, b: LeaseSpec | undefined): boolean {
  return (
    b !== undefined &&
    (a.holderIdentity ?? '') === (b.holderIdentity ?? '') &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}
