/**
 * Property test of `ccm render`'s Node part (issue 15, fast-check): generated Nodes (tainted
 * uninitialized or not; K3s address annotations, the kubelet's provided-node-ip, own addresses),
 * one of them mutated (wrong types, missing fields, out-of-range numbers, odd Unicode, huge lists).
 * Properties: never throws; no documents with problems; the same bytes for any order of the
 * objects; an invalid Node gets no document and leaves every other Node's document as it is without
 * it (nothing is ever written from an invalid Node). Cases: PORTICO_PROPERTY_RUNS (default 1000),
 * seed PORTICO_PROPERTY_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { streamText } from '@portico/servicelb';
import { mutate, mutationOf, shuffled } from '@portico/testing';
import { renderNodes, renderNodesText } from './render.ts';

const RUNS = Number(process.env['PORTICO_PROPERTY_RUNS'] ?? 1000);
const SEED = Number(process.env['PORTICO_PROPERTY_SEED'] ?? 20261207);
const TAINT = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' };

function cluster(seed: number): { nodes: unknown[] } {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  return {
    nodes: Array.from({ length: 1 + rnd(4) }, (_, i) => {
      const annotations: Record<string, string> = {};
      const source = rnd(3);
      if (source === 0) {
        annotations['k3s.io/internal-ip'] = rnd(2) ? `10.0.0.${i + 1}` : `10.0.0.${i + 1},fd00::${i + 1}`;
        if (rnd(2)) annotations['k3s.io/external-ip'] = `203.0.113.${i + 1}`;
        annotations['k3s.io/hostname'] = `n${i}`;
      } else if (source === 1) annotations['alpha.kubernetes.io/provided-node-ip'] = `172.18.0.${i + 2}`;
      return {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: `n${i}`, annotations, labels: { 'kubernetes.io/hostname': `n${i}` } },
        spec: rnd(3) ? { taints: [TAINT] } : {},
        status: {
          addresses: source === 2 ? [{ type: 'InternalIP', address: `192.168.1.${i + 1}` }, { type: 'Hostname', address: `n${i}` }] : [],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      };
    }),
  };
}

const nameOf = (o: unknown): unknown => (o !== null && typeof o === 'object' && !Array.isArray(o) ? (o as { metadata?: { name?: unknown } }).metadata?.name : undefined);

describe(`ccm render properties (fast-check, ${RUNS} cases, seed ${SEED})`, () => {
  it('never throws; no documents with problems; order-independent; an invalid Node gets nothing and changes nothing else', () => {
    const seen = { valid: 0, invalid: 0 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), mutationOf<'nodes'>(['nodes'], ['spec', 'status', 'metadata', 'annotations', 'taints', 'zzz']), (seed, m) => {
        const mutated = mutate(cluster(seed), m)!;
        // As a snapshot file holds them: a map keeps its kind.
        const objects = mutated.mutated.nodes.map((o) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? { ...o, kind: 'Node' } : o));
        const r = renderNodesText(objects, 'k3s');
        const text = streamText(r.documents);
        if (r.problems.length > 0) assert.equal(text, '', 'no documents with problems');
        const again = renderNodesText(shuffled(objects, seed), 'k3s');
        assert.equal(streamText(again.documents), text, 'order-independent');
        assert.deepEqual(again.problems, r.problems);
        const docs = renderNodes(objects, 'k3s');
        if (docs.problems.length === 0) {
          seen.valid++;
          return;
        }
        seen.invalid++;
        const badName = nameOf(objects[mutated.index]);
        const without = renderNodes(
          objects.filter((_, i) => i !== mutated.index),
          'k3s',
        );
        // Nothing for the invalid Node; every other Node's document as without it.
        const mine = (d: readonly unknown[]): unknown[] => d.filter((x) => nameOf(x) === badName);
        const rest = (d: readonly unknown[]): unknown[] => d.filter((x) => nameOf(x) !== badName);
        assert.deepEqual(rest(docs.documents), rest(without.documents));
        assert.ok(mine(docs.documents).length <= mine(without.documents).length, 'no document for the invalid Node');
      }),
      { numRuns: RUNS, seed: SEED },
    );
    assert.ok(seen.invalid > RUNS / 10 && seen.valid > RUNS / 20, `too few cases of one sort: ${JSON.stringify(seen)}`);
  });
});
