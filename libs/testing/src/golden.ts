import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import assert from 'node:assert/strict';

/**
 * Compares `actual` with the golden file at `path` (STYLE rule 3). With `UPDATE_GOLDEN=1` the file
 * is (re)written instead. Without the flag a missing golden file fails: it is never created silently.
 */
export function expectGolden(path: string, actual: string): void {
  if (process.env['UPDATE_GOLDEN'] === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    assert.fail(`golden file ${path} is missing; run with UPDATE_GOLDEN=1 to create it, then review it`);
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from golden file ${path} (UPDATE_GOLDEN=1 rewrites it)`);
}

/** A writable sink that keeps what was written, for CLI tests. */
export class Sink {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  lines(): string[] {
    return this.text.split('\n').filter((l) => l.length > 0);
  }
}

/** Shuffles a copy of `items` with a seeded PRNG, so order-independence tests are repeatable. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
