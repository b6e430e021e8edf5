/**
 * An immutable map of ipset entries (entry -> nomatch) that is cheap to derive from another one:
 * `with(changes)` costs O(changes), not O(size), by layering the changes over a shared base. The
 * agent's kernel model keeps one per set; a pod that joins a 5,000-member set then costs one entry,
 * not a 5,000-entry copy. Layers are flattened when they grow past a quarter of the base.
 */
export class EntryMap implements ReadonlyMap<string, boolean> {
  readonly #base: ReadonlyMap<string, boolean>;
  /** Entries set on top of the base (new ones and changed nomatch flags). */
  readonly #set: ReadonlyMap<string, boolean>;
  /** Base entries removed. */
  readonly #del: ReadonlySet<string>;
  readonly size: number;

  private constructor(base: ReadonlyMap<string, boolean>, set: ReadonlyMap<string, boolean>, del: ReadonlySet<string>, size: number) {
    this.#base = base;
    this.#set = set;
    this.#del = del;
    this.size = size;
  }

  /** Wraps a map the caller will not modify afterwards. */
  static of(map: ReadonlyMap<string, boolean>): EntryMap {
    return map instanceof EntryMap ? map : new EntryMap(map, new Map(), new Set(), map.size);
  }

  get(key: string): boolean | undefined {
    const v = this.#set.get(key);
    if (v !== undefined) return v;
    return this.#del.has(key) ? undefined : this.#base.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A new map with `set` entries added or changed and `del` entries removed (del applies first). */
  with(set: Iterable<readonly [string, boolean]>, del: Iterable<string>): EntryMap {
    const nextSet = new Map(this.#set);
    const nextDel = new Set(this.#del);
    let size = this.size;
    for (const k of del) {
      if (!this.has(k)) continue;
      size--;
      nextSet.delete(k);
      if (this.#base.has(k)) nextDel.add(k);
    }
    for (const [k, v] of set) {
      const had = nextSet.has(k) || (!nextDel.has(k) && this.#base.has(k));
      if (!had) size++;
      if (this.#base.get(k) === v && !nextDel.has(k)) nextSet.delete(k);
      else {
        nextSet.set(k, v);
        nextDel.delete(k);
        if (this.#base.has(k)) nextDel.add(k); // shadowed base entry: counted once through #set
      }
    }
    const layered = new EntryMap(this.#base, nextSet, nextDel, size);
    return nextSet.size + nextDel.size > Math.max(64, this.#base.size / 4) ? new EntryMap(new Map(layered), new Map(), new Set(), size) : layered;
  }

  *entries(): MapIterator<[string, boolean]> {
    for (const [k, v] of this.#base) if (!this.#del.has(k)) yield [k, v];
    for (const [k, v] of this.#set) yield [k, v];
  }

  *keys(): MapIterator<string> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<boolean> {
    for (const [, v] of this.entries()) yield v;
  }

  [Symbol.iterator](): MapIterator<[string, boolean]> {
    return this.entries();
  }

  forEach(fn: (value: boolean, key: string, map: ReadonlyMap<string, boolean>) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
}
