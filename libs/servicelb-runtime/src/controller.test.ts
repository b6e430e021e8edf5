import assert from 'node:assert/strict';
import { createLogger } from '@portico/service-kit';
import { afterAll, describe, it } from '@jest/globals';
import { Resources, type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { Kube } from '@portico/labels';
import { LOAD_BALANCER_READY_CONDITION, type DaemonSet, type Node, type Service } from '@portico/servicelb';
import { nodeChangeMatters, podChangeMatters, serviceChangeMatters } from './controller.ts';
import { FIELD_MANAGER } from './config.ts';
import { endpointSlice, eventually, harness, LB_NS, names, node, service, settled, svclbPod, type Harness } from './testing/index.ts';
import { daemonSetDifference } from './writer.ts';

const DS = 'svclb-web-00000000'; // FakeKube UIDs all start with 00000000
const CLEANUP = Kube.loadBalancerCleanupFinalizer;

const getSvc = (h: Harness, ns = 'app', name = 'web'): Service | undefined => h.fake.get<Service & KubeObject>(Resources.Service, { namespace: ns, name });
const getDs = (h: Harness, name = DS): (DaemonSet & KubeObject) | undefined => h.fake.get<DaemonSet & KubeObject>(Resources.DaemonSet, { namespace: LB_NS, name });
const ingressOf = (h: Harness, ns = 'app', name = 'web'): string[] => (getSvc(h, ns, name)?.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip}/${i.ipMode}`);
const conditionOf = (h: Harness, ns = 'app', name = 'web') => getSvc(h, ns, name)?.status?.conditions?.find((c) => c.type === LOAD_BALANCER_READY_CONDITION);
/** Writes (anything but GET) to the API paths of one object. */
const writesTo = (h: Harness, pathPart: string): string[] => h.fake.requests.filter((r) => r.method !== 'GET' && r.path.includes(pathPart)).map((r) => `${r.method} ${r.path}`);

const running: Harness[] = [];
function track(h: Harness): Harness {
  running.push(h);
  return h;
}
afterAll(async () => {
  for (const h of running) await h.stop();
});

describe('ServiceLBController: a LoadBalancer Service end to end', () => {
  it('adds the finalizer, applies the DaemonSet, and publishes node addresses of Ready svclb pods with ipMode VIP', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'], external: ['203.0.113.1'] }), node('n2', { internal: ['10.0.0.2'], external: ['203.0.113.2'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    const svc = getSvc(h)!;
    assert.deepEqual(svc.metadata?.finalizers, [CLEANUP]);
    const ds = getDs(h)!;
    assert.equal(ds.metadata?.labels?.[names.svcNameLabel], 'web');
    assert.equal(ds.metadata?.labels?.[names.svcNamespaceLabel], 'app');
    assert.equal(ds.spec?.template?.spec?.containers?.[0]?.name, 'lb-tcp-80');
    assert.equal(ds.spec?.template?.spec?.containers?.[0]?.image, 'example.com/lb-forwarder:test');
    const apply = h.fake.applies.find((a) => a.resource.kind === 'DaemonSet');
    assert.equal(apply?.fieldManager, FIELD_MANAGER);
    assert.equal(apply?.force, true);
    await eventually(() => assert.equal(conditionOf(h)?.reason, 'PodsNotReady'), 'the PodsNotReady condition');
    assert.deepEqual(ingressOf(h), []);

    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'));
    await eventually(() => assert.deepEqual(ingressOf(h), ['203.0.113.1/VIP']), 'the ingress of n1');
    h.fake.put(svclbPod(DS, 'app', 'web', 'n2'));
    await eventually(() => assert.deepEqual(ingressOf(h), ['203.0.113.1/VIP', '203.0.113.2/VIP']), 'the ingress of n1 and n2');
    assert.equal(conditionOf(h)?.status, 'True');
    await settled(h);
    assert.deepEqual(h.events.reasons('app/web'), ['AppliedDaemonSet', 'UpdatedLoadBalancer', 'UpdatedLoadBalancer']);
    assert.deepEqual(
      h.events.events.filter((e) => e.reason === 'UpdatedLoadBalancer').map((e) => e.message),
      ['Updated LoadBalancer with new IPs: [] -> [203.0.113.1]', 'Updated LoadBalancer with new IPs: [203.0.113.1] -> [203.0.113.1 203.0.113.2]'],
    );

    // A restart changes nothing: same resourceVersions, no status write, no Event.
    await h.stop();
    running.splice(running.indexOf(h), 1);
    const dsRv = getDs(h)!.metadata?.resourceVersion;
    const svcRv = getSvc(h)!.metadata?.resourceVersion;
    const writesBefore = writesTo(h, '/services/web').length;
    const again = track(harness({ fake: h.fake }));
    await again.start();
    await settled(again);
    assert.equal(getDs(again)!.metadata?.resourceVersion, dsRv, 'DaemonSet resourceVersion unchanged');
    assert.equal(getSvc(again)!.metadata?.resourceVersion, svcRv, 'Service resourceVersion unchanged');
    assert.equal(writesTo(again, '/services/web').length, writesBefore, 'no write to the Service');
    assert.deepEqual(again.events.events, [], 'no Event');
    assert.equal(again.controller.stateOf('app/web'), 'ok');
  });

  it('on a type change away from LoadBalancer deletes the DaemonSet, clears the status and removes the finalizer', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP']), 'the ingress');
    const svc = getSvc(h)!;
    h.fake.put({ ...svc, spec: { ...svc.spec, type: 'ClusterIP' } } as KubeObject);
    await eventually(() => {
      assert.equal(getDs(h), undefined, 'DaemonSet deleted');
      const s = getSvc(h)!;
      assert.deepEqual(s.metadata?.finalizers ?? [], [], 'finalizer removed');
      assert.deepEqual(s.status?.loadBalancer?.ingress ?? [], [], 'ingress cleared');
      assert.equal(conditionOf(h), undefined, 'condition removed');
    }, 'the cleanup');
    await settled(h);
    assert.ok(h.events.events.some((e) => e.reason === 'DeletedDaemonSet' && e.message === `Deleted LoadBalancer DaemonSet ${LB_NS}/${DS}`));
    assert.equal(h.controller.stateOf('app/web'), undefined, 'a ClusterIP Service is not counted');
  });

  it('deletes a svclb DaemonSet that appears for a Service that no longer wants one', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web', { type: 'ClusterIP' }));
    await h.start();
    await settled(h);
    h.fake.put({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { namespace: LB_NS, name: DS, labels: { [names.nodeSelectorLabel]: 'false', [names.svcNameLabel]: 'web', [names.svcNamespaceLabel]: 'app' } },
      spec: {},
    } as KubeObject);
    await eventually(() => assert.equal(getDs(h), undefined), 'the DaemonSet deleted');
  });

  it('on deletion deletes the DaemonSet and removes the finalizer, so the Service goes away', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h) && getSvc(h)?.metadata?.finalizers?.includes(CLEANUP)), 'DaemonSet and finalizer');
    await h.fake.client.delete(Resources.Service, { namespace: 'app', name: 'web' });
    await eventually(() => {
      assert.equal(getSvc(h), undefined, 'Service gone');
      assert.equal(getDs(h), undefined, 'DaemonSet gone');
    }, 'the deletion');
  });

  // kind finding: deleting the namespace of an externalTrafficPolicy Local Service removes its pods and
  // EndpointSlices first; the Service then stayed Terminating (its cleanup waited for the
  // EndpointSlice cache, which had just been stopped because no live Local Service was left).
  it('cleans up a Local Service deleted after its endpoints, and one found already Terminating at startup', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web', { etp: 'Local' }), endpointSlice('app', 'web', [{ nodeName: 'n1', ready: true }]));
    await h.start();
    await eventually(() => assert.ok(getDs(h) && getSvc(h)?.metadata?.finalizers?.includes(CLEANUP)), 'DaemonSet and finalizer');
    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP']), 'the ingress');
    await h.fake.client.delete(Resources.EndpointSlice, { namespace: 'app', name: 'web-abc' });
    await eventually(() => assert.deepEqual(ingressOf(h), []), 'no ingress without endpoints');
    await h.fake.client.delete(Resources.Service, { namespace: 'app', name: 'web' });
    await eventually(() => {
      assert.equal(getSvc(h), undefined, 'Service gone');
      assert.equal(getDs(h), undefined, 'DaemonSet gone');
    }, 'the deletion of the Local Service');
    assert.equal(h.controller.caches.endpointSlicesRunning, false, 'no EndpointSlice watch left running');
    await h.stop();
    running.splice(running.indexOf(h), 1);

    // Restart case: the Service is already Terminating (finalizer held) when the controller starts.
    const fresh = track(harness());
    fresh.fake.put(
      node('n1', { internal: ['10.0.0.1'] }),
      service('app', 'web', { etp: 'Local', finalizers: [CLEANUP], deletionTimestamp: '2026-01-01T00:00:00Z' }),
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { namespace: LB_NS, name: DS, labels: { [names.nodeSelectorLabel]: 'false', [names.svcNameLabel]: 'web', [names.svcNamespaceLabel]: 'app' } }, spec: {} } as KubeObject,
    );
    await fresh.start();
    await eventually(() => {
      assert.equal(getDs(fresh), undefined, 'DaemonSet gone');
      assert.deepEqual(getSvc(fresh)?.metadata?.finalizers ?? [], [], 'finalizer removed');
    }, 'the cleanup after a restart');
  });

  it('never touches a Service with spec.loadBalancerClass, even when its EndpointSlices change', async () => {
    const h = track(harness());
    const status = { loadBalancer: { ingress: [{ ip: '192.0.2.50', ipMode: 'VIP' }] } };
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'other', { loadBalancerClass: 'example.com/metal', etp: 'Local', status }), endpointSlice('app', 'other', [{ nodeName: 'n1', ready: true }]));
    // A served Service on the side, so the controller is demonstrably working.
    h.fake.put(service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the served Service');
    h.fake.put(endpointSlice('app', 'other', [{ nodeName: 'n1', ready: false }]));
    h.fake.put(endpointSlice('app', 'other', [], 'other-xyz'));
    await settled(h);
    assert.deepEqual(writesTo(h, '/services/other'), []);
    const other = getSvc(h, 'app', 'other')!;
    assert.equal(other.metadata?.finalizers, undefined);
    assert.deepEqual(other.status, status);
    assert.equal(h.fake.list(Resources.DaemonSet, LB_NS).length, 1, 'only the served Service has a DaemonSet');
    assert.deepEqual(h.events.reasons('app/other'), []);
    assert.equal(h.controller.stateOf('app/other'), 'ignored');
  });

  it('removes the legacy finalizer from every Service at startup and deletes svclb DaemonSets whose Service is gone', async () => {
    const h = track(harness());
    const orphan = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { namespace: LB_NS, name: 'svclb-gone-12345678', labels: { [names.nodeSelectorLabel]: 'false', [names.svcNameLabel]: 'gone', [names.svcNamespaceLabel]: 'app' } },
      spec: {},
    };
    const unrelated = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { namespace: LB_NS, name: 'not-ours' }, spec: {} };
    h.fake.put(
      node('n1', { internal: ['10.0.0.1'] }),
      service('app', 'plain', { type: 'ClusterIP', finalizers: [names.legacyFinalizer, 'example.com/keep'] }),
      service('app', 'web', { finalizers: [names.legacyFinalizer] }),
      orphan as KubeObject,
      unrelated as KubeObject,
    );
    await h.start();
    await eventually(() => {
      assert.deepEqual(getSvc(h, 'app', 'plain')?.metadata?.finalizers, ['example.com/keep']);
      assert.deepEqual(getSvc(h)?.metadata?.finalizers, [CLEANUP]);
      assert.equal(getDs(h, 'svclb-gone-12345678'), undefined, 'orphan deleted');
    }, 'legacy finalizers removed and the orphan deleted');
    assert.ok(getDs(h, 'not-ours'), 'a DaemonSet without the ServiceLB labels is left alone');
    assert.ok(h.events.events.some((e) => e.object === 'app/gone' && e.reason === 'DeletedDaemonSet'));
  });

  it('reconciles even when the first namespace check fails, and ensures the namespace in the background', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    // The first try and the first background retry fail; the next background retry (after 0.5 s or more) succeeds.
    h.fake.failNext({ method: 'GET', path: new RegExp(`^/api/v1/namespaces/${LB_NS}$`), status: 403, times: 2 });
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    assert.equal(h.fake.get(Resources.Namespace, { name: LB_NS }), undefined, 'reconciling did not wait for the namespace');
    await eventually(() => {
      assert.ok(h.fake.get(Resources.Namespace, { name: LB_NS }), 'namespace');
      assert.ok(h.fake.get(Resources.ServiceAccount, { namespace: LB_NS, name: 'svclb' }), 'ServiceAccount');
    }, 'the namespace and ServiceAccount after the retries');
  });

  it('ensures the LB namespace and the svclb ServiceAccount at startup', async () => {
    const h = track(harness());
    await h.start();
    await eventually(() => {
      assert.ok(h.fake.get(Resources.Namespace, { name: LB_NS }), 'namespace');
      assert.ok(h.fake.get(Resources.ServiceAccount, { namespace: LB_NS, name: 'svclb' }), 'ServiceAccount');
    }, 'namespace and ServiceAccount');
  });
});

describe('ServiceLBController: problems are reported, last good state kept', () => {
  it('an invalid tolerations annotation gives an Event naming it and its value; the DaemonSet keeps its last good state', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    await settled(h);
    const before = getDs(h)!;
    const svc = getSvc(h)! as KubeObject;
    const bad = '[{"key": "", "operator": "Equal", "value": "x"}]';
    h.fake.put({ ...svc, metadata: { ...svc.metadata, annotations: { [names.tolerationsAnnotation]: bad } } });
    await eventually(() => assert.equal(conditionOf(h)?.reason, 'InvalidAnnotation'), 'the InvalidAnnotation condition');
    await settled(h);
    const ev = h.events.events.find((e) => e.reason === 'InvalidAnnotation');
    assert.ok(ev, 'an InvalidAnnotation event');
    assert.equal(ev.type, 'Warning');
    assert.ok(ev.message.includes(names.tolerationsAnnotation), ev.message);
    assert.ok(ev.message.includes(JSON.stringify(bad)), ev.message);
    assert.equal(getDs(h)!.metadata?.resourceVersion, before.metadata?.resourceVersion, 'DaemonSet untouched');
    assert.equal(h.controller.stateOf('app/web'), 'invalid');

    const fixed = getSvc(h)! as KubeObject;
    h.fake.put({ ...fixed, metadata: { ...fixed.metadata, annotations: { [names.tolerationsAnnotation]: '[{"key": "dedicated", "operator": "Exists"}]' } } });
    await eventually(() => assert.ok(getDs(h)!.spec?.template?.spec?.tolerations?.some((t) => t.key === 'dedicated')), 'the new toleration');
  });

  it('writes the Event of a new condition before the condition, so a leader killed in between cannot lose it', async () => {
    const h = track(harness());
    const svc = service('app', 'web') as KubeObject;
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), { ...svc, metadata: { ...svc.metadata, annotations: { [names.tolerationsAnnotation]: '[{"key": "", "operator": "Equal", "value": "x"}]' } } });
    // The condition as the API server had it when the Event was handed over, and when it was flushed.
    const order: string[] = [];
    const event = h.events.event.bind(h.events);
    const flush = h.events.flush.bind(h.events);
    h.events.event = (obj, type, reason, message) => {
      order.push(`${reason} (condition ${conditionOf(h)?.reason ?? 'none'})`);
      event(obj, type, reason, message);
    };
    h.events.flush = () => {
      order.push(`flush (condition ${conditionOf(h)?.reason ?? 'none'})`);
      return flush();
    };
    await h.start();
    await eventually(() => assert.equal(conditionOf(h)?.reason, 'InvalidAnnotation'), 'the InvalidAnnotation condition');
    await settled(h);
    assert.deepEqual(order.slice(0, 2), ['InvalidAnnotation (condition none)', 'flush (condition none)']);
  });

  it('a Service that fails validation gets a Warning InvalidService Event and one log line; its DaemonSet keeps its last good state', async () => {
    const lines: string[] = [];
    const log = createLogger({ app: 'test', level: 'warn', destination: { write: (l: string) => void lines.push(l) } as never });
    const h = track(harness({ log }));
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    await settled(h);
    const before = getDs(h)!;
    const svc = getSvc(h)! as KubeObject & { spec: { ports: object[] } };
    h.fake.put({ ...svc, spec: { ...svc.spec, ports: [{ ...svc.spec.ports[0], port: 'http' }] } } as KubeObject);
    await eventually(() => assert.equal(conditionOf(h)?.reason, 'InvalidService'), 'the InvalidService condition');
    await settled(h);
    const ev = h.events.events.filter((e) => e.reason === 'InvalidService');
    assert.equal(ev.length, 1, 'one InvalidService event');
    assert.equal(ev[0]!.type, 'Warning');
    assert.match(ev[0]!.message, /spec\.ports\[0\]\.port: invalid value "http": must be an integer between 1 and 65535, not a string; the DaemonSet lb-system\/svclb-web-\w+ from the last valid version is kept/);
    assert.equal(getDs(h)!.metadata?.resourceVersion, before.metadata?.resourceVersion, 'DaemonSet untouched');
    assert.equal(h.controller.stateOf('app/web'), 'invalid');
    const logged = lines.map((l) => JSON.parse(l) as { event?: string; msg?: string }).filter((l) => l.event === 'invalidService');
    assert.equal(logged.length, 1, lines.join(''));
    assert.match(logged[0]!.msg!, /spec\.ports\[0\]\.port/);
  });

  it('a hostPort taken on every eligible node gives a Warning Event and a False condition, not a silent Pending', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'first'), service('app', 'second'));
    // The first Service's pod holds hostPort 80 on the only node.
    h.fake.put(svclbPod('svclb-first-00000000', 'app', 'first', 'n1'));
    await h.start();
    await eventually(() => assert.equal(conditionOf(h, 'app', 'second')?.reason, 'NoEligibleNodes'), 'the NoEligibleNodes condition');
    assert.equal(conditionOf(h, 'app', 'second')?.status, 'False');
    await settled(h);
    const ev = h.events.events.find((e) => e.object === 'app/second' && e.reason === 'NoEligibleNodes');
    assert.ok(ev, 'a NoEligibleNodes event');
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message, /hostPort 80\/TCP/);
    assert.equal(h.controller.stateOf('app/second'), 'noEligibleNodes');
  });
});

describe('ServiceLBController: hostPorts held by other Services', () => {
  it('a holder pod that goes or comes re-evaluates the Services waiting for its port (not only its own Service)', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'first'), service('app', 'second'));
    const holder = svclbPod('svclb-first-00000000', 'app', 'first', 'n1');
    h.fake.put(holder);
    await h.start();
    await eventually(() => assert.equal(h.controller.stateOf('app/second'), 'noEligibleNodes'), 'second: noEligibleNodes');
    await settled(h);
    // The holder's pod goes (e.g. its DaemonSet rolls): the port is free, `second` may now run there.
    h.fake.remove(Resources.Pod, { namespace: LB_NS, name: holder.metadata!.name! });
    await eventually(() => assert.equal(h.controller.stateOf('app/second'), 'pending'), 'second: pending once the port is free');
    // The holder's pod comes back on the node: `second` has no node again.
    h.fake.put(svclbPod('svclb-first-00000000', 'app', 'first', 'n1'));
    await eventually(() => assert.equal(h.controller.stateOf('app/second'), 'noEligibleNodes'), 'second: noEligibleNodes again');
    await eventually(() => assert.equal(conditionOf(h, 'app', 'second')?.reason, 'NoEligibleNodes'), 'the stored condition follows');
  });
});

describe('ServiceLBController: drift and node changes', () => {
  it('re-creates a deleted DaemonSet and restores a hand-edited one', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    await settled(h);
    const image = getDs(h)!.spec?.template?.spec?.containers?.[0]?.image;
    h.fake.remove(Resources.DaemonSet, { namespace: LB_NS, name: DS });
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet re-created');
    await settled(h);
    const ds = getDs(h)! as KubeObject & DaemonSet;
    const edited = structuredClone(ds) as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } } & KubeObject;
    edited.spec.template.spec.containers[0]!.image = 'evil.example/other:1';
    h.fake.put(edited);
    await eventually(() => assert.equal(getDs(h)!.spec?.template?.spec?.containers?.[0]?.image, image), 'the image restored');
  });

  it('repairs a DaemonSet whose leftover fields another manager owns (a K3s DaemonSet after migration)', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    // What K3s left: same name, nodeSelector from allow-list mode that is no longer on.
    h.fake.put({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { namespace: LB_NS, name: DS, labels: { [names.nodeSelectorLabel]: 'true', [names.svcNameLabel]: 'web', [names.svcNamespaceLabel]: 'app' } },
      spec: { template: { spec: { nodeSelector: { [names.enableLbLabel]: 'true' }, containers: [{ name: 'lb-tcp-80', image: 'rancher/klipper-lb:v0.4.17' }] } } },
    } as KubeObject);
    await h.start();
    await eventually(() => {
      const ds = getDs(h)!;
      assert.equal(ds.spec?.template?.spec?.nodeSelector, undefined);
      assert.equal(ds.metadata?.labels?.[names.nodeSelectorLabel], 'false');
    }, 'the repaired DaemonSet');
  });

  it('refreshes the ingress when a node address changes and drops an excluded node (Portico fixes §10.8, §10.12)', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), node('n2', { internal: ['10.0.0.2'] }), service('app', 'web'));
    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'), svclbPod(DS, 'app', 'web', 'n2'));
    await h.start();
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP', '10.0.0.2/VIP']), 'both nodes');
    h.fake.put(node('n1', { internal: ['10.0.0.11'] }));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.2/VIP', '10.0.0.11/VIP']), 'the new address of n1');
    h.fake.put(node('n2', { internal: ['10.0.0.2'], labels: { [Kube.excludeFromExternalLBLabel]: 'true' } }));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.11/VIP']), 'n2 excluded');
    h.fake.put(node('n1', { internal: ['10.0.0.11'], external: ['198.51.100.1'] }));
    await eventually(() => assert.deepEqual(ingressOf(h), ['198.51.100.1/VIP']), 'the external IP of n1');
  });

  it('follows the enablelb allow-list and the lbpool label (both ways)', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web', { labels: { [names.lbPoolLabel]: 'blue' } }));
    await h.start();
    await eventually(() => assert.equal(getDs(h)?.spec?.template?.spec?.nodeSelector, undefined), 'no nodeSelector');
    h.fake.put(node('n1', { internal: ['10.0.0.1'], labels: { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'blue' } }));
    await eventually(
      () => assert.deepEqual(getDs(h)?.spec?.template?.spec?.nodeSelector, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'blue' }),
      'allow-list with the pool',
    );
    const svc = getSvc(h)! as KubeObject;
    h.fake.put({ ...svc, metadata: { ...svc.metadata, labels: { [names.lbPoolLabel]: 'green' } } });
    await eventually(() => assert.equal(getDs(h)?.spec?.template?.spec?.nodeSelector?.[names.lbPoolLabel], 'green'), 'the new pool');
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }));
    await eventually(() => assert.equal(getDs(h)?.spec?.template?.spec?.nodeSelector, undefined), 'allow-list off again');
  });

  it('watches EndpointSlices only while a served Service has externalTrafficPolicy Local, and lists only nodes with Ready endpoints', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), node('n2', { internal: ['10.0.0.2'] }), service('app', 'web'));
    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'), svclbPod(DS, 'app', 'web', 'n2'), endpointSlice('app', 'web', [{ nodeName: 'n2', ready: true }]));
    await h.start();
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP', '10.0.0.2/VIP']), 'Cluster policy: both nodes');
    assert.equal(h.controller.caches.endpointSlicesRunning, false);
    const svc = getSvc(h)! as KubeObject & Service;
    h.fake.put({ ...svc, spec: { ...svc.spec, externalTrafficPolicy: 'Local' } } as KubeObject);
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.2/VIP']), 'Local policy: the node with the endpoint');
    assert.equal(h.controller.caches.endpointSlicesRunning, true);
    h.fake.put(endpointSlice('app', 'web', [{ nodeName: 'n1', ready: true }, { nodeName: 'n2', ready: false }]));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP']), 'the endpoint moved');
    const local = getSvc(h)! as KubeObject & Service;
    h.fake.put({ ...local, spec: { ...local.spec, externalTrafficPolicy: 'Cluster' } } as KubeObject);
    await eventually(() => assert.equal(h.controller.caches.endpointSlicesRunning, false), 'the EndpointSlice watch stopped');
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP', '10.0.0.2/VIP']), 'Cluster policy again');
  });
});

describe('ServiceLBController: leadership and failures', () => {
  it('writes nothing while not leading (caches only)', async () => {
    const fake = new FakeKube();
    fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    const h = harness({ fake });
    h.controller.start();
    await h.controller.caches.waitForSync({ timeoutMs: 5000 });
    assert.deepEqual(h.controller.readiness(), { ready: true });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      fake.requests.filter((r) => r.method !== 'GET'),
      [],
    );
    await h.controller.stop();
  });

  it('retries a failed write with backoff and counts the error', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    h.fake.failNext({ method: 'PATCH', path: '/daemonsets/', status: 500, times: 2 });
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet after retries');
    const text = await h.registry.metrics();
    assert.match(text, /portico_servicelb_reconciles_total\{result="error"\} [1-9]/);
    const failed = h.events.events.filter((e) => e.reason === 'SyncLoadBalancerFailed');
    assert.ok(failed.length >= 1 && failed.every((e) => e.type === 'Warning' && e.object === 'app/web' && e.message.startsWith('Error syncing load balancer: ')), JSON.stringify(failed));
    assert.match(text, /portico_servicelb_api_writes_total\{verb="apply",resource="daemonsets",result="error"\} 2/);
  });
});

describe('ServiceLBController: no busy work', () => {
  const reconciles = async (h: Harness): Promise<number> => {
    const m = /portico_servicelb_reconciles_total\{result="success"\} (\d+)/.exec(await h.registry.metrics());
    return Number(m?.[1] ?? 0);
  };
  it('settles: its own writes and irrelevant pod or DaemonSet updates cause no further reconcile', async () => {
    const h = track(harness());
    h.fake.put(node('n1', { internal: ['10.0.0.1'] }), service('app', 'web'));
    await h.start();
    await eventually(() => assert.ok(getDs(h)), 'the DaemonSet');
    h.fake.put(svclbPod(DS, 'app', 'web', 'n1'));
    await eventually(() => assert.deepEqual(ingressOf(h), ['10.0.0.1/VIP']), 'the ingress');
    await settled(h);
    const before = await reconciles(h);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await reconciles(h), before, 'no reconcile loop on our own writes');
    const pod = h.fake.get<KubeObject>(Resources.Pod, { namespace: LB_NS, name: `${DS}-n1` })!;
    h.fake.put({ ...pod, metadata: { ...pod.metadata, annotations: { touched: 'yes' } } });
    const ds = getDs(h)! as KubeObject & { status?: object };
    h.fake.put({ ...ds, status: { numberReady: 1 } } as KubeObject);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await reconciles(h), before, 'pod annotation and DaemonSet status changes are ignored');
  });
});

describe('change filters and the DaemonSet comparison', () => {
  const n = (o: object): Node => o as Node;
  it('a svclb pod update matters for scheduling, podIP, phase, readiness, deletion and labels only', () => {
    const p = svclbPod(DS, 'app', 'web', 'n1') as KubeObject & { spec: { nodeName?: string }; status: { podIP?: string; phase?: string; conditions?: { type: string; status: string }[] } };
    const with_ = (f: (x: typeof p) => void): typeof p => {
      const c = structuredClone(p);
      f(c);
      return c;
    };
    assert.equal(podChangeMatters(p, with_((x) => (x.metadata!.annotations = { a: 'b' }))), false);
    assert.equal(podChangeMatters(p, with_((x) => (x.metadata!.resourceVersion = '77'))), false);
    assert.equal(podChangeMatters(p, with_((x) => (x.spec.nodeName = 'n2'))), true);
    assert.equal(podChangeMatters(p, with_((x) => (x.status.podIP = '10.42.9.9'))), true);
    assert.equal(podChangeMatters(p, with_((x) => (x.status.phase = 'Failed'))), true);
    assert.equal(podChangeMatters(p, with_((x) => (x.status.conditions = [{ type: 'Ready', status: 'False' }]))), true);
    assert.equal(podChangeMatters(p, with_((x) => (x.metadata!.deletionTimestamp = '2026-01-01T00:00:00Z'))), true);
  });

  it('a Node heartbeat does not matter; labels, taints, addresses and unschedulable do', () => {
    const base = n({ metadata: { name: 'a', resourceVersion: '1', labels: { x: '1' } }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } });
    assert.equal(nodeChangeMatters(base, n({ ...base, metadata: { ...base.metadata, resourceVersion: '2' } })), false);
    assert.equal(nodeChangeMatters(base, n({ ...base, metadata: { ...base.metadata, labels: { x: '2' } } })), true);
    assert.equal(nodeChangeMatters(base, n({ ...base, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } })), true);
    assert.equal(nodeChangeMatters(base, n({ ...base, spec: { unschedulable: true } })), true);
    assert.equal(nodeChangeMatters(base, n({ ...base, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.9' }] } })), true);
  });

  it('a Service update matters for LoadBalancer Services on spec, labels, status and finalizers, never for plain ClusterIP ones', () => {
    const lb = service('a', 'b') as Service;
    const cip = service('a', 'c', { type: 'ClusterIP' }) as Service;
    const bump = (s: Service): Service => ({ ...s, metadata: { ...s.metadata, resourceVersion: '9' } });
    assert.equal(serviceChangeMatters(lb, bump(lb), names), false);
    assert.equal(serviceChangeMatters(lb, { ...lb, metadata: { ...lb.metadata, labels: { [names.lbPoolLabel]: 'x' } } }, names), true);
    assert.equal(serviceChangeMatters(lb, { ...lb, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }, names), true);
    assert.equal(serviceChangeMatters(lb, { ...lb, metadata: { ...lb.metadata, finalizers: [CLEANUP] } }, names), true);
    assert.equal(serviceChangeMatters(lb, { ...lb, spec: { ...lb.spec, type: 'ClusterIP' } }, names), true);
    assert.equal(serviceChangeMatters(cip, { ...cip, metadata: { ...cip.metadata, labels: { a: 'b' } } }, names), false);
  });

  it('daemonSetDifference accepts API defaults but not leftovers that contradict the desired object', () => {
    const desired = { spec: { template: { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }], securityContext: {} } } } };
    const defaulted = { spec: { revisionHistoryLimit: 10, template: { spec: { dnsPolicy: 'ClusterFirst', containers: [{ name: 'a', env: [{ name: 'X', value: '1' }], resources: {} }], securityContext: {} } } } };
    assert.equal(daemonSetDifference(desired, defaulted), undefined);
    const extraContainer = structuredClone(defaulted);
    extraContainer.spec.template.spec.containers.push({ name: 'b', env: [], resources: {} });
    assert.equal(daemonSetDifference(desired, extraContainer), '.spec.template.spec.containers');
    const selector = structuredClone(defaulted) as typeof defaulted & { spec: { template: { spec: { nodeSelector?: object } } } };
    selector.spec.template.spec.nodeSelector = { a: 'b' };
    assert.equal(daemonSetDifference(desired, selector), '.spec.template.spec.nodeSelector');
    const sysctls = structuredClone(defaulted) as { spec: { template: { spec: { securityContext: object } } } };
    sysctls.spec.template.spec.securityContext = { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] };
    assert.equal(daemonSetDifference(desired, sysctls), '.spec.template.spec.securityContext.sysctls');
    const env = structuredClone(defaulted);
    env.spec.template.spec.containers[0]!.env[0]!.value = '2';
    assert.equal(daemonSetDifference(desired, env), '.spec.template.spec.containers[0].env[0].value');
  });
});
