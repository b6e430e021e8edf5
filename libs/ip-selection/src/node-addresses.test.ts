import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { shuffled } from '@portico/testing';
import { filterByIPFamily, ingressAddresses, type IngressAddressOptions, type NodeAddress } from './node-addresses.ts';

const int = (address: string): NodeAddress => ({ type: 'InternalIP', address });
const ext = (address: string): NodeAddress => ({ type: 'ExternalIP', address });

const cases: { name: string; nodes: NodeAddress[][]; opts: IngressAddressOptions; want: string[] }[] = [
  {
    name: 'internal IPs only, numeric sort',
    nodes: [[int('10.0.0.10')], [int('10.0.0.9')], [int('10.0.0.100')]],
    opts: { ipFamilies: ['IPv4'] },
    want: ['10.0.0.9', '10.0.0.10', '10.0.0.100'],
  },
  {
    name: 'K3s lexicographic sort (10.0.0.10 before 10.0.0.9)',
    nodes: [[int('10.0.0.10')], [int('10.0.0.9')], [int('10.0.0.100')]],
    opts: { ipFamilies: ['IPv4'], sort: 'lexicographic', externalPrecedence: 'global' },
    want: ['10.0.0.10', '10.0.0.100', '10.0.0.9'],
  },
  {
    name: 'external wins over internal within a family',
    nodes: [[int('10.0.0.1'), ext('203.0.113.1')], [int('10.0.0.2')]],
    opts: { ipFamilies: ['IPv4'] },
    want: ['203.0.113.1'],
  },
  {
    name: 'per-family (Portico): an IPv6 ExternalIP does not suppress IPv4 InternalIPs',
    nodes: [[int('10.0.0.1'), int('fd00::1'), ext('2001:db8::1')], [int('10.0.0.2')]],
    opts: { ipFamilies: ['IPv4', 'IPv6'] },
    want: ['10.0.0.1', '10.0.0.2', '2001:db8::1'],
  },
  {
    name: 'global (K3s §10 item 7): an IPv6 ExternalIP empties an IPv4-only Service',
    nodes: [[int('10.0.0.1'), ext('2001:db8::1')], [int('10.0.0.2')]],
    opts: { ipFamilies: ['IPv4'], externalPrecedence: 'global' },
    want: [],
  },
  {
    name: 'per-family: the same input keeps the IPv4 InternalIPs',
    nodes: [[int('10.0.0.1'), ext('2001:db8::1')], [int('10.0.0.2')]],
    opts: { ipFamilies: ['IPv4'] },
    want: ['10.0.0.1', '10.0.0.2'],
  },
  {
    name: 'global: one ExternalIP anywhere hides nodes with only InternalIPs',
    nodes: [[int('10.0.0.1'), ext('203.0.113.1')], [int('10.0.0.2')]],
    opts: { ipFamilies: ['IPv4'], externalPrecedence: 'global' },
    want: ['203.0.113.1'],
  },
  {
    name: 'families follow spec.ipFamilies order (IPv6 first)',
    nodes: [[int('10.0.0.1'), int('fd00::1')]],
    opts: { ipFamilies: ['IPv6', 'IPv4'] },
    want: ['fd00::1', '10.0.0.1'],
  },
  {
    name: 'families not listed are dropped; empty ipFamilies gives nothing',
    nodes: [[int('10.0.0.1'), int('fd00::1')]],
    opts: { ipFamilies: [] },
    want: [],
  },
  {
    name: 'duplicates across nodes collapse; other address types and garbage are ignored',
    nodes: [
      [int('10.0.0.1'), { type: 'Hostname', address: 'n1' }, { type: 'InternalDNS', address: 'n1.local' }],
      [int('10.0.0.1'), int('not-an-ip'), { type: 'ExternalDNS', address: '1.2.3.4' }],
    ],
    opts: { ipFamilies: ['IPv4'] },
    want: ['10.0.0.1'],
  },
  {
    name: 'numeric mode prints canonical text and treats IPv4-mapped as IPv4',
    nodes: [[int('::ffff:10.0.0.3'), int('FD00:0:0::0001'), int('010.0.0.2')]],
    opts: { ipFamilies: ['IPv4', 'IPv6'] },
    want: ['10.0.0.2', '10.0.0.3', 'fd00::1'],
  },
  {
    name: 'lexicographic mode keeps the strings as written (K3s)',
    nodes: [[int('::ffff:10.0.0.3'), int('FD00::1')]],
    opts: { ipFamilies: ['IPv4', 'IPv6'], sort: 'lexicographic' },
    want: ['::ffff:10.0.0.3', 'FD00::1'],
  },
  {
    name: 'IPv6 numeric order',
    nodes: [[int('fd00::10')], [int('fd00::9')], [int('fd00::a')]],
    opts: { ipFamilies: ['IPv6'] },
    want: ['fd00::9', 'fd00::a', 'fd00::10'],
  },
  { name: 'no nodes', nodes: [], opts: { ipFamilies: ['IPv4', 'IPv6'] }, want: [] },
];

for (const c of cases) {
  test(`ingressAddresses: ${c.name}`, () => {
    assert.deepEqual(ingressAddresses(c.nodes, c.opts), c.want);
  });
}

test('ingressAddresses does not depend on node or address order (shuffled 50 times)', () => {
  const nodes = [
    [int('10.0.0.10'), int('fd00::10'), ext('2001:db8::2')],
    [int('10.0.0.9'), int('fd00::9')],
    [int('10.0.0.100'), ext('2001:db8::1')],
  ];
  for (const opts of [{ ipFamilies: ['IPv4', 'IPv6'] }, { ipFamilies: ['IPv6', 'IPv4'], externalPrecedence: 'global', sort: 'lexicographic' }] as IngressAddressOptions[]) {
    const want = ingressAddresses(nodes, opts);
    for (let seed = 1; seed <= 50; seed++) {
      const n = shuffled(nodes, seed).map((a, i) => shuffled(a, seed + i));
      assert.deepEqual(ingressAddresses(n, opts), want);
    }
  }
});

test('filterByIPFamily splits, sorts and orders by family', () => {
  assert.deepEqual(filterByIPFamily(['fd00::2', '10.0.0.2', 'x', '10.0.0.1', 'fd00::1'], ['IPv6', 'IPv4']), ['fd00::1', 'fd00::2', '10.0.0.1', '10.0.0.2']);
  assert.deepEqual(filterByIPFamily(['10.0.0.9', '10.0.0.10'], ['IPv4'], 'lexicographic'), ['10.0.0.10', '10.0.0.9']);
  assert.deepEqual(filterByIPFamily(['10.0.0.1'], ['IPv4', 'IPv4']), ['10.0.0.1'], 'a repeated family is listed once');
});
