// T2: a ListWatch survives a kube-apiserver restart (e2e/t2/restart-apiserver): changes made
// before, during and after the restart all reach the cache; nothing is lost.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type KubeObject, ListWatch, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { adminClient, configMap, runT2Script, testNamespace, versions, waitUntil } from './helpers.ts';

type CM = KubeObject & { data?: Record<string, string> };
const SELECTOR = 'portico.test/set=restart';

function labelled(o: CM): CM {
  return { ...o, metadata: { ...o.metadata, labels: { 'portico.test/set': 'restart' } } };
}

describe('ListWatch against a real API server: apiserver restart', () => {
  let client: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    client = await adminClient();
    ns = await testNamespace(client, 'restart');
  });
  afterAll(async () => {
    await ns?.cleanup();
    client?.close();
  });

  it('delivers every change made during and after a restart (cache equals a fresh LIST)', async () => {
    for (let i = 0; i < 20; i++) await client.create(Resources.ConfigMap, labelled(configMap(ns.name, `before-${i}`, { v: '0' })));
    const lw = new ListWatch<CM>(client, Resources.ConfigMap, {
      namespace: ns.name,
      labelSelector: SELECTOR,
      // Short backoff so reconnects are quick once the server is back.
      backoff: { initialMs: 200, maxMs: 2000 },
    });
    const seen = new Set<string>();
    lw.onChange((ev) => seen.add(`${ev.type}:${ev.object.metadata?.name}`));
    lw.start();
    try {
      await lw.waitForSync({ timeoutMs: 30_000 });
      await waitUntil(() => lw.stats.watches >= 1, 10_000, 'the first watch');

      // A writer that keeps changing things through the restart. Writes that hit the down server
      // fail and are simply not made; the final comparison is against the server's own LIST.
      let stop = false;
      let made = 0;
      let failed = 0;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          try {
            if (i % 3 === 0) await client.create(Resources.ConfigMap, labelled(configMap(ns.name, `during-${i}`, { v: String(i) })));
            else if (i % 3 === 1) await client.patch(Resources.ConfigMap, { namespace: ns.name, name: `before-${i % 20}` }, { data: { v: String(i) } }, { type: 'merge' });
            else await client.delete(Resources.ConfigMap, { namespace: ns.name, name: `during-${i - 2}` });
            made++;
          } catch {
            failed++;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await new Promise((r) => setTimeout(r, 1000));
      const restarted = Date.now();
      await runT2Script('restart-apiserver', ['--down-for', '3']);
      console.log(`apiserver restart took ${Date.now() - restarted} ms`);
      await new Promise((r) => setTimeout(r, 2000));
      stop = true;
      await writer;
      console.log(`writer: ${made} changes made, ${failed} failed while the server was down`);
      assert.ok(failed > 0, 'some writes must have hit the stopped server (else the restart did not happen)');

      // After the restart: a delete, an update and a create the watch must deliver.
      await client.delete(Resources.ConfigMap, { namespace: ns.name, name: 'before-0' });
      await client.patch(Resources.ConfigMap, { namespace: ns.name, name: 'before-5' }, { data: { v: 'after' } }, { type: 'merge' });
      await client.create(Resources.ConfigMap, labelled(configMap(ns.name, 'after-1')));

      const fresh = await client.listAll<CM>(Resources.ConfigMap, { namespace: ns.name, labelSelector: SELECTOR });
      await waitUntil(() => JSON.stringify(versions(lw.list())) === JSON.stringify(versions(fresh.items)), 60_000, 'the cache to equal a fresh LIST');
      assert.deepEqual(versions(lw.list()), versions(fresh.items));
      assert.ok(seen.has('delete:before-0') && seen.has('add:after-1') && seen.has('update:before-5'), 'changes after the restart arrived as events');
      assert.equal(lw.get(ns.name, 'before-5')?.data?.['v'], 'after');
      const restarts = lw.stats.watchRestarts;
      console.log(`watch restarts ${JSON.stringify(restarts)}, relists ${lw.stats.relists}, watches ${lw.stats.watches}`);
      assert.ok(lw.stats.watches >= 2, 'the watch was re-established');
      assert.ok(restarts.closed + restarts.error + restarts.gone + restarts.inactivity >= 1, 'the restart cut the watch');
    } finally {
      await lw.stop();
    }
  });
});
