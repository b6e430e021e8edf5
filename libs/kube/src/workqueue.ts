// WorkQueue: client-go's rate-limited work queue, in TypeScript.
//
//  - Coalescing: a key added while queued is queued once; a key added while being processed is
//    queued again when `done(key)` is called, never processed by two workers at once.
//  - Per-key exponential backoff for retries (`addRateLimited`), reset by `forget`.
//  - An overall token bucket (default 10 qps, burst 100), as client-go's default controller limiter.
//  - `shutDown()` stops accepting keys; `shutDownWithDrain()` also waits for queued and in-flight
//    keys to finish. Time comes from an injectable Clock.

import { type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { type KubeLogger, silentLogger } from './logger.ts';

/** Decides how long a key waits before it is retried. */
export interface RateLimiter<K> {
  /** Delay in ms before `key` may be processed again; counts as one more failure of `key`. */
  when(key: K): number;
  /** Clears the failure history of `key` (call after a success or when giving up). */
  forget(key: K): void;
  /** Failures of `key` since the last forget. */
  numRequeues(key: K): number;
}

/** baseMs × 2^failures, capped at maxMs (client-go's ItemExponentialFailureRateLimiter). */
export class ExponentialFailureRateLimiter<K> implements RateLimiter<K> {
  readonly #failures = new Map<K, number>();
  readonly baseMs: number;
  readonly maxMs: number;

  /**
   * @param baseMs @default 5
   * @param maxMs @default 1000000 (1000 s)
   */
  constructor(baseMs = 5, maxMs = 1_000_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: K): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    const d = this.baseMs * 2 ** n;
    return Number.isFinite(d) ? Math.min(d, this.maxMs) : this.maxMs;
  }

  forget(key: K): void {
    this.#failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }
}

/** An overall token bucket: `qps` tokens per second, at most `burst` stored (client-go's BucketRateLimiter). */
export class BucketRateLimiter<K> implements RateLimiter<K> {
  readonly #clock: Clock;
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  /** @default qps 10, burst 100 */
  constructor(opts: { qps?: number; burst?: number; clock?: Clock } = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.#clock = opts.clock ?? realClock;
    this.#tokens = this.burst;
    this.#last = this.#clock.now();
  }

  when(_key: K): number {
    const now = this.#clock.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.qps);
    this.#last = now;
    this.#tokens -= 1; // reserve, possibly going into debt like golang.org/x/time/rate
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.qps) * 1000);
  }

  forget(_key: K): void {
    // the bucket is shared by all keys: nothing per key to forget
  }

  numRequeues(_key: K): number {
    return 0;
  }
}

/** The longest delay of several limiters; failures counted by the first that counts them. */
export class MaxOfRateLimiter<K> implements RateLimiter<K> {
  readonly #limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    this.#limiters = limiters;
  }

  when(key: K): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.when(key));
    return max;
  }

  forget(key: K): void {
    for (const l of this.#limiters) l.forget(key);
  }

  numRequeues(key: K): number {
    let max = 0;
    for (const l of this.#limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }
}

/** client-go's DefaultControllerRateLimiter: max(per-key 5 ms → 1000 s, overall 10 qps burst 100). */
export function defaultControllerRateLimiter<K>(opts: { clock?: Clock; baseMs?: number; maxMs?: number; qps?: number; burst?: number } = {}): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ExponentialFailureRateLimiter<K>(opts.baseMs ?? 5, opts.maxMs ?? 1_000_000),
    new BucketRateLimiter<K>({ qps: opts.qps ?? 10, burst: opts.burst ?? 100, clock: opts.clock }),
  );
}

/** Metrics hooks of a WorkQueue (all optional). */
export interface WorkQueueMetrics {
  depth?(info: { readonly name: string; readonly depth: number }): void;
  add?(info: { readonly name: string }): void;
  retry?(info: { readonly name: string }): void;
  /** Time a key waited in the queue before a worker took it. */
  latency?(info: { readonly name: string; readonly ms: number }): void;
  /** Time between get() and done() of a key. */
  workDuration?(info: { readonly name: string; readonly ms: number }): void;
}

export interface WorkQueueOptions<K> {
  /** Name for metrics and logs. @default 'queue' */
  readonly name?: string;
  /** @default realClock */
  readonly clock?: Clock;
  /** @default defaultControllerRateLimiter({ clock }) */
  readonly rateLimiter?: RateLimiter<K>;
  readonly metrics?: WorkQueueMetrics;
}

/**
 * A coalescing, delaying, rate-limited work queue of keys (usually `namespace/name` strings).
 * Keys are compared with `===` (use strings or other primitives).
 */
export class WorkQueue<K = string> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #limiter: RateLimiter<K>;
  readonly #metrics: WorkQueueMetrics | undefined;
  #queue: K[] = [];
  readonly #dirty = new Set<K>();
  readonly #processing = new Map<K, number>(); // key -> time taken by a worker
  readonly #addedAt = new Map<K, number>(); // key -> time it became queued
  readonly #waiting = new Map<K, { at: number; timer: ReturnType<Clock['setTimeout']> }>(); // delayed adds
  #getters: ((k: K | undefined) => void)[] = [];
  #shuttingDown = false;
  #drainWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions<K> = {}) {
    this.name = opts.name ?? 'queue';
    this.#clock = opts.clock ?? realClock;
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter<K>({ clock: this.#clock });
    this.#metrics = opts.metrics;
  }

  /** Queues `key` now (coalesced). Ignored after shutdown. */
  add(key: K): void {
    if (this.#shuttingDown) return;
    this.#metrics?.add?.({ name: this.name });
    if (this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return; // re-queued by done()
    this.#push(key);
  }

  /** Queues `key` after `ms` (an earlier pending delay for the same key wins). */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.#clock.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimeout(existing.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { at, timer });
  }

  /** Queues `key` after its rate-limiter delay (a retry after a failure). */
  addRateLimited(key: K): void {
    if (this.#shuttingDown) return;
    this.#metrics?.retry?.({ name: this.name });
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Resets the retry history of `key`. Call after it was processed successfully. */
  forget(key: K): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#limiter.numRequeues(key);
  }

  /**
   * The next key, waiting if none is queued. Resolves `undefined` once the queue is shut down and
   * empty: the worker should exit. Every key returned must be passed to `done()`.
   */
  get(): Promise<K | undefined> {
    const k = this.#take();
    if (k !== undefined || this.#shuttingDown) return Promise.resolve(k);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks `key` finished; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    const took = this.#processing.get(key);
    if (took === undefined) return;
    this.#processing.delete(key);
    this.#metrics?.workDuration?.({ name: this.name, ms: this.#clock.now() - took });
    if (this.#dirty.has(key)) this.#push(key);
    this.#checkDrained();
  }

  /** Keys queued and not yet taken. */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys taken by workers and not yet done. */
  get processing(): number {
    return this.#processing.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops accepting keys and drops delayed adds; idle `get()` calls resolve `undefined`. Queued keys are still handed out. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const w of this.#waiting.values()) this.#clock.clearTimeout(w.timer);
    this.#waiting.clear();
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
    this.#checkDrained();
  }

  /** shutDown(), then resolves once every queued key was taken and every taken key is done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#isDrained()) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #push(key: K): void {
    this.#addedAt.set(key, this.#clock.now());
    const getter = this.#getters.shift();
    if (getter) {
      this.#queue.push(key);
      getter(this.#take());
    } else {
      this.#queue.push(key);
    }
    this.#metrics?.depth?.({ name: this.name, depth: this.#queue.length });
  }

  #take(): K | undefined {
    if (this.#queue.length === 0) return undefined;
    const key = this.#queue.shift()!;
    this.#dirty.delete(key);
    const now = this.#clock.now();
    this.#processing.set(key, now);
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (added !== undefined) this.#metrics?.latency?.({ name: this.name, ms: now - added });
    this.#metrics?.depth?.({ name: this.name, depth: this.#queue.length });
    return key;
  }

  #isDrained(): boolean {
    return this.#queue.length === 0 && this.#processing.size === 0;
  }

  #checkDrained(): void {
    if (!this.#shuttingDown || !this.#isDrained()) return;
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const r of w) r();
  }
}

/** Options of runWorkers. */
export interface RunWorkersOptions {
  /** Concurrent workers. @default 1 */
  readonly workers?: number;
  /** Give up on a key after this many consecutive failures (logged, forgotten). @default Infinity */
  readonly maxRetries?: number;
  readonly logger?: KubeLogger;
}

/**
 * The standard worker loop: take a key, run `handler`, `forget` on success, `addRateLimited` on
 * failure, always `done`. Resolves when the queue is shut down and every worker has exited.
 */
export async function runWorkers<K>(queue: WorkQueue<K>, handler: (key: K) => Promise<void>, opts: RunWorkersOptions = {}): Promise<void> {
  const log = opts.logger ?? silentLogger;
  const maxRetries = opts.maxRetries ?? Number.POSITIVE_INFINITY;
  const worker = async (): Promise<void> => {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await handler(key);
        queue.forget(key);
      } catch (err) {
        const retries = queue.numRequeues(key);
        if (retries < maxRetries) {
          log.warn({ event: 'syncFailed', queue: queue.name, key, err, retries }, 'sync failed; will retry');
          queue.addRateLimited(key);
        } else {
          log.error({ event: 'syncDropped', queue: queue.name, key, err, retries }, 'sync failed too often; dropping the key');
          queue.forget(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers ?? 1) }, worker));
}
