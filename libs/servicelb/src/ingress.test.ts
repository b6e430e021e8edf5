import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { computeIngress, localReadyNodes } from './ingress.ts';
import { node, slice, svc, svclbPod } from './testing/index.ts';
import type { Node, Pod, Service } from './types.ts';

function ingressOf(s: Service, nodes: Node[], pods: Pod[], opts: { local?: Set<string>; rootless?: boolean } = {}): string[] {
  const r = computeIngress(s, {
    pods,
    nodesByName: new Map(nodes.map((n) => [n.metadata!.name!, n])),
    localReadyNodes: opts.local ?? new Set(),
    rootless: opts.rootless ?? false,
  });
  for (const e of r.ingress) assert.equal(e.ipMode, 'VIP', 'every entry carries ipMode VIP');
  return r.ingress.map((e) => e.ip!);
}

describe('computeIngress: which pods count (spec §6 step 2)', () => {
  const s = svc('web');
  const n1 = node('n1', { internal: ['10.0.0.1'] });
  const n2 = node('n2', { internal: ['10.0.0.2'] });
  const cases: { name: string; pods: Pod[]; want: string[] }[] = [
    { name: 'a Ready pod with podIP on a known node lists the node', pods: [svclbPod(s, 'n1')], want: ['10.0.0.1'] },
    { name: 'a pod without nodeName does not count', pods: [svclbPod(s, undefined)], want: [] },
    { name: 'a pod without podIP does not count', pods: [svclbPod(s, 'n1', { podIP: '' })], want: [] },
    { name: 'a pod that is not Ready does not count', pods: [svclbPod(s, 'n1', { ready: false })], want: [] },
    { name: 'a pod on an unknown node does not count', pods: [svclbPod(s, 'gone')], want: [] },
    { name: 'two Ready pods list both nodes', pods: [svclbPod(s, 'n2'), svclbPod(s, 'n1')], want: ['10.0.0.1', '10.0.0.2'] },
    { name: 'two pods on one node list it once', pods: [svclbPod(s, 'n1'), svclbPod(s, 'n1', { suffix: 'x' })], want: ['10.0.0.1'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(ingressOf(s, [n1, n2], c.pods), c.want));
});

describe('computeIngress: externalTrafficPolicy Local (spec §6 step 1)', () => {
  const s = svc('web', { etp: 'Local' });
  const nodes = [node('n1', { internal: ['10.0.0.1'] }), node('n2', { internal: ['10.0.0.2'] })];
  const pods = [svclbPod(s, 'n1'), svclbPod(s, 'n2')];
  it('only nodes with a Ready local endpoint are listed', () => {
    assert.deepEqual(ingressOf(s, nodes, pods, { local: localReadyNodes([slice(s, [{ node: 'n2' }])]) }), ['10.0.0.2']);
  });
  it('no Ready endpoint gives an empty ingress', () => assert.deepEqual(ingressOf(s, nodes, pods, { local: new Set() }), []));
  it('the filter is ignored for Cluster policy', () => assert.deepEqual(ingressOf(svc('web'), nodes, pods, { local: new Set() }), ['10.0.0.1', '10.0.0.2']));

  const sliceCases: { name: string; ep: Parameters<typeof slice>[1][number]; want: string[] }[] = [
    { name: 'ready: true with a Pod targetRef counts', ep: { node: 'n1', ready: true }, want: ['n1'] },
    { name: 'ready: null/absent counts as NOT ready (K3s §10.14)', ep: { node: 'n1', ready: null }, want: [] },
    { name: 'ready: false does not count', ep: { node: 'n1', ready: false }, want: [] },
    { name: 'an endpoint without targetRef never counts', ep: { node: 'n1', kind: null }, want: [] },
    { name: 'a non-Pod targetRef does not count', ep: { node: 'n1', kind: 'Node' }, want: [] },
    { name: 'an endpoint without nodeName does not count', ep: { node: null }, want: [] },
  ];
  for (const c of sliceCases) it(`localReadyNodes: ${c.name}`, () => assert.deepEqual([...localReadyNodes([slice(s, [c.ep])])], c.want));
});

describe('computeIngress: addresses, families and order (spec §6 steps 3–5)', () => {
  const pods = (s: Service, ...ns: string[]) => ns.map((n) => svclbPod(s, n));
  it('InternalIP is used when the node has no ExternalIP; Hostname/DNS never', () => {
    const s = svc('web');
    assert.deepEqual(ingressOf(s, [node('n1', { internal: ['10.0.0.1'] })], pods(s, 'n1')), ['10.0.0.1']);
  });
  it('ExternalIP is preferred over InternalIP', () => {
    const s = svc('web');
    assert.deepEqual(ingressOf(s, [node('n1', { internal: ['10.0.0.1'], external: ['203.0.113.1'] })], pods(s, 'n1')), ['203.0.113.1']);
  });
  it('within a family ExternalIPs win for all nodes: a node with only an InternalIP is not listed next to ExternalIPs (K3s parity)', () => {
    const s = svc('web');
    const nodes = [node('n1', { internal: ['10.0.0.1'], external: ['203.0.113.1'] }), node('n2', { internal: ['10.0.0.2'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1', 'n2')), ['203.0.113.1']);
  });
  it('Portico fix for K3s §10.7: an IPv6 ExternalIP does not empty an IPv4-only Service\'s ingress', () => {
    const s = svc('web', { ipFamilies: ['IPv4'] });
    const nodes = [node('n1', { internal: ['10.0.0.1'], external: ['2001:db8::1'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1')), ['10.0.0.1']);
  });
  it('Portico fix for K3s §10.7: external precedence is decided per family in a dual-stack Service', () => {
    const s = svc('web', { ipFamilies: ['IPv4', 'IPv6'] });
    const nodes = [node('n1', { internal: ['10.0.0.1', 'fd00::1'], external: ['2001:db8::1'] }), node('n2', { internal: ['10.0.0.2', 'fd00::2'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1', 'n2')), ['10.0.0.1', '10.0.0.2', '2001:db8::1']);
  });
  it('families follow spec.ipFamilies order; unlisted families are dropped', () => {
    const nodes = [node('n1', { internal: ['10.0.0.1', 'fd00::1'] })];
    const v6first = svc('web', { ipFamilies: ['IPv6', 'IPv4'] });
    assert.deepEqual(ingressOf(v6first, nodes, pods(v6first, 'n1')), ['fd00::1', '10.0.0.1']);
    const v4only = svc('web', { ipFamilies: ['IPv4'] });
    assert.deepEqual(ingressOf(v4only, nodes, pods(v4only, 'n1')), ['10.0.0.1']);
    const v6only = svc('web', { ipFamilies: ['IPv6'] });
    assert.deepEqual(ingressOf(v6only, nodes, pods(v6only, 'n1')), ['fd00::1']);
  });
  it('no ipFamilies gives an empty ingress', () => {
    const s = svc('web', { ipFamilies: [], clusterIPs: [] });
    assert.deepEqual(ingressOf(s, [node('n1', { internal: ['10.0.0.1'] })], pods(s, 'n1')), []);
  });
  it('within a family addresses sort numerically (Portico; K3s sorts as strings: 10.0.0.10 before 10.0.0.9)', () => {
    const s = svc('web');
    const nodes = [node('a', { internal: ['10.0.0.9'] }), node('b', { internal: ['10.0.0.10'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'a', 'b')), ['10.0.0.9', '10.0.0.10']);
  });
  it('IPv6 addresses are written in canonical text', () => {
    const s = svc('web', { ipFamilies: ['IPv6'] });
    assert.deepEqual(ingressOf(s, [node('a', { internal: ['FD00:0:0::0001'] })], pods(s, 'a')), ['fd00::1']);
  });
  it('duplicate addresses across nodes collapse', () => {
    const s = svc('web');
    const nodes = [node('a', { external: ['203.0.113.1'] }), node('b', { external: ['203.0.113.1'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'a', 'b')), ['203.0.113.1']);
  });
  it('strings that are not IPs are dropped', () => {
    const s = svc('web');
    assert.deepEqual(ingressOf(s, [node('n1', { internal: ['not-an-ip', '10.0.0.1'] })], pods(s, 'n1')), ['10.0.0.1']);
  });
  it('rootless: a non-empty ingress becomes 127.0.0.1', () => {
    const s = svc('web');
    const nodes = [node('n1', { internal: ['10.0.0.1'] }), node('n2', { internal: ['10.0.0.2'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1', 'n2'), { rootless: true }), ['127.0.0.1']);
  });
  it('rootless: an empty ingress stays empty', () => {
    const s = svc('web');
    assert.deepEqual(ingressOf(s, [node('n1', { internal: ['10.0.0.1'] })], [], { rootless: true }), []);
  });
  it('Portico fix for K3s §10.12: a node labelled exclude-from-external-load-balancers is never listed', () => {
    const s = svc('web');
    const nodes = [node('n1', { internal: ['10.0.0.1'], labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' } }), node('n2', { internal: ['10.0.0.2'] })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1', 'n2')), ['10.0.0.2']);
  });
  it('the exclusion label with a Go "false" value does not exclude', () => {
    const s = svc('web');
    const nodes = [node('n1', { internal: ['10.0.0.1'], labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': 'false' } })];
    assert.deepEqual(ingressOf(s, nodes, pods(s, 'n1')), ['10.0.0.1']);
  });
});
