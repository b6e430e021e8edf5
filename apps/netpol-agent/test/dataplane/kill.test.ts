/**
 * `kill -9` of netpol-agent in the middle of an apply (issue 15, item 4), in network namespaces with
 * the real iptables, ip6tables and ipset, and real TCP/UDP traffic in both families.
 *
 * The two-node cluster of cluster.ts, plus a third node n3 that exists only in the snapshot and holds
 * FILLER pods (labels drawn from the selectors' menus), so that the sets are large (an `ipset restore`
 * of thousands of lines can be cut anywhere). Old and new policies are generated batches
 * (scenarios.ts); half of their names are shared, so some sets are rewritten in place (shrink and
 * grow) and others created and destroyed (stage and finish). Policies of namespaces y and z (whose
 * pods d and e are on n2, where no agent runs) are ingress-only, so every probed connection is
 * decided by n1's rules alone and the oracle is exact for it.
 *
 * Each kill: apply the old snapshot on n1; apply the new one cleanly, keep its kernel state (the
 * reference) and count its restores (`ipset restore`, `iptables-restore`, `ip6tables-restore`); apply
 * the old one again (back to the old state); apply the new one with wrappers first on the agent's
 * PATH (`--iptables-backend system`, as in faults.test.ts) that SIGKILL the agent at a random one of
 * those restores (killWrapperScript in @portico/testing): either the agent alone (the restore it
 * started runs to its end, as it has its whole input from the agent's command shell) or, as when a
 * container dies, the agent, its command shell and the tool at once, after the tool did a random
 * part of its input lines; wait until the agent's processes are gone. (The agent dying while it
 * writes a command to its shell runs nothing: libs/iptables shell-runner.test.ts.) Then:
 * - kernel: every entry of every set in use, and every rule, is one the old or the new state has;
 * - probes: every pod and node whose connections to n1's pods (and from n1's pods to n1's address)
 *   n1's rules alone decide probes them on TCP 80, 8080, 9002 and UDP 53, IPv4 and IPv6, with real
 *   traffic on the state the kill left; no connection may pass that neither the old nor the new
 *   policy allows (the oracle, `evaluate`);
 * - restart: `apply` of the new snapshot exits 0 and leaves exactly the reference state (chain order
 *   and set hash parameters aside); the apply after it writes nothing; no temporary (`TMP-`) set is
 *   left; the probes then agree with the new policy's oracle exactly.
 * Kills: PORTICO_KILLS (default 3 in the data-plane tier; docs/reliability.md records 20), seed
 * PORTICO_FAULT_SEED, filler pods PORTICO_KILL_FILLER_PODS (default 1500).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { evaluate, type NetpolSnapshot, type NetworkPolicy, type Pod } from '@portico/netpol';
import { Rng } from '@portico/netpol/testing';
import { killWrapperScript } from '@portico/testing';
import { node as nodeObj, pod } from '../../src/testing/fixtures.ts';
import { Cluster, NODE_TCP, POD_TCP, POD_UDP } from './cluster.ts';
import { generatedBatch } from './scenarios.ts';
import { checkPrerequisites, sh, type ProbeSpec } from './topology.ts';

const KILLS = Number(process.env['PORTICO_KILLS'] ?? 3);
const SEED = Number(process.env['PORTICO_FAULT_SEED'] ?? 20261207);
const FILLER = Number(process.env['PORTICO_KILL_FILLER_PODS'] ?? 1500);
const TAG = `k${process.pid % 100000}`;

const FILLER_LABELS: readonly Record<string, string>[] = [{ pod: 'b' }, { app: 'web' }, { pod: 'd' }, { pod: 'c', app: 'db' }, {}, { pod: 'x' }];

/** Pods of the phantom node n3 (10.43.0.0/16, fd43::/48); their labels depend on `seed`. */
function fillerPods(seed: number): Pod[] {
  const r = new Rng(seed);
  return Array.from({ length: FILLER }, (_, i) =>
    pod(['x', 'y', 'z'][i % 3]!, `f-${i}`, FILLER_LABELS[r.int(FILLER_LABELS.length)]!, 'n3', [`10.43.${i >> 8}.${i & 255}`, `fd43::${i.toString(16)}`]),
  );
}

/** A generated batch; y/z policies ingress-only (see the header); even positions share their name across batches. */
function policies(seed: number): NetworkPolicy[] {
  return generatedBatch(seed, 10).policies.map((p, i) => {
    const spec = { ...p.spec };
    if (p.metadata.namespace !== 'x') {
      spec.policyTypes = ['Ingress'];
      delete spec.egress;
    }
    return { ...p, metadata: { ...p.metadata, name: i % 2 === 0 ? `k-${i}` : p.metadata.name }, spec };
  });
}

/**
 * A kernel state with each table's chains in name order (their rules keep their order) and without
 * the sets' hash parameters (`initval` is random per created set; `hashsize` and `bucketsize` grow
 * with a set's history): a restarted agent may create chains in another order, or recreate a set a
 * clean apply kept, which changes nothing a packet sees.
 */
function canonical(state: string): string {
  const out: string[] = [];
  let decls: string[] = [];
  let rules = new Map<string, string[]>();
  for (const line of state.split('\n')) {
    if (line.startsWith('create ')) out.push(line.replace(/ (initval 0x[0-9a-f]+|hashsize \d+|bucketsize \d+)/g, ''));
    else if (line.startsWith(':')) decls.push(line);
    else if (line.startsWith('-A ')) {
      const chain = line.split(' ')[1]!;
      rules.set(chain, [...(rules.get(chain) ?? []), line]);
    } else if (line === 'COMMIT') {
      out.push(...decls.sort(), ...[...rules.keys()].sort().flatMap((c) => rules.get(c)!), line);
      decls = [];
      rules = new Map();
    } else out.push(line);
  }
  return out.join('\n');
}

/**
 * Lines of `state` (set entries of sets in use, rules) that neither `a` nor `b` has. Temporary sets
 * (`TMP-`) are left out: no rule uses them, and the restarted agent must destroy them.
 */
function strayLines(state: string, a: string, b: string): string[] {
  const known = new Set([...a.split('\n'), ...b.split('\n')]);
  return state.split('\n').filter((l) => (l.startsWith('add ') || l.startsWith('-A ')) && !/^add TMP-/.test(l) && !known.has(l));
}

/** Waits until the only processes left in `netns` are those of `baseline` (the agent, its shell and tools gone). */
async function quiet(netns: string, baseline: ReadonlySet<string>): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 3000; i++) {
    left = sh(undefined, 'ip', ['netns', 'pids', netns]).split('\n').filter((p) => p !== '' && !baseline.has(p));
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`processes still running in ${netns} 30 s after the kill: ${left.join(' ')}`);
}

describe(`netpol-agent killed with SIGKILL mid-apply (${KILLS} kills, seed ${SEED}, ${FILLER} filler pods)`, () => {
  let cluster: Cluster;

  const dir = mkdtempSync(join(tmpdir(), 'np-kill-'));
  const bin = join(dir, 'bin');
  const env = { PATH: `${bin}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };

  beforeAll(async () => {
    checkPrerequisites(['ip', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'ipset', 'conntrack']);
    mkdirSync(bin);
    for (const tool of ['iptables-restore', 'ip6tables-restore', 'ipset']) {
      writeFileSync(join(bin, tool), killWrapperScript(tool, execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), dir));
      chmodSync(join(bin, tool), 0o755);
    }
    cluster = new Cluster(TAG);
    await cluster.start();
  });
  afterAll(() => {
    cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Arms the wrappers: kill at restore `at` (0: never), `mode` agent or container (with `frac` percent of the input done). */
  const arm = (at: number, frac = 0, mode: 'agent' | 'container' = 'agent'): void => {
    writeFileSync(join(dir, 'count'), '0');
    writeFileSync(join(dir, 'at'), String(at));
    writeFileSync(join(dir, 'frac'), String(frac));
    writeFileSync(join(dir, 'mode'), mode);
    rmSync(join(dir, 'hit'), { force: true });
    rmSync(join(dir, 'pid'), { force: true });
  };
  const writesSoFar = (): number => Number(readFileSync(join(dir, 'count'), 'utf8'));

  const snapshotOf = (seed: number): NetpolSnapshot => {
    const base = cluster.snapshot(policies(seed));
    return { ...base, nodes: [...base.nodes!, nodeObj('n3', ['192.168.78.3', 'fd78::3'], ['10.43.0.0/16', 'fd43::/48'])], pods: [...base.pods, ...fillerPods(seed)] };
  };
  const ARGS = ['apply', '--node', 'n1', '--families', 'IPv4,IPv6', '--iptables-backend', 'system', '--snapshot'];
  const apply = async (file: string, what: string): Promise<{ ms: number; writes: number }> => {
    arm(0);
    const t0 = performance.now();
    const r = await cluster.agent('n1', [...ARGS, file], env);
    assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
    return { ms: performance.now() - t0, writes: r.summary?.writes ?? -1 };
  };
  const state = (): string => canonical(cluster.kernelState('n1'));

  /** Connections decided by n1's rules alone: sources on n1 and n2, destinations n1's pods (and n1 itself from its pods). */
  const probeMatrix = (): (ProbeSpec & { src: string; srcIP: string; netns: string })[] => {
    const { nodes, pods } = cluster.topo;
    const onN1 = pods.filter((p) => p.node === 'n1');
    const out: (ProbeSpec & { src: string; srcIP: string; netns: string })[] = [];
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const sources = [
        ...pods.map((p) => ({ netns: p.netns, label: `${p.ns}/${p.name}`, ip: p[fam], bind: undefined as string | undefined, local: p.node === 'n1' })),
        ...Object.values(nodes).map((n) => ({ netns: n.netns, label: `node ${n.name}`, ip: n[fam], bind: n[fam] as string | undefined, local: false })),
      ];
      for (const s of sources) {
        const targets = onN1.filter((d) => d.netns !== s.netns).map((d) => ({ label: `${d.ns}/${d.name}`, ip: d[fam], tcp: POD_TCP, udp: POD_UDP }));
        if (s.local) targets.push({ label: 'node n1', ip: nodes['n1']![fam], tcp: NODE_TCP, udp: [] });
        for (const t of targets)
          for (const [proto, ports] of [
            ['TCP', t.tcp],
            ['UDP', t.udp],
          ] as const)
            for (const port of ports) out.push({ id: `${fam} ${s.label} -> ${t.label} ${proto}/${port}`, src: s.label, srcIP: s.ip, netns: s.netns, proto, ip: t.ip, port, ...(s.bind ? { bind: s.bind } : {}) });
      }
    }
    return out;
  };

  /** Runs the matrix (conntrack flushed first, as in netpol-agent.test.ts); `allowed(p)` is the oracle's bound. */
  const probe = async (allowed: (c: { srcIP: string; dstIP: string; proto: 'TCP' | 'UDP'; dstPort: number }) => boolean): Promise<{ wrong: string[]; probes: number; passed: number }> => {
    for (const n of Object.values(cluster.topo.nodes)) sh(n.netns, 'conntrack', ['-F']);
    const matrix = probeMatrix();
    const bySource = new Map<string, typeof matrix>();
    for (const p of matrix) bySource.set(p.netns, [...(bySource.get(p.netns) ?? []), p]);
    const wrong: string[] = [];
    let passed = 0;
    await Promise.all(
      [...bySource].map(async ([netns, list]) => {
        const results = await cluster.topo.probe(netns, list.map(({ id, proto, ip, port, bind }) => ({ id, proto, ip, port, ...(bind ? { bind } : {}) })));
        for (const r of results) {
          const p = list.find((x) => x.id === r.id)!;
          if (r.ok) passed++;
          if (r.ok && !allowed({ srcIP: p.srcIP, dstIP: p.ip, proto: p.proto, dstPort: p.port })) wrong.push(`${r.id}: passed`);
        }
      }),
    );
    return { wrong: wrong.sort(), probes: matrix.length, passed };
  };

  it('a killed apply never lets through what neither policy allows; the restarted agent converges and leaves no temporary set', async () => {
    const r = new Rng(SEED);
    const landed: Record<string, number> = {};
    const times: number[] = [];
    let kills = 0;
    let changedProbes = 0;
    while (kills < KILLS) {
      const seedOld = r.int(1 << 30);
      const seedNew = r.int(1 << 30);
      const oldSnap = snapshotOf(seedOld);
      const newSnap = snapshotOf(seedNew);
      const oldFile = cluster.writeSnapshot(oldSnap);
      const newFile = cluster.writeSnapshot(newSnap);
      await apply(oldFile, 'apply old');
      const oldState = state();
      const clean = await apply(newFile, 'clean apply old -> new');
      times.push(clean.ms);
      const newState = state();
      const restores = writesSoFar();
      assert.ok(restores > 0, `the apply old -> new ran no restore (seeds ${seedOld}/${seedNew})`);
      await apply(oldFile, 'apply old again');
      assert.equal(state(), oldState, 'applying the old snapshot again restores the old state');

      // Kill at a random restore of the apply old -> new, with a random part of its input read.
      const at = 1 + r.int(restores);
      const frac = r.int(101);
      const mode = r.int(2) === 0 ? 'agent' : 'container';
      arm(at, frac, mode);
      const n1 = cluster.topo.nodes['n1']!.netns;
      const baseline = new Set(sh(undefined, 'ip', ['netns', 'pids', n1]).split('\n').filter(Boolean));
      const agent = cluster.startAgent('n1', [...ARGS, newFile], env);
      writeFileSync(join(dir, 'pid'), String(agent.pid));
      const out = await agent.done;
      await quiet(n1, baseline);
      const hit = readFileSync(join(dir, 'hit'), 'utf8').trim();
      assert.equal(out.signal, 'SIGKILL', `restore ${at} of ${restores} must kill the agent (${hit}): exit ${out.code} ${out.stderr}`);
      kills++;
      const where = `kill ${kills} (seeds ${seedOld}/${seedNew}, at restore ${at} of ${restores}: ${hit})`;
      const left = state();
      const landedAt = left === oldState ? 'before any write (old state)' : left === newState ? 'after the last write (new state)' : 'between (partly written)';
      landed[landedAt] = (landed[landedAt] ?? 0) + 1;
      const tool = `${hit.split(' ')[0]} (${mode === 'container' ? 'all killed' : 'agent killed, the tool ran on'})`;
      landed[tool] = (landed[tool] ?? 0) + 1;

      const stray = strayLines(left, oldState, newState);
      assert.deepEqual(stray, [], `${where}: set entries and rules that neither the old nor the new state has`);
      const verdict = (s: NetpolSnapshot, c: Parameters<typeof evaluate>[1]): boolean => evaluate(s, c) === 'allow';
      const killed = await probe((c) => verdict(oldSnap, c) || verdict(newSnap, c));
      assert.deepEqual(killed.wrong, [], `${where}: ${killed.wrong.length} of ${killed.probes} probes passed that neither the old nor the new policy allows`);

      const restart = await apply(newFile, `${where}: the restarted agent's apply`);
      assert.equal(state(), newState, `${where}: the restarted agent leaves what a clean apply leaves`);
      assert.ok(!/^create TMP-/m.test(sh(cluster.topo.nodes['n1']!.netns, 'ipset', ['save'])), `${where}: no temporary set left`);
      const settled = await apply(newFile, `${where}: the apply after the restart`);
      assert.equal(settled.writes, 0, `${where}: converged (the apply after the restart writes nothing)`);
      let differ = 0;
      const after = await probe((c) => {
        const n = verdict(newSnap, c);
        if (n !== verdict(oldSnap, c)) differ++;
        return n;
      });
      assert.deepEqual(after.wrong, [], `${where}: after the restart, traffic the new policy denies passed`);
      // The exact check: what the new policy allows passes too (the bound above only catches leaks).
      assert.equal(after.passed, after.probes - probesDenied(after.probes, newSnap), `${where}: after the restart, traffic the new policy allows is blocked`);
      changedProbes += differ;
      process.stdout.write(`# ${where}: left ${landedAt}; ${killed.passed}/${killed.probes} probes passed, none outside old ∪ new; restart wrote ${restart.writes}, then 0\n`);
    }
    const sorted = [...times].sort((a, b) => a - b);
    process.stdout.write(
      `# kill campaign: ${kills} SIGKILLs, landed ${JSON.stringify(landed)}; clean apply old -> new took ${Math.round(sorted[0]!)}-${Math.round(sorted[sorted.length - 1]!)} ms (median ${Math.round(sorted[sorted.length >> 1]!)}); ${changedProbes} probe verdicts differed between old and new\n`,
    );
    assert.ok(changedProbes > 0, 'old and new policies never differed on a probe: the campaign checks nothing');
  });

  /** How many probes of the matrix the new policy denies (for the exact check after the restart). */
  function probesDenied(total: number, snap: NetpolSnapshot): number {
    const m = probeMatrix();
    assert.equal(m.length, total);
    return m.filter((p) => evaluate(snap, { srcIP: p.srcIP, dstIP: p.ip, proto: p.proto, dstPort: p.port }) !== 'allow').length;
  }
});
