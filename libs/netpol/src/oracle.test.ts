import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { NODES, ns, pod, policy } from './testing/index.ts';
import { evaluate } from './oracle.ts';
import { simulatePacket } from './simulate.ts';
import type { FamilyState, NetpolSnapshot } from './types.ts';

const base: NetpolSnapshot = {
  namespaces: [ns('x'), ns('y')],
  pods: [
    pod('x', 'a', { ips: ['10.42.1.10'], ports: [{ name: 'http', containerPort: 8080 }] }),
    pod('y', 'b', { node: 'n2', ips: ['10.42.2.10'] }),
    pod('x', 'host', { ips: ['172.18.0.1'], hostNetwork: true }),
  ],
  networkPolicies: [policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })],
  nodes: NODES,
};

describe('oracle (spec section 7)', () => {
  it('isolation needs a selecting policy of that direction; the connection needs both directions', () => {
    assert.equal(evaluate(base, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 8080 }), 'deny');
    assert.equal(evaluate(base, { srcIP: '10.42.1.10', dstIP: '10.42.2.10', proto: 'TCP', dstPort: 80 }), 'deny');
    const open = { ...base, networkPolicies: [] };
    assert.equal(evaluate(open, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 8080 }), 'allow');
  });
  it('named ports resolve on the destination pod with protocol', () => {
    const s = { ...base, networkPolicies: [policy('x', 'np', { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] })] };
    assert.equal(evaluate(s, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 8080 }), 'allow');
    assert.equal(evaluate(s, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'UDP', dstPort: 8080 }), 'deny');
    assert.equal(evaluate(s, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), 'deny');
  });
  it('node-local sources and the node-port exemption are options', () => {
    assert.equal(evaluate(base, { srcIP: '172.18.0.1', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), 'allow');
    assert.equal(evaluate(base, { srcIP: '172.18.0.1', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }, { nodeLocalAccept: false }), 'deny');
    assert.equal(evaluate(base, { srcIP: '10.42.1.1', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }, { extraLocalAddresses: { n1: ['10.42.1.1'] } }), 'allow');
    assert.equal(evaluate(base, { srcIP: '10.42.1.10', dstIP: '172.18.0.1', proto: 'TCP', dstPort: 30001 }), 'allow');
    assert.equal(evaluate(base, { srcIP: '10.42.1.10', dstIP: '172.18.0.1', proto: 'TCP', dstPort: 30001 }, { nodePortRange: null }), 'deny');
  });
  it('a pod to itself is allowed (loopback); an invalid policy counts in its fail-closed isolation form', () => {
    assert.equal(evaluate(base, { srcIP: '10.42.1.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), 'allow');
    const open = { ...base, networkPolicies: [] };
    assert.equal(evaluate(open, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), 'allow');
    const s = { ...base, networkPolicies: [policy('x', 'bad', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } })] };
    // The selector is invalid, so every pod of x is isolated for ingress; nothing is allowed in.
    assert.equal(evaluate(s, { srcIP: '10.42.2.10', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), 'deny');
  });
  it('rejects malformed or mixed-family connections loudly', () => {
    assert.throws(() => evaluate(base, { srcIP: 'nope', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), /unparseable/);
    assert.throws(() => evaluate(base, { srcIP: 'fd00::1', dstIP: '10.42.1.10', proto: 'TCP', dstPort: 80 }), /mixed/);
  });
});

describe('simulator', () => {
  const state = (rules: FamilyState['chains'], sets: FamilyState['ipsets'] = []): FamilyState => ({
    family: 'IPv4',
    chains: rules,
    ipsets: sets,
    builtinRules: [{ chain: 'FORWARD', placement: 'first', rule: { target: { kind: 'jump', chain: 'T' } } }],
  });
  it('hash:net: the most specific prefix decides, nomatch fails the lookup', () => {
    const s = state([{ name: 'T', rules: [{ sets: [{ set: 'N', dir: 'dst' }], target: { kind: 'DROP' } }] }], [
      { name: 'N', type: 'hash:net', family: 'inet', entries: [{ addr: '10.0.0.0/8' }, { addr: '10.1.0.0/16', nomatch: true }, { addr: '10.1.2.0/24' }] },
    ]);
    const v = (dst: string): string => simulatePacket(s, 'FORWARD', { src: '1.1.1.1', dst, proto: 'tcp', dport: 1 }, []).verdict;
    assert.equal(v('10.9.9.9'), 'drop');
    assert.equal(v('10.1.9.9'), 'continue');
    assert.equal(v('10.1.2.9'), 'drop');
    assert.equal(v('11.0.0.1'), 'continue');
  });
  it('marks: set-xmark semantics and mark matches', () => {
    const s = state([
      {
        name: 'T',
        rules: [
          { target: { kind: 'MARK', value: 0x10000, mask: 0x10000 } },
          { target: { kind: 'MARK', value: 0, mask: 0x10000 } },
          { mark: { value: 0x10000, mask: 0x10000 }, target: { kind: 'DROP' } },
          { target: { kind: 'MARK', value: 0x20000, mask: 0x20000 } },
        ],
      },
    ]);
    const r = simulatePacket(s, 'FORWARD', { src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp', dport: 1, mark: 0x4000 }, []);
    assert.equal(r.verdict, 'continue');
    assert.equal(r.mark, 0x24000);
  });
  it('a missing chain or set is a renderer bug and throws', () => {
    assert.throws(() => simulatePacket(state([{ name: 'T', rules: [{ target: { kind: 'jump', chain: 'NOPE' } }] }]), 'FORWARD', { src: '1.1.1.1', dst: '2.2.2.2', proto: 'tcp' }, []), /missing chain/);
    assert.throws(() => simulatePacket(state([{ name: 'T', rules: [{ sets: [{ set: 'S', dir: 'src' }], target: { kind: 'ACCEPT' } }] }]), 'FORWARD', { src: '1.1.1.1', dst: '2.2.2.2', proto: 'tcp' }, []), /missing set/);
  });
});
