// T2: a watch whose connection goes silent without closing (half-open: a NAT or load balancer
// dropped it) is detected by the inactivity timeout and resumed from its resourceVersion, without
// a relist; changes made while it was silent arrive.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type KubeObject, ListWatch, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { configMap, CuttableProxy, proxiedSetup, type ProxiedSetup, waitUntil } from './helpers.ts';

describe('ListWatch against a real API server: half-open connection', () => {
  let admin: LoadedKubeClient;
  let viaProxy: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };
  let proxy: CuttableProxy;
  let setup: ProxiedSetup | undefined;

  beforeAll(async () => {
    setup = await proxiedSetup('inactive');
    ({ admin, viaProxy, ns, proxy } = setup);
  });
  afterAll(async () => {
    await setup?.close();
  });

  it('reconnects after the inactivity timeout and delivers what changed meanwhile', async () => {
    const lw = new ListWatch<KubeObject>(viaProxy, Resources.ConfigMap, { namespace: ns.name, inactivityTimeoutMs: 4_000 });
    lw.start();
    try {
      await lw.waitForSync({ timeoutMs: 30_000 });
      await admin.create(Resources.ConfigMap, configMap(ns.name, 'before'));
      await waitUntil(() => lw.get(ns.name, 'before') !== undefined, 10_000, 'the live add');
      const frozenAt = Date.now();
      proxy.freeze(); // the watch connection stays open but silent
      await admin.create(Resources.ConfigMap, configMap(ns.name, 'while-silent'));
      await waitUntil(() => lw.get(ns.name, 'while-silent') !== undefined, 30_000, 'the add made while the connection was silent');
      console.log(`detected and resumed ${Date.now() - frozenAt} ms after the connection went silent (timeout 4000 ms)`);
      // The inactivity clock starts at the last byte received, which is up to one waitUntil poll
      // (100 ms) before frozenAt: a resume 3993 ms after frozenAt was seen, and is correct.
      assert.ok(Date.now() - frozenAt >= 4_000 - 100, 'the event cannot have arrived over the frozen connection');
      assert.equal(lw.stats.watchRestarts.inactivity, 1);
      assert.equal(lw.stats.relists, 0, 'resumed from the resourceVersion, no relist');
    } finally {
      await lw.stop();
    }
  });
});
