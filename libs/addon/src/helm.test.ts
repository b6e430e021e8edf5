import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { chartDisposition, effectivePolicy, installDecision, latestRelease, renderHelmJob, setArgs, valuesLayout, type HelmChart, type HelmChartConfig } from './helm.ts';

const settings = { image: 'ghcr.io/portico/helm-job:0.1.0', jobClusterRole: 'cluster-admin', apiserverPort: 6443 };
const chart = (spec: HelmChart['spec'] = {}, annotations?: Record<string, string>): HelmChart => ({
  apiVersion: 'helm.cattle.io/v1',
  kind: 'HelmChart',
  metadata: { name: 'hello', namespace: 'kube-system', ...(annotations ? { annotations } : {}) },
  spec: { chartContent: 'H4sIAAAA', ...spec },
});
type Job = { metadata: { name: string; annotations: Record<string, string> }; spec: { backoffLimit: number; template: { spec: Record<string, unknown> & { containers: { args: string[]; env: { name: string; value: string }[]; image: string }[]; volumes: { name: string; projected?: { sources: { secret: { name: string; items: { key: string; path: string }[]; optional?: boolean } }[] } }[] } } } };
const job = (c: HelmChart, cfg?: HelmChartConfig, rev = 0) => renderHelmJob(c, cfg, settings, { kind: 'install', expectedRevision: rev });
const env = (j: ReturnType<typeof job>): Record<string, string> => Object.fromEntries((j.job as unknown as Job).spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));

describe('setArgs (spec §7.29)', () => {
  it('ints and true/false/null use --set; the rest --set-string with commas escaped; keys sorted', () => {
    assert.deepEqual(setArgs({ c: 'foo,bar', a: 1, b: 'true', d: 'NULL', e: 'x\\,y', f: '12', g: 1.5 }), ['--set', 'a=1', '--set', 'b=true', '--set-string', 'c=foo\\,bar', '--set', 'd=NULL', '--set-string', 'e=x\\,y', '--set', 'f=12', '--set-string', 'g=1.5']);
    assert.deepEqual(setArgs(undefined), []);
  });
});

describe('chartDisposition (spec §4.1, §7.34)', () => {
  const cases: [string, HelmChart, string][] = [
    ['unannotated: claim', chart(), 'claim'],
    ['ours: handle', chart({}, { 'helmcharts.cattle.io/managed-by': 'me' }), 'handle'],
    ['another manager: ignore', chart({}, { 'helmcharts.cattle.io/managed-by': 'helm-controller' }), 'ignore'],
    ['unmanaged: ignore', chart({}, { 'helmcharts.helm.cattle.io/unmanaged': '' }), 'ignore'],
    ['no chart nor chartContent: ignore', { metadata: { name: 'x', namespace: 'y' }, spec: {} }, 'ignore'],
  ];
  for (const [what, c, want] of cases) it(what, () => assert.equal(chartDisposition(c, 'me').action, want));
});

describe('values layout and precedence (spec §4.5)', () => {
  it('chart valuesContent, values, then config valuesContent, values, then valuesSecrets in order', () => {
    const l = valuesLayout(chart({ valuesContent: 'a: 1', values: { b: 2 }, valuesSecrets: [{ name: 's', keys: ['k1', 'k2'] }, { name: 'chart-values-hello', keys: ['x'] }, { name: 'nokeys' }] }), {
      spec: { valuesContent: 'a: 3', valuesSecrets: [{ name: 't', keys: ['k'], ignoreUpdates: true }] },
    });
    assert.deepEqual(
      l.secretItems.map((i) => i.path),
      ['values-0-000-HelmChart-ValuesContent.yaml', 'values-0-001-HelmChart-Values.yaml', 'values-1-000-HelmChartConfig-ValuesContent.yaml'],
    );
    assert.deepEqual(l.secretProjections, [
      {
        name: 's',
        optional: false,
        items: [
          { key: 'k1', path: 'values-0-002-HelmChart-ValuesSecret.yaml' },
          { key: 'k2', path: 'values-0-003-HelmChart-ValuesSecret.yaml' },
        ],
      },
      { name: 't', optional: true, items: [{ key: 'k', path: 'values-1-002-HelmChartConfig-ValuesSecret.yaml' }] },
    ]);
    assert.equal(l.data['HelmChartValues'], '{"b":2}');
  });
  it('policy: reinstall by default; chart, then config override', () => {
    assert.deepEqual(effectivePolicy(chart(), undefined), { failurePolicy: 'reinstall', serverSide: 'auto', forceConflicts: false });
    assert.deepEqual(effectivePolicy(chart({ failurePolicy: 'abort', serverSide: 'false' }), { spec: { failurePolicy: 'retry', forceConflicts: true } }), { failurePolicy: 'retry', serverSide: 'false', forceConflicts: true });
  });
});

describe('renderHelmJob (spec §2.4, §2.5, §7.24)', () => {
  const j = job(chart({ targetNamespace: 'apps', version: '1.2.3', set: { a: 1 }, createNamespace: true }), undefined, 3);
  const spec = (j.job as unknown as Job).spec;
  it('names and objects', () => {
    assert.equal(j.job.metadata.name, 'helm-install-hello');
    assert.equal((j.valuesSecret as { metadata: { name: string }; type: string }).metadata.name, 'chart-values-hello');
    assert.equal((j.valuesSecret as { type: string }).type, 'helmcharts.helm.cattle.io/values');
    assert.deepEqual((j.contentConfigMap as { data: Record<string, string> }).data, { 'hello.tgz.base64': 'H4sIAAAA' });
    assert.equal((j.serviceAccount as { metadata: { name: string } }).metadata.name, 'helm-hello');
    assert.equal((j.clusterRoleBinding as { metadata: { name: string }; roleRef: { name: string } }).metadata.name, 'helm-kube-system-hello');
    assert.equal((j.clusterRoleBinding as { roleRef: { name: string } }).roleRef.name, 'cluster-admin');
  });
  it('args, env, defaults', () => {
    assert.deepEqual(spec.template.spec.containers[0]!.args, ['install', '--namespace', 'apps', '--create-namespace', '--version', '1.2.3', '--set', 'a=1']);
    const e = env(j);
    assert.equal(e['TARGET_NAMESPACE'], 'apps');
    assert.equal(e['CHART'], '');
    assert.equal(e['FAILURE_POLICY'], 'reinstall');
    assert.equal(e['SERVER_SIDE'], 'auto');
    assert.equal(e['EXPECTED_RELEASE_REVISION'], '3');
    assert.equal(e['CONFIG_HASH'], j.hash.slice(0, 63));
    assert.equal(spec.backoffLimit, 1000);
    assert.equal(spec.template.spec['restartPolicy'], 'OnFailure');
    assert.equal(spec.template.spec.containers[0]!.image, 'ghcr.io/portico/helm-job:0.1.0');
    assert.match((j.job as unknown as Job).metadata.annotations['helmcharts.helm.cattle.io/configHash'] ?? '', /^SHA256=[0-9A-F]{64}$/);
  });
  it('a repo chart is <name>/<chart>; TARGET_NAMESPACE defaults to the chart namespace', () => {
    const e = env(job({ metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { repo: 'https://r', chart: 'traefik' } }));
    assert.equal(e['CHART'], 'traefik/traefik');
    assert.equal(e['TARGET_NAMESPACE'], 'kube-system');
  });
  it('bootstrap: host network, control-plane selector, tolerations, local apiserver (spec §7.36)', () => {
    const b = job(chart({ bootstrap: true }));
    const ps = (b.job as unknown as Job).spec.template.spec;
    assert.equal(ps['hostNetwork'], true);
    assert.equal((ps['nodeSelector'] as Record<string, string>)['node-role.kubernetes.io/control-plane'], 'true');
    assert.equal((ps['tolerations'] as unknown[]).length, 6);
    assert.equal(env(b)['KUBERNETES_SERVICE_HOST'], '127.0.0.1');
    assert.equal(env(b)['KUBERNETES_SERVICE_PORT'], '6443');
  });
  it('the delete Job has args delete and no values or content volumes', () => {
    const d = renderHelmJob(chart(), undefined, settings, { kind: 'delete', expectedRevision: 1 });
    const ps = (d.job as unknown as Job).spec.template.spec;
    assert.equal(d.job.metadata.name, 'helm-delete-hello');
    assert.deepEqual(ps.containers[0]!.args, ['delete']);
    assert.equal(ps.volumes.some((v) => v.name === 'values' || v.name === 'content'), false);
    assert.equal(d.valuesSecret, undefined);
  });
});

describe('config hash (spec §4.4)', () => {
  const base = job(chart({ valuesContent: 'a: 1' })).hash;
  it('is stable and ignores the injected revision', () => {
    assert.equal(job(chart({ valuesContent: 'a: 1' }), undefined, 7).hash, base);
  });
  const changes: [string, () => string][] = [
    ['valuesContent (§7.26)', () => job(chart({ valuesContent: 'a: 2' })).hash],
    ['a HelmChartConfig (§7.27)', () => job(chart({ valuesContent: 'a: 1' }), { spec: { valuesContent: 'a: 3' } }).hash],
    ['set (§7.28)', () => job(chart({ valuesContent: 'a: 1', set: { x: 'y' } })).hash],
    ['chartContent', () => job(chart({ valuesContent: 'a: 1', chartContent: 'other' })).hash],
    ['the Job image', () => renderHelmJob(chart({ valuesContent: 'a: 1' }), undefined, { ...settings, image: 'x' }, { kind: 'install', expectedRevision: 0 }).hash],
    ['backOffLimit', () => job(chart({ valuesContent: 'a: 1', backOffLimit: 1 })).hash],
    ['the redeploy annotation (B12)', () => job(chart({ valuesContent: 'a: 1' }, { 'helmcharts.helm.cattle.io/redeploy': '2' })).hash],
    [
      'a watched valuesSecret (§7.30)',
      () => renderHelmJob(chart({ valuesContent: 'a: 1', valuesSecrets: [{ name: 's', keys: ['k'] }] }), undefined, settings, { kind: 'install', expectedRevision: 0, valuesSecretData: new Map([['s', { k: 'djE=' }]]) }).hash,
    ],
  ];
  for (const [what, f] of changes) it(`changes with ${what}`, () => assert.notEqual(f(), base));
  it('an ignoreUpdates valuesSecret does not feed it', () => {
    const c = chart({ valuesContent: 'a: 1', valuesSecrets: [{ name: 's', keys: ['k'], ignoreUpdates: true }] });
    const h1 = renderHelmJob(c, undefined, settings, { kind: 'install', expectedRevision: 0, valuesSecretData: new Map([['s', { k: 'djE=' }]]) }).hash;
    const h2 = renderHelmJob(c, undefined, settings, { kind: 'install', expectedRevision: 0, valuesSecretData: new Map([['s', { k: 'djI=' }]]) }).hash;
    assert.equal(h1, h2);
  });
});

describe('latestRelease and installDecision (spec §4.2, §7.25, §7.37)', () => {
  const rel = (v: number, status: string, hash?: string) => ({ metadata: { labels: { owner: 'helm', name: 'hello', version: String(v), status, ...(hash ? { 'helmcharts.helm.cattle.io/configHash': hash } : {}) } } });
  const H = 'A'.repeat(64);
  it('picks the highest revision', () => {
    assert.deepEqual(latestRelease([rel(1, 'superseded'), rel(3, 'deployed', H.slice(0, 63)), rel(2, 'superseded')]), { revision: 3, status: 'deployed', hash: H.slice(0, 63) });
    assert.equal(latestRelease([]), undefined);
  });
  const jobWith = (hash: string, cond?: string) => ({ metadata: { annotations: { 'helmcharts.helm.cattle.io/configHash': `SHA256=${hash}` } }, status: cond ? { conditions: [{ type: cond, status: 'True' }] } : {} });
  const cases: [string, Parameters<typeof installDecision>[0], Parameters<typeof installDecision>[1], boolean, boolean][] = [
    ['no Job, no release', undefined, undefined, true, false],
    ['no Job, release deployed with this hash', undefined, { revision: 1, status: 'deployed', hash: H.slice(0, 63) }, false, false],
    ['same hash, complete, deployed', jobWith(H, 'Complete'), { revision: 1, status: 'deployed', hash: H.slice(0, 63) }, false, false],
    ['same hash, running', jobWith(H), undefined, false, false],
    ['same hash, complete, release rolled back to another hash', jobWith(H, 'Complete'), { revision: 3, status: 'deployed', hash: 'B'.repeat(63) }, true, true],
    ['same hash, complete, release failed', jobWith(H, 'Complete'), { revision: 2, status: 'failed', hash: H.slice(0, 63) }, true, true],
    ['config changed', jobWith('C'.repeat(64), 'Complete'), { revision: 1, status: 'deployed', hash: 'C'.repeat(63) }, true, true],
    ['same hash, Job failed: wait for a change', jobWith(H, 'Failed'), { revision: 1, status: 'failed', hash: undefined }, false, false],
  ];
  for (const [what, j, r, run, replace] of cases) {
    it(what, () => {
      const d = installDecision(j, r, H);
      assert.deepEqual([d.run, d.replace], [run, replace]);
    });
  }
});
