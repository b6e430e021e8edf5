// T2: a ListWatch of 5,000 ConfigMaps, listed in pages of 500, then kept current by its watch.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type KubeObject, ListWatch, type LoadedKubeClient, Resources, stripManagedFields } from '../../src/index.ts';
import { adminClient, configMap, pool, testNamespace, versions, waitUntil } from './helpers.ts';

const COUNT = 5000;
// The namespace also holds kube-root-ca.crt (written by kube-controller-manager): select ours by label.
const SELECTOR = 'portico.test/set=pages';

function labelled<T extends KubeObject>(o: T): T {
  return { ...o, metadata: { ...o.metadata, labels: { 'portico.test/set': 'pages' } } };
}
const PAGE = 500;

describe('ListWatch against a real API server: pagination', () => {
  let client: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    client = await adminClient();
    ns = await testNamespace(client, 'pages');
  });
  afterAll(async () => {
    await ns?.cleanup();
    client?.close();
  });

  it(`lists ${COUNT} ConfigMaps in pages of ${PAGE} and ends with exactly ${COUNT} in the cache`, async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `cm-${String(i).padStart(5, '0')}`);
    const created = Date.now();
    await pool(names, 32, async (name, i) => {
      await client.create(Resources.ConfigMap, labelled(configMap(ns.name, name, { i: String(i) })));
    });
    console.log(`created ${COUNT} ConfigMaps in ${Date.now() - created} ms`);

    const lists: { pages: number; items: number; durationMs: number }[] = [];
    const lw = new ListWatch<KubeObject & { data?: Record<string, string> }>(client, Resources.ConfigMap, {
      namespace: ns.name,
      labelSelector: SELECTOR,
      pageSize: PAGE,
      transform: stripManagedFields,
      metrics: { list: (i) => lists.push(i) },
    });
    let adds = 0;
    lw.onChange((ev) => {
      if (ev.type === 'add') adds++;
    });
    try {
      const started = Date.now();
      lw.start();
      await lw.waitForSync({ timeoutMs: 120_000 });
      const listMs = Date.now() - started;
      console.log(`ListWatch synced ${lw.size} ConfigMaps in ${listMs} ms (LIST ${lists[0]?.durationMs} ms, ${lw.stats.pages} pages)`);
      assert.equal(lw.size, COUNT);
      assert.equal(adds, COUNT);
      assert.ok(lw.stats.pages >= COUNT / PAGE, `expected at least ${COUNT / PAGE} LIST pages, got ${lw.stats.pages}`);
      assert.equal(lists.length, 1);
      assert.equal(lists[0]!.items, COUNT);
      assert.equal(lw.get(ns.name, 'cm-04999')?.data?.['i'], '4999');
      assert.equal(lw.get(ns.name, 'cm-00000')?.metadata?.managedFields, undefined, 'managedFields stripped');

      // The watch keeps the cache exact: update, delete, create, then compare with a fresh LIST.
      await client.patch(Resources.ConfigMap, { namespace: ns.name, name: 'cm-00001' }, { data: { i: 'changed' } }, { type: 'merge' });
      await client.delete(Resources.ConfigMap, { namespace: ns.name, name: 'cm-00002' });
      await client.create(Resources.ConfigMap, labelled(configMap(ns.name, 'cm-new')));
      await client.create(Resources.ConfigMap, configMap(ns.name, 'cm-unlabelled'));
      const fresh = await client.listAll(Resources.ConfigMap, { namespace: ns.name, labelSelector: SELECTOR, limit: PAGE });
      assert.equal(fresh.items.length, COUNT);
      await waitUntil(() => lw.size === fresh.items.length && lw.get(ns.name, 'cm-new') !== undefined && lw.get(ns.name, 'cm-00002') === undefined, 30_000, 'the watch to deliver the changes');
      assert.deepEqual(versions(lw.list()), versions(fresh.items));
      assert.equal(lw.get(ns.name, 'cm-unlabelled'), undefined, 'the label selector applies to the watch too');
      assert.equal(lw.stats.relists, 0);
    } finally {
      await lw.stop();
    }
  });
});
