import type { Clock, TimerHandle } from '../clock.ts';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A manual clock for unit tests. Time moves only when the test calls `advance`/`tick`; timers due
 * in that window fire in time order. `tick` also lets promise continuations run between timers, so
 * async code that sets its next timer after an `await` behaves as with real time.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Time of the next pending timer, or undefined. */
  nextAt(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing due timers synchronously (no promise continuations in between). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let t = this.#next(); t && t.at <= target; t = this.#next()) {
      this.#timers = this.#timers.filter((x) => x !== t);
      this.#now = t.at;
      t.fn();
    }
    this.#now = target;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and draining pending promise
   * continuations and I/O callbacks before and after each one.
   */
  async tick(ms: number): Promise<void> {
    const target = this.#now + ms;
    await flush();
    for (let t = this.#next(); t && t.at <= target; t = this.#next()) {
      this.#timers = this.#timers.filter((x) => x !== t);
      this.#now = t.at;
      t.fn();
      await flush();
    }
    this.#now = target;
    await flush();
  }

  #next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers) if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    return best;
  }
}

/** Lets queued promise continuations and I/O callbacks run (a few macrotask turns). */
export async function flush(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
