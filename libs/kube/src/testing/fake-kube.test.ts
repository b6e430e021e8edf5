// FakeKube must behave like the API server where Portico depends on it. The server-side apply
// cases mirror test/t2/apply.test.ts, which checks the same facts against kube-apiserver.

import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { FakeClock, flush } from '@portico/runner/testing';
import { ApplyConflictError, InvalidError, KubeApiError, NotFoundError } from '../errors.ts';
import { FakeKube } from './fake-kube.ts';
import { Resources } from '../resources.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../selectors.ts';
import type { KubeObject, WatchEvent } from '../types.ts';

type CM = KubeObject & { data?: Record<string, string> };
type Svc = KubeObject & { spec?: { type?: string }; status?: { loadBalancer?: { ingress?: { ip: string }[] } } };
const cm = (name: string, data: Record<string, string> = {}, namespace = 'ns'): CM => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data });

describe('FakeKube server-side apply', () => {
  it('creates, keeps the resourceVersion on an unchanged re-apply, conflicts across managers, and force takes over', async () => {
    const fake = new FakeKube();
    const c = fake.client;
    const created = await c.apply<CM>(cm('ssa', { key: 'a', other: 'x' }), { fieldManager: 'portico-a' });
    assert.deepEqual(
      created.metadata!.managedFields!.map((m) => [m.manager, m.operation]),
      [['portico-a', 'Apply']],
    );
    const again = await c.apply<CM>(cm('ssa', { key: 'a', other: 'x' }), { fieldManager: 'portico-a' });
    assert.equal(again.metadata!.resourceVersion, created.metadata!.resourceVersion);

    const err = await c.apply(cm('ssa', { key: 'b' }), { fieldManager: 'portico-b' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyConflictError);
    assert.deepEqual(err.managers, ['portico-a']);
    assert.deepEqual(
      err.conflicts.map((x) => x.field),
      ['.data.key'],
    );

    // Same value: no conflict, shared ownership.
    await c.apply(cm('ssa', { other: 'x' }), { fieldManager: 'portico-b' });

    const forced = await c.apply<CM>(cm('ssa', { key: 'b', other: 'x' }), { fieldManager: 'portico-b', force: true });
    assert.deepEqual(forced.data, { key: 'b', other: 'x' });
    const owners = Object.fromEntries(forced.metadata!.managedFields!.map((m) => [m.manager, JSON.stringify(m.fieldsV1)]));
    assert.ok(owners['portico-b']!.includes('"f:key"'));
    assert.ok(!owners['portico-a']!.includes('"f:key"'));

    // portico-a stops applying `other`, but portico-b co-owns it: it stays. Then b drops it too.
    const shrunk = await c.apply<CM>(cm('ssa', {}), { fieldManager: 'portico-a' });
    assert.equal(shrunk.data?.['other'], 'x');
    const gone = await c.apply<CM>(cm('ssa', { key: 'b' }), { fieldManager: 'portico-b' });
    assert.equal(gone.data?.['other'], undefined, 'a field nobody applies any more is removed');
  });

  it('conflicts with fields written by a non-apply update manager', async () => {
    const fake = new FakeKube();
    await fake.client.create(Resources.ConfigMap, cm('u', { key: '1' }), { fieldManager: 'kubectl-create' });
    await assert.rejects(fake.client.apply(cm('u', { key: '2' }), { fieldManager: 'portico' }), (e: unknown) => e instanceof ApplyConflictError && e.managers.join() === 'kubectl-create');
  });

  it('requires a field manager and a matching kind', async () => {
    const fake = new FakeKube();
    await assert.rejects(fake.client.patch(Resources.ConfigMap, { namespace: 'ns', name: 'x' }, cm('x'), { type: 'apply' }), /fieldManager is required/);
    await assert.rejects(
      fake.transport.request({ method: 'PATCH', path: '/api/v1/namespaces/ns/configmaps/x', headers: { 'Content-Type': 'application/apply-patch+yaml' }, body: JSON.stringify(cm('x')) }).then(async (r) => {
        if (r.status !== 200) throw new KubeApiError(r.status, '', '', undefined, '');
      }),
      (e: unknown) => e instanceof KubeApiError && e.status === 422,
    );
  });

  it('keeps spec and status apart: /status applies only status, main applies ignore status', async () => {
    const fake = new FakeKube();
    const svc: Svc = { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'lb' }, spec: { type: 'LoadBalancer' } };
    await fake.client.apply(svc, { fieldManager: 'spec' });
    const st = await fake.client.apply<Svc>({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'ns', name: 'lb' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }, { fieldManager: 'status', subresource: 'status' });
    assert.equal(st.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.1');
    assert.equal(st.spec?.type, 'LoadBalancer');
    assert.equal(st.metadata!.managedFields!.find((m) => m.manager === 'status')?.subresource, 'status');
    const main = await fake.client.apply<Svc>({ ...svc, status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } } }, { fieldManager: 'spec' });
    assert.equal(main.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.1');
    const patched = await fake.client.patch<Svc>(Resources.Service, { namespace: 'ns', name: 'lb' }, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } } }, { type: 'merge', subresource: 'status' });
    assert.equal(patched.status?.loadBalancer?.ingress?.[0]?.ip, '192.0.2.2');
    await assert.rejects(fake.client.apply({ ...svc, metadata: { namespace: 'ns', name: 'missing' } }, { fieldManager: 'x', subresource: 'status' }), NotFoundError);
  });
});

describe('FakeKube store and watch', () => {
  it('replays history to a watch from a resourceVersion and sends synthetic adds from 0', async () => {
    const fake = new FakeKube();
    fake.put(cm('a'));
    const rv = fake.resourceVersion;
    fake.put(cm('b'), cm('a', { v: '2' }));
    fake.remove(Resources.ConfigMap, { namespace: 'ns', name: 'b' });
    const from = async (resourceVersion: string): Promise<string[]> => {
      const out: string[] = [];
      const ac = new AbortController();
      const stream = fake.client.watch(Resources.ConfigMap, { resourceVersion, signal: ac.signal });
      const it = stream[Symbol.asyncIterator]();
      for (;;) {
        const r = await Promise.race([it.next(), flush().then(() => 'idle' as const)]);
        if (r === 'idle' || r.done) break;
        const ev = r.value as WatchEvent;
        out.push(`${ev.type}:${(ev.object as KubeObject).metadata?.name}`);
      }
      ac.abort();
      await it.return?.(undefined);
      return out;
    };
    assert.deepEqual(await from(rv), ['ADDED:b', 'MODIFIED:a', 'DELETED:b']);
    assert.deepEqual(await from('0'), ['ADDED:a']);
  });

  it('ends watches after timeoutSeconds on the injected clock', async () => {
    const clock = new FakeClock();
    const fake = new FakeKube({ clock });
    const done = (async () => {
      for await (const _ of fake.client.watch(Resources.ConfigMap, { timeoutSeconds: 30 })) {
        // nothing
      }
      return clock.now();
    })();
    await flush();
    const t0 = clock.now();
    await clock.tick(30_000);
    assert.equal((await done) - t0, 30_000);
  });

  it('generates names, deletes with finalizers via deletionTimestamp, and cascades namespace deletion', async () => {
    const fake = new FakeKube();
    fake.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' } });
    const gen = await fake.client.create<KubeObject>(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', generateName: 'x-' } });
    assert.match(gen.metadata!.name!, /^x-[0-9a-z]{5}$/);
    fake.put({ ...cm('held'), metadata: { namespace: 'ns', name: 'held', finalizers: ['a/b'] } });
    await fake.client.delete(Resources.ConfigMap, { namespace: 'ns', name: 'held' });
    assert.ok(fake.get(Resources.ConfigMap, { namespace: 'ns', name: 'held' })?.metadata?.deletionTimestamp);
    await fake.client.delete(Resources.Namespace, { name: 'ns' });
    assert.deepEqual(fake.list(Resources.ConfigMap), []);
    await assert.rejects(fake.client.create(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns' } }), InvalidError);
  });

  it('injects failures for matching requests only, the given number of times', async () => {
    const fake = new FakeKube();
    fake.put(cm('a'));
    fake.failNext({ method: 'GET', path: /configmaps\/a$/, status: 503, times: 2 });
    await assert.rejects(fake.client.get(Resources.ConfigMap, { namespace: 'ns', name: 'a' }), (e: unknown) => e instanceof KubeApiError && e.status === 503);
    await fake.client.list(Resources.ConfigMap); // does not match: unaffected
    await assert.rejects(fake.client.get(Resources.ConfigMap, { namespace: 'ns', name: 'a' }), KubeApiError);
    await fake.client.get(Resources.ConfigMap, { namespace: 'ns', name: 'a' });
  });
});

describe('selectors', () => {
  it('parses and matches label selectors like the API server', () => {
    const labels = { app: 'web', tier: 'front', env: 'prod' };
    const cases: [string, boolean][] = [
      ['', true],
      ['app=web', true],
      ['app==web,tier=front', true],
      ['app!=web', false],
      ['missing!=x', true],
      ['env in (prod, staging)', true],
      ['env notin (prod)', false],
      ['app', true],
      ['!app', false],
      ['!missing', true],
      ['app=web,env in (dev)', false],
    ];
    for (const [sel, want] of cases) assert.equal(matchesLabels(parseLabelSelector(sel), labels), want, sel);
    assert.throws(() => parseLabelSelector('a=(b'), /invalid label selector part/);
  });

  it('parses and matches field selectors on dotted paths', () => {
    const obj = { metadata: { name: 'p', namespace: 'n' }, spec: { nodeName: 'node-1' } } as KubeObject;
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName=node-1,metadata.namespace!=x'), obj), true);
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName==node-2'), obj), false);
    assert.equal(matchesFields(parseFieldSelector('status.phase='), obj), true, 'a missing field compares as empty');
    assert.throws(() => parseFieldSelector('spec nodeName'), /invalid field selector part/);
  });
});
