import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { chooseConfigSource, createKubeClient } from './bootstrap.ts';
import { KubeConfigError } from './errors.ts';

function kubeconfig(server: string, opts: { ctx?: string; ns?: string; extraCtx?: { name: string; server: string } } = {}): string {
  const ctx = opts.ctx ?? 'main';
  const clusters = [`- name: c-${ctx}\n  cluster:\n    server: ${server}\n    insecure-skip-tls-verify: true`];
  const contexts = [`- name: ${ctx}\n  context:\n    cluster: c-${ctx}\n    user: u\n${opts.ns ? `    namespace: ${opts.ns}\n` : ''}`];
  if (opts.extraCtx) {
    clusters.push(`- name: c-${opts.extraCtx.name}\n  cluster:\n    server: ${opts.extraCtx.server}\n    insecure-skip-tls-verify: true`);
    contexts.push(`- name: ${opts.extraCtx.name}\n  context:\n    cluster: c-${opts.extraCtx.name}\n    user: u\n`);
  }
  return `apiVersion: v1\nkind: Config\nclusters:\n${clusters.join('\n')}\ncontexts:\n${contexts.join('\n')}\nusers:\n- name: u\n  user:\n    token: abc\ncurrent-context: ${ctx}\n`;
}

describe('client bootstrap', () => {
  let dir: string;
  let sa: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kube-bootstrap-'));
    sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'not a real CA');
    writeFileSync(join(sa, 'namespace'), 'portico-system\n');
    writeFileSync(join(dir, 'a.yaml'), kubeconfig('https://a.example:6443', { ns: 'team-a', extraCtx: { name: 'other', server: 'https://b.example:6443' } }));
    writeFileSync(join(dir, 'b.yaml'), kubeconfig('https://c.example:6443', { ctx: 'third' }));
    writeFileSync(join(dir, 'broken.yaml'), 'clusters: [\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('chooses --kubeconfig, else KUBECONFIG, else in-cluster, else ~/.kube/config (controller-runtime order), else explains what is missing', () => {
    const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), kubeconfig('https://home.example:6443'));
    assert.deepEqual(chooseConfigSource({ kubeconfig: '/k', env: { ...inCluster, KUBECONFIG: '/e', HOME: home }, serviceAccountDir: sa }), { source: 'kubeconfig-flag', paths: ['/k'] });
    assert.deepEqual(chooseConfigSource({ env: { ...inCluster, KUBECONFIG: '/e', HOME: home }, serviceAccountDir: sa }), { source: 'kubeconfig-env', paths: ['/e'] });
    assert.deepEqual(chooseConfigSource({ env: { ...inCluster, KUBECONFIG: '/e:/f' }, serviceAccountDir: join(dir, 'no-sa') }), { source: 'kubeconfig-env', paths: ['/e', '/f'] });
    assert.deepEqual(chooseConfigSource({ env: { ...inCluster, HOME: home }, serviceAccountDir: sa }), { source: 'in-cluster' });
    assert.deepEqual(chooseConfigSource({ env: { ...inCluster, HOME: home }, serviceAccountDir: join(dir, 'no-sa') }), { source: 'kubeconfig-home', paths: [join(home, '.kube', 'config')] });
    assert.deepEqual(chooseConfigSource({ env: { HOME: `${home}/` }, serviceAccountDir: sa }), { source: 'kubeconfig-home', paths: [join(home, '.kube', 'config')] });
    const none = chooseConfigSource({ env: {}, serviceAccountDir: sa });
    assert.deepEqual(none, {
      error: 'no Kubernetes client configuration: --kubeconfig is not set; KUBECONFIG is not set; not in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set); HOME is not set',
    });
    const noHome = chooseConfigSource({ env: { HOME: join(dir, 'nobody') }, serviceAccountDir: sa });
    assert.match((noHome as { error: string }).error, /nobody\/\.kube\/config does not exist$/);
    const noToken = chooseConfigSource({ env: inCluster, serviceAccountDir: join(dir, 'no-sa') });
    assert.match((noToken as { error: string }).error, /no-sa\/token does not exist/);
  });

  it('reads nothing from process.env (the env parameter is the only source)', () => {
    const saved = process.env['KUBECONFIG'];
    process.env['KUBECONFIG'] = join(dir, 'a.yaml');
    try {
      assert.ok('error' in chooseConfigSource({ serviceAccountDir: sa }));
    } finally {
      if (saved === undefined) delete process.env['KUBECONFIG'];
      else process.env['KUBECONFIG'] = saved;
    }
  });

  it('loads ~/.kube/config when nothing else applies', async () => {
    const home = join(dir, 'home2');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'config'), kubeconfig('https://home.example:6443'));
    const c = await createKubeClient({ env: { HOME: home }, serviceAccountDir: join(dir, 'no-sa') });
    assert.equal(c.source, 'kubeconfig-home');
    assert.equal(c.server, 'https://home.example:6443');
  });

  it('loads a kubeconfig file: server, context namespace, --context override', async () => {
    const c = await createKubeClient({ kubeconfig: join(dir, 'a.yaml') });
    assert.equal(c.source, 'kubeconfig-flag');
    assert.equal(c.server, 'https://a.example:6443');
    assert.equal(c.namespace, 'team-a');
    const o = await createKubeClient({ kubeconfig: join(dir, 'a.yaml'), context: 'other' });
    assert.equal(o.server, 'https://b.example:6443');
    await assert.rejects(createKubeClient({ kubeconfig: join(dir, 'a.yaml'), context: 'nope' }), /context nope not found/);
  });

  it('merges a KUBECONFIG list, the first file setting the current context', async () => {
    const c = await createKubeClient({ env: { KUBECONFIG: `${join(dir, 'a.yaml')}:${join(dir, 'b.yaml')}` } });
    assert.equal(c.source, 'kubeconfig-env');
    assert.equal(c.server, 'https://a.example:6443');
    const third = await createKubeClient({ env: { KUBECONFIG: `${join(dir, 'a.yaml')}:${join(dir, 'b.yaml')}` }, context: 'third' });
    assert.equal(third.server, 'https://c.example:6443');
  });

  it('builds the in-cluster configuration from the env parameter and the service account mount', async () => {
    const c = await createKubeClient({ env: { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
    assert.equal(c.source, 'in-cluster');
    assert.equal(c.server, 'https://[fd00:10:96::1]:443');
    assert.equal(c.namespace, 'portico-system');
  });

  it('fails with KubeConfigError naming the source for unusable input', async () => {
    await assert.rejects(createKubeClient({ kubeconfig: join(dir, 'missing.yaml') }), (e: unknown) => e instanceof KubeConfigError && e.message.includes('kubeconfig-flag') && e.message.includes('missing.yaml'));
    await assert.rejects(createKubeClient({ kubeconfig: join(dir, 'broken.yaml') }), (e: unknown) => e instanceof KubeConfigError && e.message.includes('broken.yaml'));
    await assert.rejects(createKubeClient({ env: {}, serviceAccountDir: join(dir, 'none') }), (e: unknown) => e instanceof KubeConfigError && e.code === 'KUBE_CONFIG');
  });
});
