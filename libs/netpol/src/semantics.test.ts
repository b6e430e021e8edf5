import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Cluster, ns, pod, policy } from './testing/index.ts';
import { renderNetpol } from './render.ts';
import type { NetworkPolicy, Pod } from './types.ts';

/**
 * NetworkPolicy v1 semantics, one topic per test (spec section 3). Every expectation is checked on
 * both the rendered rules (through the simulator, on both nodes) and the oracle.
 */

const NSS = [ns('x', { team: 'a' }), ns('y', { team: 'b' }), ns('z', { team: 'b' })];
// n1: x/a, x/b, y/a ; n2: x/c, y/b, z/a
const PODS: Pod[] = [
  pod('x', 'a', { ips: ['10.42.1.10', 'fd00:42:1::a'], ports: [{ name: 'http', containerPort: 80 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
  pod('x', 'b', { ips: ['10.42.1.11', 'fd00:42:1::b'], ports: [{ name: 'http', containerPort: 81 }] }),
  pod('y', 'a', { ips: ['10.42.1.12', 'fd00:42:1::c'] }),
  pod('x', 'c', { node: 'n2', ips: ['10.42.2.10', 'fd00:42:2::a'] }),
  pod('y', 'b', { node: 'n2', ips: ['10.42.2.11', 'fd00:42:2::b'] }),
  pod('z', 'a', { node: 'n2', ips: ['10.42.2.12', 'fd00:42:2::c'] }),
];
const XA = '10.42.1.10';
const XB = '10.42.1.11';
const YA = '10.42.1.12';
const XC = '10.42.2.10';
const YB = '10.42.2.11';
const ZA = '10.42.2.12';
const EXT = '192.168.5.5';

function cluster(policies: NetworkPolicy[], pods: Pod[] = PODS): Cluster {
  return new Cluster({ namespaces: NSS, pods, networkPolicies: policies });
}

/** Asserts the verdict of each [src, dst, proto?, port?] on rules and oracle. */
function expect(c: Cluster, cases: [string, string, 'allow' | 'deny', ('TCP' | 'UDP' | 'SCTP')?, number?][]): void {
  for (const [s, d, want, proto = 'TCP', port = 80] of cases) {
    assert.deepEqual(c.both(s, d, proto, port), { rules: want, oracle: want }, `${s} -> ${d} ${proto}/${port}`);
  }
}

describe('NetworkPolicy semantics', () => {
  it('no policy: everything is allowed', () => {
    expect(cluster([]), [[XA, XB, 'allow'], [EXT, XC, 'allow'], [XA, EXT, 'allow'], [YB, XA, 'allow', 'SCTP', 9]]);
  });

  it('policyTypes absent: Ingress always, Egress only when egress rules exist', () => {
    const ingressOnly = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } } })]);
    expect(ingressOnly, [[XB, XA, 'deny'], [XA, XB, 'allow'], [XA, EXT, 'allow']]);
    const both = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, egress: [{ to: [{ podSelector: {} }] }] })]);
    expect(both, [[XB, XA, 'deny'], [XA, XB, 'allow'], [XA, EXT, 'deny']]);
    const egressOnly = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'] })]);
    expect(egressOnly, [[XB, XA, 'allow'], [XA, XB, 'deny']]);
  });

  it('ingress [] and absent deny all; [{}] allows all; from []/absent means every source', () => {
    expect(cluster([policy('x', 'p', { podSelector: {}, ingress: [] })]), [[XB, XA, 'deny'], [EXT, XA, 'deny']]);
    expect(cluster([policy('x', 'p', { podSelector: {}, ingress: [{}] })]), [[YB, XA, 'allow'], [EXT, XA, 'allow'], [XB, XA, 'allow', 'UDP', 5]]);
    expect(cluster([policy('x', 'p', { podSelector: {}, ingress: [{ from: [], ports: [] }] })]), [[EXT, XA, 'allow', 'SCTP', 7]]);
  });

  it('podSelector {} selects every pod of the namespace only', () => {
    expect(cluster([policy('x', 'p', { podSelector: {}, ingress: [] })]), [[YB, XA, 'deny'], [YB, XC, 'deny'], [XA, YA, 'allow'], [XA, ZA, 'allow']]);
  });

  it('peer podSelector alone: pods of the policy namespace', () => {
    const c = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })]);
    expect(c, [[XB, XA, 'allow'], [YB, XA, 'deny'], [XC, XA, 'deny']]);
  });

  it('namespaceSelector {} selects pods of all namespaces, not external addresses', () => {
    const c = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] })]);
    expect(c, [[YB, XA, 'allow'], [ZA, XA, 'allow'], [XC, XA, 'allow'], [EXT, XA, 'deny'], ['172.18.0.2', XA, 'deny']]);
  });

  it('namespaceSelector and podSelector in one peer are ANDed; in two peers ORed', () => {
    const and = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } }, podSelector: { matchLabels: { pod: 'a' } } }] }] })]);
    expect(and, [[YA, XA, 'allow'], [ZA, XA, 'allow'], [YB, XA, 'deny'], [XC, XA, 'deny']]);
    const or = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { pod: 'c' } } }] }] })]);
    expect(or, [[YA, XA, 'allow'], [YB, XA, 'allow'], [XC, XA, 'allow'], [XB, XA, 'deny']]);
  });

  it('matchExpressions: In, NotIn (absent key matches), Exists, DoesNotExist', () => {
    const pods = [...PODS.slice(0, 5), pod('z', 'a', { node: 'n2', ips: ['10.42.2.12'], labels: {} })];
    const mk = (e: { key: string; operator: string; values?: string[] }): Cluster =>
      cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchExpressions: [e] } }] }] })], pods);
    expect(mk({ key: 'pod', operator: 'In', values: ['b', 'c'] }), [[XB, XA, 'allow'], [YA, XA, 'deny'], [ZA, XA, 'deny']]);
    expect(mk({ key: 'pod', operator: 'NotIn', values: ['b'] }), [[XB, XA, 'deny'], [YA, XA, 'allow'], [ZA, XA, 'allow']]);
    expect(mk({ key: 'pod', operator: 'Exists' }), [[XB, XA, 'allow'], [ZA, XA, 'deny']]);
    expect(mk({ key: 'pod', operator: 'DoesNotExist' }), [[XB, XA, 'deny'], [ZA, XA, 'allow']]);
  });

  it('multiple policies and rules are a union', () => {
    const c = cluster([
      policy('x', 'p1', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 80 }] }] }),
      policy('x', 'p2', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'b' } } }], ports: [{ port: 81 }] }, { ports: [{ port: 53, protocol: 'UDP' }] }] }),
    ]);
    expect(c, [[XB, XA, 'allow', 'TCP', 80], [XB, XA, 'deny', 'TCP', 81], [YB, XA, 'allow', 'TCP', 81], [YB, XA, 'deny', 'TCP', 80], [EXT, XA, 'allow', 'UDP', 53], [EXT, XB, 'allow', 'UDP', 53], [XC, XB, 'deny', 'TCP', 80]]);
  });

  it('ports: numeric, protocol only, endPort ranges; TCP, UDP and SCTP are independent', () => {
    const c = cluster([policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { protocol: 'UDP' }, { protocol: 'SCTP', port: 1000, endPort: 1002 }] }] })]);
    expect(c, [
      [EXT, XA, 'allow', 'TCP', 80], [EXT, XA, 'deny', 'TCP', 81], [EXT, XA, 'allow', 'UDP', 9999],
      [EXT, XA, 'deny', 'SCTP', 80], [EXT, XA, 'allow', 'SCTP', 1000], [EXT, XA, 'allow', 'SCTP', 1002], [EXT, XA, 'deny', 'SCTP', 1003], [EXT, XA, 'deny', 'TCP', 1001],
    ]);
  });

  it('named ports resolve per destination pod and per protocol', () => {
    // x/a: http=80/TCP, dns=53/UDP; x/b: http=81/TCP.
    const c = cluster([policy('x', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }, { port: 'dns', protocol: 'UDP' }] }] })]);
    expect(c, [
      [EXT, XA, 'allow', 'TCP', 80], [EXT, XA, 'deny', 'TCP', 81], [EXT, XB, 'allow', 'TCP', 81], [EXT, XB, 'deny', 'TCP', 80],
      [EXT, XA, 'allow', 'UDP', 53], [EXT, XA, 'deny', 'TCP', 53], [EXT, XC, 'deny', 'TCP', 80],
    ]);
  });

  it('ipBlock with except applies to pod IPs and external addresses of its family only', () => {
    const c = cluster([policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.2.0/24'] } }] }] })]);
    expect(c, [[YA, XA, 'allow'], [YB, XA, 'deny'], [EXT, XA, 'deny'], ['10.42.7.7', XA, 'allow'], ['fd00:42:1::c', 'fd00:42:1::a', 'deny']]);
  });

  it('egress: to pods, to ipBlocks, to all; both directions must allow', () => {
    const c = cluster([
      policy('x', 'out', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { team: 'b' } } }] }, { to: [{ ipBlock: { cidr: '192.168.0.0/16' } }], ports: [{ port: 443 }] }] }),
      policy('y', 'in', { podSelector: { matchLabels: { pod: 'b' } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { pod: 'c' } } }] }] }),
    ]);
    expect(c, [[XA, YA, 'allow'], [XA, ZA, 'allow'], [XA, XB, 'deny'], [XA, EXT, 'deny', 'TCP', 80], [XA, EXT, 'allow', 'TCP', 443], [XA, YB, 'deny'], [XC, YB, 'allow']]);
  });

  it('host-network pods are never selected and never peers; their traffic carries the node address', () => {
    const pods = [...PODS, pod('x', 'host', { ips: ['172.18.0.1'], hostNetwork: true, labels: { pod: 'b' } }), pod('x', 'host2', { node: 'n2', ips: ['172.18.0.2'], hostNetwork: true, labels: { pod: 'b' } })];
    const c = cluster([policy('x', 'p', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }], egress: [{ to: [{ podSelector: {} }] }] })], pods);
    // Same-node host-network pod: node-local source, always accepted. Other node: not a pod peer.
    expect(c, [['172.18.0.1', XA, 'allow'], ['172.18.0.2', XA, 'deny'], [XB, XA, 'allow'], [XA, '172.18.0.2', 'deny']]);
    const fam = c.state('n1').families[0]!;
    assert.ok(!fam.ipsets.some((s) => s.entries.some((e) => e.addr === '172.18.0.1' || e.addr === '172.18.0.2')), 'host addresses in no set');
    assert.ok(!fam.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/host reject')), 'no pod chain for host-network pods');
  });

  it('pods without IPs and finished pods are ignored; terminating running pods still count', () => {
    const pods: Pod[] = [
      ...PODS,
      pod('x', 'pending', { ips: [], labels: { pod: 'b' } }),
      pod('x', 'done', { ips: ['10.42.1.50'], phase: 'Succeeded', labels: { pod: 'b' } }),
      pod('x', 'failed', { ips: ['10.42.1.51'], phase: 'Failed', labels: { pod: 'b' } }),
      { ...pod('x', 'leaving', { ips: ['10.42.1.52'], labels: { pod: 'b' } }), metadata: { namespace: 'x', name: 'leaving', labels: { pod: 'b' }, deletionTimestamp: '2026-01-01T00:00:00Z' } },
    ];
    const c = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })], pods);
    expect(c, [['10.42.1.50', XA, 'deny'], ['10.42.1.52', XA, 'allow']]);
    const fam = c.state('n1').families[0]!;
    const all = fam.ipsets.flatMap((s) => s.entries.map((e) => e.addr));
    assert.ok(!all.includes('10.42.1.50') && !all.includes('10.42.1.51'), 'finished pods in no set');
    assert.ok(all.includes('10.42.1.52'));
    assert.ok(fam.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/leaving reject')));
    assert.ok(!fam.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/pending reject' || r.comment === 'x/done reject')));
  });

  it('pods on other nodes are peers (in sets) but get no chain here; each node enforces its own pods', () => {
    const c = cluster([policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'c' } } }] }] })]);
    expect(c, [[XC, XA, 'allow'], [XC, XB, 'allow'], [YB, XC, 'deny'], [XA, XC, 'deny']]);
    const n1 = c.state('n1').families[0]!;
    assert.ok(n1.ipsets.some((s) => s.entries.some((e) => e.addr === XC)), 'remote peer in a set');
    assert.ok(!n1.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/c reject')), 'no chain for the remote pod');
  });

  it('dual-stack pods: each family separately; a single-stack pod has no chain in the other family', () => {
    const pods = [...PODS, pod('x', 'v4', { ips: ['10.42.1.60'], labels: { pod: 'b' } })];
    const c = cluster([policy('x', 'p', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }] }] })], pods);
    expect(c, [['fd00:42:1::b', 'fd00:42:1::a', 'allow'], ['fd00:42:1::c', 'fd00:42:1::a', 'deny'], [XB, XA, 'allow']]);
    const [v4, v6] = c.state('n1').families;
    assert.ok(v4!.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/v4 reject')));
    assert.ok(!v6!.chains.some((ch) => ch.rules.some((r) => r.comment === 'x/v4 reject')));
    assert.ok(v6!.ipsets.every((s) => s.name.startsWith('inet6:') && s.family === 'inet6'));
  });

  it('the node reaches its own pods (probes); pods reach node ports on their node despite egress policy', () => {
    const c = cluster([policy('x', 'p', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    expect(c, [['172.18.0.1', XA, 'allow'], [XA, '172.18.0.1', 'deny', 'TCP', 22], [XA, '172.18.0.1', 'allow', 'TCP', 30080], [XA, '172.18.0.2', 'deny', 'TCP', 30080]]);
  });
});

describe('invalid input is reported, never silently ignored', () => {
  const bad = (spec: NetworkPolicy['spec']): ReturnType<typeof renderNetpol> =>
    renderNetpol({ namespaces: NSS, pods: PODS, networkPolicies: [policy('x', 'bad', spec), policy('x', 'good', { podSelector: {}, ingress: [] })] }, { nodeName: 'n1' });
  const cases: [string, NetworkPolicy['spec'], string, string][] = [
    ['unknown operator', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] } }, 'spec.podSelector.matchExpressions[0].operator', 'Equals'],
    ['In without values', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }] }] }, 'spec.ingress[0].from[0].podSelector.matchExpressions[0].values', '[]'],
    ['Exists with values', { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }] }] }, 'spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values', '["x"]'],
    ['bad label value', { podSelector: { matchLabels: { app: 'no spaces allowed' } } }, 'spec.podSelector.matchLabels.app', 'no spaces allowed'],
    ['bad protocol', { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP', port: 1 }] }] }, 'spec.ingress[0].ports[0].protocol', 'ICMP'],
    ['port out of range', { podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }, 'spec.ingress[0].ports[0].port', '70000'],
    ['endPort below port', { podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }, 'spec.ingress[0].ports[0].endPort', '80'],
    ['endPort with a named port', { podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 80 }] }] }, 'spec.ingress[0].ports[0].endPort', '80'],
    ['bad CIDR', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr', '10.0.0.0/33'],
    ['except outside cidr', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }] }, 'spec.ingress[0].from[0].ipBlock.except[0]', '11.0.0.0/16'],
    ['ipBlock with selector', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }, 'spec.ingress[0].from[0]', 'ipBlock with podSelector/namespaceSelector'],
    ['empty peer', { podSelector: {}, ingress: [{ from: [{}] }] }, 'spec.ingress[0].from[0]', '{}'],
    ['bad policyType', { podSelector: {}, policyTypes: ['Both'] }, 'spec.policyTypes[0]', 'Both'],
  ];
  for (const [title, spec, field, value] of cases) {
    it(`${title}: InvalidNetworkPolicy naming the policy, the field and the value; enforced fail-closed`, () => {
      const out = bad(spec);
      const p = out.problems.find((x) => x.reason === 'InvalidNetworkPolicy');
      assert.ok(p, 'a problem is reported');
      assert.deepEqual(p.object, { kind: 'NetworkPolicy', namespace: 'x', name: 'bad' });
      assert.equal(p.field, field);
      assert.equal(p.value, value);
      assert.equal(p.severity, 'error');
      assert.match(p.message, /fail closed/);
      const comments = out.families[0]!.chains.flatMap((c) => c.rules.map((r) => r.comment ?? ''));
      assert.ok(comments.includes('x/good policy'), 'other policies still render');
    });
  }

  // Shapes the API server's decoder would refuse; before validation these crashed or selected everything.
  const shapes: [string, unknown, string, string, [string, string, 'allow' | 'deny'][]][] = [
    ['ingress as a map', { podSelector: { matchLabels: { pod: 'a' } }, ingress: { from: [] } }, 'spec.ingress', '{"from":[]}', [[YB, XA, 'deny'], [YB, XB, 'allow']]],
    ['from as a string', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: 'everyone' }] }, 'spec.ingress[0].from', 'everyone', [[YB, XA, 'deny'], [YB, XB, 'allow']]],
    ['ports as a string', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: '80' }] }, 'spec.ingress[0].ports', '80', [[YB, XA, 'deny']]],
    ['podSelector as a string: isolates the whole namespace, never selects more allows', { podSelector: 'app=web', ingress: [{}] }, 'spec.podSelector', 'app=web', [[YB, XA, 'deny'], [YB, XB, 'deny'], [XA, YA, 'allow']]],
    ['spec as a string', 'deny', 'spec', 'deny', [[YB, XA, 'deny'], [XA, YB, 'deny']]],
    ['egress as a number, policyTypes absent: both directions isolated', { podSelector: { matchLabels: { pod: 'a' } }, egress: 7 }, 'spec.egress', '7', [[YB, XA, 'deny'], [XA, YB, 'deny'], [XB, YB, 'allow']]],
    ['port as a float', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80.5 }] }] }, 'spec.ingress[0].ports[0].port', '80.5', [[YB, XA, 'deny'], [XA, YB, 'allow']]],
    ['port as a list', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: [80] }] }] }, 'spec.ingress[0].ports[0].port', '[80]', [[YB, XA, 'deny']]],
    ['cidr as a number', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: 10 } }] }] }, 'spec.ingress[0].from[0].ipBlock.cidr', '10', [[EXT, XA, 'deny']]],
    ['matchLabels value as a number', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { pod: 1 } } }] }] }, 'spec.ingress[0].from[0].podSelector.matchLabels.pod', '1', [[XB, XA, 'deny']]],
  ];
  for (const [title, spec, field, value, verdicts] of shapes) {
    it(`${title}: reported, rendered fail-closed (rules and oracle agree)`, () => {
      const p = policy('x', 'bad', spec as NetworkPolicy['spec']);
      const out = renderNetpol({ namespaces: NSS, pods: PODS, networkPolicies: [p] }, { nodeName: 'n1' });
      const problem = out.problems.find((x) => x.field === field);
      assert.ok(problem, `a problem names ${field}: ${JSON.stringify(out.problems)}`);
      assert.equal(problem.value, value);
      assert.deepEqual(problem.object, { kind: 'NetworkPolicy', namespace: 'x', name: 'bad' });
      expect(cluster([p]), verdicts.map(([s, d, v]) => [s, d, v]));
    });
  }

  it('a policy without spec is the API server zero value: ingress isolation of its namespace, no problem', () => {
    const p = { metadata: { namespace: 'x', name: 'nospec' } } as unknown as NetworkPolicy;
    const out = renderNetpol({ namespaces: NSS, pods: PODS, networkPolicies: [p] }, { nodeName: 'n1' });
    assert.deepEqual(out.problems.filter((x) => x.severity === 'error'), []);
    expect(cluster([p]), [[YB, XA, 'deny'], [XA, YB, 'allow']]);
  });

  it('invalid pods and namespaces are reported and left out; nothing throws', () => {
    const weird = [
      { metadata: { namespace: 'x', name: 'p1', labels: 'app=web' }, status: { podIP: '10.42.1.50' } },
      { metadata: { namespace: 'x', name: 'p2' }, status: { podIPs: { ip: '10.42.1.51' } } },
      { metadata: { namespace: 'x', name: 'p3' }, spec: { containers: [{ ports: [{ name: 'http', containerPort: '80' }] }] } },
      { metadata: 'p4' },
      'just a string',
    ] as unknown as Pod[];
    const out = renderNetpol({ namespaces: [...NSS, { metadata: { name: 'w', labels: ['a'] } } as never], pods: [...PODS, ...weird], networkPolicies: [] }, { nodeName: 'n1' });
    const fields = out.problems.filter((x) => x.reason === 'InvalidObject').map((x) => `${x.object?.kind} ${x.object?.name} ${x.field}`);
    assert.deepEqual(fields.sort(), [
      'Namespace w metadata.labels',
      'Pod  ',
      'Pod  metadata',
      'Pod p1 metadata.labels',
      'Pod p2 status.podIPs',
      'Pod p3 spec.containers[0].ports[0].containerPort',
    ]);
  });

  it('two pods with one IP give a DuplicateAddress warning', () => {
    const out = renderNetpol({ namespaces: NSS, pods: [...PODS, pod('y', 'twin', { ips: ['10.42.1.10'] })], networkPolicies: [] }, { nodeName: 'n1' });
    const p = out.problems.find((x) => x.reason === 'DuplicateAddress');
    assert.ok(p);
    assert.deepEqual([p.object?.namespace, p.object?.name, p.value, p.severity], ['y', 'twin', '10.42.1.10', 'warning']);
  });

  it('an invalid NFLOG annotation falls back to the defaults with a warning', () => {
    const out = renderNetpol(
      { namespaces: NSS, pods: PODS, networkPolicies: [policy('x', 'p', { podSelector: {} }, { 'kube-router.io/netpol-nflog-limit-burst': '-3' })] },
      { nodeName: 'n1', nflog: { perPolicy: true } },
    );
    const p = out.problems.find((x) => x.reason === 'InvalidNflogAnnotation')!;
    assert.equal(p.value, '-3');
    const log = out.families[0]!.chains.flatMap((c) => c.rules).find((r) => r.target.kind === 'NFLOG' && 'prefix' in r.target)!;
    assert.deepEqual(log.limit, { rate: '10/minute', burst: 10 });
  });

  it('NFLOG annotations iptables would refuse (rate above 10000/second, burst above 10000) fall back to the defaults with a warning', () => {
    const ann = (limit: string, burst: string): Record<string, string> => ({ 'kube-router.io/netpol-nflog-limit': limit, 'kube-router.io/netpol-nflog-limit-burst': burst });
    const out = renderNetpol(
      {
        namespaces: NSS,
        pods: PODS,
        networkPolicies: [
          policy('x', 'fast', { podSelector: {} }, ann('50000/second', '20000')),
          policy('x', 'edge', { podSelector: {} }, ann('600000/m', '10000')),
        ],
      },
      { nodeName: 'n1', nflog: { perPolicy: true } },
    );
    const bad = out.problems.filter((x) => x.reason === 'InvalidNflogAnnotation');
    assert.deepEqual(
      bad.map((p) => [p.object?.name, p.field, p.value]),
      [
        ['fast', 'metadata.annotations.kube-router.io/netpol-nflog-limit', '50000/second'],
        ['fast', 'metadata.annotations.kube-router.io/netpol-nflog-limit-burst', '20000'],
      ],
    );
    assert.match(bad[0]!.message, /Rate too fast.*default limit is used/);
    assert.match(bad[1]!.message, /at most 10000.*default burst is used/);
    const limitOf = (name: string): unknown =>
      out.families[0]!.chains.flatMap((c) => c.rules).find((r) => r.target.kind === 'NFLOG' && r.target.prefix === `DROP by policy x/${name}`)!.limit;
    assert.deepEqual(limitOf('fast'), { rate: '10/minute', burst: 10 });
    assert.deepEqual(limitOf('edge'), { rate: '600000/minute', burst: 10000 }, 'the largest values iptables takes are kept');
  });

  it('duplicate objects, disabled-family ipBlocks, missing node and pod CIDRs are reported', () => {
    const out = renderNetpol(
      {
        namespaces: NSS,
        pods: [...PODS, pod('x', 'a', { ips: ['10.42.1.99'] })],
        networkPolicies: [policy('x', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00::/8' } }] }] })],
      },
      { nodeName: 'n9', defaultDeny: true },
    );
    const reasons = out.problems.map((p) => p.reason).sort();
    assert.deepEqual(reasons, ['DuplicateObject', 'IPBlockFamilyDisabled', 'MissingPodCIDR', 'NodeNotFound']);
  });
});
