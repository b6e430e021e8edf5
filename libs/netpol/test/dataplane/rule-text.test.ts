import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import { Netpol } from '@portico/labels';
import { renderNetpol, ruleArgs, ruleLine, ruleWords, toIpsetText, toRestoreText, type DesiredState, type FamilyState, type NetworkPolicy } from '../../src/index.ts';
import { generateCase } from '../../src/testing/index.ts';

/**
 * T1: the rendered text is what the kernel tools accept and print back. Each rendered state is loaded
 * into a throwaway network namespace (`unshare -n`, gone when the command exits; the root namespace
 * is never touched) with `ipset restore` and `iptables-restore --noflush`; then `iptables-save` and
 * `ipset save` must print every owned chain's rules exactly as `ruleLine` renders them, and every set
 * with the rendered entries. This is what lets the apply engine diff kernel state as text.
 */

function need(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) assert.fail(`prerequisite missing: \`${cmd} ${args.join(' ')}\` failed (${r.error?.message ?? r.stderr.trim()}); this test needs root, unshare, iptables/ip6tables (1.8) and ipset`);
}

const work = mkdtempSync(join(tmpdir(), 'portico-netpol-text-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Loads one family into a fresh netns and returns [iptables-save, ipset save] output. */
function roundTrip(fam: FamilyState, tag: string): { save: string; sets: string } {
  const v6 = fam.family === 'IPv6';
  const ipt = v6 ? 'ip6tables' : 'iptables';
  const sets = join(work, `${tag}.ipset`);
  const rules = join(work, `${tag}.rules`);
  const builtin = join(work, `${tag}.builtin`);
  writeFileSync(sets, toIpsetText(fam.ipsets));
  writeFileSync(rules, toRestoreText(fam));
  // Built-in rules: insert in reverse so that the first ends up at position 1.
  const first = fam.builtinRules.filter((b) => b.placement === 'first').reverse();
  const rest = fam.builtinRules.filter((b) => b.placement !== 'first');
  writeFileSync(
    builtin,
    [...first.map((b) => `${ipt} -w -I ${b.chain} 1 ${ruleArgs(b.rule, v6).map(shellQuote).join(' ')}`), ...rest.map((b) => `${ipt} -w -A ${b.chain} ${ruleArgs(b.rule, v6).map(shellQuote).join(' ')}`)].join('\n') + '\n',
  );
  const script = `set -e; ipset restore < ${sets}; ${ipt}-restore -w --noflush < ${rules}; . ${builtin}; echo '=====SAVE'; ${ipt}-save -t filter; echo '=====SETS'; ipset save`;
  const out = execFileSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8' });
  const [, save = '', setsOut = ''] = out.split(/=====SAVE\n|=====SETS\n/);
  return { save, sets: setsOut };
}

function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function check(state: DesiredState, tag: string): void {
  for (const fam of state.families) {
    const v6 = fam.family === 'IPv6';
    const { save, sets } = roundTrip(fam, `${tag}-${fam.family}`);
    const lines = save.split('\n');
    for (const chain of fam.chains) {
      const got = lines.filter((l) => l.startsWith(`-A ${chain.name} `));
      const want = chain.rules.map((r) => ruleLine(chain.name, r, v6));
      assert.deepEqual(got, want, `${tag} ${fam.family} chain ${chain.name}`);
    }
    for (const b of fam.builtinRules) {
      const line = `-A ${b.chain} ${ruleWords(b.rule, v6)}`;
      assert.ok(lines.includes(line), `${tag} ${fam.family}: ${line} not in iptables-save output`);
    }
    for (const s of fam.ipsets) {
      const got = sets
        .split('\n')
        .filter((l) => l.startsWith(`add ${s.name} `))
        .map((l) => l.slice(`add ${s.name} `.length).replace(' timeout 0', ''))
        .sort();
      const want = s.entries.map((e) => (e.nomatch ? `${e.addr} nomatch` : e.addr)).sort();
      assert.deepEqual(got, want, `${tag} ${fam.family} set ${s.name}`);
      assert.ok(sets.includes(`create ${s.name} ${s.type} family ${s.family} `), `${tag}: set ${s.name} type/family`);
    }
  }
}

describe('rendered rules and sets round-trip through iptables-save and ipset save', () => {
  need('unshare', ['-n', 'true']);
  need('unshare', ['-n', 'iptables-save', '-t', 'filter']);
  need('unshare', ['-n', 'ip6tables-save', '-t', 'filter']);
  need('unshare', ['-n', 'ipset', 'list']);

  it('generated cases, upstream profile, dual-stack (both nodes)', () => {
    for (const seed of [3, 17, 42, 101]) {
      const c = generateCase(seed);
      for (const nodeName of ['n1', 'n2']) {
        check(renderNetpol(c.snapshot, { nodeName, families: ['IPv4', 'IPv6'], serviceCIDRs: ['10.43.0.0/16', 'fd00:43::/112'] }), `case${seed}-${nodeName}`);
      }
    }
  });

  it('per-policy NFLOG annotations: values iptables refuses fall back to the defaults; accepted ones read back as rendered', () => {
    const c = generateCase(7);
    const annotated = (name: string, limit: string | undefined, burst: string | undefined): NetworkPolicy => ({
      metadata: {
        namespace: 'x',
        name,
        annotations: { ...(limit !== undefined ? { [Netpol.nflogLimitAnnotation]: limit } : {}), ...(burst !== undefined ? { [Netpol.nflogLimitBurstAnnotation]: burst } : {}) },
      },
      spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
    });
    const policies = [
      annotated('too-fast', '50000/second', undefined), // iptables: Rate too fast
      annotated('too-fast-minute', '600001/minute', undefined),
      annotated('burst-too-big', '5/second', '20000'), // iptables: out of range (0-10000)
      annotated('fastest', '10000/s', '10000'),
      annotated('fastest-minute', '600000/minute', '5'), // read back as 10000/sec; burst 5 is iptables' default, not printed
      annotated('per-minute', '60/m', '7'), // read back as 1/sec
      annotated('per-day', '864000000/day', undefined),
    ];
    const state = renderNetpol(
      { ...c.snapshot, networkPolicies: [...c.snapshot.networkPolicies, ...policies] },
      { nodeName: 'n1', families: ['IPv4', 'IPv6'], acceptPlacement: 'after-kube-rules', nflog: { perPolicy: true } },
    );
    const bad = state.problems.filter((p) => p.reason === 'InvalidNflogAnnotation').map((p) => [p.object?.name, p.field, p.value]);
    assert.deepEqual(bad, [
      ['burst-too-big', `metadata.annotations.${Netpol.nflogLimitBurstAnnotation}`, '20000'],
      ['too-fast', `metadata.annotations.${Netpol.nflogLimitAnnotation}`, '50000/second'],
      ['too-fast-minute', `metadata.annotations.${Netpol.nflogLimitAnnotation}`, '600001/minute'],
    ]);
    const logRule = (name: string): string => {
      const fam = state.families[0]!;
      const r = fam.chains.flatMap((ch) => ch.rules).find((x) => x.target.kind === 'NFLOG' && x.target.prefix === `DROP by policy x/${name}`)!;
      return ruleArgs(r).join(' ');
    };
    assert.match(logRule('too-fast'), /--limit 10\/min --limit-burst 10 /, 'default limit and burst');
    assert.match(logRule('burst-too-big'), /--limit 5\/sec --limit-burst 10 /, 'valid limit kept, default burst');
    // Restores for real (a refused value would make iptables-restore fail) and reads back as rendered.
    check(state, 'nflog-annotations');
  });

  it('default-deny and k3s-fork profile with per-policy NFLOG', () => {
    const c = generateCase(7);
    check(
      renderNetpol(c.snapshot, { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true, acceptPlacement: 'after-kube-rules', nflog: { perPolicy: true, limit: '5/second', burst: 3 } }),
      'k3s',
    );
  });
});
