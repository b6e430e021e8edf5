// T2: server-side apply, status subresource, finalizers with preconditions, discovery, typed errors.

import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import {
  addFinalizer,
  ApplyConflictError,
  ConflictError,
  type KubeObject,
  type LoadedKubeClient,
  NotFoundError,
  removeFinalizer,
  Resources,
} from '../../src/index.ts';
import { adminClient, configMap, testNamespace } from './helpers.ts';

type CM = KubeObject & { data?: Record<string, string> };
interface Svc extends KubeObject {
  spec?: { type?: string; ports?: { port: number; protocol?: string }[]; selector?: Record<string, string> };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

describe('server-side apply against a real API server', () => {
  let client: LoadedKubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    client = await adminClient();
    ns = await testNamespace(client, 'apply');
  });
  afterAll(async () => {
    await ns?.cleanup();
    client?.close();
  });

  it('creates, re-applies without a change, surfaces a conflict as ApplyConflictError, and force takes over', async () => {
    const desired = configMap(ns.name, 'ssa', { key: 'a', other: 'x' });
    const created = await client.apply<CM>(desired, { fieldManager: 'portico-a' });
    const rv1 = created.metadata!.resourceVersion!;
    assert.equal(created.data?.['key'], 'a');
    assert.deepEqual(
      created.metadata!.managedFields!.map((m) => [m.manager, m.operation]),
      [['portico-a', 'Apply']],
    );

    const again = await client.apply<CM>(desired, { fieldManager: 'portico-a' });
    assert.equal(again.metadata!.resourceVersion, rv1, 're-applying the same object must not change the resourceVersion');

    const err = await client.apply<CM>(configMap(ns.name, 'ssa', { key: 'b' }), { fieldManager: 'portico-b' }).then(
      () => assert.fail('expected a conflict'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyConflictError, `expected ApplyConflictError, got ${String(err)}`);
    assert.ok(err instanceof ConflictError);
    assert.equal(err.status, 409);
    assert.deepEqual(err.managers, ['portico-a']);
    assert.deepEqual(
      err.conflicts.map((c) => c.field),
      ['.data.key'],
    );
    assert.equal((await client.get<CM>(Resources.ConfigMap, { namespace: ns.name, name: 'ssa' })).data?.['key'], 'a', 'a failed apply changes nothing');

    const forced = await client.apply<CM>(configMap(ns.name, 'ssa', { key: 'b' }), { fieldManager: 'portico-b', force: true });
    assert.equal(forced.data?.['key'], 'b');
    assert.equal(forced.data?.['other'], 'x', 'fields of portico-a that portico-b did not apply stay');
    const managers = Object.fromEntries(forced.metadata!.managedFields!.map((m) => [m.manager, JSON.stringify(m.fieldsV1)]));
    assert.ok(managers['portico-b']?.includes('"f:key"'), 'portico-b now owns data.key');
    assert.ok(managers['portico-a'] && !managers['portico-a'].includes('"f:key"'), 'portico-a lost data.key but keeps data.other');

    // A manager that stops applying a field it owns alone removes it.
    const shrunk = await client.apply<CM>(configMap(ns.name, 'ssa', {}), { fieldManager: 'portico-a' });
    assert.equal(shrunk.data?.['other'], undefined);
    assert.equal(shrunk.data?.['key'], 'b');
  });

  it('applies and merge-patches the status subresource without touching spec, and main applies do not touch status', async () => {
    const svc: Svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: ns.name, name: 'lb' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }], selector: { app: 'x' } },
    };
    await client.apply<Svc>(svc, { fieldManager: 'portico-spec' });
    const withStatus = await client.apply<Svc>(
      { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns.name, name: 'lb' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } } },
      { fieldManager: 'portico-status', subresource: 'status' },
    );
    assert.deepEqual(withStatus.status?.loadBalancer?.ingress?.map((i) => i.ip), ['192.0.2.10']);
    assert.equal(withStatus.spec?.type, 'LoadBalancer');
    const statusEntry = withStatus.metadata!.managedFields!.find((m) => m.manager === 'portico-status');
    assert.equal(statusEntry?.subresource, 'status');

    const patched = await client.patch<Svc>(Resources.Service, { namespace: ns.name, name: 'lb' }, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.11' }] } } }, { type: 'merge', subresource: 'status' });
    assert.deepEqual(patched.status?.loadBalancer?.ingress?.map((i) => i.ip), ['192.0.2.11']);

    // Status sent to the main resource is ignored by the server.
    const main = await client.apply<Svc>({ ...svc, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } }, { fieldManager: 'portico-spec' });
    assert.deepEqual(main.status?.loadBalancer?.ingress?.map((i) => i.ip), ['192.0.2.11']);
  });

  it('adds and removes finalizers with a resourceVersion precondition (stale object → ConflictError)', async () => {
    const obj = await client.create<CM>(Resources.ConfigMap, configMap(ns.name, 'fin'));
    // Whatever happens below, do not leave a finalizer behind: it would keep the namespace Terminating.
    try {
      const withFin = await addFinalizer(client, Resources.ConfigMap, obj, 'portico.test/cleanup');
      assert.deepEqual(withFin.metadata?.finalizers, ['portico.test/cleanup']);
      assert.equal(await addFinalizer(client, Resources.ConfigMap, withFin, 'portico.test/cleanup'), withFin, 'present already: no request');
      // `obj` is stale now: its resourceVersion precedes the finalizer write.
      await assert.rejects(addFinalizer(client, Resources.ConfigMap, obj, 'portico.test/other'), ConflictError);
      await assert.rejects(client.delete(Resources.ConfigMap, { namespace: ns.name, name: 'fin' }, { preconditions: { resourceVersion: obj.metadata!.resourceVersion! } }), ConflictError);

      await client.delete(Resources.ConfigMap, { namespace: ns.name, name: 'fin' });
      const deleting = await client.get<CM>(Resources.ConfigMap, { namespace: ns.name, name: 'fin' });
      assert.ok(deleting.metadata?.deletionTimestamp, 'a finalizer holds the object in deletion');
      await removeFinalizer(client, Resources.ConfigMap, deleting, 'portico.test/cleanup');
      await assert.rejects(client.get(Resources.ConfigMap, { namespace: ns.name, name: 'fin' }), NotFoundError);
    } finally {
      await client.patch(Resources.ConfigMap, { namespace: ns.name, name: 'fin' }, { metadata: { finalizers: null } }, { type: 'merge' }).catch(() => undefined);
    }
  });

  it('applies a kind outside the static table through API discovery', async () => {
    const res = await client.resource('scheduling.k8s.io/v1', 'PriorityClass');
    assert.deepEqual({ plural: res.plural, namespaced: res.namespaced }, { plural: 'priorityclasses', namespaced: false });
    const name = `${ns.name}-pc`;
    try {
      const pc = await client.apply<KubeObject & { value?: number }>({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value: 1000 } as KubeObject, { fieldManager: 'portico-a' });
      assert.equal(pc.value, 1000);
    } finally {
      await client.delete(res, { name }).catch(() => undefined);
    }
    await assert.rejects(client.resource('example.invalid/v1', 'Nope'), /404|NotFound|no resource/);
  });
});
