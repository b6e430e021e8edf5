import type { FamilyCommands } from '../backend.ts';
import { parseIpsetSave, renderIpsetRestore, type IpsetOp, type IpsetSet } from '../ipset.ts';
import type { RestoreTable, Ruleset, TableName } from '../model.ts';
import { renderRestore } from '../restore-text.ts';
import type { CommandResult, Runner } from '../runner.ts';
import { parseSave } from '../save-parse.ts';

/**
 * Atomic apply and read-back through a {@link Runner} (this file does no I/O itself).
 *
 * - {@link iptablesRestore}: ONE `iptables-restore` (or `ip6tables-restore`, per the family's
 *   commands) with the whole input on stdin: `--noflush` by default, `-w` to wait for the xtables
 *   lock, `--test` to only check. With the nft backend the whole input is one transaction; with
 *   legacy each table block is committed atomically. Callers that want one call per family and
 *   table pass one table at a time.
 * - {@link ipsetRestore}: ONE `ipset restore` (with `-exist` by default).
 * - {@link iptablesSave}, {@link ipsetSave}: read back and parse.
 *
 * Failures throw {@link CommandError} with the command, exit code, stderr and, when the tool
 * said so, the failing input line.
 */

export class CommandError extends Error {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly code: number;
  readonly stderr: string;
  /** 1-based line of the input the tool blamed, when it said. */
  readonly failedLine: number | undefined;
  constructor(cmd: string, args: readonly string[], result: CommandResult) {
    const failedLine = failedLineOf(result.stderr);
    const firstLine = result.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
    super(`${[cmd, ...args].join(' ')} exited ${result.code}${failedLine !== undefined ? ` at input line ${failedLine}` : ''}: ${firstLine.trim()}`);
    this.name = 'CommandError';
    this.cmd = cmd;
    this.args = args;
    this.code = result.code;
    this.stderr = result.stderr;
    this.failedLine = failedLine;
  }
}

/** The input line an iptables-restore or ipset restore error names, if any. */
export function failedLineOf(stderr: string): number | undefined {
  const m = /Error occurred at line: (\d+)/.exec(stderr) ?? /line (\d+) failed/.exec(stderr) ?? /Error in line (\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

export interface RestoreCallOptions {
  /** `--noflush`: leave tables, chains and rules not named in the input alone. @default true */
  readonly noflush?: boolean;
  /** `--test`: parse and check, commit nothing. @default false */
  readonly test?: boolean;
  /** `--counters`: set the counters given in the input. @default false */
  readonly counters?: boolean;
  /** `-w`: wait for the xtables lock instead of failing (legacy; nft ignores it). @default true */
  readonly wait?: boolean;
}

/** The arguments of an `iptables-restore` call for these options. */
export function restoreArgs(opts: RestoreCallOptions = {}): string[] {
  const args: string[] = [];
  if (opts.noflush ?? true) args.push('--noflush');
  if (opts.test) args.push('--test');
  if (opts.counters) args.push('--counters');
  if (opts.wait ?? true) args.push('-w');
  return args;
}

async function must(runner: Runner, cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
  const r = await runner.run(cmd, args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new CommandError(cmd, args, r);
  return r;
}

/**
 * Runs one restore of `input` (text, or table blocks rendered here) with the family's restore
 * command. Resolves when the kernel accepted it; throws {@link CommandError} otherwise.
 */
export async function iptablesRestore(runner: Runner, commands: FamilyCommands, input: string | readonly RestoreTable[], opts: RestoreCallOptions = {}): Promise<void> {
  const text = typeof input === 'string' ? input : renderRestore(input, { counters: opts.counters ?? false });
  await must(runner, commands.restore, restoreArgs(opts), text);
}

/** Reads the family's rules (one table, or all) with its save command and parses them. */
export async function iptablesSave(runner: Runner, commands: FamilyCommands, opts: { readonly table?: TableName; readonly counters?: boolean } = {}): Promise<{ readonly text: string; readonly ruleset: Ruleset }> {
  const args: string[] = [];
  if (opts.counters) args.push('-c');
  if (opts.table) args.push('-t', opts.table);
  const r = await must(runner, commands.save, args);
  return { text: r.stdout, ruleset: parseSave(r.stdout) };
}

export interface IpsetCallOptions {
  /** The ipset binary. @default 'ipset' */
  readonly ipset?: string;
  /** `-exist`: ignore create of an existing set and add of a present member. @default true */
  readonly exist?: boolean;
}

/** Runs one `ipset restore` of `input` (text or operations). */
export async function ipsetRestore(runner: Runner, input: string | readonly IpsetOp[], opts: IpsetCallOptions = {}): Promise<void> {
  const text = typeof input === 'string' ? input : renderIpsetRestore(input);
  const args = (opts.exist ?? true) ? ['-exist', 'restore'] : ['restore'];
  await must(runner, opts.ipset ?? 'ipset', args, text);
}

/** Reads every set (or one) with `ipset save` and parses it. */
export async function ipsetSave(runner: Runner, opts: { readonly ipset?: string; readonly set?: string } = {}): Promise<IpsetSet[]> {
  const r = await must(runner, opts.ipset ?? 'ipset', opts.set ? ['save', opts.set] : ['save']);
  return parseIpsetSave(r.stdout);
}
