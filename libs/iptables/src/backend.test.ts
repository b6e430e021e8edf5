import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { CANDIDATE_BINARIES, commandsFor, countRules, decideBackend, hasKubeletHint, modeFromVersion, type BackendFacts, type BackendMode } from './backend.ts';

const debian = CANDIDATE_BINARIES; // Debian's iptables package: plain, -nft and -legacy variants
const nftOnly = CANDIDATE_BINARIES.filter((b) => !b.includes('legacy')).filter((b) => b.includes('-nft') || b === 'iptables' || b === 'ip6tables' || b.endsWith('tables-save') || b.endsWith('tables-restore'));
const plainOnly = CANDIDATE_BINARIES.filter((b) => !b.includes('-nft') && !b.includes('-legacy'));
const legacyVariantsOnly = CANDIDATE_BINARIES.filter((b) => b.includes('-legacy'));

const base: BackendFacts = { binaries: debian, plainMode: 'nft', nftUsable: true, nftRules: 0, legacyLoaded: true, legacyRules: 0 };

const cases: { name: string; facts: BackendFacts; want: BackendMode | 'error'; reason: RegExp; restore4?: string }[] = [
  { name: 'fresh namespace, nf_tables answers: nft', facts: base, want: 'nft', reason: /no rules yet and nf_tables answers/, restore4: 'iptables-nft-restore' },
  {
    name: 'klipper-lb#80: nf_tables built in (lsmod shows nothing), no legacy tables loaded: nft',
    facts: { ...base, legacyLoaded: false, legacyRules: undefined },
    want: 'nft',
    reason: /nf_tables answers/,
  },
  { name: 'legacy already holds the rules (restart in the same pod): legacy', facts: { ...base, legacyRules: 4 }, want: 'legacy', reason: /4 legacy, 0 nft/, restore4: 'iptables-legacy-restore' },
  { name: 'nft holds the rules: nft', facts: { ...base, nftRules: 3, legacyRules: 1 }, want: 'nft', reason: /already holds rules \(3 nft, 1 legacy\)/ },
  { name: 'a tie with rules on both sides: nft', facts: { ...base, nftRules: 2, legacyRules: 2 }, want: 'nft', reason: /2 nft, 2 legacy/ },
  { name: 'kubelet hint in legacy beats more nft rules', facts: { ...base, nftRules: 50, legacyHint: true }, want: 'legacy', reason: /hint chains are in the legacy/ },
  { name: 'kubelet hint in nft', facts: { ...base, legacyRules: 50, nftHint: true }, want: 'nft', reason: /hint chains are in the nft/ },
  { name: 'hints on both sides fall back to rule counts', facts: { ...base, legacyRules: 5, nftHint: true, legacyHint: true }, want: 'legacy', reason: /5 legacy/ },
  { name: 'nf_tables does not answer, ip_tables loaded: legacy', facts: { ...base, nftUsable: false, nftRules: undefined }, want: 'legacy', reason: /ip_tables is loaded/ },
  { name: 'nf_tables does not answer, nothing loaded: try legacy', facts: { ...base, nftUsable: false, nftRules: undefined, legacyLoaded: false, legacyRules: undefined }, want: 'legacy', reason: /trying legacy/ },
  { name: 'override legacy wins over everything', facts: { ...base, override: 'legacy', nftRules: 9, nftHint: true }, want: 'legacy', reason: /forced by configuration/ },
  { name: 'override nft', facts: { ...base, override: 'nft', legacyRules: 9 }, want: 'nft', reason: /forced/ },
  { name: 'override legacy without legacy binaries is an error', facts: { ...base, binaries: nftOnly, override: 'legacy' }, want: 'error', reason: /no legacy iptables-save/ },
  { name: 'only plain binaries in nft mode: plain names', facts: { ...base, binaries: plainOnly, plainMode: 'nft' }, want: 'nft', reason: /nf_tables answers/, restore4: 'iptables-restore' },
  { name: 'only plain binaries in legacy mode, nft not usable: plain names as legacy', facts: { ...base, binaries: plainOnly, plainMode: 'legacy', nftUsable: false, nftRules: undefined }, want: 'legacy', reason: /ip_tables is loaded/, restore4: 'iptables-restore' },
  { name: 'only legacy variants installed, nf_tables answers anyway: legacy', facts: { ...base, binaries: legacyVariantsOnly, plainMode: undefined }, want: 'legacy', reason: /ip_tables is loaded/, restore4: 'iptables-legacy-restore' },
  { name: 'nft installed without legacy, nothing answers: try nft', facts: { ...base, binaries: nftOnly, nftUsable: false, nftRules: undefined, legacyLoaded: false, legacyRules: undefined }, want: 'nft', reason: /trying nft/ },
  { name: 'no binaries at all', facts: { binaries: [], nftUsable: false, legacyLoaded: false }, want: 'error', reason: /no iptables binaries found/ },
];

for (const c of cases) {
  test(`decideBackend: ${c.name}`, () => {
    const d = decideBackend(c.facts);
    if (c.want === 'error') {
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.reason, c.reason);
      return;
    }
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.equal(d.backend.mode, c.want);
    assert.match(d.backend.reason, c.reason);
    if (c.restore4) assert.equal(d.backend.commands.IPv4.restore, c.restore4);
    assert.equal(d.backend.commands.IPv6.restore, d.backend.commands.IPv4.restore.replace(/^iptables/, 'ip6tables'));
  });
}

test('commandsFor needs both families', () => {
  assert.equal(commandsFor('nft', ['iptables-nft-save', 'iptables-nft-restore']), undefined);
  assert.deepEqual(commandsFor('nft', ['iptables-nft-save', 'iptables-nft-restore', 'ip6tables-nft-save', 'ip6tables-nft-restore'])?.IPv6, { iptables: 'ip6tables-nft', save: 'ip6tables-nft-save', restore: 'ip6tables-nft-restore' });
  assert.equal(commandsFor('legacy', plainOnly, 'nft'), undefined, 'plain binaries of the other mode do not count');
});

test('countRules, hasKubeletHint, modeFromVersion', () => {
  assert.equal(countRules('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j X\n[1:2] -A X -j RETURN\n# -A comment\nCOMMIT\n'), 2);
  assert.equal(hasKubeletHint('*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n'), true);
  assert.equal(hasKubeletHint('*mangle\n:KUBE-IPTABLES-HINTS - [0:0]\nCOMMIT\n'), false);
  assert.equal(modeFromVersion('iptables v1.8.9 (nf_tables)\n'), 'nft');
  assert.equal(modeFromVersion('iptables v1.8.9 (legacy)\n'), 'legacy');
  assert.equal(modeFromVersion('iptables v1.6.1\n'), undefined);
});
