// T1: the rendered text applied to a real kernel in throwaway network namespaces, read back with
// iptables-save / ipset save, for both backends; and the backend probe run for real.
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, detectBackend, ipsetRestore, ipsetSave, iptablesRestore, iptablesSave, Kernel, toolsFor } from '../../src/adapter/index.ts';
import {
  commandsFor,
  renderRuleWords,
  CANDIDATE_BINARIES,
  type BackendMode,
  type FamilyCommands,
  type IpsetSet,
  type Ruleset,
  type TableName,
} from '../../src/index.ts';
import { filterFresh, filterUpdate, ipsetFresh, ipsetSwap, natForwarder6 } from '../../src/testing/index.ts';
import { Netns, requirePrerequisites } from './netns.ts';

const testdata = join(import.meta.dirname, '..', '..', 'testdata');
const goldenText = (name: string): string => readFileSync(join(testdata, `${name}.golden`), 'utf8');

/** table -> chain -> { policy, rules as restore words }: independent of the order chains are printed in. */
function view(rs: Ruleset, table: TableName): Record<string, { policy: string; rules: string[] }> {
  const t = rs.tables.find((x) => x.name === table);
  assert.ok(t, `table ${table} missing from save output`);
  return Object.fromEntries(t.chains.map((c) => [c.name, { policy: c.policy ?? '-', rules: c.rules.map((r) => renderRuleWords(r)) }]));
}

function setsView(sets: IpsetSet[]): Record<string, { type: string; family: string; members: string[] }> {
  return Object.fromEntries(
    sets.map((s) => [s.name, { type: s.type, family: s.options[s.options.indexOf('family') + 1] ?? '', members: s.members.map((m) => [m.value, ...(m.options ?? [])].join(' ')).sort() }]),
  );
}

const all = CANDIDATE_BINARIES.filter((b) => b.includes('-nft') || b.includes('-legacy'));

for (const mode of ['nft', 'legacy'] as BackendMode[]) {
  describe(`iptables ${mode}: golden restore inputs applied in a network namespace`, () => {
    const ns = new Netns(mode);
    let v4: FamilyCommands;
    let v6: FamilyCommands;
    beforeAll(() => {
      requirePrerequisites(['ip', 'ipset', ...all]);
      const cmds = commandsFor(mode, all)!;
      v4 = cmds.IPv4;
      v6 = cmds.IPv6;
      ns.create();
    });
    afterAll(() => ns.destroy());

    test('--test accepts the goldens and changes nothing', async () => {
      const r = ns.runner();
      await iptablesRestore(r, v4, goldenText('restore-filter-fresh') + goldenText('restore-nat-forwarder'), { test: true });
      await iptablesRestore(r, v6, goldenText('restore-nat-forwarder6'), { test: true });
      const saved = await iptablesSave(r, v4);
      assert.equal(saved.ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules)).length, 0, saved.text);
    });

    test('one restore of filter + nat reads back as rendered', async () => {
      const r = ns.runner();
      await iptablesRestore(r, v4, goldenText('restore-filter-fresh') + goldenText('restore-nat-forwarder'));
      const { ruleset } = await iptablesSave(r, v4);
      const f = view(ruleset, 'filter');
      const rulesOf = (chain: string): string[] => filterFresh.ops.flatMap((o) => (o.kind === 'append' && o.chain === chain ? [renderRuleWords(o.rule)] : []));
      assert.deepEqual(f['FORWARD'], { policy: 'ACCEPT', rules: ['-m comment --comment "kube-router netpol - TEMCG2JMHZYE7H7T" -j KUBE-ROUTER-FORWARD'] });
      for (const chain of ['KUBE-ROUTER-FORWARD', 'KUBE-POD-FW-QYUVA5AFBMRLTDZQ', 'PORTICO-TEST']) {
        assert.deepEqual(f[chain], { policy: '-', rules: rulesOf(chain) }, chain);
      }
      const n = view(ruleset, 'nat');
      assert.deepEqual(n['PREROUTING']!.rules, ['-m comment --comment "portico test" -j PORTICO-DNAT']);
      assert.deepEqual(n['POSTROUTING']!.rules, ['-j PORTICO-MASQ']);
      assert.deepEqual(n['PORTICO-DNAT']!.rules, ['-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:8080']);
      assert.deepEqual(n['PORTICO-MASQ']!.rules, ['-d 10.43.0.10/32 -p tcp -j MASQUERADE']);
    });

    test('--noflush update: declared chain refilled, built-in policy set but not flushed, rule and chain deleted', async () => {
      const r = ns.runner();
      await iptablesRestore(r, v4, [filterUpdate]);
      const f = view((await iptablesSave(r, v4, { table: 'filter' })).ruleset, 'filter');
      assert.deepEqual(f['FORWARD'], { policy: 'DROP', rules: [] });
      assert.equal(f['PORTICO-TEST'], undefined);
      assert.deepEqual(f['KUBE-ROUTER-FORWARD']!.rules, ['-d 10.42.0.10/32 -m comment --comment "x/a in" -j KUBE-POD-FW-QYUVA5AFBMRLTDZQ']);
      assert.equal(f['KUBE-POD-FW-QYUVA5AFBMRLTDZQ']!.rules.length, 4, 'chains not named in the input are untouched');
      assert.equal(f['INPUT']!.policy, 'ACCEPT');
    });

    test('a failing line aborts the restore: CommandError names the line, nothing of it is applied', async () => {
      const r = ns.runner();
      const before = (await iptablesSave(r, v4, { table: 'nat' })).ruleset;
      const bad = '*nat\n:PORTICO-DNAT - [0:0]\n-A PORTICO-DNAT -j NO-SUCH-CHAIN\nCOMMIT\n';
      await assert.rejects(iptablesRestore(r, v4, bad), (err: unknown) => err instanceof CommandError && err.failedLine !== undefined && err.failedLine >= 3);
      assert.deepEqual((await iptablesSave(r, v4, { table: 'nat' })).ruleset, before, 'PORTICO-DNAT kept its rules: the flush was not committed');
    });

    test('IPv6 through ip6tables reads back as rendered', async () => {
      const r = ns.runner();
      await iptablesRestore(r, v6, [natForwarder6]);
      const n = view((await iptablesSave(r, v6, { table: 'nat' })).ruleset, 'nat');
      assert.deepEqual(n['PORTICO-DNAT']!.rules, ['-p udp -m udp --dport 53 -j DNAT --to-destination [fd00:43::10]:5353']);
      assert.deepEqual(n['PORTICO-MASQ']!.rules, ['-d fd00:43::10/128 -p udp -j MASQUERADE']);
      assert.deepEqual(n['PREROUTING']!.rules, ['-j PORTICO-DNAT']);
      // The IPv4 nat table still holds what the IPv4 restore put there.
      assert.deepEqual(view((await iptablesSave(r, v4, { table: 'nat' })).ruleset, 'nat')['PORTICO-DNAT']!.rules, ['-p tcp -m tcp --dport 80 -j DNAT --to-destination 10.43.0.10:8080']);
    });
  });
}

describe('ipset: golden restore inputs applied in a network namespace', () => {
  const ns = new Netns('ipset');
  beforeAll(() => {
    requirePrerequisites(['ip', 'ipset']);
    ns.create();
  });
  afterAll(() => ns.destroy());

  test('create/add with timeout 0, family inet6, nomatch and comment read back', async () => {
    const r = ns.runner();
    await ipsetRestore(r, goldenText('ipset-fresh'));
    await ipsetRestore(r, ipsetFresh); // -exist: applying the same input again is a no-op
    assert.deepEqual(setsView(await ipsetSave(r)), {
      'KUBE-DST-MDEC3MZ655UIVZJP': { type: 'hash:ip', family: 'inet', members: ['10.42.0.10 timeout 0', '10.42.0.11 timeout 0'] },
      'inet6:KUBE-DST-XEJCS2MW7WUDQSPY': { type: 'hash:net', family: 'inet6', members: ['fd00:1::/32 timeout 0 nomatch comment except block', 'fd00::/8 timeout 0'] },
    });
  });

  test('swap through the TMP set replaces the members; the TMP set is gone', async () => {
    const r = ns.runner();
    await ipsetRestore(r, ipsetSwap);
    const sets = setsView(await ipsetSave(r));
    assert.deepEqual(sets['KUBE-DST-MDEC3MZ655UIVZJP']!.members, ['10.42.0.12 timeout 0']);
    assert.deepEqual(Object.keys(sets).sort(), ['KUBE-DST-MDEC3MZ655UIVZJP', 'inet6:KUBE-DST-XEJCS2MW7WUDQSPY']);
  });

  test('set headers (ipset list -t) give each set its type, family and member count, as ipset save holds them', async () => {
    const kernel = new Kernel(ns.runner(), toolsFor('system'));
    const headers = await kernel.readSetHeaders();
    const sets = await kernel.readSets();
    assert.deepEqual(
      [...headers.values()].map((h) => [h.name, h.type, h.family, h.size]).sort(),
      [...sets.values()].map((s) => [s.name, s.type, s.family, s.entries.size]).sort(),
    );
    assert.ok(headers.size > 0);
  });

  test('ipset restore failure names the line', async () => {
    const r = ns.runner();
    await assert.rejects(ipsetRestore(r, 'flush KUBE-DST-MDEC3MZ655UIVZJP\nadd no-such-set 1.2.3.4\n'), (err: unknown) => err instanceof CommandError && err.failedLine === 2);
  });
});

describe('backend probe for real in a network namespace', () => {
  const ns = new Netns('probe');
  beforeAll(() => {
    requirePrerequisites(['ip', ...all]);
    ns.create();
  });
  afterAll(() => ns.destroy());

  test('fresh namespace: nft (nf_tables answers), whatever lsmod says', async () => {
    const { facts, decision } = await detectBackend(ns.runner());
    assert.equal(facts.nftUsable, true);
    assert.equal(facts.nftRules, 0);
    assert.ok(decision.ok && decision.backend.mode === 'nft', JSON.stringify({ facts, decision }));
    assert.equal(decision.backend.commands.IPv6.restore, 'ip6tables-nft-restore');
  });

  test('rules in the legacy backend make it pick legacy; more nft rules flip it back', async () => {
    const legacy = commandsFor('legacy', all)!;
    const nft = commandsFor('nft', all)!;
    await iptablesRestore(ns.runner(), legacy.IPv4, '*filter\n:L - [0:0]\n-A L -j RETURN\nCOMMIT\n');
    const first = await detectBackend(ns.runner());
    assert.equal(first.facts.legacyLoaded, true);
    assert.equal(first.facts.legacyRules, 1);
    assert.ok(first.decision.ok && first.decision.backend.mode === 'legacy', JSON.stringify(first));
    await iptablesRestore(ns.runner(), nft.IPv6, '*filter\n:N - [0:0]\n-A N -j RETURN\n-A N -j RETURN\nCOMMIT\n');
    const second = await detectBackend(ns.runner());
    assert.equal(second.facts.nftRules, 2);
    assert.ok(second.decision.ok && second.decision.backend.mode === 'nft', JSON.stringify(second));
    const forced = await detectBackend(ns.runner(), { override: 'legacy' });
    assert.ok(forced.decision.ok && forced.decision.backend.mode === 'legacy');
  });
});
