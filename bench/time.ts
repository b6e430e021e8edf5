// `/usr/bin/time -v` around a command whose stdout goes to a file: what the render-scale benchmarks report.
import { spawnSync } from 'node:child_process';

export interface TimedRun {
  /** Exit status of the command (as text, from time's report). */
  readonly exit: string;
  /** Wall-clock seconds. */
  readonly wallSeconds: number;
  /** User + system CPU seconds. */
  readonly cpuSeconds: number;
  /** Peak resident set size in bytes (NaN if time did not report it). */
  readonly peakRssBytes: number;
  /** The command's stderr lines (time's own report removed). */
  readonly stderr: string;
}

/** Runs `argv` under `/usr/bin/time -v` with stdout written to `outFile`. */
export function timedRun(argv: readonly string[], outFile: string): TimedRun {
  const r = spawnSync('/usr/bin/time', ['-v', 'sh', '-c', `exec "$0" "$@" > "${outFile}"`, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const err = r.stderr ?? '';
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1];
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(err)?.[1];
  const cpu = Number(/User time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(err)?.[1] ?? NaN);
  return {
    exit: /Exit status: (\d+)/.exec(err)?.[1] ?? String(r.status),
    wallSeconds: wall ? wall.split(':').reduce((a, x) => a * 60 + Number(x), 0) : NaN,
    cpuSeconds: cpu,
    peakRssBytes: rss ? Number(rss) * 1024 : NaN,
    stderr: err.split('\n').filter((l) => !/^\t/.test(l)).join('\n'),
  };
}

/** Bytes as whole MiB for tables. */
export const mib = (n: number): string => (Number.isNaN(n) ? '?' : `${(n / 1048576).toFixed(0)} MiB`);
