/**
 * Reading the exec-log (bench/peers/exec-log.c) of one agent run: which iptables/ipset commands it
 * ran, when, with how many stdin bytes, and which of them changed the kernel (pure).
 */

export interface Exec {
  readonly startUs: number;
  readonly endUs: number;
  readonly exit: number;
  readonly bytes: number;
  readonly tool: string;
  readonly args: readonly string[];
  /** A command that changes the kernel (restore, ipset create/add/del/..., iptables -A/-I/-D/...). */
  readonly write: boolean;
}

export interface ExecLog {
  readonly done: readonly Exec[];
  /** Wrapper pids that started and have not ended. */
  readonly running: number;
  /** Latest start or end time seen (µs), 0 when empty. */
  readonly lastActivityUs: number;
}

const IPSET_WRITES = new Set(['restore', '-R', 'create', '-N', 'add', '-A', 'del', '-D', 'destroy', '-X', 'flush', '-F', 'swap', '-W', 'rename', '-E']);
const IPTABLES_WRITES = new Set(['-A', '--append', '-I', '--insert', '-D', '--delete', '-R', '--replace', '-N', '--new-chain', '-X', '--delete-chain', '-F', '--flush', '-P', '--policy', '-Z', '--zero', '-E', '--rename-chain']);

/** Whether a command line changes the kernel. */
export function isWrite(tool: string, args: readonly string[]): boolean {
  if (tool.endsWith('-restore')) return true;
  if (tool.endsWith('-save')) return false;
  if (tool === 'ipset') return args.some((a) => IPSET_WRITES.has(a));
  return args.some((a) => IPTABLES_WRITES.has(a));
}

/** Parses the log text; a malformed line throws naming its number. */
export function parseExecLog(text: string): ExecLog {
  const started = new Set<string>();
  const done: Exec[] = [];
  let last = 0;
  for (const [i, line] of text.split('\n').entries()) {
    if (!line) continue;
    const f = line.split(' ');
    if (f[0] === 'S' && f.length >= 4) {
      started.add(f[2]!);
      last = Math.max(last, Number(f[1]));
    } else if (f[0] === 'E' && f.length >= 7) {
      started.delete(f[3]!);
      const [startUs, endUs, exit, bytes] = [Number(f[1]), Number(f[2]), Number(f[4]), Number(f[5])];
      const tool = f[6]!;
      const args = f.slice(7);
      if (![startUs, endUs, exit, bytes].every(Number.isFinite)) throw new Error(`exec log line ${i + 1}: not a number in ${JSON.stringify(line)}`);
      done.push({ startUs, endUs, exit, bytes, tool, args, write: isWrite(tool, args) });
      last = Math.max(last, endUs);
    } else {
      throw new Error(`exec log line ${i + 1}: unknown format ${JSON.stringify(line)}`);
    }
  }
  return { done, running: started.size, lastActivityUs: last };
}

export interface Window {
  readonly writes: number;
  readonly reads: number;
  /** stdin bytes handed to iptables-restore / ip6tables-restore and to ipset. */
  readonly iptablesBytes: number;
  readonly ipsetBytes: number;
  /** End of the last write in the window (µs), NaN when none. */
  readonly lastWriteEndUs: number;
  readonly failed: number;
}

/** What ended in (fromUs, toUs]. */
export function window(log: ExecLog, fromUs: number, toUs = Infinity): Window {
  let writes = 0;
  let reads = 0;
  let iptablesBytes = 0;
  let ipsetBytes = 0;
  let lastWriteEndUs = NaN;
  let failed = 0;
  for (const e of log.done) {
    if (e.endUs <= fromUs || e.endUs > toUs) continue;
    if (e.exit !== 0) failed++;
    if (e.write) {
      writes++;
      lastWriteEndUs = Number.isNaN(lastWriteEndUs) ? e.endUs : Math.max(lastWriteEndUs, e.endUs);
    } else reads++;
    if (e.tool === 'ipset') ipsetBytes += e.bytes;
    else iptablesBytes += e.bytes;
  }
  return { writes, reads, iptablesBytes, ipsetBytes, lastWriteEndUs, failed };
}
