import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { FakeClock } from '@portico/runner/testing';
import { type CoreEvent, EventRecorder } from './events.ts';
import { FakeKube } from './testing/index.ts';
import { RecordingLogger } from './testing/index.ts';
import { Resources } from './resources.ts';
import type { KubeObject } from './types.ts';

const svc: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'web', name: 'front', uid: 'u-1', resourceVersion: '7' } };

function setup(extra: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}): { fake: FakeKube; clock: FakeClock; rec: EventRecorder; logger: RecordingLogger } {
  const clock = new FakeClock(Date.UTC(2026, 2, 3, 4, 5, 6));
  const fake = new FakeKube({ clock });
  const logger = new RecordingLogger();
  const rec = new EventRecorder({ client: fake.client, component: 'portico-servicelb', clock, logger, ...extra });
  return { fake, clock, rec, logger };
}

describe('EventRecorder', () => {
  it('writes a core/v1 Event about the object', async () => {
    const { fake, rec } = setup({ host: 'node-1' });
    rec.event(svc, 'Normal', 'UpdatedLoadBalancer', 'ingress 192.0.2.1');
    await rec.flush();
    const [ev] = fake.events('web') as CoreEvent[];
    assert.ok(ev);
    assert.deepEqual(ev.involvedObject, { apiVersion: 'v1', kind: 'Service', namespace: 'web', name: 'front', uid: 'u-1', resourceVersion: '7' });
    assert.equal(ev.reason, 'UpdatedLoadBalancer');
    assert.equal(ev.type, 'Normal');
    assert.equal(ev.count, 1);
    assert.deepEqual(ev.source, { component: 'portico-servicelb', host: 'node-1' });
    assert.equal(ev.firstTimestamp, '2026-03-03T04:05:06Z');
    assert.equal(ev.reportingInstance, 'node-1');
    assert.match(ev.metadata!.name!, /^front\.[0-9a-f]+$/);
  });

  it('aggregates identical events into count and lastTimestamp with a merge patch', async () => {
    const { fake, clock, rec } = setup();
    rec.event(svc, 'Warning', 'HostPortConflict', 'port 80 in use');
    clock.advance(5_000);
    rec.event(svc, 'Warning', 'HostPortConflict', 'port 80 in use');
    clock.advance(5_000);
    rec.event(svc, 'Warning', 'HostPortConflict', 'port 80 in use');
    rec.event(svc, 'Warning', 'HostPortConflict', 'port 443 in use'); // different message: its own Event
    rec.event(svc, 'Normal', 'HostPortConflict', 'port 80 in use'); // different type: its own Event
    await rec.flush();
    const evs = (fake.events('web') as CoreEvent[]).map((e) => `${e.type} ${e.message} x${e.count} ${e.firstTimestamp}..${e.lastTimestamp}`).sort();
    assert.deepEqual(evs, [
      'Normal port 80 in use x1 2026-03-03T04:05:16Z..2026-03-03T04:05:16Z',
      'Warning port 443 in use x1 2026-03-03T04:05:16Z..2026-03-03T04:05:16Z',
      'Warning port 80 in use x3 2026-03-03T04:05:06Z..2026-03-03T04:05:16Z',
    ]);
    assert.deepEqual(
      fake.patches.map((p) => p.type),
      ['merge', 'merge'],
    );
  });

  it('puts events about cluster-scoped objects into the default namespace', async () => {
    const { fake, rec } = setup();
    rec.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } }, 'Normal', 'Initialized', 'done');
    await rec.flush();
    assert.equal(fake.events('default').length, 1);
  });

  it('drops events over the per-object spam budget (burst, then one per refill period)', async () => {
    const { fake, clock, rec } = setup({ spamBurst: 3, spamRefillMs: 60_000 });
    for (let i = 0; i < 10; i++) rec.event(svc, 'Normal', 'R', `m${i}`);
    await rec.flush();
    assert.equal(fake.events('web').length, 3);
    clock.advance(60_000);
    rec.event(svc, 'Normal', 'R', 'later');
    rec.event(svc, 'Normal', 'R', 'dropped');
    await rec.flush();
    assert.deepEqual(
      (fake.events('web') as CoreEvent[]).map((e) => e.message).sort(),
      ['later', 'm0', 'm1', 'm2'],
    );
  });

  it('writes a fresh Event when the aggregated one expired (404 on the patch)', async () => {
    const { fake, rec } = setup();
    rec.event(svc, 'Normal', 'R', 'same');
    await rec.flush();
    const first = (fake.events('web') as CoreEvent[])[0]!;
    fake.remove(Resources.Event, { namespace: 'web', name: first.metadata!.name! }); // TTL expiry
    rec.event(svc, 'Normal', 'R', 'same');
    await rec.flush();
    const evs = fake.events('web') as CoreEvent[];
    assert.equal(evs.length, 1);
    assert.notEqual(evs[0]!.metadata!.name, first.metadata!.name);
    assert.equal(evs[0]!.count, 1);
  });

  it('never throws into the caller: failures and bad input are logged', async () => {
    const { fake, rec, logger } = setup();
    fake.failNext({ method: 'POST', status: 500, times: 1 });
    assert.doesNotThrow(() => rec.event(svc, 'Warning', 'R', 'boom'));
    assert.doesNotThrow(() => rec.event({ metadata: { name: 'x' } } as KubeObject, 'Normal', 'R', 'no kind'));
    await rec.flush();
    assert.equal(fake.events('web').length, 0);
    const events = logger.records.map((r) => (r.obj as { event: string }).event).sort();
    assert.deepEqual(events, ['eventInvalid', 'eventWriteFailed']);
    // It keeps working afterwards.
    rec.event(svc, 'Normal', 'R', 'ok');
    await rec.flush();
    assert.equal(fake.events('web').length, 1);
  });

  it('retries a write the API server could not take (503, as while it restarts), with the original timestamp; gives up after maxTries', async () => {
    const outcomes: string[] = [];
    const { fake, clock, rec, logger } = setup({ metrics: { event: (i) => outcomes.push(i.outcome) } });
    fake.failNext({ method: 'POST', status: 503, times: 2 });
    rec.event(svc, 'Warning', 'InvalidAnnotation', 'bad tolerations');
    await rec.flush();
    assert.equal(fake.events('web').length, 0);
    clock.advance(999);
    await rec.flush();
    assert.equal(fake.events('web').length, 0, 'not before 1 s');
    clock.advance(1);
    await rec.flush();
    assert.equal(fake.events('web').length, 0, 'the second try failed too');
    clock.advance(2000);
    await rec.flush();
    const [ev] = fake.events('web') as CoreEvent[];
    assert.equal(ev?.reason, 'InvalidAnnotation');
    assert.equal(ev?.firstTimestamp, '2026-03-03T04:05:06Z', 'the time it happened, not the time it was written');
    assert.deepEqual(outcomes, ['created']);
    assert.deepEqual(logger.records.map((r) => [(r.obj as { event: string }).event, (r.obj as { attempt?: number }).attempt, (r.obj as { inMs?: number }).inMs]), [
      ['eventWriteRetry', 1, 1000],
      ['eventWriteRetry', 2, 2000],
    ]);

    // An API server that stays away: maxTries, then one warning.
    const stuck = setup({ maxTries: 3, metrics: { event: (i) => outcomes.push(i.outcome) } });
    stuck.fake.failNext({ method: 'POST', status: 504, times: 10 });
    stuck.rec.event(svc, 'Warning', 'R', 'lost');
    for (let i = 0; i < 5; i++) {
      await stuck.rec.flush();
      stuck.clock.advance(10_000);
    }
    await stuck.rec.flush();
    assert.equal(stuck.fake.events('web').length, 0);
    assert.deepEqual(stuck.logger.records.map((r) => (r.obj as { event: string }).event), ['eventWriteRetry', 'eventWriteRetry', 'eventWriteFailed']);
    assert.deepEqual(outcomes, ['created', 'failed']);
  });

  it('drops an Event refused because its namespace is being deleted, at debug level (no warning)', async () => {
    const outcomes: string[] = [];
    const { fake, rec, logger } = setup({ metrics: { event: (i) => outcomes.push(i.outcome) } });
    const details = { name: 'web.1', kind: 'events', causes: [{ reason: 'NamespaceTerminating', message: 'namespace app is being terminated', field: 'metadata.namespace' }] };
    fake.failNext({ method: 'POST', status: 403, reason: 'Forbidden', message: 'unable to create new content in namespace app because it is being terminated', details });
    rec.event(svc, 'Normal', 'R', 'late');
    await rec.flush();
    assert.deepEqual(outcomes, ['dropped']);
    assert.deepEqual(logger.records.map((r) => [r.level, (r.obj as { event: string; why?: string }).event, (r.obj as { why?: string }).why]), [['debug', 'eventDropped', 'namespaceTerminating']]);
    // Any other 403 is still a warning.
    fake.failNext({ method: 'POST', status: 403, reason: 'Forbidden' });
    rec.event(svc, 'Normal', 'R', 'denied');
    await rec.flush();
    assert.deepEqual(outcomes, ['dropped', 'failed']);
    assert.equal((logger.records.at(-1)?.obj as { event: string }).event, 'eventWriteFailed');
  });

  it('reports outcomes through the metrics hook', async () => {
    const outcomes: string[] = [];
    const { rec } = setup({ spamBurst: 2, metrics: { event: (i) => outcomes.push(i.outcome) } });
    rec.event(svc, 'Normal', 'R', 'a');
    rec.event(svc, 'Normal', 'R', 'a');
    rec.event(svc, 'Normal', 'R', 'a');
    await rec.flush();
    assert.deepEqual(outcomes, ['dropped', 'created', 'aggregated']);
  });
});
