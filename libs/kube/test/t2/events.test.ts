// T2: the EventRecorder writes core/v1 Events visible through the API; repeats bump `count`
// instead of creating duplicates; failures are logged, never thrown.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type CoreEvent, EventRecorder, type KubeObject, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { RecordingLogger } from '../../src/testing/index.ts';
import { adminClient, configMap, testNamespace } from './helpers.ts';

describe('EventRecorder against a real API server', () => {
  let client: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    client = await adminClient();
    ns = await testNamespace(client, 'events');
  });
  afterAll(async () => {
    await ns?.cleanup();
    client?.close();
  });

  it('writes Events with component, host and involvedObject, and aggregates repeats into count', async () => {
    const obj = await client.create<KubeObject>(Resources.ConfigMap, configMap(ns.name, 'subject'));
    const logger = new RecordingLogger();
    const rec = new EventRecorder({ client, component: 'portico-test', host: 'node-a', logger });
    for (let i = 0; i < 5; i++) rec.event(obj, 'Warning', 'HostPortConflict', 'port 80 is taken by svc other/web');
    rec.event(obj, 'Normal', 'UpdatedLoadBalancer', 'ingress 192.0.2.1');
    rec.event(obj, 'Warning', 'HostPortConflict', 'port 443 is taken by svc other/web');
    await rec.flush();
    assert.deepEqual(logger.records.filter((r) => r.level !== 'debug'), [], 'no write failed');

    const list = await client.list<CoreEvent>(Resources.Event, { namespace: ns.name, fieldSelector: `involvedObject.name=subject,involvedObject.kind=ConfigMap` });
    const summary = list.items.map((e) => `${e.type} ${e.reason} ${e.count} ${e.message}`).sort();
    assert.deepEqual(summary, ['Normal UpdatedLoadBalancer 1 ingress 192.0.2.1', 'Warning HostPortConflict 1 port 443 is taken by svc other/web', 'Warning HostPortConflict 5 port 80 is taken by svc other/web']);
    const agg = list.items.find((e) => e.count === 5)!;
    assert.deepEqual(agg.source, { component: 'portico-test', host: 'node-a' });
    assert.equal(agg.involvedObject.uid, obj.metadata?.uid);
    assert.equal(agg.involvedObject.namespace, ns.name);
    assert.equal(agg.reportingComponent, 'portico-test');
    assert.ok(agg.firstTimestamp <= agg.lastTimestamp);
  });

  it('logs a failed write and does not throw into the caller', async () => {
    const logger = new RecordingLogger();
    const rec = new EventRecorder({ client, component: 'portico-test', logger });
    // The namespace does not exist: the API refuses the Event.
    assert.doesNotThrow(() => rec.event({ kind: 'ConfigMap', namespace: `${ns.name}-missing`, name: 'x' }, 'Normal', 'Test', 'm'));
    await rec.flush();
    const failed = logger.records.find((r) => (r.obj as { event?: string }).event === 'eventWriteFailed');
    assert.ok(failed, 'the failure was logged');
    assert.equal(failed.level, 'warn');
  });
});
