import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { int, item, labels, list, metadata, oneOf, showValue, strings, type Problems } from './index.ts';

describe('@portico/validation checks', () => {
  it('showValue never throws: circular values, BigInt, long strings', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    assert.equal(showValue(circular), '[object Object]');
    assert.equal(showValue(10n), '[object BigInt]');
    assert.equal(showValue('x'.repeat(500)).length, 200);
    assert.equal(showValue(undefined), 'undefined');
  });

  it('int: strings, fractions, NaN, Infinity and out-of-range numbers are problems; absent is fine', () => {
    for (const v of ['80', 80.5, Number.NaN, Number.POSITIVE_INFINITY, 0, 65536, -1, true]) {
      const out: Problems = [];
      assert.equal(int(out, v, 'p', 1, 65535), undefined);
      assert.equal(out.length, 1, String(v));
      assert.equal(out[0]!.field, 'p');
    }
    const out: Problems = [];
    assert.equal(int(out, 443, 'p', 1, 65535), 443);
    assert.equal(int(out, undefined, 'p', 1, 65535), undefined);
    assert.deepEqual(out, []);
  });

  it('list, item, strings and oneOf name the field and the shape found', () => {
    const out: Problems = [];
    list(out, { a: 1 }, 'spec.ports');
    item(out, null, 'spec.ports[0]');
    strings(out, ['a', 7], 'spec.externalIPs');
    oneOf(out, 'ICMP', 'protocol', ['TCP', 'UDP']);
    assert.deepEqual(
      out.map((p) => `${p.field}=${p.value}: ${p.message}`),
      ['spec.ports={"a":1}: must be a list, not a map', 'spec.ports[0]=null: must be a map, not null', 'spec.externalIPs[1]=7: must be a string, not a number', 'protocol=ICMP: must be one of TCP, UDP'],
    );
  });

  it('labels and metadata follow apimachinery syntax', () => {
    const out: Problems = [];
    labels(out, { 'ok/key': 'v', 'bad key': 'v', k: 'not ok!' }, 'metadata.labels');
    metadata(out, { name: 'Web', namespace: 'x_y', labels: 'a=b', finalizers: 'f' }, 'dns1035');
    assert.deepEqual(
      out.map((p) => p.field),
      ['metadata.labels', 'metadata.labels.k', 'metadata.name', 'metadata.namespace', 'metadata.labels', 'metadata.finalizers'],
    );
  });
});
