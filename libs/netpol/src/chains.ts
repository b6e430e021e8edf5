import { Netpol } from '@portico/labels';
import type { ResolvedConfig } from './config.ts';
import { positionedRuleId } from '@portico/iptables';
import { localPodsSetName } from './names.ts';
import type { Protocol } from './model.ts';
import type { BuiltinRule, Chain, Family, Rule, RuleProtocol } from './types.ts';

/**
 * The chains whose shape does not depend on policies: COMMON, DEFAULT, TAIL, the built-in jumps and
 * the rule helpers shared by policy and pod chains (spec 2.1-2.3).
 */

export const MARK_MATCH = Netpol.markPolicyMatch;
export const MARK_OK = Netpol.markNetpolOk;



export function protoOf(p: Protocol): RuleProtocol {
  return p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : 'sctp';
}

/** kube-router's comment hygiene: no control characters, at most 120 bytes. */
export function clampComment(s: string): string {
  // Fast path: printable ASCII that fits.
  if (s.length <= 120 && /^[\x20-\x7e]*$/.test(s)) return s;
  // eslint-disable-next-line no-control-regex
  let out = s.replace(/[\u0000-\u001f\u007f]/g, '');
  const enc = new TextEncoder();
  while (enc.encode(out).length > 120) out = out.slice(0, -1);
  return out;
}

/** Shortens `ns/name` for an NFLOG prefix (k3s fork `safeJoin`, at most 48 characters). */
export function safeJoin(ns: string, name: string): string {
  if (ns.length + name.length < 48) return `${ns}/${name}`;
  if (ns.length >= 24 && name.length >= 24) return `${ns.slice(0, 23)}/${name.slice(0, 23)}`;
  const budget = 47;
  return ns.length >= name.length ? `${ns.slice(0, budget - name.length)}/${name}` : `${ns}/${name.slice(0, budget - ns.length)}`;
}

/** A policy rule pair: `<match> MARK 0x10000` then `<match> -m mark 0x10000 RETURN` (spec 2.3). */
export function markPair(match: Omit<Rule, 'target'>): Rule[] {
  return [
    { ...match, target: { kind: 'MARK', value: MARK_MATCH, mask: MARK_MATCH } },
    { ...match, mark: { value: MARK_MATCH, mask: MARK_MATCH }, target: { kind: 'RETURN' } },
  ];
}


export function commonChain(family: Family): Chain {
  const icmp: [number, string][] =
    family === 'IPv4'
      ? [
          [8, 'allow icmp echo requests'],
          [3, 'allow icmp destination unreachable messages'],
          [11, 'allow icmp time exceeded messages'],
        ]
      : [
          [128, 'allow icmp echo requests'],
          [1, 'allow icmp destination unreachable messages'],
          [3, 'allow icmp time exceeded messages'],
          [135, 'allow icmp neighbor solicitation messages'],
          [136, 'allow icmp neighbor advertisement messages'],
          [129, 'allow icmp echo reply messages'],
        ];
  const protocol: RuleProtocol = family === 'IPv4' ? 'icmp' : 'ipv6-icmp';
  return {
    name: Netpol.commonChain,
    rules: [
      { comment: 'rule to drop invalid state for pod', ctState: ['INVALID'], target: { kind: 'DROP' } },
      { comment: 'rule for stateful firewall for pod', ctState: ['RELATED', 'ESTABLISHED'], target: { kind: 'ACCEPT' } },
      ...icmp.map(([type, comment]): Rule => ({ protocol, comment, icmpType: type, target: { kind: 'ACCEPT' } })),
    ],
  };
}

export function defaultChain(): Chain {
  return {
    name: Netpol.defaultChain,
    rules: [{ comment: 'rule to mark traffic matching a network policy', target: { kind: 'MARK', value: MARK_MATCH, mask: MARK_MATCH } }],
  };
}

/**
 * KUBE-NWPLCY-TAIL (spec 2.2). With default-deny, traffic of this node's pod CIDRs that no pod chain
 * passed is rejected, except traffic from or to the node's own addresses inside those CIDRs (the
 * bridge gateway; kube-router rejects it, D13). With `after-kube-rules` placement the netpol-ok rule
 * RETURNs so the built-in ACCEPT after the KUBE rules decides.
 */
export function tailChain(cfg: ResolvedConfig, family: Family): Chain {
  const okTarget: Rule['target'] = cfg.acceptPlacement === 'chain-end' ? { kind: 'ACCEPT' } : { kind: 'RETURN' };
  const ok: Rule = { comment: 'accept netpol-ok', mark: { value: MARK_OK, mask: MARK_OK }, target: okTarget };
  if (!cfg.defaultDeny) return { name: Netpol.tailChain, rules: [ok] };
  const set = localPodsSetName(family);
  const rules: Rule[] = [];
  for (const cidr of cfg.podCIDRs[family]) {
    const c = 'reject unprogrammed local pod (default-deny)';
    rules.push({ source: cidr, comment: c, addrType: { dir: 'src', type: 'LOCAL', negate: true }, sets: [{ set, dir: 'src', negate: true }], target: { kind: 'REJECT' } });
    rules.push({ destination: cidr, comment: c, addrType: { dir: 'dst', type: 'LOCAL', negate: true }, sets: [{ set, dir: 'dst', negate: true }], target: { kind: 'REJECT' } });
  }
  rules.push(ok);
  for (const cidr of cfg.podCIDRs[family]) {
    const c = 'reject pre-netpol (default-deny)';
    rules.push({ source: cidr, comment: c, addrType: { dir: 'src', type: 'LOCAL', negate: true }, target: { kind: 'REJECT' } });
    rules.push({ destination: cidr, comment: c, addrType: { dir: 'dst', type: 'LOCAL', negate: true }, target: { kind: 'REJECT' } });
  }
  return { name: Netpol.tailChain, rules };
}

/** kube-router builds positioned rules with the comment first; the ID hashes that argument order. */
export function positionedKubeRouter(chain: string, args: string[], rule: Rule): Rule {
  return { ...rule, comment: `${rule.comment} - ${positionedRuleId(chain, args)}` };
}

export function builtinJumps(): BuiltinRule[] {
  const jumps: [BuiltinRule['chain'], string][] = [
    ['INPUT', Netpol.inputChain],
    ['FORWARD', Netpol.forwardChain],
    ['OUTPUT', Netpol.outputChain],
  ];
  return jumps.map(([chain, target]) => ({
    chain,
    placement: 'first' as const,
    rule: positionedKubeRouter(chain, ['-m', 'comment', '--comment', Netpol.jumpCommentPrefix, '-j', target], {
      comment: Netpol.jumpCommentPrefix,
      target: { kind: 'jump', chain: target },
    }),
  }));
}

