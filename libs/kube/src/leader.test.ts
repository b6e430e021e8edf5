import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { RestKubeClient } from './client.ts';
import { FakeClock, flush } from '@portico/runner/testing';
import { FakeKube } from './testing/index.ts';
import { type Lease, LeaderElector, type LeaderElectorOptions, leaderTimingProblems, microTime } from './leader.ts';
import { Resources } from './resources.ts';
import type { HttpTransport } from './transport.ts';

const NS = 'portico-system';
const NAME = 'portico-test';

type Mode = 'ok' | 'fail' | 'hang' | 'slow';

/**
 * A transport wrapper per candidate: can fail or hang that candidate's requests only, or (slow)
 * let the server apply a write at once but deliver the answer 7.9 s later, then hang.
 */
function controllable(inner: HttpTransport, clock: FakeClock): HttpTransport & { mode: Mode } {
  const t = {
    server: inner.server,
    mode: 'ok' as Mode,
    request: async (req: Parameters<HttpTransport['request']>[0]) => {
      if (t.mode === 'fail') throw new Error('connection refused (test)');
      if (t.mode === 'slow' && req.method === 'PUT') {
        t.mode = 'hang';
        const resp = await inner.request(req);
        await new Promise<void>((r) => clock.setTimeout(r, 7_900));
        return resp;
      }
      if (t.mode === 'hang') {
        return new Promise<never>((_resolve, reject) => req.signal?.addEventListener('abort', () => reject(req.signal?.reason), { once: true }));
      }
      return inner.request(req);
    },
  };
  return t;
}

interface Cand {
  id: string;
  el: LeaderElector;
  transport: ReturnType<typeof controllable>;
  log: string[];
  running: Promise<unknown>;
}

function candidate(fake: FakeKube, clock: FakeClock, id: string, extra: Partial<LeaderElectorOptions> = {}): Cand {
  const transport = controllable(fake.transport, clock);
  const log: string[] = [];
  const el = new LeaderElector({
    client: new RestKubeClient(transport, { clock }),
    namespace: NS,
    name: NAME,
    identity: id,
    clock,
    random: () => 0.5,
    onStartedLeading: () => log.push(`start@${clock.now()}`),
    onStoppedLeading: () => void log.push(`stop@${clock.now()}`),
    ...extra,
  });
  return { id, el, transport, log, running: el.run() };
}

function lease(fake: FakeKube): Lease | undefined {
  return fake.get<Lease>(Resources.Lease, { namespace: NS, name: NAME });
}

/** Advances fake time in steps, checking after each step that at most one candidate leads. */
async function run(clock: FakeClock, ms: number, cands: Cand[], step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.tick(step);
    const leaders = cands.filter((c) => c.el.isLeader()).map((c) => c.id);
    assert.ok(leaders.length <= 1, `two leaders at ${clock.now()}: ${leaders.join(', ')}`);
  }
}

describe('LeaderElector', () => {
  it('creates the Lease when missing, leads, and renews every retry period', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a');
    await run(clock, 100, [a]);
    assert.equal(a.el.isLeader(), true);
    assert.deepEqual(a.log, [`start@${clock.now() - 100}`]);
    const l1 = lease(fake)!;
    assert.equal(l1.spec?.holderIdentity, 'a');
    assert.equal(l1.spec?.leaseDurationSeconds, 15);
    assert.equal(l1.spec?.leaseTransitions, 0);
    assert.match(l1.spec!.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'MicroTime needs six fractional digits');
    await run(clock, 2_000, [a]);
    const l2 = lease(fake)!;
    assert.notEqual(l2.spec?.renewTime, l1.spec?.renewTime, 'renewed after one retry period');
    assert.equal(l2.spec?.acquireTime, l1.spec?.acquireTime, 'a renew keeps acquireTime');
    await a.el.stop();
  });

  it('a standby never acquires while the leader renews, and takes over one lease duration after renewals stop', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a', { releaseOnStop: false });
    await run(clock, 100, [a]);
    const b = candidate(fake, clock, 'b');
    await run(clock, 60_000, [a, b]);
    assert.equal(b.el.isLeader(), false);
    assert.equal(b.el.observedLeader(), 'a');
    // a stops without releasing (as if it crashed): the Lease still names a.
    await a.el.stop();
    const lastRenew = Date.parse(lease(fake)!.spec!.renewTime!);
    await run(clock, 40_000, [a, b]);
    assert.equal(b.el.isLeader(), true);
    const acquired = Number(b.log[0]!.split('@')[1]);
    assert.ok(acquired - lastRenew >= 15_000, `b acquired ${acquired - lastRenew} ms after a's last renew: before the lease expired`);
    assert.ok(acquired - lastRenew <= 15_000 + 2 * 4_400, `b acquired too late: ${acquired - lastRenew} ms`);
    assert.equal(lease(fake)!.spec?.leaseTransitions, 1);
    await b.el.stop();
  });

  it('judges expiry by its own clock since it saw the record change, not by the remote renewTime', async () => {
    const clock = new FakeClock(Date.UTC(2026, 5, 1));
    const fake = new FakeKube({ clock });
    // A record written by a holder whose clock is years behind: by renewTime it expired long ago.
    fake.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: NS, name: NAME },
      spec: { holderIdentity: 'skewed', leaseDurationSeconds: 15, renewTime: microTime(Date.UTC(2020, 0, 1)), acquireTime: microTime(Date.UTC(2020, 0, 1)), leaseTransitions: 4 },
    } as Lease);
    const b = candidate(fake, clock, 'b');
    await run(clock, 14_000, [b]);
    assert.equal(b.el.isLeader(), false, 'must wait a full lease duration after first seeing the record');
    await run(clock, 6_000, [b]);
    assert.equal(b.el.isLeader(), true);
    assert.equal(lease(fake)!.spec?.leaseTransitions, 5);
    await b.el.stop();

    // And a renewTime in the future does not extend the wait either.
    const clock2 = new FakeClock();
    const fake2 = new FakeKube({ clock: clock2 });
    fake2.put({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: NS, name: NAME },
      spec: { holderIdentity: 'ahead', leaseDurationSeconds: 15, renewTime: microTime(Date.UTC(2030, 0, 1)) },
    } as Lease);
    const c = candidate(fake2, clock2, 'c');
    await run(clock2, 20_000, [c]);
    assert.equal(c.el.isLeader(), true);
    await c.el.stop();
  });

  it('steps down when renewing fails past the renew deadline, before anyone else can acquire', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a');
    await run(clock, 100, [a]);
    const b = candidate(fake, clock, 'b');
    await run(clock, 5_000, [a, b]);
    // a's connection hangs (requests never answer): the worst case for a leader.
    a.transport.mode = 'hang';
    const hungAt = clock.now();
    await run(clock, 30_000, [a, b]);
    assert.equal(a.el.isLeader(), false);
    assert.equal(await a.running, 'lost');
    const stopped = Number(a.log.find((l) => l.startsWith('stop@'))!.split('@')[1]);
    const bStarted = Number(b.log.find((l) => l.startsWith('start@'))!.split('@')[1]);
    assert.ok(stopped - hungAt <= 10_000, `a kept leading ${stopped - hungAt} ms without a successful renew`);
    assert.ok(bStarted > stopped + 4_000, `b started ${bStarted - stopped} ms after a stopped: too close`);
    await b.el.stop();
  });

  it('counts the renew deadline from when the last successful renew was sent, not answered', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a');
    await run(clock, 100, [a]);
    const b = candidate(fake, clock, 'b', { retryPeriodMs: 500 }); // b notices changes quickly
    await run(clock, 5_000, [a, b]);
    a.transport.mode = 'slow'; // the next renew commits now but its answer arrives 7.9 s later
    await run(clock, 40_000, [a, b]); // run() fails on any moment with two leaders
    assert.equal(b.el.isLeader(), true);
    assert.equal(await a.running, 'lost');
    await b.el.stop();
  });

  it('aborts the leader work signal when leadership ends', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    let signal: AbortSignal | undefined;
    const a = candidate(fake, clock, 'a', { onStartedLeading: (s) => (signal = s) });
    await run(clock, 100, [a]);
    assert.equal(signal?.aborted, false);
    a.transport.mode = 'fail';
    await run(clock, 12_000, [a]);
    assert.equal(signal?.aborted, true);
    assert.match(String((signal?.reason as Error).message), /renew deadline passed/);
  });

  it('steps down at once when it sees another holder on the Lease', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a');
    await run(clock, 100, [a]);
    const l = lease(fake)!;
    fake.put({ ...l, spec: { ...l.spec, holderIdentity: 'intruder', renewTime: microTime(clock.now()) } });
    await run(clock, 2_500, [a]);
    assert.equal(a.el.isLeader(), false);
    assert.equal(await a.running, 'lost');
  });

  it('releases on stop (empty holder), so the standby takes over at its next retry', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const a = candidate(fake, clock, 'a');
    await run(clock, 100, [a]);
    const b = candidate(fake, clock, 'b');
    await run(clock, 5_000, [a, b]);
    const stopAt = clock.now();
    await a.el.stop();
    assert.equal(await a.running, 'stopped');
    assert.deepEqual(a.log.at(-1), `stop@${stopAt}`);
    assert.equal(lease(fake)!.spec?.holderIdentity, '');
    await run(clock, 5_000, [a, b]);
    assert.equal(b.el.isLeader(), true);
    const took = Number(b.log[0]!.split('@')[1]) - stopAt;
    assert.ok(took <= 2_000 * 2.2, `takeover after release took ${took} ms`);
    assert.equal(lease(fake)!.spec?.leaseTransitions, 1);
    await b.el.stop();
  });

  it('lets only one of several racing candidates win (optimistic concurrency), under random failures', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    let seed = 7;
    const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const cands = ['a', 'b', 'c'].map((id) => candidate(fake, clock, id, { random: rnd }));
    for (let round = 0; round < 40; round++) {
      for (const c of cands) c.transport.mode = rnd() < 0.25 ? 'fail' : rnd() < 0.1 ? 'hang' : 'ok';
      await run(clock, 3_000, cands, 50);
    }
    for (const c of cands) c.transport.mode = 'ok';
    await run(clock, 30_000, cands, 50);
    const leaders = cands.filter((c) => c.el.isLeader());
    assert.ok(leaders.length <= 1);
    assert.ok((lease(fake)!.spec?.leaseTransitions ?? 0) >= 2, 'leadership changed hands during the chaos');
    await Promise.all(cands.map((c) => c.el.stop()));
  });

  it('rejects unsafe timings', () => {
    assert.deepEqual(leaderTimingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }), []);
    assert.equal(leaderTimingProblems({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }).length, 1);
    assert.equal(leaderTimingProblems({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }).length, 1);
    const fake = new FakeKube();
    assert.throws(() => new LeaderElector({ client: fake.client, namespace: NS, name: NAME, identity: 'x', renewDeadlineMs: 20_000 }), /leaseDuration \(15000 ms\) must be greater than renewDeadline/);
    assert.throws(() => new LeaderElector({ client: fake.client, namespace: NS, name: NAME, identity: '' }), /identity must not be empty/);
  });

  it('reports the leader gauge through the metrics hook', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const gauge: number[] = [];
    const a = candidate(fake, clock, 'a', { metrics: { leader: (i) => gauge.push(i.isLeader ? 1 : 0) } });
    await run(clock, 100, [a]);
    await a.el.stop();
    await flush();
    assert.deepEqual(gauge, [1, 0]);
  });
});
