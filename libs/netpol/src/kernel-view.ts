import { Netpol } from '@portico/labels';
import { KernelPlanner, type DesiredBuiltinRule, type DesiredChain, type DesiredFamily, type FamilyPlan, type KernelFamily, type Ownership, type PlanOptions, type Rule as KernelRule } from '@portico/iptables';
import { isOwnedChain, isOwnedSet } from './names.ts';
import { kernelRule } from './text.ts';
import type { Chain, FamilyState, Rule } from './types.ts';

/**
 * Netpol's desired state in the kernel layer's terms (@portico/iptables): what Portico owns in the
 * filter table, and the rendered chains as the planner's {@link DesiredFamily}. Pure.
 */

/**
 * What netpol owns: kube-router's chains and sets (see {@link isOwnedChain}, {@link isOwnedSet}); its
 * rules in INPUT/FORWARD/OUTPUT carry `KUBE-ROUTER`, and the fork ACCEPT goes after the last `KUBE`
 * rule there.
 */
export const NETPOL_OWNERSHIP: Ownership = Object.freeze({
  table: 'filter',
  ownsChain: isOwnedChain,
  ownsSet: isOwnedSet,
  builtinMarker: Netpol.builtinRuleMarker,
  afterMarker: Netpol.kubeRuleMarker,
});

/**
 * Turns {@link FamilyState}s into {@link DesiredFamily}s, remembering each converted rule and rules
 * array by identity (an explicit memo, this object's): with a renderer that reuses the objects of
 * unchanged policies and pods ({@link NetpolRenderer}), unchanged chains reach the planner as the
 * same objects, which it compares for free. Sets need no conversion (an {@link IpSet} is a planner
 * set).
 */
export class KernelView {
  readonly #rules = [new WeakMap<Rule, KernelRule>(), new WeakMap<Rule, KernelRule>()];
  readonly #arrays = [new WeakMap<readonly Rule[], readonly KernelRule[]>(), new WeakMap<readonly Rule[], readonly KernelRule[]>()];

  /** One rule in the kernel model (memoized per family). */
  rule(rule: Rule, ipv6: boolean): KernelRule {
    const memo = this.#rules[ipv6 ? 1 : 0]!;
    let k = memo.get(rule);
    if (!k) {
      k = kernelRule(rule, ipv6);
      memo.set(rule, k);
    }
    return k;
  }

  /** A chain's rules in the kernel model (memoized per rules array). */
  rules(rules: readonly Rule[], ipv6: boolean): readonly KernelRule[] {
    const memo = this.#arrays[ipv6 ? 1 : 0]!;
    let k = memo.get(rules);
    if (!k) {
      k = rules.map((r) => this.rule(r, ipv6));
      memo.set(rules, k);
    }
    return k;
  }

  /** A family state as the planner's desired state. */
  family(state: FamilyState): DesiredFamily {
    const v6 = state.family === 'IPv6';
    return {
      family: state.family,
      ipsets: state.ipsets,
      chains: state.chains.map((c: Chain): DesiredChain => ({ name: c.name, rules: this.rules(c.rules, v6) })),
      builtinRules: state.builtinRules.map(
        (b): DesiredBuiltinRule => ({ chain: b.chain, placement: b.placement === 'first' ? 'first' : 'after-last-marked', rule: this.rule(b.rule, v6) }),
      ),
    };
  }
}

/** The kernel planner with netpol's ownership and a {@link KernelView}: plans a rendered family. */
export class NetpolPlanner {
  readonly #view = new KernelView();
  readonly #planner: KernelPlanner;

  constructor(opts: PlanOptions = {}) {
    this.#planner = new KernelPlanner(NETPOL_OWNERSHIP, opts);
  }

  /** The minimal, never more permissive change from `observed` to `state` (see @portico/iptables planFamily). */
  plan(state: FamilyState, observed: KernelFamily): FamilyPlan {
    return this.#planner.plan(this.#view.family(state), observed);
  }
}
