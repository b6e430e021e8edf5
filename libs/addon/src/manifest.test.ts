import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { gvksOf, parseManifest } from './manifest.ts';

describe('parseManifest', () => {
  it('multi-document YAML, empty documents and comments dropped', () => {
    const r = parseManifest('# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1, namespace: demo}\n');
    assert.ok(r.ok);
    assert.deepEqual(
      r.objects.map((o) => `${o.kind}/${o.metadata.name}`),
      ['Namespace/demo', 'ConfigMap/c1'],
    );
  });
  it('a file of only comments is an empty set (spec §3.6)', () => {
    assert.deepEqual(parseManifest('# nothing\n'), { ok: true, objects: [] });
    assert.deepEqual(parseManifest(''), { ok: true, objects: [] });
  });
  it('JSON, and kind: List flattened (spec §7.8)', () => {
    const r = parseManifest(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } }] }));
    assert.ok(r.ok);
    assert.deepEqual(
      r.objects.map((o) => o.metadata.name),
      ['a', 'b'],
    );
  });
  const bad: [string, string, string, RegExp][] = [
    ['document without kind (spec §7.9)', 'apiVersion: v1\nmetadata: {name: x}\n', 'ParseManifestFailed', /Kind' is missing/],
    ['without apiVersion', 'kind: ConfigMap\nmetadata: {name: x}\n', 'ParseManifestFailed', /apiVersion' is missing/],
    ['YAML syntax error', 'kind: [unclosed\n', 'ParseManifestFailed', /./],
    ['a scalar document', 'hello\n', 'ParseManifestFailed', /not an object/],
    ['no name', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', 'ValidateManifestFailed', /metadata.name is missing/],
  ];
  for (const [what, text, reason, msg] of bad) {
    it(`${what}: ${reason}, nothing of the file applied`, () => {
      const r = parseManifest(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n---\n${text}`);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.problems[0]!.reason, reason);
      assert.equal(r.problems[0]!.document, 2);
      assert.match(r.problems[0]!.message, msg);
    });
  }
  it('gvksOf keeps first-appearance order', () => {
    const r = parseManifest('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: e}\n');
    assert.ok(r.ok);
    assert.deepEqual(gvksOf(r.objects), [
      { group: 'apps', version: 'v1', kind: 'Deployment' },
      { group: '', version: 'v1', kind: 'ConfigMap' },
    ]);
  });
});
