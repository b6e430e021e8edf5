import type {
  LabelSelector,
  Namespace,
  NetpolSnapshot,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Node,
  Pod,
} from '../types.ts';

/**
 * A seeded generator of small clusters and NetworkPolicy sets, built from cyclonus's ingredients
 * (mattfenwick/cyclonus pkg/generator: targets `{}` / `pod=a` / `pod in (a,b)`; peers by podSelector,
 * namespaceSelector, both, ipBlock with and without except; ports numeric, named, ranges, protocol
 * only; TCP/UDP/SCTP; every policyTypes form; empty vs absent fields). Deterministic for a seed, so a
 * failing case is reproducible from its number. Used by the renderer-vs-oracle test here and by the
 * agent's traffic tests.
 */

/** A small deterministic PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A generated cluster: the snapshot plus where things live, for building connection matrices. */
export interface GeneratedCluster {
  readonly snapshot: NetpolSnapshot;
  readonly nodes: readonly { name: string; addresses: readonly string[]; podCIDRs: readonly string[]; gateways: readonly string[] }[];
  /** Addresses outside the cluster. */
  readonly external: readonly string[];
}

const NAMESPACES = ['x', 'y', 'z'] as const;
const POD_NAMES = ['a', 'b', 'c'] as const;

/**
 * The fixed cluster of the generated cases: namespaces x, y, z (labels `ns=<name>`), pods a, b, c in
 * each (label `pod=<name>`), spread over nodes n1 and n2, dual-stack, with named ports that differ
 * between pods (same name, other number; same number, other protocol); plus a hostNetwork pod, a
 * finished pod and an IPv4-only pod.
 */
export function generatedCluster(): GeneratedCluster {
  const pods: Pod[] = [];
  const portsOf: Record<string, { name: string; containerPort: number; protocol?: string }[]> = {
    a: [
      { name: 'http', containerPort: 80 },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'sctp-svc', containerPort: 80, protocol: 'SCTP' },
    ],
    b: [
      { name: 'http', containerPort: 81 },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
      { name: 'metrics', containerPort: 80 },
    ],
    c: [
      { name: 'web', containerPort: 80 },
      { name: 'http', containerPort: 80, protocol: 'UDP' },
    ],
  };
  let i = 0;
  for (const ns of NAMESPACES) {
    for (const name of POD_NAMES) {
      const node = i % 2 === 0 ? 'n1' : 'n2';
      const subnet = node === 'n1' ? 1 : 2;
      const host = 10 + i;
      const v4 = `10.42.${subnet}.${host}`;
      const v6 = `fd00:42:${subnet}::${host.toString(16)}`;
      const ipv4Only = ns === 'z' && name === 'c';
      pods.push({
        metadata: { namespace: ns, name, labels: { pod: name } },
        spec: { nodeName: node, containers: [{ name: 'main', ports: portsOf[name]! }] },
        status: { phase: 'Running', podIP: v4, podIPs: ipv4Only ? [{ ip: v4 }] : [{ ip: v4 }, { ip: v6 }], hostIP: node === 'n1' ? '172.18.0.1' : '172.18.0.2' },
      });
      i++;
    }
  }
  pods.push({
    metadata: { namespace: 'x', name: 'hostnet', labels: { pod: 'a' } },
    spec: { nodeName: 'n1', hostNetwork: true, containers: [{ ports: [{ name: 'http', containerPort: 80 }] }] },
    status: { phase: 'Running', podIP: '172.18.0.1', podIPs: [{ ip: '172.18.0.1' }, { ip: 'fd00:18::1' }] },
  });
  pods.push({
    metadata: { namespace: 'y', name: 'done', labels: { pod: 'b' } },
    spec: { nodeName: 'n2', containers: [{ ports: [{ name: 'http', containerPort: 80 }] }] },
    status: { phase: 'Succeeded', podIP: '10.42.2.99', podIPs: [{ ip: '10.42.2.99' }, { ip: 'fd00:42:2::99' }] },
  });
  const nodes: Node[] = [
    {
      metadata: { name: 'n1' },
      spec: { podCIDRs: ['10.42.1.0/24', 'fd00:42:1::/64'] },
      status: { addresses: [{ type: 'InternalIP', address: '172.18.0.1' }, { type: 'InternalIP', address: 'fd00:18::1' }] },
    },
    {
      metadata: { name: 'n2' },
      spec: { podCIDRs: ['10.42.2.0/24', 'fd00:42:2::/64'] },
      status: { addresses: [{ type: 'InternalIP', address: '172.18.0.2' }, { type: 'InternalIP', address: 'fd00:18::2' }] },
    },
  ];
  return {
    snapshot: {
      namespaces: NAMESPACES.map((n) => ({ metadata: { name: n, labels: { ns: n, 'kubernetes.io/metadata.name': n } } })),
      pods,
      networkPolicies: [],
      nodes,
    },
    nodes: [
      { name: 'n1', addresses: ['172.18.0.1', 'fd00:18::1'], podCIDRs: ['10.42.1.0/24', 'fd00:42:1::/64'], gateways: ['10.42.1.1', 'fd00:42:1::1'] },
      { name: 'n2', addresses: ['172.18.0.2', 'fd00:18::2'], podCIDRs: ['10.42.2.0/24', 'fd00:42:2::/64'], gateways: ['10.42.2.1', 'fd00:42:2::1'] },
    ],
    external: ['192.168.5.5', '8.8.8.8', '2001:db8::5', '2a00::8'],
  };
}

function targetSelector(r: Rng): LabelSelector {
  return r.pick<LabelSelector>([
    {},
    { matchLabels: { pod: 'a' } },
    { matchLabels: { pod: 'b' } },
    { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b'] }] },
    { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['a'] }] },
    { matchExpressions: [{ key: 'pod', operator: 'Exists' }] },
    { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
  ]);
}

function podPeerSelector(r: Rng): LabelSelector {
  return r.pick<LabelSelector>([
    {},
    { matchLabels: { pod: 'a' } },
    { matchLabels: { pod: 'c' } },
    { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
    { matchExpressions: [{ key: 'pod', operator: 'NotIn', values: ['b'] }] },
  ]);
}

function nsSelector(r: Rng): LabelSelector {
  return r.pick<LabelSelector>([
    {},
    { matchLabels: { ns: 'y' } },
    { matchLabels: { 'kubernetes.io/metadata.name': 'x' } },
    { matchExpressions: [{ key: 'ns', operator: 'In', values: ['x', 'z'] }] },
    { matchExpressions: [{ key: 'ns', operator: 'NotIn', values: ['x'] }] },
  ]);
}

const IPBLOCKS: readonly NetworkPolicyPeer['ipBlock'][] = [
  { cidr: '10.42.0.0/16' },
  { cidr: '10.42.0.0/16', except: ['10.42.1.0/24'] },
  { cidr: '10.42.1.0/24', except: ['10.42.1.10/32', '10.42.1.14/31'] },
  { cidr: '10.42.2.0/23' },
  { cidr: '10.42.2.13/32' },
  { cidr: '10.42.1.0/25' },
  { cidr: '10.42.1.8/29', except: ['10.42.1.12/30'] },
  { cidr: '10.42.0.0/16', except: ['10.42.1.8/29'] },
  { cidr: '10.42.2.0/24', except: ['10.42.2.12/30', '10.42.2.16/32'] },
  { cidr: 'fd00:42:1::/64', except: ['fd00:42:1::8/125'] },
  { cidr: 'fd00:42:1::8/126' },
  { cidr: '0.0.0.0/0' },
  { cidr: '0.0.0.0/0', except: ['10.42.0.0/16'] },
  { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] },
  { cidr: '192.168.0.0/16' },
  { cidr: '172.18.0.0/30' },
  { cidr: '172.18.0.2/32' },
  { cidr: '8.0.0.0/7', except: ['8.8.8.0/24'] },
  { cidr: 'fd00:42::/32' },
  { cidr: 'fd00:42::/32', except: ['fd00:42:1::/48'] },
  { cidr: '::/0' },
  { cidr: '::/0', except: ['fd00::/8'] },
  { cidr: '2001:db8::/32' },
  { cidr: 'fd00:18::/64', except: ['fd00:18::1/128'] },
];

function peer(r: Rng): NetworkPolicyPeer {
  switch (r.int(5)) {
    case 0:
      return { podSelector: podPeerSelector(r) };
    case 1:
      return { namespaceSelector: nsSelector(r) };
    case 2:
      return { namespaceSelector: nsSelector(r), podSelector: podPeerSelector(r) };
    default:
      return { ipBlock: r.pick(IPBLOCKS)! };
  }
}

const PORTS: readonly NetworkPolicyPort[] = [
  { port: 80 },
  { port: 81 },
  { port: 80, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 80, protocol: 'UDP' },
  { port: 80, protocol: 'SCTP' },
  { protocol: 'UDP' },
  { protocol: 'SCTP' },
  { protocol: 'TCP' },
  { port: 80, endPort: 81 },
  { port: 79, endPort: 80, protocol: 'UDP' },
  { port: 'http' },
  { port: 'http', protocol: 'UDP' },
  { port: 'dns', protocol: 'UDP' },
  { port: 'web' },
  { port: 'metrics' },
  { port: 'sctp-svc', protocol: 'SCTP' },
  { port: 'nope' },
  { port: 'dns' },
];

/** Absent, empty, or 1-3 items. */
function list<T>(r: Rng, make: () => T): T[] | undefined {
  const k = r.int(7);
  if (k === 0) return undefined;
  if (k === 1) return [];
  const n = k <= 3 ? 1 : k <= 5 ? 2 : 3;
  return Array.from({ length: n }, make);
}

function ingressRule(r: Rng): NetworkPolicyIngressRule {
  const from = list(r, () => peer(r));
  const ports = list(r, () => r.pick(PORTS));
  return { ...(from !== undefined ? { from } : {}), ...(ports !== undefined ? { ports } : {}) };
}

function egressRule(r: Rng): NetworkPolicyEgressRule {
  const to = list(r, () => peer(r));
  const ports = list(r, () => r.pick(PORTS));
  return { ...(to !== undefined ? { to } : {}), ...(ports !== undefined ? { ports } : {}) };
}

/** One random policy named `p<index>` in a random namespace. */
export function generatePolicy(r: Rng, index: number): NetworkPolicy {
  const types = r.pick<string[] | undefined>([undefined, [], ['Ingress'], ['Egress'], ['Ingress', 'Egress'], ['Egress', 'Ingress']]);
  const ingress = r.chance(0.8) ? list(r, () => ingressRule(r)) : undefined;
  const egress = r.chance(0.7) ? list(r, () => egressRule(r)) : undefined;
  return {
    metadata: { namespace: r.pick(NAMESPACES), name: `p${index}` },
    spec: {
      podSelector: targetSelector(r),
      ...(types !== undefined ? { policyTypes: types } : {}),
      ...(ingress !== undefined ? { ingress } : {}),
      ...(egress !== undefined ? { egress } : {}),
    },
  };
}

/** The generated cluster with 1-3 random policies, for case number `seed`. */
export function generateCase(seed: number): GeneratedCluster {
  const r = new Rng(seed);
  const base = generatedCluster();
  const n = 1 + r.int(3);
  const policies = Array.from({ length: n }, (_, i) => generatePolicy(r, i));
  return { ...base, snapshot: { ...base.snapshot, networkPolicies: policies } };
}

/**
 * A seeded stream of cluster events for replay tests of the incremental path: starts from the
 * {@link generatedCluster} with a few policies and applies one event per {@link step}, as an informer
 * cache would see it (an update replaces the object at its place in the list, an add appends, a
 * delete removes): pods added, deleted, relabelled, moved to the other node, given another address
 * (sometimes one another pod holds), finished or made hostNetwork; namespaces added, deleted and
 * relabelled; policies added, replaced and deleted. {@link snapshot} is the cache's current content.
 */
export class ClusterEvents {
  readonly #r: Rng;
  readonly #pods = new Map<string, Pod>();
  readonly #namespaces = new Map<string, Namespace>();
  readonly #policies = new Map<string, NetworkPolicy>();
  readonly #nodes: readonly Node[];
  #seq = 0;

  constructor(seed: number) {
    this.#r = new Rng(seed);
    const base = generatedCluster();
    for (const p of base.snapshot.pods) this.#pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
    for (const n of base.snapshot.namespaces ?? []) this.#namespaces.set(n.metadata.name, n);
    this.#nodes = base.snapshot.nodes ?? [];
    for (let i = 0; i < 3; i++) this.#putPolicy(generatePolicy(this.#r, this.#seq++));
  }

  snapshot(): NetpolSnapshot {
    return { pods: [...this.#pods.values()], namespaces: [...this.#namespaces.values()], networkPolicies: [...this.#policies.values()], nodes: this.#nodes };
  }

  #putPolicy(p: NetworkPolicy): void {
    this.#policies.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
  }

  #address(node: string): string[] {
    const r = this.#r;
    const subnet = node === 'n1' ? 1 : 2;
    // A small pool, so addresses get reused (and now and then held by two pods at once).
    const host = 10 + r.int(40);
    return r.chance(0.8) ? [`10.42.${subnet}.${host}`, `fd00:42:${subnet}::${host.toString(16)}`] : [`10.42.${subnet}.${host}`];
  }

  #newPod(ns: string, name: string): Pod {
    const r = this.#r;
    const node = r.pick(['n1', 'n2']);
    const ips = this.#address(node);
    const ports = r.pick([[], [{ name: 'http', containerPort: 80 }], [{ name: 'http', containerPort: 81 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }], [{ name: 'web', containerPort: 80 }]]);
    return {
      metadata: { namespace: ns, name, labels: { pod: r.pick(POD_NAMES), ...(r.chance(0.3) ? { tier: 'x' } : {}) } },
      spec: { nodeName: node, containers: [{ name: 'main', ports }] },
      status: { phase: 'Running', podIP: ips[0]!, podIPs: ips.map((ip) => ({ ip })) },
    };
  }

  /** Applies one random event; returns what it did (for failure messages). */
  step(): string {
    const r = this.#r;
    const pods = [...this.#pods.keys()];
    const nsNames = [...this.#namespaces.keys()];
    const pols = [...this.#policies.keys()];
    const kind = r.int(12);
    if (kind <= 1 || pods.length === 0) {
      const ns = r.chance(0.9) && nsNames.length > 0 ? r.pick(nsNames) : 'w';
      const p = this.#newPod(ns, `q${this.#seq++}`);
      this.#pods.set(`${ns}/${p.metadata.name}`, p);
      return `add pod ${ns}/${p.metadata.name}`;
    }
    const key = r.pick(pods);
    const cur = this.#pods.get(key)!;
    switch (kind) {
      case 2:
        this.#pods.delete(key);
        return `delete pod ${key}`;
      case 3:
        this.#pods.set(key, { ...cur, metadata: { ...cur.metadata, labels: { pod: r.pick(POD_NAMES), ...(r.chance(0.3) ? { tier: 'x' } : {}) } } });
        return `relabel pod ${key}`;
      case 4: {
        const node = cur.spec?.nodeName === 'n1' ? 'n2' : 'n1';
        const ips = this.#address(node);
        this.#pods.set(key, { ...cur, spec: { ...cur.spec, nodeName: node }, status: { ...cur.status, podIP: ips[0]!, podIPs: ips.map((ip) => ({ ip })) } });
        return `move pod ${key} to ${node}`;
      }
      case 5:
        this.#pods.set(key, { ...cur, status: { ...cur.status, phase: r.pick(['Succeeded', 'Failed', 'Running']) } });
        return `phase of pod ${key}`;
      case 6: {
        const n = r.chance(0.7) ? r.pick(nsNames.length ? nsNames : ['w']) : `v${this.#seq++}`;
        this.#namespaces.set(n, { metadata: { name: n, labels: { ns: r.pick(['x', 'y', 'z', 'w']), 'kubernetes.io/metadata.name': n, ...(r.chance(0.5) ? { team: 'a' } : {}) } } });
        return `put namespace ${n}`;
      }
      case 7: {
        if (nsNames.length === 0) return 'nothing';
        const n = r.pick(nsNames);
        this.#namespaces.delete(n);
        return `delete namespace ${n}`;
      }
      case 8:
      case 9: {
        const p = generatePolicy(r, r.chance(0.5) && pols.length > 0 ? Number(r.pick(pols).split('/p')[1]) : this.#seq++);
        this.#putPolicy(p);
        return `put policy ${p.metadata.namespace}/${p.metadata.name}`;
      }
      case 10: {
        if (pols.length === 0) return 'nothing';
        const k = r.pick(pols);
        this.#policies.delete(k);
        return `delete policy ${k}`;
      }
      default: {
        const ips = this.#address(cur.spec?.nodeName ?? 'n1');
        this.#pods.set(key, { ...cur, status: { ...cur.status, podIP: ips[0]!, podIPs: ips.map((ip) => ({ ip })) } });
        return `readdress pod ${key}`;
      }
    }
  }
}
