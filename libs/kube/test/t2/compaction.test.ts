// T2: etcd compaction (e2e/t2/compact-etcd) while a ListWatch is disconnected → its resume gets
// 410 Gone → it relists and diffs: every change made while it was away arrives, including a delete.
//
// The ListWatch talks to the API server through a TCP proxy the test can cut, so only this client
// is disconnected while the admin client keeps writing.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type ChangeEvent, type KubeObject, ListWatch, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { configMap, CuttableProxy, proxiedSetup, type ProxiedSetup, runT2Script, versions, waitUntil } from './helpers.ts';

type CM = KubeObject & { data?: Record<string, string> };
const SELECTOR = 'portico.test/set=compaction';

function labelled(o: CM): CM {
  return { ...o, metadata: { ...o.metadata, labels: { 'portico.test/set': 'compaction' } } };
}

describe('ListWatch against a real API server: etcd compaction', () => {
  let admin: LoadedKubeClient;
  let viaProxy: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };
  let proxy: CuttableProxy;
  let setup: ProxiedSetup | undefined;

  beforeAll(async () => {
    setup = await proxiedSetup('compact');
    ({ admin, viaProxy, ns, proxy } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });

  it('relists after 410 and reports the delete, update and add made while disconnected', async () => {
    for (const name of ['keep', 'gone', 'change']) await admin.create(Resources.ConfigMap, labelled(configMap(ns.name, name, { v: '1' })));
    const lw = new ListWatch<CM>(viaProxy, Resources.ConfigMap, {
      namespace: ns.name,
      labelSelector: SELECTOR,
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    const events: ChangeEvent<CM>[] = [];
    lw.onChange((ev) => events.push(ev));
    lw.start();
    try {
      await lw.waitForSync({ timeoutMs: 30_000 });
      await waitUntil(() => lw.stats.watches >= 1, 10_000, 'the watch');
      // A change seen live, so the resourceVersion the watch holds is a real one from the stream.
      await admin.patch(Resources.ConfigMap, { namespace: ns.name, name: 'keep' }, { data: { v: 'live' } }, { type: 'merge' });
      await waitUntil(() => lw.get(ns.name, 'keep')?.data?.['v'] === 'live', 10_000, 'the live update');
      const heldRv = lw.resourceVersion;
      events.length = 0;

      // Disconnect the ListWatch only; change things; compact etcd past them and restart the
      // apiserver so its watch cache forgets the window too (see e2e/t2/compact-etcd --help).
      proxy.cut();
      await admin.delete(Resources.ConfigMap, { namespace: ns.name, name: 'gone' });
      await admin.patch(Resources.ConfigMap, { namespace: ns.name, name: 'change' }, { data: { v: '2' } }, { type: 'merge' });
      await admin.create(Resources.ConfigMap, labelled(configMap(ns.name, 'new', { v: '1' })));
      const rev = (await runT2Script('compact-etcd', ['--reset-watch-cache'])).trim().split('\n').pop();
      console.log(`compacted etcd at revision ${rev}; the ListWatch holds resourceVersion ${heldRv}`);
      assert.ok(Number(rev) > Number(heldRv), 'compaction must be past the resourceVersion the watch will resume from');
      proxy.resume();

      await waitUntil(() => lw.stats.relists >= 1, 60_000, 'a relist after 410');
      const fresh = await admin.listAll<CM>(Resources.ConfigMap, { namespace: ns.name, labelSelector: SELECTOR });
      await waitUntil(() => JSON.stringify(versions(lw.list())) === JSON.stringify(versions(fresh.items)), 30_000, 'the cache to equal a fresh LIST');
      const log = events.map((e) => `${e.type}:${e.object.metadata?.name}${e.type === 'delete' && e.finalStateUnknown ? '(unknown)' : ''}`);
      console.log(`events after reconnect: ${log.join(', ')}; stats ${JSON.stringify(lw.stats)}`);
      assert.deepEqual(log, ['update:change', 'delete:gone(unknown)', 'add:new']);
      assert.ok(lw.stats.watchRestarts.gone >= 1, 'the resume was answered with 410 Gone');
      const del = events.find((e) => e.type === 'delete');
      assert.equal(del?.object.data?.['v'], '1', 'the delete carries the last known state');
    } finally {
      await lw.stop();
    }
  });
});
