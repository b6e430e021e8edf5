import { test } from '@jest/globals';
import assert from 'node:assert/strict';
import { detectBackend, defaultPathDirs, probeBackendFacts } from './probe.ts';
import { CANDIDATE_BINARIES } from '../backend.ts';
import { failed, ok, RecordingRunner } from '../testing/index.ts';

const RULES = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n';

test('probe: Debian layout, legacy tables loaded with rules in them → facts and a legacy decision', async () => {
  const runner = new RecordingRunner((c) => {
    if (c.cmd === 'iptables') return ok('iptables v1.8.9 (nf_tables)\n');
    if (c.cmd === 'iptables-legacy-save') return ok(RULES);
    return ok('');
  });
  const { facts, decision } = await detectBackend(runner, { pathDirs: ['/usr/sbin'], executable: (p) => p.startsWith('/usr/sbin/'), exists: (p) => p === '/proc/net/ip_tables_names' });
  assert.deepEqual(facts, { binaries: CANDIDATE_BINARIES, plainMode: 'nft', nftUsable: true, nftRules: 0, nftHint: false, legacyLoaded: true, legacyRules: 2, legacyHint: false });
  assert.ok(decision.ok && decision.backend.mode === 'legacy');
  assert.deepEqual(runner.commandLines(), ['iptables --version', 'iptables-nft-save', 'ip6tables-nft-save', 'iptables-legacy-save', 'ip6tables-legacy-save']);
});

test('probe: legacy save is not run when no legacy tables are loaded (no module autoload side effect)', async () => {
  const runner = new RecordingRunner((c) => (c.cmd === 'iptables' ? ok('iptables v1.8.9 (nf_tables)\n') : ok('')));
  const facts = await probeBackendFacts(runner, { pathDirs: ['/x'], executable: () => true, exists: () => false });
  assert.equal(facts.legacyLoaded, false);
  assert.equal(facts.legacyRules, undefined);
  assert.ok(!runner.commandLines().some((l) => l.includes('legacy')));
});

test('probe: nft save failing means nf_tables does not answer', async () => {
  const runner = new RecordingRunner((c) => (c.cmd.includes('nft') ? failed(1, 'Failed to initialize nft: Protocol not supported\n') : ok('')));
  const facts = await probeBackendFacts(runner, { pathDirs: ['/x'], executable: (p) => !p.endsWith('/iptables') && !p.endsWith('/ip6tables'), exists: () => true, override: 'legacy' });
  assert.equal(facts.nftUsable, false);
  assert.equal(facts.nftRules, undefined);
  assert.equal(facts.override, 'legacy');
  assert.equal(facts.plainMode, undefined, 'no plain iptables on PATH: not asked');
});

test('defaultPathDirs adds the sbin directories once', () => {
  assert.deepEqual(defaultPathDirs('/bin:/usr/sbin'), ['/bin', '/usr/sbin', '/usr/local/sbin', '/sbin']);
  assert.deepEqual(defaultPathDirs(undefined), ['/usr/local/sbin', '/usr/sbin', '/sbin']);
});
