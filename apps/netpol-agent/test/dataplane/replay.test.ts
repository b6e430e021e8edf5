/**
 * The incremental path against a fresh apply in the real kernel (issue 13): a seeded sequence of
 * pod, namespace and policy events (ClusterEvents) is synced into network namespace A by one
 * long-lived Syncer that plans against its model of the kernel, as `run` does between resyncs; after
 * every event network namespace B is emptied and the same snapshot is applied there from scratch by
 * a new Syncer. A's and B's `iptables-save -t filter`, `ip6tables-save -t filter` and `ipset save`
 * must be equal (counters, comment lines and ipset's random `initval` left out; set members sorted,
 * since ipset prints them in hash order). At the end a full read of A finds nothing to change.
 * Events: PORTICO_REPLAY_DATAPLANE_STEPS (default 60).
 */
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { createLogger } from '@portico/service-kit';
import { NetpolPlanner, type NetpolConfig } from '@portico/netpol';
import { ClusterEvents } from '@portico/netpol/testing';
import { applyFamilyPlan, type Runner } from '@portico/iptables';
import { Kernel, nodeRunner, toolsFor } from '@portico/iptables/adapter';
import { Syncer } from '../../src/sync.ts';
import { checkPrerequisites, sh } from './topology.ts';

const STEPS = Number(process.env['PORTICO_REPLAY_DATAPLANE_STEPS'] ?? 60);
const CONFIG: NetpolConfig = { nodeName: 'n1', families: ['IPv4', 'IPv6'], defaultDeny: true };
const log = createLogger({ app: 'test', level: 'silent' });

/** Runs every command inside network namespace `ns`. */
function inNetns(ns: string): Runner {
  const base = nodeRunner();
  return { run: (cmd, args, opts) => base.run('ip', ['netns', 'exec', ns, cmd, ...args], opts) };
}

/** The kernel state of a namespace, comparable across namespaces. */
function state(ns: string): string {
  const table = (tool: string): string =>
    sh(ns, tool, ['-t', 'filter'])
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]'))
      .join('\n');
  const sets = sh(ns, 'ipset', ['save'])
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/ initval 0x[0-9a-f]+/, ''))
    .sort()
    .join('\n');
  return `${table('iptables-save')}\n${table('ip6tables-save')}\n${sets}\n`;
}

describe(`incremental syncs against the model vs a fresh apply, real kernel (${STEPS} events)`, () => {
  const a = `npr-a-${process.pid}`;
  const b = `npr-b-${process.pid}`;

  beforeAll(() => {
    checkPrerequisites(['ip', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'ipset']);
    for (const ns of [a, b]) sh(undefined, 'ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    for (const ns of [a, b]) {
      try {
        sh(undefined, 'ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
  });

  it('after every event the kernel of the incremental agent equals a fresh apply of the same snapshot', async () => {
    const events = new ClusterEvents(7);
    const kernelA = new Kernel(inNetns(a), toolsFor('system'));
    const kernelB = new Kernel(inNetns(b), toolsFor('system'));
    const agent = new Syncer({ kernel: kernelA, log });
    const history: string[] = [];
    let writes = 0;
    for (let step = 0; step < STEPS; step++) {
      history.push(events.step());
      const snap = events.snapshot();
      const r = await agent.sync(snap, CONFIG);
      assert.notEqual(r.outcome, 'failed', `step ${step}: ${r.error?.message ?? r.families.map((f) => f.error?.message).join('; ')}`);
      if (step > 0) assert.equal(r.read, 'model', 'events plan against the model');
      writes += r.writes;
      // B: emptied, then a fresh agent applies the snapshot from scratch.
      for (const k of await kernelB.read(['IPv4', 'IPv6'])) {
        const p = await applyFamilyPlan(new NetpolPlanner().plan({ family: k.family, chains: [], ipsets: [], builtinRules: [] }, k), kernelB);
        assert.notEqual(p.outcome, 'failed', `step ${step}: emptying B: ${p.error?.message}`);
      }
      const fresh = await new Syncer({ kernel: kernelB, log }).sync(snap, CONFIG, { reread: true });
      assert.notEqual(fresh.outcome, 'failed', `step ${step}: fresh apply: ${fresh.error?.message}`);
      const got = state(a);
      const want = state(b);
      if (got !== want) assert.equal(got, want, `step ${step}: the incremental kernel differs from a fresh apply; last events: ${history.slice(-5).join('; ')}`);
    }
    assert.ok(writes > STEPS / 3, `only ${writes} writes in ${STEPS} events`);
    const check = await agent.sync(events.snapshot(), CONFIG, { read: 'full' });
    assert.deepEqual([check.outcome, check.writes, check.drift], ['unchanged', 0, false], 'the model agrees with the kernel');
  }, 20 * 60_000);
});
