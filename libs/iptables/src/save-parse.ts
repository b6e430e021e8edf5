import { isTableName, type Counters, type Policy, type Rule, type Ruleset, type Table, type TableName } from './model.ts';
import { headerLength } from './restore-text.ts';
import { splitWords, TokenizeError } from './tokens.ts';

/**
 * Parser of `iptables-save` / `ip6tables-save` output (nft and legacy variants, with or without
 * `-c`) into a {@link Ruleset} (pure).
 *
 * Accepted: `#` comment lines, blank lines, `*table`, `:CHAIN POLICY [p:b]` (counters optional),
 * `[p:b] -A CHAIN args...`, `-A CHAIN -c P B args...` (the command-line counters form), `COMMIT`.
 * Quoted words (comments, log prefixes) are unquoted. Anything else, a rule for an undeclared
 * chain, or a table without COMMIT is an error naming the line.
 */

export class IptablesParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'IptablesParseError';
    this.line = line;
  }
}

const COUNTERS_RE = /^\[(\d+):(\d+)\]$/;

function parseCounters(word: string | undefined): Counters | undefined {
  const m = word === undefined ? null : COUNTERS_RE.exec(word);
  return m ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined;
}

/** Splits a rule's words into args and the comment at its canonical place (see model.ts Rule). */
export function ruleFromArgs(args: readonly string[], counters?: Counters): Rule {
  const h = headerLength(args);
  let rule: Rule;
  if (args[h] === '-m' && args[h + 1] === 'comment' && args[h + 2] === '--comment' && args[h + 3] !== undefined) {
    rule = { args: [...args.slice(0, h), ...args.slice(h + 4)], comment: args[h + 3] };
  } else {
    rule = { args: [...args] };
  }
  return counters ? { ...rule, counters } : rule;
}

interface MutableChain<R> {
  name: string;
  policy?: Policy;
  counters?: Counters;
  rules: R[];
}

/** One table of a save output with rules of type `R` (see {@link parseSaveWith}). */
export interface SavedTable<R> {
  readonly name: TableName;
  readonly chains: readonly { readonly name: string; readonly policy?: Policy; readonly counters?: Counters; readonly rules: readonly R[] }[];
}

/** The words of a line; an unterminated quote is an {@link IptablesParseError} naming the line. */
function wordsOf(text: string, lineNo: number): string[] {
  try {
    return splitWords(text);
  } catch (err) {
    if (err instanceof TokenizeError) throw new IptablesParseError(lineNo, err.message);
    throw err;
  }
}

const RULE_LINE_RE = /^(?:\[(\d+):(\d+)\] )?(?:-A|--append) (\S+)(?: (.*))?$/;

/**
 * THE parser of `iptables-save` output: the line grammar, with each rule's argument text (after
 * `-A CHAIN `, quoting intact, `[p:b]` counters taken off) handed to `rule`. {@link parseSave} turns
 * it into model {@link Rule}s; the planner's observed view keeps the text as it is (observed.ts), so
 * that it can compare it with rendered text without splitting every rule of a large table.
 * `tables` limits the result to those tables (the others are still checked). Throws
 * {@link IptablesParseError}.
 */
export function parseSaveWith<R>(text: string, rule: (argsText: string, counters: Counters | undefined, lineNo: number) => R, tables?: readonly TableName[]): SavedTable<R>[] {
  const out: SavedTable<R>[] = [];
  const seen = new Set<string>();
  let current: { name: TableName; chains: MutableChain<R>[]; byName: Map<string, MutableChain<R>>; line: number; keep: boolean } | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n]!.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (current) throw new IptablesParseError(lineNo, `table ${current.name} (line ${current.line}) has no COMMIT before ${line}`);
      const name = line.slice(1);
      if (!isTableName(name)) throw new IptablesParseError(lineNo, `unknown table ${JSON.stringify(name)}`);
      if (seen.has(name)) throw new IptablesParseError(lineNo, `table ${name} appears twice`);
      seen.add(name);
      current = { name, chains: [], byName: new Map(), line: lineNo, keep: tables === undefined || tables.includes(name) };
      continue;
    }
    if (!current) throw new IptablesParseError(lineNo, `${JSON.stringify(line)} outside a *table block`);
    if (line === 'COMMIT') {
      if (current.keep) out.push({ name: current.name, chains: current.chains });
      current = undefined;
      continue;
    }
    if (line.startsWith(':')) {
      const words = wordsOf(line, lineNo);
      const name = words[0]!.slice(1);
      const policy = words[1];
      if (!name || policy === undefined) throw new IptablesParseError(lineNo, `bad chain declaration ${JSON.stringify(line)}`);
      if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') throw new IptablesParseError(lineNo, `unknown policy ${JSON.stringify(policy)}`);
      const counters = parseCounters(words[2]);
      if (words[2] !== undefined && !counters) throw new IptablesParseError(lineNo, `bad counters ${JSON.stringify(words[2])}`);
      if (current.byName.has(name)) throw new IptablesParseError(lineNo, `chain ${name} declared twice`);
      const chain: MutableChain<R> = { name, rules: [] };
      if (policy !== '-') chain.policy = policy;
      if (counters) chain.counters = counters;
      current.chains.push(chain);
      current.byName.set(name, chain);
      continue;
    }
    const m = RULE_LINE_RE.exec(line);
    if (!m) throw new IptablesParseError(lineNo, `expected -A, got ${JSON.stringify(line)}`);
    const chain = current.byName.get(m[3]!);
    if (!chain) throw new IptablesParseError(lineNo, `rule for undeclared chain ${m[3]}`);
    if (current.keep) chain.rules.push(rule(m[4] ?? '', m[1] !== undefined ? { packets: Number(m[1]), bytes: Number(m[2]) } : undefined, lineNo));
  }
  if (current) throw new IptablesParseError(lines.length, `table ${current.name} (line ${current.line}) has no COMMIT`);
  return out;
}

/** Parses save output into the model; throws {@link IptablesParseError}. */
export function parseSave(text: string): Ruleset {
  const tables = parseSaveWith(text, (argsText, counters, lineNo): Rule => {
    let args = wordsOf(argsText, lineNo);
    if ((args[0] === '-c' || args[0] === '--set-counters') && /^\d+$/.test(args[1] ?? '') && /^\d+$/.test(args[2] ?? '')) {
      counters = { packets: Number(args[1]), bytes: Number(args[2]) };
      args = args.slice(3);
    }
    return ruleFromArgs(args, counters);
  });
  return { tables: tables as Table[] };
}
