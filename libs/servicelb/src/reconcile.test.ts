import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { shuffled } from '@portico/testing';
import type { DesiredServiceStatus, ServiceLBSnapshot, ServiceOutcome } from './api.ts';
import { isCanonical } from './canonical.ts';
import { serviceLBConfig } from './config.ts';
import { daemonSetName } from './names.ts';
import { buildIndex, reconcile, reconcileKey, reconcileService } from './reconcile.ts';
import { renderServiceLB, renderOutcomes, streamText } from './render.ts';
import { hostPortPod, names, node, slice, svc, svclbPod, UID } from './testing/index.ts';
import type { Condition, DaemonSet, Node, Pod, Service } from './types.ts';

const NOW = '2026-03-01T12:00:00Z';
const config = serviceLBConfig();
const FIN = 'service.kubernetes.io/load-balancer-cleanup';
const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

function snap(p: Partial<ServiceLBSnapshot>): ServiceLBSnapshot {
  return { services: [], nodes: [], pods: [], endpointSlices: [], daemonSets: [], ...p };
}

function one(p: Partial<ServiceLBSnapshot>, key = 'default/web'): ServiceOutcome {
  const o = reconcile(snap(p), config, NOW).services.find((s) => s.key === key);
  assert.ok(o, `no outcome for ${key}`);
  return o;
}

function appliedDs(o: ServiceOutcome): DaemonSet {
  assert.equal(o.daemonSet.action, 'apply', `expected apply, got ${o.daemonSet.action}`);
  return (o.daemonSet as { daemonSet: DaemonSet }).daemonSet;
}

function desired(o: ServiceOutcome): DesiredServiceStatus {
  assert.ok(o.status.action === 'patch' || o.status.action === 'unchanged', `expected a status, got ${o.status.action}`);
  return o.status.status;
}

function ingressIPs(o: ServiceOutcome): string[] {
  return (desired(o).loadBalancer.ingress ?? []).map((e) => e.ip!);
}

function condition(o: ServiceOutcome): Condition {
  return desired(o).conditions[0]!;
}

function reasons(o: ServiceOutcome): string[] {
  return o.events.map((e) => `${e.when}:${e.reason}`);
}

/** An existing DaemonSet as the cluster would return it (the desired one plus server fields). */
function existingDs(service: Service, nodes: Node[] = []): DaemonSet {
  const o = reconcile(snap({ services: [service], nodes }), config, NOW).services[0]!;
  const ds = appliedDs(o);
  return { ...ds, metadata: { ...ds.metadata, resourceVersion: '42', uid: 'ds-uid' } };
}

describe('reconcile: states and plans', () => {
  const n1 = node('n1', { internal: ['10.0.0.1'] });
  const web = svc('web');

  it('ok: DaemonSet applied, ingress from the Ready pod, condition True, AppliedDaemonSet and UpdatedLoadBalancer events', () => {
    const o = one({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1')] });
    assert.equal(o.state, 'ok');
    assert.equal(appliedDs(o).metadata!.name, 'svclb-web-35a5ccb3');
    assert.deepEqual(ingressIPs(o), ['10.0.0.1']);
    assert.equal(o.status.action, 'patch');
    assert.deepEqual(condition(o), { lastTransitionTime: NOW, message: '1 ingress address from 1 node', reason: 'IngressAssigned', status: 'True', type: 'portico.io/LoadBalancerReady' });
    assert.deepEqual(reasons(o), ['afterApply:AppliedDaemonSet', 'afterStatusPatch:UpdatedLoadBalancer']);
    assert.equal(o.events[1]!.message, 'Updated LoadBalancer with new IPs: [] -> [10.0.0.1]');
  });

  it('ok and already stored: status unchanged, no status event (no patch loop on ipMode, spec §6 caveat)', () => {
    const first = one({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1')] });
    const stored = desired(first);
    // What the API server stores: ipMode defaulted (here: dropped by an older writer), other conditions kept.
    const storedSvc: Service = { ...web, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] }, conditions: [...stored.conditions!, { type: 'Other', status: 'True', reason: 'X', message: '', lastTransitionTime: NOW }] } };
    const o = one({ services: [storedSvc], nodes: [n1], pods: [svclbPod(web, 'n1')] });
    assert.equal(o.status.action, 'unchanged');
    assert.deepEqual(reasons(o), ['afterApply:AppliedDaemonSet']);
  });

  it('pending: pods not Ready yet → condition PodsNotReady, UnAvailable only if the ingress was non-empty', () => {
    const o = one({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1', { ready: false })] });
    assert.equal(o.state, 'pending');
    assert.equal(condition(o).reason, 'PodsNotReady');
    assert.deepEqual(reasons(o), ['afterApply:AppliedDaemonSet']);
    const had = one({ services: [{ ...web, status: { loadBalancer: { ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] } } }], nodes: [n1], pods: [] });
    assert.deepEqual(reasons(had), ['afterApply:AppliedDaemonSet', 'afterStatusPatch:UnAvailableLoadBalancer']);
    assert.equal(had.status.action, 'patch');
    assert.deepEqual(desired(had).loadBalancer, {}, 'an empty ingress is written as loadBalancer: {}');
  });

  it('pending: Local policy with Ready pods but no Ready local endpoint → NoLocalEndpoints', () => {
    const local = svc('web', { etp: 'Local' });
    const o = one({ services: [local], nodes: [n1], pods: [svclbPod(local, 'n1')], endpointSlices: [slice(local, [{ node: 'n1', ready: null }])] });
    assert.equal(o.state, 'pending');
    assert.equal(condition(o).reason, 'NoLocalEndpoints');
  });

  it('pending: Ready pods on nodes without an address of the Service family → NoUsableAddress', () => {
    const v6 = svc('web', { ipFamilies: ['IPv6'] });
    const o = one({ services: [v6], nodes: [n1], pods: [svclbPod(v6, 'n1')] });
    assert.equal(o.state, 'pending');
    assert.equal(condition(o).reason, 'NoUsableAddress');
    assert.match(condition(o).message, /\(IPv6\)$/);
  });

  it('Local policy lists only nodes with a Ready endpoint', () => {
    const local = svc('web', { etp: 'Local' });
    const n2 = node('n2', { internal: ['10.0.0.2'] });
    const o = one({ services: [local], nodes: [n1, n2], pods: [svclbPod(local, 'n1'), svclbPod(local, 'n2')], endpointSlices: [slice(local, [{ node: 'n2' }, { node: 'n1', ready: false }])] });
    assert.deepEqual(ingressIPs(o), ['10.0.0.2']);
  });

  it('EndpointSlices of another Service or namespace do not count', () => {
    const local = svc('web', { etp: 'Local' });
    const other = svc('web', { namespace: 'other', etp: 'Local' });
    const o = one({ services: [local], nodes: [n1], pods: [svclbPod(local, 'n1')], endpointSlices: [slice(other, [{ node: 'n1' }])] });
    assert.deepEqual(ingressIPs(o), []);
  });

  it('svclb pods outside the LB namespace do not count', () => {
    const o = one({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1', { namespace: 'default' })] });
    assert.deepEqual(ingressIPs(o), []);
  });

  it('rootless: ingress 127.0.0.1', () => {
    const r = reconcile(snap({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1')] }), serviceLBConfig({ rootless: true }), NOW);
    assert.deepEqual(ingressIPs(r.services[0]!), ['127.0.0.1']);
  });

  it('not LoadBalancer, no finalizer, nothing of ours: ignored, nothing done', () => {
    const o = one({ services: [svc('web', { type: 'ClusterIP' })] });
    assert.equal(o.state, 'ignored');
    assert.deepEqual(o.daemonSet, { action: 'none' });
    assert.deepEqual(o.status, { action: 'none' });
  });

  it('type changed away from LoadBalancer: DaemonSet deleted (DeletedDaemonSet after delete), status cleared, state cleanup', () => {
    const was = svc('web', { finalizers: [FIN] });
    const now = svc('web', { type: 'ClusterIP', finalizers: [FIN], status: { loadBalancer: { ingress: [{ ip: '10.0.0.1', ipMode: 'VIP' }] } } });
    const o = one({ services: [now], nodes: [n1], daemonSets: [existingDs(was, [n1])] });
    assert.equal(o.state, 'cleanup');
    assert.deepEqual(o.daemonSet, { action: 'delete', name: 'svclb-web-35a5ccb3' });
    assert.deepEqual(o.status, { action: 'patch', status: { loadBalancer: {}, conditions: [] } });
    assert.deepEqual(reasons(o), ['afterDelete:DeletedDaemonSet']);
    assert.equal(o.events[0]!.message, 'Deleted LoadBalancer DaemonSet kube-system/svclb-web-35a5ccb3');
  });

  it('being deleted: DaemonSet deleted, status untouched', () => {
    const dying = svc('web', { finalizers: [FIN], deletionTimestamp: NOW });
    const o = one({ services: [dying], daemonSets: [existingDs(svc('web'))] });
    assert.equal(o.state, 'cleanup');
    assert.deepEqual(o.daemonSet, { action: 'delete', name: 'svclb-web-35a5ccb3' });
    assert.deepEqual(o.status, { action: 'none' });
  });

  it('a Service gone from the cluster: reconcileKey lists its DaemonSet as stale, and reconcile as an orphan', () => {
    const s = snap({ daemonSets: [existingDs(web)] });
    const o = reconcileKey(buildIndex(s, config), 'default/web', NOW);
    assert.equal(o.state, 'cleanup');
    assert.deepEqual(o.staleDaemonSets, ['svclb-web-35a5ccb3']);
    assert.deepEqual(reasons(o), ['afterDelete:DeletedDaemonSet']);
    assert.deepEqual(reconcile(s, config, NOW).orphans, ['svclb-web-35a5ccb3']);
    assert.equal(reconcileKey(buildIndex(snap({}), config), 'default/web', NOW).state, 'ignored');
  });

  it('a re-created Service (new UID) lists the old UID\'s DaemonSet as stale', () => {
    const old = existingDs(svc('web', { uid: '00000000-aaaa' }));
    const o = one({ services: [web], nodes: [n1], daemonSets: [old] });
    assert.deepEqual(o.staleDaemonSets, ['svclb-web-00000000']);
    assert.equal(appliedDs(o).metadata!.name, 'svclb-web-35a5ccb3');
  });

  it('DaemonSets that are not ServiceLB\'s (other namespace or missing labels) are never orphans', () => {
    const ours = existingDs(web);
    const elsewhere = { ...ours, metadata: { ...ours.metadata, namespace: 'default' } };
    const unlabelled = { ...ours, metadata: { name: 'svclb-other-11111111', namespace: 'kube-system', labels: { app: 'x' } } };
    assert.deepEqual(reconcile(snap({ daemonSets: [elsewhere, unlabelled] }), config, NOW).orphans, []);
  });

  it('reconcileKey of a live Service equals reconcileService', () => {
    const s = snap({ services: [web], nodes: [n1], pods: [svclbPod(web, 'n1')] });
    const index = buildIndex(s, config);
    assert.deepEqual(reconcileKey(index, 'default/web', NOW), reconcileService(index, web, NOW));
  });
});

describe('reconcile: invalid annotations keep the last good state', () => {
  const n1 = node('n1', { internal: ['10.0.0.1'] });
  const good = svc('web', { annotations: { [names.tolerationsAnnotation]: '[{"key":"a","operator":"Exists"}]' } });
  const bad = svc('web', { annotations: { [names.tolerationsAnnotation]: '[{"key":"a","operator":"Exists","value":"v"}]' } });

  it('with a DaemonSet applied before: keep it, state invalid, InvalidAnnotation event and condition, ingress still follows the pods', () => {
    const o = one({ services: [bad], nodes: [n1], pods: [svclbPod(bad, 'n1')], daemonSets: [existingDs(good, [n1])] });
    assert.equal(o.state, 'invalid');
    assert.deepEqual(o.daemonSet, { action: 'keep', name: 'svclb-web-35a5ccb3' });
    assert.deepEqual(o.problems.map((p) => p.field), [`annotation ${names.tolerationsAnnotation}`]);
    assert.deepEqual(reasons(o), ['now:InvalidAnnotation', 'afterStatusPatch:UpdatedLoadBalancer']);
    assert.equal(
      o.events[0]!.message,
      `annotation ${names.tolerationsAnnotation}: invalid value "[{\\"key\\":\\"a\\",\\"operator\\":\\"Exists\\",\\"value\\":\\"v\\"}]": validation failed for toleration 0: toleration with operator 'Exists' must have an empty value; the DaemonSet kube-system/svclb-web-35a5ccb3 from the last valid configuration is kept`,
    );
    assert.equal(condition(o).reason, 'InvalidAnnotation');
    assert.equal(condition(o).status, 'False');
    assert.deepEqual(ingressIPs(o), ['10.0.0.1']);
  });

  it('the kept DaemonSet is in the reconciliation\'s DaemonSets (not an orphan): its spec as it was, without server fields', () => {
    const existing = existingDs(good, [n1]);
    const r = reconcile(snap({ services: [bad], nodes: [n1], daemonSets: [{ ...existing, status: { numberReady: 1 } } as DaemonSet] }), config, NOW);
    assert.equal(r.daemonSets.length, 1);
    assert.deepEqual(r.daemonSets[0]!.spec, existing.spec);
    assert.deepEqual(r.daemonSets[0]!.metadata, { labels: existing.metadata!.labels, name: existing.metadata!.name, namespace: 'kube-system' });
    assert.equal((r.daemonSets[0] as Record<string, unknown>)['status'], undefined);
    assert.deepEqual(r.orphans, []);
  });

  it('without a previous DaemonSet: nothing is created', () => {
    const o = one({ services: [bad], nodes: [n1] });
    assert.equal(o.state, 'invalid');
    assert.deepEqual(o.daemonSet, { action: 'none' });
    assert.match(condition(o).message, /no DaemonSet is created$/);
  });

  it('the warning is emitted once: not again when the stored condition already says the same', () => {
    const first = one({ services: [bad], nodes: [n1] });
    const stored = { ...bad, status: desired(first) };
    const again = one({ services: [stored], nodes: [n1] });
    assert.equal(again.status.action, 'unchanged');
    assert.deepEqual(reasons(again), []);
  });

  const invalids: { name: string; annotations?: Record<string, string>; sourceRanges?: string[]; field: string }[] = [
    { name: 'tolerations that parse as neither JSON nor YAML', annotations: { [names.tolerationsAnnotation]: '[{' }, field: `annotation ${names.tolerationsAnnotation}` },
    { name: 'a bad source-ranges annotation', annotations: { 'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8,x' }, field: 'annotation service.beta.kubernetes.io/load-balancer-source-ranges' },
    { name: 'a bad spec.loadBalancerSourceRanges', sourceRanges: ['1.2.3.4/99'], field: 'spec.loadBalancerSourceRanges' },
    { name: 'a bad priority class annotation', annotations: { [names.priorityClassAnnotation]: 'UPPER' }, field: `annotation ${names.priorityClassAnnotation}` },
  ];
  for (const c of invalids) {
    it(`invalid: ${c.name}`, () => {
      const s = svc('web', { ...(c.annotations ? { annotations: c.annotations } : {}), ...(c.sourceRanges ? { sourceRanges: c.sourceRanges } : {}) });
      const o = one({ services: [s], nodes: [n1] });
      assert.equal(o.state, 'invalid');
      assert.deepEqual(o.problems.map((p) => p.field), [c.field]);
      assert.equal(o.events[0]!.reason, 'InvalidAnnotation');
      assert.equal(o.events[0]!.type, 'Warning');
    });
  }
});

describe('reconcile: no eligible nodes (Portico fix for K3s §10.1 silent Pending)', () => {
  const web = svc('web');
  const other = svc('other', { uid: 'aaaaaaaa-0000' });
  const nodes = ['n1', 'n2', 'n3'].map((n, i) => node(n, { internal: [`10.0.0.${i + 1}`] }));

  it('hostPort taken on all eligible nodes by another svclb DaemonSet: warning naming port, count and holder', () => {
    const o = one({ services: [web, other], nodes, pods: nodes.map((n) => svclbPod(other, n.metadata!.name!)) });
    assert.equal(o.state, 'noEligibleNodes');
    assert.deepEqual(appliedDs(o).metadata!.name, 'svclb-web-35a5ccb3', 'the DaemonSet is still applied so it recovers when a port frees up');
    const msg = 'hostPort 80/TCP is taken on all 3 eligible nodes by kube-system/svclb-other-aaaaaaaa';
    assert.equal(condition(o).message, msg);
    assert.equal(condition(o).reason, 'NoEligibleNodes');
    assert.deepEqual(o.events[0], { type: 'Warning', reason: 'NoEligibleNodes', message: msg, when: 'now' });
  });

  it('one free node is enough: pending, no warning', () => {
    const o = one({ services: [web, other], nodes, pods: ['n1', 'n2'].map((n) => svclbPod(other, n)) });
    assert.equal(o.state, 'pending');
    assert.ok(!reasons(o).includes('now:NoEligibleNodes'));
  });

  it('a port held by a non-svclb pod counts, named ns/pod', () => {
    const o = one({ services: [web], nodes: [nodes[0]!], pods: [hostPortPod('ingress', 'nginx-abc', 'n1', 80)] });
    assert.equal(condition(o).message, 'hostPort 80/TCP is taken on the only eligible node by ingress/nginx-abc');
  });

  it('the same port on another protocol is not a conflict (mixed protocols)', () => {
    const o = one({ services: [web], nodes: [nodes[0]!], pods: [hostPortPod('x', 'dns', 'n1', 80, 'UDP')] });
    assert.equal(o.state, 'pending');
  });

  it('finished pods hold no port', () => {
    const done: Pod = { ...hostPortPod('x', 'job', 'n1', 80), status: { phase: 'Succeeded' } };
    assert.equal(one({ services: [web], nodes: [nodes[0]!], pods: [done] }).state, 'pending');
  });

  it('different ports blocking different nodes are all named', () => {
    const two = svc('web', { ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }, { name: 'https', port: 443, protocol: 'TCP', nodePort: 30443 }] });
    const o = one({ services: [two], nodes: nodes.slice(0, 2), pods: [hostPortPod('a', 'p80', 'n1', 80), hostPortPod('b', 'p443', 'n2', 443)] });
    assert.equal(condition(o).message, 'A hostPort this Service needs is taken on all 2 eligible nodes: hostPort 80/TCP on 1 node by a/p80; hostPort 443/TCP on 1 node by b/p443');
  });

  it('a Service whose own pods hold the port is not in conflict with itself', () => {
    const o = one({ services: [web], nodes, pods: nodes.map((n) => svclbPod(web, n.metadata!.name!, { ready: false })) });
    assert.equal(o.state, 'pending');
    assert.equal(condition(o).reason, 'PodsNotReady');
  });

  it('an own pod left on a node that is no longer eligible does not make the Service servable', () => {
    const ns = [node('n1', { labels: { [EXCLUDE]: 'true' } }), node('n2')];
    const o = one({ services: [web, other], nodes: ns, pods: [svclbPod(web, 'n1', { ready: false }), svclbPod(other, 'n2')] });
    assert.equal(o.state, 'noEligibleNodes');
    assert.equal(condition(o).message, 'hostPort 80/TCP is taken on the only eligible node by kube-system/svclb-other-aaaaaaaa');
  });

  it('allow-list mode with no enablelb=true node: names the selection', () => {
    const ns = [node('n1', { labels: { [names.enableLbLabel]: 'false' } }), node('n2')];
    const o = one({ services: [web], nodes: ns });
    assert.equal(o.state, 'noEligibleNodes');
    assert.equal(condition(o).message, `No node can run the LoadBalancer pods: of 2 nodes, 2 nodes not labelled ${names.enableLbLabel}=true (allow-list mode is on)`);
  });

  it('pool with no member: names the pool', () => {
    const pooled = svc('web', { labels: { [names.lbPoolLabel]: 'pool9' } });
    const ns = [node('n1', { labels: { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'pool1' } })];
    assert.equal(condition(one({ services: [pooled], nodes: ns })).message, `No node can run the LoadBalancer pods: of 1 node, 1 node not in pool ${names.lbPoolLabel}=pool9`);
  });

  it('excluded and tainted nodes: names both, taints aggregated', () => {
    const ns = [
      node('n1', { labels: { [EXCLUDE]: '' } }),
      node('n2', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      node('n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
      node('n4', { taints: [{ key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' }] }),
    ];
    assert.equal(
      condition(one({ services: [web], nodes: ns })).message,
      `No node can run the LoadBalancer pods: of 4 nodes, 1 node labelled ${EXCLUDE}; untolerated taints: dedicated=db:NoSchedule on 2 nodes, node.cloudprovider.kubernetes.io/uninitialized=true:NoSchedule on 1 node`,
    );
  });

  it('a tolerations annotation makes tainted nodes eligible', () => {
    const tolerant = svc('web', { annotations: { [names.tolerationsAnnotation]: '[{"key":"dedicated","operator":"Exists"}]' } });
    assert.equal(one({ services: [tolerant], nodes: [node('n1', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })] }).state, 'pending');
  });

  it('control-plane NoSchedule and DaemonSet automatic tolerations (unschedulable, not-ready) do not block', () => {
    const ns = [
      node('cp', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
      node('cordoned', { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
    ];
    const index = buildIndex(snap({ services: [web], nodes: ns }), config);
    assert.equal(reconcileService(index, web, NOW).state, 'pending');
  });

  it('no nodes at all', () => {
    assert.equal(condition(one({ services: [web] })).message, 'No node can run the LoadBalancer pods: the cluster has no nodes');
  });
});

describe('Portico fixes for K3s bugs', () => {
  const pooled = svc('web', { labels: { [names.lbPoolLabel]: 'pool1' } });
  it('§10.4: the lbpool stays in the nodeSelector when allow-list mode turns on (K3s drops it on the flip)', () => {
    const before = appliedDs(one({ services: [pooled], nodes: [node('n1')] }));
    assert.equal(before.spec!.template!.spec!.nodeSelector, undefined);
    const after = appliedDs(one({ services: [pooled], nodes: [node('n1', { labels: { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'pool1' } })] }));
    assert.deepEqual(after.spec!.template!.spec!.nodeSelector, { [names.enableLbLabel]: 'true', [names.lbPoolLabel]: 'pool1' });
  });
  it('§10.5: removing enablelb from the last labelled node flips back to all nodes (K3s keeps selecting nothing)', () => {
    const ds = appliedDs(one({ services: [pooled], nodes: [node('n1'), node('n2')] }));
    assert.equal(ds.spec!.template!.spec!.nodeSelector, undefined);
    assert.equal(ds.metadata!.labels![names.nodeSelectorLabel], 'false');
  });
  it('§10.5: deleting the last enablelb node flips back too (the mode is computed from the Nodes present)', () => {
    const withLabelled = appliedDs(one({ services: [pooled], nodes: [node('n1'), node('lb', { labels: { [names.enableLbLabel]: 'true' } })] }));
    assert.equal(withLabelled.metadata!.labels![names.nodeSelectorLabel], 'true');
    const without = appliedDs(one({ services: [pooled], nodes: [node('n1')] }));
    assert.equal(without.metadata!.labels![names.nodeSelectorLabel], 'false');
  });
  it('§10.3: a changed lbpool label on the Service changes the DaemonSet', () => {
    const ns = [node('n1', { labels: { [names.enableLbLabel]: 'true' } })];
    const a = appliedDs(one({ services: [pooled], nodes: ns }));
    const b = appliedDs(one({ services: [svc('web', { labels: { [names.lbPoolLabel]: 'pool2' } })], nodes: ns }));
    assert.equal(a.spec!.template!.spec!.nodeSelector![names.lbPoolLabel], 'pool1');
    assert.equal(b.spec!.template!.spec!.nodeSelector![names.lbPoolLabel], 'pool2');
  });
  it('§10.6 kept (documented K3s behaviour): enablelb=false on one node puts the cluster in allow-list mode', () => {
    const ds = appliedDs(one({ services: [svc('web')], nodes: [node('n1', { labels: { [names.enableLbLabel]: 'false' } }), node('n2')] }));
    assert.deepEqual(ds.spec!.template!.spec!.nodeSelector, { [names.enableLbLabel]: 'true' });
  });
  it('§10.9: a Service with loadBalancerClass gets no DaemonSet and its status is never touched (K3s empties it)', () => {
    const classed = svc('web', { loadBalancerClass: 'metallb.io/metallb', status: { loadBalancer: { ingress: [{ ip: '192.0.2.50', ipMode: 'VIP' }] } } });
    const o = one({ services: [classed], nodes: [node('n1', { internal: ['10.0.0.1'] })], endpointSlices: [slice(classed, [{ node: 'n1' }])] });
    assert.equal(o.state, 'ignored');
    assert.deepEqual(o.daemonSet, { action: 'none' });
    assert.deepEqual(o.status, { action: 'none' });
    assert.deepEqual(o.events, []);
  });
  it('§10.9: a stale DaemonSet of a Service that now has a class is deleted', () => {
    const o = one({ services: [svc('web', { loadBalancerClass: 'x.io/y' })], daemonSets: [existingDs(svc('web'))] });
    assert.deepEqual(o.daemonSet, { action: 'delete', name: 'svclb-web-35a5ccb3' });
    assert.deepEqual(o.status, { action: 'none' });
  });
  it('§10.15: SRC_RANGES is sorted, so the same ranges in another order give the same DaemonSet', () => {
    const a = appliedDs(one({ services: [svc('web', { sourceRanges: ['192.168.0.0/16', '10.0.0.0/8'] })] }));
    const b = appliedDs(one({ services: [svc('web', { sourceRanges: ['10.0.0.0/8', '192.168.0.0/16'] })] }));
    assert.deepEqual(a, b);
    assert.equal(a.spec!.template!.spec!.containers![0]!.env[1]!.value, '10.0.0.0/8,192.168.0.0/16');
  });
  it('§10.16: AppliedDaemonSet is emitted only after a successful apply (timing afterApply), never for an invalid Service', () => {
    const ok = one({ services: [svc('web')] });
    assert.equal(ok.events.find((e) => e.reason === 'AppliedDaemonSet')!.when, 'afterApply');
    const bad = one({ services: [svc('web', { annotations: { [names.tolerationsAnnotation]: '{' } })] });
    assert.ok(!bad.events.some((e) => e.reason === 'AppliedDaemonSet'));
  });
  it('§6 ipMode caveat: every ingress entry carries ipMode VIP explicitly', () => {
    const web = svc('web', { ipFamilies: ['IPv4', 'IPv6'] });
    const o = one({ services: [web], nodes: [node('n1', { internal: ['10.0.0.1', 'fd00::1'] })], pods: [svclbPod(web, 'n1')] });
    assert.deepEqual(desired(o).loadBalancer.ingress!.map((e) => e.ipMode), ['VIP', 'VIP']);
  });
  it('§10.12: excluded nodes are kept off by affinity and never listed in ingress, even with a Ready pod', () => {
    const web = svc('web');
    const ns = [node('n1', { internal: ['10.0.0.1'], labels: { [EXCLUDE]: 'true' } }), node('n2', { internal: ['10.0.0.2'] })];
    const o = one({ services: [web], nodes: ns, pods: [svclbPod(web, 'n1'), svclbPod(web, 'n2')] });
    assert.deepEqual(ingressIPs(o), ['10.0.0.2']);
  });
  it('§10.8: a node address change alone changes the ingress on the next reconcile', () => {
    const web = svc('web');
    const a = one({ services: [web], nodes: [node('n1', { internal: ['10.0.0.1'] })], pods: [svclbPod(web, 'n1')] });
    const b = one({ services: [web], nodes: [node('n1', { internal: ['10.0.0.1'], external: ['203.0.113.7'] })], pods: [svclbPod(web, 'n1')] });
    assert.deepEqual([ingressIPs(a), ingressIPs(b)], [['10.0.0.1'], ['203.0.113.7']]);
  });
});

describe('determinism', () => {
  // A busy snapshot: many Services, nodes in allow-list mode with pools, pods in every state,
  // slices, existing and orphan DaemonSets, conflicts.
  function busy(): ServiceLBSnapshot {
    const services: Service[] = [];
    const nodes: Node[] = [];
    const pods: Pod[] = [];
    for (let i = 0; i < 8; i++) {
      nodes.push(node(`node-${i}`, { internal: [`10.0.0.${i + 1}`, `fd00::${i + 1}`], ...(i % 3 === 0 ? { external: [`203.0.113.${i + 1}`] } : {}), labels: { [names.enableLbLabel]: i < 6 ? 'true' : 'false', [names.lbPoolLabel]: `pool${i % 2}` } }));
    }
    for (let i = 0; i < 12; i++) {
      const s = svc(`svc-${i}`, {
        namespace: `ns-${i % 3}`,
        uid: `${String(i).padStart(8, '0')}-uid`,
        ports: [{ port: 80 + (i % 4), protocol: i % 5 === 0 ? 'UDP' : 'TCP', nodePort: 30000 + i }],
        ipFamilies: i % 2 ? ['IPv4', 'IPv6'] : ['IPv4'],
        etp: i % 4 === 0 ? 'Local' : 'Cluster',
        labels: { [names.lbPoolLabel]: `pool${i % 2}` },
        sourceRanges: i % 3 === 0 ? ['192.168.0.0/16', '10.0.0.0/8'] : [],
      });
      services.push(s);
      for (let n = 0; n < 8; n++) if ((n + i) % 3 !== 0) pods.push(svclbPod(s, `node-${n}`, { ready: (n + i) % 4 !== 0 }));
    }
    return {
      services,
      nodes,
      pods,
      endpointSlices: services.map((s, i) => slice(s, [{ node: `node-${i % 8}` }, { node: `node-${(i + 3) % 8}`, ready: null }])),
      daemonSets: [existingDs(svc('gone', { uid: 'deadbeef-0000' }))],
    };
  }

  it('the same snapshot in any order gives identical output (property over 25 shuffles)', () => {
    const s = busy();
    const want = reconcile(s, config, NOW);
    const wantText = renderOutcomes(want);
    for (let seed = 1; seed <= 25; seed++) {
      const shuffledSnap: ServiceLBSnapshot = {
        services: shuffled(s.services, seed),
        nodes: shuffled(s.nodes, seed + 100),
        pods: shuffled(s.pods, seed + 200),
        endpointSlices: shuffled(s.endpointSlices, seed + 300),
        daemonSets: shuffled(s.daemonSets, seed + 400),
      };
      const got = reconcile(shuffledSnap, config, NOW);
      assert.deepEqual(got, want, `seed ${seed}`);
      assert.equal(renderOutcomes(got), wantText);
    }
    assert.deepEqual(want.orphans, ['svclb-gone-deadbeef']);
  });

  it('render output is byte-identical for any order of the snapshot objects', () => {
    const s = busy();
    const all = [...s.services, ...s.nodes, ...s.pods, ...s.endpointSlices, ...s.daemonSets];
    const want = streamText(renderServiceLB(all, config, { now: NOW }).documents);
    for (let seed = 1; seed <= 10; seed++) assert.equal(streamText(renderServiceLB(shuffled(all, seed), config, { now: NOW }).documents), want);
  });

  it('every emitted DaemonSet and status has its keys in canonical order (no sorting copy is made)', () => {
    const r = reconcile(busy(), config, NOW);
    const tolerating = svc('tol', { uid: '12345678-x', annotations: { [names.tolerationsAnnotation]: '[{"value":"v","key":"k","tolerationSeconds":5,"effect":"NoExecute","operator":"Equal"}]' }, etp: 'Local', ipFamilies: ['IPv6', 'IPv4'] });
    const extra = reconcile(snap({ services: [tolerating], nodes: [node('n1', { labels: { [names.enableLbLabel]: 'true' } })] }), config, NOW);
    for (const o of [...r.services, ...extra.services]) {
      if (o.daemonSet.action === 'apply') assert.ok(isCanonical(o.daemonSet.daemonSet), `${o.key} DaemonSet`);
      if (o.status.action !== 'none') assert.ok(isCanonical(o.status.status), `${o.key} status`);
    }
    assert.equal(extra.services[0]!.daemonSet.action, 'apply');
  });

  it('DaemonSet names are stable: a function of Service name and UID only', () => {
    assert.equal(daemonSetName('web', UID), appliedDs(one({ services: [svc('web')] })).metadata!.name);
  });
});

describe('finalizer plan: the core decides, the shell executes in order', () => {
  const LEGACY = names.legacyFinalizer;
  const none = { removeFirst: [], add: [], removeLast: [] };
  const cases: { name: string; service: Service; want: ServiceOutcome['finalizers'] }[] = [
    { name: 'a new LoadBalancer Service gets the cleanup finalizer first', service: svc('web'), want: { removeFirst: [], add: [FIN], removeLast: [] } },
    { name: 'a served Service that has it: nothing to write', service: svc('web', { finalizers: [FIN] }), want: none },
    { name: "K3s's legacy finalizer is removed before anything else", service: svc('web', { finalizers: [LEGACY, FIN] }), want: { removeFirst: [LEGACY], add: [], removeLast: [] } },
    { name: 'a Service being deleted: the cleanup finalizer goes last', service: svc('web', { finalizers: [FIN], deletionTimestamp: NOW }), want: { removeFirst: [], add: [], removeLast: [FIN] } },
    { name: 'type changed to ClusterIP: the cleanup finalizer goes last', service: svc('web', { type: 'ClusterIP', finalizers: [FIN] }), want: { removeFirst: [], add: [], removeLast: [FIN] } },
    { name: 'spec.loadBalancerClass: ServiceLB never writes to it, not even its finalizer', service: svc('web', { loadBalancerClass: 'other.io/lb', finalizers: [FIN] }), want: none },
    { name: 'a ClusterIP Service never seen by ServiceLB: nothing', service: svc('web', { type: 'ClusterIP' }), want: none },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(one({ services: [c.service], nodes: [node('n1', { internal: ['10.0.0.1'] })] }).finalizers, c.want);
    });
  }
  it('a Service that no longer exists: no finalizer writes', () => {
    const index = buildIndex(snap({}), config);
    assert.deepEqual(reconcileKey(index, 'default/gone', NOW).finalizers, none);
  });
});
