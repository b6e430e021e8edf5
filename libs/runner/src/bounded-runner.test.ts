import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { FakeClock } from './testing/index.ts';
import { BoundedRunner, type RunOutcome, type RunReason } from './bounded-runner.ts';

/** A run function whose calls are recorded and whose completion the test controls. */
function harness(opts: { min?: number; retry?: number; max?: number; hold?: boolean } = {}) {
  const clock = new FakeClock(1000);
  const starts: { at: number; reason: RunReason }[] = [];
  let release: ((o: RunOutcome) => void) | undefined;
  let nextOutcome: RunOutcome | 'throw' = 'ok';
  const errors: unknown[] = [];
  const runner = new BoundedRunner({
    minIntervalMs: opts.min ?? 100,
    retryIntervalMs: opts.retry ?? 1000,
    maxIntervalMs: opts.max ?? 60_000,
    clock,
    onError: (err) => errors.push(err),
    run: async (reason) => {
      starts.push({ at: clock.now(), reason });
      if (opts.hold) return new Promise<RunOutcome>((resolve) => (release = resolve));
      if (nextOutcome === 'throw') throw new Error('boom');
      return nextOutcome;
    },
  });
  return {
    clock,
    runner,
    starts,
    errors,
    setOutcome: (o: RunOutcome | 'throw') => (nextOutcome = o),
    finish: (o: RunOutcome = 'ok') => {
      const r = release;
      release = undefined;
      assert.ok(r, 'no run in flight');
      r(o);
    },
  };
}

describe('BoundedRunner', () => {
  it('runs once at start, then only when requested or periodically', async () => {
    const h = harness();
    h.runner.start();
    await h.clock.tick(0);
    assert.deepEqual(h.starts, [{ at: 1000, reason: 'initial' }]);
    await h.clock.tick(59_999);
    assert.equal(h.starts.length, 1, 'no run before the max interval');
    await h.clock.tick(1);
    assert.deepEqual(h.starts[1], { at: 61_000, reason: 'periodic' });
  });

  it('coalesces a burst of requests into one run, respecting the minimum interval', async () => {
    const h = harness({ min: 100 });
    h.runner.start();
    await h.clock.tick(10); // initial run at 1000
    for (let i = 0; i < 50; i++) h.runner.request();
    await h.clock.tick(89);
    assert.equal(h.starts.length, 1, 'the second run waits for min interval after the first start');
    await h.clock.tick(1);
    assert.deepEqual(h.starts.map((s) => s.at), [1000, 1100]);
    assert.equal(h.starts[1]!.reason, 'request');
    await h.clock.tick(10_000);
    assert.equal(h.starts.length, 2, 'requests were collapsed into exactly one run');
  });

  it('runs a request immediately when the minimum interval has passed', async () => {
    const h = harness({ min: 100 });
    h.runner.start();
    await h.clock.tick(500);
    h.runner.request();
    await h.clock.tick(0);
    assert.deepEqual(h.starts.map((s) => s.at), [1000, 1500]);
  });

  it('collapses requests made during a run into exactly one follow-up run', async () => {
    const h = harness({ min: 100, hold: true });
    h.runner.start();
    await h.clock.tick(0);
    assert.equal(h.runner.busy, true);
    h.runner.request();
    h.runner.request();
    await h.clock.tick(500);
    assert.equal(h.starts.length, 1, 'never two runs at once');
    h.finish('ok');
    await h.clock.tick(0);
    assert.deepEqual(h.starts.map((s) => s.at), [1000, 1500], 'follow-up starts when the run ends');
    h.finish('ok');
    await h.clock.tick(10_000);
    assert.equal(h.starts.length, 2);
  });

  it('retries a failed run after the retry interval, and a thrown error counts as failure', async () => {
    const h = harness({ retry: 1000 });
    h.setOutcome('retry');
    h.runner.start();
    await h.clock.tick(0);
    await h.clock.tick(999);
    assert.equal(h.starts.length, 1);
    h.setOutcome('throw');
    await h.clock.tick(1);
    assert.deepEqual(h.starts[1], { at: 2000, reason: 'retry' });
    assert.equal(h.errors.length, 1);
    h.setOutcome('ok');
    await h.clock.tick(1000);
    assert.deepEqual(h.starts[2], { at: 3000, reason: 'retry' });
    await h.clock.tick(30_000);
    assert.equal(h.starts.length, 3, 'after success only the periodic timer remains');
    assert.equal(h.clock.pending, 1);
    assert.equal(h.clock.nextAt(), 63_000);
  });

  it('a request overrides a later retry when it is due earlier', async () => {
    const h = harness({ min: 100, retry: 5000 });
    h.setOutcome('retry');
    h.runner.start();
    await h.clock.tick(0);
    h.setOutcome('ok');
    h.runner.request();
    await h.clock.tick(100);
    assert.deepEqual(h.starts.map((s) => [s.at, s.reason]), [[1000, 'initial'], [1100, 'request']]);
    await h.clock.tick(10_000);
    assert.equal(h.starts.length, 2, 'the retry timer was superseded by the successful run');
  });

  it('stop cancels timers and waits for the run in flight', async () => {
    const h = harness({ hold: true });
    h.runner.start();
    await h.clock.tick(0);
    let stopped = false;
    const p = h.runner.stop().then(() => (stopped = true));
    await h.clock.tick(0);
    assert.equal(stopped, false, 'stop waits for the in-flight run');
    h.finish('ok');
    await p;
    h.runner.request();
    await h.clock.tick(120_000);
    assert.equal(h.starts.length, 1);
    assert.equal(h.clock.pending, 0);
  });

  it('requests before start are served by the initial run', async () => {
    const h = harness();
    h.runner.request();
    await h.clock.tick(1000);
    assert.equal(h.starts.length, 0, 'nothing runs before start');
    h.runner.start();
    await h.clock.tick(0);
    await h.clock.tick(1000);
    assert.deepEqual(h.starts.map((s) => s.reason), ['initial']);
  });

  it('rejects nonsensical intervals', () => {
    assert.throws(() => new BoundedRunner({ run: async () => 'ok', minIntervalMs: 0, retryIntervalMs: 0, maxIntervalMs: 0, clock: new FakeClock() }));
  });
});
