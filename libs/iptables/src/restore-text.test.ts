import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { expectGolden } from '@portico/testing';
import { renderRestore, renderRestoreTable, renderRuleWords, renderSave, headerLength } from './restore-text.ts';
import { restoreTableOf, ruleTarget, type RestoreTable, type Table } from './model.ts';
import { filterFresh, filterUpdate, natForwarder, natForwarder6 } from './testing/index.ts';

const golden = (name: string): string => join(import.meta.dirname, '..', 'testdata', `${name}.golden`);

const goldens: { name: string; tables: RestoreTable[] }[] = [
  { name: 'restore-filter-fresh', tables: [filterFresh] },
  { name: 'restore-filter-update', tables: [filterUpdate] },
  { name: 'restore-nat-forwarder', tables: [natForwarder] },
  { name: 'restore-nat-forwarder6', tables: [natForwarder6] },
];

for (const g of goldens) {
  test(`renderRestore matches golden ${g.name}`, () => {
    expectGolden(golden(g.name), renderRestore(g.tables));
  });
}

test('a rule comment goes after the header options, as iptables-save prints it', () => {
  assert.equal(renderRuleWords({ comment: 'c', args: ['!', '-s', '10.0.0.0/8', '-p', 'tcp', '-m', 'tcp', '--dport', '80', '-j', 'ACCEPT'] }), '! -s 10.0.0.0/8 -p tcp -m comment --comment c -m tcp --dport 80 -j ACCEPT');
  assert.equal(renderRuleWords({ comment: 'only', args: ['-j', 'RETURN'] }), '-m comment --comment only -j RETURN');
  assert.equal(renderRuleWords({ comment: 'x', args: ['-f', '-d', '1.2.3.4/32', '-j', 'DROP'] }), '-f -d 1.2.3.4/32 -m comment --comment x -j DROP');
  assert.equal(headerLength(['-s']), 0, 'an option without its value is not a header');
});

test('quoting: comments and prefixes as iptables-save 1.8.9 prints them (bare only for A-Z a-z 0-9 _ -), other words only when needed', () => {
  assert.equal(renderRuleWords({ comment: 'a "b" \\ c', args: ['-j', 'LOG', '--log-prefix', 'p'] }), '-m comment --comment "a \\"b\\" \\\\ c" -j LOG --log-prefix p');
  assert.equal(renderRuleWords({ comment: "it's", args: ['-j', 'NFLOG', '--nflog-prefix', 'a:b', '--nflog-group', '100'] }), '-m comment --comment "it\\\'s" -j NFLOG --nflog-prefix "a:b" --nflog-group 100');
  assert.equal(renderRuleWords({ comment: 'a.b', args: ['-j', 'ACCEPT'] }), '-m comment --comment "a.b" -j ACCEPT');
  assert.equal(renderRuleWords({ comment: 'a/b-c_d', args: ['-j', 'ACCEPT'] }), '-m comment --comment "a/b-c_d" -j ACCEPT');
  assert.equal(renderRuleWords({ comment: '', args: ['-j', 'ACCEPT'] }), '-m comment --comment "" -j ACCEPT');
  assert.equal(renderRuleWords({ args: ['-m', 'string', '--algo', 'bm', '--string', 'GET /'] }), '-m string --algo bm --string "GET /"');
  assert.equal(renderRuleWords({ args: ['-m', 'foo', '--bar', 'has space', '--empty', ''] }), '-m foo --bar "has space" --empty ""');
});

test('counters are rendered only when asked', () => {
  const t: RestoreTable = { table: 'filter', chains: [{ name: 'INPUT', policy: 'DROP', counters: { packets: 3, bytes: 4 } }], ops: [{ kind: 'append', chain: 'INPUT', rule: { args: ['-j', 'ACCEPT'], counters: { packets: 1, bytes: 2 } } }] };
  assert.equal(renderRestoreTable(t), '*filter\n:INPUT DROP [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n');
  assert.equal(renderRestoreTable(t, { counters: true }), '*filter\n:INPUT DROP [3:4]\n[1:2] -A INPUT -j ACCEPT\nCOMMIT\n');
});

const invalid: { name: string; table: RestoreTable; error: RegExp }[] = [
  { name: 'a built-in chain declared without a policy (it would only be flushed without --noflush)', table: { table: 'nat', chains: [{ name: 'PREROUTING' }], ops: [] }, error: /declared without a policy/ },
  { name: 'a user chain with a policy', table: { table: 'filter', chains: [{ name: 'MINE', policy: 'DROP' }], ops: [] }, error: /cannot have a policy/ },
  { name: 'a chain name over 28 characters', table: { table: 'filter', chains: [{ name: 'X'.repeat(29) }], ops: [] }, error: /longer than 28/ },
  { name: 'a chain name with a space', table: { table: 'filter', chains: [], ops: [{ kind: 'flush', chain: 'A B' }] }, error: /whitespace/ },
  { name: 'a chain declared twice', table: { table: 'filter', chains: [{ name: 'A' }, { name: 'A' }], ops: [] }, error: /declared twice/ },
  { name: 'a line break in an argument', table: { table: 'filter', chains: [], ops: [{ kind: 'append', chain: 'INPUT', rule: { comment: 'a\nb', args: ['-j', 'ACCEPT'] } }] }, error: /line break/ },
  { name: 'insert position 0', table: { table: 'filter', chains: [], ops: [{ kind: 'insert', chain: 'INPUT', position: 0, rule: { args: ['-j', 'ACCEPT'] } }] }, error: /position 0/ },
  { name: 'deleting a built-in chain', table: { table: 'filter', chains: [], ops: [{ kind: 'deleteChain', chain: 'FORWARD' }] }, error: /built-in chain cannot be deleted/ },
];

for (const c of invalid) {
  test(`renderRestore refuses ${c.name}`, () => {
    assert.throws(() => renderRestore([c.table]), c.error);
  });
}

test('renderRestore refuses the same table twice in one input', () => {
  assert.throws(() => renderRestore([natForwarder, natForwarder]), /appears twice/);
});

test('restoreTableOf + renderSave describe the same state', () => {
  const t: Table = {
    name: 'filter',
    chains: [
      { name: 'INPUT', policy: 'ACCEPT', rules: [{ args: ['-j', 'MINE'] }] },
      { name: 'FORWARD', policy: 'DROP', rules: [] },
      { name: 'OUTPUT', policy: 'ACCEPT', rules: [] },
      { name: 'MINE', rules: [{ comment: 'hi', args: ['-s', '10.0.0.0/8', '-j', 'ACCEPT'] }] },
    ],
  };
  const save = renderSave([t]);
  assert.equal(save, '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:MINE - [0:0]\n-A INPUT -j MINE\n-A MINE -s 10.0.0.0/8 -m comment --comment hi -j ACCEPT\nCOMMIT\n');
  assert.equal(renderRestore([restoreTableOf(t)]), save, 'a full restore of a state is its save text');
  assert.equal(ruleTarget(t.chains[0]!.rules[0]!), 'MINE');
  assert.equal(ruleTarget({ args: ['-s', '1.2.3.4'] }), undefined);
});
