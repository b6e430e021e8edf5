import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { CommandError, failedLineOf, ipsetRestore, ipsetSave, iptablesRestore, iptablesSave, restoreArgs } from './apply.ts';
import { failed, ok, RecordingRunner } from '../testing/index.ts';
import { commandsFor } from '../backend.ts';
import { natForwarder } from '../testing/index.ts';
import { renderRestore } from '../restore-text.ts';

const nft = commandsFor('nft', ['iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-save', 'ip6tables-nft-restore'])!;

test('iptablesRestore runs ONE restore with the rendered input on stdin, --noflush -w by default', async () => {
  const r = new RecordingRunner();
  await iptablesRestore(r, nft.IPv6, [natForwarder]);
  assert.deepEqual(r.calls, [{ cmd: 'ip6tables-nft-restore', args: ['--noflush', '-w'], input: renderRestore([natForwarder]) }]);
});

test('restoreArgs: --test, --counters, no --noflush, no -w', () => {
  assert.deepEqual(restoreArgs({ test: true }), ['--noflush', '--test', '-w']);
  assert.deepEqual(restoreArgs({ noflush: false, counters: true, wait: false }), ['--counters']);
});

test('a failed restore throws CommandError naming the command, code and input line', async () => {
  const r = new RecordingRunner(() => failed(2, "iptables-nft-restore v1.8.9 (nf_tables): Chain 'NOPE' does not exist\nError occurred at line: 4\nTry `iptables-nft-restore -h'\n"));
  await assert.rejects(iptablesRestore(r, nft.IPv4, '*filter\nCOMMIT\n'), (err: unknown) => {
    assert.ok(err instanceof CommandError);
    assert.equal(err.code, 2);
    assert.equal(err.failedLine, 4);
    assert.match(err.message, /^iptables-nft-restore --noflush -w exited 2 at input line 4: iptables-nft-restore v1.8.9 \(nf_tables\): Chain 'NOPE' does not exist$/);
    return true;
  });
});

test('failedLineOf understands iptables-restore and ipset messages', () => {
  assert.equal(failedLineOf('Error occurred at line: 3\n'), 3);
  assert.equal(failedLineOf('iptables-restore: line 7 failed\n'), 7);
  assert.equal(failedLineOf('ipset v7.17: Error in line 2: Syntax error\n'), 2);
  assert.equal(failedLineOf('something else'), undefined);
});

test('iptablesSave runs the save command (table, counters) and parses it', async () => {
  const r = new RecordingRunner(() => ok('*nat\n:PREROUTING ACCEPT [1:2]\n[3:4] -A PREROUTING -j X\n:X - [0:0]\nCOMMIT\n'.replace('[3:4] -A PREROUTING -j X\n:X - [0:0]\n', ':X - [0:0]\n[3:4] -A PREROUTING -j X\n')));
  const { ruleset } = await iptablesSave(r, nft.IPv4, { table: 'nat', counters: true });
  assert.deepEqual(r.commandLines(), ['iptables-nft-save -c -t nat']);
  assert.deepEqual(ruleset.tables[0]!.chains[0]!.rules[0], { args: ['-j', 'X'], counters: { packets: 3, bytes: 4 } });
});

test('ipsetRestore uses -exist by default; ipsetSave parses', async () => {
  const r = new RecordingRunner((c) => (c.args[0] === 'save' ? ok('create s hash:ip family inet hashsize 1024 maxelem 65536\nadd s 1.2.3.4\n') : ok()));
  await ipsetRestore(r, [{ kind: 'flush', set: 's' }]);
  await ipsetRestore(r, 'destroy s\n', { exist: false, ipset: '/sbin/ipset' });
  const sets = await ipsetSave(r, { set: 's' });
  assert.deepEqual(r.calls, [
    { cmd: 'ipset', args: ['-exist', 'restore'], input: 'flush s\n' },
    { cmd: '/sbin/ipset', args: ['restore'], input: 'destroy s\n' },
    { cmd: 'ipset', args: ['save', 's'], input: undefined },
  ]);
  assert.deepEqual(sets[0]!.members, [{ value: '1.2.3.4' }]);
});
