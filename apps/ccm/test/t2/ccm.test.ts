// T2: ccm as a real process (dist/apps/ccm/main.js) against a real control plane (e2e/t2/up), with
// a TokenRequest token of exactly the ServiceAccount apps/ccm/rbac.yaml grants (renamed into this
// suite). Run: T2_KEEP=1 T2_PORT_OFFSET=<n> bash tools/test/run-tier.sh t2 apps/ccm/test/t2/ccm.test.ts
//
// Nodes that ccm initializes are plain Node objects created here (not kwok-managed, so nothing else
// writes their addresses), tainted node.cloudprovider.kubernetes.io/uninitialized as a kubelet with
// --cloud-provider=external registers them. The hosted-ServiceLB checks use kwok nodes from
// e2e/t2/add-nodes, which run svclb pods. Every name carries the suite prefix `ccmt2-<5 chars>`.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { createKubeClient, isNotFound, Resources, type KubeObject, type LoadedKubeClient } from '@portico/kube';
import { buildApp, canI, delay, eventually, FAST_LEADER_ARGS, freeLocalPort, loadRbac, LoggedProcess, randomName, REPO, requireT2Kubeconfig, serviceAccountKubeconfig } from '@portico/testing';

const exec = promisify(execFile);
const TAINT = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' };

interface Node extends KubeObject {
  spec?: { providerID?: string; taints?: { key: string; value?: string; effect: string }[] };
  status?: { addresses?: { type: string; address: string }[] };
}
interface Ev extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  source?: { component?: string };
  involvedObject?: { kind?: string; name?: string };
}
interface Svc extends KubeObject {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

const s = randomName();
const prefix = `ccmt2-${s}`;
const r = 101 + Math.floor(Math.random() * 99); // addresses 10.<r>.x.y of this suite's nodes
const ns = { ctl: `${prefix}-ctl`, lb: `${prefix}-lb`, app: `${prefix}-app` };
const nodeLease = `${prefix}-ccm`;
const slbLease = `${prefix}-slb`;
const SA = 'portico-ccm';
const logDir = join(REPO, '.cache/test-results/ccm-t2', prefix);
let admin: LoadedKubeClient;
let saKubeconfig = '';
const clusterScoped: { res: typeof Resources.ClusterRole; name: string }[] = [];
const createdNodes: string[] = [];
const procs: LoggedProcess[] = [];

function failWithLogs(err: unknown): never {
  const logs = procs.map((p) => `--- ${p.logFile}\n${p.tail(25)}`).join('\n');
  throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
}

/** apps/ccm/rbac.yaml renamed into this suite: its namespaces, Lease names and cluster-scoped names. */
function rbacObjects(): KubeObject[] {
  const objs = loadRbac('apps/ccm/rbac.yaml');
  for (const o of objs) {
    const meta = o.metadata!;
    const servicelbRole = o.kind === 'Role' || o.kind === 'RoleBinding' ? meta.name!.endsWith('-servicelb') : false;
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') meta.name = `${meta.name}-${prefix}`;
    if (meta.namespace) meta.namespace = servicelbRole ? ns.lb : ns.ctl;
    const roleRef = o['roleRef'] as { kind: string; name: string } | undefined;
    if (roleRef?.kind === 'ClusterRole') roleRef.name = `${roleRef.name}-${prefix}`;
    for (const subj of (o['subjects'] as { namespace?: string }[] | undefined) ?? []) subj.namespace = ns.ctl;
    for (const rule of (o['rules'] as { resources: string[]; resourceNames?: string[] }[] | undefined) ?? []) {
      if (!rule.resourceNames) continue;
      if (rule.resources.includes('namespaces')) rule.resourceNames = [ns.lb];
      if (rule.resources.includes('leases')) rule.resourceNames = [nodeLease, slbLease];
    }
  }
  return objs;
}

async function startCcm(identity: string, extra: string[] = []): Promise<LoggedProcess> {
  const main = await buildApp('ccm');
  const port = await freeLocalPort();
  const args = [
    main,
    'run',
    '--kubeconfig',
    saKubeconfig,
    '--lb-namespace',
    ns.lb,
    '--leader-elect-namespace',
    ns.ctl,
    '--lease-name',
    nodeLease,
    '--servicelb-lease-name',
    slbLease,
    '--leader-elect-identity',
    identity,
    ...FAST_LEADER_ARGS,
    '--metrics-addr',
    `127.0.0.1:${port}`,
    '--log-level',
    'debug',
    ...extra,
  ];
  const p = new LoggedProcess(process.execPath, args, { logFile: join(logDir, `ccm-${identity}-${Date.now()}.log`), port, cwd: REPO });
  procs.push(p);
  return p;
}

/** A Node as a kubelet with --cloud-provider=external registers it (tainted, no providerID). */
async function createNode(suffix: string, o: { annotations?: Record<string, string>; labels?: Record<string, string>; addresses?: { type: string; address: string }[]; providerID?: string } = {}): Promise<string> {
  const name = `${prefix}-${suffix}`;
  const created = await admin.create<Node>(Resources.Node, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: o.annotations ?? {}, labels: { 'kubernetes.io/hostname': name, 'portico.io/test': prefix, ...o.labels } },
    spec: { taints: [TAINT], ...(o.providerID ? { providerID: o.providerID } : {}) },
    // A kubelet registers its Node with the addresses it knows (kept by the API server on create).
    ...(o.addresses ? { status: { addresses: o.addresses } } : {}),
  } as Node);
  createdNodes.push(name);
  return created.metadata!.name!;
}

const getNode = (name: string): Promise<Node> => admin.get<Node>(Resources.Node, { name });
const hasTaint = (n: Node): boolean => (n.spec?.taints ?? []).some((t) => t.key === TAINT.key);

async function nodeEvents(name: string): Promise<Ev[]> {
  const list = await admin.list<Ev>(Resources.Event, { namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

/** Waits until `name` is initialized; returns the ms it took from `since`. */
async function waitInitialized(name: string, since: number, timeoutMs = 30_000): Promise<number> {
  await eventually(async () => assert.equal(hasTaint(await getNode(name)), false, 'still tainted'), `${name} initialized`, timeoutMs, 50);
  return Date.now() - since;
}

beforeAll(async () => {
  const kc = requireT2Kubeconfig();
  mkdirSync(logDir, { recursive: true });
  admin = await createKubeClient({ kubeconfig: kc, env: {} });
  for (const name of Object.values(ns)) {
    await admin.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'portico.io/test': prefix } } });
  }
  for (const o of rbacObjects()) {
    await admin.apply(o, { fieldManager: 'portico-t2-test', force: true });
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') clusterScoped.push({ res: o.kind === 'ClusterRole' ? Resources.ClusterRole : Resources.ClusterRoleBinding, name: o.metadata!.name! });
  }
  saKubeconfig = await serviceAccountKubeconfig(admin, kc, ns.ctl, SA, join(logDir, 'ccm.kubeconfig'));
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGTERM').catch(() => undefined);
  const quiet = async (f: () => Promise<unknown>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      if (!isNotFound(err)) console.error(`cleanup of ${prefix}:`, err);
    }
  };
  for (const name of createdNodes) await quiet(() => admin.delete(Resources.Node, { name }));
  await quiet(async () => {
    for (const svc of (await admin.list<KubeObject>(Resources.Service, { namespace: ns.app })).items) {
      if ((svc.metadata?.finalizers ?? []).length > 0) await quiet(() => admin.patch(Resources.Service, { namespace: ns.app, name: svc.metadata!.name! }, { metadata: { finalizers: null } }, { type: 'merge' }));
    }
  });
  for (const name of Object.values(ns)) await quiet(() => admin.delete(Resources.Namespace, { name }));
  for (const c of clusterScoped) await quiet(() => admin.delete(c.res, { name: c.name }));
  admin?.close();
});

describe('ccm RBAC (apps/ccm/rbac.yaml through a real ServiceAccount token)', () => {
  it('kubectl auth can-i: everything ccm needs is allowed', async () => {
    const allowed: string[][] = [
      ['list', 'nodes'],
      ['watch', 'nodes'],
      ['update', 'nodes'],
      ['patch', 'nodes', '--subresource=status'],
      ['create', 'events', '-n', 'default'],
      ['patch', 'events', '-n', ns.app],
      ['create', 'leases.coordination.k8s.io', '-n', ns.ctl],
      ['get', `leases.coordination.k8s.io/${nodeLease}`, '-n', ns.ctl],
      ['update', `leases.coordination.k8s.io/${slbLease}`, '-n', ns.ctl],
      ['list', 'services', '-A'],
      ['patch', 'services'],
      ['patch', 'services', '--subresource=status'],
      ['list', 'endpointslices.discovery.k8s.io', '-A'],
      ['get', `namespaces/${ns.lb}`],
      ['patch', 'daemonsets.apps', '-n', ns.lb],
      ['delete', 'daemonsets.apps', '-n', ns.lb],
      ['list', 'pods', '-n', ns.lb],
      ['get', 'serviceaccounts/svclb', '-n', ns.lb],
    ];
    for (const a of allowed) assert.equal(await canI(saKubeconfig, ...a), true, `should be allowed: ${a.join(' ')}`);
  });

  it('kubectl auth can-i: nothing more', async () => {
    const denied: string[][] = [
      ['delete', 'nodes'],
      ['create', 'nodes'],
      ['patch', 'nodes'],
      ['get', 'nodes'],
      ['get', 'secrets', '-n', ns.ctl],
      ['list', 'secrets', '-A'],
      ['get', 'configmaps', '-n', 'kube-system'],
      ['update', 'leases.coordination.k8s.io/other-lease', '-n', ns.ctl],
      ['get', `leases.coordination.k8s.io/${nodeLease}`, '-n', ns.app],
      ['delete', 'leases.coordination.k8s.io', '-n', ns.ctl],
      ['update', 'services'],
      ['delete', 'services', '-n', ns.app],
      ['create', 'daemonsets.apps', '-n', ns.app],
      ['list', 'pods', '-n', ns.app],
      ['get', 'namespaces/default'],
      ['delete', 'namespaces'],
      ['create', 'pods', '-n', ns.lb],
      ['delete', 'events', '-n', 'default'],
    ];
    for (const d of denied) assert.equal(await canI(saKubeconfig, ...d), false, `should be denied: ${d.join(' ')}`);
  });
});

describe('ccm: node initialization, addresses, ServiceLB hosted and disabled, failover', () => {
  let a: LoggedProcess;
  let b: LoggedProcess;

  it('with --disable servicelb: initializes a tainted K3s node (addresses, providerID, labels, no taint, Synced) and runs no ServiceLB', async () => {
    try {
      a = await startCcm('a', ['--disable', 'servicelb']);
      await a.ready();
      await eventually(async () => assert.equal(await a.metric('portico_ccm_leader'), 1), 'a leads node initialization');
      const t0 = Date.now();
      const name = await createNode('k3s', {
        annotations: { 'k3s.io/internal-ip': `10.${r}.0.1,fd00:${r}::1`, 'k3s.io/external-ip': `10.${r}.1.1`, 'k3s.io/hostname': `${prefix}-k3s` },
        labels: { 'topology.kubernetes.io/zone': 'zone-a' },
      });
      // Correctness only (30 s wait): no time bound on this loaded machine; the latency is reported.
      const took = await waitInitialized(name, t0);
      console.log(`ccm T2: a tainted node with K3s annotations was initialized ${took} ms after its creation`);
      const n = await getNode(name);
      assert.equal(n.spec?.providerID, `k3s://${name}`);
      assert.deepEqual(n.status?.addresses, [
        { type: 'InternalIP', address: `10.${r}.0.1` },
        { type: 'InternalIP', address: `fd00:${r}::1` },
        { type: 'ExternalIP', address: `10.${r}.1.1` },
        { type: 'Hostname', address: `${prefix}-k3s` },
      ]);
      const labels = n.metadata?.labels ?? {};
      assert.deepEqual(
        [labels['node.kubernetes.io/instance-type'], labels['beta.kubernetes.io/instance-type'], labels['failure-domain.beta.kubernetes.io/zone']],
        ['k3s', 'k3s', 'zone-a'],
      );
      await eventually(async () => {
        const ev = (await nodeEvents(name)).find((e) => e.reason === 'Synced');
        assert.ok(ev, 'no Synced event');
        assert.equal(ev.type, 'Normal');
        assert.equal(ev.message, 'Node synced successfully');
        assert.equal(ev.source?.component, 'cloud-node-controller');
      }, 'the Synced Event');
      const metrics = (await a.http('/metrics')).body;
      assert.match(metrics, /portico_ccm_node_initializations_total [1-9]/);
      assert.ok(!metrics.includes('portico_servicelb_'), 'no ServiceLB metrics when disabled');
      // ServiceLB is off: its Lease is never taken, a LoadBalancer Service gets nothing.
      await admin.create(Resources.Service, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns.app, name: 'web' }, spec: { type: 'LoadBalancer', ports: [{ port: 18080 + (r % 100), protocol: 'TCP' }] } });
      await delay(3000);
      assert.equal((await admin.list(Resources.DaemonSet, { namespace: ns.lb })).items.length, 0);
      await assert.rejects(admin.get(Resources.Lease, { namespace: ns.ctl, name: slbLease }), (err: unknown) => isNotFound(err));
      const svc = await admin.get<KubeObject>(Resources.Service, { namespace: ns.app, name: 'web' });
      assert.deepEqual(svc.metadata?.finalizers ?? [], []);
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('annotation changes propagate to status.addresses at once', async () => {
    try {
      const name = `${prefix}-k3s`;
      const t0 = Date.now();
      await admin.patch(Resources.Node, { name }, { metadata: { annotations: { 'k3s.io/external-ip': `10.${r}.1.9`, 'k3s.io/internal-dns': 'k3s.lan' } } }, { type: 'merge' });
      await eventually(async () => {
        const got = (await getNode(name)).status?.addresses?.map((x) => `${x.type}=${x.address}`);
        assert.deepEqual(got, [`InternalIP=10.${r}.0.1`, `InternalIP=fd00:${r}::1`, `ExternalIP=10.${r}.1.9`, 'InternalDNS=k3s.lan', `Hostname=${prefix}-k3s`]);
      }, 'addresses refreshed', 10_000, 50);
      console.log(`ccm T2: an annotation change reached status.addresses in ${Date.now() - t0} ms`);
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('any cluster: a node with only the kubelet provided-node-ip annotation (kubeadm, kind) is initialized', async () => {
    try {
      const t0 = Date.now();
      const name = await createNode('plain', {
        annotations: { 'alpha.kubernetes.io/provided-node-ip': `10.${r}.0.2` },
        addresses: [{ type: 'Hostname', address: `${prefix}-plain` }],
      });
      await waitInitialized(name, t0);
      const n = await getNode(name);
      assert.equal(n.spec?.providerID, `k3s://${name}`);
      assert.deepEqual(n.status?.addresses, [{ type: 'InternalIP', address: `10.${r}.0.2` }, { type: 'Hostname', address: `${prefix}-plain` }]);
    } catch (err) {
      failWithLogs(err);
    }
  });

  // kind finding 2: a kind node (kubelet --provider-id, --cloud-provider=external) arrives with its
  // provider ID set. As upstream's cloud-node controller, the provider ID is kept and the
  // instance-type labels are set all the same (K3s's InstanceMetadata returns the type regardless).
  it('a node that arrives with a provider ID keeps it and still gets the instance-type labels and zone pair', async () => {
    try {
      const providerID = `kind://docker/${prefix}/worker3`;
      const name = await createNode('kind', {
        annotations: { 'alpha.kubernetes.io/provided-node-ip': `10.${r}.0.5` },
        addresses: [{ type: 'InternalIP', address: `10.${r}.0.5` }, { type: 'Hostname', address: `${prefix}-kind` }],
        labels: { 'topology.kubernetes.io/zone': 'zone-k' },
        providerID,
      });
      await waitInitialized(name, Date.now());
      const n = await getNode(name);
      assert.equal(n.spec?.providerID, providerID);
      const labels = n.metadata?.labels ?? {};
      assert.deepEqual(
        [labels['node.kubernetes.io/instance-type'], labels['beta.kubernetes.io/instance-type'], labels['topology.kubernetes.io/zone'], labels['failure-domain.beta.kubernetes.io/zone']],
        ['k3s', 'k3s', 'zone-k', 'zone-k'],
      );
      await eventually(async () => assert.ok((await nodeEvents(name)).some((e) => e.reason === 'Synced')), 'the Synced Event');
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('a node with no usable address stays tainted with a Warning naming what is missing, and is initialized once an address appears', async () => {
    try {
      const name = await createNode('bare', { annotations: { 'k3s.io/internal-ip': 'not-an-ip' } });
      await eventually(async () => {
        const evs = await nodeEvents(name);
        const warn = evs.find((e) => e.reason === 'NoUsableAddress');
        assert.ok(warn, `no NoUsableAddress event (have ${evs.map((e) => e.reason).join(', ')})`);
        assert.equal(warn.type, 'Warning');
        assert.match(warn.message ?? '', /no valid k3s\.io\/internal-ip annotation or label, no valid alpha\.kubernetes\.io\/provided-node-ip annotation, and no InternalIP or ExternalIP/);
        const bad = evs.find((e) => e.reason === 'InvalidAnnotation');
        assert.ok(bad, 'no InvalidAnnotation event');
        assert.match(bad.message ?? '', /k3s\.io\/internal-ip value "not-an-ip"/);
      }, 'the Warning Events');
      await delay(2000);
      const n = await getNode(name);
      assert.equal(hasTaint(n), true, 'still tainted');
      assert.equal(n.spec?.providerID, undefined);
      assert.ok(a.running, 'no crash');
      assert.ok((await a.metric('portico_ccm_nodes', 'state="waiting"'))! >= 1);
      const t0 = Date.now();
      await admin.patch(Resources.Node, { name }, { metadata: { annotations: { 'k3s.io/internal-ip': `10.${r}.0.3` } } }, { type: 'merge' });
      await waitInitialized(name, t0);
      assert.deepEqual((await getNode(name)).status?.addresses, [{ type: 'InternalIP', address: `10.${r}.0.3` }]);
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('ServiceLB hosted: a second replica without --disable runs ServiceLB under the ServiceLB Lease; the Service gets its DaemonSet and ingress', async () => {
    try {
      await a.stop('SIGTERM');
      const kwok = await addKwokNode('w1', 11);
      b = await startCcm('b');
      await b.ready();
      await eventually(async () => assert.equal(await b.metric('portico_servicelb_leader'), 1), 'b leads ServiceLB');
      await eventually(async () => {
        const dss = (await admin.list<KubeObject>(Resources.DaemonSet, { namespace: ns.lb })).items;
        assert.equal(dss.length, 1);
        assert.match(dss[0]!.metadata!.name!, /^svclb-web-/);
      }, 'the svclb DaemonSet', 20_000);
      await eventually(async () => {
        const svc = await admin.get<Svc>(Resources.Service, { namespace: ns.app, name: 'web' });
        assert.ok((svc.status?.loadBalancer?.ingress ?? []).some((i) => i.ip === `10.${r}.1.11`), JSON.stringify(svc.status));
      }, `the ingress of ${kwok}`, 30_000);
      const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: ns.ctl, name: slbLease });
      assert.equal(lease.spec?.holderIdentity, 'b');
      const metrics = (await b.http('/metrics')).body;
      assert.match(metrics, /portico_ccm_leader 1/);
      assert.match(metrics, /portico_servicelb_reconciles_total\{result="success"\} [1-9]/);
    } catch (err) {
      failWithLogs(err);
    }
  });

  it('failover between two ccm replicas loses nothing: work created while the leader is dead is done by the standby', async () => {
    try {
      const c = await startCcm('c');
      await c.ready();
      assert.equal(await c.metric('portico_ccm_leader'), 0, 'c is a standby');
      assert.equal(await c.metric('portico_servicelb_leader'), 0, 'c is a standby for ServiceLB too');
      // The leader dies without releasing its Leases.
      await b.stop('SIGKILL');
      const t0 = Date.now();
      const name = await createNode('during-failover', { annotations: { 'k3s.io/internal-ip': `10.${r}.0.4` } });
      await admin.create(Resources.Service, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns.app, name: 'late' }, spec: { type: 'LoadBalancer', ports: [{ port: 19080 + (r % 100), protocol: 'TCP' }] } });
      const took = await waitInitialized(name, t0, 20_000);
      console.log(`ccm T2: after SIGKILL of the leader the standby initialized a new node ${took} ms later (lease 3s)`);
      await eventually(async () => {
        const dss = (await admin.list<KubeObject>(Resources.DaemonSet, { namespace: ns.lb })).items.map((d) => d.metadata!.name!);
        assert.ok(dss.some((d) => d.startsWith('svclb-late-')), dss.join(','));
        assert.ok(dss.some((d) => d.startsWith('svclb-web-')), 'the earlier DaemonSet is still there');
      }, 'the DaemonSet of the Service created during the failover', 20_000);
      for (const l of [nodeLease, slbLease]) {
        const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: ns.ctl, name: l });
        assert.equal(lease.spec?.holderIdentity, 'c', l);
      }
      // Nothing initialized before was undone.
      for (const n of [`${prefix}-k3s`, `${prefix}-plain`, `${prefix}-bare`]) assert.equal(hasTaint(await getNode(n)), false, n);
      // A graceful stop releases both Leases at once.
      await c.stop('SIGTERM');
      for (const l of [nodeLease, slbLease]) {
        const lease = await admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, { namespace: ns.ctl, name: l });
        assert.equal(lease.spec?.holderIdentity ?? '', '', `${l} released`);
      }
    } catch (err) {
      failWithLogs(err);
    }
  });
});

/** A kwok node of this suite (InternalIP 10.<r>.0.<host>, ExternalIP 10.<r>.1.<host>) that runs pods. */
async function addKwokNode(suffix: string, host: number): Promise<string> {
  const name = `${prefix}-${suffix}`;
  const { stdout } = await exec(join(REPO, 'e2e/t2/add-nodes'), ['--count', '1', '--prefix', name, '--timeout', '60', '--internal-ip', `10.${r}.0.${host}`, '--external-ip', `10.${r}.1.${host}`], {
    cwd: REPO,
    env: { ...process.env },
  });
  const created = stdout.trim().split('\n').filter(Boolean);
  assert.equal(created.length, 1, `add-nodes printed ${stdout}`);
  createdNodes.push(created[0]!);
  return created[0]!;
}
