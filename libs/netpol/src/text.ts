import { limitRateText, memberOf, renderIpsetRestore, renderRestore, renderRuleWords, setOptions, type IpsetOp, type RestoreOp, type Rule as KernelRule } from '@portico/iptables';
import { pushAll } from './arrays.ts';
import type { Chain, DesiredState, FamilyState, IpSet, Rule, Target } from './types.ts';

/**
 * Netpol's rules rendered into the kernel layer's model (@portico/iptables). {@link ruleArgs} lists a
 * rule's arguments in the order `iptables-save` (1.8, legacy and nf_tables back ends) prints them,
 * checked against iptables-save/ip6tables-save 1.8.9: header matches first (`-s`, `-d`, `-p`), host
 * addresses with `/32` or `/128`, `-m tcp` before `--dport`, `--limit 10/min`, `--set-xmark`,
 * `--reject-with` spelled out. Quoting and every text form (rule words, restore input, ipset input)
 * are libs/iptables'; the apply engine can therefore compare rendered lines with `iptables-save`
 * lines as strings.
 */

const hex = (n: number): string => '0x' + n.toString(16);

export { limitRateText };

/** iptables' default `--limit-burst`, which iptables-save leaves out. */
const DEFAULT_LIMIT_BURST = 5;

function targetArgs(target: Target, ipv6: boolean): string[] {
  switch (target.kind) {
    case 'jump':
      return ['-j', target.chain];
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
      return ['-j', target.kind];
    case 'REJECT':
      return ['-j', 'REJECT', '--reject-with', ipv6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable'];
    case 'MARK':
      return ['-j', 'MARK', '--set-xmark', `${hex(target.value)}/${hex(target.mask)}`];
    case 'NFLOG':
      return target.prefix !== undefined
        ? ['-j', 'NFLOG', '--nflog-prefix', target.prefix, '--nflog-group', String(target.group)]
        : ['-j', 'NFLOG', '--nflog-group', String(target.group)];
  }
}

/** True when an address is IPv6 (contains a colon). */
function isV6(addr: string): boolean {
  return addr.includes(':');
}

/**
 * The argument list of a rule (without `-A <chain>`), in iptables-save order. `ipv6` selects the
 * REJECT default (`icmp6-port-unreachable`) and the ICMP match name; it is inferred from the rule's
 * addresses or protocol when not given.
 */
export function ruleArgs(rule: Rule, ipv6?: boolean): string[] {
  const v6 =
    ipv6 ??
    ((rule.source !== undefined && isV6(rule.source)) ||
      (rule.destination !== undefined && isV6(rule.destination)) ||
      rule.protocol === 'ipv6-icmp');
  const a: string[] = [];
  if (rule.source !== undefined) a.push('-s', rule.source);
  if (rule.destination !== undefined) a.push('-d', rule.destination);
  if (rule.protocol !== undefined) a.push('-p', rule.protocol);
  if (rule.physdevIsBridged) a.push('-m', 'physdev', '--physdev-is-bridged');
  if (rule.comment !== undefined) a.push('-m', 'comment', '--comment', rule.comment);
  if (rule.addrType) {
    a.push('-m', 'addrtype');
    if (rule.addrType.negate) a.push('!');
    a.push(rule.addrType.dir === 'src' ? '--src-type' : '--dst-type', rule.addrType.type);
  }
  if (rule.ctState) a.push('-m', 'conntrack', '--ctstate', rule.ctState.join(','));
  for (const s of rule.sets ?? []) {
    a.push('-m', 'set');
    if (s.negate) a.push('!');
    a.push('--match-set', s.set, s.dir);
  }
  if (rule.dport && rule.protocol) {
    const { from, to } = rule.dport;
    a.push('-m', rule.protocol, '--dport', to !== undefined && to !== from ? `${from}:${to}` : String(from));
  }
  if (rule.multiportDports) a.push('-m', 'multiport', '--dports', `${rule.multiportDports.from}:${rule.multiportDports.to}`);
  if (rule.icmpType !== undefined) {
    if (rule.protocol === 'ipv6-icmp') a.push('-m', 'icmp6', '--icmpv6-type', String(rule.icmpType));
    else a.push('-m', 'icmp', '--icmp-type', String(rule.icmpType));
  }
  if (rule.mark) {
    a.push('-m', 'mark');
    if (rule.mark.negate) a.push('!');
    a.push('--mark', `${hex(rule.mark.value)}/${hex(rule.mark.mask)}`);
  }
  if (rule.limit) {
    a.push('-m', 'limit', '--limit', limitRateText(rule.limit.rate));
    if (rule.limit.burst !== DEFAULT_LIMIT_BURST) a.push('--limit-burst', String(rule.limit.burst));
  }
  pushAll(a, targetArgs(rule.target, v6));
  return a;
}

/** A rule in the kernel layer's model (its arguments; the comment stays where netpol puts it). */
export function kernelRule(rule: Rule, ipv6?: boolean): KernelRule {
  return { args: ruleArgs(rule, ipv6) };
}

/** A rule's arguments as iptables-save prints them after `-A <chain> `. */
export function ruleWords(rule: Rule, ipv6?: boolean): string {
  return renderRuleWords(kernelRule(rule, ipv6));
}

/** `-A <chain> <args>` with iptables-save quoting. */
export function ruleLine(chain: string, rule: Rule, ipv6?: boolean): string {
  return `-A ${chain} ${ruleWords(rule, ipv6)}`;
}

/**
 * The owned chains of one family as an `iptables-restore --noflush` script for the filter table:
 * each owned chain is declared (`:NAME - [0:0]`, which creates or flushes it) and refilled. Rules in
 * built-in chains are not included: they are positioned, so the apply engine inserts them itself.
 * Stale chains are the apply engine's business (it knows what the kernel holds).
 */
export function toRestoreText(state: FamilyState): string {
  const v6 = state.family === 'IPv6';
  const ops: RestoreOp[] = [];
  for (const c of state.chains) for (const r of c.rules) ops.push({ kind: 'append', chain: c.name, rule: kernelRule(r, v6) });
  return renderRestore([{ table: 'filter', chains: state.chains.map((c) => ({ name: c.name })), ops }]);
}

/** One chain as `-A` lines, for logs and tests. */
export function chainLines(chain: Chain, ipv6: boolean): string[] {
  return chain.rules.map((r) => ruleLine(chain.name, r, ipv6));
}

/**
 * The sets of one family as plain `ipset restore` lines (create + add, `timeout 0` like kube-router),
 * for goldens and `render` output. The apply engine uses its own swap-based script instead.
 */
export function toIpsetText(sets: readonly IpSet[]): string {
  const ops: IpsetOp[] = [];
  for (const s of sets) {
    ops.push({ kind: 'create', set: s.name, type: s.type, options: setOptions({ family: s.family, timeout: 0 }) });
    for (const e of s.entries) ops.push({ kind: 'add', set: s.name, member: memberOf(e.addr, { timeout: 0, nomatch: e.nomatch === true }) });
  }
  return renderIpsetRestore(ops);
}

/**
 * A readable dump of a whole {@link DesiredState}, per family: the ipsets (`ipset restore` lines), the
 * owned chains (`iptables-restore --noflush` script), the built-in chain rules with their placement,
 * then the problems. Used for golden files and by `netpol-agent render`.
 */
export function toDesiredText(state: DesiredState): string {
  const out: string[] = [];
  for (const fam of state.families) {
    const v6 = fam.family === 'IPv6';
    out.push(`# ${fam.family} ipsets (ipset restore)`);
    out.push(toIpsetText(fam.ipsets).trimEnd());
    out.push(`# ${fam.family} filter table, owned chains (${v6 ? 'ip6tables' : 'iptables'}-restore --noflush)`);
    out.push(toRestoreText(fam).trimEnd());
    out.push(`# ${fam.family} built-in chain rules`);
    for (const b of fam.builtinRules) {
      const args = ruleWords(b.rule, v6);
      out.push(b.placement === 'first' ? `-I ${b.chain} 1 ${args}` : `# after the last rule containing KUBE:\n-A ${b.chain} ${args}`);
    }
  }
  out.push('# problems');
  for (const p of state.problems) {
    const obj = p.object ? `${p.object.kind} ${p.object.namespace ? p.object.namespace + '/' : ''}${p.object.name}` : 'config';
    out.push(`# ${p.severity} ${p.reason} ${obj} ${p.field}=${JSON.stringify(p.value)}: ${p.message}`);
  }
  return out.filter((l) => l.length > 0).join('\n') + '\n';
}
