import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { RestKubeClient } from './client.ts';
import { FakeClock, flush } from '@portico/runner/testing';
import {
  AlreadyExistsError,
  apiErrorFrom,
  ApplyConflictError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  isConflict,
  isGone,
  isNotFound,
  KubeApiError,
  KubeTimeoutError,
  KubeTransportError,
  NotFoundError,
} from './errors.ts';
import { FakeKube } from './testing/index.ts';
import { addFinalizer, deleteIfExists, getOrUndefined, removeFinalizer } from './objects.ts';
import { resourcePath, Resources, staticResourceFor } from './resources.ts';
import type { HttpTransport } from './transport.ts';
import type { KubeObject } from './types.ts';

const cm = (name: string, data: Record<string, string> = {}): KubeObject & { data: Record<string, string> } => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name }, data });

describe('apiErrorFrom', () => {
  const status = (code: number, reason: string, extra: object = {}): string => JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: `m${code}`, ...extra });
  it('maps HTTP answers to typed errors with reason, message and request', () => {
    const cases: [number, string, new (...a: never[]) => KubeApiError][] = [
      [403, 'Forbidden', ForbiddenError],
      [404, 'NotFound', NotFoundError],
      [409, 'AlreadyExists', AlreadyExistsError],
      [409, 'Conflict', ConflictError],
      [410, 'Expired', GoneError],
      [422, 'Invalid', InvalidError],
      [500, 'InternalError', KubeApiError],
    ];
    for (const [code, reason, cls] of cases) {
      const e = apiErrorFrom(code, status(code, reason), 'GET /x');
      assert.ok(e instanceof cls, `${code} ${reason} → ${cls.name}, got ${e.constructor.name}`);
      assert.equal(e.status, code);
      assert.equal(e.reason, reason);
      assert.equal(e.message, `GET /x: ${code} ${reason}: m${code}`);
    }
    assert.equal(apiErrorFrom(502, '<html>bad gateway</html>', 'GET /y').reason, 'HTTP502');
    assert.equal(apiErrorFrom(404, '', 'GET /z').message, 'GET /z: 404 NotFound: (empty body)');
    assert.ok(isNotFound(apiErrorFrom(404, '', 'GET /z')));
    assert.ok(isGone(apiErrorFrom(410, '', 'GET /z')));
    assert.ok(isConflict(apiErrorFrom(409, status(409, 'AlreadyExists'), 'POST /z')));
  });

  it('parses server-side apply conflicts into managers and fields', () => {
    const body = status(409, 'Conflict', {
      message: 'Apply failed with 2 conflicts: conflict with "kubectl" using v1: .data.a, conflict with "helm" with subresource "status" using v1: .status.x',
      details: {
        causes: [
          { type: 'FieldManagerConflict', message: 'conflict with "kubectl" using v1', field: '.data.a' },
          { type: 'FieldManagerConflict', message: 'conflict with "helm" with subresource "status" using v1', field: '.status.x' },
        ],
      },
    });
    const e = apiErrorFrom(409, body, 'PATCH /cm', true);
    assert.ok(e instanceof ApplyConflictError);
    assert.ok(e instanceof ConflictError, 'an apply conflict is also a ConflictError');
    assert.deepEqual(e.managers, ['helm', 'kubectl']);
    assert.deepEqual(
      e.conflicts.map((c) => `${c.manager} ${c.field}`),
      ['kubectl .data.a', 'helm .status.x'],
    );
    assert.equal(e.code, 'KUBE_APPLY_CONFLICT');
  });
});

describe('resources', () => {
  it('builds collection, object and subresource paths', () => {
    assert.equal(resourcePath(Resources.ConfigMap, { namespace: 'a' }), '/api/v1/namespaces/a/configmaps');
    assert.equal(resourcePath(Resources.ConfigMap), '/api/v1/configmaps');
    assert.equal(resourcePath(Resources.Service, { namespace: 'a', name: 'b', subresource: 'status' }), '/api/v1/namespaces/a/services/b/status');
    assert.equal(resourcePath(Resources.Node, { name: 'n 1' }), '/api/v1/nodes/n%201');
    assert.equal(resourcePath(Resources.Lease, { namespace: 'x', name: 'l' }), '/apis/coordination.k8s.io/v1/namespaces/x/leases/l');
    assert.equal(resourcePath(Resources.ClusterRole, { name: 'r' }), '/apis/rbac.authorization.k8s.io/v1/clusterroles/r');
    assert.throws(() => resourcePath(Resources.Pod, { name: 'p' }), /namespace is required/);
    assert.equal(staticResourceFor('discovery.k8s.io/v1', 'EndpointSlice')?.plural, 'endpointslices');
    assert.equal(staticResourceFor('v1', 'Nope'), undefined);
  });
});

describe('RestKubeClient (against FakeKube)', () => {
  it('creates, gets, lists across pages, replaces with optimistic concurrency, patches and deletes', async () => {
    const fake = new FakeKube();
    const c = fake.client;
    const created = await c.create(Resources.ConfigMap, cm('a', { k: '1' }));
    assert.ok(created.metadata?.uid);
    await assert.rejects(c.create(Resources.ConfigMap, cm('a')), AlreadyExistsError);
    for (let i = 0; i < 4; i++) await c.create(Resources.ConfigMap, cm(`b${i}`));
    const all = await c.listAll(Resources.ConfigMap, { namespace: 'ns', limit: 2 });
    assert.equal(all.items.length, 5);
    assert.equal(all.pages, 3);
    const got = await c.get<ReturnType<typeof cm>>(Resources.ConfigMap, { namespace: 'ns', name: 'a' });
    const replaced = await c.replace(Resources.ConfigMap, { ...got, data: { k: '2' } });
    await assert.rejects(c.replace(Resources.ConfigMap, { ...got, data: { k: '3' } }), ConflictError, 'stale resourceVersion');
    const merged = await c.patch<ReturnType<typeof cm>>(Resources.ConfigMap, { namespace: 'ns', name: 'a' }, { data: { extra: 'x' } }, { type: 'merge' });
    assert.deepEqual(merged.data, { k: '2', extra: 'x' });
    const jsonPatched = await c.patch<ReturnType<typeof cm>>(Resources.ConfigMap, { namespace: 'ns', name: 'a' }, [{ op: 'test', path: '/data/k', value: '2' }, { op: 'remove', path: '/data/extra' }], { type: 'json' });
    assert.deepEqual(jsonPatched.data, { k: '2' });
    await assert.rejects(c.patch(Resources.ConfigMap, { namespace: 'ns', name: 'a' }, [{ op: 'test', path: '/data/k', value: 'nope' }], { type: 'json' }), InvalidError);
    assert.equal(fake.requests.at(-1)!.contentType, 'application/json-patch+json');
    await assert.rejects(c.delete(Resources.ConfigMap, { namespace: 'ns', name: 'a' }, { preconditions: { resourceVersion: replaced.metadata!.resourceVersion! } }), ConflictError);
    await c.delete(Resources.ConfigMap, { namespace: 'ns', name: 'a' });
    await assert.rejects(c.get(Resources.ConfigMap, { namespace: 'ns', name: 'a' }), NotFoundError);
  });

  it('sends server-side apply with the apply content type, field manager and force', async () => {
    const fake = new FakeKube();
    await fake.client.apply(cm('x', { a: '1' }), { fieldManager: 'portico-test', force: true });
    const req = fake.requests.at(-1)!;
    assert.equal(req.method, 'PATCH');
    assert.equal(req.path, '/api/v1/namespaces/ns/configmaps/x');
    assert.equal(req.contentType, 'application/apply-patch+yaml');
    assert.deepEqual(req.query, { fieldManager: 'portico-test', force: 'true' });
    assert.equal(fake.applies.length, 1);
    await assert.rejects(fake.client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, { fieldManager: 'm' }), /metadata.namespace is required/);
    await assert.rejects(fake.client.apply({ kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a' } }, { fieldManager: 'm' }), /needs apiVersion, kind and metadata.name/);
  });

  it('resolves kinds outside the static table through discovery, once per group version', async () => {
    const widget = { group: 'example.portico.dev', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
    const fake = new FakeKube({ resources: [widget] });
    const res = await fake.client.resource('example.portico.dev/v1', 'Widget');
    assert.deepEqual({ ...res }, widget);
    await fake.client.resource('example.portico.dev/v1', 'Widget');
    assert.equal(fake.requests.filter((r) => r.path === '/apis/example.portico.dev/v1').length, 1, 'discovery is cached');
    await assert.rejects(fake.client.resource('example.portico.dev/v1', 'Gadget'), /no resource for apiVersion example.portico.dev\/v1 kind Gadget/);
    await fake.client.apply({ apiVersion: 'example.portico.dev/v1', kind: 'Widget', metadata: { namespace: 'a', name: 'w' } }, { fieldManager: 'm' });
    assert.equal(fake.list(widget).length, 1);
  });

  it('times out a request that gets no answer, with KubeTimeoutError', async () => {
    const clock = new FakeClock();
    const hanging: HttpTransport = {
      server: 'test://',
      request: (req) => new Promise((_r, reject) => req.signal?.addEventListener('abort', () => reject(new Error('socket destroyed')))),
    };
    const c = new RestKubeClient(hanging, { clock, requestTimeoutMs: 5_000 });
    const p = c.get(Resources.Node, { name: 'n' });
    const check = assert.rejects(p, (e: unknown) => e instanceof KubeTimeoutError && /GET \/api\/v1\/nodes\/n: no answer within 5000 ms/.test(e.message));
    await clock.tick(5_000);
    await check;
  });

  it('wraps transport failures as KubeTransportError and passes the caller abort reason through', async () => {
    const failing: HttpTransport = { server: 'test://', request: async () => Promise.reject(new Error('ECONNREFUSED')) };
    const c = new RestKubeClient(failing);
    await assert.rejects(c.get(Resources.Node, { name: 'n' }), (e: unknown) => e instanceof KubeTransportError && /GET \/api\/v1\/nodes\/n: ECONNREFUSED/.test(e.message));
    const fake = new FakeKube();
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await assert.rejects(fake.client.get(Resources.Node, { name: 'n' }, { signal: ac.signal }), /shutting down/);
  });

  it('a watch stream yields events, ends when the server closes it, and throws on a line that is not JSON', async () => {
    const lines = ['{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}', 'not json'];
    const transport: HttpTransport = {
      server: 'test://',
      request: async () => ({ status: 200, headers: {}, body: (async function* () { for (const l of lines) yield Buffer.from(`${l}\n`); })() }),
    };
    const c = new RestKubeClient(transport);
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const ev of c.watch(Resources.ConfigMap)) seen.push(`${ev.type}:${(ev.object as KubeObject).metadata?.name}`);
      })(),
      (e: unknown) => e instanceof KubeTransportError && /watch line is not JSON: not json/.test(e.message),
    );
    assert.deepEqual(seen, ['ADDED:a']);
  });

  it('closes the watch connection when the consumer stops iterating', async () => {
    const fake = new FakeKube();
    fake.put(cm('a'), cm('b'));
    for await (const ev of fake.client.watch(Resources.ConfigMap, { namespace: 'ns' })) {
      assert.equal(ev.type, 'ADDED');
      break;
    }
    await flush();
    assert.equal(fake.openWatches, 0);
  });
});

describe('object helpers', () => {
  it('adds and removes finalizers with the resourceVersion as precondition', async () => {
    const fake = new FakeKube();
    const obj = await fake.client.create(Resources.ConfigMap, cm('f'));
    const withF = await addFinalizer(fake.client, Resources.ConfigMap, obj, 'portico.dev/x');
    assert.deepEqual(withF.metadata?.finalizers, ['portico.dev/x']);
    assert.equal(await addFinalizer(fake.client, Resources.ConfigMap, withF, 'portico.dev/x'), withF, 'no request when present');
    await assert.rejects(addFinalizer(fake.client, Resources.ConfigMap, obj, 'portico.dev/y'), ConflictError);
    await fake.client.delete(Resources.ConfigMap, { namespace: 'ns', name: 'f' });
    const deleting = (await getOrUndefined(fake.client, Resources.ConfigMap, { namespace: 'ns', name: 'f' }))!;
    assert.ok(deleting.metadata?.deletionTimestamp, 'held by the finalizer');
    await removeFinalizer(fake.client, Resources.ConfigMap, deleting, 'portico.dev/x');
    assert.equal(await getOrUndefined(fake.client, Resources.ConfigMap, { namespace: 'ns', name: 'f' }), undefined, 'deleted once the last finalizer is gone');
    assert.equal(await deleteIfExists(fake.client, Resources.ConfigMap, { namespace: 'ns', name: 'f' }), false);
  });
});
