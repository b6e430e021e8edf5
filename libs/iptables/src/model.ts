/**
 * The typed iptables model (pure: this file imports nothing that does I/O).
 *
 * Two shapes:
 * - {@link Table} / {@link Ruleset}: a **state**, what `iptables-save` prints (chains with their
 *   policy and counters, each chain's rules in order). Parsing gives this shape.
 * - {@link RestoreTable}: an **input** to `iptables-restore`, usually with `--noflush`: chain
 *   declarations plus an ordered list of operations (append, insert, delete, flush, delete chain).
 *   Rendering takes this shape. {@link restoreTableOf} turns a state into a full-replace input.
 *
 * `--noflush` semantics to keep in mind (checked against iptables 1.8.9, nft and legacy):
 * - `:NAME - [0:0]` for a **user** chain creates it, or **flushes** it when it exists: declaring a
 *   chain is how a whole chain is replaced atomically.
 * - `:INPUT ACCEPT [0:0]` for a **built-in** chain only sets its policy under `--noflush`; its rules
 *   stay. Without `--noflush` every table named in the input is flushed whole. Renderers therefore
 *   declare a built-in chain only when the caller gives it a policy.
 */

/** The iptables tables Portico may write. */
export type TableName = 'filter' | 'nat' | 'mangle' | 'raw' | 'security';

export const TABLE_NAMES: readonly TableName[] = Object.freeze(['filter', 'nat', 'mangle', 'raw', 'security'] as const);

/** A built-in chain's policy. User chains have none (`-` in save output). */
export type Policy = 'ACCEPT' | 'DROP';

/** Packet and byte counters (`[packets:bytes]`). Numbers: exact up to 2^53. */
export interface Counters {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * One rule: its arguments after `-A CHAIN` (e.g. `['-p', 'tcp', '-m', 'tcp', '--dport', '80',
 * '-j', 'ACCEPT']`), unquoted, plus an optional comment.
 *
 * `comment` is rendered as `-m comment --comment "<text>"` right after the leading header options
 * (`-s`, `-d`, `-i`, `-o`, `-p`, `-f`, each possibly negated with `!`), which is where
 * `iptables-save` prints a comment that was given before the other matches. A comment elsewhere
 * can simply be part of `args`. Parsing extracts a comment only from that canonical position, so
 * `render(parse(line)) === line`.
 */
export interface Rule {
  readonly args: readonly string[];
  readonly comment?: string;
  /** Counters, printed only when rendering with counters. */
  readonly counters?: Counters;
}

/** A chain in a table state. */
export interface Chain {
  readonly name: string;
  /** Policy of a built-in chain; `undefined` for a user chain. */
  readonly policy?: Policy;
  readonly counters?: Counters;
  readonly rules: readonly Rule[];
}

/** A table state, as one `*table ... COMMIT` block of `iptables-save`. */
export interface Table {
  readonly name: TableName;
  readonly chains: readonly Chain[];
}

/** Every table of one family, as `iptables-save` prints it. */
export interface Ruleset {
  readonly tables: readonly Table[];
}

/** A chain declaration in a restore input (`:NAME POLICY [p:b]`). */
export interface ChainDecl {
  readonly name: string;
  /** Required to declare a built-in chain (sets its policy); must be absent for a user chain. */
  readonly policy?: Policy;
  readonly counters?: Counters;
}

/** One operation line of a restore input. */
export type RestoreOp =
  /** `-A CHAIN rule` */
  | { readonly kind: 'append'; readonly chain: string; readonly rule: Rule }
  /** `-I CHAIN [position] rule` (position is 1-based; omitted means 1) */
  | { readonly kind: 'insert'; readonly chain: string; readonly position?: number; readonly rule: Rule }
  /** `-D CHAIN rule` (deletes the first rule matching exactly; fails when none does) */
  | { readonly kind: 'delete'; readonly chain: string; readonly rule: Rule }
  /** `-F CHAIN` */
  | { readonly kind: 'flush'; readonly chain: string }
  /** `-X CHAIN` (the chain must be empty and unreferenced) */
  | { readonly kind: 'deleteChain'; readonly chain: string };

/** One `*table ... COMMIT` block of an `iptables-restore` input. */
export interface RestoreTable {
  readonly table: TableName;
  /** Declared first, in this order. User chains are created or flushed. */
  readonly chains: readonly ChainDecl[];
  /** Then these lines, in this order. */
  readonly ops: readonly RestoreOp[];
}

/** Built-in chains of each table (kernel names). */
export const BUILTIN_CHAINS: Readonly<Record<TableName, readonly string[]>> = Object.freeze({
  filter: Object.freeze(['INPUT', 'FORWARD', 'OUTPUT']),
  nat: Object.freeze(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']),
  mangle: Object.freeze(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']),
  raw: Object.freeze(['PREROUTING', 'OUTPUT']),
  security: Object.freeze(['INPUT', 'FORWARD', 'OUTPUT']),
});

/** True when `chain` is a built-in chain of `table`. */
export function isBuiltinChain(table: TableName, chain: string): boolean {
  return BUILTIN_CHAINS[table].includes(chain);
}

/** True for a table name iptables knows. */
export function isTableName(name: string): name is TableName {
  return (TABLE_NAMES as readonly string[]).includes(name);
}

/** Longest chain name iptables accepts (XT_EXTENSION_MAXNAMELEN 29, minus the NUL). */
export const MAX_CHAIN_NAME_LENGTH = 28;

/** Why a chain name is not acceptable, or `undefined` when it is. */
export function chainNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty';
  if (name.length > MAX_CHAIN_NAME_LENGTH) return `longer than ${MAX_CHAIN_NAME_LENGTH} characters`;
  if (/[\s"'\\]/.test(name)) return 'contains whitespace, a quote or a backslash';
  if (name.startsWith('-') || name.startsWith('!')) return 'starts with - or !';
  return undefined;
}

/** `['-m', 'comment', '--comment', text]`: a comment match to place anywhere in `args`. */
export function commentMatch(text: string): string[] {
  return ['-m', 'comment', '--comment', text];
}

/** The jump target of a rule (`-j X` or `-g X`), if any. */
export function ruleTarget(rule: Rule): string | undefined {
  for (let i = rule.args.length - 2; i >= 0; i--) {
    const a = rule.args[i];
    if (a === '-j' || a === '--jump' || a === '-g' || a === '--goto') return rule.args[i + 1];
  }
  return undefined;
}

/** Finds a chain of a table state. */
export function findChain(table: Table | undefined, name: string): Chain | undefined {
  return table?.chains.find((c) => c.name === name);
}

/** Finds a table of a ruleset. */
export function findTable(ruleset: Ruleset, name: TableName): Table | undefined {
  return ruleset.tables.find((t) => t.name === name);
}

/**
 * A full-replace restore input for a table state: every chain declared (built-ins with their
 * policy), every rule appended in order. Applied **without** `--noflush`, the table ends up equal
 * to `table`; with `--noflush`, built-in chains keep their current rules too (so that would add
 * duplicates: use it without `--noflush`).
 */
export function restoreTableOf(table: Table): RestoreTable {
  return {
    table: table.name,
    chains: table.chains.map((c) => ({ name: c.name, ...(c.policy ? { policy: c.policy } : {}), ...(c.counters ? { counters: c.counters } : {}) })),
    ops: table.chains.flatMap((c) => c.rules.map((rule): RestoreOp => ({ kind: 'append', chain: c.name, rule }))),
  };
}
