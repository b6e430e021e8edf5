// Capped exponential backoff with jitter, used by list-watch restarts and the leader elector.

/** Settings of an exponential backoff. */
export interface BackoffOptions {
  /** First delay. @default 800 (client-go reflector) */
  readonly initialMs?: number;
  /** Upper bound of the un-jittered delay. @default 30000 */
  readonly maxMs?: number;
  /** Growth per failure. @default 2 */
  readonly factor?: number;
  /**
   * Random extra delay as a fraction of the delay: the wait is `d + d * jitter * random()`.
   * @default 1 (client-go reflector: up to twice the delay)
   */
  readonly jitter?: number;
  /** A run without failure for this long resets the backoff to `initialMs`. @default 120000 */
  readonly resetAfterMs?: number;
}

/**
 * Stateful backoff: `next()` returns the delay to wait before the next attempt and grows the base;
 * `reset()` goes back to the start. `random` is injectable so tests are deterministic.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #jitter: number;
  readonly resetAfterMs: number;
  readonly #random: () => number;
  #current: number;
  /** Failures since the last reset. */
  failures = 0;

  constructor(opts: BackoffOptions = {}, random: () => number = Math.random) {
    this.#initial = opts.initialMs ?? 800;
    this.#max = opts.maxMs ?? 30_000;
    this.#factor = opts.factor ?? 2;
    this.#jitter = opts.jitter ?? 1;
    this.resetAfterMs = opts.resetAfterMs ?? 120_000;
    this.#random = random;
    this.#current = this.#initial;
  }

  next(): number {
    const base = Math.min(this.#current, this.#max);
    this.#current = Math.min(this.#current * this.#factor, this.#max);
    this.failures++;
    return Math.round(base + base * this.#jitter * this.#random());
  }

  reset(): void {
    this.#current = this.#initial;
    this.failures = 0;
  }
}

/** `base * (1 + maxFactor * random())`: client-go's wait.Jitter. */
export function jittered(base: number, maxFactor: number, random: () => number = Math.random): number {
  return base + base * maxFactor * random();
}
