import { hashedName, Netpol } from '@portico/labels';
import type { Family } from './types.ts';

/**
 * kube-router's hashed chain and set names (spec section 2.4-2.6), with kube-router's exact hash
 * inputs. Every function takes the same inputs as kube-router, so the golden vectors of spec 2.6
 * (computed with sync version "1") test these formulas directly.
 *
 * Stable names. kube-router puts the sync version (Unix nanoseconds of the sync) into pod-chain and
 * policy-chain names, so every sync renames every chain. Portico renders into fixed chain names
 * instead and replaces chain contents atomically with one `iptables-restore --noflush` per family, so
 * an unchanged snapshot renders byte-identical rules and the apply engine writes nothing. The
 * "version" input is therefore a constant: {@link STABLE_POD_VERSION} for pod chains and
 * {@link stablePolicyVersion} (one per direction, because Portico gives each policy separate ingress
 * and egress chains, deviation D1) for policy chains. Set names carry no version in kube-router and
 * are used unchanged, so a node that ran k3s keeps its set names.
 */

/** The constant in place of kube-router's per-sync version for pod chains. */
export const STABLE_POD_VERSION = 'portico';

/** The constant in place of kube-router's per-sync version for a policy's ingress or egress chain. */
export function stablePolicyVersion(direction: Direction): string {
  return direction === 'ingress' ? 'portico-ingress' : 'portico-egress';
}

export type Direction = 'ingress' | 'egress';

/** `KUBE-POD-FW-` + hash(namespace + podName + version). The same name is used in both families. */
export function podChainName(namespace: string, podName: string, version: string): string {
  return hashedName(Netpol.podChainPrefix, namespace + podName + version);
}

/** `KUBE-NWPLCY-` + hash(namespace + policyName + version + family). */
export function policyChainName(namespace: string, policyName: string, version: string, family: Family): string {
  return hashedName(Netpol.policyChainPrefix, namespace + policyName + version + family);
}

/** `inet6:` for IPv6 set names, nothing for IPv4. */
function setPrefix(base: string, family: Family): string {
  return family === 'IPv6' ? Netpol.ipv6SetPrefix + base : base;
}

/** Policy target set: `KUBE-DST-` (ingress) or `KUBE-SRC-` (egress) + hash(ns + name + family). */
export function targetSetName(namespace: string, policyName: string, direction: Direction, family: Family): string {
  const prefix = direction === 'ingress' ? Netpol.dstSetPrefix : Netpol.srcSetPrefix;
  return hashedName(setPrefix(prefix, family), namespace + policyName + family);
}

/**
 * The peer set of rule `ruleIndex` of a direction: ingress peers are matched as source
 * (`KUBE-SRC-`), egress peers as destination (`KUBE-DST-`).
 * Input: ns + name + "ingressrule"|"egressrule" + i + family + "pod"|"ipblock".
 */
export function peerSetName(
  namespace: string,
  policyName: string,
  direction: Direction,
  ruleIndex: number,
  kind: 'pod' | 'ipblock',
  family: Family,
): string {
  const prefix = direction === 'ingress' ? Netpol.srcSetPrefix : Netpol.dstSetPrefix;
  return hashedName(setPrefix(prefix, family), namespace + policyName + direction + 'rule' + String(ruleIndex) + family + kind);
}

/**
 * Named-port destination set `j` of rule `ruleIndex` (always matched as destination, `KUBE-DST-`).
 * Input: ns + name + "ingressrule"|"egressrule" + i + j + family + "namedport".
 */
export function namedPortSetName(
  namespace: string,
  policyName: string,
  direction: Direction,
  ruleIndex: number,
  portIndex: number,
  family: Family,
): string {
  return hashedName(
    setPrefix(Netpol.dstSetPrefix, family),
    namespace + policyName + direction + 'rule' + String(ruleIndex) + String(portIndex) + family + 'namedport',
  );
}

/**
 * Portico's shared named-port set: every actionable pod in the cluster that exposes container port
 * `name`/`protocol` as `port`. kube-router builds one set per rule and named port, resolved against
 * the wrong pods for egress (D4, D5); Portico matches a named port as "destination is in this set and
 * the destination port is `port`", together with the rule's own peer and target sets, so one set per
 * (name, protocol, number) serves every policy. The hash input contains `/`, which no kube-router
 * input can contain, so these names never collide with kube-router's.
 */
export function namedPortSharedSetName(name: string, protocol: string, port: number, family: Family): string {
  return hashedName(setPrefix(Netpol.dstSetPrefix, family), `portico/namedport/${name}/${protocol}/${port}/${family}`);
}

/** The default-deny set of programmed local pods (`inet6:` prefixed for IPv6). */
export function localPodsSetName(family: Family): string {
  return setPrefix(Netpol.localPodsSet, family);
}

/** True for chains Portico owns in the filter table (what `cleanup` removes, and what stale-GC considers). */
export function isOwnedChain(name: string): boolean {
  return (
    name === Netpol.inputChain ||
    name === Netpol.forwardChain ||
    name === Netpol.outputChain ||
    name.startsWith(Netpol.policyChainPrefix) ||
    name.startsWith(Netpol.podChainPrefix)
  );
}

/** Chains that live as long as Portico runs (never stale): the top-level chains and the helpers. */
export function isFixedChain(name: string): boolean {
  return (
    name === Netpol.inputChain ||
    name === Netpol.forwardChain ||
    name === Netpol.outputChain ||
    name === Netpol.commonChain ||
    name === Netpol.defaultChain ||
    name === Netpol.tailChain
  );
}

/** True for ipsets Portico owns: `KUBE-SRC-*`, `KUBE-DST-*`, `kube-router-local-pods` (and `inet6:` forms). */
export function isOwnedSet(name: string): boolean {
  const base = name.startsWith(Netpol.ipv6SetPrefix) ? name.slice(Netpol.ipv6SetPrefix.length) : name;
  return base.startsWith(Netpol.srcSetPrefix) || base.startsWith(Netpol.dstSetPrefix) || base === Netpol.localPodsSet;
}
