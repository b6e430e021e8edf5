import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createSetLines, isEmptyPlan, KernelPlanner, neededHashsize, PlanError, planText, setHeaderDrift, type DesiredFamily, type KernelFamily, type Ownership } from './planner.ts';
import { parseObservedSetHeaders, parseObservedSets, parseObservedTable } from './observed.ts';

// The planner for a caller other than netpol: a nat-table component with one chain and one jump.
const OWN: Ownership = { table: 'nat', ownsChain: (c) => c.startsWith('DEMO-'), ownsSet: (s) => s.startsWith('DEMO-'), builtinMarker: 'demo jump', afterMarker: 'demo jump' };

const desired = (port: string): DesiredFamily => ({
  family: 'IPv4',
  ipsets: [],
  chains: [{ name: 'DEMO-DNAT', rules: [{ args: ['-p', 'tcp', '-m', 'tcp', '--dport', port, '-j', 'DNAT', '--to-destination', '10.0.0.1:80'] }] }],
  builtinRules: [{ chain: 'PREROUTING', placement: 'first', rule: { comment: 'demo jump', args: ['-j', 'DEMO-DNAT'] } }],
});

const kernel = (save: string): KernelFamily => ({ family: 'IPv4', table: parseObservedTable(save, 'test', 'nat'), sets: new Map() });

const EMPTY = kernel('');

describe('KernelPlanner with a caller-defined ownership', () => {
  it('a fresh table: the chain declared and filled, the jump inserted at position 1, in the nat table', () => {
    const p = new KernelPlanner(OWN).plan(desired('80'), EMPTY);
    assert.equal(p.tableName, 'nat');
    assert.equal(
      p.iptables,
      '*nat\n:DEMO-DNAT - [0:0]\n-I PREROUTING 1 -m comment --comment "demo jump" -j DEMO-DNAT\n-A DEMO-DNAT -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n',
    );
  });

  it('the state it leaves (as iptables-save prints it) plans to nothing; a changed port rewrites only the chain', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DEMO-DNAT - [0:0]\n-A PREROUTING -m comment --comment "demo jump" -j DEMO-DNAT\n-A PREROUTING -j FOREIGN\n-A DEMO-DNAT -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n';
    const planner = new KernelPlanner(OWN);
    assert.ok(isEmptyPlan(planner.plan(desired('80'), kernel(save))), planText(planner.plan(desired('80'), kernel(save))));
    const p = planner.plan(desired('8080'), kernel(save));
    assert.equal(p.iptables, '*nat\n:DEMO-DNAT - [0:0]\n-A DEMO-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n');
    assert.equal(p.summary.chainsRewritten, 1);
  });

  it('a stale owned chain is flushed and deleted; foreign chains are not touched', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:DEMO-OLD - [0:0]\n:OTHER - [0:0]\n-A DEMO-OLD -j RETURN\n-A OTHER -j RETURN\nCOMMIT\n';
    const p = new KernelPlanner(OWN).plan({ family: 'IPv4', ipsets: [], chains: [], builtinRules: [] }, kernel(save));
    assert.equal(p.iptables, '*nat\n:DEMO-OLD - [0:0]\n-X DEMO-OLD\nCOMMIT\n');
  });

  it('jumpsAreOwned: a duplicate or an older jump to an owned chain is replaced; without it, it is foreign', () => {
    const save = '*nat\n:PREROUTING ACCEPT [0:0]\n:DEMO-DNAT - [0:0]\n-A PREROUTING -m comment --comment "old" -j DEMO-DNAT\n-A DEMO-DNAT -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.1:80\nCOMMIT\n';
    const owned = new KernelPlanner({ ...OWN, jumpsAreOwned: true }).plan(desired('80'), kernel(save));
    assert.deepEqual(owned.iptables.split('\n').filter((l) => /^-[ID] /.test(l)), ['-D PREROUTING -m comment --comment "old" -j DEMO-DNAT', '-I PREROUTING 1 -m comment --comment "demo jump" -j DEMO-DNAT']);
    const foreign = new KernelPlanner(OWN).plan(desired('80'), kernel(save));
    assert.deepEqual(foreign.iptables.split('\n').filter((l) => /^-[ID] /.test(l)), ['-I PREROUTING 1 -m comment --comment "demo jump" -j DEMO-DNAT']);
  });

  it('refuses a built-in rule without the marker, a jump to an owned chain that is not desired, and a chain of another table', () => {
    const p = new KernelPlanner(OWN);
    const unmarked: DesiredFamily = { ...desired('80'), builtinRules: [{ chain: 'PREROUTING', placement: 'first', rule: { args: ['-j', 'DEMO-DNAT'] } }] };
    assert.throws(() => p.plan(unmarked, EMPTY), (e: unknown) => e instanceof PlanError && /does not contain demo jump/.test(e.message));
    const dangling: DesiredFamily = { ...desired('80'), chains: [{ name: 'DEMO-DNAT', rules: [{ args: ['-j', 'DEMO-MISSING'] }] }] };
    assert.throws(() => p.plan(dangling, EMPTY), /jumps to DEMO-MISSING, which is not a desired chain/);
    const wrongTable: DesiredFamily = { ...desired('80'), builtinRules: [{ chain: 'FORWARD', placement: 'first', rule: { comment: 'demo jump', args: ['-j', 'DEMO-DNAT'] } }] };
    assert.throws(() => p.plan(wrongTable, EMPTY), /FORWARD is not a built-in chain of the nat table/);
  });

  it('two planners share no memo; reset() forgets', () => {
    const a = new KernelPlanner(OWN);
    const b = new KernelPlanner(OWN);
    const d = desired('80');
    const first = a.plan(d, EMPTY);
    assert.ok(isEmptyPlan(a.plan(d, first.after)));
    assert.ok(isEmptyPlan(b.plan(d, first.after)), 'equal content compares equal without the memo too');
    a.reset();
    assert.ok(isEmptyPlan(a.plan(d, first.after)));
  });
});

describe('setHeaderDrift (the cheap check of a model\'s sets)', () => {
  const model: KernelFamily = {
    family: 'IPv4',
    table: { chains: new Map() },
    sets: parseObservedSets('create DEMO-A hash:ip family inet timeout 0\nadd DEMO-A 10.0.0.1\nadd DEMO-A 10.0.0.2\ncreate DEMO-B hash:net family inet timeout 0\ncreate OTHER hash:ip family inet\n'),
  };
  const block = (name: string, type: string, family: string, n: number): string => `Name: ${name}\nType: ${type}\nRevision: 6\nHeader: family ${family} hashsize 1024 maxelem 65536 timeout 0\nSize in memory: 1\nReferences: 0\nNumber of entries: ${n}\n`;
  const check = (...blocks: string[]): string[] => setHeaderDrift(model, parseObservedSetHeaders(blocks.join('\n')), OWN);

  it('nothing when every owned set of the family exists with its type and member count; foreign and other-family sets do not count', () => {
    assert.deepEqual(check(block('DEMO-A', 'hash:ip', 'inet', 2), block('DEMO-B', 'hash:net', 'inet', 0), block('OTHER', 'hash:ip', 'inet', 9), block('inet6:DEMO-C', 'hash:ip', 'inet6', 3)), []);
  });

  it('names a missing set, another member count, another type, and an owned set the model does not hold (or a leftover TMP set)', () => {
    assert.deepEqual(check(block('DEMO-A', 'hash:ip', 'inet', 2)), ['DEMO-B']);
    assert.deepEqual(check(block('DEMO-A', 'hash:ip', 'inet', 1), block('DEMO-B', 'hash:net', 'inet', 0)), ['DEMO-A']);
    assert.deepEqual(check(block('DEMO-A', 'hash:net', 'inet', 2), block('DEMO-B', 'hash:net', 'inet', 0)), ['DEMO-A']);
    assert.deepEqual(check(block('DEMO-A', 'hash:ip', 'inet', 2), block('DEMO-B', 'hash:net', 'inet', 0), block('DEMO-X', 'hash:ip', 'inet', 0), block('TMP-AAAAAAAAAAAAAAAA', 'hash:ip', 'inet', 0)), ['DEMO-X', 'TMP-AAAAAAAAAAAAAAAA']);
  });
});

describe('set creation size', () => {
  const set = (n: number) => ({ name: 'DEMO-S', type: 'hash:ip', family: 'inet' as const, entries: Array.from({ length: n }, (_, i) => ({ addr: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` })) });

  it('ipset defaults up to 2,048 members; above, a hash size of at least half the members and a maxelem of at least all of them', () => {
    assert.deepEqual([0, 2048, 2049, 5000, 8192, 8193, 200_000].map(neededHashsize), [1024, 1024, 2048, 4096, 4096, 8192, 131072]);
    assert.equal(createSetLines(set(3))[0], 'create DEMO-S hash:ip family inet timeout 0');
    assert.equal(createSetLines(set(5000))[0], 'create DEMO-S hash:ip family inet hashsize 4096 timeout 0');
    assert.equal(createSetLines(set(70_000))[0], 'create DEMO-S hash:ip family inet hashsize 65536 timeout 0 maxelem 131072');
  });
});
