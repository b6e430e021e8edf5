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

interface MutableChain {
  name: string;
  policy?: Policy;
  counters?: Counters;
  rules: Rule[];
}

/** Parses save output; throws {@link IptablesParseError}. */
export function parseSave(text: string): Ruleset {
  const tables: Table[] = [];
  let current: { name: TableName; chains: MutableChain[]; byName: Map<string, MutableChain>; line: number } | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const line = lines[n]!.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      if (current) throw new IptablesParseError(lineNo, `table ${current.name} (line ${current.line}) has no COMMIT before ${line}`);
      const name = line.slice(1);
      if (!isTableName(name)) throw new IptablesParseError(lineNo, `unknown table ${JSON.stringify(name)}`);
      if (tables.some((t) => t.name === name)) throw new IptablesParseError(lineNo, `table ${name} appears twice`);
      current = { name, chains: [], byName: new Map(), line: lineNo };
      continue;
    }
    if (!current) throw new IptablesParseError(lineNo, `${JSON.stringify(line)} outside a *table block`);
    if (line === 'COMMIT') {
      tables.push({ name: current.name, chains: current.chains });
      current = undefined;
      continue;
    }
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      if (err instanceof TokenizeError) throw new IptablesParseError(lineNo, err.message);
      throw err;
    }
    if (line.startsWith(':')) {
      const name = words[0]!.slice(1);
      const policy = words[1];
      if (!name || policy === undefined) throw new IptablesParseError(lineNo, `bad chain declaration ${JSON.stringify(line)}`);
      if (policy !== '-' && policy !== 'ACCEPT' && policy !== 'DROP') throw new IptablesParseError(lineNo, `unknown policy ${JSON.stringify(policy)}`);
      const counters = parseCounters(words[2]);
      if (words[2] !== undefined && !counters) throw new IptablesParseError(lineNo, `bad counters ${JSON.stringify(words[2])}`);
      if (current.byName.has(name)) throw new IptablesParseError(lineNo, `chain ${name} declared twice`);
      const chain: MutableChain = { name, rules: [] };
      if (policy !== '-') chain.policy = policy;
      if (counters) chain.counters = counters;
      current.chains.push(chain);
      current.byName.set(name, chain);
      continue;
    }
    let counters = parseCounters(words[0]);
    if (counters) words = words.slice(1);
    if (words[0] !== '-A' && words[0] !== '--append') throw new IptablesParseError(lineNo, `expected -A, got ${JSON.stringify(line)}`);
    const chainName = words[1];
    if (chainName === undefined) throw new IptablesParseError(lineNo, '-A without a chain');
    const chain = current.byName.get(chainName);
    if (!chain) throw new IptablesParseError(lineNo, `rule for undeclared chain ${chainName}`);
    let args = words.slice(2);
    if ((args[0] === '-c' || args[0] === '--set-counters') && /^\d+$/.test(args[1] ?? '') && /^\d+$/.test(args[2] ?? '')) {
      counters = { packets: Number(args[1]), bytes: Number(args[2]) };
      args = args.slice(3);
    }
    chain.rules.push(ruleFromArgs(args, counters));
  }
  if (current) throw new IptablesParseError(lines.length, `table ${current.name} (line ${current.line}) has no COMMIT`);
  return { tables };
}
