import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG, serviceLBConfig, validateConfig } from './config.ts';
import { snapshotFromObjects } from './reconcile.ts';

describe('config', () => {
  it('defaults are K3s\'s (kube-system, klipper-lb image, system-node-critical, k3s, not rootless)', () => {
    assert.deepEqual(DEFAULT_CONFIG, { namespace: 'kube-system', image: 'rancher/klipper-lb:v0.4.17', defaultPriorityClassName: 'system-node-critical', program: 'k3s', rootless: false });
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
