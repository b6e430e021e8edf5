import assert from 'node:assert/strict';
import { afterAll, describe, it } from '@jest/globals';
import { createKubeMetrics, Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger, parseFlags, Registry } from '@portico/service-kit';
import { createServiceLBHost, MetricNames as ServiceLBMetricNames, type ServiceLBHost } from '@portico/servicelb-runtime';
import { eventually, RecordingEvents, service } from '@portico/servicelb-runtime/testing';
import { createApp, type App } from './app.ts';
import { runConfigFrom, runFlags, type RunConfig } from './config.ts';
import type { CcmNode } from './instances.ts';
import { MetricNames } from './metrics.ts';

const LB_NS = 'lb-system';
const TAINT = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' };
const FAST = ['--leader-elect-lease-duration', '1s', '--leader-elect-renew-deadline', '600ms', '--leader-elect-retry-period', '200ms'];

function runConfig(argv: string[]): RunConfig {
  const parsed = parseFlags(runFlags, [...argv, '--lb-namespace', LB_NS, '--metrics-addr', '0', '--resync-period', '0'], {});
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const c = runConfigFrom(parsed.values, {});
  assert.ok(c.ok, JSON.stringify(c));
  return c.config;
}

interface Running {
  readonly app: App;
  readonly nodeEvents: RecordingEvents;
}
const apps: App[] = [];
const hosts: ServiceLBHost[] = [];
function app(fake: FakeKube, argv: string[]): Running {
  const nodeEvents = new RecordingEvents();
  const a = createApp({ config: runConfig(argv), log: createLogger({ app: 'test', level: 'silent' }), client: fake.client, registry: new Registry(), nodeEvents, serviceLBEvents: new RecordingEvents() });
  apps.push(a);
  return { app: a, nodeEvents };
}
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const h of hosts) await h.close();
});

function kNode(name: string, o: { annotations?: Record<string, string>; tainted?: boolean; addresses?: { type: string; address: string }[] } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: o.annotations ?? {}, labels: { 'kubernetes.io/hostname': name } },
    spec: o.tainted === false ? {} : { taints: [TAINT] },
    status: { addresses: o.addresses ?? [], conditions: [{ type: 'Ready', status: 'True' }] },
  } as KubeObject;
}
const getNode = (fake: FakeKube, name: string): CcmNode | undefined => fake.get<CcmNode & KubeObject>(Resources.Node, { name });

describe('ccm app: node initialization on a FakeKube API server', () => {
  it('initializes a tainted K3s node (addresses, providerID, labels, no taint, Synced); a node with no address waits with a Warning', async () => {
    const fake = new FakeKube();
    fake.put(
      kNode('k3s-1', { annotations: { 'k3s.io/internal-ip': '10.0.0.1,fd00::1', 'k3s.io/external-ip': '203.0.113.1', 'k3s.io/hostname': 'k3s-1' } }),
      kNode('plain-1', { annotations: { 'alpha.kubernetes.io/provided-node-ip': '172.18.0.3' }, addresses: [{ type: 'Hostname', address: 'plain-1' }] }),
      kNode('bare-1'),
    );
    const { app: a, nodeEvents } = app(fake, ['--leader-elect=false', '--disable', 'servicelb']);
    await a.start();
    await eventually(() => assert.equal(getNode(fake, 'k3s-1')?.spec?.providerID, 'k3s://k3s-1'), 'k3s-1 initialized');
    const n = getNode(fake, 'k3s-1')!;
    assert.deepEqual(n.spec?.taints ?? [], []);
    assert.deepEqual(n.status?.addresses, [
      { type: 'InternalIP', address: '10.0.0.1' },
      { type: 'InternalIP', address: 'fd00::1' },
      { type: 'ExternalIP', address: '203.0.113.1' },
      { type: 'Hostname', address: 'k3s-1' },
    ]);
    assert.equal(n.metadata?.labels?.['node.kubernetes.io/instance-type'], 'k3s');
    assert.equal(n.metadata?.labels?.['beta.kubernetes.io/instance-type'], 'k3s');
    await eventually(() => assert.equal(getNode(fake, 'plain-1')?.spec?.providerID, 'k3s://plain-1'), 'plain-1 initialized');
    assert.deepEqual(getNode(fake, 'plain-1')!.status?.addresses, [{ type: 'InternalIP', address: '172.18.0.3' }, { type: 'Hostname', address: 'plain-1' }]);
    await eventually(() => assert.ok(nodeEvents.events.some((e) => e.object === 'undefined/bare-1' && e.reason === 'NoUsableAddress')), 'the NoUsableAddress Warning');
    assert.deepEqual(getNode(fake, 'bare-1')!.spec?.taints, [TAINT], 'bare-1 keeps its taint');
    assert.deepEqual(nodeEvents.reasons('undefined/k3s-1'), ['Synced']);
    assert.equal(a.nodes.stateOf('bare-1'), 'waiting');
    // The one spec write of an initialization is a PUT; addresses are a status merge patch.
    assert.ok(fake.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/nodes/k3s-1')));
    assert.ok(fake.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/nodes/k3s-1/status')));

    // The address arrives later: the node is initialized at once (watch), with no new Warning.
    fake.put({ ...kNode('bare-1', { annotations: { 'k3s.io/internal-ip': '10.0.0.3' } }), metadata: { ...getNode(fake, 'bare-1')!.metadata, annotations: { 'k3s.io/internal-ip': '10.0.0.3' } } } as KubeObject);
    await eventually(() => assert.deepEqual(getNode(fake, 'bare-1')?.spec?.taints ?? [], []), 'bare-1 initialized');
    // An annotation change on an initialized node propagates to its addresses.
    const k = getNode(fake, 'k3s-1')!;
    fake.put({ ...k, metadata: { ...k.metadata, annotations: { ...k.metadata?.annotations, 'k3s.io/external-ip': '203.0.113.99' } } } as KubeObject);
    await eventually(() => assert.ok(getNode(fake, 'k3s-1')?.status?.addresses?.some((x) => x.address === '203.0.113.99')), 'external IP refreshed');

    const metrics = (await a.server.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of Object.values(MetricNames)) assert.ok(metrics.includes(`# TYPE ${name} `), name);
    assert.match(metrics, /portico_ccm_node_initializations_total 3/);
    assert.ok(!metrics.includes('portico_servicelb_'), 'no ServiceLB metrics when it is disabled');
    assert.equal(fake.list(Resources.DaemonSet).length, 0);
  });
});

describe('ccm app: an invalid Node', () => {
  it('is never written to; one Warning InvalidNode Event names field and value', async () => {
    const fake = new FakeKube();
    const bad = kNode('odd-1', { annotations: { 'k3s.io/internal-ip': '10.0.0.7' } });
    fake.put({ ...bad, spec: { taints: [{ ...TAINT, effect: 'Sometimes' }] } } as KubeObject, kNode('ok-1', { annotations: { 'k3s.io/internal-ip': '10.0.0.8' } }));
    const { app: a, nodeEvents } = app(fake, ['--leader-elect=false', '--disable', 'servicelb']);
    await a.start();
    await eventually(() => assert.equal(getNode(fake, 'ok-1')?.spec?.providerID, 'k3s://ok-1'), 'ok-1 initialized');
    await eventually(() => assert.ok(nodeEvents.events.some((e) => e.object === 'undefined/odd-1' && e.reason === 'InvalidNode')), 'the InvalidNode Warning');
    const ev = nodeEvents.events.filter((e) => e.reason === 'InvalidNode');
    assert.equal(ev.length, 1);
    assert.match(ev[0]!.message, /spec\.taints\[0\]\.effect: "Sometimes": must be one of NoSchedule, PreferNoSchedule, NoExecute; the Node is left unchanged/);
    assert.equal(getNode(fake, 'odd-1')?.spec?.providerID, undefined);
    assert.ok(!fake.requests.some((r) => (r.method === 'PUT' || r.method === 'PATCH') && r.path.includes('/nodes/odd-1')), 'no write to odd-1');
  });
});

describe('ccm app: a node with no usable address', () => {
  it('is retried with exponential backoff (5 ms doubling), not in a hot loop, and warned about once', async () => {
    const fake = new FakeKube();
    fake.put(kNode('bare-1'));
    const { app: a, nodeEvents } = app(fake, ['--leader-elect=false', '--disable', 'servicelb']);
    await a.start();
    const syncs = async (): Promise<number> => {
      const m = /portico_ccm_node_syncs_total\{result="success"\} (\d+)/.exec((await a.server.inject({ method: 'GET', url: '/metrics' })).body);
      return Number(m?.[1] ?? 0);
    };
    await eventually(() => assert.equal(a.nodes.stateOf('bare-1'), 'waiting'), 'waiting');
    await new Promise((r) => setTimeout(r, 600));
    const n = await syncs();
    // 5+10+20+...: about 7 retries fit in 600 ms; a hot loop would do thousands, no retry would do 1.
    assert.ok(n >= 4 && n <= 12, `${n} reconciles in 600 ms`);
    assert.deepEqual(nodeEvents.reasons('undefined/bare-1'), ['NoUsableAddress'], 'one Warning, not one per retry');
  });
});

describe('ccm app: hosted ServiceLB', () => {
  it('runs ServiceLB unless disabled; /readyz waits for both caches; ServiceLB metrics are served', async () => {
    const fake = new FakeKube();
    fake.put(kNode('n1', { tainted: false, addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] }), service('app', 'web'));
    const { app: a } = app(fake, ['--leader-elect=false']);
    const before = await a.server.inject({ method: 'GET', url: '/readyz' });
    assert.equal(before.statusCode, 503);
    assert.match(before.body, /ccm-nodes/);
    assert.match(before.body, /svclb-daemonsets/);
    await a.start();
    await eventually(() => assert.ok(fake.get(Resources.DaemonSet, { namespace: LB_NS, name: 'svclb-web-00000000' })), 'the svclb DaemonSet');
    await eventually(async () => assert.equal((await a.server.inject({ method: 'GET', url: '/readyz' })).statusCode, 200), 'ready');
    const metrics = (await a.server.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of [...Object.values(MetricNames), ...Object.values(ServiceLBMetricNames)]) assert.ok(metrics.includes(`# TYPE ${name} `), name);
  });

  it('takes the ServiceLB Lease servicelb-controller takes: while another holder leads ServiceLB, ccm only initializes nodes', async () => {
    const fake = new FakeKube();
    fake.put(kNode('n1', { annotations: { 'k3s.io/internal-ip': '10.0.0.1' } }));
    // servicelb-controller, as its app builds it: the runtime's host under the default ServiceLB Lease.
    const parsed = parseFlags(runFlags, [...FAST, '--leader-elect-namespace', 'ctl', '--leader-elect-identity', 'servicelb-controller', '--lb-namespace', LB_NS, '--resync-period', '0'], {});
    assert.ok(parsed.ok);
    const cfg = runConfigFrom(parsed.values, {});
    assert.ok(cfg.ok);
    const registry = new Registry();
    const other = createServiceLBHost({
      client: fake.client,
      core: cfg.config.serviceLB!,
      work: cfg.config,
      leader: cfg.config,
      leaseName: 'portico-servicelb-controller',
      nodeName: undefined,
      log: createLogger({ app: 'other', level: 'silent' }),
      registry,
      kubeMetrics: createKubeMetrics(registry),
      events: new RecordingEvents(),
    });
    hosts.push(other);
    other.start();
    await eventually(() => assert.ok(other.controller.leading), 'the other process leads ServiceLB');
    const { app: a } = app(fake, [...FAST, '--leader-elect-namespace', 'ctl', '--leader-elect-identity', 'ccm-0']);
    await a.start();
    await eventually(() => assert.ok(a.nodes.leading), 'ccm leads node initialization');
    await eventually(() => assert.equal(getNode(fake, 'n1')?.spec?.providerID, 'k3s://n1'), 'n1 initialized');
    assert.equal(a.serviceLB!.controller.leading, false, 'ServiceLB stays with the Lease holder');
    const leases = fake.list<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease).map((l) => `${l.metadata?.name}=${l.spec?.holderIdentity}`).sort();
    assert.deepEqual(leases, ['k3s-cloud-controller-manager=ccm-0', 'portico-servicelb-controller=servicelb-controller']);

    await other.close();
    hosts.splice(hosts.indexOf(other), 1);
    await eventually(() => assert.ok(a.serviceLB!.controller.leading), 'ccm takes over ServiceLB when the other holder goes');
  });
});
