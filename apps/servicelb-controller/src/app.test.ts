import assert from 'node:assert/strict';
import { afterAll, describe, it } from '@jest/globals';
import { Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger, parseFlags, Registry } from '@portico/service-kit';
import { createApp, type App } from './app.ts';
import { runConfigFrom, runFlags, type RunConfig } from './config.ts';
import { MetricNames } from '@portico/servicelb-runtime';
import { eventually, LB_NS, node, RecordingEvents, service } from '@portico/servicelb-runtime/testing';

function runConfig(argv: string[]): RunConfig {
  const parsed = parseFlags(runFlags, [...argv, '--lb-namespace', LB_NS, '--metrics-addr', '0', '--resync-period', '0'], {});
  assert.ok(parsed.ok);
  const c = runConfigFrom(parsed.values, {});
  assert.ok(c.ok, JSON.stringify(c));
  return c.config;
}

const apps: App[] = [];
function app(fake: FakeKube, argv: string[], events = new RecordingEvents()): App {
  const a = createApp({ config: runConfig(argv), log: createLogger({ app: 'test', level: 'silent' }), client: fake.client, registry: new Registry(), events });
  apps.push(a);
  return a;
}
afterAll(async () => {
  for (const a of apps) await a.close();
});

const FAST = ['--leader-elect-lease-duration', '1s', '--leader-elect-renew-deadline', '600ms', '--leader-elect-retry-period', '200ms'];

describe('app: health, readiness and metrics', () => {
  it('/readyz is 503 until the caches have synced, then 200; /healthz 200; /metrics has every controller metric', async () => {
    const fake = new FakeKube();
    fake.put(node('n1', { internal: ['10.0.0.1'] }));
    const a = app(fake, ['--leader-elect=false']);
    const before = await a.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(before.statusCode, 503);
    assert.match(before.body, /caches not synced: services, nodes, svclb-pods, svclb-daemonsets/);
    await a.start();
    await eventually(async () => assert.equal((await a.server.inject({ method: 'GET', url: '/readyz' })).statusCode, 200), 'ready');
    assert.equal((await a.server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const metrics = (await a.server.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of Object.values(MetricNames)) assert.ok(metrics.includes(`# TYPE ${name} `), name);
    assert.match(metrics, /portico_servicelb_leader 1/, 'without leader election the process always works');
    assert.match(metrics, /portico_kube_cache_objects\{cache="nodes"\} 1/);
  });
});

describe('app: leader election', () => {
  it('only the leader writes; the standby is ready but idle, and takes over when the leader goes away', async () => {
    const fake = new FakeKube();
    fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'one'));
    const first = app(fake, [...FAST, '--leader-elect-identity', 'first', '--leader-elect-namespace', 'ctl']);
    await first.start();
    await eventually(() => assert.ok(first.controller.leading), 'first leads');
    const second = app(fake, [...FAST, '--leader-elect-identity', 'second', '--leader-elect-namespace', 'ctl']);
    await second.start();
    await eventually(() => assert.ok(fake.get(Resources.DaemonSet, { namespace: LB_NS, name: 'svclb-one-00000000' })), 'the first Service handled');
    await eventually(async () => assert.equal((await second.server.inject({ method: 'GET', url: '/readyz' })).statusCode, 200), 'standby ready');
    assert.equal(second.controller.leading, false);
    assert.match((await second.server.inject({ method: 'GET', url: '/metrics' })).body, /portico_servicelb_leader 0/);
    const lease = fake.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: 'ctl', name: 'portico-servicelb-controller' });
    assert.equal(lease?.spec?.holderIdentity, 'first');

    await first.close();
    // Correctness, not speed (a time bound flakes on a loaded machine): the standby takes over.
    await eventually(() => assert.ok(second.controller.leading), 'second leads');
    fake.put(service('app', 'two'));
    await eventually(() => assert.ok(fake.get(Resources.DaemonSet, { namespace: LB_NS, name: 'svclb-two-00000000' })), 'the Service created after the failover');
  });
});
