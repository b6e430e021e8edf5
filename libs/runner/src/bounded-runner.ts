/**
 * A bounded sync scheduler (STYLE rule 7; netpol-agent's `run` loop uses it): watches only *request*
 * a sync; one worker runs the syncs, one at a time, and this runner decides when.
 *
 * Semantics (the shape of Kubernetes' BoundedFrequencyRunner, which kube-network-policies uses):
 * - `request()` never blocks and never runs the sync itself. A burst of requests becomes one run:
 *   at most one run is pending, and requests made while a run is in flight collapse into one
 *   follow-up run (kube-router's one-slot "sync requested" channel).
 * - Two runs start at least `minIntervalMs` apart (the floor on kernel churn under pod storms).
 * - A run that fails (returns `'retry'` or throws) is retried `retryIntervalMs` after it ended,
 *   unless something else asked for an earlier run.
 * - A successful run schedules the next periodic run `maxIntervalMs` after it ended: the resync
 *   that repairs drift (someone flushed our chains) and re-reads the kernel.
 * - The clock is a parameter, so tests step time by hand and never sleep.
 */

import type { Clock, TimerHandle } from './clock.ts';

/** What one run reports back. `'retry'` asks for a retry after the retry interval. */
export type RunOutcome = 'ok' | 'retry';

/** Why a run started; passed to the run function (the periodic resync re-reads the kernel). */
export type RunReason = 'initial' | 'request' | 'retry' | 'periodic';

export interface BoundedRunnerOptions {
  /** The work. Never runs concurrently with itself. A thrown error counts as `'retry'`. */
  readonly run: (reason: RunReason) => Promise<RunOutcome>;
  /** Minimum time between the starts of two runs. */
  readonly minIntervalMs: number;
  /** Delay after a failed run before it is retried. */
  readonly retryIntervalMs: number;
  /** Longest time between the end of a run and the start of the next (periodic resync). */
  readonly maxIntervalMs: number;
  readonly clock: Clock;
  /** Called with errors thrown by `run` (they are otherwise treated as `'retry'`). */
  readonly onError?: (err: unknown) => void;
}

export class BoundedRunner {
  readonly #opts: BoundedRunnerOptions;
  #timer: TimerHandle | undefined;
  #timerDue = Infinity;
  #timerReason: RunReason = 'request';
  #running: Promise<void> | undefined;
  #busy = false;
  /** A request arrived while a run was in flight (or before its timer fired). */
  #pending = false;
  #lastStart = -Infinity;
  #stopped = false;
  #started = false;

  constructor(opts: BoundedRunnerOptions) {
    if (!(opts.minIntervalMs >= 0 && opts.retryIntervalMs >= 0 && opts.maxIntervalMs > 0)) {
      throw new Error('bug: BoundedRunner intervals must be non-negative (max positive)');
    }
    this.#opts = opts;
  }

  /** Schedules the first run immediately. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#schedule(this.#opts.clock.now(), 'initial');
  }

  /** Asks for a run as soon as the minimum interval allows. Never blocks. */
  request(): void {
    if (this.#stopped) return;
    this.#pending = true;
    if (this.#busy || !this.#started) return; // picked up when the run ends / at start
    this.#schedule(Math.max(this.#opts.clock.now(), this.#lastStart + this.#opts.minIntervalMs), 'request');
  }

  /** True while a run is in flight. */
  get busy(): boolean {
    return this.#busy;
  }

  /** Cancels future runs and waits for the one in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    await this.#running;
  }

  /** Keeps the earliest of the current timer and `at`. */
  #schedule(at: number, reason: RunReason): void {
    if (this.#stopped) return;
    if (this.#timer && this.#timerDue <= at) return;
    if (this.#timer) this.#opts.clock.clearTimeout(this.#timer);
    this.#timerDue = at;
    this.#timerReason = reason;
    this.#timer = this.#opts.clock.setTimeout(() => this.#fire(), at - this.#opts.clock.now());
  }

  #fire(): void {
    const reason = this.#timerReason;
    this.#timer = undefined;
    this.#timerDue = Infinity;
    if (this.#stopped) return;
    if (this.#busy) {
      this.#pending = true;
      return;
    }
    this.#busy = true;
    this.#running = this.#runOnce(this.#pending && reason === 'periodic' ? 'request' : reason);
  }

  async #runOnce(reason: RunReason): Promise<void> {
    const clock = this.#opts.clock;
    this.#pending = false;
    this.#lastStart = clock.now();
    let outcome: RunOutcome;
    try {
      outcome = await this.#opts.run(reason);
    } catch (err) {
      this.#opts.onError?.(err);
      outcome = 'retry';
    }
    this.#running = undefined;
    this.#busy = false;
    if (this.#stopped) return;
    const end = clock.now();
    this.#schedule(end + this.#opts.maxIntervalMs, 'periodic');
    if (outcome === 'retry') this.#schedule(end + this.#opts.retryIntervalMs, 'retry');
    if (this.#pending) this.#schedule(Math.max(end, this.#lastStart + this.#opts.minIntervalMs), 'request');
  }
}
