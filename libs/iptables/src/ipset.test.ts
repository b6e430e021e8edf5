import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { expectGolden } from '@portico/testing';
import { ipsetOpsOf, memberOf, parseIpsetSave, parseIpsetTerse, renderIpsetRestore, setOptions, withoutOption, IpsetParseError, type IpsetOp } from './ipset.ts';
import { ipsetFresh, ipsetSwap } from './testing/index.ts';

const golden = (name: string): string => join(import.meta.dirname, '..', 'testdata', `${name}.golden`);

test('renderIpsetRestore matches golden ipset-fresh', () => {
  expectGolden(golden('ipset-fresh'), renderIpsetRestore(ipsetFresh));
});

test('renderIpsetRestore matches golden ipset-swap', () => {
  expectGolden(golden('ipset-swap'), renderIpsetRestore(ipsetSwap));
});

// As printed by ipset v7.17 `ipset save` in a test namespace.
const saved = `create a hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x2f5b2637
add a 10.0.0.1 timeout 0
create inet6:b hash:net family inet6 hashsize 1024 maxelem 65536 timeout 0 comment bucketsize 12 initval 0xbb2a80f0
add inet6:b 2001:db8::/32 timeout 0
add inet6:b fd00::/8 timeout 0 nomatch comment "x y"
create c hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x5998942a
`;

test('parseIpsetSave reads sets, options and members (comments unquoted)', () => {
  const sets = parseIpsetSave(saved);
  assert.deepEqual(sets.map((s) => [s.name, s.type, s.members.length]), [['a', 'hash:ip', 1], ['inet6:b', 'hash:net', 2], ['c', 'hash:net', 0]]);
  assert.deepEqual(sets[1]!.members[1], { value: 'fd00::/8', options: ['timeout', '0', 'nomatch', 'comment', 'x y'] });
  assert.deepEqual(withoutOption(sets[0]!.options, 'initval'), ['family', 'inet', 'hashsize', '1024', 'maxelem', '65536', 'timeout', '0', 'bucketsize', '12']);
  assert.deepEqual(withoutOption(['timeout', '0', 'comment', 'x'], 'comment', false), ['timeout', '0', 'x']);
});

test('parse then render gives the save text back', () => {
  assert.equal(renderIpsetRestore(ipsetOpsOf(parseIpsetSave(saved))), saved);
});

test('setOptions and memberOf use ipset save order', () => {
  assert.deepEqual(setOptions({ comment: true, timeout: 0, maxelem: 10, hashsize: 64, family: 'inet6' }), ['family', 'inet6', 'hashsize', '64', 'maxelem', '10', 'timeout', '0', 'comment']);
  assert.deepEqual(memberOf('1.2.3.4'), { value: '1.2.3.4' });
  assert.deepEqual(memberOf('10.0.0.0/8', { comment: 'c', nomatch: true, timeout: 0 }), { value: '10.0.0.0/8', options: ['timeout', '0', 'nomatch', 'comment', 'c'] });
});

const invalidOps: { name: string; op: IpsetOp; error: RegExp }[] = [
  { name: 'a set name over 31 characters', op: { kind: 'flush', set: 'S'.repeat(32) }, error: /longer than 31/ },
  { name: 'a quote in a comment (ipset has no escapes)', op: { kind: 'add', set: 's', member: memberOf('1.2.3.4', { comment: 'a"b' }) }, error: /double quote/ },
  { name: 'a line break', op: { kind: 'del', set: 's', value: '1.2.3.4\nflush x' }, error: /line break/ },
  { name: 'an empty set name', op: { kind: 'destroy', set: '' }, error: /empty/ },
];

for (const c of invalidOps) {
  test(`renderIpsetRestore refuses ${c.name}`, () => {
    assert.throws(() => renderIpsetRestore([c.op]), c.error);
  });
}

const badText: { name: string; text: string; line: number; error: RegExp }[] = [
  { name: 'add before create', text: 'add x 1.2.3.4\n', line: 1, error: /before its create/ },
  { name: 'unknown command', text: 'create x hash:ip\nswap x y\n', line: 2, error: /expected create or add/ },
  { name: 'create without type', text: 'create x\n', line: 1, error: /needs a name and a type/ },
  { name: 'created twice', text: 'create x hash:ip\ncreate x hash:ip\n', line: 2, error: /created twice/ },
  { name: 'unterminated quote', text: 'create x hash:ip comment\nadd x 1.2.3.4 comment "open\n', line: 2, error: /unterminated/ },
];

for (const c of badText) {
  test(`parseIpsetSave rejects ${c.name}`, () => {
    assert.throws(() => parseIpsetSave(c.text), (err: unknown) => err instanceof IpsetParseError && err.line === c.line && c.error.test(err.message));
  });
}

// As printed by ipset v7.17 `ipset list -t` in a test namespace.
const terse = `Name: KUBE-SRC-A
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0xdb760290
Size in memory: 280
References: 0
Number of entries: 1

Name: inet6:KUBE-DST-B
Type: hash:net
Revision: 7
Header: family inet6 hashsize 1024 maxelem 131072 timeout 0 bucketsize 12 initval 0x3dbfd7a5
Size in memory: 1240
References: 2
Number of entries: 0

Name: L
Type: list:set
Revision: 3
Header: size 8
Size in memory: 80
References: 0
Number of entries: 0
`;

test('parseIpsetTerse reads names, types, header words and member counts', () => {
  const h = parseIpsetTerse(terse);
  assert.deepEqual(
    h.map((x) => [x.name, x.type, x.entries]),
    [['KUBE-SRC-A', 'hash:ip', 1], ['inet6:KUBE-DST-B', 'hash:net', 0], ['L', 'list:set', 0]],
  );
  assert.deepEqual(h[1]!.options.slice(0, 6), ['family', 'inet6', 'hashsize', '1024', 'maxelem', '131072']);
  assert.deepEqual(parseIpsetTerse(''), []);
});

test('parseIpsetTerse names the line of a block it cannot use', () => {
  assert.throws(() => parseIpsetTerse('Type: hash:ip\n'), (e: unknown) => e instanceof IpsetParseError && e.line === 1);
  assert.throws(() => parseIpsetTerse('Name: a\nType: hash:ip\nNumber of entries: many\n'), (e: unknown) => e instanceof IpsetParseError && e.line === 3);
  assert.throws(() => parseIpsetTerse('Name: a\nType: hash:ip\n\nName: b\nType: hash:ip\nNumber of entries: 0\n'), (e: unknown) => e instanceof IpsetParseError && /name a/.test(e.message));
});
