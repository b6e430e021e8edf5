import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { programNames } from '@portico/labels';
import { applyProvidedNodeIPs, instanceExists, instanceMetadata, instanceShutdown, isDnsName, nodeOutcome, SYNCED_MESSAGE, type CcmNode, type NodeAddress } from './instances.ts';

// Every address case of spec §8.1/§8.3 plus Portico's any-cluster fallback and value checks.

const names = programNames();
const TAINT = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' };
const REASONS = { invalid: 'InvalidAnnotation', noAddress: 'NoUsableAddress', synced: 'Synced' };

interface NodeOpts {
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  addresses?: NodeAddress[];
  tainted?: boolean;
  taints?: { key: string; value?: string; effect: string }[];
  providerID?: string;
  ready?: boolean;
}
function node(o: NodeOpts = {}, name = 'n1'): CcmNode {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: o.annotations ?? {}, labels: o.labels ?? {} },
    spec: { ...(o.providerID ? { providerID: o.providerID } : {}), taints: [...(o.tainted === false ? [] : [TAINT]), ...(o.taints ?? [])] },
    status: { addresses: o.addresses ?? [], conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}
const addrs = (n: CcmNode): string[] => {
  const m = instanceMetadata(n, names);
  assert.ok(m.ok, JSON.stringify(m));
  return m.addresses.map((a) => `${a.type}=${a.address}`);
};

describe('instanceMetadata: K3s annotations and labels (spec §8.1)', () => {
  const cases: { name: string; n: NodeOpts; want: string[] }[] = [
    { name: 'single-stack internal IP and hostname', n: { annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/hostname': 'n1' } }, want: ['InternalIP=10.0.0.1', 'Hostname=n1'] },
    {
      name: 'dual-stack internal and external, comma-separated, in the given order',
      n: { annotations: { 'k3s.io/internal-ip': 'fd00::1,10.0.0.1', 'k3s.io/external-ip': '203.0.113.1,2001:db8::1', 'k3s.io/hostname': 'n1' } },
      want: ['InternalIP=fd00::1', 'InternalIP=10.0.0.1', 'ExternalIP=203.0.113.1', 'ExternalIP=2001:db8::1', 'Hostname=n1'],
    },
    {
      name: 'DNS names: internal and external DNS come after the IPs, before the hostname',
      n: { annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/internal-dns': 'n1.internal,n1.lan', 'k3s.io/external-dns': 'n1.example.com', 'k3s.io/hostname': 'n1' } },
      want: ['InternalIP=10.0.0.1', 'InternalDNS=n1.internal', 'InternalDNS=n1.lan', 'ExternalDNS=n1.example.com', 'Hostname=n1'],
    },
    { name: 'legacy labels (single values) when there is no annotation', n: { labels: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/external-ip': '203.0.113.1', 'k3s.io/hostname': 'n1' } }, want: ['InternalIP=10.0.0.1', 'ExternalIP=203.0.113.1', 'Hostname=n1'] },
    {
      name: 'the annotation wins over the legacy label (conflicting sources)',
      n: { annotations: { 'k3s.io/internal-ip': '10.0.0.2', 'k3s.io/hostname': 'new' }, labels: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/hostname': 'old' } },
      want: ['InternalIP=10.0.0.2', 'Hostname=new'],
    },
    { name: 'DNS keys have no label fallback', n: { annotations: { 'k3s.io/internal-ip': '10.0.0.1' }, labels: { 'k3s.io/internal-dns': 'x.lan', 'k3s.io/external-dns': 'y.example' } }, want: ['InternalIP=10.0.0.1'] },
    {
      name: 'no hostname annotation: the kubelet Hostname address is kept (upstream)',
      n: { annotations: { 'k3s.io/internal-ip': '10.0.0.1' }, addresses: [{ type: 'Hostname', address: 'kubelet-name' }, { type: 'InternalIP', address: '172.16.0.9' }] },
      want: ['InternalIP=10.0.0.1', 'Hostname=kubelet-name'],
    },
    { name: 'entries are trimmed and empty entries dropped', n: { annotations: { 'k3s.io/internal-ip': ' 10.0.0.1 , ,fd00::1,' } }, want: ['InternalIP=10.0.0.1', 'InternalIP=fd00::1'] },
    { name: 'exact duplicates are written once', n: { annotations: { 'k3s.io/internal-ip': '10.0.0.1,10.0.0.1', 'k3s.io/external-ip': '10.0.0.1' } }, want: ['InternalIP=10.0.0.1', 'ExternalIP=10.0.0.1'] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(addrs(node(c.n)), c.want));

  it('provider ID k3s://<node> unless one is set; instance type k3s unless labelled; region and zone from the labels', () => {
    const m = instanceMetadata(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1' } }), names);
    assert.ok(m.ok);
    assert.deepEqual([m.providerID, m.instanceType, m.region, m.zone, m.source], ['k3s://n1', 'k3s', '', '', 'k3s']);
    const set = instanceMetadata(
      node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1' }, providerID: 'aws:///eu-west-1a/i-1', labels: { 'node.kubernetes.io/instance-type': 'm5.large', 'topology.kubernetes.io/region': 'eu-west-1', 'topology.kubernetes.io/zone': 'eu-west-1a' } }),
      names,
    );
    assert.ok(set.ok);
    assert.deepEqual([set.providerID, set.instanceType, set.region, set.zone], ['aws:///eu-west-1a/i-1', 'm5.large', 'eu-west-1', 'eu-west-1a']);
  });

  it('the program name comes from libs/labels: rke2 reads rke2.io/* and writes rke2://', () => {
    const rke2 = programNames('rke2');
    const m = instanceMetadata(node({ annotations: { 'rke2.io/internal-ip': '10.0.0.7', 'k3s.io/internal-ip': '10.9.9.9' } }), rke2);
    assert.ok(m.ok);
    assert.deepEqual([m.providerID, m.instanceType, m.addresses.map((a) => a.address)], ['rke2://n1', 'rke2', ['10.0.0.7']]);
  });
});

describe('instanceMetadata: bad values are reported and left out, never written', () => {
  it('an invalid IP entry is dropped with a problem naming the annotation and its value', () => {
    const m = instanceMetadata(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1,10.0.0.300', 'k3s.io/external-ip': 'not-an-ip', 'k3s.io/internal-dns': 'bad_name!' } }), names);
    assert.ok(m.ok);
    assert.deepEqual(m.addresses, [{ type: 'InternalIP', address: '10.0.0.1' }]);
    assert.deepEqual(
      m.problems.map((p) => `${p.field}=${p.value}: ${p.reason}`),
      [
        'annotation k3s.io/internal-ip=10.0.0.1,10.0.0.300: "10.0.0.300" is not an IP address',
        'annotation k3s.io/external-ip=not-an-ip: "not-an-ip" is not an IP address',
        'annotation k3s.io/internal-dns=bad_name!: "bad_name!" is not a DNS name',
      ],
    );
  });
  it('an internal-ip annotation with no valid entry falls back to the legacy label', () => {
    const m = instanceMetadata(node({ annotations: { 'k3s.io/internal-ip': 'garbage' }, labels: { 'k3s.io/internal-ip': '10.0.0.5' } }), names);
    assert.ok(m.ok);
    assert.deepEqual(m.addresses.map((a) => a.address), ['10.0.0.5']);
    assert.equal(m.problems.length, 1);
  });
  it('isDnsName', () => {
    for (const ok of ['n1', 'n1.example.com', 'A-b.c', 'x.']) assert.ok(isDnsName(ok), ok);
    for (const bad of ['', '-a', 'a_b', 'a..b', 'x'.repeat(254), 'a b']) assert.ok(!isDnsName(bad), bad);
  });
});

describe('instanceMetadata: alpha.kubernetes.io/provided-node-ip (the kubelet --node-ip)', () => {
  it('with K3s annotations: every provided IP must be among the addresses; matches first and alone in their type', () => {
    assert.deepEqual(
      addrs(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1,10.0.0.2,fd00::2', 'k3s.io/external-ip': '203.0.113.1', 'k3s.io/hostname': 'n1', 'alpha.kubernetes.io/provided-node-ip': '10.0.0.2,fd00::2' } })),
      ['InternalIP=10.0.0.2', 'InternalIP=fd00::2', 'ExternalIP=203.0.113.1', 'Hostname=n1'],
    );
  });
  it('with K3s annotations: a provided IP that is missing means no metadata, and the reason names it', () => {
    const m = instanceMetadata(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'alpha.kubernetes.io/provided-node-ip': '10.0.0.9' } }), names);
    assert.equal(m.ok, false);
    if (!m.ok) assert.match(m.reason, /alpha\.kubernetes\.io\/provided-node-ip 10\.0\.0\.9 .* not among the addresses/);
  });
  it('IPs compare by value (an IPv6 written differently still matches)', () => {
    const r = applyProvidedNodeIPs(['fd00:0::1'], [{ type: 'InternalIP', address: 'fd00::1' }]);
    assert.deepEqual(r, { ok: true, addresses: [{ type: 'InternalIP', address: 'fd00::1' }] });
  });
  it('without K3s keys (kubeadm, kind): the provided IPs become the InternalIPs; other existing addresses follow', () => {
    const m = instanceMetadata(
      node({ annotations: { 'alpha.kubernetes.io/provided-node-ip': '172.18.0.3,fc00:f853::3' }, addresses: [{ type: 'InternalIP', address: '172.18.0.99' }, { type: 'Hostname', address: 'kind-worker' }] }),
      names,
    );
    assert.ok(m.ok);
    assert.equal(m.source, 'provided-node-ip');
    assert.deepEqual(m.addresses.map((a) => `${a.type}=${a.address}`), ['InternalIP=172.18.0.3', 'InternalIP=fc00:f853::3', 'Hostname=kind-worker']);
    assert.equal(m.providerID, 'k3s://n1');
  });
});

describe('instanceMetadata: the plain-cluster fallback and no usable address', () => {
  it('no K3s keys, no provided-node-ip: the addresses already on the Node, unchanged', () => {
    const existing = [{ type: 'InternalIP', address: '10.1.0.4' }, { type: 'Hostname', address: 'w1' }];
    const m = instanceMetadata(node({ addresses: existing }), names);
    assert.ok(m.ok);
    assert.equal(m.source, 'node-status');
    assert.deepEqual(m.addresses, existing);
  });
  it('nothing usable (only a Hostname, or nothing): no metadata, and the reason names every source', () => {
    for (const addresses of [[], [{ type: 'Hostname', address: 'w1' }], [{ type: 'InternalIP', address: 'nope' }]]) {
      const m = instanceMetadata(node({ addresses }), names);
      assert.equal(m.ok, false);
      if (!m.ok) assert.equal(m.reason, 'no usable address: no valid k3s.io/internal-ip annotation or label, no valid alpha.kubernetes.io/provided-node-ip annotation, and no InternalIP or ExternalIP in status.addresses');
    }
  });
});

describe('InstanceExists / InstanceShutdown (spec §8.2)', () => {
  it('always exists, never shut down', () => {
    assert.equal(instanceExists(node()), true);
    assert.equal(instanceShutdown(node({ ready: false })), false);
  });
});

describe('nodeOutcome (spec §8.3)', () => {
  it('a tainted Node with K3s annotations: addresses, then one update with provider ID, labels and the taint removed, then Synced', () => {
    const n = node({
      annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/hostname': 'n1' },
      labels: { 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'r1' },
      taints: [{ key: 'other', effect: 'NoExecute' }],
    });
    const o = nodeOutcome(n, names, REASONS);
    assert.equal(o.state, 'initializing');
    assert.deepEqual(o.addresses, [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }]);
    assert.equal(o.update!.providerID, 'k3s://n1');
    assert.deepEqual(o.update!.taints, [{ key: 'other', effect: 'NoExecute' }], 'only the uninitialized taint goes');
    assert.deepEqual(o.update!.labels, {
      'node.kubernetes.io/instance-type': 'k3s',
      'beta.kubernetes.io/instance-type': 'k3s',
      'failure-domain.beta.kubernetes.io/zone': 'z1',
      'failure-domain.beta.kubernetes.io/region': 'r1',
    });
    assert.deepEqual(o.events, [{ type: 'Normal', reason: 'Synced', message: SYNCED_MESSAGE, when: 'afterUpdate' }]);
  });
  it('no zone or region labels: none are set; an existing provider ID is kept', () => {
    const o = nodeOutcome(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1' }, providerID: 'kind://docker/kind/w1' }), names, REASONS);
    assert.deepEqual(o.update, { labels: { 'node.kubernetes.io/instance-type': 'k3s', 'beta.kubernetes.io/instance-type': 'k3s' }, taints: [] });
  });
  it('a kind node (provided-node-ip, provider ID kind://) keeps its provider ID and gets the instance-type labels and zone pair', () => {
    const o = nodeOutcome(
      node({
        annotations: { 'alpha.kubernetes.io/provided-node-ip': '172.18.0.5' },
        addresses: [{ type: 'InternalIP', address: '172.18.0.5' }, { type: 'Hostname', address: 'w3' }],
        labels: { 'topology.kubernetes.io/zone': 'z1' },
        providerID: 'kind://docker/kind/w3',
      }),
      names,
      REASONS,
    );
    assert.equal(o.state, 'initializing');
    assert.equal(o.addresses, undefined, 'addresses already right: no status write');
    assert.deepEqual(o.update, {
      labels: { 'node.kubernetes.io/instance-type': 'k3s', 'beta.kubernetes.io/instance-type': 'k3s', 'failure-domain.beta.kubernetes.io/zone': 'z1' },
      taints: [],
    });
  });
  it('a Node that was never tainted is not initialized (upstream): no provider ID or instance-type label is added', () => {
    const o = nodeOutcome(node({ tainted: false, annotations: { 'alpha.kubernetes.io/provided-node-ip': '172.18.0.5' }, addresses: [{ type: 'InternalIP', address: '172.18.0.5' }], providerID: 'kind://docker/kind/w3' }), names, REASONS);
    assert.deepEqual([o.state, o.update], ['initialized', undefined]);
  });
  it('a tainted Node with no usable address waits: no write, a Warning naming what is missing', () => {
    const o = nodeOutcome(node({ addresses: [{ type: 'Hostname', address: 'n1' }] }), names, REASONS);
    assert.equal(o.state, 'waiting');
    assert.equal(o.addresses, undefined);
    assert.equal(o.update, undefined);
    assert.equal(o.events.length, 1);
    assert.equal(o.events[0]!.reason, 'NoUsableAddress');
    assert.match(o.events[0]!.message, /stays tainted node\.cloudprovider\.kubernetes\.io\/uninitialized: no usable address: no valid k3s\.io\/internal-ip/);
  });
  it('bad values give InvalidAnnotation Warnings and do not stop initialization', () => {
    const o = nodeOutcome(node({ annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/external-ip': '1.2.3' } }), names, REASONS);
    assert.equal(o.state, 'initializing');
    assert.deepEqual(o.events.map((e) => `${e.type} ${e.reason}`), ['Warning InvalidAnnotation', 'Normal Synced']);
    assert.match(o.events[0]!.message, /Invalid annotation k3s\.io\/external-ip value "1\.2\.3": "1\.2\.3" is not an IP address/);
  });
  it('an initialized Node: annotation changes propagate to status.addresses; nothing else changes', () => {
    const n = node({ tainted: false, annotations: { 'k3s.io/internal-ip': '10.0.0.1', 'k3s.io/external-ip': '203.0.113.7' }, addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] });
    const o = nodeOutcome(n, names, REASONS);
    assert.equal(o.state, 'initialized');
    assert.deepEqual(o.addresses, [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'ExternalIP', address: '203.0.113.7' }]);
    assert.equal(o.update, undefined);
    assert.deepEqual(o.events, []);
  });
  it('an initialized Node whose addresses match: no write at all', () => {
    const o = nodeOutcome(node({ tainted: false, annotations: { 'k3s.io/internal-ip': '10.0.0.1' }, addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] }), names, REASONS);
    assert.deepEqual([o.addresses, o.update], [undefined, undefined]);
  });
  it('an initialized Node without any address source is left alone (no Warning: it is not waiting)', () => {
    const o = nodeOutcome(node({ tainted: false }), names, REASONS);
    assert.deepEqual([o.state, o.addresses, o.update, o.events], ['initialized', undefined, undefined, []]);
  });
  it('initialized: beta labels follow the GA ones (upstream label reconciliation)', () => {
    const o = nodeOutcome(node({ tainted: false, labels: { 'node.kubernetes.io/instance-type': 'big', 'beta.kubernetes.io/instance-type': 'small', 'topology.kubernetes.io/zone': 'z' } }), names, REASONS);
    assert.deepEqual(o.update, { labels: { 'beta.kubernetes.io/instance-type': 'big', 'failure-domain.beta.kubernetes.io/zone': 'z' } });
  });
  it('InstanceShutdown is false: a Ready Node loses a shutdown taint; a NotReady one keeps it', () => {
    const shut = { key: 'node.cloudprovider.kubernetes.io/shutdown', effect: 'NoSchedule' };
    const ready = nodeOutcome(node({ tainted: false, taints: [shut, { key: 'x', effect: 'NoSchedule' }] }), names, REASONS);
    assert.deepEqual(ready.update, { labels: {}, taints: [{ key: 'x', effect: 'NoSchedule' }] });
    const notReady = nodeOutcome(node({ tainted: false, ready: false, taints: [shut] }), names, REASONS);
    assert.equal(notReady.update, undefined);
  });
});
