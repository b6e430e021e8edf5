import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { ingressChangedEvent } from './events.ts';
import { ConditionReason, ingressEqual, LOAD_BALANCER_READY_CONDITION, readyCondition, statusEqual } from './status.ts';
import type { DesiredServiceStatus } from './api.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-02-02T00:00:00Z';

describe('ingressEqual', () => {
  it('absent ipMode on an IP entry equals VIP (what the API server defaults)', () => assert.equal(ingressEqual([{ ip: '1.1.1.1' }], [{ ip: '1.1.1.1', ipMode: 'VIP' }]), true));
  it('Proxy differs from VIP', () => assert.equal(ingressEqual([{ ip: '1.1.1.1', ipMode: 'Proxy' }], [{ ip: '1.1.1.1', ipMode: 'VIP' }]), false));
  it('order matters', () => assert.equal(ingressEqual([{ ip: 'a' }, { ip: 'b' }], [{ ip: 'b' }, { ip: 'a' }]), false));
  it('undefined equals empty', () => assert.equal(ingressEqual(undefined, []), true));
  it('extra ports differ', () => assert.equal(ingressEqual([{ ip: 'a', ports: [{ port: 1, protocol: 'TCP' }] }], [{ ip: 'a' }]), false));
});

describe('readyCondition and statusEqual', () => {
  const cond = readyCondition(undefined, true, ConditionReason.IngressAssigned, 'm', T0, 3);
  it('a new condition takes now as lastTransitionTime', () => assert.equal(cond.lastTransitionTime, T0));
  it('keeps lastTransitionTime while status stays the same, even if reason/message change', () => {
    assert.equal(readyCondition(cond, true, ConditionReason.IngressAssigned, 'other', T1, 3).lastTransitionTime, T0);
  });
  it('takes now when the status flips', () => assert.equal(readyCondition(cond, false, ConditionReason.PodsNotReady, 'm', T1, 3).lastTransitionTime, T1));
  it('has the Portico condition type and observedGeneration', () => {
    assert.equal(cond.type, 'portico.io/LoadBalancerReady');
    assert.equal(cond.observedGeneration, 3);
  });
  const desired: DesiredServiceStatus = { loadBalancer: { ingress: [{ ip: '1.1.1.1', ipMode: 'VIP' }] }, conditions: [cond] };
  it('equal when only lastTransitionTime differs', () => {
    assert.equal(statusEqual({ loadBalancer: { ingress: [{ ip: '1.1.1.1' }] }, conditions: [{ ...cond, lastTransitionTime: T1 }] }, desired), true);
  });
  it('other controllers\' conditions are ignored', () => {
    assert.equal(statusEqual({ loadBalancer: { ingress: [{ ip: '1.1.1.1' }] }, conditions: [{ type: 'Other', status: 'False', reason: 'X', message: '', lastTransitionTime: T0 }, cond] }, desired), true);
  });
  it('a missing Portico condition differs', () => assert.equal(statusEqual({ loadBalancer: { ingress: [{ ip: '1.1.1.1' }] } }, desired), false));
  it('a changed message differs', () => assert.equal(statusEqual({ loadBalancer: desired.loadBalancer, conditions: [{ ...cond, message: 'x' }] }, desired), false));
  it('a changed ingress differs', () => assert.equal(statusEqual({ loadBalancer: { ingress: [] }, conditions: [cond] }, desired), false));
  it('a desired status without condition differs from one that has it (cleanup)', () => {
    assert.equal(statusEqual({ conditions: [cond] }, { loadBalancer: {}, conditions: [] }), false);
    assert.equal(statusEqual({ conditions: [{ ...cond, type: 'Other' }] }, { loadBalancer: {}, conditions: [] }), true);
  });
  it('LOAD_BALANCER_READY_CONDITION is the labels constant', () => assert.equal(LOAD_BALANCER_READY_CONDITION, 'portico.io/LoadBalancerReady'));
});

describe('ingress events (K3s message formats, spec §9.1)', () => {
  it('UpdatedLoadBalancer prints both lists Go-style', () => {
    assert.deepEqual(ingressChangedEvent([{ ip: '1.1.1.1' }, { hostname: 'lb.example' }], [{ ip: '2.2.2.2' }, { ip: '3.3.3.3' }]), {
      type: 'Normal',
      reason: 'UpdatedLoadBalancer',
      message: 'Updated LoadBalancer with new IPs: [1.1.1.1 lb.example] -> [2.2.2.2 3.3.3.3]',
      when: 'afterStatusPatch',
    });
  });
  it('an empty new ingress is UnAvailableLoadBalancer', () => {
    assert.deepEqual(ingressChangedEvent([{ ip: '1.1.1.1' }], []), { type: 'Warning', reason: 'UnAvailableLoadBalancer', message: 'There are no available nodes for LoadBalancer', when: 'afterStatusPatch' });
  });
});
