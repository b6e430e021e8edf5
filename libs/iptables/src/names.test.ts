import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { Netpol } from '@portico/labels';
import { commentMatch } from './model.ts';
import { hashedName, positionedRuleId, tmpSetName, TMP_SET_PATTERN, withPositionedRuleId } from './names.ts';

// Golden vectors from the netpol spec (§2.1 jump IDs, §2.6 table); the INPUT ID matches live
// output quoted in k3s-io/k3s#7244.
const jumps: { chain: string; target: string; id: string }[] = [
  { chain: 'INPUT', target: Netpol.inputChain, id: '4IA2OSFRMVNDXBVV' },
  { chain: 'FORWARD', target: Netpol.forwardChain, id: 'TEMCG2JMHZYE7H7T' },
  { chain: 'OUTPUT', target: Netpol.outputChain, id: 'VEAAIY32XVBHCSCY' },
];

for (const j of jumps) {
  test(`positionedRuleId of the ${j.chain} jump is ${j.id}`, () => {
    const args = [...commentMatch(Netpol.jumpCommentPrefix), '-j', j.target];
    assert.equal(positionedRuleId(j.chain, args), j.id);
    const withId = withPositionedRuleId(j.chain, args);
    assert.equal(withId.id, j.id);
    assert.deepEqual(withId.args, ['-m', 'comment', '--comment', `kube-router netpol - ${j.id}`, '-j', j.target]);
    assert.deepEqual(args, [...commentMatch(Netpol.jumpCommentPrefix), '-j', j.target], 'input not mutated');
  });
}

test('tmpSetName: one temporary set per set name (the names netpol-agent has always used), matching TMP_SET_PATTERN', () => {
  assert.equal(tmpSetName('KUBE-DST-MDEC3MZ655UIVZJP'), 'TMP-VZNIDZFHMHD3YU7M');
  assert.equal(tmpSetName('inet6:KUBE-SRC-XEJCS2MW7WUDQSPY'), 'TMP-BVU2U2R6VMNHQAOO');
  assert.notEqual(tmpSetName('KUBE-DST-A'), tmpSetName('KUBE-DST-B'));
  for (const n of [tmpSetName('KUBE-DST-A'), 'TMP-PRBJ7ASFQM5DJR3Q' /* kube-router's, for "hash:ip timeout 0" */]) assert.match(n, TMP_SET_PATTERN);
  assert.doesNotMatch('TMP-short', TMP_SET_PATTERN);
});

test('hashedName reproduces the spec vectors (re-exported from @portico/labels)', () => {
  assert.equal(hashedName(Netpol.policyChainPrefix, 'nsA' + 'simple-egress' + '1' + 'IPv4'), 'KUBE-NWPLCY-C23KD7UE4TAT3Y5M');
  assert.equal(hashedName(Netpol.podChainPrefix, 'x' + 'a' + '1'), 'KUBE-POD-FW-QYUVA5AFBMRLTDZQ');
  assert.equal(Netpol.ipv6SetPrefix + hashedName(Netpol.dstSetPrefix, 'x' + 'deny-all' + 'IPv6'), 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY');
});

test('withPositionedRuleId needs a comment to carry the ID', () => {
  assert.throws(() => withPositionedRuleId('INPUT', ['-j', 'ACCEPT']), /needs a --comment/);
});
