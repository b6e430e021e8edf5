import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { shuffled } from '@portico/testing';
import { sortCIDRs, sourceRanges, sourceRangesEnv, SOURCE_RANGES_ANNOTATION, type SourceRangesInput } from './source-ranges.ts';
import { parseCIDR } from './cidr.ts';

const ann = `metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`;

const cases: { name: string; in: SourceRangesInput; want: string }[] = [
  { name: 'default for an IPv4-only Service', in: { ipFamilies: ['IPv4'] }, want: '0.0.0.0/0' },
  { name: 'default for a dual-stack Service gets ::/0', in: { ipFamilies: ['IPv4', 'IPv6'] }, want: '0.0.0.0/0,::/0' },
  { name: 'default for an IPv6-only Service gets ::/0', in: { ipFamilies: ['IPv6'] }, want: '0.0.0.0/0,::/0' },
  { name: 'default with no families (nothing to extend)', in: {}, want: '0.0.0.0/0' },
  { name: 'a user 0.0.0.0/0 alone is extended too (indistinguishable after normalization)', in: { loadBalancerSourceRanges: ['0.0.0.0/0'], ipFamilies: ['IPv6'] }, want: '0.0.0.0/0,::/0' },
  { name: 'a user 1.2.3.4/0 normalizes to 0.0.0.0/0 and is extended', in: { loadBalancerSourceRanges: ['1.2.3.4/0'], ipFamilies: ['IPv4', 'IPv6'] }, want: '0.0.0.0/0,::/0' },
  { name: 'user ranges are never extended', in: { loadBalancerSourceRanges: ['10.0.0.0/8'], ipFamilies: ['IPv4', 'IPv6'] }, want: '10.0.0.0/8' },
  { name: '0.0.0.0/0 plus another range is not extended', in: { loadBalancerSourceRanges: ['0.0.0.0/0', '10.0.0.0/8'], ipFamilies: ['IPv6'] }, want: '0.0.0.0/0,10.0.0.0/8' },
  { name: 'spec wins over the annotation', in: { loadBalancerSourceRanges: ['192.168.0.0/16'], annotation: '10.0.0.0/8' }, want: '192.168.0.0/16' },
  { name: 'annotation used when the spec is empty', in: { loadBalancerSourceRanges: [], annotation: ' 10.0.0.0/8 , 172.16.0.0/12 ' }, want: '10.0.0.0/8,172.16.0.0/12' },
  { name: 'blank annotation means default', in: { annotation: '   ' }, want: '0.0.0.0/0' },
  { name: 'normalized, deduplicated and sorted numerically (v4 before v6)', in: { loadBalancerSourceRanges: ['fd00::1/8', '10.0.0.1/8', ' 9.0.0.0/8', '10.0.0.0/8', 'FD00::/8', '10.0.0.0/16'] }, want: '9.0.0.0/8,10.0.0.0/8,10.0.0.0/16,fd00::/8' },
  { name: 'numeric, not string, order', in: { loadBalancerSourceRanges: ['100.0.0.0/8', '20.0.0.0/8', '3.0.0.0/8'] }, want: '3.0.0.0/8,20.0.0.0/8,100.0.0.0/8' },
  { name: 'IPv4-mapped range becomes IPv4', in: { loadBalancerSourceRanges: ['::ffff:10.0.0.0/104'] }, want: '10.0.0.0/8' },
];

for (const c of cases) {
  test(`sourceRanges: ${c.name}`, () => {
    const r = sourceRangesEnv(c.in);
    assert.deepEqual(r, { ok: true, value: c.want });
  });
}

test('sourceRanges: the result does not depend on input order (shuffled 50 times)', () => {
  const ranges = ['10.0.0.0/8', '10.0.0.0/16', 'fd00::/8', '2001:db8::/32', '192.168.0.0/24', '0.0.0.0/0', '10.0.0.1/8'];
  const want = sourceRangesEnv({ loadBalancerSourceRanges: ranges });
  for (let seed = 1; seed <= 50; seed++) {
    assert.deepEqual(sourceRangesEnv({ loadBalancerSourceRanges: shuffled(ranges, seed) }), want);
  }
  assert.deepEqual(want, { ok: true, value: '0.0.0.0/0,10.0.0.0/8,10.0.0.0/16,192.168.0.0/24,2001:db8::/32,fd00::/8' });
});

const bad: { name: string; in: SourceRangesInput; issues: { field: string; value: string; reason: RegExp }[] }[] = [
  {
    name: 'a bad spec entry is named by its index',
    in: { loadBalancerSourceRanges: ['10.0.0.0/8', '10.0.0.0/33', 'nope'] },
    issues: [
      { field: 'spec.loadBalancerSourceRanges[1]', value: '10.0.0.0/33', reason: /longer than 32/ },
      { field: 'spec.loadBalancerSourceRanges[2]', value: 'nope', reason: /missing "\/prefix"/ },
    ],
  },
  {
    name: 'a stray comma in the annotation is an empty entry',
    in: { annotation: '10.0.0.0/8,' },
    issues: [{ field: `${ann}[1]`, value: '', reason: /empty/ }],
  },
  {
    name: 'an address without prefix in the annotation',
    in: { annotation: '10.0.0.1' },
    issues: [{ field: `${ann}[0]`, value: '10.0.0.1', reason: /prefix/ }],
  },
];

for (const c of bad) {
  test(`sourceRanges: ${c.name}`, () => {
    const r = sourceRanges(c.in);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.deepEqual(r.issues.map((i) => ({ field: i.field, value: i.value })), c.issues.map((i) => ({ field: i.field, value: i.value })));
    r.issues.forEach((i, n) => assert.match(i.reason, c.issues[n]!.reason));
  });
}

test('sortCIDRs de-duplicates by canonical text', () => {
  const got = sortCIDRs(['10.0.0.0/8', '10.1.0.0/8', '::/0', '0.0.0.0/0'].map((s) => parseCIDR(s)!)).map((c) => c.text);
  assert.deepEqual(got, ['0.0.0.0/0', '10.0.0.0/8', '::/0']);
});
