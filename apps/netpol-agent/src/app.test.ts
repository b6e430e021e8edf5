import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger } from '@portico/service-kit';
import { createApp } from './app.ts';
import { runConfig, runFlags } from './config.ts';
import { parseFlags } from '@portico/service-kit';
import { FakeKernelRunner } from '@portico/iptables/testing';
import { Kernel, toolsFor } from '@portico/iptables/adapter';
import { FakeClock } from '@portico/runner/testing';
import { node, ns, pod, policy } from './testing/fixtures.ts';
import type { SyncResult } from './sync.ts';

/** Waits (in real time, for watch events to flow) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setup() {
  const parsed = parseFlags(runFlags(), ['--node-name', 'n1', '--metrics-addr', '0', '--min-sync-interval', '1s', '--sync-retry-interval', '5s', '--resync-period', '5m', '--verify-period', '12m'], {});
  assert.ok(parsed.ok);
  const built = runConfig(parsed.values);
  assert.ok('config' in built);
  const kube = new FakeKube();
  const fake = new FakeKernelRunner();
  const clock = new FakeClock(1_000_000);
  const syncs: SyncResult[] = [];
  const app = createApp({
    config: built.config,
    log: createLogger({ app: 'test', level: 'silent' }),
    client: kube.client,
    kernel: new Kernel(fake, toolsFor('nft')),
    version: 'test',
    clock,
    onSync: (r) => syncs.push(r),
  });
  kube.put(
    node('n1', ['192.168.1.1', 'fd00::1'], ['10.42.0.0/24', 'fd42::/64']) as unknown as KubeObject,
    node('n2', ['192.168.1.2'], ['10.42.1.0/24']) as unknown as KubeObject,
    ns('x') as unknown as KubeObject,
    pod('x', 'a', { pod: 'a' }, 'n1', ['10.42.0.10', 'fd42::10']) as unknown as KubeObject,
    pod('x', 'b', { pod: 'b' }, 'n2', ['10.42.1.11']) as unknown as KubeObject,
  );
  return { kube, fake, clock, app, syncs };
}

const chains = (f: FakeKernelRunner, family: 'IPv4' | 'IPv6' = 'IPv4') => [...f.tables[family].keys()];

describe('netpol-agent run loop (FakeKube + fake kernel + fake clock)', () => {
  it('syncs after the caches, then only for relevant events, coalesced; ready after the first sync', async () => {
    const { kube, fake, clock, app, syncs } = setup();
    try {
      assert.equal((await app.server.inject({ url: '/readyz' })).statusCode, 503);
      await app.start();
      await clock.tick(0);
      await until(() => syncs.length === 1, 'first sync');
      assert.equal(syncs[0]!.outcome, 'applied');
      assert.equal(syncs[0]!.reread, true, 'the first sync reads the kernel');
      assert.deepEqual(
        syncs[0]!.plans.map((p) => p.family),
        ['IPv4', 'IPv6'],
        'families come from the node addresses (auto)',
      );
      assert.equal((await app.server.inject({ url: '/readyz' })).statusCode, 200);
      assert.ok(chains(fake).some((c) => c.startsWith('KUBE-POD-FW-')), 'the local pod has a chain');

      // A policy and a label change arrive together: one sync after the minimum interval.
      kube.put(policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }) as unknown as KubeObject);
      kube.put(pod('x', 'b', { pod: 'b', v: '2' }, 'n2', ['10.42.1.11']) as unknown as KubeObject);
      await new Promise((r) => setTimeout(r, 50));
      await clock.tick(999);
      assert.equal(syncs.length, 1, 'not before the minimum interval');
      await clock.tick(1);
      await until(() => syncs.length === 2, 'policy sync');
      assert.equal(syncs[1]!.outcome, 'applied');
      assert.equal(syncs[1]!.reread, false, 'event syncs plan against the model');
      assert.ok(chains(fake).some((c) => c.startsWith('KUBE-NWPLCY-') && !['KUBE-NWPLCY-COMMON', 'KUBE-NWPLCY-DEFAULT', 'KUBE-NWPLCY-TAIL'].includes(c)));

      // A pod change that does not matter (an annotation) requests nothing.
      const a = pod('x', 'a', { pod: 'a' }, 'n1', ['10.42.0.10', 'fd42::10']);
      kube.put({ ...a, metadata: { ...a.metadata, annotations: { note: 'x' } } } as unknown as KubeObject);
      await new Promise((r) => setTimeout(r, 50));
      await clock.tick(10_000);
      assert.equal(syncs.length, 2);

      // Deleting the policy removes its chain.
      kube.remove(Resources.NetworkPolicy, { namespace: 'x', name: 'deny' });
      await new Promise((r) => setTimeout(r, 50));
      await clock.tick(0);
      await until(() => syncs.length === 3, 'delete sync');
      assert.ok(!chains(fake).some((c) => c.startsWith('KUBE-NWPLCY-') && !['KUBE-NWPLCY-COMMON', 'KUBE-NWPLCY-DEFAULT', 'KUBE-NWPLCY-TAIL'].includes(c)));

      // The periodic resync checks the rules and the set sizes and finds nothing to do; the full
      // verification (every set member) comes at the first resync --verify-period (12m) after the
      // last full read (the first sync).
      for (let i = 4; i <= 8; i++) {
        await clock.tick(5 * 60_000);
        await until(() => syncs.length === i, `periodic sync ${i}`);
      }
      assert.deepEqual(syncs.slice(3).map((s) => s.read), ['check', 'check', 'full', 'check', 'check'], 'full verification 12m after the last full read');
      assert.deepEqual(syncs.slice(3).map((s) => [s.outcome, s.writes]), Array(5).fill(['unchanged', 0]));
      const metrics = (await app.server.inject({ url: '/metrics' })).body;
      for (const name of ['kube_router_controller_iptables_sync_time_count', 'kube_router_controller_policy_chains', 'portico_netpol_kernel_writes_total', 'portico_netpol_syncs_total{result="unchanged"} 5']) {
        assert.ok(metrics.includes(name), `metrics lack ${name}`);
      }
    } finally {
      await app.close();
    }
  });

  it('a policy turning invalid keeps its last valid version in force, with a log line and a Warning Event on it', async () => {
    const { kube, fake, clock, app, syncs } = setup();
    try {
      await app.start();
      await clock.tick(0);
      await until(() => syncs.length === 1, 'first sync');
      const good = policy('x', 'web', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] });
      kube.put(good as unknown as KubeObject);
      await new Promise((r) => setTimeout(r, 50));
      await clock.tick(1000);
      await until(() => syncs.length === 2, 'policy sync');
      const before = [...fake.tables.IPv4.entries()].map(([k, c]) => `${k}\n${c.rules.join('\n')}`).join('\n');
      assert.match(before, /--dport 80/);

      // The same policy, now with ingress as a map (what a newer or broken client could send).
      kube.put({ ...good, spec: { ...good.spec, ingress: { ports: [{ port: 81 }] } } } as unknown as KubeObject);
      await new Promise((r) => setTimeout(r, 50));
      await clock.tick(1000);
      await until(() => syncs.length === 3, 'sync of the invalid version');
      const p = syncs[2]!.problems.find((x) => x.reason === 'InvalidNetworkPolicy')!;
      assert.equal(p.field, 'spec.ingress');
      assert.match(p.message, /last valid version stays in force/);
      assert.equal(syncs[2]!.writes, 0, 'nothing changed in the kernel');
      const after = [...fake.tables.IPv4.entries()].map(([k, c]) => `${k}\n${c.rules.join('\n')}`).join('\n');
      assert.equal(after, before);
      await until(() => kube.events('x').some((e) => (e as unknown as { reason: string }).reason === 'InvalidNetworkPolicy'), 'the Warning Event');
      const ev = kube.events('x').find((e) => (e as unknown as { reason: string }).reason === 'InvalidNetworkPolicy') as unknown as {
        type: string;
        message: string;
        involvedObject: { kind: string; name: string };
        source: { host: string };
      };
      assert.equal(ev.type, 'Warning');
      assert.deepEqual([ev.involvedObject.kind, ev.involvedObject.name, ev.source.host], ['NetworkPolicy', 'web', 'n1']);
      assert.match(ev.message, /^spec\.ingress: .*last valid version stays in force/);
    } finally {
      await app.close();
    }
  });

  it('a failed sync makes the agent unready and is retried after the retry interval', async () => {
    const { fake, clock, app, syncs } = setup();
    try {
      fake.failNext = 'iptables';
      await app.start();
      await clock.tick(0);
      await until(() => syncs.length === 1, 'first sync');
      assert.equal(syncs[0]!.outcome, 'failed');
      const ready = await app.server.inject({ url: '/readyz' });
      assert.equal(ready.statusCode, 503);
      assert.match(ready.body, /first sync not done/);
      await clock.tick(4_999);
      assert.equal(syncs.length, 1);
      await clock.tick(1);
      await until(() => syncs.length === 2, 'retry');
      assert.equal(syncs[1]!.outcome, 'applied');
      assert.equal(syncs[1]!.reread, true, 'after a failure the kernel is re-read');
      assert.equal((await app.server.inject({ url: '/readyz' })).statusCode, 200);
      assert.equal((await app.server.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});
