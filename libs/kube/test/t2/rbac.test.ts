// T2: a client built from a ServiceAccount token (TokenRequest API) with a narrow Role can
// list-watch what it is granted and gets a typed 403 (ForbiddenError) for everything else.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { createKubeClient, ForbiddenError, type KubeObject, ListWatch, type LoadedKubeClient, Resources } from '../../src/index.ts';
import { RecordingLogger } from '../../src/testing/index.ts';
import { adminClient, clusterOf, configMap, testNamespace, waitUntil } from './helpers.ts';

describe('RBAC: a ServiceAccount token client', () => {
  let admin: LoadedKubeClient;
  let limited: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };
  let other: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    admin = await adminClient();
    ns = await testNamespace(admin, 'rbac');
    other = await testNamespace(admin, 'rbac-other');
    await admin.create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { namespace: ns.name, name: 'reader' } });
    await admin.create(Resources.Role, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { namespace: ns.name, name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    } as KubeObject);
    await admin.create(Resources.RoleBinding, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { namespace: ns.name, name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns.name }],
    } as KubeObject);
    const tr = await admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${ns.name}/serviceaccounts/reader/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    assert.ok(tr.status.token, 'TokenRequest returned no token');
    const { server, caData } = clusterOf();
    limited = await createKubeClient({ explicit: { server, caData, token: tr.status.token } });
  });
  afterAll(async () => {
    limited?.close();
    await other?.cleanup();
    await ns?.cleanup();
    admin?.close();
  });

  it('list-watches the granted resource in its namespace', async () => {
    assert.equal(limited.source, 'explicit');
    const lw = new ListWatch(limited, Resources.ConfigMap, { namespace: ns.name });
    lw.start();
    try {
      await lw.waitForSync({ timeoutMs: 30_000 });
      await admin.create(Resources.ConfigMap, configMap(ns.name, 'granted'));
      await waitUntil(() => lw.get(ns.name, 'granted') !== undefined, 15_000, 'the watch event for the new ConfigMap');
      assert.equal(lw.stats.watchRestarts.error, 0);
    } finally {
      await lw.stop();
    }
  });

  it('gets ForbiddenError (403) for verbs, resources and namespaces it was not granted', async () => {
    const denied: [string, () => Promise<unknown>][] = [
      ['create configmap', () => limited.create(Resources.ConfigMap, configMap(ns.name, 'nope'))],
      ['list secrets', () => limited.list(Resources.Secret, { namespace: ns.name })],
      ['list configmaps in another namespace', () => limited.list(Resources.ConfigMap, { namespace: other.name })],
      ['list configmaps cluster-wide', () => limited.list(Resources.ConfigMap)],
      ['delete configmap', () => limited.delete(Resources.ConfigMap, { namespace: ns.name, name: 'granted' })],
    ];
    for (const [what, call] of denied) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ForbiddenError, `${what}: expected ForbiddenError, got ${String(err)}`);
      assert.equal(err.status, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.match(err.message, /system:serviceaccount:/);
    }
  });

  it('a ListWatch on a forbidden resource keeps retrying, logs the 403, and never syncs', async () => {
    const logger = new RecordingLogger();
    const lw = new ListWatch(limited, Resources.Secret, { namespace: ns.name, logger, backoff: { initialMs: 100, maxMs: 500 } });
    lw.start();
    try {
      await assert.rejects(lw.waitForSync({ timeoutMs: 3_000 }), /not synced/);
      const failures = logger.records.filter((r) => (r.obj as { event?: string }).event === 'listFailed');
      assert.ok(failures.length >= 2, `expected repeated list attempts, got ${failures.length}`);
      assert.ok(failures.every((r) => (r.obj as { err?: unknown }).err instanceof ForbiddenError));
    } finally {
      await lw.stop();
    }
  });
});
