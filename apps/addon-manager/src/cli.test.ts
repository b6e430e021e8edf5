import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runProgram } from '@portico/service-kit';
import { Sink } from '@portico/testing';
import { assertHelpIsTrue } from '@portico/service-kit/testing';
import { applySetId, wranglerSetHash } from '@portico/addon';
import { createProgram } from './cli.ts';
import { runConfigFrom } from './config.ts';

const program = createProgram();

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out = new Sink();
  const err = new Sink();
  const code = await runProgram(program, args, { stdout: out, stderr: err, env });
  return { code, out: out.text, err: err.text };
}

describe('addon-manager CLI', () => {
  it('run --help names the app, its port :10262 and the flags', async () => {
    const r = await run(['run', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^addon-manager run: /);
    assert.match(r.out, /default :10262\b/);
    for (const f of ['--manifests-dir', '--disable', '--helm-job-image', '--job-cluster-role', '--on-source-removed', '--addon-naming']) assert.match(r.out, new RegExp(f));
  });
  it('help is true: only commands that exist; every duration default in units (15s, not 15000)', async () => {
    await assertHelpIsTrue(program, { minDurations: 5 });
  });
  it('bad input: exit 2, one line per problem naming the flag and the value', async () => {
    const r = await run(['run', '--manifests-dir', 'relative', '--cluster-dns', '10.0.0.1,10.0.0.2', '--addon-naming', 'odd', '--disable', '../x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--addon-naming \/ PORTICO_ADDON_NAMING: "odd"/);
    const r2 = await run(['run', '--manifests-dir', 'relative', '--cluster-dns', '10.0.0.1,10.0.0.2', '--disable', '../x']);
    assert.equal(r2.code, 2);
    assert.match(r2.err, /--manifests-dir \/ PORTICO_MANIFESTS_DIR: "relative": must be an absolute path/);
    assert.match(r2.err, /--cluster-dns \/ PORTICO_CLUSTER_DNS: "10.0.0.1,10.0.0.2": two IPs must be of different families/);
    assert.match(r2.err, /--disable \/ PORTICO_DISABLE: "..\/x"/);
  });
  it('run config defaults: K3s behaviour where Portico keeps it, documented Portico defaults elsewhere', () => {
    const values = { 'manifests-dir': '/m', 'cluster-dns': ['10.43.0.10'], 'cluster-domain': 'cluster.local', 'default-local-storage-path': '/var/lib/rancher/k3s/storage', 'preferred-address-types': ['InternalIP'], 'traefik-chart-repo': 'https://x', 'addon-naming': 'k3s', 'helm-job-image': 'i', 'job-cluster-role': 'cluster-admin', 'controller-name': 'portico-addon-manager', 'apiserver-port': 6443, 'on-source-removed': 'prune', 'helm-controller': 'auto', 'leader-elect': true, 'lease-name': 'portico-addon-manager', disable: ['traefik,coredns', 'metrics-server'], 'log-level': 'info', 'metrics-addr': ':10262' };
    const r = runConfigFrom(values, { POD_NAMESPACE: 'portico' });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
    assert.equal(r.config.pollIntervalMs, 15_000);
    assert.equal(r.config.sourceRemovedGraceMs, 60_000);
    assert.equal(r.config.leaseNamespace, 'portico');
    assert.deepEqual([...r.config.core.disables].sort(), ['coredns', 'metrics-server', 'traefik']);
  });
});

describe('addon-manager render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'addon-render-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'app.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo, namespace: foo}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\n');
  writeFileSync(join(dir, 'sub', 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n');
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nmetadata: {name: x}\n');
  writeFileSync(join(dir, 'notes.txt'), 'hello');
  const snapshot = join(dir, '..', `${dir.split('/').pop()}-snapshot.yaml`);
  writeFileSync(
    snapshot,
    [
      `apiVersion: k3s.cattle.io/v1\nkind: Addon\nmetadata: {name: app, namespace: kube-system, annotations: {addon.k3s.cattle.io/gvks: "/v1, Kind=ConfigMap;/v1, Kind=Secret"}}\nspec: {source: ${dir}/app.yaml}`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c2, namespace: default, labels: {objectset.rio.cattle.io/hash: ${wranglerSetHash('app')}}}`,
      `apiVersion: v1\nkind: Secret\nmetadata: {name: s1, namespace: default, labels: {applyset.kubernetes.io/part-of: ${applySetId('app')}, objectset.rio.cattle.io/prune: "false"}}`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated, namespace: default}`,
    ].join('\n---\n'),
  );
  it('prints the objects with markers, prunes, refusals and errors; packaged components are disabled', async () => {
    const r = await run(['render', '--manifests-dir', dir, '--snapshot', snapshot, '--disable', 'coredns,traefik,local-storage,metrics-server']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.ok(lines.includes(`# error: ${dir}/bad.yaml: ParseManifestFailed: document 1: Object 'Kind' is missing`), r.out);
    assert.ok(lines.includes(`# ignore: ${dir}/notes.txt (extension)`));
    assert.ok(lines.includes(`# refuse: ${dir}/sub/app.yaml: Addon app already belongs to ${dir}/app.yaml`));
    assert.ok(lines.includes('# prune: ConfigMap default/c2 (Addon app)'));
    assert.ok(lines.includes('# keep: Secret default/s1 (Addon app, labelled prune=false)'));
    assert.equal(r.out.includes('unrelated'), false);
    const objs = parseAllDocuments(r.out).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string; labels: Record<string, string> } }).filter(Boolean);
    const ns = objs.find((o) => o.kind === 'Namespace')!;
    assert.equal(ns.metadata.namespace, undefined, 'cluster-scoped: namespace dropped');
    const c1 = objs.find((o) => o.kind === 'ConfigMap')!;
    assert.equal(c1.metadata.namespace, 'default');
    assert.equal(c1.metadata.labels['objectset.rio.cattle.io/hash'], wranglerSetHash('app'));
    assert.equal(objs.length, 2);
  });
  it('includes the packaged components by default, with the registry', async () => {
    const r = await run(['render', '--manifests-dir', dir, '--system-default-registry', 'reg.io']);
    assert.equal(r.code, 0, r.err);
    for (const a of ['coredns', 'traefik', 'local-storage', 'auth-reader']) assert.match(r.out, new RegExp(`# Addon kube-system/${a}: `));
    assert.match(r.out, /image: reg\.io\/rancher\/mirrored-coredns-coredns:/);
    // The HelmChart loop's part: the Traefik charts would get install Jobs with the default image.
    assert.ok(r.out.includes('# helm: HelmChart kube-system/traefik: Job kube-system/helm-install-traefik (no Job)'), r.out.slice(-2000));
    assert.match(r.out, /image: ghcr\.io\/portico\/helm-job:0\.1\.0/);
  });
  it('an invalid HelmChart in the snapshot: exit 2 naming object, field and value, nothing on stdout; in a manifest: the file is refused', async () => {
    const bad = join(dir, '..', `${dir.split('/').pop()}-bad-snapshot.yaml`);
    writeFileSync(bad, 'apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: web, namespace: kube-system}\nspec: {chart: web, backOffLimit: 2.5, set: [x]}\n');
    const r = await run(['render', '--manifests-dir', dir, '--snapshot', bad]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.out, '');
    assert.deepEqual(r.err.trim().split('\n'), [
      'addon-manager render: HelmChart kube-system/web: spec.backOffLimit: "2.5": must be an integer, not a fraction',
      'addon-manager render: HelmChart kube-system/web: spec.set: "[\\"x\\"]": must be a map, not a list',
      'addon-manager render: 2 problems in the snapshot; nothing rendered',
    ]);
    const mdir = mkdtempSync(join(tmpdir(), 'addon-render-bad-'));
    writeFileSync(join(mdir, 'web.yaml'), 'apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: web, namespace: kube-system}\nspec: {chart: web, failurePolicy: sometimes}\n');
    const m = await run(['render', '--manifests-dir', mdir, '--stage-packaged=false']);
    assert.equal(m.code, 0, m.err);
    assert.ok(m.out.includes(`# error: ${mdir}/web.yaml: ValidateManifestFailed: document 1: HelmChart web: spec.failurePolicy: "sometimes": must be one of abort, reinstall, retry`), m.out);
    assert.doesNotMatch(m.out, /helm-install-web/);
  });
  it('a missing directory is a usage error', async () => {
    const r = await run(['render', '--manifests-dir', join(dir, 'nope')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--manifests-dir/);
  });
});
