import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import {
  isOwnedChain,
  isOwnedSet,
  localPodsSetName,
  namedPortSetName,
  peerSetName,
  podChainName,
  policyChainName,
  STABLE_POD_VERSION,
  stablePolicyVersion,
  targetSetName,
} from './names.ts';
import { positionedRuleId } from '@portico/iptables';

describe('kube-router name formulas: every golden vector of spec 2.6', () => {
  it('policy chain ("nsA","simple-egress","1",IPv4) equals kube-router unit test value', () => {
    assert.equal(policyChainName('nsA', 'simple-egress', '1', 'IPv4'), 'KUBE-NWPLCY-C23KD7UE4TAT3Y5M');
  });
  it('policy chain ("x","deny-all","1") per family', () => {
    assert.equal(policyChainName('x', 'deny-all', '1', 'IPv4'), 'KUBE-NWPLCY-W4YTB6VFWA3EEQCC');
    assert.equal(policyChainName('x', 'deny-all', '1', 'IPv6'), 'KUBE-NWPLCY-FFOMT23RTHRVJWUA');
  });
  it('pod chain ("x","a","1")', () => {
    assert.equal(podChainName('x', 'a', '1'), 'KUBE-POD-FW-QYUVA5AFBMRLTDZQ');
  });
  it('target sets ("x","deny-all")', () => {
    assert.equal(targetSetName('x', 'deny-all', 'egress', 'IPv4'), 'KUBE-SRC-MDEC3MZ655UIVZJP');
    assert.equal(targetSetName('x', 'deny-all', 'ingress', 'IPv4'), 'KUBE-DST-MDEC3MZ655UIVZJP');
    assert.equal(targetSetName('x', 'deny-all', 'ingress', 'IPv6'), 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY');
  });
  it('ingress rule 0 pods / ipblock / named port 0 ("x","deny-all",IPv4)', () => {
    assert.equal(peerSetName('x', 'deny-all', 'ingress', 0, 'pod', 'IPv4'), 'KUBE-SRC-LH6WIV6SRPINIOCT');
    assert.equal(peerSetName('x', 'deny-all', 'ingress', 0, 'ipblock', 'IPv4'), 'KUBE-SRC-FMQYOTQGNXVS3G7Y');
    assert.equal(namedPortSetName('x', 'deny-all', 'ingress', 0, 0, 'IPv4'), 'KUBE-DST-PXLQ2WHE5O3EKM5M');
  });
  it('egress rule 0 pods ("x","deny-all",IPv4)', () => {
    assert.equal(peerSetName('x', 'deny-all', 'egress', 0, 'pod', 'IPv4'), 'KUBE-DST-VEGONZ2O5JM2ZRH2');
  });
  it('built-in jump IDs INPUT/FORWARD/OUTPUT', () => {
    const id = (chain: string, target: string): string =>
      positionedRuleId(chain, ['-m', 'comment', '--comment', 'kube-router netpol', '-j', target]);
    assert.equal(id('INPUT', 'KUBE-ROUTER-INPUT'), '4IA2OSFRMVNDXBVV');
    assert.equal(id('FORWARD', 'KUBE-ROUTER-FORWARD'), 'TEMCG2JMHZYE7H7T');
    assert.equal(id('OUTPUT', 'KUBE-ROUTER-OUTPUT'), 'VEAAIY32XVBHCSCY');
  });
  it('INPUT whitelist IDs equal those in live k3s iptables-save output (kube-router user docs)', () => {
    const nodePorts = (p: string): string[] => [
      '-p', p, '-m', 'comment', '--comment', `allow LOCAL ${p.toUpperCase()} traffic to node ports`,
      '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'multiport', '--dports', '30000:32767', '-j', 'RETURN',
    ];
    assert.equal(positionedRuleId('KUBE-ROUTER-INPUT', nodePorts('tcp')), 'LR7XO7NXDBGQJD2M');
    assert.equal(positionedRuleId('KUBE-ROUTER-INPUT', nodePorts('udp')), '76UCBPIZNGJNWNUZ');
    assert.equal(
      positionedRuleId('KUBE-ROUTER-INPUT', ['-m', 'comment', '--comment', 'allow traffic to primary cluster IP range', '-d', '10.43.0.0/16', '-j', 'RETURN']),
      'TZZOAXOCHPHEHX7M',
    );
  });
});

describe('stable names', () => {
  it('pod and policy chain names use fixed versions, so they never change between renders', () => {
    assert.equal(STABLE_POD_VERSION, 'portico');
    assert.equal(podChainName('x', 'a', STABLE_POD_VERSION), podChainName('x', 'a', 'portico'));
    assert.notEqual(stablePolicyVersion('ingress'), stablePolicyVersion('egress'));
    assert.notEqual(
      policyChainName('x', 'p', stablePolicyVersion('ingress'), 'IPv4'),
      policyChainName('x', 'p', stablePolicyVersion('egress'), 'IPv4'),
    );
  });
  it('the longest set name fits the ipset limit of 31 characters', () => {
    assert.equal(targetSetName('x', 'y', 'ingress', 'IPv6').length, 31);
    assert.equal(localPodsSetName('IPv6'), 'inet6:kube-router-local-pods');
  });
});

describe('ownership predicates', () => {
  it('recognises Portico chains and sets, and nothing else', () => {
    for (const c of ['KUBE-ROUTER-INPUT', 'KUBE-ROUTER-FORWARD', 'KUBE-ROUTER-OUTPUT', 'KUBE-NWPLCY-COMMON', 'KUBE-POD-FW-QYUVA5AFBMRLTDZQ']) {
      assert.ok(isOwnedChain(c), c);
    }
    for (const c of ['INPUT', 'KUBE-SERVICES', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL', 'CNI-FORWARD']) assert.ok(!isOwnedChain(c), c);
    for (const s of ['KUBE-SRC-MDEC3MZ655UIVZJP', 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY', 'kube-router-local-pods', 'inet6:kube-router-local-pods']) {
      assert.ok(isOwnedSet(s), s);
    }
    for (const s of ['KUBE-CLUSTER-IP', 'TMP-PRBJ7ASFQM5DJR3Q', 'kube-router-pod-subnets']) assert.ok(!isOwnedSet(s), s);
  });
});
