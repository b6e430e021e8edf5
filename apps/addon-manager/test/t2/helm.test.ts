// T2: addon-manager's HelmChart loop against a real control plane, and the Job entry script
// (apps/addon-manager/job/entry.sh) run as a local process with the Job's arguments, environment,
// /config and /chart contents and a token of the Job's ServiceAccount, with the helm binary of
// tools/k8s/build-tools. There is no kubelet on T2: a ResourceQuota of 0 pods in the chart's
// namespace keeps the Job controller from creating pods, so this test plays the pod (it runs the
// script) and, for the delete Job, the Job controller (it marks the Job complete).
// Run: T2_KEEP=1 bash tools/test/run-tier.sh t2 apps/addon-manager/test/t2/helm.test.ts

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { promisify } from 'node:util';
import { Resources, type KubeObject } from '@portico/kube';
import { eventually, delay, serviceAccountKubeconfig, type LoggedProcess } from '@portico/testing';
import { HelmChartConfigRes, HelmChartRes, JobRes, REPO, Suite, type CoreEvent } from './fixture.ts';

const exec = promisify(execFile);
const HELM = join(REPO, '.cache/bin/helm');
const ENTRY = join(REPO, 'apps/addon-manager/job/entry.sh');
const CONTROLLER = 'portico-addon-manager';

interface Chart extends KubeObject {
  spec?: Record<string, unknown>;
  status?: { jobName?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}
interface Job extends KubeObject {
  spec: {
    template: {
      metadata?: { annotations?: Record<string, string> };
      spec: {
        serviceAccountName: string;
        hostNetwork?: boolean;
        nodeSelector?: Record<string, string>;
        tolerations?: { key?: string }[];
        containers: { args: string[]; env: { name: string; value: string }[] }[];
        volumes: { name: string; projected?: { sources: { secret: { name: string; items: { key: string; path: string }[] } }[] }; configMap?: { name: string } }[];
      };
    };
  };
  status?: Record<string, unknown>;
}
interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

let suite: Suite;
let mgr: LoggedProcess;
let ns: string;
let chartTgz: string;

/** A small chart: one ConfigMap `<release>-greeting` whose data.greeting is .Values.greeting (plus a rejected object with bad: true). */
async function packageChart(dir: string): Promise<string> {
  const src = join(dir, 'hello');
  mkdirSync(join(src, 'templates'), { recursive: true });
  writeFileSync(join(src, 'Chart.yaml'), 'apiVersion: v2\nname: hello\nversion: 0.1.0\n');
  writeFileSync(join(src, 'values.yaml'), 'greeting: default\nother: default\n');
  writeFileSync(join(src, 'templates', 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  other: {{ .Values.other | quote }}\n');
  // With bad: true the release fails at apply time (the apiserver rejects the name): a failed release.
  writeFileSync(join(src, 'templates', 'bad.yaml'), '{{- if .Values.bad }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n{{- end }}\n');
  await exec(HELM, ['package', src, '--destination', dir]);
  return readFileSync(join(dir, 'hello-0.1.0.tgz')).toString('base64');
}

const chartObj = (name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Chart => ({
  apiVersion: 'helm.cattle.io/v1',
  kind: 'HelmChart',
  metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
  spec,
});

async function getJob(name: string): Promise<Job | undefined> {
  return suite.getOrUndefined<Job>(JobRes, ns, name);
}

async function chartEvents(name: string, reason: string): Promise<CoreEvent[]> {
  const l = await suite.admin.list<CoreEvent>(Resources.Event, { namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return l.items.filter((e) => e.involvedObject?.kind === 'HelmChart' && e.reason === reason);
}

/**
 * Runs entry.sh as the Job's pod would: the container's args and env, /config from the values
 * Secret (projected items), /chart from the content ConfigMap, the Job ServiceAccount's token.
 */
async function runJob(job: Job, overrides: Record<string, string> = {}): Promise<{ code: number; out: string; termination: string }> {
  const dir = mkdtempSync(join(tmpdir(), `${suite.prefix}-job-`));
  const config = join(dir, 'config');
  const chartDir = join(dir, 'chart');
  mkdirSync(config);
  mkdirSync(chartDir);
  const pod = job.spec.template.spec;
  for (const v of pod.volumes) {
    for (const src of v.projected?.sources ?? []) {
      const s = await suite.admin.get<Secret>(Resources.Secret, { namespace: ns, name: src.secret.name });
      for (const item of src.secret.items ?? []) if (s.data?.[item.key] !== undefined) writeFileSync(join(config, item.path), Buffer.from(s.data[item.key]!, 'base64'));
    }
    if (v.configMap && v.name === 'content') {
      const cm = await suite.admin.get<KubeObject & { data?: Record<string, string> }>(Resources.ConfigMap, { namespace: ns, name: v.configMap.name });
      for (const [k, val] of Object.entries(cm.data ?? {})) writeFileSync(join(chartDir, k), val);
    }
  }
  const kubeconfig = await serviceAccountKubeconfig(suite.admin, suite.adminKubeconfig, ns, pod.serviceAccountName, join(dir, 'job.kubeconfig'));
  const c = pod.containers[0]!;
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: dir, KUBECONFIG: kubeconfig, HELM, HELM_JOB_CONFIG_DIR: config, HELM_JOB_CHART_DIR: chartDir, HELM_JOB_AUTH_DIR: join(dir, 'auth'), HELM_JOB_CA_DIR: join(dir, 'ca-files'), TMPDIR: dir, TERMINATION_LOG: join(dir, 'termination-log') };
  for (const e of c.env) env[e.name] = e.value;
  Object.assign(env, overrides);
  try {
    const r = await exec('bash', [ENTRY, ...c.args], { env, cwd: dir });
    return { code: 0, out: r.stdout + r.stderr, termination: readFileSync(join(dir, 'termination-log'), 'utf8') };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`, termination: existsSync(join(dir, 'termination-log')) ? readFileSync(join(dir, 'termination-log'), 'utf8') : '' };
  }
}

/** Plays the Job controller after the script ran: the Job succeeded. */
async function completeJob(name: string): Promise<void> {
  await eventually(async () => assert.ok((await getJob(name))?.status?.['startTime'], 'no startTime yet'), `${name} started`);
  const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const cond = (type: string): Record<string, string> => ({ type, status: 'True', lastProbeTime: t, lastTransitionTime: t });
  await suite.admin.patch(JobRes, { namespace: ns, name }, { status: { completionTime: t, succeeded: 1, conditions: [cond('SuccessCriteriaMet'), cond('Complete')] } }, { type: 'merge', subresource: 'status' });
}

async function releaseSecrets(name: string): Promise<Secret[]> {
  const l = await suite.admin.list<Secret>(Resources.Secret, { namespace: ns, labelSelector: `owner=helm,name=${name}` });
  return l.items;
}

const latest = (rs: Secret[]): Secret => rs.sort((a, b) => Number(b.metadata!.labels!['version']) - Number(a.metadata!.labels!['version']))[0]!;

async function greeting(release: string): Promise<string | undefined> {
  return (await suite.getOrUndefined<KubeObject & { data?: Record<string, string> }>(Resources.ConfigMap, ns, `${release}-greeting`))?.data?.['greeting'];
}

/** Waits for an install Job whose config hash differs from `notHash`, and returns it. */
async function newJob(name: string, notHash?: string): Promise<Job> {
  return eventually(async () => {
    const j = await getJob(`helm-install-${name}`);
    assert.ok(j, 'no install Job');
    const h = j.metadata?.annotations?.['helmcharts.helm.cattle.io/configHash'];
    assert.ok(h && h !== notHash, `Job hash still ${h}`);
    return j;
  }, `a new helm-install-${name} Job`);
}

describe('addon-manager HelmChart loop and Job script on T2', () => {
  beforeAll(async () => {
    suite = await Suite.create();
    ns = suite.ns.app;
    await suite.admin.create({ group: '', version: 'v1', plural: 'resourcequotas', kind: 'ResourceQuota', namespaced: true }, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: ns }, spec: { hard: { pods: '0' } } } as KubeObject);
    chartTgz = await packageChart(mkdtempSync(join(tmpdir(), `${suite.prefix}-chart-`)));
    mgr = await suite.startManager({ helm: true, args: ['--helm-resync-period', '1s'] });
    await mgr.ready();
  });
  afterAll(async () => {
    // Charts keep a finalizer while the manager is gone: drop them so the namespace can go.
    for (const c of (await suite.admin.list<Chart>(HelmChartRes, { namespace: ns }).catch(() => ({ items: [] as Chart[] }))).items) {
      await suite.admin.patch(HelmChartRes, { namespace: ns, name: c.metadata!.name! }, { metadata: { finalizers: null } }, { type: 'merge' }).catch(() => undefined);
    }
    await suite?.cleanup();
  });

  it('RBAC: the manager may bind Job ServiceAccounts to cluster-admin and handle HelmCharts; no pods', async () => {
    assert.equal(await suite.canI('bind', 'clusterroles/cluster-admin'), true);
    assert.equal(await suite.canI('patch', 'helmcharts.helm.cattle.io', ns), true);
    assert.equal(await suite.canI('delete', 'helmcharts.helm.cattle.io', ns), true);
    assert.equal(await suite.canI('create', 'pods', ns), false);
  });

  it('§7.39, §7.24: a HelmChartConfig made first, then an inline chart: claimed, finalizer, objects, status; the script installs', async () => {
    await suite.admin.create(HelmChartConfigRes, { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: 'hello', namespace: ns }, spec: { valuesContent: 'other: from-config' } } as KubeObject);
    await suite.admin.create(HelmChartRes, chartObj('hello', { chartContent: chartTgz, valuesContent: 'greeting: hi\nother: from-chart\n' }));
    try {
      const job = await newJob('hello');
      const chart = await eventually(async () => {
        const c = await suite.admin.get<Chart>(HelmChartRes, { namespace: ns, name: 'hello' });
        assert.equal(c.status?.jobName, 'helm-install-hello');
        return c;
      }, 'status.jobName');
      assert.equal(chart.metadata?.annotations?.['helmcharts.cattle.io/managed-by'], CONTROLLER);
      assert.ok(chart.metadata?.finalizers?.includes('wrangler.cattle.io/on-helm-chart-remove'));
      assert.deepEqual(
        chart.status?.conditions?.map((c) => `${c.type}=${c.status}`).sort(),
        ['Failed=False', 'JobCreated=True'],
      );
      const values = await suite.admin.get<Secret>(Resources.Secret, { namespace: ns, name: 'chart-values-hello' });
      assert.equal(values.type, 'helmcharts.helm.cattle.io/values');
      assert.equal(Buffer.from(values.data!['HelmChartConfigValuesContent']!, 'base64').toString(), 'other: from-config', '§7.39: the first Job already has the config');
      const content = await suite.admin.get<KubeObject & { data: Record<string, string> }>(Resources.ConfigMap, { namespace: ns, name: 'chart-content-hello' });
      assert.equal(content.data['hello.tgz.base64'], chartTgz);
      assert.ok(await suite.getOrUndefined(Resources.ServiceAccount, ns, 'helm-hello'));
      const crb = await suite.getOrUndefined<KubeObject & { roleRef: { name: string } }>(Resources.ClusterRoleBinding, undefined, `helm-${ns}-hello`);
      assert.equal(crb?.roleRef.name, 'cluster-admin');
      assert.equal((await chartEvents('hello', 'ApplyJob')).length >= 1, true);

      const r = await runJob(job);
      assert.equal(r.code, 0, r.out);
      assert.match(r.termination, /installing release hello/);
      const rel = latest(await releaseSecrets('hello'));
      assert.equal(rel.metadata!.labels!['status'], 'deployed');
      assert.equal(rel.metadata!.labels!['version'], '1');
      const hashEnv = job.spec.template.spec.containers[0]!.env.find((e) => e.name === 'CONFIG_HASH')!.value;
      assert.equal(rel.metadata!.labels!['helmcharts.helm.cattle.io/configHash'], hashEnv);
      assert.equal(await greeting('hello'), 'hi');
      const other = (await suite.getOrUndefined<KubeObject & { data?: Record<string, string> }>(Resources.ConfigMap, ns, 'hello-greeting'))?.data?.['other'];
      assert.equal(other, 'from-config', 'the config file comes after the chart values');
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${mgr.logFile}\n${mgr.tail(30)}`, { cause: err });
    }
  });

  it('§7.25: no change: no new Job, no new revision', async () => {
    const before = await getJob('helm-install-hello');
    await delay(3000); // three resyncs
    const after = await getJob('helm-install-hello');
    assert.equal(after?.metadata?.uid, before?.metadata?.uid);
    assert.equal((await releaseSecrets('hello')).length, 1);
  });

  it('§7.27, §7.28: a HelmChartConfig change re-runs the Job (upgrade, revision 2); set beats both values files', async () => {
    const old = (await getJob('helm-install-hello'))!.metadata!.annotations!['helmcharts.helm.cattle.io/configHash'];
    await suite.admin.patch(HelmChartConfigRes, { namespace: ns, name: 'hello' }, { spec: { valuesContent: 'greeting: from-config\nother: from-config' } }, { type: 'merge' });
    const job = await newJob('hello', old);
    const r = await runJob(job);
    assert.equal(r.code, 0, r.out);
    assert.match(r.termination, /upgrading release hello \(revision 1, deployed\)/);
    assert.equal(latest(await releaseSecrets('hello')).metadata!.labels!['version'], '2');
    assert.equal(await greeting('hello'), 'from-config');
    const old2 = job.metadata!.annotations!['helmcharts.helm.cattle.io/configHash'];
    await suite.admin.patch(HelmChartRes, { namespace: ns, name: 'hello' }, { spec: { set: { greeting: 'from-set' } } }, { type: 'merge' });
    const job3 = await newJob('hello', old2);
    assert.deepEqual(job3.spec.template.spec.containers[0]!.args, ['install', '--set-string', 'greeting=from-set']);
    const r3 = await runJob(job3);
    assert.equal(r3.code, 0, r3.out);
    assert.equal(await greeting('hello'), 'from-set');
  });

  it('§7.37: a manual helm rollback re-runs the Job', async () => {
    await completeJob('helm-install-hello');
    const current = (await getJob('helm-install-hello'))!;
    await delay(1500);
    assert.equal((await getJob('helm-install-hello'))?.metadata?.uid, current.metadata?.uid, 'a complete Job whose release matches is left alone');
    const hash = current.metadata!.annotations!['helmcharts.helm.cattle.io/configHash'];
    const kc = suite.adminKubeconfig;
    await exec(HELM, ['rollback', 'hello', '1', '-n', ns], { env: { ...process.env, KUBECONFIG: kc } });
    // Same config, so the Job keeps its hash; it is replaced (new uid) because the release no longer matches.
    await eventually(async () => {
      const j = await getJob('helm-install-hello');
      assert.ok(j && j.metadata?.uid !== current.metadata?.uid, 'Job not replaced yet');
      assert.equal(j.metadata?.annotations?.['helmcharts.helm.cattle.io/configHash'], hash);
    }, 'Job re-created after the rollback', 20_000);
    const r = await runJob((await getJob('helm-install-hello'))!);
    assert.equal(r.code, 0, r.out);
    assert.equal(await greeting('hello'), 'from-set');
  });

  it('§7.31: deleting the chart runs helm-delete (uninstall), then everything goes and the finalizer is dropped', async () => {
    await suite.admin.delete(HelmChartRes, { namespace: ns, name: 'hello' });
    const del = await eventually(async () => (await getJob('helm-delete-hello')) ?? assert.fail('no delete Job'), 'helm-delete-hello');
    assert.deepEqual(del.spec.template.spec.containers[0]!.args, ['delete']);
    const r = await runJob(del);
    assert.equal(r.code, 0, r.out);
    assert.match(r.termination, /uninstalling release hello/);
    assert.equal((await releaseSecrets('hello')).length, 0);
    assert.equal(await greeting('hello'), undefined);
    await completeJob('helm-delete-hello');
    await eventually(
      async () => {
        assert.equal(await suite.getOrUndefined(HelmChartRes, ns, 'hello'), undefined, 'chart still there');
        for (const [res, name] of [
          [JobRes, 'helm-install-hello'],
          [JobRes, 'helm-delete-hello'],
          [Resources.Secret, 'chart-values-hello'],
          [Resources.ConfigMap, 'chart-content-hello'],
          [Resources.ServiceAccount, 'helm-hello'],
        ] as const) {
          const o = await suite.getOrUndefined<KubeObject>(res, ns, name);
          assert.ok(!o || o.metadata?.deletionTimestamp, `${name} still there`);
        }
        assert.equal(await suite.getOrUndefined(Resources.ClusterRoleBinding, undefined, `helm-${ns}-hello`), undefined);
      },
      'chart and its objects gone',
      20_000,
    );
  });

  it('§7.38: deleting a namespace that holds a handled HelmChart: the namespace goes away', async () => {
    const other = `${suite.prefix}-gone`;
    await suite.admin.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
    await suite.admin.create({ group: '', version: 'v1', plural: 'resourcequotas', kind: 'ResourceQuota', namespaced: true }, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: other }, spec: { hard: { pods: '0' } } } as KubeObject);
    await suite.admin.create(HelmChartRes, { ...chartObj('doomed', { chartContent: chartTgz }), metadata: { name: 'doomed', namespace: other } });
    await eventually(async () => {
      const c = await suite.admin.get<Chart>(HelmChartRes, { namespace: other, name: 'doomed' });
      assert.ok(c.metadata?.finalizers?.includes('wrangler.cattle.io/on-helm-chart-remove'), 'no finalizer yet');
    }, 'chart handled');
    await suite.admin.delete(Resources.Namespace, { name: other });
    await eventually(async () => assert.equal(await suite.getOrUndefined(Resources.Namespace, undefined, other), undefined, 'namespace still there'), 'namespace deleted', 60_000);
    await eventually(async () => assert.equal(await suite.getOrUndefined(Resources.ClusterRoleBinding, undefined, `helm-${other}-doomed`), undefined), 'binding removed');
  });

  it('§7.30: valuesSecrets are projected into /config; editing a watched Secret re-runs the Job, an ignoreUpdates one does not', async () => {
    const secret = (name: string, v: string): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { 'values.yaml': `greeting: ${v}` } }) as KubeObject;
    await suite.admin.apply(secret('watched', 'w1'), { fieldManager: 'portico-t2-test' });
    await suite.admin.apply(secret('ignored', 'i1'), { fieldManager: 'portico-t2-test' });
    await suite.admin.create(HelmChartRes, chartObj('vs', { chartContent: chartTgz, valuesSecrets: [{ name: 'ignored', keys: ['values.yaml'], ignoreUpdates: true }, { name: 'watched', keys: ['values.yaml'] }] }));
    const job = await newJob('vs');
    const projected = job.spec.template.spec.volumes.find((v) => v.name === 'values')!.projected!.sources.map((x) => x.secret as { name: string; items: { path: string }[]; optional?: boolean });
    assert.deepEqual(
      projected.slice(1).map((x) => [x.name, x.items.map((i) => i.path), x.optional ?? false]),
      [
        ['ignored', ['values-0-002-HelmChart-ValuesSecret.yaml'], true],
        ['watched', ['values-0-003-HelmChart-ValuesSecret.yaml'], false],
      ],
    );
    const r = await runJob(job);
    assert.equal(r.code, 0, r.out);
    assert.equal(await greeting('vs'), 'w1', 'the later values file wins');
    const hash = job.metadata!.annotations!['helmcharts.helm.cattle.io/configHash'];
    await suite.admin.apply(secret('ignored', 'i2'), { fieldManager: 'portico-t2-test' });
    await delay(2500); // two resyncs
    assert.equal((await getJob('helm-install-vs'))?.metadata?.annotations?.['helmcharts.helm.cattle.io/configHash'], hash, 'ignoreUpdates: no re-run');
    await suite.admin.apply(secret('watched', 'w2'), { fieldManager: 'portico-t2-test' });
    await newJob('vs', hash);
  });

  it('§7.34: a chart managed by another controller, and one without chart or chartContent, get nothing', async () => {
    await suite.admin.create(HelmChartRes, chartObj('other', { chartContent: chartTgz }, { 'helmcharts.cattle.io/managed-by': 'helm-controller' }));
    await suite.admin.create(HelmChartRes, chartObj('empty', { valuesContent: 'a: 1' }));
    await delay(2500);
    for (const n of ['other', 'empty']) {
      const c = await suite.admin.get<Chart>(HelmChartRes, { namespace: ns, name: n });
      assert.equal(c.metadata?.finalizers, undefined, n);
      assert.equal(await getJob(`helm-install-${n}`), undefined, n);
    }
  });

  it('§7.35: helmVersion v2: UnsupportedVersion, Failed=True, no Job; deletion runs no delete Job', async () => {
    await suite.admin.create(HelmChartRes, chartObj('old', { chartContent: chartTgz, helmVersion: 'v2' }));
    await eventually(async () => {
      const c = await suite.admin.get<Chart>(HelmChartRes, { namespace: ns, name: 'old' });
      assert.equal(c.status?.conditions?.find((x) => x.type === 'Failed')?.status, 'True');
      assert.equal(c.status?.conditions?.find((x) => x.type === 'Failed')?.reason, 'Unsupported version');
      assert.equal((await chartEvents('old', 'UnsupportedVersion')).length, 1);
    }, 'UnsupportedVersion');
    assert.equal(await getJob('helm-install-old'), undefined);
    await suite.admin.delete(HelmChartRes, { namespace: ns, name: 'old' });
    await eventually(async () => assert.equal(await suite.getOrUndefined(HelmChartRes, ns, 'old'), undefined), 'chart released');
    assert.equal(await getJob('helm-delete-old'), undefined);
  });

  it('§7.29, §7.36: set arguments, bootstrap pod settings', async () => {
    await suite.admin.create(HelmChartRes, chartObj('boot', { chartContent: chartTgz, bootstrap: true, set: { a: 1, b: 'true', c: 'foo,bar' } }));
    const job = await newJob('boot');
    const pod = job.spec.template.spec;
    assert.deepEqual(pod.containers[0]!.args, ['install', '--set', 'a=1', '--set', 'b=true', '--set-string', 'c=foo\\,bar']);
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.nodeSelector?.['node-role.kubernetes.io/control-plane'], 'true');
    assert.ok(pod.tolerations?.some((t) => t.key === 'node.cloudprovider.kubernetes.io/uninitialized'));
    const env = Object.fromEntries(pod.containers[0]!.env.map((e) => [e.name, e.value]));
    assert.equal(env['KUBERNETES_SERVICE_HOST'], '127.0.0.1');
  });

  it('the script: HELM_VERSION=v2 exits 64; a failed release: abort exits 1 and keeps it (§7.32), reinstall installs again (§7.33)', async () => {
    const v2 = await exec('bash', [ENTRY, 'install'], { env: { PATH: process.env['PATH'], NAME: 'x', HELM_VERSION: 'v2', TERMINATION_LOG: '/dev/null' } }).catch((e: { code: number }) => e);
    assert.equal((v2 as { code: number }).code, 64);
    // The apiserver rejects an object of the release: the install leaves a failed release.
    await suite.admin.create(HelmChartRes, chartObj('abort', { chartContent: chartTgz, failurePolicy: 'abort', valuesContent: 'bad: true' }));
    const job = await newJob('abort');
    assert.equal(job.spec.template.spec.containers[0]!.env.find((e) => e.name === 'FAILURE_POLICY')?.value, 'abort');
    const r1 = await runJob(job);
    assert.notEqual(r1.code, 0, r1.out);
    assert.equal(latest(await releaseSecrets('abort')).metadata!.labels!['status'], 'failed');
    // Play the Job controller: the pod kept failing until the backoff limit. The chart says so.
    const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const cond = (type: string): Record<string, string> => ({ type, status: 'True', reason: 'BackoffLimitExceeded', message: 'backoff limit reached', lastProbeTime: t, lastTransitionTime: t });
    await suite.admin.patch(JobRes, { namespace: ns, name: 'helm-install-abort' }, { status: { failed: 1, conditions: [cond('FailureTarget'), cond('Failed')] } }, { type: 'merge', subresource: 'status' });
    await eventually(async () => {
      const c = await suite.admin.get<Chart>(HelmChartRes, { namespace: ns, name: 'abort' });
      assert.equal(c.status?.conditions?.find((x) => x.type === 'Failed')?.status, 'True');
      assert.equal(c.status?.conditions?.find((x) => x.type === 'Failed')?.reason, 'Job failed');
      assert.ok((await chartEvents('abort', 'JobFailed')).length >= 1, 'no JobFailed event');
    }, 'chart Failed=True and a JobFailed event');
    assert.equal((await getJob('helm-install-abort'))?.metadata?.uid, job.metadata?.uid, 'a failed Job with the same config is not re-run');
    // The next Job (as the controller makes it after a chart change) expects revision 1.
    const r2 = await runJob(job, { EXPECTED_RELEASE_REVISION: '1' });
    assert.equal(r2.code, 1, r2.out);
    assert.match(r2.termination, /release abort is failed and the failure policy is abort: waiting for operator intervention/);
    assert.equal((await releaseSecrets('abort')).length, 1, 'not uninstalled');
    // A stale Job (another revision) does nothing.
    const r3 = await runJob(job, { EXPECTED_RELEASE_REVISION: '7' });
    assert.equal(r3.code, 0, r3.out);
    assert.match(r3.termination, /expected 7: another Job or a user changed it; nothing to do/);
    // Fixed values and failurePolicy reinstall: a new Job expecting revision 1 uninstalls, then installs.
    const oldHash = job.metadata!.annotations!['helmcharts.helm.cattle.io/configHash'];
    await suite.admin.patch(HelmChartRes, { namespace: ns, name: 'abort' }, { spec: { failurePolicy: 'reinstall', valuesContent: 'bad: false' } }, { type: 'merge' });
    const job2 = await newJob('abort', oldHash);
    assert.equal(job2.spec.template.spec.containers[0]!.env.find((e) => e.name === 'EXPECTED_RELEASE_REVISION')?.value, '1');
    const r4 = await runJob(job2);
    assert.equal(r4.code, 0, r4.out);
    assert.match(r4.termination, /failure policy reinstall: uninstalling, then installing/);
    const rel = latest(await releaseSecrets('abort'));
    assert.equal(rel.metadata!.labels!['version'], '1');
    assert.equal(rel.metadata!.labels!['status'], 'deployed');
  });
});
