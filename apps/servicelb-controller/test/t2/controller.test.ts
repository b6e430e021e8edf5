// T2: servicelb-controller as a real process against a real control plane (e2e/t2/up) with kwok
// nodes, running with a TokenRequest token of exactly the ServiceAccount that rbac.yaml grants.
// Run: T2_KEEP=1 bash tools/test/run-tier.sh t2 apps/servicelb-controller/test/t2/controller.test.ts
//
// Addresses: every node of this suite has InternalIP 10.<r>.0.<i> and ExternalIP 10.<r>.1.<i>
// (dual-stack nodes also fd00:<r>::<i> / fd00:<r>:1::<i>). Other suites' nodes may run svclb pods
// too (ServiceLB uses every eligible node of the cluster), so ingress checks look at this suite's
// addresses (`mine`) unless the Service is restricted to this suite's nodes.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { ForbiddenError, ListWatch, Resources, createKubeClient, isNotFound, type KubeObject } from '@portico/kube';
import { Kube, programNames } from '@portico/labels';
import { ControllerProcess, Suite, sleep, waitFor } from './fixture.ts';

const names = programNames();
const CONDITION = 'portico.io/LoadBalancerReady';
const FIELD_MANAGER = 'portico-servicelb';

interface Svc extends KubeObject {
  spec?: Record<string, unknown> & { ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[]; clusterIPs?: string[] };
  status?: {
    loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}
interface Ds extends KubeObject {
  spec?: {
    template?: {
      spec?: {
        containers?: { name: string; image: string; ports?: { hostPort?: number; containerPort?: number; protocol?: string }[]; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }[] }[];
        nodeSelector?: Record<string, string>;
        tolerations?: { key?: string; operator?: string }[];
        priorityClassName?: string;
        serviceAccountName?: string;
        securityContext?: { sysctls?: { name: string; value: string }[] };
        initContainers?: { name: string; image: string; args?: string[]; securityContext?: { privileged?: boolean } }[];
      };
    };
  };
}
interface Pod extends KubeObject {
  spec?: { nodeName?: string; containers?: { ports?: { hostPort?: number; protocol?: string }[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface Ev extends KubeObject {
  reason?: string;
  type?: string;
  message?: string;
  count?: number;
  source?: { component?: string };
  involvedObject?: { name?: string };
}

let suite: Suite;
let ctl: ControllerProcess;
const procs: ControllerProcess[] = [];
let nodes: { a1: string; a2: string; x1: string };
let nextPort = 20_000 + Math.floor(Math.random() * 20_000);
const port = (): number => nextPort++;

/** What the test's own watches saw, with times (performance.now()). */
const seen = {
  podReady: new Map<string, number>(), // `${dsName}/${node}` -> first time a Ready pod was observed
  ingress: new Map<string, number>(), // `${svc}/${ip}` -> first time the ip was observed in the ingress
  ingressEver: new Map<string, Set<string>>(), // svc -> every ip ever observed
};
let podWatch: ListWatch<Pod>;
let svcWatch: ListWatch<Svc>;

const isReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function failWithLogs(err: unknown): never {
  const logs = procs.map((p) => `--- ${p.logFile}\n${p.tail(30)}`).join('\n');
  throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
}

async function getSvc(name: string): Promise<Svc | undefined> {
  try {
    return await suite.admin.get<Svc>(Resources.Service, { namespace: suite.ns.app, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function getDs(name: string): Promise<Ds | undefined> {
  try {
    return await suite.admin.get<Ds>(Resources.DaemonSet, { namespace: suite.ns.lb, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const dsNameOf = (svc: Svc): string => `svclb-${svc.metadata!.name}-${svc.metadata!.uid!.slice(0, 8)}`;
const ingressIPs = (svc: Svc | undefined): string[] => (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '');
const mineOf = (svc: Svc | undefined): string[] => ingressIPs(svc).filter((ip) => suite.mine(ip));
const conditionOf = (svc: Svc | undefined) => svc?.status?.conditions?.find((c) => c.type === CONDITION);

async function createService(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<Svc> {
  return suite.admin.create<Svc>(Resources.Service, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: suite.ns.app, ...metadata },
    spec: { type: 'LoadBalancer', ...spec },
  });
}

const patchSvc = (name: string, patch: unknown): Promise<Svc> => suite.admin.patch<Svc>(Resources.Service, { namespace: suite.ns.app, name }, patch, { type: 'merge' });

async function podsOf(dsName: string): Promise<Pod[]> {
  const list = await suite.admin.list<Pod>(Resources.Pod, { namespace: suite.ns.lb, labelSelector: `app=${dsName}` });
  return list.items;
}

/** Events the controller recorded on a Service (component service-lb-controller). */
async function eventsOf(name: string): Promise<Ev[]> {
  const list = await suite.admin.list<Ev>(Resources.Event, { namespace: suite.ns.app, fieldSelector: `involvedObject.name=${name}` });
  return list.items.filter((e) => e.source?.component === 'service-lb-controller');
}

/** Waits until the DaemonSet's pods on `onNodes` are Ready (and none runs on `notOn`). */
async function waitPodsReady(dsName: string, onNodes: string[], what: string, check?: (p: Pod) => void): Promise<void> {
  await waitFor(async () => {
    const pods = await podsOf(dsName);
    for (const n of onNodes) {
      const p = pods.find((x) => x.spec?.nodeName === n && !x.metadata?.deletionTimestamp);
      assert.ok(p, `no pod on ${n}`);
      assert.ok(isReady(p), `pod on ${n} not Ready`);
      check?.(p);
    }
  }, what);
}

/** A fresh namespace with a backend pod on a1 and one LoadBalancer Service per policy (named after it, lower case), all served. */
async function servedNamespace(namespace: string, policies: ('Local' | 'Cluster')[]): Promise<Svc[]> {
  await suite.admin.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'portico.io/test': suite.prefix } } } as KubeObject);
  const app = `${namespace}-backend`;
  await suite.admin.create(Resources.Pod, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'backend', namespace, labels: { app } },
    spec: { nodeName: nodes.a1, containers: [{ name: 'web', image: 'example.invalid/backend:1' }] },
  } as KubeObject);
  const svcs: Svc[] = [];
  for (const policy of policies) {
    svcs.push(
      await suite.admin.create<Svc>(Resources.Service, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: policy.toLowerCase(), namespace },
        spec: { type: 'LoadBalancer', externalTrafficPolicy: policy, selector: { app }, ports: [{ name: 'http', port: port(), targetPort: 8080 }] },
      } as KubeObject),
    );
  }
  await waitFor(async () => {
    for (const s of svcs) {
      const live = await suite.admin.get<Svc>(Resources.Service, { namespace, name: s.metadata!.name! });
      if (live.spec?.['externalTrafficPolicy'] === 'Local') assert.deepEqual(ingressIPs(live), [suite.ip4(1, true)], 'Local: only a1 (the endpoint node)');
      else assert.ok(mineOf(live).length > 0, 'Cluster: an ingress');
      assert.ok(await getDs(dsNameOf(s)), `${dsNameOf(s)} exists`);
    }
  }, `the Services of ${namespace} served`);
  return svcs;
}

/** Waits (60 s: the namespace controller backs off while content remains) until the namespace, its Services and their DaemonSets are gone. */
async function waitNamespaceCleanedUp(namespace: string, svcs: Svc[]): Promise<void> {
  await waitFor(
    async () => {
      for (const s of svcs) assert.equal(await getDs(dsNameOf(s)), undefined, `${dsNameOf(s)} still there`);
      const left = (await suite.admin.list<Svc>(Resources.Service, { namespace })).items;
      assert.deepEqual(left.map((s) => `${s.metadata!.name} finalizers=${JSON.stringify(s.metadata?.finalizers ?? [])}`), [], 'Services left');
      await assert.rejects(suite.admin.get(Resources.Namespace, { name: namespace }), (err: unknown) => isNotFound(err), 'namespace still there');
    },
    `the namespace ${namespace}, its Services and their DaemonSets gone`,
    60_000,
  );
}

/** After a failure: never leave a namespace stuck Terminating for the next run. */
async function unstick(namespace: string): Promise<void> {
  const left = await suite.admin.list<Svc>(Resources.Service, { namespace }).catch(() => ({ items: [] as Svc[] }));
  for (const s of left.items) await suite.admin.patch(Resources.Service, { namespace, name: s.metadata!.name! }, { metadata: { finalizers: null } }, { type: 'merge' }).catch(() => undefined);
  await suite.admin.delete(Resources.Namespace, { name: namespace }).catch(() => undefined);
}

describe('servicelb-controller on T2 (kwok nodes, ServiceAccount token)', () => {
  beforeAll(async () => {
    suite = await Suite.create('slb');
    const [a1, a2, x1] = await suite.addNodes([
      { name: 'a1', host: 1, dualStack: true },
      { name: 'a2', host: 2, dualStack: true },
      { name: 'x1', host: 3, labels: { [Kube.excludeFromExternalLBLabel]: 'true' } },
    ]);
    nodes = { a1: a1!, a2: a2!, x1: x1! };
    podWatch = new ListWatch<Pod>(suite.admin, Resources.Pod, { namespace: suite.ns.lb });
    podWatch.onChange((ev) => {
      const p = ev.object;
      if (ev.type === 'delete' || !isReady(p) || !p.spec?.nodeName) return;
      const key = `${p.metadata?.labels?.['app']}/${p.spec.nodeName}`;
      if (!seen.podReady.has(key)) seen.podReady.set(key, performance.now());
    });
    svcWatch = new ListWatch<Svc>(suite.admin, Resources.Service, { namespace: suite.ns.app });
    svcWatch.onChange((ev) => {
      if (ev.type === 'delete') return;
      const name = ev.object.metadata!.name!;
      const ever = seen.ingressEver.get(name) ?? new Set<string>();
      seen.ingressEver.set(name, ever);
      for (const ip of ingressIPs(ev.object)) {
        ever.add(ip);
        if (!seen.ingress.has(`${name}/${ip}`)) seen.ingress.set(`${name}/${ip}`, performance.now());
      }
    });
    podWatch.start();
    svcWatch.start();
    await Promise.all([podWatch.waitForSync({ timeoutMs: 30_000 }), svcWatch.waitForSync({ timeoutMs: 30_000 })]);
    ctl = await suite.startController({ identity: 'first' });
    procs.push(ctl);
    await ctl.ready();
    await waitFor(async () => assert.equal(await ctl.metric('portico_servicelb_leader'), 1), 'the controller to lead');
  });

  afterAll(async () => {
    await podWatch?.stop();
    await svcWatch?.stop();
    await suite?.cleanup();
  });

  it('creates the DaemonSet, runs svclb pods on the eligible nodes and publishes their addresses with ipMode VIP', async () => {
    try {
      const p = port();
      const svc = await createService('web', { ports: [{ name: 'http', port: p, targetPort: 8080 }] });
      const ds = dsNameOf(svc);
      const d = await waitFor(async () => {
        const x = await getDs(ds);
        assert.ok(x);
        return x;
      }, 'the DaemonSet');
      assert.equal(d.metadata?.labels?.[names.svcNameLabel], 'web');
      assert.equal(d.metadata?.labels?.[names.svcNamespaceLabel], suite.ns.app);
      assert.equal(d.metadata?.labels?.[names.nodeSelectorLabel], 'false');
      assert.ok(d.metadata?.managedFields?.some((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply'), 'applied by portico-servicelb');
      const pod = d.spec!.template!.spec!;
      assert.equal(pod.serviceAccountName, 'svclb');
      assert.equal(pod.priorityClassName, 'system-node-critical');
      // Default --forwarding-mode=init-container: no pod sysctls (a default kubelet refuses them).
      assert.equal(pod.securityContext?.sysctls, undefined);
      assert.deepEqual(
        pod.initContainers?.map((c) => [c.name, c.args, c.securityContext?.privileged]),
        [['enable-forwarding', ['enable-forwarding', '--families', 'IPv4'], true]],
      );
      assert.equal(pod.nodeSelector, undefined);
      assert.deepEqual(
        pod.containers!.map((c) => [c.name, c.ports?.[0]?.hostPort, c.ports?.[0]?.protocol]),
        [[`lb-tcp-${p}`, p, 'TCP']],
      );
      const env = Object.fromEntries(pod.containers![0]!.env!.map((e) => [e.name, e.value]));
      assert.deepEqual(Object.keys(env), ['SRC_PORT', 'SRC_RANGES', 'DEST_PROTO', 'DEST_PORT', 'DEST_IPS']);
      assert.deepEqual(env, { SRC_PORT: String(p), SRC_RANGES: '0.0.0.0/0', DEST_PROTO: 'TCP', DEST_PORT: String(p), DEST_IPS: svc.spec!.clusterIPs!.join(',') });
      assert.ok(pod.containers![0]!.image.startsWith('ghcr.io/portico/lb-forwarder:'));

      await waitPodsReady(ds, [nodes.a1, nodes.a2], 'svclb pods Ready on a1 and a2');
      const want = [suite.ip4(1, true), suite.ip4(2, true)];
      const got = await waitFor(async () => {
        const s = await getSvc('web');
        assert.deepEqual(mineOf(s), want);
        return s!;
      }, 'the ingress of a1 and a2');
      assert.ok(got.status!.loadBalancer!.ingress!.every((i) => i.ipMode === 'VIP'), JSON.stringify(got.status));
      assert.deepEqual(got.metadata?.finalizers, [Kube.loadBalancerCleanupFinalizer]);
      assert.equal(conditionOf(got)?.status, 'True');
      assert.ok(!(await podsOf(ds)).some((x) => x.spec?.nodeName === nodes.x1), 'no svclb pod on the excluded node');

      const latencies = [1, 2].map((h, i) => {
        const node = i === 0 ? nodes.a1 : nodes.a2;
        const ready = seen.podReady.get(`${ds}/${node}`);
        const published = seen.ingress.get(`web/${suite.ip4(h, true)}`);
        assert.ok(ready !== undefined && published !== undefined, `observed both times for ${node}`);
        return published - ready;
      });
      // Reported, not asserted: the "< 1 s" target is measured by bench/servicelb/ingress-latency.ts
      // (docs/benchmarks.md); a time bound here fails on a loaded machine for no fault of the code.
      console.log(`# pods Ready -> ingress set (as seen by the test's watches): ${latencies.map((l) => `${l.toFixed(0)} ms`).join(', ')}`);
      const events = await waitFor(async () => {
        const e = await eventsOf('web');
        assert.ok(e.some((x) => x.reason === 'UpdatedLoadBalancer'));
        return e;
      }, 'the UpdatedLoadBalancer event');
      assert.ok(events.some((e) => e.reason === 'AppliedDaemonSet' && e.message === `Applied LoadBalancer DaemonSet ${suite.ns.lb}/${ds}`));
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('never lists the exclude-from-external-load-balancers node and runs no svclb pod on it', async () => {
    const svc = (await getSvc('web'))!;
    const ds = dsNameOf(svc);
    assert.ok(!(await podsOf(ds)).some((x) => x.spec?.nodeName === nodes.x1));
    const ever = seen.ingressEver.get('web') ?? new Set();
    assert.ok(ever.size > 0, 'the test saw the ingress');
    for (const ip of [suite.ip4(3), suite.ip4(3, true)]) assert.ok(!ever.has(ip), `${ip} (the excluded node) was listed`);
  });

  it('converges when the ports change (TCP and UDP on a new port)', async () => {
    try {
      const p = port();
      const svc = await createService('ports', { ports: [{ name: 'a', port: p, targetPort: 80 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('ports')), [suite.ip4(1, true), suite.ip4(2, true)]), 'first ingress');
      const q = port();
      await patchSvc('ports', { spec: { ports: [{ name: 'tcp', port: q, protocol: 'TCP', targetPort: 53 }, { name: 'udp', port: q, protocol: 'UDP', targetPort: 53 }] } });
      await waitFor(async () => {
        const d = await getDs(ds);
        assert.deepEqual(
          d?.spec?.template?.spec?.containers?.map((c) => [c.name, c.ports?.[0]?.hostPort, c.ports?.[0]?.protocol]),
          [
            [`lb-tcp-${q}`, q, 'TCP'],
            [`lb-udp-${q}`, q, 'UDP'],
          ],
        );
      }, 'the DaemonSet with the new ports');
      await waitPodsReady(ds, [nodes.a1, nodes.a2], 'pods with the new ports', (pod) => {
        assert.deepEqual(pod.spec?.containers?.map((c) => c.ports?.[0]?.hostPort), [q, q]);
      });
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('ports')), [suite.ip4(1, true), suite.ip4(2, true)]), 'ingress after the port change');
    } catch (err) {
      failWithLogs(err);
    }
  });

  // kind finding 1: deleting the namespace of an externalTrafficPolicy Local Service (its pods and
  // EndpointSlices go first) left it Terminating with the cleanup finalizer and its DaemonSet running,
  // and a restarted controller did not clean it up either. The bug needs the deleted Service to be the
  // only Local one (the EndpointSlice watch then stops), so these run before the suite's Local test.
  it('namespace deletion: a Local and a Cluster Service both lose their finalizer and DaemonSet, and the namespace goes', async () => {
    const doomed = `${suite.prefix}-doomed`;
    try {
      const [local, cluster] = await servedNamespace(doomed, ['Local', 'Cluster']);
      await suite.admin.delete(Resources.Namespace, { name: doomed });
      await waitNamespaceCleanedUp(doomed, [local!, cluster!]);
    } catch (err) {
      await unstick(doomed);
      failWithLogs(err);
    }
  });

  it('namespace deletion while the controller is down: the restarted controller cleans up the Terminating Local Service', async () => {
    const doomed = `${suite.prefix}-doomed2`;
    try {
      const [local] = await servedNamespace(doomed, ['Local']);
      assert.equal(await ctl.stop('SIGTERM'), 0, 'clean exit on SIGTERM');
      await suite.admin.delete(Resources.Namespace, { name: doomed });
      // The namespace controller deletes the pod and the EndpointSlices; the Service stays (finalizer).
      await waitFor(async () => {
        const svc = await suite.admin.get<Svc>(Resources.Service, { namespace: doomed, name: 'local' });
        assert.ok(svc.metadata?.deletionTimestamp, 'the Service is Terminating');
        assert.deepEqual((await suite.admin.list(Resources.Pod, { namespace: doomed })).items, [], 'pods left');
        assert.deepEqual((await suite.admin.list(Resources.EndpointSlice, { namespace: doomed })).items, [], 'EndpointSlices left');
      }, 'the Service Terminating, its pod and EndpointSlices gone');
      ctl = await suite.startController({ identity: 'after-namespace-deletion' });
      procs.push(ctl);
      await ctl.ready();
      await waitNamespaceCleanedUp(doomed, [local!]);
    } catch (err) {
      await unstick(doomed);
      failWithLogs(err);
    }
  });

  it('converges on externalTrafficPolicy Local: only nodes with a Ready endpoint are listed', async () => {
    try {
      const app = `${suite.prefix}-backend`;
      const p = port();
      const svc = await createService('local', { selector: { app }, ports: [{ name: 'http', port: p, targetPort: 8080 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('local')), [suite.ip4(1, true), suite.ip4(2, true)]), 'Cluster policy: both nodes');
      await suite.admin.create(Resources.Pod, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'backend', namespace: suite.ns.app, labels: { app } },
        spec: { nodeName: nodes.a2, containers: [{ name: 'web', image: 'example.invalid/backend:1' }] },
      } as KubeObject);
      const patched = await patchSvc('local', { spec: { externalTrafficPolicy: 'Local' } });
      const nodePort = patched.spec!.ports![0]!.nodePort!;
      await waitFor(async () => {
        const env = (await getDs(ds))?.spec?.template?.spec?.containers?.[0]?.env ?? [];
        assert.equal(env.find((e) => e.name === 'DEST_PORT')?.value, String(nodePort));
        assert.equal(env.find((e) => e.name === 'DEST_IPS')?.valueFrom?.fieldRef?.fieldPath, 'status.hostIPs');
      }, 'the Local DaemonSet');
      await waitFor(async () => assert.deepEqual(ingressIPs(await getSvc('local')), [suite.ip4(2, true)]), 'Local policy: only a2 (the endpoint node)');
      await suite.admin.delete(Resources.Pod, { namespace: suite.ns.app, name: 'backend' });
      await waitFor(async () => {
        const s = await getSvc('local');
        assert.deepEqual(ingressIPs(s), []);
        assert.equal(conditionOf(s)?.reason, 'NoLocalEndpoints');
      }, 'no endpoint: empty ingress, NoLocalEndpoints');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('converges when the Service becomes dual-stack (ipFamilies / ipFamilyPolicy)', async () => {
    try {
      const p = port();
      const svc = await createService('dual', { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: p, targetPort: 80 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('dual')), [suite.ip4(1, true), suite.ip4(2, true)]), 'IPv4 ingress');
      const dual = await patchSvc('dual', { spec: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] } });
      assert.equal(dual.spec!.clusterIPs!.length, 2, 'the cluster allocated an IPv6 ClusterIP');
      await waitFor(async () => {
        const spec = (await getDs(ds))?.spec?.template?.spec;
        assert.deepEqual(spec?.initContainers?.[0]?.args, ['enable-forwarding', '--families', 'IPv4,IPv6']);
        const env = Object.fromEntries((spec?.containers?.[0]?.env ?? []).map((e) => [e.name, e.value]));
        assert.equal(env['DEST_IPS'], dual.spec!.clusterIPs!.join(','));
        assert.equal(env['SRC_RANGES'], '0.0.0.0/0,::/0');
      }, 'the dual-stack DaemonSet');
      await waitFor(
        async () => assert.deepEqual(mineOf(await getSvc('dual')), [suite.ip4(1, true), suite.ip4(2, true), suite.ip6(1, true), suite.ip6(2, true)]),
        'dual-stack ingress, IPv4 first',
      );
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('follows the enablelb and lbpool labels of nodes and the Service (allow-list mode on and off)', async () => {
    const blue = `blue-${suite.prefix}`;
    const green = `green-${suite.prefix}`;
    try {
      const p = port();
      const svc = await createService('pool', { ports: [{ name: 'http', port: p, targetPort: 80 }] }, { labels: { [names.lbPoolLabel]: blue } });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('pool')), [suite.ip4(1, true), suite.ip4(2, true)]), 'no allow-list: both nodes');
      await suite.labelNode(nodes.a1, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: blue });
      await suite.labelNode(nodes.a2, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: green });
      await waitFor(async () => {
        const d = await getDs(ds);
        assert.deepEqual(d?.spec?.template?.spec?.nodeSelector, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: blue });
        assert.equal(d?.metadata?.labels?.[names.nodeSelectorLabel], 'true');
      }, 'allow-list DaemonSet in pool blue');
      await waitFor(async () => assert.deepEqual(ingressIPs(await getSvc('pool')), [suite.ip4(1, true)]), 'only a1 (pool blue)');
      await patchSvc('pool', { metadata: { labels: { [names.lbPoolLabel]: green } } });
      await waitFor(async () => assert.deepEqual(ingressIPs(await getSvc('pool')), [suite.ip4(2, true)]), 'only a2 after the Service moved to pool green');
      await suite.labelNode(nodes.a1, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
      await suite.labelNode(nodes.a2, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
      await waitFor(async () => assert.equal((await getDs(ds))?.spec?.template?.spec?.nodeSelector, undefined), 'allow-list off: no nodeSelector');
      await waitFor(async () => assert.deepEqual(mineOf(await getSvc('pool')), [suite.ip4(1, true), suite.ip4(2, true)]), 'both nodes again');
    } catch (err) {
      failWithLogs(err);
    } finally {
      await suite.labelNode(nodes.a1, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
      await suite.labelNode(nodes.a2, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
    }
  });

  it('reports a hostPort taken on every eligible node with a Warning Event and a False condition (not a silent Pending)', async () => {
    const red = `red-${suite.prefix}`;
    try {
      await suite.labelNode(nodes.a1, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: red });
      await suite.labelNode(nodes.a2, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: red });
      const p = port();
      const holder = await createService('holder', { ports: [{ name: 'http', port: p, targetPort: 80 }] }, { labels: { [names.lbPoolLabel]: red } });
      await waitPodsReady(dsNameOf(holder), [nodes.a1, nodes.a2], 'the holder pods');
      await createService('clash', { ports: [{ name: 'http', port: p, targetPort: 80 }] }, { labels: { [names.lbPoolLabel]: red } });
      const cond = await waitFor(async () => {
        const c = conditionOf(await getSvc('clash'));
        assert.equal(c?.reason, 'NoEligibleNodes');
        return c!;
      }, 'the NoEligibleNodes condition');
      assert.equal(cond.status, 'False');
      assert.match(cond.message, new RegExp(`hostPort ${p}/TCP`));
      const ev = await waitFor(async () => {
        const e = (await eventsOf('clash')).find((x) => x.reason === 'NoEligibleNodes');
        assert.ok(e);
        return e;
      }, 'the NoEligibleNodes event');
      assert.equal(ev.type, 'Warning');
      assert.match(ev.message ?? '', new RegExp(`hostPort ${p}/TCP`));
      assert.deepEqual(ingressIPs(await getSvc('clash')), []);
    } catch (err) {
      failWithLogs(err);
    } finally {
      await suite.labelNode(nodes.a1, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
      await suite.labelNode(nodes.a2, { [names.enableLbLabel]: null, [names.lbPoolLabel]: null });
    }
  });

  it('an invalid tolerations annotation gives an Event naming it and its value; the DaemonSet keeps its last good state', async () => {
    try {
      const p = port();
      const svc = await createService('tol', { ports: [{ name: 'http', port: p, targetPort: 80 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.ok((await podsOf(ds)).some(isReady)), 'a Ready pod');
      const good = (await getDs(ds))!;
      const bad = '[{"key": "", "operator": "Equal", "value": "x"}]';
      await patchSvc('tol', { metadata: { annotations: { [names.tolerationsAnnotation]: bad } } });
      const ev = await waitFor(async () => {
        const e = (await eventsOf('tol')).find((x) => x.reason === 'InvalidAnnotation');
        assert.ok(e);
        return e;
      }, 'the InvalidAnnotation event');
      assert.equal(ev.type, 'Warning');
      assert.ok(ev.message?.includes(names.tolerationsAnnotation), ev.message);
      assert.ok(ev.message?.includes(JSON.stringify(bad)), ev.message);
      assert.equal(conditionOf(await getSvc('tol'))?.reason, 'InvalidAnnotation');
      await sleep(1000);
      assert.equal((await getDs(ds))?.metadata?.generation, good.metadata?.generation, 'DaemonSet spec untouched');
      assert.ok(mineOf(await getSvc('tol')).length > 0, 'the ingress keeps following the running pods');
      await patchSvc('tol', { metadata: { annotations: { [names.tolerationsAnnotation]: '[{"key": "dedicated", "operator": "Exists"}]' } } });
      await waitFor(async () => assert.ok((await getDs(ds))?.spec?.template?.spec?.tolerations?.some((t) => t.key === 'dedicated')), 'the fixed annotation applied');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('never touches a Service with spec.loadBalancerClass, even when its EndpointSlices change', async () => {
    try {
      const app = `${suite.prefix}-classy`;
      await createService('classy', { loadBalancerClass: 'example.com/other-lb', externalTrafficPolicy: 'Local', selector: { app }, ports: [{ name: 'http', port: port(), targetPort: 80 }] });
      const otherStatus = { loadBalancer: { ingress: [{ ip: '192.0.2.77', ipMode: 'VIP' }] } };
      await suite.admin.patch(Resources.Service, { namespace: suite.ns.app, name: 'classy' }, { status: otherStatus }, { type: 'merge', subresource: 'status', fieldManager: 'other-lb' });
      // Endpoints come and go: a backend pod on a1, then gone.
      await suite.admin.create(Resources.Pod, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'classy-backend', namespace: suite.ns.app, labels: { app } },
        spec: { nodeName: nodes.a1, containers: [{ name: 'web', image: 'example.invalid/backend:1' }] },
      } as KubeObject);
      await waitFor(async () => {
        const slices = await suite.admin.list<KubeObject & { endpoints?: { conditions?: { ready?: boolean } }[] }>(Resources.EndpointSlice, {
          namespace: suite.ns.app,
          labelSelector: `${Kube.serviceNameLabel}=classy`,
        });
        assert.ok(slices.items.some((s) => s.endpoints?.some((e) => e.conditions?.ready === true)));
      }, 'a Ready endpoint');
      await suite.admin.delete(Resources.Pod, { namespace: suite.ns.app, name: 'classy-backend' });
      // A served Service created afterwards converging shows the controller processed everything before it.
      const witness = await createService('witness', { ports: [{ name: 'http', port: port(), targetPort: 80 }] });
      await waitFor(async () => assert.ok(await getDs(dsNameOf(witness))), 'the witness DaemonSet');
      await sleep(1000);
      const s = (await getSvc('classy'))!;
      assert.deepEqual(s.status, otherStatus);
      assert.equal(s.metadata?.finalizers, undefined);
      assert.ok(!s.metadata?.managedFields?.some((m) => m.manager === FIELD_MANAGER), 'no field owned by portico-servicelb');
      const dss = await suite.admin.list<Ds>(Resources.DaemonSet, { namespace: suite.ns.lb, labelSelector: `${names.svcNameLabel}=classy` });
      assert.deepEqual(dss.items, []);
      assert.deepEqual(await eventsOf('classy'), []);
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('on deletion deletes the DaemonSet and removes the finalizer, so the Service goes away', async () => {
    try {
      const svc = await createService('gone', { ports: [{ name: 'http', port: port(), targetPort: 80 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => {
        assert.ok(await getDs(ds));
        assert.ok((await getSvc('gone'))?.metadata?.finalizers?.includes(Kube.loadBalancerCleanupFinalizer));
      }, 'DaemonSet and finalizer');
      await suite.admin.delete(Resources.Service, { namespace: suite.ns.app, name: 'gone' });
      await waitFor(async () => {
        assert.equal(await getSvc('gone'), undefined, 'Service still there');
        assert.equal(await getDs(ds), undefined, 'DaemonSet still there');
      }, 'the Service and its DaemonSet gone');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('on a type change to ClusterIP deletes the DaemonSet, clears the status and removes the finalizer', async () => {
    try {
      const svc = await createService('retype', { ports: [{ name: 'http', port: port(), targetPort: 80 }] });
      const ds = dsNameOf(svc);
      await waitFor(async () => assert.ok(mineOf(await getSvc('retype')).length > 0), 'an ingress');
      await patchSvc('retype', { spec: { type: 'ClusterIP', externalTrafficPolicy: null } });
      await waitFor(async () => {
        const s = await getSvc('retype');
        assert.equal(await getDs(ds), undefined, 'DaemonSet');
        assert.deepEqual(s?.metadata?.finalizers ?? [], [], 'finalizer');
        assert.deepEqual(s?.status?.loadBalancer?.ingress ?? [], [], 'ingress');
        assert.equal(conditionOf(s), undefined, 'condition');
      }, 'the cleanup');
      assert.ok((await eventsOf('retype')).some((e) => e.reason === 'DeletedDaemonSet'));
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('after a restart nothing is lost and nothing changes (same resourceVersions, no new Events)', async () => {
    try {
      await sleep(1500); // let the previous tests' last writes land
      const snapshot = async () => {
        const dss = await suite.admin.list<Ds>(Resources.DaemonSet, { namespace: suite.ns.lb });
        const svcs = await suite.admin.list<Svc>(Resources.Service, { namespace: suite.ns.app });
        const evs = await suite.admin.list<Ev>(Resources.Event, { namespace: suite.ns.app });
        return {
          daemonSets: Object.fromEntries(dss.items.map((d) => [d.metadata!.name!, d.metadata!.generation])),
          dsVersions: Object.fromEntries(dss.items.map((d) => [d.metadata!.name!, d.metadata!.resourceVersion])),
          services: Object.fromEntries(svcs.items.map((s) => [s.metadata!.name!, s.metadata!.resourceVersion])),
          events: Object.fromEntries(evs.items.filter((e) => e.source?.component === 'service-lb-controller').map((e) => [e.metadata!.name!, e.count])),
        };
      };
      const before = await snapshot();
      assert.equal(await ctl.stop('SIGTERM'), 0, 'clean exit on SIGTERM');
      ctl = await suite.startController({ identity: 'restarted' });
      procs.push(ctl);
      await ctl.ready();
      await waitFor(async () => assert.equal(await ctl.metric('portico_servicelb_leader'), 1), 'the restarted controller leads');
      await waitFor(async () => {
        assert.ok(((await ctl.metric('portico_servicelb_reconciles_total', 'result="success"')) ?? 0) >= Object.keys(before.services).length - 1);
        assert.equal(await ctl.metric('portico_servicelb_queue_depth'), 0);
      }, 'the restarted controller went through every Service');
      await sleep(2000);
      const afterRestart = await snapshot();
      assert.deepEqual(afterRestart.daemonSets, before.daemonSets, 'no DaemonSet lost, created or changed');
      assert.deepEqual(afterRestart.dsVersions, before.dsVersions, 'DaemonSet resourceVersions unchanged');
      assert.deepEqual(afterRestart.services, before.services, 'Service resourceVersions unchanged');
      assert.deepEqual(afterRestart.events, before.events, 'no new or repeated Event');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('leader failover: killing the leader lets the standby take over within the lease duration and reconcile a new Service', async () => {
    try {
      const standby = await suite.startController({ identity: 'standby' });
      procs.push(standby);
      await standby.ready();
      assert.equal(await standby.metric('portico_servicelb_leader'), 0, 'the standby does not lead');
      const lease = await suite.admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: suite.ns.ctl, name: suite.leaseName });
      assert.equal(lease.spec?.holderIdentity, 'restarted');
      const killedAt = performance.now();
      await ctl.stop('SIGKILL');
      const svc = await createService('after-failover', { ports: [{ name: 'http', port: port(), targetPort: 80 }] });
      await waitFor(
        async () => {
          const l = await suite.admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: suite.ns.ctl, name: suite.leaseName });
          assert.equal(l.spec?.holderIdentity, 'standby');
        },
        'the standby to hold the Lease',
        30_000,
        50,
      );
      const tookOver = performance.now() - killedAt;
      await waitFor(async () => assert.ok(await getDs(dsNameOf(svc))), 'the new Service reconciled by the standby', 30_000, 50);
      const reconciled = performance.now() - killedAt;
      console.log(`# leader killed -> standby holds the Lease: ${tookOver.toFixed(0)} ms; -> new Service's DaemonSet created: ${reconciled.toFixed(0)} ms (lease duration 3 s, retry period 0.5 s)`);
      // Correctness (the standby took over and reconciled, each within a generous 30 s wait), not
      // speed: the standby judges the Lease expired 3 s after the last change it saw and polls every
      // 0.5-1.1 s, so about 3-5 s is expected; the numbers are reported above.
      ctl = standby;
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('--forwarding-mode=sysctls rewrites every DaemonSet to K3s\'s form (pod sysctls, no init container), and back', async () => {
    try {
      const web = (await suite.admin.list<Ds>(Resources.DaemonSet, { namespace: suite.ns.lb, labelSelector: `${names.svcNameLabel}=web` })).items[0]!;
      const name = web.metadata!.name!;
      const restart = async (identity: string, extra: string[]): Promise<void> => {
        assert.equal(await ctl.stop('SIGTERM'), 0);
        ctl = await suite.startController({ identity, extraArgs: extra });
        procs.push(ctl);
        await ctl.ready();
      };
      await restart('sysctls', ['--forwarding-mode', 'sysctls']);
      await waitFor(async () => {
        const spec = (await getDs(name))?.spec?.template?.spec;
        assert.deepEqual(spec?.securityContext?.sysctls, [{ name: 'net.ipv4.ip_forward', value: '1' }]);
        assert.equal(spec?.initContainers, undefined);
      }, 'the K3s form', 20_000);
      await restart('init-again', []);
      await waitFor(async () => {
        const spec = (await getDs(name))?.spec?.template?.spec;
        assert.equal(spec?.securityContext?.sysctls, undefined);
        assert.deepEqual(spec?.initContainers?.map((c) => c.name), ['enable-forwarding']);
      }, 'the init-container form', 20_000);
      await waitFor(async () => assert.ok(mineOf(await getSvc('web')).length > 0), 'the ingress of web after the rollout');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('RBAC: the controller works with only its ServiceAccount, which can do nothing beyond rbac.yaml', async () => {
    const sa = await createKubeClient({ kubeconfig: suite.kubeconfig, env: {} });
    try {
      await assert.rejects(sa.list(Resources.Secret, { namespace: suite.ns.app }), ForbiddenError, 'secrets are not readable');
      await assert.rejects(sa.delete(Resources.Service, { namespace: suite.ns.app, name: 'web' }), ForbiddenError, 'Services cannot be deleted');
      await assert.rejects(sa.list(Resources.DaemonSet, { namespace: suite.ns.app }), ForbiddenError, 'DaemonSets outside the LB namespace are not visible');
      await assert.rejects(
        sa.apply({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'other-lease', namespace: suite.ns.ctl } } as KubeObject, { fieldManager: 'x' }),
        ForbiddenError,
        'no other Lease can be written',
      );
      // Every process of this suite ran with this kubeconfig and never met a 403.
      for (const p of procs) {
        const forbidden = p.logLines().filter((l) => JSON.stringify(l).includes('"status":403'));
        assert.deepEqual(forbidden, [], `${p.logFile} has 403 answers`);
        assert.ok(p.proc.spawnargs.includes(suite.kubeconfig));
      }
    } finally {
      sa.close();
    }
  });
});
