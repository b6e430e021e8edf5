import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { ns, pod, policy } from './testing/index.ts';
import { NetpolRenderer, renderNetpol } from './render.ts';
import { toRestoreText } from './text.ts';
import type { NetpolSnapshot, NetworkPolicy } from './types.ts';
import { isolationPolicy, screenSnapshot, validateNetworkPolicy, validateNode, validatePod } from './validate.ts';

const NSS = [ns('x'), ns('y')];
const PODS = [pod('x', 'a', { ips: ['10.42.1.10'] }), pod('y', 'b', { node: 'n2', ips: ['10.42.2.10'] })];
const GOOD = policy('x', 'web', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] });
const BROKEN: NetworkPolicy = { ...GOOD, spec: { ...GOOD.spec, ingress: { ports: [{ port: 81 }] } as never } };
const snap = (networkPolicies: NetworkPolicy[]): NetpolSnapshot => ({ namespaces: NSS, pods: PODS, networkPolicies });
const text = (s: ReturnType<typeof renderNetpol>): string => s.families.map((f) => toRestoreText(f)).join('\n');

describe('validation (validate.ts)', () => {
  it('never throws, whatever the value', () => {
    for (const v of [null, undefined, 0, 'x', [], [1], {}, { metadata: null }, { metadata: { name: 5 } }, { metadata: { name: 'a' }, spec: [] }, Symbol('s'), () => 1, 10n]) {
      assert.ok(Array.isArray(validateNetworkPolicy(v)));
      assert.ok(Array.isArray(validatePod(v)));
    }
    const cyclic: Record<string, unknown> = { metadata: { name: 'c', namespace: 'x' } };
    cyclic['spec'] = { podSelector: { matchLabels: { a: cyclic } } };
    assert.ok(validateNetworkPolicy(cyclic).length > 0);
    assert.doesNotThrow(() => renderNetpol({ pods: 7, namespaces: 'x', networkPolicies: [cyclic] } as never, { nodeName: 'n1' }));
  });

  it('null elements of lists are reported, never read (found by the property test)', () => {
    const fields = (o: unknown, f: (x: unknown) => { field: string }[]) => f(o).map((p) => p.field);
    assert.deepEqual(fields({ metadata: { namespace: 'x', name: 'p' }, spec: { ingress: [null], egress: [{ to: [null], ports: [null] }] } }, validateNetworkPolicy), ['spec.ingress[0]', 'spec.egress[0].ports[0]', 'spec.egress[0].to[0]']);
    assert.deepEqual(fields({ metadata: { namespace: 'x', name: 'p' }, spec: { containers: [null, { ports: [null] }] }, status: { podIPs: [null] } }, validatePod), ['spec.containers[0]', 'spec.containers[1].ports[0]', 'status.podIPs[0]']);
    assert.deepEqual(fields({ metadata: { name: 'n' }, spec: { podCIDRs: [null] }, status: { addresses: [null] } }, validateNode), ['spec.podCIDRs[0]', 'status.addresses[0]']);
    for (const spec of [{ ingress: [null] }, { egress: [{ to: [null] }] }]) {
      assert.doesNotThrow(() => renderNetpol(snap([{ ...GOOD, spec: spec as never }]), { nodeName: 'n1' }));
    }
  });

  it('the isolation form keeps the namespace, a valid pod selector and the readable policy types, and has no rules', () => {
    assert.deepEqual(isolationPolicy(BROKEN)?.spec, { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] });
    assert.deepEqual(isolationPolicy({ metadata: { namespace: 'x', name: 'p' }, spec: { podSelector: 'a=b', policyTypes: 'Egress' } })?.spec, {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
    });
    assert.equal(isolationPolicy({ metadata: { namespace: 7, name: 'p' } }), undefined, 'no namespace to isolate');
  });

  it('an invalid object with the name of a valid one does not replace it', () => {
    const out = screenSnapshot(snap([GOOD, { ...BROKEN, metadata: { ...BROKEN.metadata, uid: 'z' } }]));
    assert.deepEqual(out.snapshot.networkPolicies, [GOOD]);
    assert.match(out.problems[0]!.message, /another object with this name is valid/);
  });
});

describe('NetpolRenderer keeps the last valid version of an object in force', () => {
  it('policy: the previous version stays, byte for byte, until a valid one arrives', () => {
    const r = new NetpolRenderer();
    const cfg = { nodeName: 'n1' };
    const first = text(r.render(snap([GOOD]), cfg));
    const bad = r.render(snap([BROKEN]), cfg);
    assert.equal(text(bad), first);
    assert.match(bad.problems.find((p) => p.reason === 'InvalidNetworkPolicy')!.message, /last valid version stays in force/);
    assert.equal(text(r.render(snap([BROKEN]), cfg)), first, 'and on the following syncs');
    // Without history (render/apply), the same input renders the isolation form: not the old allow.
    const pure = renderNetpol(snap([BROKEN]), cfg);
    assert.doesNotMatch(text(pure), /--dport 80/);
    assert.notEqual(text(pure), first);
    const fixed = policy('x', 'web', { ...GOOD.spec, ingress: [{ ports: [{ port: 81 }] }] });
    assert.match(text(r.render(snap([fixed]), cfg)), /--dport 81/);
  });

  it('a deleted and re-created (other uid) invalid policy gets the isolation form, not the old one', () => {
    const r = new NetpolRenderer();
    const cfg = { nodeName: 'n1' };
    r.render(snap([{ ...GOOD, metadata: { ...GOOD.metadata, uid: 'u1' } }]), cfg);
    const out = r.render(snap([{ ...BROKEN, metadata: { ...BROKEN.metadata, uid: 'u2' } }]), cfg);
    assert.match(out.problems.find((p) => p.reason === 'InvalidNetworkPolicy')!.message, /fail closed/);
    assert.equal(text(out), text(renderNetpol(snap([BROKEN]), cfg)));
  });

  it('pod: a pod turning invalid keeps its previous labels and address', () => {
    const r = new NetpolRenderer();
    const cfg = { nodeName: 'n1' };
    const deny = policy('x', 'd', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Ingress'] });
    const first = text(r.render(snap([deny]), cfg));
    const badPod = { ...PODS[0]!, metadata: { ...PODS[0]!.metadata, labels: 'pod=a' as never } };
    const out = r.render({ namespaces: NSS, pods: [badPod, PODS[1]!], networkPolicies: [deny] }, cfg);
    assert.equal(text(out), first);
    assert.ok(out.problems.some((p) => p.reason === 'InvalidObject' && p.field === 'metadata.labels'));
  });
});
