import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { addonObject, dedupe, desiredObject, pruneDecision, pruneKinds, refOf, setMarkers } from './objectset.ts';
import { applySetId, wranglerSetHash } from './names.ts';

const cm = (name: string, ns?: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(ns ? { namespace: ns } : {}) }, ...extra });

describe('desiredObject', () => {
  it('namespaced object without namespace goes to default (spec §7.5); markers of §2.3 added', () => {
    const d = desiredObject(cm('c1'), 'app', true);
    assert.equal(d.metadata.namespace, 'default');
    assert.deepEqual(d.metadata.labels, { 'objectset.rio.cattle.io/hash': wranglerSetHash('app'), 'applyset.kubernetes.io/part-of': applySetId('app') });
    assert.deepEqual(d.metadata.annotations, {
      'objectset.rio.cattle.io/id': '',
      'objectset.rio.cattle.io/owner-gvk': 'k3s.cattle.io/v1, Kind=Addon',
      'objectset.rio.cattle.io/owner-name': 'app',
      'objectset.rio.cattle.io/owner-namespace': 'kube-system',
    });
  });
  it('cluster-scoped object loses its namespace (spec §7.6); server fields, status and applied dropped', () => {
    const d = desiredObject(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'foo', uid: 'u', resourceVersion: '1', annotations: { 'objectset.rio.cattle.io/applied': 'H4s', keep: 'me' } }, status: { phase: 'Active' } },
      'app',
      false,
    );
    assert.equal(d.metadata.namespace, undefined);
    assert.equal(d.metadata['uid'], undefined);
    assert.equal(d.metadata['resourceVersion'], undefined);
    assert.equal(d['status'], undefined);
    assert.equal(d.metadata.annotations?.['objectset.rio.cattle.io/applied'], undefined);
    assert.equal(d.metadata.annotations?.['keep'], 'me');
  });
  it('user labels are kept beside the markers', () => {
    const d = desiredObject({ ...cm('c', 'ns'), metadata: { name: 'c', namespace: 'ns', labels: { a: 'b' } } }, 'app', true);
    assert.equal(d.metadata.labels?.['a'], 'b');
    assert.deepEqual(setMarkers('app').labels, { 'objectset.rio.cattle.io/hash': wranglerSetHash('app'), 'applyset.kubernetes.io/part-of': applySetId('app') });
  });
});

describe('dedupe', () => {
  it('the later document with the same identity wins, at the first position', () => {
    const out = dedupe([cm('a', 'n', { data: { v: '1' } }), cm('b', 'n'), cm('a', 'n', { data: { v: '2' } })]);
    assert.deepEqual(
      out.map((o) => [o.metadata.name, (o['data'] as { v?: string } | undefined)?.v]),
      [
        ['a', '2'],
        ['b', undefined],
      ],
    );
  });
});

describe('pruneKinds', () => {
  it('file kinds first, remembered-only kinds after, sorted; versions do not duplicate a kind', () => {
    const got = pruneKinds(
      [
        { group: '', version: 'v1', kind: 'Namespace' },
        { group: '', version: 'v1', kind: 'ConfigMap' },
      ],
      [
        { group: 'apps', version: 'v1', kind: 'Deployment' },
        { group: '', version: 'v1', kind: 'ConfigMap' },
        { group: 'apps', version: 'v1beta1', kind: 'Deployment' },
        { group: '', version: 'v1', kind: 'Secret' },
      ],
    );
    assert.deepEqual(
      got.map((g) => `${g.group}/${g.version}/${g.kind}`),
      ['/v1/Namespace', '/v1/ConfigMap', '/v1/Secret', 'apps/v1/Deployment'],
    );
  });
});

describe('pruneDecision', () => {
  it('deletes members that left the file (spec §7.3), keeps prune: "false" (§7.22) and objects already going', () => {
    const desired = [refOf(cm('c1', 'demo'))];
    const live = [
      cm('c1', 'demo'),
      cm('c2', 'demo'),
      { ...cm('keep', 'demo'), metadata: { name: 'keep', namespace: 'demo', labels: { 'objectset.rio.cattle.io/prune': 'false' } } },
      { ...cm('going', 'demo'), metadata: { name: 'going', namespace: 'demo', deletionTimestamp: '2026-01-01T00:00:00Z' } },
      cm('c2', 'demo'),
    ];
    const d = pruneDecision(desired, live);
    assert.deepEqual(d.remove, [{ group: '', kind: 'ConfigMap', namespace: 'demo', name: 'c2' }]);
    assert.deepEqual(d.kept, [{ group: '', kind: 'ConfigMap', namespace: 'demo', name: 'keep' }]);
  });
  it('an empty desired set removes every member (disable, §7.14)', () => {
    const d = pruneDecision([], [cm('a', 'x'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } }]);
    assert.equal(d.remove.length, 2);
  });
});

describe('addonObject', () => {
  it('K3s fields plus the ApplySet inventory', () => {
    const a = addonObject({ name: 'app', source: '/m/app.yaml', checksum: 'abc', gvks: [{ group: '', version: 'v1', kind: 'Namespace' }, { group: 'apps', version: 'v1', kind: 'Deployment' }], naming: 'k3s', root: '/m' }) as {
      metadata: { annotations: Record<string, string>; labels: Record<string, string> };
      spec: Record<string, string>;
    };
    assert.deepEqual(a.spec, { source: '/m/app.yaml', checksum: 'abc' });
    assert.equal(a.metadata.annotations['addon.k3s.cattle.io/gvks'], '/v1, Kind=Namespace;apps/v1, Kind=Deployment');
    assert.equal(a.metadata.annotations['applyset.kubernetes.io/contains-group-kinds'], 'Deployment.apps,Namespace');
    assert.equal(a.metadata.labels['applyset.kubernetes.io/id'], applySetId('app'));
  });
});
