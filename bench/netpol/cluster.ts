/** The synthetic cluster of the netpol benchmark (pure; shared by bench.ts and profiling). */
import type { NetpolSnapshot, NetworkPolicy, Pod } from '@portico/netpol';
import { node, ns, pod, policy } from '../../apps/netpol-agent/src/testing/fixtures.ts';

const PODS_PER_NS = 50;

export const v4 = (i: number): string => `10.${40 + Math.floor(i / 65536)}.${Math.floor(i / 256) % 256}.${i % 256}`;
export const v6 = (i: number): string => `fd42::${i.toString(16)}`;

/** A synthetic cluster: `pods` pods in namespaces of 50, the first `local` on this node. */
export function cluster(pods: number, policies: number, local: number): NetpolSnapshot {
  const nsCount = Math.max(1, Math.ceil(pods / PODS_PER_NS));
  const namespaces = Array.from({ length: nsCount }, (_, i) => ns(`ns-${i}`, { team: `t${i % 10}`, env: i % 2 ? 'prod' : 'dev' }));
  const podList: Pod[] = [];
  for (let i = 0; i < pods; i++) {
    // Spread local pods over namespaces, as a scheduler would.
    const onNode = i % Math.ceil(pods / local) === 0 && podList.filter((p) => p.spec?.nodeName === 'n1').length < local;
    podList.push(
      pod(`ns-${i % nsCount}`, `p-${i}`, { app: `app-${i % 20}`, tier: ['web', 'api', 'db'][i % 3]!, pod: `p-${i}` }, onNode ? 'n1' : `n${2 + (i % 99)}`, [v4(i + 1), v6(i + 1)], {
        ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }],
      }),
    );
  }
  const pols: NetworkPolicy[] = [];
  for (let j = 0; j < policies; j++) {
    const n = `ns-${j % nsCount}`;
    const app = { matchLabels: { app: `app-${j % 20}` } };
    switch (j % 5) {
      case 0:
        pols.push(policy(n, `pol-${j}`, { podSelector: app, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 8080 }] }] }));
        break;
      case 1:
        pols.push(policy(n, `pol-${j}`, { podSelector: app, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: `t${j % 10}` } } }], ports: [{ port: 'http' }] }] }));
        break;
      case 2:
        pols.push(
          policy(n, `pol-${j}`, {
            podSelector: { matchLabels: { tier: 'db' } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchLabels: { tier: 'api' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }],
          }),
        );
        break;
      case 3:
        pols.push(policy(n, `pol-${j}`, { podSelector: app, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.40.0.0/24'] } }] }] }));
        break;
      default:
        pols.push(
          policy(n, `pol-${j}`, {
            podSelector: app,
            policyTypes: ['Egress'],
            egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }, { to: [{ podSelector: { matchLabels: { tier: 'db' } } }], ports: [{ port: 5432, endPort: 5440 }] }],
          }),
        );
    }
  }
  return {
    pods: podList,
    namespaces,
    networkPolicies: pols,
    nodes: [node('n1', ['192.168.99.1', 'fd99::1'], ['10.40.0.0/16', 'fd42::/64'])],
  };
}

