import type { IPFamily } from '@portico/ip-selection';
import { pushAll } from '../arrays.ts';
import { BUILTIN_CHAINS, ruleTarget, type Rule, type TableName } from '../model.ts';
import { tmpSetName, TMP_SET_PATTERN } from '../names.ts';
import { renderRuleWords } from '../restore-text.ts';
import { splitWords } from '../tokens.ts';
import type { ObservedChain, ObservedSet, ObservedSetHeader, ObservedTable } from './observed.ts';
import { ruleKey } from './rule-key.ts';
import { EntryMap } from './entry-map.ts';

/**
 * The generic planner: the chains and sets a caller owns (its desired state, in the model of this
 * library) + the observed kernel state -> the minimal writes, in an order that never leaves the data
 * plane more permissive than both the old and the new state, with the rollback of each step. What
 * the caller owns, and how its rules in the built-in chains are recognised, is an {@link Ownership}.
 * Pure; its caches live in a {@link KernelPlanner} object, never in module state.
 *
 * Phases (the executor runs them in this order, {@link ./execute.ts}):
 * 1. `stage` (ipset restore): create sets that do not exist yet, with their full content, and fill
 *    temporary sets. No rule references any of them yet, so nothing live changes.
 * 2. `shrink` (ipset restore -exist): the *restrictive* half of every set change: remove entries
 *    that go away, add `nomatch` entries that appear (or swap in a temporary set holding exactly
 *    that intermediate content, when that is fewer lines). Every intermediate state allows a subset
 *    of what the old state allowed.
 * 3. `iptables` (one `iptables-restore --noflush` per family): every changed owned chain is
 *    rewritten or edited, stale chains are flushed and deleted, built-in jumps are fixed, all in one
 *    transaction: it applies completely or not at all.
 * 4. `grow` (ipset restore -exist): the permissive half: add entries that appear, remove `nomatch`
 *    entries that go away. Every intermediate state allows a subset of the new state.
 * 5. `finish` (ipset restore, line by line on error): destroy temporary sets and stale owned sets,
 *    now that no rule references them.
 * If phase 3 fails, `rollback` undoes phase 2 and destroys what phase 1 created: the previous state
 * stays in force. Why two set phases rather than kube-router's single swap per set: with sets swapped
 * before the rules change, an old rule briefly meets a new set (a policy whose peers and ports both
 * changed lets the new peers in on the old port); shrinking first and growing last rules that out.
 *
 * Minimal: a set or chain whose content already matches is not touched; an unchanged desired state
 * gives an empty plan (zero kernel writes). Large chains with few changed rules are edited in place
 * (`-D <rule>` / `-I <pos> <rule>`) instead of rewritten.
 */

/**
 * The kernel state of one family: its filter table and the ipsets. `sets` may hold every family's
 * sets (`ipset save` is global); the plan looks only at this family's, and at the others only to
 * detect a name collision.
 */
export interface KernelFamily {
  readonly family: IPFamily;
  readonly table: ObservedTable;
  readonly sets: ReadonlyMap<string, ObservedSet>;
}

/** One `ipset restore` line and the line that undoes it. */
export interface SetOp {
  readonly line: string;
  readonly inverse: string;
}

export interface PlanSummary {
  setsCreated: number;
  /** Sets whose content changed (by lines or by swap). */
  setsUpdated: number;
  setsSwapped: number;
  setsDestroyed: number;
  chainsCreated: number;
  chainsRewritten: number;
  chainsEdited: number;
  chainsDeleted: number;
  builtinRulesChanged: number;
}

/** Something the plan could not do fully; logged, and the sync still goes ahead. */
export interface PlanWarning {
  readonly event: 'staleChainInUse' | 'staleSetInUse';
  readonly name: string;
  readonly referencedBy: string;
}

export interface FamilyPlan {
  readonly family: IPFamily;
  /** The table phase 3 writes. */
  readonly tableName: TableName;
  /** Phase 1 lines (no `-exist`). */
  readonly stage: readonly string[];
  /** Sets phase 1 creates (new sets and temporary sets): destroyed again when the apply aborts. */
  readonly created: readonly string[];
  /** Phase 2 lines with their inverses. */
  readonly shrink: readonly SetOp[];
  /** Phase 3: `iptables-restore --noflush` input for the table, or '' when nothing changes. */
  readonly iptables: string;
  /** Phase 4 lines. */
  readonly grow: readonly string[];
  /** Phase 5 lines (`destroy`). */
  readonly finish: readonly string[];
  /** Temporary sets (destroyed in phase 5, or by the rollback). */
  readonly tmpSets: readonly string[];
  readonly summary: PlanSummary;
  readonly warnings: readonly PlanWarning[];
  /**
   * The kernel state after a fully successful apply (the `run` loop's model of the kernel); `sets`
   * holds this family's sets only.
   */
  readonly after: KernelFamily;
}

/** True when the plan writes nothing. */
export function isEmptyPlan(p: FamilyPlan): boolean {
  return p.stage.length === 0 && p.shrink.length === 0 && p.iptables === '' && p.grow.length === 0 && p.finish.length === 0;
}

/** The desired state is inconsistent (a core bug) or collides with foreign kernel objects; nothing is applied. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

export interface PlanOptions {
  /**
   * Chains with at least this many desired rules are edited in place when few rules changed.
   * @default 32
   */
  readonly editMinRules?: number;
}

const DEFAULT_MAXELEM = 65536;
const DEFAULT_HASHSIZE = 1024;

/** One ipset entry: an address (hash:ip) or CIDR (hash:net, hosts without `/32`, `/128`). */
export interface SetEntry {
  readonly addr: string;
  /** `nomatch` (hash:net only): an exception inside a larger block. */
  readonly nomatch?: boolean;
}

/** A set the caller owns; the planner makes the kernel set hold exactly `entries`. */
export interface DesiredSet {
  readonly name: string;
  readonly type: string;
  /** ipset family: `inet` for IPv4, `inet6` for IPv6. */
  readonly family: 'inet' | 'inet6';
  /** Sorted, unique. */
  readonly entries: readonly SetEntry[];
}

/** A chain the caller owns completely: the planner makes its content exactly `rules`. */
export interface DesiredChain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/**
 * A rule the caller needs in a built-in chain (which nobody owns). `first`: at position 1;
 * `after-last-marked`: directly after the last rule whose text contains {@link Ownership.afterMarker}.
 * Its text must contain {@link Ownership.builtinMarker}: that is how the planner finds it again.
 */
export interface DesiredBuiltinRule {
  readonly chain: string;
  readonly placement: 'first' | 'after-last-marked';
  readonly rule: Rule;
}

/** The desired state of one family in one table. */
export interface DesiredFamily {
  readonly family: IPFamily;
  readonly ipsets: readonly DesiredSet[];
  readonly chains: readonly DesiredChain[];
  readonly builtinRules: readonly DesiredBuiltinRule[];
}

/** What a caller owns in the kernel; everything else is left alone (and guarded from deletion). */
export interface Ownership {
  /** The table of the caller's chains. @default 'filter' */
  readonly table?: TableName;
  /** True for chain names the caller owns: desired ones are kept, the others are stale. */
  ownsChain(name: string): boolean;
  /** True for set names the caller owns. */
  ownsSet(name: string): boolean;
  /** Text every caller rule in a built-in chain contains (and no other rule does). */
  readonly builtinMarker: string;
  /** `after-last-marked` rules go after the last built-in chain rule containing this text. */
  readonly afterMarker: string;
  /**
   * A rule of a built-in chain that jumps to an owned chain is the caller's too, marker or not (a
   * duplicate, or one written with an older comment): the plan replaces it. @default false (such a
   * rule is foreign: kept, and it keeps the chain it jumps to from being deleted)
   */
  readonly jumpsAreOwned?: boolean;
}

/**
 * The planner's memo, an explicit object ({@link KernelPlanner} owns one). Keyed by object identity:
 * a renderer that reuses the objects of unchanged chains, rules and sets makes them free to compare.
 */
export class PlanCache {
  /** A rule's text as iptables-save prints its arguments. */
  readonly ruleText = new WeakMap<Rule, string>();
  /** The rule texts of a rules array. */
  readonly chainText = new WeakMap<readonly Rule[], string[]>();
  /**
   * Desired rules array -> the kernel-model chain it was last found equal to or written as. The model
   * chain objects are replaced whenever the kernel is re-read, so a stale entry never matches.
   */
  readonly verifiedChains = new WeakMap<readonly Rule[], ObservedChain>();
  /** The chains a rules array jumps to and the sets it matches (distinct). */
  readonly refs = new WeakMap<readonly Rule[], { chains: string[]; sets: string[] }>();
  /** {@link ruleKey} results (bounded). */
  readonly keys = new Map<string, string>();
  /** A desired set's entries as a map (entry -> nomatch). */
  readonly entries = new WeakMap<DesiredSet, Map<string, boolean>>();
  /** Desired set -> the kernel entries it was last found equal to (or made into). */
  readonly verifiedSets = new WeakMap<DesiredSet, ReadonlyMap<string, boolean>>();
  /**
   * Model entries -> the desired set they equal. When the kernel model of a set came from an earlier
   * desired set, the new content is diffed against that one's sorted entry list ({@link windowDiff}),
   * which for a pod joining or leaving costs a linear scan without hashing.
   */
  readonly fromDesired = new WeakMap<ReadonlyMap<string, boolean>, DesiredSet>();
  /** Entry-list diffs: sets holding the same pods share their entry arrays, so each is diffed once. */
  readonly window = new WeakMap<DesiredSet['entries'], { next: DesiredSet['entries']; diff: EntryDiff }>();

  /** A rule's text, memoized. */
  text(rule: Rule): string {
    let t = this.ruleText.get(rule);
    if (t === undefined) {
      t = renderRuleWords(rule);
      this.ruleText.set(rule, t);
    }
    return t;
  }

  /** The rule texts of a chain, memoized per rules array. */
  chainTexts(rules: readonly Rule[]): string[] {
    let t = this.chainText.get(rules);
    if (!t) {
      t = rules.map((r) => this.text(r));
      this.chainText.set(rules, t);
    }
    return t;
  }

  /** The chains a rules array jumps to and the sets it matches (distinct), memoized. */
  chainRefs(rules: readonly Rule[]): { chains: string[]; sets: string[] } {
    let r = this.refs.get(rules);
    if (!r) {
      const chains = new Set<string>();
      const sets = new Set<string>();
      for (const rule of rules) {
        const t = ruleTarget(rule);
        if (t !== undefined) chains.add(t);
        for (const s of matchedSets(rule.args)) sets.add(s);
      }
      r = { chains: [...chains], sets: [...sets] };
      this.refs.set(rules, r);
    }
    return r;
  }

  /** {@link ruleKey}, memoized (bounded). */
  key(text: string, ipv6: boolean): string {
    const k = (ipv6 ? '6' : '4') + text;
    let v = this.keys.get(k);
    if (v === undefined) {
      if (this.keys.size > 200_000) this.keys.clear();
      v = ruleKey(text, ipv6);
      this.keys.set(k, v);
    }
    return v;
  }

  sameRule(observed: string, desired: string, ipv6: boolean): boolean {
    return observed === desired || this.key(observed, ipv6) === this.key(desired, ipv6);
  }

  sameRules(observed: readonly string[], desired: readonly string[], ipv6: boolean): boolean {
    if (observed.length !== desired.length) return false;
    for (let i = 0; i < observed.length; i++) if (!this.sameRule(observed[i]!, desired[i]!, ipv6)) return false;
    return true;
  }

  /** A desired set's entries as a map, memoized per set object. */
  desiredEntries(s: DesiredSet): Map<string, boolean> {
    let m = this.entries.get(s);
    if (!m) {
      m = new Map(s.entries.map((e) => [e.addr, e.nomatch === true]));
      this.entries.set(s, m);
    }
    return m;
  }
}

/** Set names matched by `--match-set` in a word list. */
function matchedSets(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) if (words[i] === '--match-set' && words[i + 1]) out.push(words[i + 1]!);
  return out;
}

/** Jump/goto target of a rule text, if any. */
function jumpTarget(text: string): string | undefined {
  const m = / -[jg] (\S+)/.exec(' ' + text);
  return m?.[1];
}

/** Set names a rule text references through `--match-set`. */
function referencedSets(text: string): string[] {
  return text.includes('--match-set') ? matchedSets(splitWords(text)) : [];
}

/**
 * The minimal in-place edit turning `observed` into `desired`: rules to delete (observed text, in
 * kernel order) and rules to insert (1-based final position, ascending). Kept rules are a longest
 * common subsequence computed on equal rules (text or semantic key), via longest increasing
 * subsequence over matched positions (rules in our chains are nearly all unique).
 */
export function editScript(
  observed: readonly string[],
  desired: readonly string[],
  ipv6: boolean,
  key: (text: string, ipv6: boolean) => string = ruleKey,
): { deletes: string[]; inserts: { pos: number; text: string }[] } {
  // desired key -> queue of desired indices
  const byText = new Map<string, number[]>();
  desired.forEach((t, i) => {
    const q = byText.get(t);
    if (q) q.push(i);
    else byText.set(t, [i]);
  });
  let byKey: Map<string, number[]> | undefined;
  const used = new Set<number>();
  const take = (q: number[] | undefined): number | undefined => {
    if (!q) return undefined;
    while (q.length && used.has(q[0]!)) q.shift();
    const v = q.shift();
    if (v !== undefined) used.add(v);
    return v;
  };
  const match: (number | undefined)[] = observed.map((t) => {
    let m = take(byText.get(t));
    if (m === undefined) {
      if (!byKey) {
        byKey = new Map();
        desired.forEach((d, i) => {
          const k = key(d, ipv6);
          const q = byKey!.get(k);
          if (q) q.push(i);
          else byKey!.set(k, [i]);
        });
      }
      m = take(byKey.get(key(t, ipv6)));
    }
    return m;
  });
  // Longest increasing subsequence of matched desired indices (patience sorting).
  const tails: number[] = []; // tails[k] = observed index ending an increasing run of length k+1
  const prev = new Array<number>(observed.length).fill(-1);
  for (let i = 0; i < observed.length; i++) {
    const d = match[i];
    if (d === undefined) continue;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (match[tails[mid]!]! < d) lo = mid + 1;
      else hi = mid;
    }
    prev[i] = lo > 0 ? tails[lo - 1]! : -1;
    tails[lo] = i;
  }
  const keep = new Set<number>(); // observed indices kept
  const keptDesired = new Set<number>();
  for (let i = tails.length ? tails[tails.length - 1]! : -1; i >= 0; i = prev[i]!) {
    keep.add(i);
    keptDesired.add(match[i]!);
  }
  const deletes = observed.filter((_, i) => !keep.has(i));
  const inserts: { pos: number; text: string }[] = [];
  desired.forEach((t, i) => {
    if (!keptDesired.has(i)) inserts.push({ pos: i + 1, text: t });
  });
  return { deletes, inserts };
}

/** Two desired versions of a set hold the same entries (both lists sorted and unique). */
function sameList(a: DesiredSet, b: DesiredSet): boolean {
  if (a.entries === b.entries) return true;
  if (a.entries.length !== b.entries.length) return false;
  for (let i = 0; i < a.entries.length; i++) {
    const x = a.entries[i]!;
    const y = b.entries[i]!;
    if (x.addr !== y.addr || (x.nomatch === true) !== (y.nomatch === true)) return false;
  }
  return true;
}

export type EntryDiff = { shrinkDel: string[]; shrinkAddNomatch: string[]; growDelNomatch: string[]; growAdd: string[] };

/**
 * The diff of two desired versions of one set: both entry lists are sorted and unique, so
 * everything outside the window between the first and the last difference is unchanged.
 */
export function windowDiff(prev: DesiredSet, next: DesiredSet, memo?: PlanCache['window']): EntryDiff {
  const a = prev.entries;
  const b = next.entries;
  // Sets holding the same pods share their entry arrays (the renderer computes them once), so a
  // pod joining 100 "all namespaces" peer sets is diffed once.
  const hit = memo?.get(a);
  if (hit && hit.next === b) return hit.diff;
  const diff = windowDiffOf(a, b, next);
  memo?.set(a, { next: b, diff });
  return diff;
}

function windowDiffOf(a: DesiredSet['entries'], b: DesiredSet['entries'], next: DesiredSet): EntryDiff {
  const same = (x: DesiredSet['entries'][number], y: DesiredSet['entries'][number]): boolean => x.addr === y.addr && (x.nomatch === true) === (y.nomatch === true);
  let i = 0;
  while (i < a.length && i < b.length && same(a[i]!, b[i]!)) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && same(a[a.length - 1 - j]!, b[b.length - 1 - j]!)) j++;
  const old = new Map(a.slice(i, a.length - j).map((e) => [e.addr, e.nomatch === true]));
  return diffEntries(old, { ...next, entries: b.slice(i, b.length - j) });
}

/** True when the kernel set holds exactly the desired entries (no allocation). */
function sameEntries(observed: ReadonlyMap<string, boolean>, s: DesiredSet, cache: PlanCache): boolean {
  if (cache.verifiedSets.get(s) === observed || cache.entries.get(s) === observed) return true;
  if (observed.size !== s.entries.length) return false;
  for (const e of s.entries) if (observed.get(e.addr) !== (e.nomatch === true)) return false;
  return true;
}

/**
 * The four kinds of entry change, in O(desired + observed) lookups with no copy of either side in
 * the common case (entries only added): the desired side is only turned into a set when something
 * must be removed.
 */
export function diffEntries(observed: ReadonlyMap<string, boolean>, s: DesiredSet): EntryDiff {
  const shrinkDel: string[] = []; // normal entries that go (or become nomatch)
  const shrinkAddNomatch: string[] = []; // nomatch entries that come
  const growDelNomatch: string[] = []; // nomatch entries that go (or become normal)
  const growAdd: string[] = []; // normal entries that come
  let found = 0;
  for (const e of s.entries) {
    const nm = e.nomatch === true;
    const cur = observed.get(e.addr);
    if (cur === undefined) (nm ? shrinkAddNomatch : growAdd).push(e.addr);
    else {
      found++;
      if (cur !== nm) {
        if (nm) {
          shrinkDel.push(e.addr);
          shrinkAddNomatch.push(e.addr);
        } else {
          growDelNomatch.push(e.addr);
          growAdd.push(e.addr);
        }
      }
    }
  }
  if (found < observed.size) {
    const want = new Set(s.entries.map((e) => e.addr));
    for (const [e, nm] of observed) if (!want.has(e)) (nm ? growDelNomatch : shrinkDel).push(e);
  }
  return { shrinkDel, shrinkAddNomatch, growDelNomatch, growAdd };
}

function neededMaxelem(count: number): number {
  let m = DEFAULT_MAXELEM;
  while (m < count) m *= 2;
  return m;
}

/**
 * The `ipset restore` lines that create `s` with its whole content, exactly as the stage phase writes
 * them for a set the kernel does not hold (render prints them set by set, without planning).
 */
export function createSetLines(s: DesiredSet): string[] {
  const lines = [createLine(s.name, s, neededMaxelem(s.entries.length))];
  for (const e of s.entries) lines.push(addLine(s.name, e.addr, e.nomatch === true));
  return lines;
}

/**
 * The hash size a set is created with: ipset's default (1024 buckets) up to 2,048 members, else the
 * power of two at or above half the member count. A hash set created at the default size and filled
 * with thousands of members grows its buckets and the table as it goes, inside the kernel: measured
 * with 100 sets of 5,000 members (`strace -w` of `ipset restore`), 2.5 s in `sendto` at the default
 * against 1.1 s pre-sized (22% more kernel memory per set). Only creation uses it; a set that exists
 * is never re-created for it.
 */
export function neededHashsize(count: number): number {
  let h = DEFAULT_HASHSIZE;
  while (h * 2 < count) h *= 2;
  return h;
}

function createLine(name: string, s: DesiredSet, maxelem: number): string {
  const hashsize = neededHashsize(s.entries.length);
  return `create ${name} ${s.type} family ${s.family}${hashsize > DEFAULT_HASHSIZE ? ` hashsize ${hashsize}` : ''} timeout 0${maxelem > DEFAULT_MAXELEM ? ` maxelem ${maxelem}` : ''}`;
}

const addLine = (set: string, e: string, nomatch: boolean): string => `add ${set} ${e}${nomatch ? ' nomatch' : ''}`;
const delLine = (set: string, e: string): string => `del ${set} ${e}`;

/**
 * Plans one family. `observed` is what the kernel holds now; `desired` the core's output. Throws
 * {@link PlanError} when the desired state is inconsistent (a rule jumps to a chain or matches a set
 * that is not desired) or collides with a foreign object.
 */
export function planFamily(desired: DesiredFamily, observed: KernelFamily, ownership: Ownership, cache: PlanCache = new PlanCache(), opts: PlanOptions = {}): FamilyPlan {
  const v6 = desired.family === 'IPv6';
  const tableName = ownership.table ?? 'filter';
  const builtins = BUILTIN_CHAINS[tableName];
  const marker = ownership.builtinMarker;
  /** A rule of a built-in chain that belongs to the caller (replaced or removed by the plan). */
  const ownedBuiltin = (text: string): boolean => {
    if (text.includes(marker)) return true;
    if (!ownership.jumpsAreOwned) return false;
    const t = jumpTarget(text);
    return t !== undefined && ownership.ownsChain(t);
  };
  const ipsetFamily = v6 ? 'inet6' : 'inet';
  const editMin = opts.editMinRules ?? 32;
  const summary: PlanSummary = {
    setsCreated: 0,
    setsUpdated: 0,
    setsSwapped: 0,
    setsDestroyed: 0,
    chainsCreated: 0,
    chainsRewritten: 0,
    chainsEdited: 0,
    chainsDeleted: 0,
    builtinRulesChanged: 0,
  };
  const warnings: PlanWarning[] = [];

  // ---- validate the desired state -------------------------------------------------------------
  const desiredChains = new Map<string, readonly Rule[]>(); // chain -> rules
  const desiredSets = new Map<string, DesiredSet>();
  for (const s of desired.ipsets) {
    if (!ownership.ownsSet(s.name)) throw new PlanError(`desired set ${s.name} is not a Portico-owned name`);
    if (s.family !== ipsetFamily) throw new PlanError(`desired set ${s.name} has family ${s.family} in the ${desired.family} state`);
    if (s.name.length > 31) throw new PlanError(`desired set ${s.name} is longer than 31 characters`);
    desiredSets.set(s.name, s);
  }
  for (const c of desired.chains) {
    if (!ownership.ownsChain(c.name)) throw new PlanError(`desired chain ${c.name} is not a Portico-owned name`);
    if (desiredChains.has(c.name)) throw new PlanError(`desired chain ${c.name} appears twice`);
    desiredChains.set(c.name, c.rules);
  }
  // A rule may jump to a chain of the caller only when that chain is desired too (other targets are
  // built-in targets or extensions), and may match a set of the caller only when it is desired.
  const checkRefs = (where: string, rule: Rule): void => {
    const t = ruleTarget(rule);
    if (t !== undefined && ownership.ownsChain(t) && !desiredChains.has(t)) {
      throw new PlanError(`${where} jumps to ${t}, which is not a desired chain`);
    }
    for (const m of matchedSets(rule.args)) {
      if (!desiredSets.has(m)) throw new PlanError(`${where} matches set ${m}, which is not a desired ${desired.family} set`);
    }
  };
  for (const c of desired.chains) {
    const refs = cache.chainRefs(c.rules);
    for (const t of refs.chains) if (ownership.ownsChain(t) && !desiredChains.has(t)) checkRefs(`a rule of ${c.name}`, c.rules.find((r) => ruleTarget(r) === t)!);
    for (const t of refs.sets) if (!desiredSets.has(t)) checkRefs(`a rule of ${c.name}`, c.rules.find((r) => matchedSets(r.args).includes(t))!);
  }
  for (const b of desired.builtinRules) {
    checkRefs(`a rule of ${b.chain}`, b.rule);
    if (!(builtins as readonly string[]).includes(b.chain)) throw new PlanError(`${b.chain} is not a built-in chain of the ${tableName} table`);
    // The caller's rules in built-in chains are found again (and removed by a `grep -v MARKER`
    // cleanup) by their marker: each one has to carry it.
    if (!cache.text(b.rule).includes(marker)) {
      throw new PlanError(`built-in rule in ${b.chain} does not contain ${marker}: ${cache.text(b.rule)}`);
    }
  }

  // ---- sets: stage, shrink, grow ---------------------------------------------------------------
  const stage: string[] = [];
  const created: string[] = [];
  const shrink: SetOp[] = [];
  const grow: string[] = [];
  const finish: string[] = [];
  const tmpSets: string[] = [];
  const afterSets = new Map<string, ObservedSet>();
  const familySets = new Map<string, ObservedSet>();
  for (const [name, s] of observed.sets) {
    if (s.family === ipsetFamily) familySets.set(name, s);
    else if (desiredSets.has(name)) throw new PlanError(`set ${name} exists with family ${s.family || 'none'}; ${desired.family} needs it as ${ipsetFamily}`);
  }

  for (const s of desired.ipsets) {
    const o = familySets.get(s.name);
    const maxelem = neededMaxelem(s.entries.length);
    const capacityOk = o !== undefined && Number(o.options.get('maxelem') ?? DEFAULT_MAXELEM) >= s.entries.length;
    const typeOk = o !== undefined && o.type === s.type;
    const prev = o ? cache.fromDesired.get(o.entries) : undefined;
    if (o && typeOk && capacityOk && (prev ? prev === s || sameList(prev, s) : sameEntries(o.entries, s, cache))) {
      cache.verifiedSets.set(s, o.entries);
      cache.fromDesired.set(o.entries, s);
      afterSets.set(s.name, o);
      continue;
    }
    const options = new Map([['timeout', '0'], ['maxelem', String(maxelem)]]);
    if (!o) {
      pushAll(stage, createSetLines(s));
      created.push(s.name);
      summary.setsCreated++;
      const entries = cache.desiredEntries(s);
      cache.verifiedSets.set(s, entries);
      cache.fromDesired.set(entries, s);
      afterSets.set(s.name, { name: s.name, type: s.type, family: s.family, options, entries });
      continue;
    }
    summary.setsUpdated++;
    const d = prev ? windowDiff(prev, s, cache.window) : diffEntries(o.entries, s);
    // The entries the set holds after the shrink: everything but the normal entries that go, plus the
    // nomatch entries that come.
    const midSize = o.entries.size - d.shrinkDel.length + d.shrinkAddNomatch.length;
    const shrinkLines = d.shrinkDel.length + d.shrinkAddNomatch.length;
    if (!typeOk || !capacityOk || (shrinkLines > 16 && shrinkLines > midSize)) {
      const tmp = tmpSetName(s.name);
      if (observed.sets.has(tmp)) stage.push(`destroy ${tmp}`);
      stage.push(createLine(tmp, s, maxelem));
      const gone = new Set(d.shrinkDel);
      const midNomatch = new Set(d.shrinkAddNomatch);
      for (const [e, nm] of o.entries) {
        if (nm) midNomatch.add(e);
        else if (!gone.has(e)) stage.push(addLine(tmp, e, false));
      }
      for (const e of [...midNomatch].sort()) stage.push(addLine(tmp, e, true));
      created.push(tmp);
      tmpSets.push(tmp);
      shrink.push({ line: `swap ${tmp} ${s.name}`, inverse: `swap ${tmp} ${s.name}` });
      finish.push(`destroy ${tmp}`);
      summary.setsSwapped++;
    } else {
      for (const e of d.shrinkDel) shrink.push({ line: delLine(s.name, e), inverse: addLine(s.name, e, false) });
      for (const e of d.shrinkAddNomatch) shrink.push({ line: addLine(s.name, e, true), inverse: delLine(s.name, e) });
    }
    // After a swap the live set holds exactly the intermediate content, as after the lines.
    for (const e of d.growDelNomatch) grow.push(delLine(s.name, e));
    for (const e of d.growAdd) grow.push(addLine(s.name, e, false));
    const entries = EntryMap.of(o.entries).with(
      [...d.shrinkAddNomatch.map((e) => [e, true] as const), ...d.growAdd.map((e) => [e, false] as const)],
      [...d.shrinkDel, ...d.growDelNomatch],
    );
    cache.verifiedSets.set(s, entries);
    cache.fromDesired.set(entries, s);
    afterSets.set(s.name, { name: s.name, type: s.type, family: s.family, options, entries });
  }

  // ---- chains ----------------------------------------------------------------------------------
  const table = observed.table;
  const declare: string[] = [];
  const builtinOps: string[] = [];
  const edits: string[] = [];
  const appends: string[] = [];
  const deletes: string[] = [];
  const afterChains = new Map<string, ObservedChain>();

  // Foreign references: rules outside Portico's chains (and not Portico's own built-in rules) that
  // jump to an owned chain or match an owned set. Those objects cannot be deleted.
  const foreignChainRefs = new Map<string, string>(); // owned chain -> referencing chain
  const foreignSetRefs = new Map<string, string>(); // owned set -> referencing chain
  for (const c of table.chains.values()) {
    if (ownership.ownsChain(c.name)) continue;
    const builtin = builtins.includes(c.name);
    for (const r of c.rules) {
      if (builtin && ownedBuiltin(r)) continue; // the caller's own built-in rules (replaced below)
      const t = jumpTarget(r);
      if (t && ownership.ownsChain(t)) foreignChainRefs.set(t, c.name);
      for (const s of referencedSets(r)) if (ownership.ownsSet(s) || TMP_SET_PATTERN.test(s)) foreignSetRefs.set(s, c.name);
    }
  }

  for (const [name, rules] of desiredChains) {
    const o = table.chains.get(name);
    // Skip by identity: this rules array was already found equal to (or written as) this kernel chain.
    if (o && cache.verifiedChains.get(rules) === o) {
      afterChains.set(name, o);
      continue;
    }
    const want = cache.chainTexts(rules);
    const written: ObservedChain = { name, policy: '-', rules: want.slice() };
    cache.verifiedChains.set(rules, written);
    afterChains.set(name, written);
    if (!o) {
      declare.push(`:${name} - [0:0]`);
      for (const t of want) appends.push(`-A ${name} ${t}`);
      summary.chainsCreated++;
      continue;
    }
    if (o.policy !== '-') throw new PlanError(`desired chain ${name} is a built-in chain`);
    if (cache.sameRules(o.rules, want, v6)) {
      cache.verifiedChains.set(rules, o);
      afterChains.set(name, o);
      continue;
    }
    if (want.length >= editMin) {
      const e = editScript(o.rules, want, v6, (t, ipv6) => cache.key(t, ipv6));
      if ((e.deletes.length + e.inserts.length) * 3 <= want.length) {
        for (const d of e.deletes) edits.push(`-D ${name} ${d}`);
        for (const ins of e.inserts) edits.push(`-I ${name} ${ins.pos} ${ins.text}`);
        summary.chainsEdited++;
        continue;
      }
    }
    declare.push(`:${name} - [0:0]`);
    for (const t of want) appends.push(`-A ${name} ${t}`);
    summary.chainsRewritten++;
  }

  const stale = [...table.chains.values()].filter((c) => ownership.ownsChain(c.name) && !desiredChains.has(c.name)).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const c of stale) {
    const ref = foreignChainRefs.get(c.name);
    if (ref) {
      // Emptied (an empty chain just returns) but kept, so the foreign rule stays valid.
      warnings.push({ event: 'staleChainInUse', name: c.name, referencedBy: ref });
      if (c.rules.length > 0) declare.push(`:${c.name} - [0:0]`);
      afterChains.set(c.name, { name: c.name, policy: '-', rules: [] });
      continue;
    }
    declare.push(`:${c.name} - [0:0]`);
    deletes.push(`-X ${c.name}`);
    summary.chainsDeleted++;
  }

  // ---- built-in chains: Portico's rules at their positions, once ---------------------------------
  for (const chain of builtins) {
    const o = table.chains.get(chain);
    const cur = o?.rules ?? [];
    const foreign = cur.filter((r) => !ownedBuiltin(r));
    const wantFirst = desired.builtinRules.filter((b) => b.chain === chain && b.placement === 'first').map((b) => cache.text(b.rule));
    const wantAfter = desired.builtinRules.filter((b) => b.chain === chain && b.placement === 'after-last-marked').map((b) => cache.text(b.rule));
    const target = [...wantFirst, ...foreign];
    if (wantAfter.length) {
      let last = -1;
      target.forEach((r, i) => {
        if (r.includes(ownership.afterMarker)) last = i;
      });
      const tail = target.splice(last + 1);
      pushAll(pushAll(target, wantAfter), tail);
    }
    afterChains.set(chain, { name: chain, policy: o?.policy ?? 'ACCEPT', rules: target });
    if (cache.sameRules(cur, target, v6)) {
      if (o) afterChains.set(chain, o);
      continue;
    }
    // Delete every Portico rule (each copy), then insert the wanted ones at their final positions.
    for (const r of cur) {
      if (ownedBuiltin(r)) {
        builtinOps.push(`-D ${chain} ${r}`);
        summary.builtinRulesChanged++;
      }
    }
    const owned = new Set([...wantFirst, ...wantAfter]);
    target.forEach((r, i) => {
      if (owned.has(r)) {
        builtinOps.push(`-I ${chain} ${i + 1} ${r}`);
        summary.builtinRulesChanged++;
      }
    });
  }
  for (const c of table.chains.values()) if (!afterChains.has(c.name) && !(ownership.ownsChain(c.name) && !desiredChains.has(c.name))) afterChains.set(c.name, c);
  // Keep iptables-save-like order: built-ins first, then the rest by name.
  const orderedAfter = new Map<string, ObservedChain>();
  for (const b of builtins) {
    const c = afterChains.get(b);
    if (c && (table.chains.has(b) || c.rules.length > 0)) orderedAfter.set(b, c);
  }
  for (const n of [...afterChains.keys()].sort()) if (!orderedAfter.has(n) && !builtins.includes(n)) orderedAfter.set(n, afterChains.get(n)!);

  const body = [...declare, ...builtinOps, ...edits, ...appends, ...deletes];
  const iptables = body.length ? [`*${tableName}`, ...body, 'COMMIT', ''].join('\n') : '';

  // ---- stale sets (after the rules that used them are gone) -------------------------------------
  for (const [name] of familySets) {
    if (desiredSets.has(name) || tmpSets.includes(name)) continue;
    const owned = ownership.ownsSet(name);
    const leftoverTmp = TMP_SET_PATTERN.test(name);
    if (!owned && !leftoverTmp) continue;
    const ref = foreignSetRefs.get(name);
    if (ref) {
      warnings.push({ event: 'staleSetInUse', name, referencedBy: ref });
      afterSets.set(name, familySets.get(name)!);
      continue;
    }
    finish.push(`destroy ${name}`);
    if (owned) summary.setsDestroyed++;
  }
  for (const [name, s] of familySets) {
    if (!afterSets.has(name) && !ownership.ownsSet(name) && !TMP_SET_PATTERN.test(name)) afterSets.set(name, s);
  }

  return {
    family: desired.family,
    tableName,
    stage,
    created,
    shrink,
    iptables,
    grow,
    finish,
    tmpSets,
    summary,
    warnings,
    after: { family: desired.family, table: { chains: orderedAfter }, sets: afterSets },
  };
}

/**
 * The cheap check of a kernel model's sets: the owned (and leftover temporary) sets of the model's
 * family whose header in the kernel (`ipset list -t`, no members) does not match the model: missing,
 * unexpected, of another type, or holding another number of members. Empty when every owned set
 * exists as the model says with as many members. It costs a few lines per set whatever their size;
 * an entry replaced by another one (same count) is found only by a full read.
 */
export function setHeaderDrift(model: KernelFamily, headers: ReadonlyMap<string, ObservedSetHeader>, ownership: Ownership): string[] {
  const family = model.family === 'IPv6' ? 'inet6' : 'inet';
  const ours = (name: string): boolean => ownership.ownsSet(name) || TMP_SET_PATTERN.test(name);
  const out: string[] = [];
  for (const [name, s] of model.sets) {
    if (s.family !== family || !ours(name)) continue;
    const h = headers.get(name);
    if (!h || h.type !== s.type || h.family !== s.family || h.size !== s.entries.size) out.push(name);
  }
  for (const [name, h] of headers) {
    if (h.family !== family || !ours(name)) continue;
    const s = model.sets.get(name);
    if (!s || s.family !== family) out.push(name);
  }
  return out.sort();
}

/**
 * A readable dump of a plan, phase by phase, in the exact text each tool receives. Used by golden
 * tests and by debug logging.
 */
export function planText(p: FamilyPlan): string {
  const out: string[] = [];
  const section = (title: string, lines: readonly string[]): void => {
    if (lines.length === 0) return;
    out.push(`# ${p.family} ${title}`);
    pushAll(out, lines);
  };
  section('stage (ipset restore)', p.stage);
  section('shrink (ipset restore -exist)', p.shrink.map((o) => o.line));
  section('iptables (iptables-restore --noflush)', p.iptables ? p.iptables.trimEnd().split('\n') : []);
  section('grow (ipset restore -exist)', p.grow);
  section('finish (ipset restore)', p.finish);
  for (const w of p.warnings) out.push(`# ${p.family} warning ${w.event} ${w.name} (referenced by ${w.referencedBy})`);
  const s = Object.entries(p.summary)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  out.push(`# ${p.family} summary ${s || 'unchanged'}`);
  return out.join('\n') + '\n';
}

/**
 * A planner for one caller (one {@link Ownership}) with its memo: plans of successive syncs reuse
 * the work of earlier ones through object identity. The memo is this object's, never module state:
 * two planners share nothing, and {@link reset} forgets everything.
 */
export class KernelPlanner {
  readonly ownership: Ownership;
  readonly #opts: PlanOptions;
  #cache = new PlanCache();

  constructor(ownership: Ownership, opts: PlanOptions = {}) {
    this.ownership = ownership;
    this.#opts = opts;
  }

  /** Plans one family: see {@link planFamily}. */
  plan(desired: DesiredFamily, observed: KernelFamily): FamilyPlan {
    return planFamily(desired, observed, this.ownership, this.#cache, this.#opts);
  }

  /** A rule's text as the plans print it (memoized). */
  ruleText(rule: Rule): string {
    return this.#cache.text(rule);
  }

  /** Forgets every memoized result. */
  reset(): void {
    this.#cache = new PlanCache();
  }
}
