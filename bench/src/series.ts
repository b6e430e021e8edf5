/**
 * A benchmark series as `npm run bench` records it: written by a benchmark to
 * `.cache/bench/<name>.json`, turned into a docs/benchmarks.md section and SVG plots by
 * bench/report.ts. Every series says where and how it was measured (machine, versions, load,
 * repetitions, the command that reproduces it).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly node: string;
  readonly iptables: string;
}

/** A line chart: one line per `series` value, x and y numeric. */
export interface Plot {
  /** File name under docs/benchmarks/ (`[a-z0-9-]+.svg`). */
  readonly file: string;
  readonly title: string;
  readonly x: { readonly title: string; readonly log?: boolean };
  readonly y: { readonly title: string; readonly log?: boolean };
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly series: string }>;
}

export interface Series {
  /** `[a-z0-9-]+`: the bench/run.sh name, the marker in docs/benchmarks.md, the JSON file name. */
  readonly name: string;
  readonly title: string;
  /** The command that reproduces this series (from the repository root, as root). */
  readonly command: string;
  readonly machine: Machine;
  /** ISO time the run started and ended. */
  readonly started: string;
  readonly finished: string;
  /** 1-minute load average at start and end (other work shares the machine). */
  readonly loadAverage: readonly [number, number];
  readonly versions: Readonly<Record<string, string>>;
  readonly repetitions: number;
  /** Paragraphs before the table: method, what each column means. */
  readonly method: readonly string[];
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string>>;
  /** Paragraphs after the table: goals met or not, caveats. */
  readonly findings: readonly string[];
  readonly plots: readonly Plot[];
  /** The measurements the table was made from, for later analysis (not rendered). */
  readonly raw?: unknown;
}

const NAME = /^[a-z0-9-]+$/;

/** Checks a parsed JSON value is a Series (the fields report.ts relies on); throws naming the field. */
export function parseSeries(v: unknown, source: string): Series {
  const bad = (field: string, why: string): never => {
    throw new Error(`${source}: ${field}: ${why}`);
  };
  if (typeof v !== 'object' || v === null) bad('(root)', 'not an object');
  const s = v as Record<string, unknown>;
  if (typeof s.name !== 'string' || !NAME.test(s.name)) bad('name', `want [a-z0-9-]+, got ${JSON.stringify(s.name)}`);
  for (const f of ['title', 'command', 'started', 'finished'] as const) if (typeof s[f] !== 'string') bad(f, 'missing');
  if (!Array.isArray(s.columns) || !Array.isArray(s.rows)) bad('columns/rows', 'missing');
  for (const [i, r] of (s.rows as unknown[]).entries()) {
    if (!Array.isArray(r) || r.length !== (s.columns as unknown[]).length) bad(`rows[${i}]`, `want ${(s.columns as unknown[]).length} cells`);
  }
  for (const [i, p] of ((s.plots as Plot[] | undefined) ?? []).entries()) {
    if (!NAME.test(p.file.replace(/\.svg$/, '')) || !p.file.endsWith('.svg')) bad(`plots[${i}].file`, `want <name>.svg, got ${JSON.stringify(p.file)}`);
  }
  return v as Series;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch {
    return 'unknown';
  }
}

/** This machine, for the record. */
export function machine(): Machine {
  let osName = os.type();
  try {
    osName = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? osName;
  } catch {
    /* not Linux */
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: osName,
    node: process.version,
    iptables: firstLine('iptables', ['--version']),
  };
}

export const loadAverage = (): number => Math.round(os.loadavg()[0]! * 10) / 10;
