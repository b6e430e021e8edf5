import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CRD_SCHEMAS } from '@portico/addon';

// The validator's schemas (libs/addon validate.ts) must be the CRDs' own: what the API server would reject, no more, no less.
const crds = fileURLToPath(new URL('../crds/', import.meta.url));
const KEYS = new Set(['type', 'format', 'properties', 'additionalProperties', 'items', 'enum', 'required', 'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields']);

/** The schema with only what the validator checks (descriptions, defaults and CEL rules dropped). */
function structural(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structural);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!KEYS.has(k)) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(x as object).map(([p, s]) => [p, structural(s)])) : structural(x);
  }
  return out;
}

describe('CRD schemas', () => {
  for (const [kind, file] of [['Addon', 'addons.k3s.cattle.io.yaml'], ['HelmChart', 'helmcharts.helm.cattle.io.yaml'], ['HelmChartConfig', 'helmchartconfigs.helm.cattle.io.yaml']] as const) {
    it(`${kind}: the validator checks exactly crds/${file}`, () => {
      const crd = parse(readFileSync(`${crds}${file}`, 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: unknown } }[] } };
      assert.deepEqual(structural(CRD_SCHEMAS[kind]), structural(crd.spec.versions[0]!.schema.openAPIV3Schema));
    });
  }
});
