import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createLogger } from '@portico/service-kit';
import type { NetpolConfig, NetpolSnapshot, NetworkPolicy, Pod } from '@portico/netpol';
import { ClusterEvents } from '@portico/netpol/testing';
import { FakeKernelRunner } from '@portico/iptables/testing';
import { Kernel, toolsFor } from '@portico/iptables/adapter';
import { formatObservedTable as formatFilterTable, formatObservedSets as formatIpsetSave, type ObservedChain } from '@portico/iptables';
import { Syncer } from './sync.ts';
import { node, ns, pod, policy, snapshot } from './testing/fixtures.ts';

const CONFIG: NetpolConfig = { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true };
const silent = createLogger({ app: 'test', level: 'silent' });

function setup() {
  const fake = new FakeKernelRunner();
  const kernel = new Kernel(fake, toolsFor('nft'));
  return { fake, kernel, syncer: new Syncer({ kernel, log: silent }) };
}

function dump(f: FakeKernelRunner): string {
  // Chains sorted by name, as iptables-save prints them; rule order inside a chain is kept.
  const sorted = (m: Map<string, ObservedChain>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  return (['IPv4', 'IPv6'] as const).map((fam) => formatFilterTable({ chains: sorted(f.tables[fam]) })).join('\n') + formatIpsetSave([...f.sets.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
}

/** A seeded PRNG (LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function podN(i: number, labels: Record<string, string>): Pod {
  const nodeName = i % 3 === 0 ? 'n2' : 'n1';
  return pod(i % 2 ? 'x' : 'y', `p${i}`, labels, nodeName, [`10.42.${i % 3 === 0 ? 1 : 0}.${i + 10}`, `fd42:${i % 3 === 0 ? 1 : 0}::${(i + 10).toString(16)}`], {
    ports: [{ name: 'http', containerPort: 8000 + (i % 3) }],
  });
}

const POLICIES: NetworkPolicy[] = [
  policy('x', 'deny', { podSelector: {}, policyTypes: ['Ingress'] }),
  policy('x', 'web', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }] }] }),
  policy('y', 'egress', { podSelector: { matchLabels: { tier: 'b' } }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.42.1.0/24'] } }] }] }),
  policy('y', 'both', { podSelector: {}, policyTypes: ['Ingress', 'Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }], egress: [{}] }),
];

function randomSnapshot(r: () => number): NetpolSnapshot {
  const pods: Pod[] = [];
  for (let i = 0; i < 12; i++) {
    if (r() < 0.3) continue;
    pods.push(podN(i, { ...(r() < 0.5 ? { app: 'web' } : {}), ...(r() < 0.5 ? { tier: 'b' } : {}) }));
  }
  return snapshot({
    nodes: [node('n1', ['192.168.1.1', 'fd00::1'], ['10.42.0.0/24', 'fd42::/64'])],
    namespaces: [ns('x'), ns('y', { team: r() < 0.5 ? 'a' : 'b' })],
    pods,
    networkPolicies: POLICIES.filter(() => r() < 0.6),
  });
}

describe('Syncer', () => {
  it('reads the kernel once, then an unchanged snapshot costs no read and no write', async () => {
    const { fake, kernel, syncer } = setup();
    const snap = randomSnapshot(rng(1));
    const first = await syncer.sync(snap, CONFIG);
    assert.equal(first.outcome, 'applied');
    assert.equal(first.reread, true);
    const writes = kernel.writes;
    const again = await syncer.sync(snap, CONFIG);
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.reread, false);
    assert.equal(again.writes, 0);
    assert.equal(kernel.writes, writes);
    const reread = await syncer.sync(snap, CONFIG, { reread: true });
    assert.equal(reread.outcome, 'unchanged', 'the kernel holds exactly what the model says');
    assert.equal(reread.drift, false);
    assert.ok(fake.log.length > 0);
  });

  it('incremental syncs against the model end where a fresh apply ends (200 random transitions)', async () => {
    const r = rng(42);
    const { fake, syncer } = setup();
    for (let step = 0; step < 200; step++) {
      const snap = randomSnapshot(r);
      const res = await syncer.sync(snap, CONFIG);
      assert.notEqual(res.outcome, 'failed', `step ${step}: ${res.error?.message} ${res.families.map((f) => f.error?.message).join(' ')}`);
      if (step % 20 === 19) {
        // The model agrees with the kernel...
        const check = await syncer.sync(snap, CONFIG, { reread: true });
        assert.equal(check.outcome, 'unchanged', `step ${step}: kernel drifted from the model`);
        // ...and the kernel equals what a fresh node would get from the same snapshot.
        const fresh = setup();
        await fresh.syncer.sync(snap, CONFIG);
        assert.equal(dump(fake), dump(fresh.fake), `step ${step}: incremental state differs from a fresh apply`);
      }
    }
  });

  it('a long sequence of pod, namespace and policy events through the incremental path: after every event the kernel equals a fresh apply', async () => {
    const events = new ClusterEvents(13);
    const { fake, syncer } = setup();
    const cfg: NetpolConfig = { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true };
    const history: string[] = [];
    for (let step = 0; step < 300; step++) {
      history.push(events.step());
      const snap = events.snapshot();
      const res = await syncer.sync(snap, cfg);
      assert.notEqual(res.outcome, 'failed', `step ${step}: ${res.error?.message}`);
      assert.equal(res.read, step === 0 ? 'full' : 'model', 'events plan against the model');
      const fresh = setup();
      await fresh.syncer.sync(snap, cfg);
      if (dump(fake) !== dump(fresh.fake)) assert.fail(`step ${step}: the kernel differs from a fresh apply; last events: ${history.slice(-5).join('; ')}`);
    }
    const check = await syncer.sync(events.snapshot(), cfg, { read: 'full' });
    assert.deepEqual([check.outcome, check.drift], ['unchanged', false], 'the model agrees with the kernel');
  });

  it('after a failed apply the previous state stays and the next sync re-reads the kernel', async () => {
    const { fake, syncer } = setup();
    const a = randomSnapshot(rng(7));
    await syncer.sync(a, CONFIG);
    const before = dump(fake);
    fake.failNext = 'iptables';
    const b = { ...a, networkPolicies: POLICIES };
    const failed = await syncer.sync(b, CONFIG);
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.families[0]!.phase, 'iptables');
    assert.equal(failed.families[0]!.rolledBack, true);
    // IPv6 applied; IPv4 is exactly as before.
    assert.equal(dump(fake).split('*filter')[1], before.split('*filter')[1], 'IPv4 table changed');
    const retry = await syncer.sync(b, CONFIG);
    assert.equal(retry.reread, true, 'a failure invalidates the model');
    assert.equal(retry.outcome, 'applied');
    assert.equal((await syncer.sync(b, CONFIG, { reread: true })).outcome, 'unchanged');
  });

  it('a periodic re-read finds drift (someone flushed a chain, deleted a set) and repairs it', async () => {
    const { fake, syncer } = setup();
    const snap = randomSnapshot(rng(3));
    await syncer.sync({ ...snap, networkPolicies: POLICIES }, CONFIG);
    const want = dump(fake);
    const podChain = [...fake.tables.IPv4.keys()].find((k) => k.startsWith('KUBE-POD-FW-'))!;
    fake.tables.IPv4.get(podChain)!.rules.length = 0;
    fake.tables.IPv4.get('FORWARD')!.rules.length = 0;
    const noModel = await syncer.sync({ ...snap, networkPolicies: POLICIES }, CONFIG);
    assert.equal(noModel.outcome, 'unchanged', 'without a re-read the model hides the drift');
    const resync = await syncer.sync({ ...snap, networkPolicies: POLICIES }, CONFIG, { reread: true });
    assert.equal(resync.drift, true);
    assert.equal(resync.outcome, 'applied');
    assert.equal(dump(fake), want);
  });

  it('the cheap check (rules and set sizes, no members) repairs a flushed chain and escalates to a full read for a set that changed size or vanished', async () => {
    const { fake, syncer } = setup();
    const snap = { ...randomSnapshot(rng(3)), networkPolicies: POLICIES };
    await syncer.sync(snap, CONFIG);
    const want = dump(fake);
    const unchanged = await syncer.sync(snap, CONFIG, { read: 'check' });
    assert.deepEqual([unchanged.outcome, unchanged.read, unchanged.reread, unchanged.writes, unchanged.drift], ['unchanged', 'check', false, 0, false]);
    assert.ok(!fake.log.some((l) => l.startsWith('ipset save')), 'no member read back');

    // A flushed chain: found by the check, repaired, no full read.
    const podChain = [...fake.tables.IPv4.keys()].find((k) => k.startsWith('KUBE-POD-FW-'))!;
    fake.tables.IPv4.get(podChain)!.rules.length = 0;
    const chain = await syncer.sync(snap, CONFIG, { read: 'check' });
    assert.deepEqual([chain.outcome, chain.read, chain.drift], ['applied', 'check', true]);
    assert.equal(dump(fake), want);

    // A set that lost a member: the check sees the size and reads everything.
    const set = [...fake.sets.values()].find((x) => x.entries.size > 0 && !x.name.startsWith('inet6:'))!;
    set.entries.delete([...set.entries.keys()][0]!);
    const shrunk = await syncer.sync(snap, CONFIG, { read: 'check' });
    assert.deepEqual([shrunk.outcome, shrunk.read, shrunk.drift], ['applied', 'full', true]);
    assert.equal(dump(fake), want);

    // A destroyed set (its rules gone too, as a foreign cleanup would): same.
    const name = [...fake.sets.keys()].find((n) => n.startsWith('KUBE-DST-'))!;
    for (const c of fake.tables.IPv4.values()) for (let i = c.rules.length - 1; i >= 0; i--) if (c.rules[i]!.includes(name)) c.rules.splice(i, 1);
    fake.sets.delete(name);
    const gone = await syncer.sync(snap, CONFIG, { read: 'check' });
    assert.deepEqual([gone.outcome, gone.read, gone.drift], ['applied', 'full', true]);
    assert.equal(dump(fake), want);
  });

  it('a member replaced by another (same size) passes the cheap check and is repaired by the full verification', async () => {
    const { fake, syncer } = setup();
    const snap = { ...randomSnapshot(rng(3)), networkPolicies: POLICIES };
    await syncer.sync(snap, CONFIG);
    const want = dump(fake);
    const set = [...fake.sets.values()].find((x) => x.entries.size > 0 && x.type === 'hash:ip' && !x.name.startsWith('inet6:'))!;
    set.entries.delete([...set.entries.keys()][0]!);
    set.entries.set('10.99.99.99', false);
    const checked = await syncer.sync(snap, CONFIG, { read: 'check' });
    assert.deepEqual([checked.outcome, checked.read], ['unchanged', 'check']);
    const full = await syncer.sync(snap, CONFIG, { read: 'full' });
    assert.deepEqual([full.outcome, full.read, full.drift], ['applied', 'full', true]);
    assert.equal(dump(fake), want);
  });

  it('a family dropped by a later snapshot loses its chains, jumps and sets; the other family is untouched', async () => {
    const { fake, kernel, syncer } = setup();
    const snap = { ...randomSnapshot(rng(11)), networkPolicies: POLICIES };
    assert.equal((await syncer.sync(snap, CONFIG)).outcome, 'applied');
    const owned = (fam: 'IPv4' | 'IPv6') => [...fake.tables[fam].keys()].filter((c) => c.startsWith('KUBE-'));
    assert.ok(owned('IPv6').length > 0);
    assert.ok([...fake.sets.keys()].some((n) => n.startsWith('inet6:')));
    const v4Before = formatFilterTable({ chains: fake.tables.IPv4 });
    const r = await syncer.sync(snap, { ...CONFIG, families: ['IPv4'] });
    assert.equal(r.outcome, 'applied');
    assert.deepEqual(r.plans.map((p) => p.family), ['IPv4', 'IPv6']);
    assert.deepEqual(owned('IPv6'), [], 'no owned IPv6 chain is left');
    assert.ok(![...fake.tables.IPv6.values()].some((c) => c.rules.some((rule) => rule.includes('KUBE-ROUTER'))), 'no jump is left in the built-in chains');
    assert.ok(![...fake.sets.keys()].some((n) => n.startsWith('inet6:')), 'no IPv6 set is left');
    assert.equal(formatFilterTable({ chains: fake.tables.IPv4 }), v4Before, 'IPv4 unchanged');
    // Converged: the next syncs write nothing, and a fresh one-shot syncer (as `apply` is) agrees.
    assert.equal((await syncer.sync(snap, { ...CONFIG, families: ['IPv4'] })).writes, 0);
    assert.equal((await syncer.sync(snap, { ...CONFIG, families: ['IPv4'] }, { reread: true })).writes, 0);
    const fresh = new Syncer({ kernel, log: silent });
    assert.equal((await fresh.sync(snap, { ...CONFIG, families: ['IPv4'] }, { reread: true })).writes, 0);
  });

  it('a one-shot apply (re-read) removes what an earlier run left in a family it no longer enables', async () => {
    const { fake, kernel, syncer } = setup();
    const snap = { ...randomSnapshot(rng(12)), networkPolicies: POLICIES };
    await syncer.sync(snap, CONFIG);
    const later = new Syncer({ kernel, log: silent });
    const r = await later.sync(snap, { ...CONFIG, families: ['IPv4'] }, { reread: true });
    assert.equal(r.outcome, 'applied');
    assert.deepEqual([...fake.tables.IPv6.keys()].filter((c) => c.startsWith('KUBE-')), []);
  });

  it('a render problem is reported, the rest is applied', async () => {
    const { syncer } = setup();
    const bad = policy('x', 'bad', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Sometimes' }] }, policyTypes: ['Ingress'] });
    const r = await syncer.sync({ ...randomSnapshot(rng(5)), networkPolicies: [bad, POLICIES[0]!] }, CONFIG);
    assert.equal(r.outcome, 'applied');
    assert.ok(r.problems.some((p) => p.reason === 'InvalidNetworkPolicy' && p.object?.name === 'bad'));
  });
});
