import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Netpol } from '@portico/labels';
import { Cluster, node, NODES, ns, pod, policy } from './testing/index.ts';
import { renderNetpol } from './render.ts';
import { simulatePacket } from './simulate.ts';
import { toRestoreText } from './text.ts';
import { shuffled } from '@portico/testing';
import type { FamilyState } from './types.ts';

/**
 * One test per kube-router deviation of spec section 8 (and Portico's own D13, D14): each builds the
 * triggering situation, and checks the rendered rules (through the simulator) and the oracle agree
 * on the Kubernetes answer, where kube-router gives another.
 */

const NAMESPACES = [ns('x'), ns('y')];

describe('kube-router deviations fixed by Portico', () => {
  it('D1: a policy with both types cannot leak ingress rules into egress (kube-router cross-direction leakage)', () => {
    // "Deny all ingress, allow all egress" for every pod of x. kube-router lets x pods reach each other.
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10'] }), pod('x', 'b', { ips: ['10.42.1.11'] }), pod('x', 'c', { node: 'n2', ips: ['10.42.2.12'] })],
      networkPolicies: [policy('x', 'deny-in', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [{}] })],
    });
    for (const [s, d] of [
      ['10.42.1.10', '10.42.1.11'],
      ['10.42.1.10', '10.42.2.12'],
      ['10.42.2.12', '10.42.1.11'],
    ] as const) {
      assert.deepEqual(c.both(s, d), { rules: 'deny', oracle: 'deny' }, `${s} -> ${d}`);
    }
    // The mirror image (NP-57): allow ingress from x pods, deny all egress: still no connection.
    const m = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10'] }), pod('x', 'b', { ips: ['10.42.1.11'] })],
      networkPolicies: [policy('x', 'deny-out', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: {} }] }], egress: [] })],
    });
    assert.deepEqual(m.both('10.42.1.10', '10.42.1.11'), { rules: 'deny', oracle: 'deny' });
    // Separate chains: the ingress chain is entered with -d, the egress chain with -s.
    const v4 = c.state('n1').families[0]!;
    const pc = v4.chains.find((ch) => ch.rules.some((r) => r.comment === 'x/deny-in policy'))!;
    const jumps = pc.rules.filter((r) => r.comment === 'x/deny-in policy');
    assert.equal(jumps.length, 2);
    assert.ok(jumps[0]!.destination && !jumps[0]!.source);
    assert.ok(jumps[1]!.source && !jumps[1]!.destination);
    assert.notEqual((jumps[0]!.target as { chain: string }).chain, (jumps[1]!.target as { chain: string }).chain);
  });

  it('D2: named ports that resolve to nothing allow nothing (kube-router renders "all ports")', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [
        pod('x', 'a', { ips: ['10.42.1.10'], ports: [{ name: 'http', containerPort: 80 }] }),
        pod('x', 'b', { ips: ['10.42.1.11'] }),
      ],
      networkPolicies: [
        policy('x', 'np', {
          podSelector: { matchLabels: { pod: 'a' } },
          // "http" exists only as TCP; asked as UDP it resolves to nothing. "nope" does not exist.
          ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 'http', protocol: 'UDP' }, { port: 'nope' }] }],
        }),
      ],
    });
    for (const [proto, port] of [['TCP', 80], ['UDP', 80], ['TCP', 8080]] as const) {
      assert.deepEqual(c.both('10.42.1.11', '10.42.1.10', proto, port), { rules: 'deny', oracle: 'deny' }, `${proto}/${port}`);
    }
    const chain = c.state('n1').families[0]!.chains.find((ch) => ch.rules.some((r) => r.comment?.startsWith('x/np ingress')));
    assert.equal(chain, undefined, 'no rule is rendered for the unresolvable rule');
  });

  it('D3: overlapping ipBlock peers form a union (kube-router nomatch bug)', () => {
    const mk = (from: { ipBlock: { cidr: string; except?: string[] } }[]): Cluster =>
      new Cluster({
        namespaces: NAMESPACES,
        pods: [pod('x', 'a', { ips: ['10.42.1.10'] })],
        networkPolicies: [policy('x', 'cidr', { podSelector: {}, ingress: [{ from }] })],
      });
    // NP-59: [10.42.0.0/16 except 10.42.0.0/24, 10.42.0.0/23] must admit 10.42.0.x.
    const a = mk([{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.0.0/24'] } }, { ipBlock: { cidr: '10.42.0.0/23' } }]);
    assert.deepEqual(a.both('10.42.0.5', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(a.both('10.42.7.5', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(a.both('10.43.0.5', '10.42.1.10'), { rules: 'deny', oracle: 'deny' });
    // [0.0.0.0/0, 10.42.0.0/16 except 10.42.1.0/24] must admit 10.42.1.x (the first peer covers it).
    const b = mk([{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.1.0/24'] } }]);
    assert.deepEqual(b.both('10.42.1.77', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    // Identical CIDR as a plain entry and as an except of another peer: the plain one wins.
    const d = mk([{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { ipBlock: { cidr: '10.1.0.0/16' } }]);
    assert.deepEqual(d.both('10.1.2.3', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    const set = d.state('n1').families[0]!.ipsets.find((s) => s.type === 'hash:net')!;
    assert.deepEqual(set.entries, [{ addr: '10.0.0.0/8' }]);
  });

  it('D4: egress named ports to ipBlock peers resolve on the destination pods inside the block (kube-router drops them)', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [
        pod('x', 'a', { ips: ['10.42.1.10'] }),
        pod('y', 'web', { node: 'n2', ips: ['10.42.2.20'], ports: [{ name: 'http', containerPort: 8080 }] }),
        pod('y', 'other', { node: 'n2', ips: ['10.42.2.21'], ports: [{ name: 'metrics', containerPort: 8080 }] }),
      ],
      networkPolicies: [policy('x', 'out', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.42.2.0/24' } }], ports: [{ port: 'http' }] }] })],
    });
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.20', 'TCP', 8080), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.21', 'TCP', 8080), { rules: 'deny', oracle: 'deny' });
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.99', 'TCP', 8080), { rules: 'deny', oracle: 'deny' });
  });

  it('D5: egress named ports without "to" resolve per destination, in every namespace (kube-router uses the policy namespace)', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [
        pod('x', 'a', { ips: ['10.42.1.10'] }),
        pod('x', 'same-ns-other-name', { ips: ['10.42.1.11'], ports: [{ name: 'metrics', containerPort: 80 }] }),
        pod('y', 'web', { node: 'n2', ips: ['10.42.2.20'], ports: [{ name: 'http', containerPort: 80 }] }),
      ],
      networkPolicies: [policy('x', 'out', { podSelector: { matchLabels: { pod: 'a' } }, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] })],
    });
    // Only y/web exposes "http" (port 80): reachable, although no pod of x defines the name.
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.20'), { rules: 'allow', oracle: 'allow' });
    // Port 80 under another name is not "http".
    assert.deepEqual(c.both('10.42.1.10', '10.42.1.11'), { rules: 'deny', oracle: 'deny' });
    // External addresses expose no named ports.
    assert.deepEqual(c.both('10.42.1.10', '8.8.8.8'), { rules: 'deny', oracle: 'deny' });
  });

  it('D6: IPv6 ::/0 covers every address (kube-router approximates it by 2000::/3 + fd00::/8)', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10', 'fd00:42:1::a'] })],
      networkPolicies: [policy('x', 'v6', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '::/0', except: ['fd00:99::/32'] } }] }] })],
    });
    for (const src of ['fe80::1', 'fc00::1', '::ffff:0:1', '2001:db8::1', 'fd00:42:2::1']) {
      assert.deepEqual(c.both(src, 'fd00:42:1::a'), { rules: 'allow', oracle: 'allow' }, src);
    }
    assert.deepEqual(c.both('fd00:99::1', 'fd00:42:1::a'), { rules: 'deny', oracle: 'deny' });
    const set = c.state('n1').families[1]!.ipsets.find((s) => s.type === 'hash:net')!;
    assert.deepEqual(set.entries, [{ addr: '::/1' }, { addr: '8000::/1' }, { addr: 'fd00:99::/32', nomatch: true }]);
  });

  it('D7: documented always-on behaviour is kept: ICMP types, node-local sources, established flows', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10'] })],
      networkPolicies: [policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
    });
    const v4 = c.state('n1').families[0]!;
    const fwd = (pkt: Parameters<typeof simulatePacket>[2]): string => simulatePacket(v4, 'FORWARD', pkt, ['172.18.0.1']).verdict;
    assert.equal(fwd({ src: '10.42.2.5', dst: '10.42.1.10', proto: 'icmp', icmpType: 8 }), 'accept');
    assert.equal(fwd({ src: '10.42.2.5', dst: '10.42.1.10', proto: 'icmp', icmpType: 13 }), 'reject');
    assert.equal(fwd({ src: '10.42.2.5', dst: '10.42.1.10', proto: 'tcp', dport: 80, ctState: 'ESTABLISHED' }), 'accept');
    assert.equal(fwd({ src: '10.42.2.5', dst: '10.42.1.10', proto: 'tcp', dport: 80, ctState: 'INVALID' }), 'drop');
    // The node itself (kubelet probes) reaches the isolated pod; another node does not.
    assert.deepEqual(c.both('172.18.0.1', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('172.18.0.2', '10.42.1.10'), { rules: 'deny', oracle: 'deny' });
  });

  it('D8: default-deny closes the fail-open window for pods the agent has not programmed yet', () => {
    const snapshot = {
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10'] })],
      networkPolicies: [],
      nodes: NODES,
    };
    const on = renderNetpol(snapshot, { nodeName: 'n1', defaultDeny: true }).families[0]!;
    const off = renderNetpol(snapshot, { nodeName: 'n1' }).families[0]!;
    // 10.42.1.50 is a pod that started after the last sync: no chain, not in kube-router-local-pods.
    const pkt = { src: '10.42.1.50', dst: '10.42.2.7', proto: 'tcp', dport: 80 } as const;
    assert.equal(simulatePacket(on, 'FORWARD', pkt, ['172.18.0.1']).verdict, 'reject');
    assert.equal(simulatePacket(off, 'FORWARD', pkt, ['172.18.0.1']).verdict, 'continue');
    // The programmed pod is unaffected.
    assert.equal(simulatePacket(on, 'FORWARD', { ...pkt, src: '10.42.1.10' }, ['172.18.0.1']).verdict, 'accept');
    const local = on.ipsets.find((s) => s.name === Netpol.localPodsSet)!;
    assert.deepEqual(local.entries, [{ addr: '10.42.1.10' }]);
  });

  it('D9: the restore script touches only Portico chains (no full filter-table restore that reverts kube-proxy)', () => {
    const state = renderNetpol({ namespaces: NAMESPACES, pods: [pod('x', 'a', { ips: ['10.42.1.10'] })], networkPolicies: [] }, { nodeName: 'n1' }).families[0]!;
    const text = toRestoreText(state);
    const declared = text.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]!);
    assert.ok(declared.length > 0);
    for (const c of declared) assert.match(c, /^KUBE-(ROUTER|NWPLCY|POD-FW)-/, c);
    assert.ok(!/^-A (INPUT|FORWARD|OUTPUT) /m.test(text), 'built-in chains are not rewritten');
  });

  it('D10: output order does not depend on input order (kube-router follows Go map order)', () => {
    const pods = Array.from({ length: 12 }, (_, i) => pod(i % 2 ? 'x' : 'y', `p${i}`, { node: i % 3 ? 'n1' : 'n2', ips: [`10.42.${i % 3 ? 1 : 2}.${10 + i}`] }));
    const pols = [
      policy('x', 'b', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] }),
      policy('x', 'a', { podSelector: { matchLabels: { pod: 'p1' } }, egress: [{ to: [{ podSelector: {} }] }] }),
      policy('y', 'c', { podSelector: {}, policyTypes: ['Egress'] }),
    ];
    const base = JSON.stringify(renderNetpol({ namespaces: NAMESPACES, pods, networkPolicies: pols, nodes: NODES }, { nodeName: 'n1', families: ['IPv4', 'IPv6'] }));
    for (const seed of [1, 2, 3, 4, 5]) {
      const again = renderNetpol(
        { namespaces: shuffled(NAMESPACES, seed), pods: shuffled(pods, seed), networkPolicies: shuffled(pols, seed), nodes: shuffled(NODES, seed) },
        { nodeName: 'n1', families: ['IPv4', 'IPv6'] },
      );
      assert.equal(JSON.stringify(again), base, `seed ${seed}`);
    }
  });

  it('D11: an empty policyTypes with egress rules enforces egress too (kube-router treats it as ingress-only)', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10'] }), pod('y', 'b', { node: 'n2', ips: ['10.42.2.11'] })],
      networkPolicies: [policy('x', 'p', { podSelector: {}, policyTypes: [], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })],
    });
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.11', 'TCP', 80), { rules: 'deny', oracle: 'deny' });
    assert.deepEqual(c.both('10.42.1.10', '10.42.2.11', 'UDP', 53), { rules: 'allow', oracle: 'allow' }, 'the egress rule admits DNS');
    // Ingress is in the defaulted types too, with no rules: x/a admits nothing.
    assert.deepEqual(c.both('10.42.2.11', '10.42.1.10', 'TCP', 80), { rules: 'deny', oracle: 'deny' });
  });

  it('D12: an IPv6-only ipBlock admits no IPv4 traffic (kube-router e2e test 85 expects it to)', () => {
    const c = new Cluster({
      namespaces: NAMESPACES,
      pods: [pod('x', 'a', { ips: ['10.42.1.10', 'fd00:42:1::a'] }), pod('y', 'b', { node: 'n2', ips: ['10.42.2.11', 'fd00:42:2::b'] })],
      networkPolicies: [policy('x', 'v6only', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 'fd00:42::/32' } }] }] })],
    });
    assert.deepEqual(c.both('fd00:42:2::b', 'fd00:42:1::a'), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('10.42.2.11', '10.42.1.10'), { rules: 'deny', oracle: 'deny' });
  });

  it('D13: default-deny does not reject the node\'s own addresses inside the pod CIDR (kube-router rejects the bridge gateway)', () => {
    const state = renderNetpol(
      { namespaces: NAMESPACES, pods: [pod('x', 'a', { ips: ['10.42.1.10'] })], networkPolicies: [], nodes: NODES },
      { nodeName: 'n1', defaultDeny: true },
    ).families[0]!;
    const local = ['172.18.0.1', '10.42.1.1'];
    // The pod talks to the node through the bridge gateway address: INPUT, egress not isolated.
    assert.equal(simulatePacket(state, 'INPUT', { src: '10.42.1.10', dst: '10.42.1.1', proto: 'udp', dport: 53 }, local).verdict, 'accept');
    // The host talks from its gateway address to its own gateway address (OUTPUT): not rejected.
    assert.equal(simulatePacket(state, 'OUTPUT', { src: '10.42.1.1', dst: '10.42.1.1', proto: 'tcp', dport: 10250 }, local).verdict, 'continue');
    // An unprogrammed pod address is still rejected.
    assert.equal(simulatePacket(state, 'INPUT', { src: '10.42.1.77', dst: '10.42.1.1', proto: 'udp', dport: 53 }, local).verdict, 'reject');
  });

  it('D14: names that collide in kube-router\'s concatenated hash input get distinct chains and sets', () => {
    // "a" + "bc" and "ab" + "c" hash alike in kube-router: both policies would share one chain.
    const state = renderNetpol(
      {
        namespaces: [ns('a'), ns('ab')],
        pods: [pod('a', 'p', { ips: ['10.42.1.10'] }), pod('ab', 'p', { ips: ['10.42.1.11'] })],
        networkPolicies: [
          policy('a', 'bc', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }),
          policy('ab', 'c', { podSelector: {}, ingress: [] }),
        ],
      },
      { nodeName: 'n1' },
    );
    const fam = state.families[0]!;
    const policyChains = fam.chains.filter((c) => c.name.startsWith(Netpol.policyChainPrefix) && c.rules.length >= 0 && !/COMMON|DEFAULT|TAIL/.test(c.name));
    assert.equal(policyChains.length, 2);
    assert.notEqual(policyChains[0]!.name, policyChains[1]!.name);
    const targetSets = fam.ipsets.filter((s) => s.name.startsWith(Netpol.dstSetPrefix));
    assert.equal(new Set(targetSets.map((s) => s.name)).size, targetSets.length);
    assert.ok(state.problems.some((p) => p.reason === 'NameCollision' && p.object?.namespace === 'ab'));
    // And the semantics are right for both: a/p admits its namespace, ab/p admits nothing.
    const c = new Cluster({ namespaces: [ns('a'), ns('ab')], pods: [pod('a', 'p', { ips: ['10.42.1.10'] }), pod('a', 'q', { ips: ['10.42.1.12'] }), pod('ab', 'p', { ips: ['10.42.1.11'] })], networkPolicies: [policy('a', 'bc', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }), policy('ab', 'c', { podSelector: {}, ingress: [] })] });
    assert.deepEqual(c.both('10.42.1.12', '10.42.1.10'), { rules: 'allow', oracle: 'allow' });
    assert.deepEqual(c.both('10.42.1.12', '10.42.1.11'), { rules: 'deny', oracle: 'deny' });
  });
});

/** Exported for other tests that need a v4 state with one isolated pod. */
export function isolatedPodState(): FamilyState {
  return renderNetpol(
    { namespaces: NAMESPACES, pods: [pod('x', 'a', { ips: ['10.42.1.10'] })], networkPolicies: [policy('x', 'deny', { podSelector: {} })], nodes: [node('n1', ['172.18.0.1'])] },
    { nodeName: 'n1' },
  ).families[0]!;
}
