/**
 * @portico/netpol: the pure network-policy core of netpol-agent.
 *
 * - {@link renderNetpol}(snapshot, config) -> {@link DesiredState}: per family, the ipsets and the
 *   filter chains Portico owns (kube-router names, NetworkPolicy-correct semantics), plus the rules
 *   that must exist in the built-in chains. Pure and deterministic: the same snapshot in any order
 *   gives the same output, byte for byte, and chain/set names are stable across runs.
 * - {@link NetpolRenderer}: the same output, with per-policy and per-pod memoization for the agent's
 *   incremental syncs.
 * - Text: {@link ruleArgs} / {@link ruleLine} (iptables-save form), {@link toRestoreText},
 *   {@link toIpsetText}.
 * - {@link evaluate}: the reference oracle (spec section 7), Kubernetes NetworkPolicy semantics for one
 *   new connection.
 * - {@link simulatePacket} / {@link simulateConnection}: walks rendered rules and sets like the kernel
 *   does, so rendered output can be checked against the oracle without a kernel.
 * - Validation ({@link screenSnapshot}, `validate*`): every object is checked as the API server would
 *   check it before anything reads it; invalid objects fail closed (validate.ts).
 * - Names: kube-router's hash formulas (spec 2.4-2.6) and Portico's stable-version choice.
 *
 * Test inputs (the case generator, builders, the Cluster harness) are `@portico/netpol/testing`.
 *
 * See docs/netpol.md.
 */
export * from './types.ts';
export * from './names.ts';
export * from './text.ts';
export { renderNetpol, NetpolRenderer } from './render.ts';
export {
  checkNetpolConfig,
  parseNodePortRange,
  limitRateProblem,
  limitBurstProblem,
  LIMIT_UNIT_SECONDS,
  NFLOG_MAX_BURST,
  type LimitUnit,
} from './config.ts';
export { clampComment, safeJoin } from './chains.ts';
export { selectorMatches, effectivePolicyTypes } from './model.ts';
export {
  validateNetworkPolicy,
  validatePod,
  validateNamespace,
  validateNode,
  isolationPolicy,
  screenSnapshot,
  newScreenMemo,
  type ScreenMemo,
} from './validate.ts';
export { pushAll } from './arrays.ts';
export { evaluate, type Connection, type Verdict, type OracleOptions } from './oracle.ts';
export {
  simulatePacket,
  simulateConnection,
  type SimPacket,
  type SimResult,
  type SimNode,
  type SimConnectionResult,
} from './simulate.ts';
export { parseIP, parseCIDR, formatIP, formatCIDR, ipInCIDR, type IP, type CIDR } from './ip.ts';
export { KernelView, NetpolPlanner, NETPOL_OWNERSHIP } from './kernel-view.ts';
