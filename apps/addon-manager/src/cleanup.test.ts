import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { type KubeObject } from '@portico/kube';
import { FakeKube } from '@portico/kube/testing';
import { ApplySet, Helm } from '@portico/addon';
import { createLogger } from '@portico/service-kit';
import { AddonResource } from './addon-controller.ts';
import { cleanupAddons } from './cleanup.ts';
import { HelmChartConfigResource, HelmChartResource } from './helm-controller.ts';

const log = createLogger({ app: 'test', level: 'silent' });
const ME = 'portico-addon-manager';

const chart = (ns: string, name: string, managedBy: string): KubeObject & { spec?: unknown } => ({
  apiVersion: 'helm.cattle.io/v1',
  kind: 'HelmChart',
  metadata: { name, namespace: ns, annotations: { [Helm.managedBy]: managedBy }, finalizers: [Helm.finalizer] },
  spec: { chart: name },
});
const config = (ns: string, name: string): KubeObject & { spec?: unknown } => ({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name, namespace: ns }, spec: { valuesContent: 'a: 1' } });
const addon = (name: string, tooling?: string): KubeObject & { spec?: unknown } => ({
  apiVersion: 'k3s.cattle.io/v1',
  kind: 'Addon',
  metadata: { name, namespace: 'kube-system', annotations: tooling ? { [ApplySet.tooling]: tooling } : {} },
  spec: { source: `/m/${name}.yaml` },
});

function cluster(): FakeKube {
  const fake = new FakeKube({ resources: [HelmChartResource, HelmChartConfigResource, AddonResource] });
  fake.put(
    chart('kube-system', 'traefik', ME),
    chart('apps', 'mine', ME),
    chart('kube-system', 'k3s-owned', 'helm-controller'),
    config('kube-system', 'traefik'),
    config('kube-system', 'k3s-owned'),
    config('apps', 'orphan'),
    addon('coredns', ApplySet.porticoTooling),
    addon('user-thing', ApplySet.porticoTooling),
    addon('k3s-deploy'),
  );
  return fake;
}

/** What the running HelmChart loop does: a deleting chart of ours loses its finalizer after `ms` (its delete Job ran). */
function helmLoop(fake: FakeKube, ms: number): () => void {
  let on = true;
  void (async () => {
    while (on) {
      for (const c of (await fake.client.list(HelmChartResource)).items) {
        if (c.metadata?.deletionTimestamp && c.metadata.annotations?.[Helm.managedBy] === ME) {
          await new Promise((r) => setTimeout(r, ms));
          await fake.client.patch(HelmChartResource, { namespace: c.metadata.namespace, name: c.metadata.name! }, { metadata: { finalizers: null } }, { type: 'merge' });
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return () => {
    on = false;
  };
}

const ids = async (fake: FakeKube, res: typeof HelmChartResource): Promise<string[]> => (await fake.client.list(res)).items.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`).sort();

describe('addon-manager cleanup (the chart\'s pre-delete hook)', () => {
  it('deletes its HelmCharts and waits for their uninstall, then their configs and orphans, then its Addons; another controller\'s charts stay', async () => {
    const fake = cluster();
    const stop = helmLoop(fake, 100);
    try {
      const r = await cleanupAddons({ client: fake.client, log, controllerName: ME, timeoutMs: 5000, pollMs: 20 });
      assert.deepEqual([...r.helmCharts].sort(), ['apps/mine', 'kube-system/traefik']);
      assert.deepEqual([...r.helmChartConfigs].sort(), ['apps/orphan', 'kube-system/traefik']);
      assert.deepEqual([...r.addons].sort(), ['kube-system/coredns', 'kube-system/user-thing']);
    } finally {
      stop();
    }
    assert.deepEqual(await ids(fake, HelmChartResource), ['kube-system/k3s-owned']);
    assert.deepEqual(await ids(fake, HelmChartConfigResource), ['kube-system/k3s-owned']);
    assert.deepEqual(await ids(fake, AddonResource), ['kube-system/k3s-deploy']);
  });

  it('fails after the timeout, naming the HelmCharts still there, when their uninstall does not finish (addon-manager not running)', async () => {
    const fake = cluster();
    await assert.rejects(cleanupAddons({ client: fake.client, log, controllerName: ME, timeoutMs: 300, pollMs: 20 }), /timed out after 300ms waiting for HelmCharts .*still there: apps\/mine, kube-system\/traefik/);
    assert.deepEqual(await ids(fake, AddonResource), ['kube-system/coredns', 'kube-system/k3s-deploy', 'kube-system/user-thing'], 'nothing after the failed step was deleted');
  });

  it('--objects splits the work between the hooks: charts (pre-delete) leaves the Addons, addons (post-delete) leaves the HelmCharts', async () => {
    const fake = cluster();
    const stop = helmLoop(fake, 10);
    try {
      const charts = await cleanupAddons({ client: fake.client, log, controllerName: ME, timeoutMs: 5000, pollMs: 20, objects: 'charts' });
      assert.deepEqual(charts.addons, []);
      assert.equal((await ids(fake, AddonResource)).length, 3);
    } finally {
      stop();
    }
    const fresh = cluster();
    const addons = await cleanupAddons({ client: fresh.client, log, controllerName: ME, timeoutMs: 300, objects: 'addons' });
    assert.deepEqual([...addons.addons].sort(), ['kube-system/coredns', 'kube-system/user-thing']);
    assert.deepEqual(addons.helmCharts, []);
    assert.equal((await ids(fresh, HelmChartResource)).length, 3, 'no HelmChart touched, no wait for a HelmChart loop');
  });

  it('without the CRDs there is nothing to do', async () => {
    const fake = new FakeKube();
    assert.deepEqual(await cleanupAddons({ client: fake.client, log, controllerName: ME, timeoutMs: 300 }), { helmCharts: [], helmChartConfigs: [], addons: [] });
  });
});
