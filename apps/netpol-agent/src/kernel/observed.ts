/**
 * What the kernel holds, as read back with `iptables-save -t filter` / `ip6tables-save -t filter`
 * and `ipset save`. Parsing is pure (text in, model out); reading is done by {@link ./kernel.ts}.
 *
 * Rules are kept as their argument text exactly as iptables-save prints it after `-A <chain> `
 * (quoting included), because the core renders rules in that same canonical form
 * (`ruleArgs` + `quoteArg` in @portico/netpol) and the plan compares them as strings first.
 */

/** One chain of the filter table. Built-in chains have a policy (`ACCEPT`, `DROP`); user chains `-`. */
export interface ObservedChain {
  readonly name: string;
  readonly policy: string;
  /** Rule arguments after `-A <chain> `, in kernel order. */
  readonly rules: string[];
}

/** The filter table of one family. An empty map means the table holds nothing (or does not exist). */
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
  constructor(source: string, lineNo: number, line: string, reason: string) {
    super(`${source}: line ${lineNo}: ${reason}: ${JSON.stringify(line.slice(0, 200))}`);
    this.name = 'ParseError';
    this.source = source;
    this.lineNo = lineNo;
  }
}

const BUILTIN_POLICIES = new Set(['ACCEPT', 'DROP', 'QUEUE', 'RETURN']);

/**
 * Parses the `*filter` section of iptables-save output. Other tables, comments and counters are
 * ignored; `[packets:bytes]` rule counters (`-c` output) are stripped.
 */
export function parseFilterTable(text: string, source = 'iptables-save'): ObservedTable {
  const chains = new Map<string, ObservedChain>();
  let inFilter = false;
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter) continue;
    if (line === 'COMMIT') {
      inFilter = false;
      continue;
    }
    if (line.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)/.exec(line);
      if (!m) throw new ParseError(source, lineNo, line, 'bad chain line');
      const name = m[1]!;
      const policy = m[2]!;
      if (policy !== '-' && !BUILTIN_POLICIES.has(policy)) throw new ParseError(source, lineNo, line, 'unknown chain policy');
      chains.set(name, { name, policy, rules: chains.get(name)?.rules ?? [] });
      continue;
    }
    let body = line;
    if (body.startsWith('[')) {
      const end = body.indexOf(']');
      if (end < 0) throw new ParseError(source, lineNo, line, 'bad counter prefix');
      body = body.slice(end + 1).trimStart();
    }
    const m = /^-A (\S+) (.*)$/.exec(body);
    if (!m) throw new ParseError(source, lineNo, line, 'expected -A <chain> <rule>');
    const chain = chains.get(m[1]!);
    if (!chain) throw new ParseError(source, lineNo, line, 'rule for an undeclared chain');
    chain.rules.push(m[2]!);
  }
  return { chains };
}

/** Parses `ipset save` output (all families). */
export function parseIpsetSave(text: string, source = 'ipset save'): Map<string, ObservedSet> {
  const sets = new Map<string, ObservedSet & { entries: Map<string, boolean> }>();
  let lineNo = 0;
  for (const raw of text.split('\n')) {
    lineNo++;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const words = line.split(/\s+/);
    if (words[0] === 'create') {
      const name = words[1];
      const type = words[2];
      if (!name || !type) throw new ParseError(source, lineNo, line, 'bad create line');
      const options = new Map<string, string>();
      let family = '';
      for (let i = 3; i < words.length; i++) {
        const key = words[i]!;
        // Flag options have no value (e.g. `counters`, `comment`, `skbinfo`, `forceadd`).
        const value = i + 1 < words.length && !FLAG_OPTIONS.has(key) ? words[++i]! : '';
        if (key === 'family') family = value;
        else options.set(key, value);
      }
      sets.set(name, { name, type, family, options, entries: new Map() });
    } else if (words[0] === 'add') {
      const set = sets.get(words[1] ?? '');
      const entry = words[2];
      if (!set || !entry) throw new ParseError(source, lineNo, line, 'add for an unknown set');
      set.entries.set(entry, words.includes('nomatch'));
    } else {
      throw new ParseError(source, lineNo, line, 'expected create or add');
    }
  }
  return sets;
}

const FLAG_OPTIONS = new Set(['counters', 'comment', 'skbinfo', 'forceadd']);

/**
 * Splits an iptables-save argument string into words, honouring the double quotes and backslash
 * escapes iptables-save writes around comments and NFLOG prefixes.
 */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) cur += text[++i];
      else if (c === '"') quoted = false;
      else cur += c;
      continue;
    }
    if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** Prints a table as iptables-save would (no counters, no header comments). For tests and debugging. */
export function formatFilterTable(table: ObservedTable): string {
  const lines = ['*filter'];
  for (const c of table.chains.values()) lines.push(`:${c.name} ${c.policy} [0:0]`);
  for (const c of table.chains.values()) for (const r of c.rules) lines.push(`-A ${c.name} ${r}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Prints sets as `ipset save` would (entries sorted). For tests and debugging. */
export function formatIpsetSave(sets: Iterable<ObservedSet>): string {
  const lines: string[] = [];
  for (const s of sets) {
    const opts = [...s.options].map(([k, v]) => (v === '' ? k : `${k} ${v}`));
    lines.push(['create', s.name, s.type, ...(s.family ? ['family', s.family] : []), ...opts].join(' '));
    for (const [e, nm] of [...s.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) lines.push(`add ${s.name} ${e}${nm ? ' nomatch' : ''}`);
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
