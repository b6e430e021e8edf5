import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { FakeClock, flush } from '@portico/runner/testing';
import { RecordingLogger } from './testing/index.ts';
import { BucketRateLimiter, defaultControllerRateLimiter, ExponentialFailureRateLimiter, MaxOfRateLimiter, runWorkers, WorkQueue } from './workqueue.ts';

function queue(clock = new FakeClock()): { q: WorkQueue<string>; clock: FakeClock } {
  return { q: new WorkQueue<string>({ clock, rateLimiter: new ExponentialFailureRateLimiter<string>(5, 1_000_000) }), clock };
}

describe('WorkQueue', () => {
  it('coalesces a key added while queued', async () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
    assert.equal(q.length, 0);
  });

  it('re-queues a key added while it is processed, after done(), never handing it to two workers', async () => {
    const { q } = queue();
    q.add('a');
    const k = await q.get();
    q.add('a'); // an event arrives while a worker handles 'a'
    assert.equal(q.length, 0, 'not handed out again while processing');
    let second: string | undefined;
    void q.get().then((x) => (second = x));
    await flush();
    assert.equal(second, undefined);
    q.done(k!);
    await flush();
    assert.equal(second, 'a', 'processed again after done');
    q.done('a');
    assert.equal(q.length + q.processing, 0);
  });

  it('hands keys to waiting workers in order', async () => {
    const { q } = queue();
    const got: string[] = [];
    const w1 = q.get().then((k) => got.push(`w1:${k}`));
    const w2 = q.get().then((k) => got.push(`w2:${k}`));
    q.add('x');
    q.add('y');
    await Promise.all([w1, w2]);
    assert.deepEqual(got, ['w1:x', 'w2:y']);
  });

  it('backs off per key exponentially (5 ms, 10 ms, 20 ms, ...) and forget() resets', async () => {
    const { q, clock } = queue();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = clock.now();
      q.addRateLimited('k');
      await clock.tick(clock.nextAt()! - clock.now());
      assert.equal(q.length, 1);
      delays.push(clock.now() - before);
      q.done((await q.get())!);
    }
    assert.deepEqual(delays, [5, 10, 20, 40]);
    assert.equal(q.numRequeues('k'), 4);
    q.forget('k');
    assert.equal(q.numRequeues('k'), 0);
    q.addRateLimited('k');
    assert.equal(clock.nextAt()! - clock.now(), 5);
  });

  it('caps the per-key backoff (client-go defaults: 5 ms up to 1000 s)', () => {
    const l = new ExponentialFailureRateLimiter<string>();
    const d: number[] = [];
    for (let i = 0; i < 40; i++) d.push(l.when('k'));
    assert.equal(d[0], 5);
    assert.equal(d[1], 10);
    assert.equal(Math.max(...d), 1_000_000);
    assert.equal(d[39], 1_000_000);
    assert.equal(l.when('other'), 5, 'keys are independent');
  });

  it('rate-limits overall with a token bucket (10 qps, burst 100 by default)', () => {
    const clock = new FakeClock();
    const b = new BucketRateLimiter<string>({ clock });
    for (let i = 0; i < 100; i++) assert.equal(b.when(`k${i}`), 0, `burst token ${i}`);
    assert.equal(b.when('x'), 100, 'then one token per 100 ms');
    assert.equal(b.when('y'), 200);
    clock.advance(1_000);
    assert.equal(b.when('z'), 0, 'refilled after a second (10 tokens repay the debt and leave 8)');
    const d = defaultControllerRateLimiter<string>({ clock });
    assert.ok(d instanceof MaxOfRateLimiter);
    assert.equal(d.when('k'), 5);
  });

  it('addAfter keeps the earliest pending delay for a key', async () => {
    const { q, clock } = queue();
    q.addAfter('k', 1_000);
    q.addAfter('k', 200);
    q.addAfter('k', 5_000);
    await clock.tick(199);
    assert.equal(q.length, 0);
    await clock.tick(1);
    assert.equal(q.length, 1);
    await clock.tick(10_000);
    assert.equal(q.length, 1, 'the later timers were dropped, not queued again');
  });

  it('shutDown ignores new keys and releases idle workers; shutDownWithDrain waits for work in flight', async () => {
    const { q, clock } = queue();
    q.add('a');
    q.add('b');
    q.addAfter('later', 1_000);
    const a = (await q.get())!;
    let drained = false;
    const drain = q.shutDownWithDrain().then(() => (drained = true));
    q.add('c'); // ignored
    assert.equal(q.isShuttingDown(), true);
    assert.equal(await q.get(), 'b', 'queued keys are still handed out');
    await flush();
    assert.equal(drained, false);
    q.done(a);
    await flush();
    assert.equal(drained, false, 'b is still processing');
    q.done('b');
    await drain;
    assert.equal(await q.get(), undefined, 'workers exit');
    await clock.tick(2_000);
    assert.equal(q.length, 0, 'delayed adds were dropped');
  });

  it('reports metrics hooks', async () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    const q = new WorkQueue<string>({
      clock,
      name: 'svc',
      metrics: {
        add: () => seen.push('add'),
        depth: (i) => seen.push(`depth=${i.depth}`),
        latency: (i) => seen.push(`latency=${i.ms}`),
        workDuration: (i) => seen.push(`work=${i.ms}`),
        retry: () => seen.push('retry'),
      },
    });
    q.add('a');
    clock.advance(7);
    const k = (await q.get())!;
    clock.advance(3);
    q.done(k);
    q.addRateLimited('a');
    assert.deepEqual(seen, ['add', 'depth=1', 'latency=7', 'depth=0', 'work=3', 'retry']);
    q.shutDown();
  });
});

describe('runWorkers', () => {
  it('retries failing keys with backoff, forgets on success, and ends when the queue shuts down', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, rateLimiter: new ExponentialFailureRateLimiter<string>(5, 1000) });
    const calls: string[] = [];
    let failuresLeft = 2;
    const logger = new RecordingLogger();
    const done = runWorkers(
      q,
      async (key) => {
        calls.push(`${key}@${clock.now()}`);
        if (key === 'flaky' && failuresLeft-- > 0) throw new Error('transient');
      },
      { workers: 2, logger },
    );
    const t0 = clock.now();
    q.add('ok');
    q.add('flaky');
    await clock.tick(100);
    assert.deepEqual(calls, [`ok@${t0}`, `flaky@${t0}`, `flaky@${t0 + 5}`, `flaky@${t0 + 15}`]);
    assert.equal(q.numRequeues('flaky'), 0, 'forgotten after the success');
    assert.equal(logger.records.filter((r) => (r.obj as { event: string }).event === 'syncFailed').length, 2);
    q.shutDown();
    await done;
  });

  it('drops a key after maxRetries consecutive failures, logging it', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ clock, rateLimiter: new ExponentialFailureRateLimiter<string>(5, 1000) });
    let calls = 0;
    const logger = new RecordingLogger();
    const done = runWorkers(
      q,
      async () => {
        calls++;
        throw new Error('permanent');
      },
      { maxRetries: 3, logger },
    );
    q.add('bad');
    await clock.tick(10_000);
    assert.equal(calls, 4, 'first try plus three retries');
    assert.ok(logger.records.some((r) => r.level === 'error' && (r.obj as { event: string }).event === 'syncDropped'));
    q.shutDown();
    await done;
  });
});
