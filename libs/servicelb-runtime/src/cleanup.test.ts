import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { microTime, Resources, type KubeObject, type Lease } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { createLogger, runProgram } from '@portico/service-kit';
import { cleanupCommand, cleanupFlags, cleanupServiceLB, type CleanupOptions } from './cleanup.ts';
import { FIELD_MANAGER } from './config.ts';

const log = createLogger({ app: 'test', level: 'silent' });
const LB = 'kube-system';
const SVCNAME = 'svccontroller.k3s.cattle.io/svcname';
const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const LEGACY = 'svccontroller.k3s.cattle.io/daemonset';
const READY = 'portico.io/LoadBalancerReady';

function daemonSet(name: string, ns: string, labels: Record<string, string>): KubeObject & { spec?: unknown } {
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name, namespace: ns, labels }, spec: {} };
}

function service(name: string, o: { finalizers?: string[]; lbClass?: string; type?: string } = {}): KubeObject & { spec?: unknown; status?: unknown } {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'apps', ...(o.finalizers ? { finalizers: o.finalizers } : {}) },
    spec: { type: o.type ?? 'LoadBalancer', ...(o.lbClass ? { loadBalancerClass: o.lbClass } : {}), ports: [{ port: 80 }] },
    status: {
      loadBalancer: { ingress: [{ ip: '172.18.0.3', ipMode: 'VIP' }] },
      conditions: [{ type: READY, status: 'True', reason: 'Ready', message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  };
}

/** A cluster where ServiceLB served three Services (one being deleted) and another LB one. */
function cluster(): FakeKube {
  const fake = new FakeKube();
  fake.put(
    daemonSet('svclb-web-1234abcd', LB, { [SVCNAME]: 'web', app: 'svclb-web-1234abcd' }),
    daemonSet('svclb-old-5678abcd', LB, { [SVCNAME]: 'old' }),
    daemonSet('kube-proxy', LB, { 'k8s-app': 'kube-proxy' }),
    daemonSet('svclb-elsewhere', 'other', { [SVCNAME]: 'x' }),
    service('web', { finalizers: [FINALIZER] }),
    service('legacy', { finalizers: [LEGACY, 'example.com/keep'] }),
    service('metallb', { finalizers: [FINALIZER], lbClass: 'metallb.io/metallb' }),
    service('plain', { type: 'ClusterIP' }),
    service('going', { finalizers: [FINALIZER] }),
  );
  return fake;
}

function opts(fake: FakeKube, extra: Partial<CleanupOptions> = {}): CleanupOptions {
  return { client: fake.client, log, program: 'k3s', lbNamespace: LB, deleteDaemonSets: true, fieldManager: FIELD_MANAGER, timeoutMs: 5000, ...extra };
}

const names = async (fake: FakeKube, ns: string): Promise<string[]> => (await fake.client.list(Resources.DaemonSet, { namespace: ns })).items.map((d) => d.metadata!.name!).sort();
const svc = (fake: FakeKube, name: string) => fake.client.get<KubeObject & { status?: { loadBalancer?: { ingress?: unknown[] }; conditions?: { type: string }[] } }>(Resources.Service, { namespace: 'apps', name });

describe('ServiceLB cleanup (servicelb-controller cleanup, the chart\'s post-delete hook)', () => {
  it('deletes the svclb DaemonSets of the LB namespace only, clears status and finalizers of the Services ServiceLB served, and lets a deleting one go', async () => {
    const fake = cluster();
    await fake.client.delete(Resources.Service, { namespace: 'apps', name: 'going' }); // held by the finalizer
    const r = await cleanupServiceLB(opts(fake));
    assert.deepEqual([...r.daemonSetsDeleted].sort(), [`${LB}/svclb-old-5678abcd`, `${LB}/svclb-web-1234abcd`]);
    assert.deepEqual(await names(fake, LB), ['kube-proxy']);
    assert.deepEqual(await names(fake, 'other'), ['svclb-elsewhere'], 'other namespaces are not ServiceLB\'s');
    assert.deepEqual([...r.servicesReleased].sort(), ['apps/going', 'apps/legacy', 'apps/web']);

    const web = await svc(fake, 'web');
    assert.equal(web.metadata?.finalizers, undefined);
    assert.deepEqual(web.status?.loadBalancer?.ingress ?? [], []);
    assert.deepEqual((web.status?.conditions ?? []).filter((c) => c.type === READY), []);
    const legacy = await svc(fake, 'legacy');
    assert.deepEqual(legacy.metadata?.finalizers, ['example.com/keep'], 'only ServiceLB\'s finalizers go');
    const metallb = await svc(fake, 'metallb');
    assert.deepEqual(metallb.metadata?.finalizers, [FINALIZER], 'a Service of another load balancer (loadBalancerClass) is not touched');
    assert.equal((metallb.status?.loadBalancer?.ingress ?? []).length, 1);
    await assert.rejects(svc(fake, 'going'), /not found/i, 'the Service being deleted is gone once the finalizer is removed');

    const again = await cleanupServiceLB(opts(fake));
    assert.deepEqual(again, { daemonSetsDeleted: [], servicesReleased: [] }, 'idempotent');
  });

  it('--delete-daemonsets=false leaves the DaemonSets to the namespace deletion and still releases the Services', async () => {
    const fake = cluster();
    const r = await cleanupServiceLB(opts(fake, { deleteDaemonSets: false }));
    assert.deepEqual(r.daemonSetsDeleted, []);
    assert.equal((await names(fake, LB)).length, 3);
    assert.equal((await svc(fake, 'web')).metadata?.finalizers, undefined);
  });

  const lease = { namespace: 'kube-system', name: 'portico-servicelb-controller', identity: 'cleanup-1', leaseDurationMs: 600, renewDeadlineMs: 400, retryPeriodMs: 50 };
  const leaseObj = (holder: string, renewedAt: number): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: lease.name, namespace: lease.namespace },
    spec: { holderIdentity: holder, leaseDurationSeconds: 1, renewTime: microTime(renewedAt), acquireTime: microTime(renewedAt) },
  });

  it('waits for the ServiceLB Lease, cleans up while holding it, then releases it', async () => {
    const fake = cluster();
    fake.put(leaseObj('', Date.now()));
    const r = await cleanupServiceLB(opts(fake, { lease }));
    assert.equal(r.servicesReleased.length, 3);
    const l = await fake.client.get<Lease>(Resources.Lease, { namespace: lease.namespace, name: lease.name });
    assert.equal(l.spec?.holderIdentity ?? '', '', 'released after the cleanup');
    assert.ok((l.spec?.leaseTransitions ?? 0) >= 1, 'it was acquired');
  });

  it('a controller that keeps renewing the Lease blocks the cleanup: it fails after the timeout, naming the holder, and changed nothing', async () => {
    const fake = cluster();
    fake.put(leaseObj('servicelb-controller-abc', Date.now()));
    let renewing = true;
    const renew = (async () => {
      while (renewing) {
        const l = await fake.client.get<Lease>(Resources.Lease, { namespace: lease.namespace, name: lease.name });
        await fake.client.replace(Resources.Lease, { ...l, spec: { ...l.spec, renewTime: microTime(Date.now()) } });
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      await assert.rejects(cleanupServiceLB(opts(fake, { lease, timeoutMs: 1500 })), /was not free within 2s \(holder: servicelb-controller-abc\)/);
    } finally {
      renewing = false;
      await renew;
    }
    assert.equal((await names(fake, LB)).length, 3, 'no DaemonSet deleted');
    assert.deepEqual((await svc(fake, 'web')).metadata?.finalizers, [FINALIZER], 'no finalizer removed');
  });

  it('a Lease left by a killed controller (not renewed) is taken over after its duration', async () => {
    const fake = cluster();
    fake.put(leaseObj('killed-controller', Date.now()));
    const t0 = Date.now();
    const r = await cleanupServiceLB(opts(fake, { lease }));
    assert.ok(Date.now() - t0 >= lease.leaseDurationMs, `took over after ${Date.now() - t0} ms`);
    assert.equal(r.daemonSetsDeleted.length, 2);
  });
});

describe('servicelb-controller cleanup: bad input is exit 2, naming the flag', () => {
  const leaseNameFlag = { name: 'lease-name', type: 'string', default: 'portico-servicelb-controller', description: 'Lease' } as const;
  const program = { name: 'servicelb-controller', summary: 's', commands: [{ name: 'cleanup', summary: 'c', flags: cleanupFlags(leaseNameFlag), run: cleanupCommand({ name: 'servicelb-controller', version: '0', fieldManager: FIELD_MANAGER, leaseNameFlag }) }] };
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const sink = { write: (s: string) => (out.push(s), true) };
    return { code: await runProgram(program, ['cleanup', ...argv], { stdout: sink, stderr: sink, env: {} }), text: out.join('') };
  };
  it('every bad flag at once', async () => {
    const r = await run(['--program=K3S!', '--lb-namespace=Bad_NS', '--lease-name=UPPER', '--timeout=0s']);
    assert.equal(r.code, 2);
    for (const re of [/invalid --program \/ PORTICO_PROGRAM: "K3S!"/, /invalid --lb-namespace \/ PORTICO_LB_NAMESPACE: "Bad_NS"/, /invalid --lease-name: "UPPER"/, /invalid --timeout \/ PORTICO_TIMEOUT: "0"/]) assert.match(r.text, re);
  });
  it('an unusable kubeconfig', async () => {
    const r = await run(['--kubeconfig=/nonexistent/kubeconfig']);
    assert.equal(r.code, 2);
    assert.match(r.text, /servicelb-controller cleanup: .*\/nonexistent\/kubeconfig/);
  });
});
