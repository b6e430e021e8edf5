import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { parseTolerationsAnnotation, toleratesTaint, untoleratedTaint } from './tolerations.ts';
import { names } from './testing/index.ts';

const KEY = names.tolerationsAnnotation;
const PREFIX = `failed to parse tolerations from annotation ${KEY}: `;

describe('parseTolerationsAnnotation (spec §5.9)', () => {
  const ok: { name: string; value: string | undefined; want: unknown[] }[] = [
    { name: 'absent annotation gives no tolerations', value: undefined, want: [] },
    { name: 'JSON list is parsed', value: '[{"key":"dedicated","operator":"Equal","value":"lb","effect":"NoSchedule"}]', want: [{ effect: 'NoSchedule', key: 'dedicated', operator: 'Equal', value: 'lb' }] },
    { name: 'YAML list is parsed when JSON fails', value: '- key: dedicated\n  operator: Exists\n  effect: NoExecute\n  tolerationSeconds: 30\n', want: [{ effect: 'NoExecute', key: 'dedicated', operator: 'Exists', tolerationSeconds: 30 }] },
    { name: 'flow-style YAML list is parsed', value: '[{key: a, operator: Exists}]', want: [{ key: 'a', operator: 'Exists' }] },
    { name: 'empty operator becomes Equal', value: '[{"key":"a","value":"b"}]', want: [{ key: 'a', operator: 'Equal', value: 'b' }] },
    { name: 'empty key with Exists tolerates everything', value: '[{"operator":"Exists"}]', want: [{ operator: 'Exists' }] },
    { name: 'order of the annotation is kept', value: '[{"key":"b","operator":"Exists"},{"key":"a","operator":"Exists"}]', want: [{ key: 'b', operator: 'Exists' }, { key: 'a', operator: 'Exists' }] },
    { name: 'empty value is an empty list (as Go)', value: '', want: [] },
    { name: 'JSON null is an empty list', value: 'null', want: [] },
    { name: 'unknown fields are ignored (as Go)', value: '[{"key":"a","operator":"Exists","colour":"blue"}]', want: [{ key: 'a', operator: 'Exists' }] },
  ];
  for (const c of ok) {
    it(c.name, () => {
      const r = parseTolerationsAnnotation(KEY, c.value);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.tolerations, c.want);
    });
  }

  const bad: { name: string; value: string; reason: string | RegExp }[] = [
    { name: 'unparseable text gives K3s\'s parse error prefix', value: '[{"key": "a",', reason: new RegExp(`^${PREFIX.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`) },
    { name: 'a mapping instead of a list is rejected', value: 'key: a', reason: `${PREFIX}expected a list of tolerations, got an object` },
    { name: 'a non-string key is a parse error', value: '[{"key": 5, "operator": "Exists"}]', reason: `${PREFIX}toleration 0 field key must be a string, got number 5` },
    { name: 'a non-integer tolerationSeconds is a parse error', value: '[{"key":"a","operator":"Exists","effect":"NoExecute","tolerationSeconds":"soon"}]', reason: `${PREFIX}toleration 0 field tolerationSeconds must be an integer, got string "soon"` },
    { name: 'K3s rule: empty key needs operator Exists', value: '[{"operator":"Equal","value":"x"}]', reason: "validation failed for toleration 0: toleration with empty key must have operator 'Exists'" },
    { name: 'K3s rule: empty key with the defaulted operator is rejected', value: '[{"effect":"NoSchedule"}]', reason: "validation failed for toleration 0: toleration with empty key must have operator 'Exists'" },
    { name: 'K3s rule: Exists must have an empty value', value: '[{"key":"a"},{"key":"b","operator":"Exists","value":"v"}]', reason: "validation failed for toleration 1: toleration with operator 'Exists' must have an empty value" },
    { name: 'Portico: unknown operator is rejected up front', value: '[{"key":"a","operator":"In"}]', reason: 'validation failed for toleration 0: unsupported operator "In": must be \'Exists\' or \'Equal\'' },
    { name: 'Portico: unknown effect is rejected up front', value: '[{"key":"a","operator":"Exists","effect":"NoWay"}]', reason: "validation failed for toleration 0: unsupported effect \"NoWay\": must be empty, 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'" },
    { name: 'Portico: tolerationSeconds needs NoExecute', value: '[{"key":"a","operator":"Exists","effect":"NoSchedule","tolerationSeconds":5}]', reason: "validation failed for toleration 0: tolerationSeconds requires effect 'NoExecute'" },
    { name: 'Portico: an invalid key is rejected', value: '[{"key":"bad key","operator":"Exists"}]', reason: 'validation failed for toleration 0: key "bad key" is not a valid label key' },
    { name: 'Portico: an invalid Equal value is rejected', value: '[{"key":"a","operator":"Equal","value":"has space"}]', reason: 'validation failed for toleration 0: value "has space" is not a valid label value' },
  ];
  for (const c of bad) {
    it(c.name, () => {
      const r = parseTolerationsAnnotation(KEY, c.value);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.problem.field, `annotation ${KEY}`);
      assert.equal(r.problem.value, c.value);
      if (typeof c.reason === 'string') assert.equal(r.problem.reason, c.reason);
      else assert.match(r.problem.reason, c.reason);
    });
  }
});

describe('taint toleration matching', () => {
  const taint = { key: 'dedicated', value: 'lb', effect: 'NoSchedule' };
  const cases: { name: string; t: object; want: boolean }[] = [
    { name: 'Equal with same key and value tolerates', t: { key: 'dedicated', operator: 'Equal', value: 'lb' }, want: true },
    { name: 'Equal with another value does not', t: { key: 'dedicated', operator: 'Equal', value: 'x' }, want: false },
    { name: 'Exists on the key tolerates any value', t: { key: 'dedicated', operator: 'Exists' }, want: true },
    { name: 'a different effect does not tolerate', t: { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, want: false },
    { name: 'empty key with Exists tolerates every taint', t: { operator: 'Exists' }, want: true },
    { name: 'omitted operator means Equal', t: { key: 'dedicated', value: 'lb' }, want: true },
  ];
  for (const c of cases) it(c.name, () => assert.equal(toleratesTaint(c.t, taint), c.want));

  it('PreferNoSchedule taints never keep pods off', () => {
    assert.equal(untoleratedTaint([{ key: 'x', effect: 'PreferNoSchedule' }], []), null);
  });
  it('the first NoSchedule/NoExecute taint not tolerated is reported', () => {
    assert.deepEqual(untoleratedTaint([{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoExecute' }], [{ key: 'a', operator: 'Exists' }]), { key: 'b', effect: 'NoExecute' });
  });
});
