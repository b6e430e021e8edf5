/**
 * Small builders and a Cluster harness for the netpol tests (served by @portico/netpol/testing).
 */
import { evaluate, type Connection, type OracleOptions } from '../oracle.ts';
import { renderNetpol } from '../render.ts';
import { simulateConnection, type SimNode } from '../simulate.ts';
import type { DesiredState, NetpolConfig, NetpolSnapshot, NetworkPolicy, Node, Pod } from '../types.ts';

export interface PodOpts {
  node?: string;
  ips?: string[];
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  hostNetwork?: boolean;
  phase?: string;
}

export function pod(ns: string, name: string, opts: PodOpts = {}): Pod {
  const ips = opts.ips ?? [];
  return {
    metadata: { namespace: ns, name, labels: opts.labels ?? { pod: name } },
    spec: { nodeName: opts.node ?? 'n1', ...(opts.hostNetwork ? { hostNetwork: true } : {}), containers: [{ name: 'c', ports: opts.ports ?? [] }] },
    status: { phase: opts.phase ?? 'Running', ...(ips[0] ? { podIP: ips[0] } : {}), podIPs: ips.map((ip) => ({ ip })) },
  };
}

export function ns(name: string, labels: Record<string, string> = {}): { metadata: { name: string; labels: Record<string, string> } } {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels } } };
}

export function policy(namespace: string, name: string, spec: NetworkPolicy['spec'], annotations?: Record<string, string>): NetworkPolicy {
  return { metadata: { namespace, name, ...(annotations ? { annotations } : {}) }, spec };
}

export function node(name: string, addresses: string[], podCIDRs: string[] = [], annotations?: Record<string, string>): Node {
  return {
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { podCIDRs },
    status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
  };
}

/** Two nodes: n1 (172.18.0.1, pods 10.42.1.0/24) and n2 (172.18.0.2, pods 10.42.2.0/24), dual-stack. */
export const NODES: Node[] = [
  node('n1', ['172.18.0.1', 'fd00:18::1'], ['10.42.1.0/24', 'fd00:42:1::/64']),
  node('n2', ['172.18.0.2', 'fd00:18::2'], ['10.42.2.0/24', 'fd00:42:2::/64']),
];

/**
 * Renders the snapshot for every node and answers connections through the simulator, next to the
 * oracle's answer.
 */
export class Cluster {
  readonly nodes: SimNode[];
  readonly snapshot: NetpolSnapshot;
  constructor(snapshot: NetpolSnapshot, config: Omit<NetpolConfig, 'nodeName'> = { families: ['IPv4', 'IPv6'] }) {
    this.snapshot = snapshot;
    const nodeObjs = snapshot.nodes ?? NODES;
    this.nodes = nodeObjs.map((n) => ({
      name: n.metadata.name,
      localAddresses: (n.status?.addresses ?? []).map((a) => a.address),
      podIPs: snapshot.pods
        .filter((p) => p.spec?.nodeName === n.metadata.name && !p.spec?.hostNetwork)
        .flatMap((p) => (p.status?.podIPs ?? []).map((x) => x.ip)),
      state: renderNetpol({ ...snapshot, nodes: nodeObjs }, { ...config, nodeName: n.metadata.name }),
    }));
  }
  state(nodeName: string): DesiredState {
    return this.nodes.find((n) => n.name === nodeName)!.state;
  }
  rules(src: string, dst: string, proto: Connection['proto'] = 'TCP', dstPort = 80): 'allow' | 'deny' {
    return simulateConnection(this.nodes, { srcIP: src, dstIP: dst, proto, dstPort }).verdict;
  }
  oracle(src: string, dst: string, proto: Connection['proto'] = 'TCP', dstPort = 80, opts?: OracleOptions): 'allow' | 'deny' {
    return evaluate({ ...this.snapshot, nodes: this.snapshot.nodes ?? NODES }, { srcIP: src, dstIP: dst, proto, dstPort }, opts);
  }
  /** Both verdicts; tests assert they agree and equal the expectation. */
  both(src: string, dst: string, proto: Connection['proto'] = 'TCP', dstPort = 80): { rules: string; oracle: string } {
    return { rules: this.rules(src, dst, proto, dstPort), oracle: this.oracle(src, dst, proto, dstPort) };
  }
}
