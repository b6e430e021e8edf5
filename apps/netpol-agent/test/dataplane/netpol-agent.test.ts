/**
 * T1: netpol-agent against real iptables/ip6tables and ipset in network namespaces, with real TCP
 * and UDP traffic in both families.
 *
 * Two node namespaces (see topology.ts) each run `netpol-agent apply` for their own pods; every pod
 * and both nodes probe every pod (and the nodes) on TCP 80, 8080, 9002 and UDP 53, and the result
 * must equal the NetworkPolicy oracle (`evaluate` from @portico/netpol). The scenarios run in
 * sequence, so each apply is also a transition from the previous state (stale chains and sets go,
 * sets shrink and grow, large chains are edited in place).
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netpol } from '@portico/labels';
import { targetSetName, type NetworkPolicy } from '@portico/netpol';
import { policy } from '../../src/testing/fixtures.ts';
import { Cluster } from './cluster.ts';
import { SCENARIOS, generatedBatch } from './scenarios.ts';
import { checkPrerequisites, sh } from './topology.ts';

const TAG = String(process.pid % 100000);

describe('netpol-agent data plane (T1): real traffic vs the oracle, IPv4 and IPv6', () => {
  let cluster: Cluster;
  /** n1's kernel state before the agent ever ran (with unrelated rules and sets of "someone else"). */
  let pristine = '';

  beforeAll(async () => {
    checkPrerequisites(['ip', 'iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore', 'iptables-nft-restore', 'ipset', 'sed', 'conntrack', 'iptables-legacy-save']);
    cluster = new Cluster(TAG);
    await cluster.start();
    // Rules and sets that belong to someone else; the agent must never touch them.
    const n1 = cluster.topo.nodes['n1']!.netns;
    for (const [cmd, net] of [
      ['iptables', '198.51.100.0/24'],
      ['ip6tables', '2001:db8:51::/48'],
    ] as const) {
      sh(n1, cmd, ['-N', 'USER-CHAIN']);
      sh(n1, cmd, ['-A', 'USER-CHAIN', '-s', net, '-j', 'DROP']);
      sh(n1, cmd, ['-A', 'FORWARD', '-j', 'USER-CHAIN']);
      sh(n1, cmd, ['-A', 'INPUT', '-s', net, '-j', 'DROP']);
      sh(n1, cmd, ['-t', 'nat', '-A', 'POSTROUTING', '-s', net, '-j', 'MASQUERADE']);
    }
    sh(n1, 'ipset', ['create', 'user-set', 'hash:net']);
    sh(n1, 'ipset', ['add', 'user-set', '198.51.100.0/24']);
    sh(n1, 'ipset', ['create', 'TMP-user', 'hash:ip']);
    sh(n1, 'iptables', ['-A', 'OUTPUT', '-m', 'set', '--match-set', 'user-set', 'dst', '-j', 'DROP']);
    pristine = cluster.kernelState('n1');
  });

  afterAll(() => cluster?.destroy());

  let current: readonly NetworkPolicy[] = [];

  // The oracle judges new connections. Flows a previous scenario allowed stay allowed by conntrack
  // (ESTABLISHED is accepted first, as in kube-router: a new policy does not cut a live flow), and a
  // UDP probe that happens to reuse a recent source port would ride on such an entry. So every
  // scenario starts with empty conntrack tables in the node namespaces, where the rules live.
  const flushConntrack = (): void => {
    for (const node of Object.values(cluster.topo.nodes)) sh(node.netns, 'conntrack', ['-F']);
  };

  const probe = (policies: readonly NetworkPolicy[]) => {
    flushConntrack();
    return cluster.checkAgainstOracle(policies);
  };

  const applyAndProbe = async (policies: readonly NetworkPolicy[]): Promise<void> => {
    const r = await cluster.applyBoth(policies);
    for (const n of ['n1', 'n2'] as const) assert.equal(r[n].code, 0, `apply on ${n} failed:\n${r[n].stderr}\n${r[n].stdout}`);
    current = policies;
    const check = await probe(policies);
    assert.deepEqual(check.mismatches, [], `${check.mismatches.length} of ${check.probes} probes disagree with the oracle`);
    assert.ok(check.probes >= 260, `probe matrix too small: ${check.probes}`);
    // A check that cannot fail is no check: with policies some traffic must pass and some must not.
    if (policies.length === 0) assert.equal(check.allowed, check.probes);
    else assert.ok(check.allowed > 0 && check.allowed < check.probes, `degenerate scenario: ${check.allowed}/${check.probes} allowed`);
  };

  for (const s of SCENARIOS) {
    it(`scenario: ${s.name}`, async () => {
      await applyAndProbe(s.policies);
    });
  }

  // Generated batches from the spec's ingredients, replayed with real packets (the simulator covers
  // thousands more against the oracle in libs/netpol, without a kernel).
  for (const seed of [11, 23, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89]) {
    const batch = generatedBatch(seed, 5);
    it(`scenario: ${batch.name}`, async () => {
      await applyAndProbe(batch.policies);
    });
  }

  it('the built-in jumps sit at position 1, once, ahead of foreign rules', () => {
    const n1 = cluster.topo.nodes['n1']!.netns;
    for (const cmd of ['iptables', 'ip6tables']) {
      for (const [chain, id] of [
        ['INPUT', '4IA2OSFRMVNDXBVV'],
        ['FORWARD', 'TEMCG2JMHZYE7H7T'],
        ['OUTPUT', 'VEAAIY32XVBHCSCY'],
      ] as const) {
        const rules = sh(n1, cmd, ['-S', chain]).split('\n').filter((l) => l.startsWith('-A'));
        assert.equal(rules[0], `-A ${chain} -m comment --comment "kube-router netpol - ${id}" -j KUBE-ROUTER-${chain}`, `${cmd} ${chain}`);
        assert.equal(rules.filter((l) => l.includes('KUBE-ROUTER')).length, 1, `${cmd} ${chain}: exactly one jump`);
      }
    }
  });

  it('re-applying an unchanged snapshot writes nothing (own counter and kernel state byte for byte)', async () => {
    const first = await cluster.applyBoth(current);
    assert.equal(first.n1.code, 0, first.n1.stderr);
    const before = { n1: cluster.kernelState('n1'), n2: cluster.kernelState('n2') };
    const again = await cluster.applyBoth(current);
    for (const n of ['n1', 'n2'] as const) {
      assert.equal(again[n].code, 0, again[n].stderr);
      assert.equal(again[n].summary?.outcome, 'unchanged', again[n].stdout);
      assert.equal(again[n].summary?.writes, 0, `${n} wrote to the kernel: ${again[n].stdout}`);
      assert.equal(again[n].summary?.bytes, 0);
      assert.equal(cluster.kernelState(n), before[n], `${n}: kernel state changed`);
    }
  });

  it('k3s-fork per-policy NFLOG: annotation values iptables refuses fall back to the defaults; the policies apply, enforce, and re-apply with no writes', async () => {
    const annotated = (p: NetworkPolicy, ann: Record<string, string>): NetworkPolicy => ({ ...p, metadata: { ...p.metadata, annotations: ann } });
    const policies = [
      // Before the fix, this rule made every iptables-restore fail ("Rate too fast"), so nothing applied.
      annotated(policy('y', 'logged-fast', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'y' } } }] }] }), {
        [Netpol.nflogLimitAnnotation]: '50000/second',
        [Netpol.nflogLimitBurstAnnotation]: '20000',
      }),
      // Accepted, but iptables reads it back as 1/sec without the (default) burst: still no rewrite.
      annotated(policy('z', 'logged-per-minute', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }), {
        [Netpol.nflogLimitAnnotation]: '60/minute',
        [Netpol.nflogLimitBurstAnnotation]: '5',
      }),
    ];
    const args = ['--profile', 'k3s-fork'];
    const r = await cluster.applyBoth(policies, args);
    for (const n of ['n1', 'n2'] as const) {
      assert.equal(r[n].code, 0, `apply on ${n} failed:\n${r[n].stderr}\n${r[n].stdout}`);
      assert.match(r[n].stderr, /NetworkPolicy y\/logged-fast.*netpol-nflog-limit: "50000\/second".*InvalidNflogAnnotation/);
      assert.match(r[n].stderr, /NetworkPolicy y\/logged-fast.*netpol-nflog-limit-burst: "20000".*InvalidNflogAnnotation/);
    }
    const check = await probe(policies);
    assert.deepEqual(check.mismatches, [], `${check.mismatches.length} of ${check.probes} probes disagree with the oracle`);
    assert.ok(check.allowed > 0 && check.allowed < check.probes, `degenerate scenario: ${check.allowed}/${check.probes} allowed`);
    const save = sh(cluster.topo.nodes['n1']!.netns, 'iptables-save', ['-t', 'filter']);
    assert.match(save, /--limit 10\/min --limit-burst 10 -j NFLOG --nflog-prefix "DROP by policy y\/logged-fast"/, 'default limit and burst');
    assert.match(save, /--limit 1\/sec -j NFLOG --nflog-prefix "DROP by policy z\/logged-per-minute"/);
    const again = await cluster.applyBoth(policies, args);
    for (const n of ['n1', 'n2'] as const) {
      assert.equal(again[n].code, 0, again[n].stderr);
      assert.equal(again[n].summary?.writes, 0, `${n} wrote to the kernel: ${again[n].stdout}`);
    }
    const back = await cluster.applyBoth(current);
    for (const n of ['n1', 'n2'] as const) assert.equal(back[n].code, 0, back[n].stderr);
  });

  it('a set the kernel refuses to swap (stage/shrink failure) leaves the previous state in force', async () => {
    const n1 = cluster.topo.nodes['n1']!.netns;
    const base = SCENARIOS.find((s) => s.name.startsWith('allow x/a from pods pod=b'))!.policies;
    await applyAndProbe(base);
    // A foreign set squats the name of the new policy's target set with an incompatible type.
    const poisoned = policy('x', 'poisoned', { podSelector: { matchLabels: { pod: 'b' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] });
    const squatted = [targetSetName('x', 'poisoned', 'ingress', 'IPv4'), targetSetName('x', 'poisoned', 'ingress', 'IPv6')];
    sh(n1, 'ipset', ['create', squatted[0]!, 'hash:ip,port', 'family', 'inet']);
    sh(n1, 'ipset', ['create', squatted[1]!, 'hash:ip,port', 'family', 'inet6']);
    const before = cluster.kernelState('n1');
    const file = cluster.writeSnapshot(cluster.snapshot([...base, poisoned]));
    const r = await cluster.agent('n1', ['apply', '--node', 'n1', '--families', 'IPv4,IPv6', '--snapshot', file]);
    assert.equal(r.code, 1, `apply should fail: ${r.stdout}\n${r.stderr}`);
    assert.deepEqual(
      r.summary?.families.map((f) => [f.family, f.outcome, f.phase, f.rolledBack]),
      [
        ['IPv4', 'failed', 'shrink', true],
        ['IPv6', 'failed', 'shrink', true],
      ],
      r.stdout,
    );
    assert.equal(cluster.kernelState('n1'), before, 'iptables-save / ipset save changed after a failed apply');
    const check = await probe(base);
    assert.deepEqual(check.mismatches, [], 'the previous rules are not in force');
    for (const s of squatted) sh(n1, 'ipset', ['destroy', s]);
  });

  it('a rule the kernel rejects (iptables-restore failure) leaves the previous state in force', async () => {
    const base = SCENARIOS.find((s) => s.name.startsWith('allow x/a from pods pod=b'))!.policies;
    const next = SCENARIOS.find((s) => s.name.startsWith('several policies'))!.policies;
    // Wrappers in front of the real binaries add one rule the kernel cannot accept (an unknown set).
    const dir = mkdtempSync(join(tmpdir(), 'np-wrap-'));
    try {
      for (const tool of ['iptables-restore', 'ip6tables-restore']) {
        const real = sh(undefined, 'sh', ['-c', `command -v ${tool}`]).trim();
        const script = `#!/bin/sh\nsed 's/^COMMIT$/-A KUBE-ROUTER-INPUT -m set --match-set PORTICO-NO-SUCH-SET src -j DROP\\nCOMMIT/' | exec ${real} "$@"\n`;
        writeFileSync(join(dir, tool), script);
        chmodSync(join(dir, tool), 0o755);
      }
      const before = cluster.kernelState('n1');
      const file = cluster.writeSnapshot(cluster.snapshot(next));
      const r = await cluster.agent('n1', ['apply', '--node', 'n1', '--families', 'IPv4,IPv6', '--iptables-backend', 'system', '--snapshot', file], {
        PATH: `${dir}:${process.env['PATH']}`,
      });
      assert.equal(r.code, 1, `apply should fail: ${r.stdout}\n${r.stderr}`);
      assert.deepEqual(
        r.summary?.families.map((f) => [f.family, f.outcome, f.phase, f.rolledBack]),
        [
          ['IPv4', 'failed', 'iptables', true],
          ['IPv6', 'failed', 'iptables', true],
        ],
        r.stdout,
      );
      assert.equal(cluster.kernelState('n1'), before, 'iptables-save / ipset save changed after a failed apply');
      const check = await probe(base);
      assert.deepEqual(check.mismatches, [], 'the previous rules are not in force');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("K3s's documented cleanup (iptables-save | grep -v KUBE-ROUTER | iptables-restore) turns enforcement off", async () => {
    const deny = SCENARIOS.find((s) => s.name === 'deny all ingress in x')!.policies;
    await applyAndProbe(deny);
    for (const node of Object.values(cluster.topo.nodes)) {
      for (const fam of ['iptables', 'ip6tables']) {
        sh(node.netns, 'sh', ['-c', `${fam}-save | grep -v KUBE-ROUTER | ${fam}-restore`]);
        const builtin = sh(node.netns, fam, ['-S']).split('\n').filter((l) => /^-A (INPUT|FORWARD|OUTPUT) /.test(l));
        assert.deepEqual(builtin.filter((l) => l.includes('KUBE')), [], `${node.name} ${fam}: Portico rules left in built-in chains`);
      }
    }
    // With the hooks gone nothing is enforced: the oracle without policies must hold.
    const open = await probe([]);
    assert.deepEqual(open.mismatches, []);
    // The agent repairs it on the next apply.
    await applyAndProbe(deny);
  });

  it('cleanup removes every owned chain, jump and set and leaves the rest exactly as it was; it is idempotent', async () => {
    const r = await cluster.agent('n1', ['cleanup']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((r.summary?.writes ?? 0) > 0);
    assert.equal(cluster.kernelState('n1'), pristine);
    const again = await cluster.agent('n1', ['cleanup']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.summary?.writes, 0, again.stdout);
    assert.equal(cluster.kernelState('n1'), pristine);
  });

  it('the iptables-legacy backend enforces the same verdicts, re-applies with no writes and cleans up', async () => {
    // GIVEN both nodes without nft rules of ours
    for (const node of ['n1', 'n2'] as const) assert.equal((await cluster.agent(node, ['cleanup'])).code, 0);
    const legacy = ['--iptables-backend', 'legacy'];
    const policies = SCENARIOS.find((s) => s.name === 'deny all ingress in x')!.policies.concat(generatedBatch(11, 5).policies);
    // WHEN the agent applies through iptables-legacy
    const r = await cluster.applyBoth(policies, legacy);
    for (const n of ['n1', 'n2'] as const) assert.equal(r[n].code, 0, `legacy apply on ${n} failed:\n${r[n].stderr}`);
    // THEN real packets get the oracle's verdicts, the rules live in the legacy tables, and nft holds none of ours
    const check = await probe(policies);
    assert.deepEqual(check.mismatches, [], `${check.mismatches.length} of ${check.probes} probes disagree with the oracle`);
    assert.ok(check.allowed > 0 && check.allowed < check.probes, `degenerate: ${check.allowed}/${check.probes}`);
    for (const node of Object.values(cluster.topo.nodes)) {
      assert.match(sh(node.netns, 'iptables-legacy-save', []), /KUBE-ROUTER-FORWARD/, `${node.name}: no legacy rules`);
      assert.doesNotMatch(sh(node.netns, 'iptables-nft-save', []), /KUBE-ROUTER/, `${node.name}: nft rules left`);
    }
    const file = cluster.writeSnapshot(cluster.snapshot(policies));
    const again = await cluster.agent('n1', ['apply', '--node', 'n1', '--families', 'IPv4,IPv6', '--snapshot', file, ...legacy]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.summary?.writes, 0, again.stdout);
    for (const node of ['n1', 'n2'] as const) assert.equal((await cluster.agent(node, ['cleanup', ...legacy])).code, 0);
    for (const node of Object.values(cluster.topo.nodes)) {
      for (const tool of ['iptables-legacy-save', 'ip6tables-legacy-save']) {
        assert.doesNotMatch(sh(node.netns, tool, []), /KUBE/, `${node.name} ${tool}: rules left after cleanup`);
      }
    }
  });
});
