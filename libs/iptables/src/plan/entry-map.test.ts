import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { EntryMap } from './entry-map.ts';

/** A seeded PRNG (LCG). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('EntryMap', () => {
  it('behaves like a copied Map through 500 random layered changes', () => {
    const r = rng(9);
    const key = () => `10.0.0.${Math.floor(r() * 300)}`;
    let ref = new Map<string, boolean>();
    for (let i = 0; i < 200; i++) ref.set(key(), r() < 0.2);
    let em = EntryMap.of(new Map(ref));
    for (let step = 0; step < 500; step++) {
      const del = Array.from({ length: Math.floor(r() * 4) }, key);
      const set = Array.from({ length: Math.floor(r() * 4) }, () => [key(), r() < 0.3] as const);
      const before = em;
      const beforeRef = new Map(ref);
      em = em.with(set, del);
      ref = new Map(ref);
      for (const k of del) ref.delete(k);
      for (const [k, v] of set) ref.set(k, v);
      assert.equal(em.size, ref.size, `step ${step}: size`);
      assert.deepEqual(new Map([...em].sort()), new Map([...ref].sort()), `step ${step}: content`);
      for (const k of [...del, ...set.map((x) => x[0])]) assert.equal(em.get(k), ref.get(k));
      // The old map is unchanged (immutability).
      assert.deepEqual(new Map([...before].sort()), new Map([...beforeRef].sort()), `step ${step}: previous map changed`);
    }
  });
});
