/** CPU time and resident memory of a process and its live descendants, from /proc (Linux). */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid: number): { ppid: number; cpuMs: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // after "(comm) ": state ppid ... utime(14) stime(15) cutime(16) cstime(17) in 1-based stat numbering
    const n = (i: number): number => Number(f[i - 3]);
    return { ppid: n(4), cpuMs: (n(14) + n(15) + n(16) + n(17)) * TICK_MS };
  } catch {
    return undefined;
  }
}

function statusKiB(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** `pid` and every live descendant. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(Number(d));
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(d)]);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface TreeUsage {
  /** user + system CPU of the tree, reaped children included (ms). */
  readonly cpuMs: number;
  /** Sum of VmRSS (bytes). */
  readonly rssBytes: number;
  /** Sum of VmHWM, the peak RSS of each live process (bytes). */
  readonly hwmBytes: number;
  readonly processes: number;
}

/** Usage of `pid`'s tree; a process that exits meanwhile counts as 0. */
export function treeUsage(pid: number): TreeUsage {
  const pids = processTree(pid);
  let cpuMs = 0;
  let rss = 0;
  let hwm = 0;
  for (const p of pids) {
    cpuMs += stat(p)?.cpuMs ?? 0;
    rss += statusKiB(p, 'VmRSS');
    hwm += statusKiB(p, 'VmHWM');
  }
  return { cpuMs, rssBytes: rss * 1024, hwmBytes: hwm * 1024, processes: pids.length };
}

/** Own user + system CPU of one process (ms), children excluded. */
export function ownCpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}
