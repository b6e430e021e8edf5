import { Kube, type ProgramNames } from '@portico/labels';
import type { Node } from './types.ts';

/**
 * Values of `node.kubernetes.io/exclude-from-external-load-balancers` that do NOT exclude a node:
 * the strings Go's strconv.ParseBool reads as false. Any other value, including the empty string,
 * excludes the node. This is the upstream service controller's `nodeIncludedPredicate` (presence
 * excludes unless the value parses as false), which Portico follows for ServiceLB (§10.12).
 * Sorted, because they are emitted into the DaemonSet's node affinity.
 */
export const EXCLUDE_LABEL_FALSE_VALUES: readonly string[] = Object.freeze(['0', 'F', 'FALSE', 'False', 'f', 'false']);

/** Whether a node is excluded from load balancers by the well-known label (see {@link EXCLUDE_LABEL_FALSE_VALUES}). */
export function isExcludedFromLoadBalancers(node: Node): boolean {
  const value = node.metadata?.labels?.[Kube.excludeFromExternalLBLabel];
  return value !== undefined && !EXCLUDE_LABEL_FALSE_VALUES.includes(value);
}

/**
 * Allow-list mode (K3s `nodeHasDaemonSetLabel`): on as soon as ANY node carries the `enablelb` label
 * key, whatever its value. Portico evaluates it from the current Nodes on every reconcile, so the
 * mode also flips back when the last labelled node loses the label or is deleted (§10.5 fixed).
 */
export function isAllowListMode(nodes: readonly Node[], names: ProgramNames): boolean {
  return nodes.some((n) => n.metadata?.labels?.[names.enableLbLabel] !== undefined);
}

/**
 * The DaemonSet pod nodeSelector (K3s §5.8): none outside allow-list mode; in allow-list mode
 * `{enablelb: "true"}`, plus `{lbpool: <value>}` when the Service has a non-empty `lbpool` label.
 * Because the DaemonSet is rebuilt from the Service and all Nodes each time, the pool is never lost
 * on a mode flip (§10.4 fixed) and a changed `lbpool` label is applied (§10.3 fixed).
 */
export function nodeSelectorFor(serviceLabels: Readonly<Record<string, string>> | undefined, allowList: boolean, names: ProgramNames): Record<string, string> | undefined {
  if (!allowList) return undefined;
  const selector: Record<string, string> = { [names.enableLbLabel]: 'true' };
  const pool = serviceLabels?.[names.lbPoolLabel];
  if (pool) selector[names.lbPoolLabel] = pool;
  return sortRecord(selector);
}

/** Whether a node's labels satisfy an equality nodeSelector. */
export function matchesNodeSelector(node: Node, selector: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector) return true;
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

function sortRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}
