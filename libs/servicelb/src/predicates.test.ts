import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { needsCleanup, needsDaemonSetUpdate, needsEndpointSlices, needsUpdate, wantsLoadBalancer } from './predicates.ts';
import { names, svc, type SvcOptions } from './testing/index.ts';
import type { Service } from './types.ts';

const FIN = 'service.kubernetes.io/load-balancer-cleanup';

describe('wantsLoadBalancer / needsCleanup (spec §4.1)', () => {
  it('a LoadBalancer Service without class wants a load balancer', () => assert.equal(wantsLoadBalancer(svc('a')), true));
  it('a Service with loadBalancerClass does not', () => assert.equal(wantsLoadBalancer(svc('a', { loadBalancerClass: 'metallb.io/x' })), false));
  it('a ClusterIP Service does not', () => assert.equal(wantsLoadBalancer(svc('a', { type: 'ClusterIP' })), false));
  const cleanup: { name: string; o: SvcOptions; want: boolean }[] = [
    { name: 'no finalizer: never', o: { type: 'ClusterIP', deletionTimestamp: '2026-01-01T00:00:00Z' }, want: false },
    { name: 'finalizer and deletion timestamp', o: { finalizers: [FIN], deletionTimestamp: '2026-01-01T00:00:00Z' }, want: true },
    { name: 'finalizer and type changed away from LoadBalancer', o: { finalizers: [FIN], type: 'NodePort' }, want: true },
    { name: 'finalizer on a live LoadBalancer Service', o: { finalizers: [FIN] }, want: false },
  ];
  for (const c of cleanup) it(`needsCleanup: ${c.name}`, () => assert.equal(needsCleanup(svc('a', c.o)), c.want));
});

describe('needsEndpointSlices', () => {
  const cases: { name: string; o: SvcOptions; want: boolean }[] = [
    { name: 'a live Local LoadBalancer Service', o: { etp: 'Local', finalizers: [FIN] }, want: true },
    { name: 'a Cluster LoadBalancer Service', o: { etp: 'Cluster', finalizers: [FIN] }, want: false },
    // The kind finding: namespace deletion removed the pods and EndpointSlices first, the Service
    // then stayed Terminating because its cleanup waited for an EndpointSlice cache nobody started.
    { name: 'a Local Service being deleted (its cleanup reads no endpoints)', o: { etp: 'Local', finalizers: [FIN], deletionTimestamp: '2026-01-01T00:00:00Z' }, want: false },
    { name: 'a Local Service with loadBalancerClass', o: { etp: 'Local', loadBalancerClass: 'metallb.io/x' }, want: false },
    { name: 'a NodePort Service with Local policy', o: { etp: 'Local', type: 'NodePort' }, want: false },
  ];
  for (const c of cases) it(`${c.name}: ${c.want}`, () => assert.equal(needsEndpointSlices(svc('a', c.o)), c.want));
});

describe('needsUpdate (upstream rules, spec §4.1)', () => {
  const base = svc('a', { annotations: { x: '1' }, labels: { [names.lbPoolLabel]: 'p1' } });
  const withSpec = (patch: Record<string, unknown>): Service => ({ ...base, spec: { ...base.spec, ...patch } });
  const withMeta = (patch: Record<string, unknown>): Service => ({ ...base, metadata: { ...base.metadata, ...patch } });
  const cases: { name: string; next: Service; want: boolean; old?: Service }[] = [
    { name: 'identical Services: no', next: base, want: false },
    { name: 'neither wants a load balancer: no, whatever changed', old: svc('a', { type: 'ClusterIP' }), next: svc('a', { type: 'ClusterIP', ports: [{ port: 1 }] }), want: false },
    { name: 'type changed to LoadBalancer: yes', old: svc('a', { type: 'ClusterIP' }), next: base, want: true },
    { name: 'loadBalancerClass set: yes (wantsLoadBalancer flips)', next: withSpec({ loadBalancerClass: 'x/y' }), want: true },
    { name: 'source ranges changed: yes', next: withSpec({ loadBalancerSourceRanges: ['10.0.0.0/8'] }), want: true },
    { name: 'port number changed: yes', next: withSpec({ ports: [{ name: 'http', protocol: 'TCP', port: 81, targetPort: 8080, nodePort: 30080 }] }), want: true },
    { name: 'targetPort changed: yes', next: withSpec({ ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 9090, nodePort: 30080 }] }), want: true },
    { name: 'appProtocol changed: yes', next: withSpec({ ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080, appProtocol: 'http' }] }), want: true },
    { name: 'sessionAffinity changed: yes', next: withSpec({ sessionAffinity: 'ClientIP' }), want: true },
    { name: 'sessionAffinityConfig changed: yes', next: withSpec({ sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }), want: true },
    { name: 'loadBalancerIP changed: yes', next: withSpec({ loadBalancerIP: '1.2.3.4' }), want: true },
    { name: 'externalIPs changed: yes', next: withSpec({ externalIPs: ['1.2.3.4'] }), want: true },
    { name: 'an annotation changed: yes', next: withMeta({ annotations: { x: '2' } }), want: true },
    { name: 'UID changed: yes', next: withMeta({ uid: 'other' }), want: true },
    { name: 'externalTrafficPolicy changed: yes', next: withSpec({ externalTrafficPolicy: 'Local' }), want: true },
    { name: 'healthCheckNodePort changed: yes', next: withSpec({ healthCheckNodePort: 32000 }), want: true },
    { name: 'number of ipFamilies changed: yes', next: withSpec({ ipFamilies: ['IPv4', 'IPv6'] }), want: true },
    { name: 'a label changed: NO (upstream ignores labels, K3s §10.3)', next: withMeta({ labels: { [names.lbPoolLabel]: 'p2' } }), want: false },
    { name: 'status changed: no', next: { ...base, status: { loadBalancer: { ingress: [{ ip: '1.1.1.1' }] } } }, want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(needsUpdate(c.old ?? base, c.next), c.want));

  it('Portico fix for K3s §10.3: needsDaemonSetUpdate sees an lbpool label change', () => {
    assert.equal(needsDaemonSetUpdate(base, withMeta({ labels: { [names.lbPoolLabel]: 'p2' } }), names), true);
  });
  it('needsDaemonSetUpdate ignores other label changes', () => {
    assert.equal(needsDaemonSetUpdate(base, withMeta({ labels: { [names.lbPoolLabel]: 'p1', team: 'x' } }), names), false);
  });
  it('needsDaemonSetUpdate sees an ipFamilies order change (sysctl order)', () => {
    const a = svc('a', { ipFamilies: ['IPv4', 'IPv6'] });
    const b = { ...a, spec: { ...a.spec, ipFamilies: ['IPv6', 'IPv4'] } };
    assert.equal(needsUpdate(a, b), false);
    assert.equal(needsDaemonSetUpdate(a, b, names), true);
  });
});
