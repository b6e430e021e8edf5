/**
 * An immutable map of ipset entries (entry -> nomatch) that is cheap to derive from another one:
 * `with(changes)` costs O(changes), not O(size), by layering the changes over a shared base. The
 * agent's kernel model keeps one per set; a pod that joins a 5,000-member set then costs one entry,
 * not a 5,000-entry copy. Layers are flattened when they grow past a quarter of the base.
 */
export class EntryMap implements ReadonlyMap<string, boolean> {
  readonly #base: ReadonlyMap<string, boolean>;
  /** Overrides of the base: a flag, or null for a removed entry. */
  readonly #changes: ReadonlyMap<string, boolean | null>;
  readonly size: number;

  private constructor(base: ReadonlyMap<string, boolean>, changes: ReadonlyMap<string, boolean | null>, size: number) {
    this.#base = base;
    this.#changes = changes;
    this.size = size;
  }

  /** Wraps a map the caller will not modify afterwards. */
  static of(map: ReadonlyMap<string, boolean>): EntryMap {
    return map instanceof EntryMap ? map : new EntryMap(map, new Map(), map.size);
  }

  get(key: string): boolean | undefined {
    if (this.#changes.has(key)) return this.#changes.get(key) ?? undefined;
    return this.#base.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** A new map with `del` entries removed, then `set` entries added or changed. */
  with(set: Iterable<readonly [string, boolean]>, del: Iterable<string>): EntryMap {
    const next = new Map(this.#changes);
    let size = this.size;
    const change = (k: string, v: boolean | null): void => {
      const had = next.has(k) ? next.get(k) !== null : this.#base.has(k);
      size += (v !== null ? 1 : 0) - (had ? 1 : 0);
      const sameAsBase = v === null ? !this.#base.has(k) : this.#base.get(k) === v;
      if (sameAsBase) next.delete(k);
      else next.set(k, v);
    };
    for (const k of del) change(k, null);
    for (const [k, v] of set) change(k, v);
    const layered = new EntryMap(this.#base, next, size);
    // Flatten when the layer is no longer small next to its base.
    return next.size > Math.max(64, this.#base.size / 4) ? new EntryMap(new Map(layered), new Map(), size) : layered;
  }

  *entries(): MapIterator<[string, boolean]> {
    for (const [k, v] of this.#base) if (!this.#changes.has(k)) yield [k, v];
    for (const [k, v] of this.#changes) if (v !== null) yield [k, v];
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
