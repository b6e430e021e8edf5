/**
 * Shared generators of property tests (fast-check, issue 15): values an object should not hold
 * where a well-formed one holds something else, and a mutation that puts one of them somewhere
 * inside one object of a snapshot. Test code only.
 */
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Wrong types, out-of-range numbers, odd Unicode, empty and huge values. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.integer({ min: -70000, max: 70000 }),
  fc.double(),
  fc.constantFrom(null, true, false, 0, -1, 65536, 1e20, 80.5, '', ' ', 'ICMP', 'tcp', '999.1.1.1', '10.0.0.0/33', '::/0', '0.0.0.0/0', 'In', 'Exists', 'a'.repeat(300), '\u202e\u0000x', {}, [], [{}], [null], { from: [] }),
  fc.array(fc.constantFrom('a', 1, null, {}), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.constantFrom('x', 1, null, [], {}), { maxKeys: 3 }),
  // a huge list
  fc.integer({ min: 2000, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => ({ ip: `10.9.${i >> 8}.${i & 255}`, key: 'pod', operator: 'In', values: ['a'] }))),
);

/** Every path to a value inside `v` (object keys and array indexes), shallow ones first per branch. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  const children: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : v !== null && typeof v === 'object' ? Object.entries(v) : [];
  for (const [k, x] of children) {
    out.push([...prefix, k]);
    paths(x, [...prefix, k], out);
  }
  return out;
}

export interface Mutation<K extends string> {
  readonly kind: K;
  readonly index: number;
  readonly path: number;
  /** replace a value; drop a key or element; replace the whole object; add a key. */
  readonly op: 'replace' | 'drop' | 'whole' | 'newKey';
  readonly value: unknown;
  readonly key: string;
}

/** Mutations of the objects in the arrays named `kinds` (repeat a kind to weight it). */
export function mutationOf<K extends string>(kinds: readonly K[], newKeys: readonly string[]): fc.Arbitrary<Mutation<K>> {
  return fc.record({
    kind: fc.constantFrom(...kinds),
    index: fc.nat(),
    path: fc.nat(),
    op: fc.constantFrom<Mutation<K>['op']>('replace', 'replace', 'replace', 'drop', 'whole', 'newKey'),
    value: weirdValue,
    key: fc.constantFrom(...newKeys),
  });
}

/**
 * Applies `m` to a copy of `snap` (only the mutated object is copied); undefined when the array is
 * empty. Returns where the mutated object sits, so a test can compare with the snapshot without it.
 */
export function mutate<S extends object, K extends string & keyof S>(snap: S, m: Mutation<K>): { mutated: S; index: number } | undefined {
  const list = ((snap[m.kind] as unknown as readonly unknown[] | undefined) ?? []) as readonly unknown[];
  if (list.length === 0) return undefined;
  const index = m.index % list.length;
  let obj = JSON.parse(JSON.stringify(list[index])) as Json;
  if (m.op === 'whole') obj = m.value as Json;
  else {
    const all = paths(obj);
    if (all.length === 0) obj = m.value as Json;
    else {
      const path = all[m.path % all.length]!;
      const parent = path.slice(0, -1).reduce<Json>((o, k) => (o as Record<string, Json>)[k]!, obj) as Record<string | number, unknown> | unknown[];
      const last = path[path.length - 1]!;
      if (m.op === 'drop') {
        if (Array.isArray(parent)) parent.splice(last as number, 1);
        else delete parent[last];
      } else if (m.op === 'newKey' && !Array.isArray(parent)) parent[m.key] = m.value;
      else (parent as Record<string | number, unknown>)[last] = m.value;
    }
  }
  const copy = list.slice();
  copy[index] = obj;
  return { mutated: { ...snap, [m.kind]: copy }, index };
}
