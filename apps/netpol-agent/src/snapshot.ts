import type { KubeObject } from '@portico/kube';
import { validateNode, type NetpolSnapshot } from '@portico/netpol';

/** The objects of a loaded snapshot that the core reads; other kinds are ignored. */
export function toNetpolSnapshot(byKind: Readonly<Record<string, readonly KubeObject[]>>): NetpolSnapshot {
  return {
    pods: (byKind['Pod'] ?? []) as unknown as NetpolSnapshot['pods'],
    namespaces: (byKind['Namespace'] ?? []) as unknown as NetpolSnapshot['namespaces'],
    networkPolicies: (byKind['NetworkPolicy'] ?? []) as unknown as NetpolSnapshot['networkPolicies'],
    nodes: (byKind['Node'] ?? []) as unknown as NetpolSnapshot['nodes'],
  };
}

/** Node addresses (InternalIP/ExternalIP) of `nodeName` in a snapshot. */
export function nodeAddresses(snap: NetpolSnapshot, nodeName: string): string[] {
  // Read before the render validates anything: only a Node that passes validation is looked at (an
  // invalid one is reported by the render; here it simply gives no addresses).
  const nodes: readonly unknown[] = Array.isArray(snap.nodes) ? snap.nodes : [];
  const n = nodes.find((x): x is NonNullable<NetpolSnapshot['nodes']>[number] => validateNode(x).length === 0 && (x as { metadata: { name: string } }).metadata.name === nodeName);
  return (n?.status?.addresses ?? []).filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP').map((a) => a.address);
}

