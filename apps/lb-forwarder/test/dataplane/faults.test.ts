/**
 * Injected-fault campaign for the lb-forwarder apply (issue 15, item 4, data-plane part), in a
 * network namespace with the real iptables (nf_tables backend).
 *
 * Wrappers named `iptables-nft-restore` and `ip6tables-nft-restore` come first on the forwarder's
 * PATH and make chosen invocations fail (a restore is one transaction: nothing of it applies). Each
 * trial applies environment A cleanly (same container: same protocol and port, so the same chains),
 * then environment B with 1-3 consecutive invocations failing from a random one on (the `--test`
 * checks, the restores and their retries, either family), then checks:
 * - exit 0 (the retries absorbed the faults): the state is what a fault-free apply of B leaves;
 * - exit 1: the family that failed holds A's rules byte for byte (`iptables-save` of nat and filter,
 *   timestamps left out); a failure while preparing (`--test`) applied nothing in either family;
 * - always: the next fault-free apply of B succeeds, and one more leaves the state unchanged.
 * Faults: PORTICO_FAULTS (default 20 in the data-plane tier; 100 in docs/reliability.md), seed
 * PORTICO_FAULT_SEED.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { faultWrapperScript } from '@portico/testing';
import { ensureBuilt, MAIN_JS, requirePrerequisites, sh } from './harness.ts';

const FAULTS = Number(process.env['PORTICO_FAULTS'] ?? 20);
const SEED = Number(process.env['PORTICO_FAULT_SEED'] ?? 20261207);
const TOOLS = ['iptables-nft-restore', 'ip6tables-nft-restore'];

/** A small seeded PRNG (mulberry32): the campaign is repeatable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(`lb-forwarder apply under injected iptables-restore failures (${FAULTS} faults, seed ${SEED})`, () => {
  const netns = `lbf-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'lb-faults-'));
  const bin = join(dir, 'bin');
  const ns = (cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv) => sh('ip', ['netns', 'exec', netns, cmd, ...args], env ? { env } : {});

  beforeAll(() => {
    requirePrerequisites();
    ensureBuilt();
    mkdirSync(bin);
    for (const tool of TOOLS) {
      writeFileSync(join(bin, tool), faultWrapperScript(tool, sh('sh', ['-c', `command -v ${tool}`]).stdout.trim(), dir));
      chmodSync(join(bin, tool), 0o755);
    }
    assert.equal(sh('ip', ['netns', 'add', netns]).code, 0);
    ns('ip', ['link', 'set', 'lo', 'up']);
    assert.equal(ns('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']).code, 0);
  });
  afterAll(() => {
    sh('ip', ['netns', 'del', netns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const save = (family: 'IPv4' | 'IPv6'): string =>
    ['nat', 'filter']
      .map((t) => ns(family === 'IPv4' ? 'iptables-nft-save' : 'ip6tables-nft-save', ['-t', t]).stdout.split('\n').filter((l) => !l.startsWith('#')).join('\n'))
      .join('\n');
  const states = () => ({ IPv4: save('IPv4'), IPv6: save('IPv6') });

  /** One forwarder run (`/bin/true` as the waiter: it exits right after the hand-off). */
  const run = (env: Record<string, string>, failing: readonly number[]) => {
    writeFileSync(join(dir, 'count'), '0');
    writeFileSync(join(dir, 'at'), failing.join('\n') + '\n');
    rmSync(join(dir, 'hit'), { force: true });
    const r = ns(process.execPath, [MAIN_JS, 'run', '--waiter', '/bin/true', '--iptables-backend', 'nft'], {
      ...env,
      PATH: `${bin}:${process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
    });
    let hit = '';
    try {
      hit = readFileSync(join(dir, 'hit'), 'utf8').trim();
    } catch {
      // no fault reached
    }
    return { ...r, hit };
  };

  it('every fault leaves the failed family as it was or is absorbed by a retry, and the next apply converges', () => {
    const r = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const env = (): Record<string, string> => ({
      SRC_PORT: '80',
      DEST_PROTO: 'TCP',
      DEST_PORT: String(8000 + Math.floor(r() * 100)),
      SRC_RANGES: pick(['0.0.0.0/0,::/0', '10.0.0.0/8,fd00::/8', '192.168.0.0/16,10.1.0.0/16,2001:db8::/32']),
      DEST_IPS: pick(['10.43.0.10,fd43::10', '10.43.0.11,10.43.0.12,fd43::11', '10.43.1.1,fd43::1:1']),
    });
    const outcomes: Record<string, number> = {};
    let injected = 0;
    let trials = 0;
    while (injected < FAULTS) {
      assert.ok(++trials < FAULTS * 4, `faults are not being reached (${injected} in ${trials} trials)`);
      const a = env();
      const b = env();
      assert.equal(run(a, []).code, 0, 'apply A');
      const before = states();
      const first = 1 + Math.floor(r() * 5);
      const count = 1 + Math.floor(r() * 3);
      const faulty = run(b, Array.from({ length: count }, (_, i) => first + i));
      if (!faulty.hit) {
        assert.equal(faulty.code, 0, `no fault reached, so the apply succeeds: ${faulty.stdout}`);
        continue;
      }
      injected++;
      const where = `trial ${trials} (failing invocations ${first}..${first + count - 1}; hit: ${faulty.hit.replace(/\n/g, ', ')})`;
      assert.ok(faulty.code === 0 || faulty.code === 1, `${where}: exit ${faulty.code}`);
      assert.doesNotMatch(faulty.stderr + faulty.stdout, /\n\s+at /, `${where}: no stack trace`);
      const logs = faulty.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const failedAt = logs.find((l) => l['level'] === 'error' && (l['op'] === 'plan' || l['op'] === 'restore'));
      if (faulty.code === 1) {
        assert.ok(failedAt, `${where}: the log names the failed operation`);
        const family = failedAt['family'] as 'IPv4' | 'IPv6';
        const outcome = `${failedAt['op'] === 'plan' ? 'prepare (--test)' : 'restore, retries exhausted'}: exit 1`;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        assert.equal(save(family), before[family], `${where}: ${family} holds A's rules byte for byte`);
        if (failedAt['op'] === 'plan') assert.deepEqual(states(), before, `${where}: nothing applied when preparing failed`);
      } else outcomes['absorbed by a retry: exit 0'] = (outcomes['absorbed by a retry: exit 0'] ?? 0) + 1;
      const afterFault = states();
      assert.equal(run(b, []).code, 0, `${where}: the next apply succeeds`);
      const settled = states();
      assert.equal(run(b, []).code, 0);
      assert.deepEqual(states(), settled, `${where}: converged (another apply changes nothing)`);
      if (faulty.code === 0) assert.deepEqual(afterFault, settled, `${where}: an absorbed fault left what a fault-free apply leaves`);
    }
    process.stdout.write(`# forwarder fault campaign: ${injected} injected faults in ${trials} trials: ${JSON.stringify(outcomes)}; all converged\n`);
  });
});
