/**
 * Profiling harness for the agent's incremental path without the kernel: the same synthetic cluster
 * and changes as bench.ts, synced against the in-memory kernel (FakeKernelRunner), so the times are
 * the agent's own CPU work (render + plan) with no process start-up or nf_tables commit.
 *
 * Usage: node --import tsx bench/netpol/profile.ts [--pods 5000] [--policies 500] [--local 100]
 *   [--repeat 9] [--profile FILE.cpuprofile]
 * Prints one JSON line per change kind with median times (ms).
 */
import { createLogger } from '@portico/service-kit';
import type { NetpolConfig } from '@portico/netpol';
import { FakeKernelRunner } from '@portico/iptables/testing';
import { Kernel, toolsFor } from '@portico/iptables/adapter';
import { Syncer, type SyncResult } from '../../apps/netpol-agent/src/sync.ts';
import { pod } from '../../apps/netpol-agent/src/testing/fixtures.ts';
import { cluster, v4, v6 } from './cluster.ts';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const PROFILE = arg('profile', '');
const PODS = Number(arg('pods', '5000'));
const POLICIES = Number(arg('policies', '500'));
const LOCAL = Number(arg('local', '100'));
const REPEAT = Number(arg('repeat', '9'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const kernel = new Kernel(new FakeKernelRunner(), toolsFor('nft'));
const syncer = new Syncer({ kernel, log: createLogger({ app: 'profile', level: 'silent' }) });
const config: NetpolConfig = { nodeName: 'n1', families: ['IPv4'], defaultDeny: true };
let cur = cluster(PODS, POLICIES, Math.min(LOCAL, PODS));
const check = (r: SyncResult): SyncResult => {
  if (r.outcome === 'failed') throw new Error(`sync failed: ${r.error?.message ?? r.families.map((f) => f.error?.message).join('; ')}`);
  return r;
};
check(await syncer.sync(cur, config, { reread: true }));
// --profile FILE: a CPU profile of the pod changes only.
const session = PROFILE ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
}

const report = (what: string, rs: SyncResult[]): void => {
  const m = (k: keyof SyncResult['durationMs']): number => Number(median(rs.map((r) => r.durationMs[k])).toFixed(1));
  process.stdout.write(JSON.stringify({ what, pods: PODS, policies: POLICIES, render: m('render'), plan: m('plan'), apply: m('apply'), total: m('total'), writes: median(rs.map((r) => r.writes)) }) + '\n');
};

const unchanged: SyncResult[] = [];
for (let i = 0; i < REPEAT; i++) unchanged.push(check(await syncer.sync(cur, config)));
report('unchanged', unchanged);

const podChange: SyncResult[] = [];
if (session) await session.post('Profiler.start');
for (let i = 0; i < REPEAT; i++) {
  const extra = pod('ns-0', `new-${i}`, { app: 'app-0', tier: 'web', pod: `new-${i}` }, 'n1', [v4(PODS + 10 + i), v6(PODS + 10 + i)]);
  cur = { ...cur, pods: [...cur.pods, extra] };
  podChange.push(check(await syncer.sync(cur, config)));
}
report('pod change', podChange);
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(PROFILE, JSON.stringify(profile));
}

const policyChange: SyncResult[] = [];
for (let i = 0; i < REPEAT; i++) {
  const pols = cur.networkPolicies.slice();
  const p0 = pols[0]!;
  pols[0] = { ...p0, spec: { ...p0.spec, ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 8080 + i + 1 }] }] } };
  cur = { ...cur, networkPolicies: pols };
  policyChange.push(check(await syncer.sync(cur, config)));
}
report('policy change', policyChange);
