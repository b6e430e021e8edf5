/**
 * Injected-fault campaign for `netpol-agent apply` (issue 15, item 4, data-plane part), in a network
 * namespace with the real iptables, ip6tables and ipset.
 *
 * Wrappers named `iptables-restore`, `ip6tables-restore` and `ipset` come first on the agent's PATH
 * (`--iptables-backend system` runs the tools by those names) and make the k-th restore of an apply
 * fail: an `iptables-restore` fails as a whole (it is one transaction); an `ipset restore` first
 * applies a random part of its input for real and then reports `Error in line N`, as ipset does
 * when a line fails. k is random, so faults land in every phase (stage, shrink, iptables, grow,
 * finish) and either family.
 *
 * Each trial applies a generated snapshot A without faults, saves the kernel state, applies another
 * snapshot B with one injected fault, then checks:
 * - a fault up to and including the rule transaction (stage, shrink, iptables): exit 1 with
 *   `rolledBack: true`, and that family's `iptables-save`/`ip6tables-save` (filter) and `ipset save`
 *   lines are byte for byte what they were after A (comment lines with timestamps left out; the
 *   other family is a separate data plane and its apply goes ahead);
 * - a fault after it: in grow, exit 1 (the rules of B are in force, the sets between A and B with
 *   only the restrictive half done); in finish, exit 0 with the set that could not be destroyed
 *   reported as a leftover (B is fully in force);
 * - always: the next apply of B without faults succeeds and the one after it writes nothing
 *   (converged), and no temporary set is left.
 * Faults: PORTICO_FAULTS (default 20 in the data-plane tier; the campaign in docs/reliability.md uses
 * 100), seed PORTICO_FAULT_SEED.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { type NetpolSnapshot } from '@portico/netpol';
import { generateCase, Rng } from '@portico/netpol/testing';
import { faultWrapperScript } from '@portico/testing';
import { bundleAgent, runAgent, type ApplyOutcome } from './cluster.ts';
import { checkPrerequisites, sh } from './topology.ts';

const FAULTS = Number(process.env['PORTICO_FAULTS'] ?? 20);
const SEED = Number(process.env['PORTICO_FAULT_SEED'] ?? 20261207);

const realPath = (tool: string): string => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();

describe(`netpol-agent apply under injected iptables-restore/ipset failures (${FAULTS} faults, seed ${SEED})`, () => {
  const netns = `npf-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'np-faults-'));
  const bin = join(dir, 'bin');
  let bundle = '';
  let n = 0;

  beforeAll(async () => {
    checkPrerequisites(['iptables', 'ip6tables', 'ipset', 'iptables-restore', 'ip6tables-restore']);
    bundle = await bundleAgent();
    mkdirSync(bin);
    for (const tool of ['iptables-restore', 'ip6tables-restore', 'ipset']) {
      writeFileSync(join(bin, tool), faultWrapperScript(tool, realPath(tool), dir));
      chmodSync(join(bin, tool), 0o755);
    }
    sh(undefined, 'ip', ['netns', 'add', netns]);
    sh(netns, 'ip', ['link', 'set', 'lo', 'up']);
  });
  afterAll(() => {
    try {
      sh(undefined, 'ip', ['netns', 'del', netns]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * One family's kernel state, byte for byte: its filter table (`iptables-save` without the timestamp
   * comments) and its lines of `ipset save` (sets named `inet6:` are IPv6; no other sets exist here).
   * Families are separate data planes, applied one after the other: a fault in one leaves the other's
   * apply to go ahead.
   */
  const state = (family: string): string => {
    const table = sh(netns, family === 'IPv4' ? 'iptables-save' : 'ip6tables-save', ['-t', 'filter']).split('\n').filter((l) => !l.startsWith('#'));
    const sets = sh(netns, realPath('ipset'), ['save']).split('\n').filter((l) => l !== '' && l.split(' ')[1]!.startsWith('inet6:') === (family === 'IPv6'));
    return [...table, ...sets].join('\n');
  };
  const states = (): Record<string, string> => ({ IPv4: state('IPv4'), IPv6: state('IPv6') });

  const apply = (snap: NetpolSnapshot, faultAt: number, frac = 0): Promise<ApplyOutcome> => {
    const file = join(dir, `s${++n}.json`);
    const typed = (apiVersion: string, kind: string, objs: readonly object[]) => objs.map((o) => ({ apiVersion, kind, ...o }));
    const items = [
      ...typed('v1', 'Node', snap.nodes ?? []),
      ...typed('v1', 'Namespace', snap.namespaces),
      ...typed('v1', 'Pod', snap.pods),
      ...typed('networking.k8s.io/v1', 'NetworkPolicy', snap.networkPolicies),
    ];
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    writeFileSync(join(dir, 'count'), '0');
    writeFileSync(join(dir, 'at'), String(faultAt));
    writeFileSync(join(dir, 'frac'), String(frac));
    rmSync(join(dir, 'hit'), { force: true });
    return runAgent(netns, bundle, ['apply', '--node', 'n1', '--families', 'IPv4,IPv6', '--iptables-backend', 'system', file], {
      PATH: `${bin}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    });
  };

  it('every fault leaves the previous rules in force or fails after the rule transaction, and the next apply converges', async () => {
    const r = new Rng(SEED);
    const byPhase: Record<string, number> = {};
    let injected = 0;
    let rolledBack = 0;
    let trials = 0;
    while (injected < FAULTS) {
      assert.ok(++trials < FAULTS * 6, `faults are not being reached (${injected} in ${trials} trials)`);
      const a = generateCase(r.int(1 << 30)).snapshot;
      const b = generateCase(r.int(1 << 30)).snapshot;
      const base = await apply(a, 0);
      assert.equal(base.code, 0, `apply A: ${base.stderr}`);
      const before = states();
      const k = 1 + r.int(6);
      const faulty = await apply(b, k, r.int(100));
      const hit = (() => {
        try {
          return readFileSync(join(dir, 'hit'), 'utf8').trim();
        } catch {
          return undefined;
        }
      })();
      if (!hit) {
        assert.equal(faulty.code, 0, `no fault was injected, so the apply must succeed: ${faulty.stderr}`);
        continue;
      }
      injected++;
      const where = `trial ${trials} (fault at restore ${k}: ${hit})`;
      assert.doesNotMatch(faulty.stderr, /\n\s+at /, `${where}: no stack trace`);
      const leftovers = faulty.summary?.families.filter((f) => f.leftovers?.length);
      if (faulty.code === 0 && leftovers?.length) {
        // A set that could not be destroyed (finish phase): B is in force, the set is reported and
        // destroyed by the next apply.
        byPhase['finish (leftover set)'] = (byPhase['finish (leftover set)'] ?? 0) + 1;
      }
      const failed = faulty.code === 0 ? undefined : faulty.summary?.families.find((f) => f.outcome === 'failed');
      if (faulty.code !== 0) {
        assert.equal(faulty.code, 1, `${where}: exit 1 expected, got ${faulty.code}: ${faulty.stderr}`);
        assert.ok(failed?.phase, `${where}: the summary names the failed phase: ${faulty.stdout}`);
        byPhase[failed.phase] = (byPhase[failed.phase] ?? 0) + 1;
      } else assert.ok(leftovers?.length, `${where}: a fault that does not fail the apply is a leftover set: ${faulty.stdout}`);
      if (failed?.phase && ['stage', 'shrink', 'iptables'].includes(failed.phase)) {
        assert.equal(failed.rolledBack, true, `${where}: rolled back`);
        const now = state(failed.family);
        const was = before[failed.family]!;
        if (now !== was) {
          const a = new Set(was.split('\n'));
          const b = new Set(now.split('\n'));
          const diff = [...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`)];
          assert.fail(`${where}: ${failed.family}'s previous rules and sets must be in force, byte for byte; ${failed.phase} failed, rolledBack ${failed.rolledBack}; differing lines:\n${diff.slice(0, 30).join('\n')}${diff.length ? '' : '\n(same lines, other order)'}\nagent stderr: ${faulty.stderr.slice(0, 2000)}`);
        }
        rolledBack++;
      }
      const again = await apply(b, 0);
      assert.equal(again.code, 0, `${where}: the next apply succeeds: ${again.stderr}`);
      const settled = await apply(b, 0);
      assert.equal(settled.summary?.writes, 0, `${where}: converged (an apply after it writes nothing): ${settled.stdout}`);
      assert.ok(!/^create TMP-/m.test(sh(netns, realPath('ipset'), ['save'])), `${where}: no temporary set left`);
    }
    process.stdout.write(`# fault campaign: ${injected} injected faults in ${trials} trials, by phase ${JSON.stringify(byPhase)}; ${rolledBack} before or in the rule transaction, each with the family's previous state in force byte for byte; all ${injected} converged on the next apply\n`);
    assert.ok(Object.keys(byPhase).length >= 2, `faults landed in several phases: ${JSON.stringify(byPhase)}`);
  });
});
