/**
 * Policy scenarios for the data-plane tests, built from the spec's ingredients (deny-all ingress,
 * pod/namespace selectors and both, ipBlock with except, named port, port range, egress deny,
 * egress to ipBlock, both policy types), plus a seeded generator of random policy batches in the
 * style of cyclonus (targets, peers and ports drawn from fixed menus).
 */
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, LabelSelector } from '@portico/netpol';
import { policy } from '../../src/testing/fixtures.ts';

export interface Scenario {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
}

const onlyA: LabelSelector = { matchLabels: { pod: 'a' } };

export const SCENARIOS: readonly Scenario[] = [
  { name: 'no policy: everything is allowed', policies: [] },
  { name: 'deny all ingress in x', policies: [policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })] },
  {
    name: 'allow x/a from pods pod=b only (podSelector)',
    policies: [policy('x', 'from-b', { podSelector: onlyA, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })],
  },
  {
    name: 'allow x/a from namespaces team=y (namespaceSelector)',
    policies: [policy('x', 'from-team-y', { podSelector: onlyA, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }] }] })],
  },
  {
    name: 'allow x/a from pod=d in namespaces team=y (both selectors in one peer)',
    policies: [
      policy('x', 'from-y-d', {
        podSelector: onlyA,
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { pod: 'd' } } }] }],
      }),
    ],
  },
  {
    name: 'allow x/a from ipBlocks with except (node 1 pods yes, node 2 pods no)',
    policies: [
      policy('x', 'cidr', {
        podSelector: onlyA,
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.1.0/24'] } }, { ipBlock: { cidr: 'fd42::/16', except: ['fd42:1::/64'] } }] }],
      }),
    ],
  },
  {
    name: 'allow x/a on the named port http only',
    policies: [policy('x', 'named', { podSelector: onlyA, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http' }] }] })],
  },
  {
    name: 'allow x/a on TCP 9000-9005 and UDP 53 (port range, protocol)',
    policies: [
      policy('x', 'range', {
        podSelector: onlyA,
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ protocol: 'TCP', port: 9000, endPort: 9005 }, { protocol: 'UDP', port: 53 }] }],
      }),
    ],
  },
  { name: 'deny all egress in y', policies: [policy('y', 'no-egress', { podSelector: {}, policyTypes: ['Egress'] })] },
  {
    name: 'egress of y/c only to node-1 pod CIDRs on TCP 80 (egress ipBlock)',
    policies: [
      policy('y', 'egress-cidr', {
        podSelector: { matchLabels: { pod: 'c' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.42.0.0/24' } }, { ipBlock: { cidr: 'fd42::/64' } }], ports: [{ protocol: 'TCP', port: 80 }] }],
      }),
    ],
  },
  {
    name: 'ingress none + egress all in x (both types; kube-router D1 would leak)',
    policies: [policy('x', 'both', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [{}] })],
  },
  {
    name: 'several policies combine (union), across namespaces',
    policies: [
      policy('x', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
      policy('x', 'web-from-z', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'z' } } }], ports: [{ port: 80 }] }] }),
      policy('z', 'e-egress-web', { podSelector: { matchLabels: { pod: 'e' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] }] }),
    ],
  },
];

/** A small deterministic PRNG (LCG), so a failing batch can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TARGETS: LabelSelector[] = [{}, { matchLabels: { pod: 'a' } }, { matchExpressions: [{ key: 'pod', operator: 'In', values: ['a', 'b', 'c'] }] }, { matchLabels: { app: 'web' } }];
const PEERS: NetworkPolicyPeer[] = [
  { podSelector: {} },
  { podSelector: { matchLabels: { pod: 'b' } } },
  { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } },
  { namespaceSelector: {} },
  { namespaceSelector: { matchLabels: { team: 'y' } } },
  { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['z'] }] } },
  { namespaceSelector: { matchLabels: { team: 'y' } }, podSelector: { matchLabels: { pod: 'd' } } },
  { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } },
  { ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.0.0/24'] } },
  { ipBlock: { cidr: '10.42.1.0/24' } },
  { ipBlock: { cidr: 'fd42::/16', except: ['fd42:1::/64'] } },
  { ipBlock: { cidr: '192.168.77.0/24' } },
  { ipBlock: { cidr: '0.0.0.0/0', except: ['10.42.0.10/32'] } },
];
const PORTS: NetworkPolicyPort[][] = [
  [],
  [{ protocol: 'TCP', port: 80 }],
  [{ protocol: 'UDP', port: 53 }],
  [{ port: 'http' }],
  [{ protocol: 'TCP', port: 8000, endPort: 9002 }],
  [{ protocol: 'UDP' }],
  [{ protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }],
];

/** `count` random policies over namespaces x, y, z. */
export function generatedBatch(seed: number, count: number): Scenario {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const policies: NetworkPolicy[] = [];
  for (let i = 0; i < count; i++) {
    const types: readonly string[] = pick([['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
    const rules = (): { peers: NetworkPolicyPeer[] | undefined; ports: NetworkPolicyPort[] }[] =>
      Array.from({ length: Math.floor(r() * 3) }, () => ({ peers: r() < 0.2 ? undefined : Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(PEERS)), ports: pick(PORTS) }));
    const spec: NetworkPolicy['spec'] = {
      podSelector: pick(TARGETS),
      policyTypes: [...types],
      ...(types.includes('Ingress') ? { ingress: rules().map((x) => ({ ...(x.peers ? { from: x.peers } : {}), ...(x.ports.length ? { ports: x.ports } : {}) })) } : {}),
      ...(types.includes('Egress') ? { egress: rules().map((x) => ({ ...(x.peers ? { to: x.peers } : {}), ...(x.ports.length ? { ports: x.ports } : {}) })) } : {}),
    };
    policies.push(policy(pick(['x', 'y', 'z']), `gen-${seed}-${i}`, spec));
  }
  return { name: `generated batch (seed ${seed}, ${count} policies)`, policies };
}
