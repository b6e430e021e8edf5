import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, serviceLBConfig, validateConfig } from './config.ts';
import { snapshotFromObjects } from './reconcile.ts';

describe('config', () => {
  it('defaults are K3s\'s (kube-system, klipper-lb image, system-node-critical, k3s, not rootless)', () => {
    assert.deepEqual(DEFAULT_CONFIG, { namespace: 'kube-system', image: 'rancher/klipper-lb:v0.4.17', defaultPriorityClassName: 'system-node-critical', program: 'k3s', rootless: false, forwardingMode: 'sysctls' });
    assert.deepEqual(validateConfig(DEFAULT_CONFIG), []);
  });
  it('overrides apply and the result is frozen', () => {
    const c = serviceLBConfig({ namespace: 'lb', rootless: true });
    assert.equal(c.namespace, 'lb');
    assert.equal(c.rootless, true);
    assert.ok(Object.isFrozen(c));
  });
  it('every bad field is reported with its value', () => {
    const problems = validateConfig(serviceLBConfig({ namespace: 'Bad_NS', image: ' ', defaultPriorityClassName: 'No!', program: 'K3S' }));
    assert.deepEqual(problems.map((p) => [p.field, p.value]), [['namespace', 'Bad_NS'], ['image', ' '], ['defaultPriorityClassName', 'No!'], ['program', 'K3S']]);
  });
  it('forwardingMode: sysctls or init-container; init-container refuses klipper-lb, which has no enable-forwarding command', () => {
    assert.deepEqual(validateConfig(serviceLBConfig({ forwardingMode: 'init-container', image: 'ghcr.io/portico/lb-forwarder:0.1.0' })), []);
    assert.deepEqual(validateConfig(serviceLBConfig({ forwardingMode: 'bogus' as never })).map((p) => [p.field, p.value]), [['forwardingMode', 'bogus']]);
    const klipper = validateConfig(serviceLBConfig({ forwardingMode: 'init-container' }));
    assert.deepEqual(klipper.map((p) => p.field), ['forwardingMode']);
    assert.match(klipper[0]!.reason, /klipper-lb/);
    assert.deepEqual(validateConfig(serviceLBConfig({ forwardingMode: 'init-container', image: 'registry.local/mirror/klipper-lb@sha256:00' })).length, 1);
  });
  it('an empty default priority class is allowed', () => assert.deepEqual(validateConfig(serviceLBConfig({ defaultPriorityClassName: '' })), []));
});

describe('snapshotFromObjects', () => {
  it('sorts objects by kind, flattens kubectl Lists and typed API lists, ignores other kinds', () => {
    const s = snapshotFromObjects([
      { kind: 'List', items: [{ kind: 'Service', metadata: { name: 'a' } }, { kind: 'ConfigMap' }] },
      { kind: 'NodeList', apiVersion: 'v1', items: [{ metadata: { name: 'n1' } }, { metadata: { name: 'n2' } }] },
      { kind: 'Pod', metadata: { name: 'p' } },
      { kind: 'EndpointSlice', metadata: { name: 'e' } },
      { kind: 'DaemonSetList', items: [{ metadata: { name: 'd' } }] },
      null,
      'text',
    ]);
    assert.deepEqual(
      [s.services, s.nodes, s.pods, s.endpointSlices, s.daemonSets].map((l) => l.map((o) => o.metadata?.name)),
      [['a'], ['n1', 'n2'], ['p'], ['e'], ['d']],
    );
  });
});
