import { assertWordFits, splitWords, TokenizeError } from './tokens.ts';

/**
 * ipset model, `ipset restore` rendering and `ipset save` / `ipset list -o save` parsing (pure).
 *
 * A set is `create NAME TYPE options...` plus `add NAME member options...` lines. Options are kept
 * as the word lists ipset prints (`family inet6 hashsize 1024 maxelem 65536 timeout 0 ...`), so a
 * set read back can be re-created with the options it had. {@link setOptions} and
 * {@link memberOf} build them from typed fields, in the order `ipset save` prints them.
 */

/** Longest set name (IPSET_MAXNAMELEN 32, minus the NUL). */
export const MAX_SET_NAME_LENGTH = 31;

/** One member of a set, e.g. `{ value: '10.0.0.0/8', options: ['timeout', '0', 'nomatch'] }`. */
export interface IpsetMember {
  readonly value: string;
  /** Words after the value (`timeout 0`, `nomatch`, `comment "x"` without the quotes). @default [] */
  readonly options?: readonly string[];
}

/** A set state, as `ipset save` prints it. */
export interface IpsetSet {
  readonly name: string;
  /** `hash:ip`, `hash:net`, `hash:ip,port`, ... */
  readonly type: string;
  /** Words after the type. */
  readonly options: readonly string[];
  readonly members: readonly IpsetMember[];
}

/** One line of an `ipset restore` input. */
export type IpsetOp =
  | { readonly kind: 'create'; readonly set: string; readonly type: string; readonly options?: readonly string[] }
  | { readonly kind: 'add'; readonly set: string; readonly member: IpsetMember }
  | { readonly kind: 'del'; readonly set: string; readonly value: string }
  | { readonly kind: 'flush'; readonly set: string }
  /** Exchanges the contents (and names) of two sets of the same type; both must exist. */
  | { readonly kind: 'swap'; readonly set: string; readonly other: string }
  | { readonly kind: 'destroy'; readonly set: string };

/** Typed creation options. */
export interface SetOptionFields {
  /** `inet` (IPv4) or `inet6`. @default ipset's own default, inet */
  readonly family?: 'inet' | 'inet6';
  readonly hashsize?: number;
  readonly maxelem?: number;
  /** Default timeout of members; `0` makes every member permanent but allows per-member timeouts (kube-router). */
  readonly timeout?: number;
  /** Enable per-member comments. @default false */
  readonly comment?: boolean;
}

/** Creation option words in `ipset save` order. */
export function setOptions(o: SetOptionFields): string[] {
  const out: string[] = [];
  if (o.family) out.push('family', o.family);
  if (o.hashsize !== undefined) out.push('hashsize', String(o.hashsize));
  if (o.maxelem !== undefined) out.push('maxelem', String(o.maxelem));
  if (o.timeout !== undefined) out.push('timeout', String(o.timeout));
  if (o.comment) out.push('comment');
  return out;
}

/** A member with typed options, in `ipset save` order (timeout, comment, nomatch). */
export function memberOf(value: string, o: { readonly timeout?: number; readonly nomatch?: boolean; readonly comment?: string } = {}): IpsetMember {
  const options: string[] = [];
  if (o.timeout !== undefined) options.push('timeout', String(o.timeout));
  if (o.nomatch) options.push('nomatch');
  if (o.comment !== undefined) options.push('comment', o.comment);
  return options.length ? { value, options } : { value };
}

/**
 * Removes option `name` (and its value when `withValue`) from a word list, e.g.
 * `withoutOption(opts, 'initval')`: kube-router re-creates an existing set with the options
 * `ipset save` showed, minus `initval`.
 */
export function withoutOption(options: readonly string[], name: string, withValue = true): string[] {
  const out: string[] = [];
  for (let i = 0; i < options.length; i++) {
    if (options[i] === name) {
      if (withValue) i++;
      continue;
    }
    out.push(options[i]!);
  }
  return out;
}

/** Why a set name is not acceptable, or `undefined`. */
export function setNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'empty';
  if (name.length > MAX_SET_NAME_LENGTH) return `longer than ${MAX_SET_NAME_LENGTH} characters`;
  if (/[\s"]/.test(name)) return 'contains whitespace or a quote';
  if (name.startsWith('-')) return 'starts with -';
  return undefined;
}

function word(w: string, where: string): string {
  assertWordFits(w, where);
  if (w.includes('"')) throw new TypeError(`${where}: ${JSON.stringify(w)} contains a double quote, which ipset cannot carry`);
  return w === '' || /\s/.test(w) ? `"${w}"` : w;
}

function checkSet(name: string, where: string): string {
  const p = setNameProblem(name);
  if (p) throw new TypeError(`${where}: set name ${JSON.stringify(name)} is invalid: ${p}`);
  return name;
}

function renderIpsetOp(op: IpsetOp): string {
  const where = `ipset ${op.kind} ${op.set}`;
  const set = checkSet(op.set, where);
  const words = (ws: readonly string[] | undefined): string => (ws ?? []).map((w) => ` ${word(w, where)}`).join('');
  switch (op.kind) {
    case 'create':
      return `create ${set} ${word(op.type, where)}${words(op.options)}`;
    case 'add':
      return `add ${set} ${word(op.member.value, where)}${words(op.member.options)}`;
    case 'del':
      return `del ${set} ${word(op.value, where)}`;
    case 'flush':
      return `flush ${set}`;
    case 'swap':
      return `swap ${set} ${checkSet(op.other, where)}`;
    case 'destroy':
      return `destroy ${set}`;
  }
}

/**
 * Renders an `ipset restore` input, one line per operation. Run it with `ipset restore -exist`
 * to make `create` of an existing set (same type and options) and `add` of a present member
 * no-ops; `del` of an absent member and `destroy` of a set in use still fail.
 */
export function renderIpsetRestore(ops: readonly IpsetOp[]): string {
  return ops.map((op) => renderIpsetOp(op) + '\n').join('');
}

/** `create` + `add` operations that rebuild the given set states. */
export function ipsetOpsOf(sets: readonly IpsetSet[]): IpsetOp[] {
  return sets.flatMap((s): IpsetOp[] => [
    { kind: 'create', set: s.name, type: s.type, options: s.options },
    ...s.members.map((member): IpsetOp => ({ kind: 'add', set: s.name, member })),
  ]);
}

export class IpsetParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'IpsetParseError';
    this.line = line;
  }
}

/**
 * Parses `ipset save` or `ipset list -o save` output. Members keep file order (ipset prints them
 * in hash order, so compare them as sets). Throws {@link IpsetParseError}.
 */
export function parseIpsetSave(text: string): IpsetSet[] {
  const sets: { name: string; type: string; options: string[]; members: IpsetMember[] }[] = [];
  const byName = new Map<string, (typeof sets)[number]>();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    let words: string[];
    try {
      words = splitWords(line, { escapes: false });
    } catch (err) {
      if (err instanceof TokenizeError) throw new IpsetParseError(n + 1, err.message);
      throw err;
    }
    const [cmd, name, third, ...rest] = words;
    if (cmd === 'create') {
      if (!name || !third) throw new IpsetParseError(n + 1, `create needs a name and a type: ${JSON.stringify(line)}`);
      if (byName.has(name)) throw new IpsetParseError(n + 1, `set ${name} created twice`);
      const s = { name, type: third, options: rest, members: [] as IpsetMember[] };
      sets.push(s);
      byName.set(name, s);
    } else if (cmd === 'add') {
      if (!name || third === undefined) throw new IpsetParseError(n + 1, `add needs a set and a member: ${JSON.stringify(line)}`);
      const s = byName.get(name);
      if (!s) throw new IpsetParseError(n + 1, `add to set ${name} before its create line`);
      s.members.push(rest.length ? { value: third, options: rest } : { value: third });
    } else {
      throw new IpsetParseError(n + 1, `expected create or add, got ${JSON.stringify(line)}`);
    }
  }
  return sets;
}

/** One set as `ipset list -t` (terse: headers, no members) prints it. */
export interface IpsetHeader {
  readonly name: string;
  readonly type: string;
  /** The `Header:` words, e.g. `family inet hashsize 1024 maxelem 65536 timeout 0 ...`. */
  readonly options: readonly string[];
  /** `Number of entries:`. */
  readonly entries: number;
}

/**
 * Parses `ipset list -t` output: one block per set (`Name:`, `Type:`, `Revision:`, `Header:`,
 * `Size in memory:`, `References:`, `Number of entries:`), blocks separated by blank lines. Lines
 * this parser does not use are skipped; a block without a name, a type or an entry count, or a
 * count that is not a number, throws {@link IpsetParseError}. Reading every set this way costs a
 * few lines per set whatever their size, where `ipset save` prints every member.
 */
export function parseIpsetTerse(text: string): IpsetHeader[] {
  const out: IpsetHeader[] = [];
  let cur: { name?: string; type?: string; options: string[]; entries?: number; line: number } | undefined;
  const close = (): void => {
    if (!cur) return;
    if (cur.name === undefined || cur.type === undefined || cur.entries === undefined) {
      throw new IpsetParseError(cur.line, `incomplete set block (name ${cur.name ?? '?'}): want Name, Type and Number of entries`);
    }
    out.push({ name: cur.name, type: cur.type, options: cur.options, entries: cur.entries });
    cur = undefined;
  };
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    const colon = line.indexOf(':');
    if (line.trim() === '' || colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Name') {
      close();
      cur = { name: value, options: [], line: n + 1 };
      continue;
    }
    if (!cur) throw new IpsetParseError(n + 1, `expected Name: first, got ${JSON.stringify(line)}`);
    if (key === 'Type') cur.type = value;
    else if (key === 'Header') cur.options = value === '' ? [] : value.split(/\s+/);
    else if (key === 'Number of entries') {
      if (!/^\d+$/.test(value)) throw new IpsetParseError(n + 1, `Number of entries is not a number: ${JSON.stringify(value)}`);
      cur.entries = Number(value);
    }
  }
  close();
  return out;
}
