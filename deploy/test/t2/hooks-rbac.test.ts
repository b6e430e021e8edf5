/**
 * T2: the RBAC of the chart's uninstall hooks (templates/uninstall-cleanup.yaml, rendered from
 * apps/<app>/rbac-cleanup*.yaml) is enough for each hook's command and no more. The hook RBAC is
 * rendered by `helm template` exactly as `helm uninstall` would create it, applied to the T2 control
 * plane, and each cleanup command (the bundled app, as in the hook's image) runs with a token of its
 * hook's ServiceAccount against real objects:
 *   servicelb-controller cleanup             Services released, svclb DaemonSet deleted, Lease held
 *   addon-manager cleanup --objects=charts   its HelmCharts and their configs deleted, another's kept
 *   addon-manager cleanup --objects=addons   its Addons deleted, a user's kept
 *   netpol-agent cleanup-wait                waits while an agent pod is left, done once it is gone
 * plus `kubectl auth can-i` for what each must not do. The hook Jobs themselves run on kind (nx e2e:
 * `helm uninstall` with hooks).
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp, eventually, KUBECTL, randomName, requireT2Kubeconfig } from '@portico/testing';
import { HOOK_RBAC, REPO } from '../../src/chart-files.ts';
import { helmTemplate, parseObjects, type K8sObject } from '../../src/helm.ts';

const exec = promisify(execFile);
const ID = `hk${randomName(5)}`;
const NS = ID; // release namespace: the hooks' ServiceAccounts, the Lease, the agent pods
const LB_NS = `${ID}-lb`;
const APP_NS = `${ID}-app`;
const CONTROLLER = `portico-addon-manager-${ID}`;
const LOG_DIR = join(REPO, '.cache/t2-hooks', ID);
const RBAC_KINDS = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);

function kubectl(args: readonly string[], input?: string): string {
  try {
    return execFileSync(KUBECTL, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    throw new Error(`kubectl ${args.join(' ')}: ${err.stderr ?? ''}${err.stdout ?? ''}`);
  }
}

const apply = (obj: unknown): string => kubectl(['apply', '-f', '-'], JSON.stringify(obj));

/** `kubectl auth can-i` as a hook's ServiceAccount. */
function canI(hook: string, verb: string, resource: string, namespace?: string): boolean {
  const args = ['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${NS}:portico-${hook}`, ...(namespace ? ['-n', namespace] : [])];
  try {
    return execFileSync(KUBECTL, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() === 'yes';
  } catch (e) {
    if ((e as { stdout?: string }).stdout?.trim() === 'no') return false;
    throw e;
  }
}

/** A kubeconfig for the T2 server holding a fresh token of the hook's ServiceAccount. */
function hookKubeconfig(hook: string): string {
  const token = kubectl(['create', 'token', `portico-${hook}`, '-n', NS, '--duration=1h']).trim();
  const admin = JSON.parse(kubectl(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json'])) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  };
  const cluster = admin.clusters[0]!.cluster;
  const path = join(LOG_DIR, `${hook}.kubeconfig`);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 't2', cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] } }],
      users: [{ name: hook, user: { token } }],
      contexts: [{ name: hook, context: { cluster: 't2', user: hook, namespace: NS } }],
      'current-context': hook,
    }),
    { mode: 0o600 },
  );
  return path;
}

/** Runs a bundled app's command as a hook's ServiceAccount (POD_NAMESPACE as the hook Job sets it). */
async function runAs(hook: string, app: string, args: readonly string[]): Promise<{ code: number; out: string }> {
  const main = await buildApp(app);
  const env = { PATH: process.env['PATH'] ?? '', POD_NAMESPACE: NS, POD_NAME: `${hook}-job` };
  return exec(process.execPath, [main, ...args, `--kubeconfig=${hookKubeconfig(hook)}`], { env, encoding: 'utf8', timeout: 90_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
}

const getJson = <T = K8sObject & Record<string, unknown>>(args: readonly string[]): T | undefined => {
  try {
    return JSON.parse(kubectl(['get', ...args, '-o', 'json'])) as T;
  } catch (e) {
    if (/NotFound|not found/.test(String(e))) return undefined;
    throw e;
  }
};

describe('T2: the uninstall hooks\' RBAC (apps/*/rbac-cleanup*.yaml through the chart)', () => {
  let clusterScoped: K8sObject[] = [];

  beforeAll(async () => {
    requireT2Kubeconfig();
    mkdirSync(LOG_DIR, { recursive: true });
    await Promise.all(['servicelb-controller', 'addon-manager', 'netpol-agent'].map((a) => buildApp(a)));
    for (const ns of [NS, LB_NS, APP_NS]) apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'portico.io/test': ID } } });
    const crdDir = join(REPO, 'apps/addon-manager/crds');
    for (const f of readdirSync(crdDir).filter((n) => n.endsWith('.yaml'))) kubectl(['apply', '-f', join(crdDir, f)]);
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/addons.k3s.cattle.io', 'crd/helmcharts.helm.cattle.io', 'crd/helmchartconfigs.helm.cattle.io']);
    // The hooks' RBAC as `helm uninstall` creates it: an existing LB namespace (so the LB Role is
    // rendered), addon-manager on. Cluster-scoped names get this run's suffix (another release's
    // objects may exist); their bindings follow.
    const rendered = helmTemplate({ release: NS, namespace: NS, set: [`serviceLB.namespace=${LB_NS}`, 'serviceLB.createNamespace=false', 'addonManager.enabled=true'] });
    assert.equal(rendered.code, 0, rendered.stderr);
    const rbac = parseObjects(rendered.stdout)
      .filter((o) => (o.metadata['annotations'] as Record<string, string> | undefined)?.['helm.sh/hook']).filter((o) => RBAC_KINDS.has(o.kind));
    for (const o of rbac) {
      if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') o.metadata.name = `${o.metadata.name}-${ID}`;
      const ref = (o as { roleRef?: { kind: string; name: string } }).roleRef;
      if (o.kind === 'ClusterRoleBinding' && ref) ref.name = `${ref.name}-${ID}`;
      delete o.metadata['annotations']; // helm's hook annotations mean nothing to kubectl
    }
    // Every hook ServiceAccount the chart's Jobs name is in there.
    const sas = rbac.filter((o) => o.kind === 'ServiceAccount').map((o) => o.metadata.name).sort();
    assert.deepEqual(sas, Object.keys(HOOK_RBAC).map((h) => `portico-${h}`).sort());
    clusterScoped = rbac.filter((o) => o.kind.startsWith('Cluster'));
    kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
  }, 300_000);

  afterAll(() => {
    for (const o of clusterScoped) kubectl(['delete', o.kind, o.metadata.name, '--ignore-not-found']);
    kubectl(['delete', 'addons.k3s.cattle.io', '-n', 'kube-system', '-l', `portico.io/test=${ID}`, '--ignore-not-found']);
    kubectl(['delete', 'namespace', NS, LB_NS, APP_NS, '--ignore-not-found', '--wait=false']);
  });

  it('servicelb-controller cleanup: deletes the svclb DaemonSet, releases the Service, holds and releases the Lease', async () => {
    apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: APP_NS, finalizers: ['service.kubernetes.io/load-balancer-cleanup'] },
      spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], selector: { app: 'web' } },
    });
    kubectl(['patch', 'service', 'web', '-n', APP_NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '192.0.2.10', ipMode: 'VIP' }] } } })]);
    apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'svclb-web-0a1b2c3d', namespace: LB_NS, labels: { 'svccontroller.k3s.cattle.io/svcname': 'web', 'svccontroller.k3s.cattle.io/svcnamespace': APP_NS } },
      spec: {
        selector: { matchLabels: { app: 'svclb-web-0a1b2c3d' } },
        template: { metadata: { labels: { app: 'svclb-web-0a1b2c3d' } }, spec: { containers: [{ name: 'lb-tcp-80', image: 'example.invalid/lb:1' }] } },
      },
    });
    const r = await runAs('servicelb-cleanup', 'servicelb-controller', ['cleanup', `--lb-namespace=${LB_NS}`, '--timeout=30s']);
    assert.equal(r.code, 0, r.out);
    assert.equal(getJson(['daemonset', 'svclb-web-0a1b2c3d', '-n', LB_NS]), undefined, 'svclb DaemonSet deleted');
    const svc = getJson<{ metadata: { finalizers?: string[] }; status?: { loadBalancer?: { ingress?: unknown[] } } }>(['service', 'web', '-n', APP_NS]);
    assert.deepEqual(svc?.metadata.finalizers ?? [], [], 'finalizer removed');
    assert.deepEqual(svc?.status?.loadBalancer?.ingress ?? [], [], 'ingress cleared');
    const lease = getJson<{ spec: { holderIdentity?: string | null } }>(['lease', 'portico-servicelb-controller', '-n', NS]);
    assert.ok(lease, 'the cleanup took the ServiceLB Lease in its own namespace');
    assert.ok(!lease.spec.holderIdentity, `the Lease is released afterwards (holder ${String(lease.spec.holderIdentity)})`);
    // Nothing beyond its job.
    assert.equal(canI('servicelb-cleanup', 'delete', 'services', APP_NS), false);
    assert.equal(canI('servicelb-cleanup', 'create', 'daemonsets', LB_NS), false);
    assert.equal(canI('servicelb-cleanup', 'delete', 'daemonsets', APP_NS), false);
    assert.equal(canI('servicelb-cleanup', 'update', 'leases/some-other-lease', NS), false);
    assert.equal(canI('servicelb-cleanup', 'get', 'secrets', NS), false);
  }, 120_000);

  it('addon-manager cleanup --objects=charts: its HelmCharts and their configs go, another controller\'s stay', async () => {
    const chart = (name: string, managedBy: string) => ({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name, namespace: APP_NS, annotations: { 'helmcharts.cattle.io/managed-by': managedBy } },
      spec: { chart: 'example', repo: 'https://charts.example.invalid' },
    });
    apply(chart('mine', CONTROLLER));
    apply(chart('theirs', 'helm-controller'));
    for (const name of ['mine', 'theirs']) apply({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name, namespace: APP_NS }, spec: { valuesContent: 'a: 1' } });
    const r = await runAs('addon-manager-cleanup', 'addon-manager', ['cleanup', '--objects=charts', `--controller-name=${CONTROLLER}`, '--timeout=30s']);
    assert.equal(r.code, 0, r.out);
    assert.equal(getJson(['helmcharts.helm.cattle.io', 'mine', '-n', APP_NS]), undefined);
    assert.equal(getJson(['helmchartconfigs.helm.cattle.io', 'mine', '-n', APP_NS]), undefined);
    assert.ok(getJson(['helmcharts.helm.cattle.io', 'theirs', '-n', APP_NS]), 'another controller\'s HelmChart stays');
    assert.ok(getJson(['helmchartconfigs.helm.cattle.io', 'theirs', '-n', APP_NS]), 'its config stays');
    assert.equal(canI('addon-manager-cleanup', 'create', 'helmcharts.helm.cattle.io', APP_NS), false);
    assert.equal(canI('addon-manager-cleanup', 'delete', 'addons.k3s.cattle.io', 'kube-system'), false);
    assert.equal(canI('addon-manager-cleanup', 'delete', 'jobs.batch', APP_NS), false);
  }, 120_000);

  it('addon-manager cleanup --objects=addons: the Addons it wrote in kube-system go, a user\'s stays', async () => {
    const addon = (name: string, tooling?: string) => ({
      apiVersion: 'k3s.cattle.io/v1',
      kind: 'Addon',
      metadata: { name, namespace: 'kube-system', labels: { 'portico.io/test': ID }, ...(tooling ? { annotations: { 'applyset.kubernetes.io/tooling': tooling } } : {}) },
      spec: {},
    });
    apply(addon(`${ID}-mine`, 'portico-addon-manager/v1'));
    apply(addon(`${ID}-user`));
    const r = await runAs('addon-manager-addons-cleanup', 'addon-manager', ['cleanup', '--objects=addons', '--timeout=30s']);
    assert.equal(r.code, 0, r.out);
    assert.equal(getJson(['addons.k3s.cattle.io', `${ID}-mine`, '-n', 'kube-system']), undefined);
    assert.ok(getJson(['addons.k3s.cattle.io', `${ID}-user`, '-n', 'kube-system']), 'an Addon addon-manager did not write stays');
    assert.equal(canI('addon-manager-addons-cleanup', 'delete', 'addons.k3s.cattle.io', APP_NS), false);
    assert.equal(canI('addon-manager-addons-cleanup', 'delete', 'helmcharts.helm.cattle.io', 'kube-system'), false);
  }, 120_000);

  it('netpol-agent cleanup-wait --agents-gone: not done while an agent pod is left, done once it is gone', async () => {
    const selector = 'app.kubernetes.io/name=netpol-agent';
    apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'agent', namespace: NS, labels: { 'app.kubernetes.io/name': 'netpol-agent' } },
      spec: { nodeName: `${ID}-no-such-node`, containers: [{ name: 'a', image: 'example.invalid/agent:1' }] },
    });
    const waiting = await runAs('netpol-cleanup', 'netpol-agent', ['cleanup-wait', `--agents-gone=${selector}`, '--timeout=2s']);
    assert.equal(waiting.code, 1, waiting.out);
    assert.match(waiting.out, /agent/);
    assert.doesNotMatch(waiting.out, /forbidden/i);
    kubectl(['delete', 'pod', 'agent', '-n', NS, '--grace-period=0', '--force', '--wait=true']);
    await eventually(() => assert.equal(getJson(['pod', 'agent', '-n', NS]), undefined), 'the pod gone', 30_000);
    const done = await runAs('netpol-cleanup', 'netpol-agent', ['cleanup-wait', `--agents-gone=${selector}`, '--timeout=10s']);
    assert.equal(done.code, 0, done.out);
    assert.equal(canI('netpol-cleanup', 'get', 'daemonsets/portico-netpol-cleanup', NS), true);
    assert.equal(canI('netpol-cleanup', 'get', 'daemonsets/portico-netpol-agent', NS), false);
    assert.equal(canI('netpol-cleanup', 'list', 'pods', APP_NS), false);
    assert.equal(canI('netpol-cleanup', 'delete', 'pods', NS), false);
  }, 120_000);
});
