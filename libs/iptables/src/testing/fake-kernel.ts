import type { IPFamily } from '@portico/ip-selection';
import { formatObservedSets, formatObservedTable, parseObservedSets, type ObservedChain, type ObservedSet } from '../plan/observed.ts';
import type { CommandResult, Runner, RunOptions } from '../runner.ts';
import { ok } from './recording-runner.ts';

type Family = IPFamily;

/**
 * An in-memory stand-in for iptables-save/-restore and ipset save/restore, for unit tests of the
 * planner, the executor and a component's sync loop: rules are kept as text (what was written is what is saved), `iptables-restore
 * --noflush` is all-or-nothing, `ipset restore` runs line by line and stops at the first error
 * (reporting "Error in line N" like ipset does). It understands exactly the commands the planner
 * writes. The data-plane tests check the same behaviour against the real tools.
 */
export class FakeKernelRunner implements Runner {
  readonly tables: Record<Family, Map<string, ObservedChain>> = { IPv4: new Map(), IPv6: new Map() };
  sets = new Map<string, ObservedSet & { entries: Map<string, boolean> }>();
  /** Every command run, as `cmd args` (restores only), for assertions. */
  readonly log: string[] = [];
  /** Makes the next restore of this tool fail (consumed once). */
  failNext: 'iptables' | 'ipset' | undefined;

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const input = opts.input ?? '';
    const family: Family = cmd.startsWith('ip6tables') ? 'IPv6' : 'IPv4';
    if (/ip6?tables(-\w+)?-save$/.test(cmd)) return ok(this.tables[family].size ? formatObservedTable({ chains: this.tables[family] }) : '');
    if (cmd === 'ipset' && args[0] === 'save') return ok(formatObservedSets(this.sets.values()));
    if (cmd === 'ipset' && args[0] === 'list' && args[1] === '-t') return ok(this.#terse());
    if (cmd === 'ipset' && args[0] === 'list') return ok([...this.sets.keys()].join('\n') + '\n');
    this.log.push(`${cmd} ${args.join(' ')}`);
    if (/ip6?tables(-\w+)?-restore$/.test(cmd)) {
      if (this.failNext === 'iptables') {
        this.failNext = undefined;
        return { code: 1, stdout: '', stderr: 'iptables-restore: line 2 failed' };
      }
      return this.#iptablesRestore(family, input);
    }
    if (cmd === 'ipset' && args[0] === 'restore') {
      if (this.failNext === 'ipset') {
        this.failNext = undefined;
        return { code: 1, stdout: '', stderr: 'ipset v7.17: Error in line 1: injected' };
      }
      return this.#ipsetRestore(input, args.includes('-exist'));
    }
    return { code: 127, stdout: '', stderr: `${cmd}: not faked` };
  }

  /** `ipset list -t`: headers and member counts, in ipset's layout. */
  #terse(): string {
    return [...this.sets.values()]
      .map((s) => {
        const header = [...(s.family ? ['family', s.family] : []), ...[...s.options].flatMap(([k, v]) => (v === '' ? [k] : [k, v]))].join(' ');
        return `Name: ${s.name}\nType: ${s.type}\nRevision: 6\nHeader: ${header}\nSize in memory: 1024\nReferences: 0\nNumber of entries: ${s.entries.size}\n`;
      })
      .join('\n');
  }

  #iptablesRestore(family: Family, input: string): CommandResult {
    const next = new Map([...this.tables[family]].map(([k, c]) => [k, { ...c, rules: c.rules.slice() }]));
    const builtin = (name: string): ObservedChain => {
      let c = next.get(name);
      if (!c && ['INPUT', 'FORWARD', 'OUTPUT'].includes(name)) {
        for (const b of ['INPUT', 'FORWARD', 'OUTPUT']) if (!next.has(b)) next.set(b, { name: b, policy: 'ACCEPT', rules: [] });
        c = next.get(name);
      }
      if (!c) throw new Error(`chain ${name} does not exist`);
      return c;
    };
    let n = 0;
    try {
      for (const line of input.split('\n')) {
        n++;
        if (line === '' || line === '*filter' || line === 'COMMIT' || line.startsWith('#')) continue;
        let m: RegExpExecArray | null;
        if ((m = /^:(\S+) - \[0:0\]$/.exec(line))) {
          const c = next.get(m[1]!);
          if (c) c.rules.length = 0;
          else next.set(m[1]!, { name: m[1]!, policy: '-', rules: [] });
        } else if ((m = /^-A (\S+) (.*)$/.exec(line))) builtin(m[1]!).rules.push(m[2]!);
        else if ((m = /^-I (\S+) (\d+) (.*)$/.exec(line))) {
          const c = builtin(m[1]!);
          const pos = Number(m[2]);
          if (pos < 1 || pos > c.rules.length + 1) throw new Error('index of insertion too big');
          c.rules.splice(pos - 1, 0, m[3]!);
        } else if ((m = /^-D (\S+) (.*)$/.exec(line))) {
          const c = builtin(m[1]!);
          const i = c.rules.indexOf(m[2]!);
          if (i < 0) throw new Error('bad rule (does a matching rule exist in that chain?)');
          c.rules.splice(i, 1);
        } else if ((m = /^-X (\S+)$/.exec(line))) {
          const c = builtin(m[1]!);
          if (c.rules.length) throw new Error('directory not empty');
          for (const o of next.values()) if (o.rules.some((r) => r.endsWith(`-j ${m![1]}`))) throw new Error('too many links');
          next.delete(m[1]!);
        } else throw new Error('unknown line');
        for (const r of next.get((m![1] ?? '') as string)?.rules ?? []) {
          const set = /--match-set (\S+)/.exec(r);
          if (set && !this.sets.has(set[1]!)) throw new Error(`Set ${set[1]} doesn't exist`);
        }
      }
    } catch (e) {
      return { code: 1, stdout: '', stderr: `iptables-restore: line ${n} failed: ${(e as Error).message}` };
    }
    this.tables[family] = next;
    return ok('');
  }

  #ipsetRestore(input: string, exist: boolean): CommandResult {
    let n = 0;
    for (const line of input.split('\n')) {
      n++;
      if (line === '' || line.startsWith('#')) continue;
      const w = line.split(' ');
      const err = (msg: string): CommandResult => ({ code: 1, stdout: '', stderr: `ipset v7.17: Error in line ${n}: ${msg}` });
      const set = this.sets.get(w[1]!);
      switch (w[0]) {
        case 'create': {
          if (set) {
            if (!exist) return err('Set cannot be created: set with the same name already exists');
            break;
          }
          const parsed = parseObservedSets(line).get(w[1]!)!;
          this.sets.set(w[1]!, { ...parsed, entries: new Map(parsed.entries) });
          break;
        }
        case 'add':
          if (!set) return err('The set with the given name does not exist');
          if (set.entries.has(w[2]!) && !exist) return err("Element cannot be added to the set: it's already added");
          set.entries.set(w[2]!, w.includes('nomatch'));
          break;
        case 'del':
          if (!set) return err('The set with the given name does not exist');
          if (!set.entries.delete(w[2]!) && !exist) return err("Element cannot be deleted from the set: it's not added");
          break;
        case 'swap': {
          const to = this.sets.get(w[2]!);
          if (!set || !to) return err('The set with the given name does not exist');
          if (set.family !== to.family) return err('The sets cannot be swapped: their type does not match');
          this.sets.set(w[1]!, { ...to, name: w[1]!, entries: to.entries });
          this.sets.set(w[2]!, { ...set, name: w[2]!, entries: set.entries });
          break;
        }
        case 'destroy':
          if (!set) return err('The set with the given name does not exist');
          for (const t of Object.values(this.tables)) for (const c of t.values()) if (c.rules.some((r) => r.includes(`--match-set ${w[1]} `))) return err('Set cannot be destroyed: it is in use by a kernel component');
          this.sets.delete(w[1]!);
          break;
        default:
          return err('unknown command');
      }
    }
    return ok('');
  }
}

