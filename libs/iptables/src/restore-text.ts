import { chainNameProblem, isBuiltinChain, type Counters, type RestoreOp, type RestoreTable, type Rule, type Ruleset, type Table } from './model.ts';
import { assertWordFits, quoteIfNeeded, quoteSaveString } from './tokens.ts';

/**
 * Rendering of the model to `iptables-restore` / `ip6tables-restore` input and to the
 * `iptables-save` text form (pure). Invalid models (bad chain names, a policy on a user chain,
 * a line break inside an argument) throw a TypeError: they are bugs in the caller, not input.
 */

/** Options whose value `iptables-save` prints with xtables_save_string (see {@link quoteSaveString}). */
const SAVE_STRING_VALUE_OF = new Set(['--comment', '--log-prefix', '--nflog-prefix', '--string', '--helper']);

/** Header options `iptables-save` prints before any `-m` match, each followed by one value. */
const HEADER_WITH_VALUE = new Set(['-s', '--source', '-d', '--destination', '-i', '--in-interface', '-o', '--out-interface', '-p', '--protocol']);
const HEADER_FLAG = new Set(['-f', '--fragment']);

/** Number of leading words of `args` that are header options (`! -s X`, `-p tcp`, `-f`). */
export function headerLength(args: readonly string[]): number {
  let i = 0;
  while (i < args.length) {
    const neg = args[i] === '!' ? 1 : 0;
    const opt = args[i + neg];
    if (opt !== undefined && HEADER_WITH_VALUE.has(opt) && i + neg + 1 < args.length) i += neg + 2;
    else if (opt !== undefined && HEADER_FLAG.has(opt)) i += neg + 1;
    else break;
  }
  return i;
}

/** The full argument list of a rule: header options, then the comment match, then the rest. */
export function ruleArgs(rule: Rule): string[] {
  if (rule.comment === undefined) return [...rule.args];
  const h = headerLength(rule.args);
  return [...rule.args.slice(0, h), '-m', 'comment', '--comment', rule.comment, ...rule.args.slice(h)];
}

/** The words of a rule as restore text, quoted the way iptables-save quotes them. */
export function renderRuleWords(rule: Rule, where = 'rule'): string {
  const args = ruleArgs(rule);
  return args
    .map((a, i) => {
      assertWordFits(a, where);
      return SAVE_STRING_VALUE_OF.has(args[i - 1] ?? '') ? quoteSaveString(a) : quoteIfNeeded(a);
    })
    .join(' ');
}

function counterPrefix(c: Counters | undefined, withCounters: boolean): string {
  return withCounters && c ? `[${c.packets}:${c.bytes}] ` : '';
}

function checkChain(name: string, where: string): void {
  const p = chainNameProblem(name);
  if (p) throw new TypeError(`${where}: chain name ${JSON.stringify(name)} is invalid: ${p}`);
}

function renderOp(table: RestoreTable, op: RestoreOp, withCounters: boolean): string {
  const where = `table ${table.table}, chain ${op.chain}`;
  checkChain(op.chain, where);
  switch (op.kind) {
    case 'append':
      return `${counterPrefix(op.rule.counters, withCounters)}-A ${op.chain} ${renderRuleWords(op.rule, where)}`.trimEnd();
    case 'insert': {
      const pos = op.position ?? 1;
      if (!Number.isInteger(pos) || pos < 1) throw new TypeError(`${where}: insert position ${pos} must be an integer >= 1`);
      return `${counterPrefix(op.rule.counters, withCounters)}-I ${op.chain} ${pos} ${renderRuleWords(op.rule, where)}`.trimEnd();
    }
    case 'delete':
      return `-D ${op.chain} ${renderRuleWords(op.rule, where)}`.trimEnd();
    case 'flush':
      return `-F ${op.chain}`;
    case 'deleteChain':
      if (isBuiltinChain(table.table, op.chain)) throw new TypeError(`${where}: a built-in chain cannot be deleted`);
      return `-X ${op.chain}`;
  }
}

export interface RenderOptions {
  /** Print counters (`[p:b]` on declarations and rules) for `iptables-restore --counters`. @default false */
  readonly counters?: boolean;
}

/** Renders one table block (`*table`, declarations, operations, `COMMIT`). */
export function renderRestoreTable(t: RestoreTable, opts: RenderOptions = {}): string {
  const lines = [`*${t.table}`];
  const declared = new Set<string>();
  for (const c of t.chains) {
    const where = `table ${t.table}`;
    checkChain(c.name, where);
    if (declared.has(c.name)) throw new TypeError(`${where}: chain ${c.name} is declared twice`);
    declared.add(c.name);
    const builtin = isBuiltinChain(t.table, c.name);
    if (builtin && !c.policy) throw new TypeError(`${where}: built-in chain ${c.name} is declared without a policy`);
    if (!builtin && c.policy) throw new TypeError(`${where}: user chain ${c.name} cannot have a policy`);
    const cnt = opts.counters && c.counters ? c.counters : { packets: 0, bytes: 0 };
    lines.push(`:${c.name} ${c.policy ?? '-'} [${cnt.packets}:${cnt.bytes}]`);
  }
  for (const op of t.ops) lines.push(renderOp(t, op, opts.counters ?? false));
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * Renders a complete `iptables-restore` input: the table blocks in the given order. Meant for
 * `iptables-restore --noflush` unless the blocks declare every chain (see model.ts).
 */
export function renderRestore(tables: readonly RestoreTable[], opts: RenderOptions = {}): string {
  const seen = new Set<string>();
  for (const t of tables) {
    if (seen.has(t.table)) throw new TypeError(`table ${t.table} appears twice in one restore input; merge the blocks`);
    seen.add(t.table);
  }
  return tables.map((t) => renderRestoreTable(t, opts)).join('');
}

/**
 * Renders a state the way `iptables-save` prints it, without the `#` header and footer lines:
 * per table, every chain declaration, then every rule as `-A`. With `counters`, as `iptables-save -c`.
 * Useful to compare states read from the kernel with expected ones, independent of timestamps.
 */
export function renderSave(ruleset: Ruleset | readonly Table[], opts: RenderOptions = {}): string {
  const tables = 'tables' in ruleset ? ruleset.tables : ruleset;
  const withCounters = opts.counters ?? false;
  let out = '';
  for (const t of tables) {
    const lines = [`*${t.name}`];
    for (const c of t.chains) {
      const cnt = withCounters && c.counters ? c.counters : { packets: 0, bytes: 0 };
      lines.push(`:${c.name} ${c.policy ?? '-'} [${cnt.packets}:${cnt.bytes}]`);
    }
    for (const c of t.chains) {
      for (const r of c.rules) lines.push(`${counterPrefix(r.counters ?? { packets: 0, bytes: 0 }, withCounters)}-A ${c.name} ${renderRuleWords(r)}`.trimEnd());
    }
    lines.push('COMMIT');
    out += lines.join('\n') + '\n';
  }
  return out;
}

/** Number of rules a restore input adds (`-A` and `-I` lines); for logs. */
export function addedRuleCount(input: string): number {
  let n = 0;
  for (const line of input.split('\n')) if (/^(\[\d+:\d+\] )?-[AI] /.test(line)) n++;
  return n;
}
