/**
 * Builders for Kubernetes-shaped test objects (unit, data-plane and benchmark code share them).
 * Plain data, no I/O.
 */
import type { ContainerPort, Namespace, NetpolSnapshot, NetworkPolicy, Node, Pod } from '@portico/netpol';

export function ns(name: string, labels: Record<string, string> = {}): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export interface PodOptions {
  readonly ports?: readonly ContainerPort[];
  readonly phase?: string;
  readonly hostNetwork?: boolean;
  readonly hostIP?: string;
}

/** A running pod on `node` with the given IPs (first of each family is what the core uses). */
export function pod(namespace: string, name: string, labels: Record<string, string>, node: string, ips: readonly string[], o: PodOptions = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, uid: `uid-${namespace}-${name}` },
    spec: { nodeName: node, hostNetwork: o.hostNetwork ?? false, containers: [{ name: 'c', ports: o.ports ? [...o.ports] : [] }] },
    status: { phase: o.phase ?? 'Running', podIP: ips[0] ?? '', podIPs: ips.map((ip) => ({ ip })), ...(o.hostIP ? { hostIP: o.hostIP } : {}) },
  };
}

export function node(name: string, addresses: readonly string[], podCIDRs: readonly string[] = []): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: { podCIDR: podCIDRs[0] ?? null, podCIDRs: [...podCIDRs] },
    status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
  };
}

export function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

export function snapshot(parts: Partial<NetpolSnapshot>): NetpolSnapshot {
  return { pods: parts.pods ?? [], namespaces: parts.namespaces ?? [], networkPolicies: parts.networkPolicies ?? [], nodes: parts.nodes ?? [] };
}
