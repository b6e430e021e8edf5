/**
 * A deep copy of `value` with every object's keys in sorted (code-unit) order and `undefined`
 * members dropped. Arrays keep their order: it is meaningful (env, containers, tolerations).
 * Same input, same bytes: every object the core emits goes through this.
 */
export function canonical<T>(value: T): T {
  return sortDeep(value) as T;
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === 'object') {
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(src).sort()) {
      const x = src[k];
      if (x !== undefined) out[k] = sortDeep(x);
    }
    return out;
  }
  return v;
}

/** Whether every object inside `value` already has its keys in canonical order (for tests). */
export function isCanonical(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(isCanonical);
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    for (let i = 1; i < keys.length; i++) if (keys[i - 1]! >= keys[i]!) return false;
    return keys.every((k) => isCanonical((value as Record<string, unknown>)[k]));
  }
  return true;
}
