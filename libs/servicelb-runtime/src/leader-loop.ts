// A piece of leader-only work guarded by one Lease, as every Portico controller runs it.
//
// With leader election every replica keeps its caches warm and serves /healthz, /readyz and
// /metrics; only the Lease holder runs `work`. A replica that loses the Lease stops its work (in-flight
// API calls are aborted before the renew deadline ends, i.e. before any standby can take over), goes
// back to idle and campaigns again, rather than exiting as client-go controllers do: the caches stay
// warm, and readiness does not flap. Without leader election the work runs until close().

import { LeaderElector, type KubeClient, type LeaderElectorMetrics } from '@portico/kube';
import { type Clock } from '@portico/runner';
import type { Logger } from '@portico/service-kit';
import type { LeaderConfig } from '@portico/service-kit/controller';

export interface LeaderLoopOptions {
  readonly client: KubeClient;
  readonly leader: LeaderConfig;
  /** Name of the Lease (in `leader.leaseNamespace`). */
  readonly leaseName: string;
  /** What the work is, for logs ("ServiceLB", "node initialization"). */
  readonly what: string;
  /** The leader's work: runs until `signal` aborts; must resolve soon after. */
  readonly work: (signal: AbortSignal) => Promise<void>;
  readonly log: Logger;
  readonly metrics?: LeaderElectorMetrics;
  readonly clock?: Clock;
}

/** Runs `work` while this process holds the Lease (or always, without leader election). */
export class LeaderLoop {
  /** The elector, when leader election is on. */
  readonly elector: LeaderElector | undefined;
  readonly #o: LeaderLoopOptions;
  #leading: Promise<void> = Promise.resolve();
  #stopWork: AbortController | undefined;
  #campaign: Promise<void> | undefined;
  #closing = false;

  constructor(o: LeaderLoopOptions) {
    this.#o = o;
    const { leader } = o;
    this.elector = leader.leaderElect
      ? new LeaderElector({
          client: o.client,
          namespace: leader.leaseNamespace,
          name: o.leaseName,
          identity: leader.identity,
          leaseDurationMs: leader.leaseDurationMs,
          renewDeadlineMs: leader.renewDeadlineMs,
          retryPeriodMs: leader.retryPeriodMs,
          clock: o.clock,
          logger: o.log,
          metrics: o.metrics,
          onStartedLeading: (signal) => {
            this.#leading = this.#run(signal);
          },
          onStoppedLeading: () => this.#leading,
        })
      : undefined;
  }

  #run(signal: AbortSignal): Promise<void> {
    return this.#o.work(signal).catch((err: unknown) => this.#o.log.error({ op: 'lead', work: this.#o.what, err }, 'leader work failed'));
  }

  /** Starts campaigning (or the work, without leader election). */
  start(): void {
    const elector = this.elector;
    if (elector) {
      this.#campaign = (async () => {
        while (!this.#closing) {
          const why = await elector.run();
          if (why === 'stopped') return;
          this.#o.log.warn({ event: 'leadershipLost', lease: elector.lease, work: this.#o.what }, `lost the Lease; ${this.#o.what} idle until elected again`);
        }
      })();
    } else {
      this.#stopWork = new AbortController();
      this.#leading = this.#run(this.#stopWork.signal);
    }
  }

  /** Stops the work and releases the Lease; resolves once the work has returned. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.elector) {
      await this.elector.stop();
      await this.#campaign;
    } else {
      this.#stopWork?.abort(new Error('shutting down'));
    }
    await this.#leading;
  }
}
