import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetpolPlanner, renderNetpol, type FamilyState, type NetpolConfig, type NetpolSnapshot } from '@portico/netpol';
import { expectGolden } from '@portico/testing';
import { node, ns, pod, policy, snapshot } from '../testing/fixtures.ts';
import {
  editScript,
  formatObservedSets as formatIpsetSave,
  formatObservedTable as formatFilterTable,
  isEmptyPlan,
  parseObservedSets as parseIpsetSave,
  parseObservedTable as parseFilterTable,
  planText,
  PlanError,
  tmpSetName as tmpSetFor,
  type FamilyPlan,
  type KernelFamily,
  type ObservedSet,
  type PlanOptions,
} from '@portico/iptables';

// The planner of libs/iptables with netpol's ownership, as the agent runs it: one planner (one memo)
// for every plan of this file, like the agent's Syncer; with options, a fresh one.
const planner = new NetpolPlanner();
const planFamily = (d: FamilyState, k: KernelFamily, opts?: PlanOptions): FamilyPlan => (opts ? new NetpolPlanner(opts) : planner).plan(d, k);

const golden = (name: string): string => fileURLToPath(new URL(`../testdata/${name}.golden`, import.meta.url));

const CONFIG: NetpolConfig = { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: false };

function base(extra: Partial<NetpolSnapshot> = {}): NetpolSnapshot {
  return snapshot({
    nodes: [node('n1', ['192.168.1.1', 'fd00::1'], ['10.42.0.0/24', 'fd42::/64'])],
    namespaces: [ns('x'), ns('y', { team: 'y' })],
    pods: [
      pod('x', 'a', { pod: 'a' }, 'n1', ['10.42.0.10', 'fd42::10'], { ports: [{ name: 'http', containerPort: 8080 }] }),
      pod('x', 'b', { pod: 'b' }, 'n2', ['10.42.1.11', 'fd42:1::11']),
      pod('y', 'c', { pod: 'c' }, 'n1', ['10.42.0.12', 'fd42::12']),
      ...(extra.pods ?? []),
    ],
    networkPolicies: [
      policy('x', 'allow-b', {
        podSelector: { matchLabels: { pod: 'a' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: 'b' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }] }],
      }),
      ...(extra.networkPolicies ?? []),
    ],
  });
}

function desired(snap: NetpolSnapshot, family: 'IPv4' | 'IPv6' = 'IPv4', cfg: NetpolConfig = CONFIG): FamilyState {
  const d = renderNetpol(snap, cfg);
  const f = d.families.find((x) => x.family === family);
  assert.ok(f, `no ${family} state`);
  return f;
}

const EMPTY = (family: 'IPv4' | 'IPv6'): KernelFamily => ({ family, table: { chains: new Map() }, sets: new Map() });

/** Round-trips a kernel model through the save text formats (what a real read would return). */
function reread(k: KernelFamily): KernelFamily {
  return { family: k.family, table: parseFilterTable(formatFilterTable(k.table)), sets: parseIpsetSave(formatIpsetSave(k.sets.values())) };
}

describe('planFamily', () => {
  it('creates everything on an empty kernel (golden), in both families', () => {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const p = planFamily(desired(base(), family), EMPTY(family));
      expectGolden(golden(`plan-create-${family}`), planText(p));
      assert.equal(p.shrink.length, 0);
      assert.equal(p.grow.length, 0);
      assert.match(p.iptables, /^-I INPUT 1 -m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-INPUT$/m);
    }
  });

  it('skipping unchanged chains by identity never hides a kernel that differs (re-read with a flushed chain)', () => {
    const d = desired(base());
    const first = planFamily(d, EMPTY('IPv4'));
    assert.ok(isEmptyPlan(planFamily(d, first.after)), 'same objects: nothing to do');
    // The same desired objects against a re-read kernel in which someone flushed a policy chain.
    const k = reread(first.after);
    const victim = [...k.table.chains.values()].find((c) => c.name.startsWith('KUBE-NWPLCY-') && c.rules.length > 0 && !/COMMON|DEFAULT|TAIL/.test(c.name))!;
    assert.ok(victim, 'a policy chain with rules');
    const chains = new Map(k.table.chains);
    chains.set(victim.name, { ...victim, rules: [] });
    const repair = planFamily(d, { ...k, table: { chains } });
    assert.match(repair.iptables, new RegExp(`^:${victim.name} - \\[0:0\\]$`, 'm'), planText(repair));
    assert.equal(repair.summary.chainsRewritten, 1);
  });

  it('plans nothing when the kernel already holds the desired state (model and re-read text)', () => {
    for (const family of ['IPv4', 'IPv6'] as const) {
      const d = desired(base(), family);
      const first = planFamily(d, EMPTY(family));
      const again = planFamily(d, first.after);
      assert.ok(isEmptyPlan(again), planText(again));
      const fromText = planFamily(d, reread(first.after));
      assert.ok(isEmptyPlan(fromText), planText(fromText));
    }
  });

  it('treats rules written in kube-router spelling as equal (semantic comparison)', () => {
    const d = desired(base());
    const k = reread(planFamily(d, EMPTY('IPv4')).after);
    const pod = [...k.table.chains.values()].find((c) => c.name.startsWith('KUBE-POD-FW-'))!;
    // kube-router writes --set-mark 0/0x10000, --limit 10/minute and a bare REJECT.
    const i = pod.rules.findIndex((r) => r.includes('--set-xmark 0x0/0x10000'));
    pod.rules[i] = '-j MARK --set-mark 0/0x10000';
    const j = pod.rules.findIndex((r) => r.includes('--limit 10/min'));
    pod.rules[j] = pod.rules[j]!.replace('--limit 10/min', '--limit 10/minute');
    const r = pod.rules.findIndex((x) => x.includes('--reject-with'));
    pod.rules[r] = pod.rules[r]!.replace(' --reject-with icmp-port-unreachable', '');
    const p = planFamily(d, k);
    assert.ok(isEmptyPlan(p), planText(p));
  });

  it('a new local pod: sets grow after the rules, large chains are edited in place (golden)', () => {
    const before = planFamily(desired(base()), EMPTY('IPv4')).after;
    const more = base({ pods: [pod('x', 'a2', { pod: 'a' }, 'n1', ['10.42.0.20', 'fd42::20'])] });
    const p = planFamily(desired(more), before, { editMinRules: 4 });
    expectGolden(golden('plan-add-pod-IPv4'), planText(p));
    assert.deepEqual(p.shrink, [], 'adding a pod only grows sets');
    assert.ok(p.grow.includes('add KUBE-DST-6O4XBNJWGZSJTKKU 10.42.0.20'), p.grow.join('\n'));
    assert.equal(p.summary.chainsCreated, 1, 'the new pod chain');
    assert.ok(p.summary.chainsEdited >= 1, 'KUBE-ROUTER-* edited, not rewritten');
    assert.doesNotMatch(p.iptables, /^:KUBE-ROUTER-FORWARD/m);
    assert.ok(isEmptyPlan(planFamily(desired(more), p.after, { editMinRules: 4 })));
  });

  it('a deleted policy: its chain goes in the same transaction, its sets only afterwards (golden)', () => {
    const before = planFamily(desired(base()), EMPTY('IPv4')).after;
    const none = { ...base(), networkPolicies: [] };
    const p = planFamily(desired(none), before);
    expectGolden(golden('plan-delete-policy-IPv4'), planText(p));
    assert.match(p.iptables, /^-X KUBE-NWPLCY-77JOZBCGT3VZUAKI$/m);
    assert.equal(p.summary.setsDestroyed, 3);
    assert.ok(p.finish.every((l) => l.startsWith('destroy ')));
    assert.equal(p.stage.length, 0);
  });

  it('moves a misplaced or duplicated built-in jump to position 1 without touching foreign rules', () => {
    const d = desired(base());
    const k = reread(planFamily(d, EMPTY('IPv4')).after);
    const fwd = k.table.chains.get('FORWARD')!;
    const jump = fwd.rules[0]!;
    fwd.rules.splice(0, 1, '-s 192.0.2.0/24 -j DROP', jump, '-j ACCEPT', jump);
    const p = planFamily(d, k);
    assert.equal(
      p.iptables,
      ['*filter', `-D FORWARD ${jump}`, `-D FORWARD ${jump}`, `-I FORWARD 1 ${jump}`, 'COMMIT', ''].join('\n'),
    );
    assert.deepEqual(p.after.table.chains.get('FORWARD')!.rules, [jump, '-s 192.0.2.0/24 -j DROP', '-j ACCEPT']);
    assert.ok(isEmptyPlan(planFamily(d, p.after)));
  });

  it('k3s fork placement: the ACCEPT rule goes after the last KUBE rule of the built-in chain', () => {
    const cfg: NetpolConfig = { ...CONFIG, acceptPlacement: 'after-kube-rules' };
    const d = desired(base(), 'IPv4', cfg);
    const after = d.builtinRules.filter((b) => b.placement === 'after-last-kube');
    assert.equal(after.length, 3, 'one ACCEPT per built-in chain');
    const k: KernelFamily = {
      family: 'IPv4',
      table: parseFilterTable(
        ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]', ':KUBE-FORWARD - [0:0]', '-A FORWARD -j KUBE-FORWARD', '-A FORWARD -j DROP', 'COMMIT'].join('\n'),
      ),
      sets: new Map(),
    };
    const p = planFamily(d, k);
    const fwd = p.after.table.chains.get('FORWARD')!.rules;
    assert.match(fwd[0]!, /-j KUBE-ROUTER-FORWARD$/);
    assert.equal(fwd[1], '-j KUBE-FORWARD');
    assert.match(fwd[2]!, /KUBE-ROUTER rule to explicitly ACCEPT/);
    assert.equal(fwd[3], '-j DROP');
    assert.match(p.iptables, /^-I FORWARD 3 .*KUBE-ROUTER rule to explicitly ACCEPT/m);
    assert.ok(isEmptyPlan(planFamily(d, reread(p.after))));
  });

  it('keeps a stale chain or set that a foreign rule still references (emptied, not deleted)', () => {
    const before = reread(planFamily(desired(base()), EMPTY('IPv4')).after);
    const policyChain = 'KUBE-NWPLCY-77JOZBCGT3VZUAKI';
    const targetSet = 'KUBE-DST-6O4XBNJWGZSJTKKU';
    before.table.chains.set('USER', { name: 'USER', policy: '-', rules: [`-j ${policyChain}`, `-m set --match-set ${targetSet} dst -j ACCEPT`] });
    const p = planFamily(desired({ ...base(), networkPolicies: [] }), before);
    assert.doesNotMatch(p.iptables, new RegExp(`-X ${policyChain}`));
    assert.match(p.iptables, new RegExp(`^:${policyChain} - \\[0:0\\]$`, 'm'));
    assert.ok(!p.finish.includes(`destroy ${targetSet}`));
    assert.deepEqual(
      p.warnings.map((w) => [w.event, w.name]),
      [
        ['staleChainInUse', policyChain],
        ['staleSetInUse', targetSet],
      ],
    );
  });

  it('never touches foreign chains and sets, and destroys leftover temporary sets', () => {
    const k = reread(planFamily(desired(base()), EMPTY('IPv4')).after);
    k.table.chains.set('KUBE-SERVICES', { name: 'KUBE-SERVICES', policy: '-', rules: ['-j RETURN'] });
    const sets = new Map(k.sets);
    const foreign: ObservedSet = { name: 'cali40all', type: 'hash:net', family: 'inet', options: new Map(), entries: new Map([['10.0.0.0/8', false]]) };
    const leftover: ObservedSet = { name: tmpSetFor('KUBE-DST-GONE'), type: 'hash:ip', family: 'inet', options: new Map(), entries: new Map() };
    sets.set(foreign.name, foreign);
    sets.set(leftover.name, leftover);
    const p = planFamily(desired(base()), { ...k, sets });
    assert.equal(p.iptables, '');
    assert.deepEqual(p.finish, [`destroy ${leftover.name}`]);
    assert.equal(p.after.sets.get('cali40all'), foreign);
  });

  it('set changes: restrictive half first, permissive half after the rules, nomatch handled (table)', () => {
    const cases: { name: string; old: [string, boolean][]; want: [string, boolean][]; shrink: string[]; grow: string[] }[] = [
      { name: 'add one', old: [['10.0.0.0/8', false]], want: [['10.0.0.0/8', false], ['11.0.0.0/8', false]], shrink: [], grow: ['add S 11.0.0.0/8'] },
      { name: 'remove one', old: [['10.0.0.0/8', false], ['11.0.0.0/8', false]], want: [['10.0.0.0/8', false]], shrink: ['del S 11.0.0.0/8'], grow: [] },
      { name: 'new except', old: [['10.0.0.0/8', false]], want: [['10.0.0.0/8', false], ['10.1.0.0/16', true]], shrink: ['add S 10.1.0.0/16 nomatch'], grow: [] },
      { name: 'except dropped', old: [['10.0.0.0/8', false], ['10.1.0.0/16', true]], want: [['10.0.0.0/8', false]], shrink: [], grow: ['del S 10.1.0.0/16'] },
      { name: 'normal becomes except', old: [['10.1.0.0/16', false]], want: [['10.1.0.0/16', true]], shrink: ['del S 10.1.0.0/16', 'add S 10.1.0.0/16 nomatch'], grow: [] },
      { name: 'except becomes normal', old: [['10.1.0.0/16', true]], want: [['10.1.0.0/16', false]], shrink: [], grow: ['del S 10.1.0.0/16', 'add S 10.1.0.0/16'] },
    ];
    for (const c of cases) {
      const d: FamilyState = {
        family: 'IPv4',
        chains: [],
        builtinRules: [],
        ipsets: [{ name: 'KUBE-SRC-S', type: 'hash:net', family: 'inet', entries: c.want.map(([addr, nomatch]) => ({ addr, nomatch })) }],
      };
      const k: KernelFamily = {
        family: 'IPv4',
        table: { chains: new Map() },
        sets: new Map([['KUBE-SRC-S', { name: 'KUBE-SRC-S', type: 'hash:net', family: 'inet', options: new Map([['timeout', '0']]), entries: new Map(c.old) }]]),
      };
      const p = planFamily(d, k);
      const fix = (l: string): string => l.replace('KUBE-SRC-S', 'S');
      assert.deepEqual(p.shrink.map((o) => fix(o.line)), c.shrink, `${c.name}: shrink`);
      assert.deepEqual(p.grow.map(fix), c.grow, `${c.name}: grow`);
      assert.equal(p.stage.length, 0, `${c.name}: no temporary set for small changes`);
    }
  });

  it('swaps through a temporary set holding the intersection when most entries go, or the type changes', () => {
    const old = Array.from({ length: 40 }, (_, i) => `10.0.0.${i + 1}`);
    const want = ['10.0.0.1', '10.0.0.2', '10.0.9.9'];
    const d: FamilyState = {
      family: 'IPv4',
      chains: [],
      builtinRules: [],
      ipsets: [{ name: 'KUBE-DST-S', type: 'hash:ip', family: 'inet', entries: want.map((addr) => ({ addr })) }],
    };
    const k: KernelFamily = {
      family: 'IPv4',
      table: { chains: new Map() },
      sets: new Map([['KUBE-DST-S', { name: 'KUBE-DST-S', type: 'hash:ip', family: 'inet', options: new Map(), entries: new Map(old.map((e) => [e, false])) }]]),
    };
    const tmp = tmpSetFor('KUBE-DST-S');
    const p = planFamily(d, k);
    assert.deepEqual(p.stage, [`create ${tmp} hash:ip family inet timeout 0`, `add ${tmp} 10.0.0.1`, `add ${tmp} 10.0.0.2`]);
    assert.deepEqual(p.shrink, [{ line: `swap ${tmp} KUBE-DST-S`, inverse: `swap ${tmp} KUBE-DST-S` }]);
    assert.deepEqual(p.grow, ['add KUBE-DST-S 10.0.9.9']);
    assert.deepEqual(p.finish, [`destroy ${tmp}`]);
    assert.deepEqual(p.created, [tmp]);

    const typeChange = planFamily({ ...d, ipsets: [{ ...d.ipsets[0]!, type: 'hash:net' }] }, k);
    assert.match(typeChange.stage[0]!, new RegExp(`^create ${tmp} hash:net `));
    assert.equal(typeChange.summary.setsSwapped, 1);
  });

  it('rejects an inconsistent desired state instead of writing it', () => {
    const d = desired(base());
    const badJump: FamilyState = { ...d, chains: d.chains.filter((c) => c.name !== 'KUBE-NWPLCY-COMMON') };
    assert.throws(() => planFamily(badJump, EMPTY('IPv4')), (e: unknown) => e instanceof PlanError && /KUBE-NWPLCY-COMMON/.test(e.message));
    const badSet: FamilyState = { ...d, ipsets: d.ipsets.slice(1) };
    assert.throws(() => planFamily(badSet, EMPTY('IPv4')), PlanError);
    const foreignName: FamilyState = { ...d, chains: [...d.chains, { name: 'MY-CHAIN', rules: [] }] };
    assert.throws(() => planFamily(foreignName, EMPTY('IPv4')), /not a Portico-owned name/);
    const unmarked: FamilyState = { ...d, builtinRules: [{ chain: 'INPUT', placement: 'first', rule: { target: { kind: 'ACCEPT' } } }] };
    assert.throws(() => planFamily(unmarked, EMPTY('IPv4')), /KUBE-ROUTER/);
  });

  it('cleanup (empty desired state) removes every owned object and nothing else (golden)', () => {
    const k = reread(planFamily(desired(base()), EMPTY('IPv4')).after);
    k.table.chains.get('INPUT')!.rules.push('-s 192.0.2.1/32 -j DROP');
    const p = planFamily({ family: 'IPv4', chains: [], ipsets: [], builtinRules: [] }, k);
    expectGolden(golden('plan-cleanup-IPv4'), planText(p));
    assert.deepEqual([...p.after.table.chains.keys()], ['INPUT', 'FORWARD', 'OUTPUT']);
    assert.deepEqual(p.after.table.chains.get('INPUT')!.rules, ['-s 192.0.2.1/32 -j DROP']);
    assert.equal(p.after.sets.size, 0);
  });
});

describe('editScript', () => {
  const cases: { name: string; from: string[]; to: string[]; deletes: string[]; inserts: [number, string][] }[] = [
    { name: 'equal', from: ['a', 'b', 'c'], to: ['a', 'b', 'c'], deletes: [], inserts: [] },
    { name: 'insert middle', from: ['a', 'c'], to: ['a', 'b', 'c'], deletes: [], inserts: [[2, 'b']] },
    { name: 'delete middle', from: ['a', 'b', 'c'], to: ['a', 'c'], deletes: ['b'], inserts: [] },
    { name: 'replace', from: ['a', 'x', 'c'], to: ['a', 'y', 'c'], deletes: ['x'], inserts: [[2, 'y']] },
    { name: 'move', from: ['a', 'b', 'c', 'd'], to: ['b', 'c', 'd', 'a'], deletes: ['a'], inserts: [[4, 'a']] },
    { name: 'duplicates', from: ['a', 'a', 'b'], to: ['a', 'b', 'a'], deletes: ['a'], inserts: [[3, 'a']] },
    { name: 'from empty', from: [], to: ['a', 'b'], deletes: [], inserts: [[1, 'a'], [2, 'b']] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = editScript(c.from, c.to, false);
      assert.deepEqual(e.deletes, c.deletes);
      assert.deepEqual(e.inserts.map((i) => [i.pos, i.text]), c.inserts);
      // Applying the script gives the target.
      const list = c.from.slice();
      for (const d of e.deletes) list.splice(list.indexOf(d), 1);
      for (const i of e.inserts) list.splice(i.pos - 1, 0, i.text);
      assert.deepEqual(list, c.to);
    });
  }
});
