import { BUILTIN_CHAINS, type TableName } from '../model.ts';
import { IptablesParseError, parseSaveWith } from '../save-parse.ts';
import { IpsetParseError, parseIpsetSave, parseIpsetTerse } from '../ipset.ts';

/**
 * The planner's view of what the kernel holds: one table of one family as `iptables-save -t TABLE`
 * printed it, and the ipsets as `ipset save` printed them. Built by the one save parser
 * ({@link parseSaveWith}) and the one ipset parser ({@link parseIpsetSave}); pure.
 *
 * Rules are kept as their argument text exactly as iptables-save prints it after `-A <chain> `
 * (quoting included), because renderers print rules in that same form (`renderRuleWords`) and the
 * planner compares them as strings first.
 */

/** One chain. Built-in chains have a policy (`ACCEPT`, `DROP`); user chains `-`. */
export interface ObservedChain {
  readonly name: string;
  readonly policy: string;
  /** Rule arguments after `-A <chain> `, in kernel order. */
  readonly rules: string[];
}

/** One table of one family. An empty map means the table holds nothing (or does not exist). */
export interface ObservedTable {
  /** chain name -> chain, in iptables-save order. */
  readonly chains: Map<string, ObservedChain>;
}

/** One ipset as `ipset save` prints it. */
export interface ObservedSet {
  readonly name: string;
  /** e.g. `hash:ip`, `hash:net`, `list:set`. */
  readonly type: string;
  /** `inet`, `inet6`, or '' for types without a family (list:set). */
  readonly family: string;
  /** Create options after the type, e.g. `{ hashsize: '1024', maxelem: '65536', timeout: '0' }`. */
  readonly options: ReadonlyMap<string, string>;
  /** entry -> nomatch flag. Entries as ipset prints them (hosts without `/32`, `/128`). */
  readonly entries: ReadonlyMap<string, boolean>;
}

/** Parse problems are programming or version errors; they abort the sync with the offending line. */
export class ParseError extends Error {
  readonly source: string;
  readonly lineNo: number;
  constructor(source: string, lineNo: number, reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'ParseError';
    this.source = source;
    this.lineNo = lineNo;
  }
}

/**
 * The `table` section (default `filter`) of iptables-save output. Other tables are checked but left
 * out; `[packets:bytes]` counters are dropped. Throws {@link ParseError} naming `source` and the line.
 */
export function parseObservedTable(text: string, source = 'iptables-save', table: TableName = 'filter'): ObservedTable {
  const chains = new Map<string, ObservedChain>();
  try {
    for (const t of parseSaveWith(text, (argsText) => argsText, [table])) {
      for (const c of t.chains) chains.set(c.name, { name: c.name, policy: c.policy ?? '-', rules: c.rules as string[] });
    }
  } catch (err) {
    if (err instanceof IptablesParseError) throw new ParseError(source, err.line, err.message);
    throw err;
  }
  return { chains };
}

/** Create options that are flags (no value). */
const FLAG_OPTIONS = new Set(['counters', 'comment', 'skbinfo', 'forceadd']);

/** `ipset save` output (all families) as the planner's view. Throws {@link ParseError}. */
export function parseObservedSets(text: string, source = 'ipset save'): Map<string, ObservedSet> {
  const out = new Map<string, ObservedSet>();
  let sets;
  try {
    sets = parseIpsetSave(text);
  } catch (err) {
    if (err instanceof IpsetParseError) throw new ParseError(source, err.line, err.message);
    throw err;
  }
  for (const s of sets) {
    const { family, options } = optionMap(s.options);
    const entries = new Map<string, boolean>();
    for (const m of s.members) entries.set(m.value, m.options?.includes('nomatch') ?? false);
    out.set(s.name, { name: s.name, type: s.type, family, options, entries });
  }
  return out;
}

/** One set as `ipset list -t` shows it: what {@link ObservedSet} holds, with a count instead of members. */
export interface ObservedSetHeader {
  readonly name: string;
  readonly type: string;
  /** `inet`, `inet6`, or ''. */
  readonly family: string;
  readonly options: ReadonlyMap<string, string>;
  /** Number of members. */
  readonly size: number;
}

function optionMap(words: readonly string[]): { family: string; options: Map<string, string> } {
  const options = new Map<string, string>();
  let family = '';
  for (let i = 0; i < words.length; i++) {
    const key = words[i]!;
    const value = i + 1 < words.length && !FLAG_OPTIONS.has(key) ? words[++i]! : '';
    if (key === 'family') family = value;
    else options.set(key, value);
  }
  return { family, options };
}

/** `ipset list -t` output (all families) as headers by name. Throws {@link ParseError}. */
export function parseObservedSetHeaders(text: string, source = 'ipset list -t'): Map<string, ObservedSetHeader> {
  let headers;
  try {
    headers = parseIpsetTerse(text);
  } catch (err) {
    if (err instanceof IpsetParseError) throw new ParseError(source, err.line, err.message);
    throw err;
  }
  const out = new Map<string, ObservedSetHeader>();
  for (const h of headers) out.set(h.name, { name: h.name, type: h.type, ...optionMap(h.options), size: h.entries });
  return out;
}

/** Prints a table as iptables-save would (no counters, no header comments). For tests and debugging. */
export function formatObservedTable(table: ObservedTable, name: TableName = 'filter'): string {
  const lines = [`*${name}`];
  for (const c of table.chains.values()) lines.push(`:${c.name} ${c.policy} [0:0]`);
  for (const c of table.chains.values()) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Prints sets as `ipset save` would (entries sorted). For tests and debugging. */
export function formatObservedSets(sets: Iterable<ObservedSet>): string {
  const lines: string[] = [];
  for (const s of sets) {
    const opts = [...s.options].map(([k, v]) => (v === '' ? k : `${k} ${v}`));
    lines.push(['create', s.name, s.type, ...(s.family ? ['family', s.family] : []), ...opts].join(' '));
    for (const [e, nm] of [...s.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`add ${s.name} ${e}${nm ? ' nomatch' : ''}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** The built-in chains of `table`, in iptables-save order. */
export function builtinChainsOf(table: TableName): readonly string[] {
  return BUILTIN_CHAINS[table];
}
