import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { parseManifest } from './manifest.ts';
import { customResourceProblems, validateCustomResource } from './validate.ts';

const chart = (spec: Record<string, unknown>) => ({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { chart: 'traefik', ...spec } });

describe('validateCustomResource: the CRDs\' schemas as the API server checks them', () => {
  it('accepts what the packaged manifests use', () => {
    assert.deepEqual(validateCustomResource('HelmChart', chart({ repo: 'https://x', version: '1.0.0', set: { a: 'b', n: 3 }, valuesContent: 'x: 1', backOffLimit: 5, failurePolicy: 'abort', values: { any: [{ thing: null }] } })), []);
    assert.deepEqual(validateCustomResource('Addon', { metadata: { name: 'coredns', namespace: 'kube-system' }, spec: { source: '/m/coredns.yaml', checksum: 'abc' } }), []);
  });

  const cases: [string, unknown, string][] = [
    ['set as a list', chart({ set: ['a=b'] }), 'HelmChart kube-system/traefik: spec.set: "[\\"a=b\\"]": must be a map, not a list'],
    ['a set value that is a map', chart({ set: { a: { b: 1 } } }), 'HelmChart kube-system/traefik: spec.set.a: "{\\"b\\":1}": must be an integer or a string, not a map'],
    ['backOffLimit as a fraction', chart({ backOffLimit: 1.5 }), 'HelmChart kube-system/traefik: spec.backOffLimit: "1.5": must be an integer, not a fraction'],
    ['backOffLimit beyond int32', chart({ backOffLimit: 2 ** 40 }), 'HelmChart kube-system/traefik: spec.backOffLimit: "1099511627776": must fit in int32'],
    ['an unknown failurePolicy', chart({ failurePolicy: 'sometimes' }), 'HelmChart kube-system/traefik: spec.failurePolicy: "sometimes": must be one of abort, reinstall, retry'],
    ['valuesSecrets as a string', chart({ valuesSecrets: 'x' }), 'HelmChart kube-system/traefik: spec.valuesSecrets: "x": must be a list, not a string'],
    ['createNamespace as a string', chart({ createNamespace: 'yes' }), 'HelmChart kube-system/traefik: spec.createNamespace: "yes": must be true or false, not a string'],
    ['an Addon whose source is a number', { apiVersion: 'k3s.cattle.io/v1', kind: 'Addon', metadata: { name: 'x', namespace: 'kube-system' }, spec: { source: 7 } }, 'Addon kube-system/x: spec.source: "7": must be a string, not a number'],
    ['a HelmChartConfig whose spec is a string', { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: 'values' }, 'HelmChartConfig kube-system/traefik: spec: "values": must be a map, not a string'],
    ['a bad name', { ...chart({}), metadata: { name: 'Traefik!', namespace: 'kube-system' } }, 'HelmChart kube-system/Traefik!: metadata.name: "Traefik!": must be a DNS-1123 subdomain (at most 253 lower-case alphanumerics, "-" and ".")'],
  ];
  for (const [name, obj, line] of cases) it(`${name}: one line naming object, field and value`, () => assert.deepEqual(customResourceProblems([obj]), [line]));

  it('other kinds are not its business; nothing throws', () => {
    assert.deepEqual(customResourceProblems([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: 7 }, null, 'x', [1]]), []);
    for (const v of [null, 1, 'x', [], { spec: [] }, { metadata: 'x', spec: { set: null } }]) assert.ok(Array.isArray(validateCustomResource('HelmChart', v)));
  });

  it('a manifest holding an invalid HelmChart is refused whole (validateFailed), naming the field', () => {
    const text = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: traefik, namespace: kube-system}\nspec: {chart: traefik, set: [a]}\n';
    const r = parseManifest(text);
    assert.equal(r.ok, false);
    if (!r.ok) assert.deepEqual(r.problems.map((p) => `${p.reason} ${p.document}: ${p.message}`), ['ValidateManifestFailed 2: HelmChart traefik: spec.set: "[\\"a\\"]": must be a map, not a list']);
  });
});
