/** Summary statistics of benchmark samples (pure). */

export interface Summary {
  readonly n: number;
  readonly median: number;
  /** Nearest-rank 99th percentile: with fewer than 100 samples this is the maximum. */
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Median (mean of the two middle values for an even count), nearest-rank p99, min and max. */
export function summarize(samples: readonly number[]): Summary {
  const xs = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return { n: 0, median: NaN, p99: NaN, min: NaN, max: NaN };
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
  const p99 = xs[Math.min(xs.length - 1, Math.ceil(0.99 * xs.length) - 1)]!;
  return { n: xs.length, median, p99, min: xs[0]!, max: xs[xs.length - 1]! };
}

/** Milliseconds for a table: 3 significant digits below 100, whole numbers above; seconds from 10 s. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

/** Bytes as B / KiB / MiB for a table. */
export function fmtBytes(b: number): string {
  if (!Number.isFinite(b)) return '—';
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(1)} MiB`;
  if (b >= 10 << 10) return `${(b / 1024).toFixed(0)} KiB`;
  return `${b} B`;
}
