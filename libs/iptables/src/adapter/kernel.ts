import type { IPFamily } from '@portico/ip-selection';
import type { TableName } from '../model.ts';
import { parseObservedSetHeaders, parseObservedSets, parseObservedTable, type ObservedSet, type ObservedSetHeader, type ObservedTable } from '../plan/observed.ts';
import type { PlanWriter } from '../plan/execute.ts';
import type { KernelFamily } from '../plan/planner.ts';
import type { Runner } from '../runner.ts';
import { failedLineOf } from './apply.ts';
import { detectBackend } from './probe.ts';

type Family = IPFamily;

/**
 * A component's only door to the kernel for planned changes: reads (`iptables-save -t TABLE`,
 * `ipset save`) and writes (`iptables-restore --noflush`, `ipset restore`), all through a
 * {@link Runner}. Every write is counted (invocations and bytes of input) so that metrics, tests and
 * the benchmark can prove that an unchanged state writes nothing.
 */

/**
 * Which iptables binaries to use. `auto` lets @portico/iptables decide (kubelet hint chains, then
 * whichever backend holds rules, then nf_tables); `nft` / `legacy` force one; `system` runs the
 * plain `iptables-save` / `iptables-restore` names (whatever the distribution's alternative is).
 */
export type IptablesBackend = 'auto' | 'nft' | 'legacy' | 'system';
export const IPTABLES_BACKENDS: readonly IptablesBackend[] = ['auto', 'nft', 'legacy', 'system'];

export interface Tools {
  /** `nft`, `legacy` or `system`. */
  readonly backend: string;
  /** Why this backend (logged at startup). */
  readonly reason: string;
  save(family: Family): string;
  restore(family: Family): string;
  readonly ipset: string;
}

/** The binaries of a backend by their conventional names (no probing; tests and `system`). */
export function toolsFor(backend: Exclude<IptablesBackend, 'auto'>, reason = `${backend} chosen by configuration`): Tools {
  const suffix = backend === 'system' ? '' : `-${backend}`;
  const base = (f: Family): string => (f === 'IPv4' ? 'iptables' : 'ip6tables');
  return { backend, reason, save: (f) => `${base(f)}${suffix}-save`, restore: (f) => `${base(f)}${suffix}-restore`, ipset: 'ipset' };
}

/**
 * Resolves the configured backend to binaries: `system` directly, the others through
 * @portico/iptables' detection (which also checks that the binaries exist). Throws with the
 * library's reason when no usable backend exists.
 */
export async function resolveTools(runner: Runner, choice: IptablesBackend): Promise<Tools> {
  if (choice === 'system') return toolsFor('system', 'system binaries chosen by configuration');
  const { decision } = await detectBackend(runner, choice === 'auto' ? {} : { override: choice });
  if (!decision.ok) throw new Error(`no usable iptables backend: ${decision.reason}`);
  const c = decision.backend.commands;
  return { backend: decision.backend.mode, reason: decision.backend.reason, save: (f) => c[f].save, restore: (f) => c[f].restore, ipset: 'ipset' };
}

/** Where time goes and what is written; the app turns these into metrics. */
export interface KernelObserver {
  onSave?(what: 'iptables' | 'ipset', family: Family | undefined, seconds: number): void;
  onRestore?(what: 'iptables' | 'ipset', family: Family, seconds: number, bytes: number, ok: boolean): void;
}

/** A failed command: which one, and what it said. */
export class KernelError extends Error {
  readonly command: string;
  readonly code: number;
  readonly stderr: string;
  /** 1-based input line the tool reported as failing, when it said so. */
  readonly failedLine: number | undefined;
  constructor(command: string, code: number, stderr: string) {
    super(`${command} exited ${code}: ${stderr.trim().split('\n').slice(0, 3).join(' / ') || '(no output)'}`);
    this.name = 'KernelError';
    this.command = command;
    this.code = code;
    this.stderr = stderr;
    this.failedLine = failedLineOf(stderr);
  }
}

export class Kernel implements PlanWriter {
  readonly #runner: Runner;
  readonly #tools: Tools;
  #observer: KernelObserver;
  /** Restore invocations that reached the kernel (successful or not). */
  writes = 0;
  /** Bytes of restore input written. */
  bytes = 0;
  /** Wait for the xtables lock this long (seconds; iptables-restore --wait). */
  readonly #waitSeconds: number;

  /** Runs the restore commands (the agent's ShellRunner from @portico/iptables/adapter); reads always use `runner`. */
  readonly #writer: Runner & { close?(): void };

  constructor(runner: Runner, tools: Tools, opts: { observer?: KernelObserver; waitSeconds?: number; writer?: Runner & { close?(): void } } = {}) {
    this.#runner = runner;
    this.#writer = opts.writer ?? runner;
    this.#tools = tools;
    this.#observer = opts.observer ?? {};
    this.#waitSeconds = opts.waitSeconds ?? 10;
  }

  /** Stops the writer's helper process, if it has one. */
  close(): void {
    this.#writer.close?.();
  }

  /** Sets where timings and writes are reported (metrics). */
  observe(observer: KernelObserver): void {
    this.#observer = observer;
  }

  get tools(): Tools {
    return this.#tools;
  }

  async readTable(family: Family, table: TableName = 'filter'): Promise<ObservedTable> {
    const cmd = this.#tools.save(family);
    const t0 = performance.now();
    const r = await this.#runner.run(cmd, ['-t', table]);
    this.#observer.onSave?.('iptables', family, (performance.now() - t0) / 1000);
    if (r.code !== 0) throw new KernelError(`${cmd} -t ${table}`, r.code, r.stderr);
    return parseObservedTable(r.stdout, cmd, table);
  }

  async readSets(): Promise<Map<string, ObservedSet>> {
    const t0 = performance.now();
    const r = await this.#runner.run(this.#tools.ipset, ['save']);
    this.#observer.onSave?.('ipset', undefined, (performance.now() - t0) / 1000);
    if (r.code !== 0) throw new KernelError('ipset save', r.code, r.stderr);
    return parseObservedSets(r.stdout);
  }

  /**
   * Every set's header and member count (`ipset list -t`), without the members: a few lines per set
   * whatever their size, for the cheap check of a kernel model (`setHeaderDrift`).
   */
  async readSetHeaders(): Promise<Map<string, ObservedSetHeader>> {
    const t0 = performance.now();
    const r = await this.#runner.run(this.#tools.ipset, ['list', '-t']);
    this.#observer.onSave?.('ipset', undefined, (performance.now() - t0) / 1000);
    if (r.code !== 0) throw new KernelError('ipset list -t', r.code, r.stderr);
    return parseObservedSetHeaders(r.stdout);
  }

  /** Reads `table` (default filter) of `families` and all sets. */
  async read(families: readonly Family[], table: TableName = 'filter'): Promise<KernelFamily[]> {
    const sets = await this.readSets();
    const out: KernelFamily[] = [];
    for (const family of families) out.push({ family, table: await this.readTable(family, table), sets });
    return out;
  }

  /** Names of all ipsets (cheap; used to clean up after a failed stage). */
  async listSetNames(): Promise<Set<string>> {
    const r = await this.#runner.run(this.#tools.ipset, ['list', '-n']);
    if (r.code !== 0) throw new KernelError('ipset list -n', r.code, r.stderr);
    return new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  /** `ipset restore [-exist]` of `lines`; throws {@link KernelError} on failure. */
  async ipsetRestore(family: Family, lines: readonly string[], exist: boolean): Promise<void> {
    if (lines.length === 0) return;
    const input = lines.join('\n') + '\n';
    const args = exist ? ['restore', '-exist'] : ['restore'];
    await this.#write('ipset', family, this.#tools.ipset, args, input);
  }

  /** One `iptables-restore --noflush --wait` for the filter table. */
  async iptablesRestore(family: Family, input: string): Promise<void> {
    if (input === '') return;
    await this.#write('iptables', family, this.#tools.restore(family), ['--noflush', '--wait', String(this.#waitSeconds)], input);
  }

  async #write(what: 'iptables' | 'ipset', family: Family, cmd: string, args: string[], input: string): Promise<void> {
    this.writes++;
    this.bytes += Buffer.byteLength(input);
    const t0 = performance.now();
    const r = await this.#writer.run(cmd, args, { input });
    this.#observer.onRestore?.(what, family, (performance.now() - t0) / 1000, Buffer.byteLength(input), r.code === 0);
    if (r.code !== 0) throw new KernelError(`${cmd} ${args.join(' ')}`, r.code, r.stderr);
  }
}
