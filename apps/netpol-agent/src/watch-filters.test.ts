import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { renderNetpol, toRestoreText, toIpsetText, type NetpolSnapshot } from '@portico/netpol';
import type { ChangeEvent, KubeObject } from '@portico/kube';
import { namespaceEventMatters, nodeEventMatters, podEventMatters, slimNamespace, slimNode, slimPod, slimPolicy } from './watch-filters.ts';

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** A pod as the API server returns it: lots of fields the agent does not need. */
function fullPod(name: string, over: { labels?: Record<string, string>; ip?: string; phase?: string; node?: string; annotations?: Record<string, string> } = {}): Obj {
  const ip = over.ip ?? '10.42.0.10';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'x',
      uid: `uid-${name}`,
      resourceVersion: '42',
      labels: over.labels ?? { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"blob"}', ...(over.annotations ?? {}) },
      managedFields: [{ manager: 'kubelet', operation: 'Update' }],
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u' }],
    },
    spec: {
      nodeName: over.node ?? 'n1',
      containers: [
        { name: 'web', image: 'nginx', env: [{ name: 'A', value: 'b' }], ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }] },
      ],
      initContainers: [{ name: 'sidecar', restartPolicy: 'Always', ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }] }],
      volumes: [{ name: 'v', emptyDir: {} }],
      tolerations: [{ key: 'k', operator: 'Exists' }],
    },
    status: {
      phase: over.phase ?? 'Running',
      podIP: ip,
      podIPs: [{ ip }, { ip: 'fd42::10' }],
      hostIP: '192.168.1.1',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      containerStatuses: [{ name: 'web', ready: true, restartCount: 0, image: 'nginx', imageID: 'sha256:abc' }],
    },
  };
}

const ev = <T extends Obj>(type: 'add' | 'update' | 'delete', object: T, old?: T): ChangeEvent<T> =>
  type === 'update' ? { type, object, old: old! } : type === 'add' ? { type, object } : { type, object, finalStateUnknown: false };

describe('slim transforms', () => {
  it('the renderer produces the same rules and sets from slimmed objects', () => {
    const pods = [fullPod('a'), fullPod('b', { labels: { app: 'db' }, ip: '10.42.0.11', node: 'n2' })];
    const namespaces: Obj[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { 'kubernetes.io/metadata.name': 'x' }, managedFields: [] }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }];
    const policies: Obj[] = [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'p', namespace: 'x', annotations: { 'kube-router.io/netpol-nflog-limit': '5/second', other: 'x' }, managedFields: [] },
        spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 'http' }, { port: 'metrics' }] }] },
      },
    ];
    const nodes: Obj[] = [
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'n1', annotations: { 'kube-router.io/pod-cidrs': '10.42.0.0/24', 'node.alpha.kubernetes.io/ttl': '0' } },
        spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'], providerID: 'k3s://n1' },
        status: { addresses: [{ type: 'InternalIP', address: '192.168.1.1' }], conditions: [{ type: 'Ready', status: 'True' }], images: [{ names: ['big'] }] },
      },
    ];
    const snap = (p: Obj[], n: Obj[], pol: Obj[], nd: Obj[]): NetpolSnapshot => ({ pods: p, namespaces: n, networkPolicies: pol, nodes: nd }) as unknown as NetpolSnapshot;
    const cfg = { nodeName: 'n1', families: ['IPv4', 'IPv6'] as const, defaultDeny: true, nflog: { perPolicy: true } };
    const full = renderNetpol(snap(pods, namespaces, policies, nodes), cfg);
    const slim = renderNetpol(snap(pods.map(slimPod), namespaces.map(slimNamespace), policies.map(slimPolicy), nodes.map(slimNode)), cfg);
    const text = (d: typeof full) => d.families.map((f) => toIpsetText(f.ipsets) + toRestoreText(f)).join('\n');
    assert.equal(text(slim), text(full));
    assert.ok(text(full).includes('--limit 5/sec'), 'the nflog annotation survived');
    assert.ok(text(full).includes('--dport 8080'), 'the named port resolved');
    const size = (o: unknown) => JSON.stringify(o).length;
    assert.ok(size(slimPod(pods[0]!)) * 2 < size(pods[0]), 'a slim pod is much smaller');
    assert.equal(slimPod(pods[0]!).metadata?.annotations, undefined);
  });
});

describe('event filters', () => {
  it('pods: actionable adds, relevant updates, every delete', () => {
    const a = fullPod('a');
    assert.equal(podEventMatters(ev('add', a)), true);
    assert.equal(podEventMatters(ev('add', fullPod('a', { ip: '' }))), false, 'no IP yet');
    assert.equal(podEventMatters(ev('add', fullPod('a', { phase: 'Succeeded' }))), false);
    assert.equal(podEventMatters(ev('delete', a)), true);
    const cases: [string, Obj, boolean][] = [
      ['label change', fullPod('a', { labels: { app: 'db' } }), true],
      ['IP change', fullPod('a', { ip: '10.42.0.99' }), true],
      ['phase change', fullPod('a', { phase: 'Failed' }), true],
      ['node change', fullPod('a', { node: 'n9' }), true],
      ['annotation only', fullPod('a', { annotations: { x: 'y' } }), false],
      ['identical', fullPod('a'), false],
    ];
    for (const [name, next, want] of cases) assert.equal(podEventMatters(ev('update', slimPod(next), slimPod(a))), want, name);
  });

  it('namespaces: label updates only; nodes: addresses and pod CIDRs only', () => {
    const n1: Obj = { metadata: { name: 'x', labels: { a: '1' } } };
    assert.equal(namespaceEventMatters(ev('update', { metadata: { name: 'x', labels: { a: '2' } } }, n1)), true);
    assert.equal(namespaceEventMatters(ev('update', { metadata: { name: 'x', labels: { a: '1' }, annotations: { z: '1' } } }, n1)), false);
    const node: Obj = { metadata: { name: 'n1' }, spec: { podCIDRs: ['10.42.0.0/24'] }, status: { addresses: [{ type: 'InternalIP', address: '1.1.1.1' }] } };
    const heartbeat: Obj = { ...node, status: { ...node.status, conditions: [{ type: 'Ready', lastHeartbeatTime: 'now' }] } };
    assert.equal(nodeEventMatters(ev('update', slimNode(heartbeat), slimNode(node))), false);
    assert.equal(nodeEventMatters(ev('update', slimNode({ ...node, status: { addresses: [] } }), slimNode(node))), true);
    assert.equal(nodeEventMatters(ev('update', slimNode({ ...node, metadata: { name: 'n1', annotations: { 'kube-router.io/pod-cidrs': '10.0.0.0/24' } } }), slimNode(node))), true);
  });
});
