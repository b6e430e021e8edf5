import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { base32, hashedName, programNames, isValidProgram, DEFAULT_PROGRAM, Netpol } from './index.ts';

test('programNames: K3s names for the default program', () => {
  const n = programNames();
  assert.equal(n.program, DEFAULT_PROGRAM);
  assert.deepEqual(
    [n.svcNameLabel, n.svcNamespaceLabel, n.enableLbLabel, n.lbPoolLabel, n.nodeSelectorLabel, n.priorityClassAnnotation, n.tolerationsAnnotation, n.legacyFinalizer],
    [
      'svccontroller.k3s.cattle.io/svcname',
      'svccontroller.k3s.cattle.io/svcnamespace',
      'svccontroller.k3s.cattle.io/enablelb',
      'svccontroller.k3s.cattle.io/lbpool',
      'svccontroller.k3s.cattle.io/nodeselector',
      'svccontroller.k3s.cattle.io/priorityclassname',
      'svccontroller.k3s.cattle.io/tolerations',
      'svccontroller.k3s.cattle.io/daemonset',
    ],
  );
  assert.deepEqual(
    [n.internalIPKey, n.externalIPKey, n.internalDNSKey, n.externalDNSKey, n.hostnameKey],
    ['k3s.io/internal-ip', 'k3s.io/external-ip', 'k3s.io/internal-dns', 'k3s.io/external-dns', 'k3s.io/hostname'],
  );
  assert.equal(n.providerIDPrefix, 'k3s://');
  assert.equal(n.ccmLeaseName, 'k3s-cloud-controller-manager');
});

test('programNames: RKE2 derives every program name from its program', () => {
  const n = programNames('rke2');
  for (const [key, value] of Object.entries(n)) {
    if (key === 'program') continue;
    assert.match(String(value), /rke2/, `${key} = ${String(value)}`);
    assert.doesNotMatch(String(value), /k3s/, `${key} = ${String(value)}`);
  }
});

test('programNames: rejects a program that would make invalid label keys', () => {
  for (const bad of ['', 'K3S', 'k3s.io', '-k3s', 'a'.repeat(64), 'k 3s']) {
    assert.equal(isValidProgram(bad), false, bad);
    assert.throws(() => programNames(bad), /invalid program name/);
  }
  assert.equal(isValidProgram('k3s'), true);
});

// RFC 4648 section 10 test vectors.
const base32Vectors: Array<[string, string]> = [
  ['', ''],
  ['f', 'MY'],
  ['fo', 'MZXQ'],
  ['foo', 'MZXW6'],
  ['foob', 'MZXW6YQ'],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI'],
];
for (const [input, want] of base32Vectors) {
  test(`base32: RFC 4648 vector ${JSON.stringify(input)}`, () => {
    assert.equal(base32(new TextEncoder().encode(input)), want);
  });
}

// Golden vectors from specs/netpol.md section 2.6 (the first equals kube-router's own unit test).
const hashVectors: Array<[string, string, string]> = [
  [Netpol.policyChainPrefix, 'nsA' + 'simple-egress' + '1' + 'IPv4', 'KUBE-NWPLCY-C23KD7UE4TAT3Y5M'],
  [Netpol.policyChainPrefix, 'x' + 'deny-all' + '1' + 'IPv4', 'KUBE-NWPLCY-W4YTB6VFWA3EEQCC'],
  [Netpol.policyChainPrefix, 'x' + 'deny-all' + '1' + 'IPv6', 'KUBE-NWPLCY-FFOMT23RTHRVJWUA'],
  [Netpol.podChainPrefix, 'x' + 'a' + '1', 'KUBE-POD-FW-QYUVA5AFBMRLTDZQ'],
  [Netpol.srcSetPrefix, 'x' + 'deny-all' + 'IPv4', 'KUBE-SRC-MDEC3MZ655UIVZJP'],
  [Netpol.dstSetPrefix, 'x' + 'deny-all' + 'IPv4', 'KUBE-DST-MDEC3MZ655UIVZJP'],
  [Netpol.dstSetPrefix, 'x' + 'deny-all' + 'IPv6', 'KUBE-DST-XEJCS2MW7WUDQSPY'],
];
for (const [prefix, input, want] of hashVectors) {
  test(`hashedName: spec vector ${want}`, () => {
    assert.equal(hashedName(prefix, input), want);
  });
}
