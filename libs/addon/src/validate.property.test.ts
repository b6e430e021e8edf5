/**
 * Property test of addon-manager's custom-resource validation as its render and loops use it
 * (issue 15, fast-check): generated HelmCharts, HelmChartConfigs and Addons, one mutated (wrong
 * types, missing fields, out-of-range numbers, odd Unicode, huge lists), written as a manifest.
 * Properties: nothing throws; a manifest is accepted exactly when none of its custom resources has a
 * problem (an invalid one is never applied: its whole file is refused, naming kind, name and field);
 * problems are deterministic and independent of the order of the documents. Cases:
 * PORTICO_PROPERTY_RUNS (default 1000), seed PORTICO_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { mutate, mutationOf, shuffled } from '@portico/testing';
import { parseManifest } from './manifest.ts';
import { customResourceProblems } from './validate.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);

function resources(seed: number): { objects: unknown[] } {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const objects: unknown[] = [];
  for (let i = 0; i < 1 + rnd(3); i++) {
    objects.push({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name: `chart-${i}`, namespace: 'kube-system' },
      spec: {
        chart: `chart-${i}`,
        repo: 'https://charts.example.com',
        version: `1.${rnd(9)}.0`,
        targetNamespace: 'apps',
        ...(rnd(2) ? { set: { 'a.b': 'x', replicas: rnd(5) } } : {}),
        ...(rnd(2) ? { valuesContent: 'a: 1\n' } : {}),
        ...(rnd(2) ? { backOffLimit: rnd(10), failurePolicy: (['abort', 'reinstall', 'retry'] as const)[rnd(3)] } : {}),
        ...(rnd(3) === 0 ? { valuesSecrets: [{ name: 's', keys: ['values.yaml'] }], createNamespace: true } : {}),
      },
    });
    if (rnd(2)) objects.push({ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChartConfig', metadata: { name: `chart-${i}`, namespace: 'kube-system' }, spec: { valuesContent: 'b: 2\n', failurePolicy: 'abort' } });
  }
  if (rnd(2)) objects.push({ apiVersion: 'k3s.cattle.io/v1', kind: 'Addon', metadata: { name: 'extra', namespace: 'kube-system' }, spec: { source: '/var/lib/rancher/k3s/server/manifests/extra.yaml', checksum: 'abc' } });
  objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: 'default' }, data: { k: 'v' } });
  return { objects };
}

describe(`addon-manager custom-resource properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  it('never throws; a manifest is refused exactly when a custom resource in it is invalid; order-independent', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), mutationOf<'objects'>(['objects'], ['spec', 'set', 'metadata', 'status', 'zzz']), (seed, m) => {
        // What a manifest file can hold: JSON has no Infinity or NaN (they become null), so the
        // properties compare the objects as written. (The 10,000-case run found the test comparing a
        // -Infinity namespace, invalid, with the file's null, which is absent and fine.)
        const objects = JSON.parse(JSON.stringify(mutate(resources(seed), m)!.mutated.objects)) as unknown[];
        const problems = customResourceProblems(objects);
        assert.deepEqual(customResourceProblems(objects), problems, 'deterministic');
        assert.deepEqual([...customResourceProblems(shuffled(objects, seed))].sort(), [...problems].sort(), 'order-independent');
        const text = objects.map((o) => JSON.stringify(o)).join('\n---\n');
        const parsed = parseManifest(text);
        if (problems.length > 0) {
          seen.invalid++;
          assert.equal(parsed.ok, false, `a file with an invalid custom resource is refused: ${problems.join('; ')}`);
        } else {
          seen.valid++;
          // Valid custom resources never make a file fail (other documents may, for their own reasons).
          if (!parsed.ok) for (const q of parsed.problems) assert.doesNotMatch(q.message, /^(HelmChart|HelmChartConfig|Addon) \S+: /);
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(seen.invalid > RUNS / 20 && seen.valid > RUNS / 20, `too few cases of one sort: ${JSON.stringify(seen)}`);
  });
});
