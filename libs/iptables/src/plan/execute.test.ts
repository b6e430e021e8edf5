import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { applyFamilyPlan } from './execute.ts';
import { failed, ok, RecordingRunner, type RecordedCall } from '../testing/index.ts';
import { Kernel, toolsFor } from '../adapter/kernel.ts';
import type { FamilyPlan } from './planner.ts';

/** A plan exercising every phase (content is opaque to the executor). */
function plan(over: Partial<FamilyPlan> = {}): FamilyPlan {
  return {
    family: 'IPv4',
    tableName: 'filter',
    stage: ['create NEW hash:ip family inet timeout 0', 'add NEW 10.0.0.1', 'create TMP-A hash:ip family inet timeout 0'],
    created: ['NEW', 'TMP-A'],
    shrink: [
      { line: 'swap TMP-A S1', inverse: 'swap TMP-A S1' },
      { line: 'del S2 10.0.0.9', inverse: 'add S2 10.0.0.9' },
      { line: 'add S3 10.1.0.0/16 nomatch', inverse: 'del S3 10.1.0.0/16' },
    ],
    iptables: '*filter\n:KUBE-POD-FW-X - [0:0]\nCOMMIT\n',
    grow: ['add S2 10.0.0.10'],
    finish: ['destroy TMP-A', 'destroy STALE1', 'destroy STALE2'],
    tmpSets: ['TMP-A'],
    summary: { setsCreated: 1, setsUpdated: 3, setsSwapped: 1, setsDestroyed: 2, chainsCreated: 1, chainsRewritten: 0, chainsEdited: 0, chainsDeleted: 0, builtinRulesChanged: 0 },
    warnings: [],
    after: { family: 'IPv4', table: { chains: new Map() }, sets: new Map() },
    ...over,
  };
}

/** A scripted kernel: `fail` decides per call whether it fails and with what stderr. */
function kernel(fail: (c: RecordedCall, n: number) => string | undefined = () => undefined, existing: string[] = ['NEW', 'TMP-A']) {
  let n = 0;
  const runner = new RecordingRunner((c) => {
    n++;
    if (c.cmd === 'ipset' && c.args[0] === 'list') return ok(existing.join('\n') + '\n');
    const e = fail(c, n);
    return e ? failed(1, e) : ok();
  });
  return { runner, kernel: new Kernel(runner, toolsFor('nft')) };
}

const describeCall = (c: RecordedCall): string => `${c.cmd} ${c.args.join(' ')}${c.input !== undefined && c.input !== '' ? `\n${c.input.trimEnd()}` : ''}`;

describe('applyFamilyPlan', () => {
  it('runs stage, shrink, iptables, grow, finish in that order, one write each', async () => {
    const k = kernel();
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.outcome, 'applied');
    assert.deepEqual(k.runner.calls.map(describeCall), [
      'ipset restore\ncreate NEW hash:ip family inet timeout 0\nadd NEW 10.0.0.1\ncreate TMP-A hash:ip family inet timeout 0',
      'ipset restore -exist\nswap TMP-A S1\ndel S2 10.0.0.9\nadd S3 10.1.0.0/16 nomatch',
      'iptables-nft-restore --noflush --wait 10\n*filter\n:KUBE-POD-FW-X - [0:0]\nCOMMIT',
      'ipset restore -exist\nadd S2 10.0.0.10',
      'ipset restore\ndestroy TMP-A\ndestroy STALE1\ndestroy STALE2',
    ]);
    assert.equal(k.kernel.writes, 5);
    assert.equal(k.kernel.bytes, k.runner.calls.reduce((n, c) => n + Buffer.byteLength(c.input ?? ''), 0));
  });

  it('an empty plan touches nothing', async () => {
    const k = kernel();
    const r = await applyFamilyPlan(plan({ stage: [], created: [], shrink: [], iptables: '', grow: [], finish: [], tmpSets: [] }), k.kernel);
    assert.equal(r.outcome, 'unchanged');
    assert.equal(k.runner.calls.length, 0);
    assert.equal(k.kernel.writes, 0);
  });

  it('iptables failure: undoes the shrink (newest first) and destroys what stage created', async () => {
    const k = kernel((c) => (c.cmd === 'iptables-nft-restore' ? 'iptables-restore: line 2 failed' : undefined));
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.phase, 'iptables');
    assert.equal(r.rolledBack, true);
    assert.match(r.error!.message, /line 2 failed/);
    const after = k.runner.calls.slice(3).map(describeCall);
    assert.deepEqual(after, [
      'ipset restore -exist\ndel S3 10.1.0.0/16\nadd S2 10.0.0.9\nswap TMP-A S1',
      'ipset list -n',
      'ipset restore\ndestroy NEW\ndestroy TMP-A',
    ]);
    assert.ok(!k.runner.calls.some((c) => c.input?.includes('add S2 10.0.0.10')), 'grow never ran');
  });

  it('shrink failure at line 2: undoes line 1 only, then destroys created sets', async () => {
    const k = kernel((c) => (c.args.includes('-exist') && c.input?.startsWith('swap TMP-A S1\ndel') ? 'ipset v7.17: Error in line 2: Element cannot be deleted' : undefined));
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.phase, 'shrink');
    assert.equal(r.rolledBack, true);
    assert.deepEqual(k.runner.calls.slice(2).map(describeCall), ['ipset restore -exist\nswap TMP-A S1', 'ipset list -n', 'ipset restore\ndestroy NEW\ndestroy TMP-A']);
    assert.ok(!k.runner.calls.some((c) => c.cmd.includes('iptables')), 'iptables never ran');
  });

  it('stage failure: destroys only the created sets that exist', async () => {
    const k = kernel((c) => (c.args.length === 1 && c.input?.startsWith('create NEW') ? 'ipset v7.17: Error in line 3: Set cannot be created' : undefined), ['NEW', 'OTHER']);
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.phase, 'stage');
    assert.equal(r.rolledBack, true);
    assert.deepEqual(k.runner.calls.slice(1).map(describeCall), ['ipset list -n', 'ipset restore\ndestroy NEW']);
  });

  it('a set that cannot be destroyed is reported as a leftover; the other destroys still run', async () => {
    const k = kernel((c) => (c.input?.startsWith('destroy TMP-A') ? 'ipset v7.17: Error in line 2: Set cannot be destroyed: it is in use by a kernel component' : undefined));
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.outcome, 'applied');
    assert.deepEqual(r.leftovers, ['STALE1']);
    assert.deepEqual(k.runner.calls.slice(-2).map(describeCall), ['ipset restore\ndestroy TMP-A\ndestroy STALE1\ndestroy STALE2', 'ipset restore\ndestroy STALE2']);
  });

  it('a failed grow is reported as failed without rollback (the state is the restrictive intermediate)', async () => {
    const k = kernel((c) => (c.input === 'add S2 10.0.0.10\n' ? 'ipset v7.17: Error in line 1: The set with the given name does not exist' : undefined));
    const r = await applyFamilyPlan(plan(), k.kernel);
    assert.equal(r.outcome, 'failed');
    assert.equal(r.phase, 'grow');
    assert.equal(r.rolledBack, false);
  });
});
