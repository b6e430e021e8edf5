/**
 * netpol-agent benchmark: render + apply into the current network namespace (run.sh creates a
 * throwaway one), for a series of cluster sizes. Prints a markdown table.
 *
 * Per point (pods, policies):
 * - full sync: a node that holds nothing yet; render, read the kernel, plan, apply (one sync);
 * - unchanged resync: the periodic resync (rules and set sizes checked, `read: 'check'`), which must
 *   write nothing; full verification: the same with every set member read back (`read: 'full'`);
 * - pod change: one new pod on this node (new pod chain, jumps, set entries), against the
 *   agent's kernel model as in `run`;
 * - policy change: one policy's port changes (its chain and nothing else);
 * times are medians (and p99, nearest rank) of `--repeat` runs, wall time and the agent process's CPU
 * time (render + plan + the writes' own bookkeeping; the restore commands run in other processes);
 * writes are restore invocations, bytes their input size; RSS is this process's resident memory after
 * the point (it holds what an agent holds at that size: caches, renderer, kernel model).
 * After the incremental changes a kernel re-read must find nothing to do (checked).
 *
 * Usage (root, inside a fresh netns; run.sh does that): node --import tsx bench/netpol/bench.ts
 *   [--pods 100,1000,5000] [--policies 10,100,500] [--local 100] [--repeat 5] [--families IPv4] [--json]
 * `--json` prints one JSON document (every sample of every point) instead of the table.
 */
import { loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { createLogger } from '@portico/service-kit';
import { NetpolPlanner, type Family, type NetpolConfig } from '@portico/netpol';
import { Kernel, nodeRunner, resolveTools, ShellRunner } from '@portico/iptables/adapter';
import { applyFamilyPlan } from '@portico/iptables';
import { Syncer, type SyncResult } from '../../apps/netpol-agent/src/sync.ts';
import { pod } from '../../apps/netpol-agent/src/testing/fixtures.ts';
import { cluster, v4, v6 } from './cluster.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const POD_COUNTS = arg('pods', '100,1000,5000').split(',').map(Number);
const POLICY_COUNTS = arg('policies', '10,100,500').split(',').map(Number);
const LOCAL = Number(arg('local', '100'));
const REPEAT = Number(arg('repeat', '5'));
const FAMILIES = arg('families', 'IPv4').split(',') as Family[];
const JSON_OUT = process.argv.includes('--json');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** Nearest-rank percentile. */
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
/**
 * What this process holds once garbage is collected (run with --expose-gc, as run.sh does): it then
 * holds what an agent holds at this size (the snapshot, the renderer's caches, the kernel model),
 * and the benchmark's own extra syncers are gone. V8 keeps some freed pages, so RSS is an upper bound
 * and the heap in use the lower one.
 */
function settledMemory(): { rssMiB: number; heapMiB: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (bench/netpol/run.sh does)');
  for (let i = 0; i < 3; i++) gc();
  return { rssMiB: vm('VmRSS'), heapMiB: process.memoryUsage().heapUsed / 2 ** 20 };
}

/** A VmRSS/VmHWM figure of this process, MiB. */
const vm = (key: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const kib = (b: number): string => (b >= 10240 ? `${(b / 1024).toFixed(0)} KiB` : `${b} B`);

/** Restore times of the sync in progress, by tool (ms), reported by the kernel observer. */
let restoreMs = { ipset: 0, iptables: 0 };
const restoresOf = new WeakMap<SyncResult, { ipset: number; iptables: number }>();
/** CPU time (user + system, ms) of this process during each sync. */
const cpuOf = new WeakMap<SyncResult, number>();

/** One sync, with its CPU time recorded. */
async function timed(run: () => Promise<SyncResult>): Promise<SyncResult> {
  const c0 = process.cpuUsage();
  const r = await run();
  const c = process.cpuUsage(c0);
  cpuOf.set(r, (c.user + c.system) / 1000);
  return r;
}

interface Row {
  pods: number;
  policies: number;
  chains: number;
  rules: number;
  sets: number;
  entries: number;
  full: SyncResult[];
  resync: SyncResult[];
  verify: SyncResult[];
  podChange: SyncResult[];
  policyChange: SyncResult[];
  /** After garbage collection, holding one agent's state (see settledMemory). */
  rssMiB: number;
  heapMiB: number;
  peakRssMiB: number;
  load: { start: string; end: string };
}

async function cleanup(kernel: Kernel): Promise<void> {
  for (const k of await kernel.read(FAMILIES)) {
    const r = await applyFamilyPlan(new NetpolPlanner().plan({ family: k.family, chains: [], ipsets: [], builtinRules: [] }, k), kernel);
    if (r.outcome === 'failed') throw new Error(`cleanup failed: ${r.error?.message}`);
  }
}

async function point(kernel: Kernel, pods: number, policies: number): Promise<Row> {
  await cleanup(kernel);
  restoreMs = { ipset: 0, iptables: 0 };
  const local = Math.min(LOCAL, pods);
  const snap = cluster(pods, policies, local);
  const config: NetpolConfig = { nodeName: 'n1', families: FAMILIES, defaultDeny: true };
  const log = createLogger({ app: 'bench', level: 'silent' });
  // Results are kept without their plans (a full sync's plan holds every set line): what stays in
  // memory after a point is then what an agent holds (settledMemory).
  const check = (r: SyncResult, what: string, keepPlans = false): SyncResult => {
    if (r.outcome === 'failed') throw new Error(`${what}: ${r.error?.message ?? r.families.map((f) => `${f.family} ${f.phase}: ${f.error?.message}`).join('; ')}`);
    const kept = keepPlans ? r : { ...r, plans: [], families: [] };
    restoresOf.set(kept, restoreMs);
    cpuOf.set(kept, cpuOf.get(r) ?? 0);
    restoreMs = { ipset: 0, iptables: 0 };
    return kept;
  };

  const loadStart = load();
  // Full syncs: each on a node holding nothing, with a new agent (as a restarted one).
  const full: SyncResult[] = [];
  let syncer = new Syncer({ kernel, log });
  for (let i = 0; i < REPEAT; i++) {
    if (i > 0) {
      await cleanup(kernel);
      syncer = new Syncer({ kernel, log });
      restoreMs = { ipset: 0, iptables: 0 };
    }
    full.push(check(await timed(() => syncer.sync(snap, config, { reread: true })), 'full sync', i === 0));
  }
  const desired = full[0]!.plans;
  const chains = desired.reduce((n, p) => n + p.after.table.chains.size, 0);
  const rules = desired.reduce((n, p) => n + [...p.after.table.chains.values()].reduce((m, c) => m + c.rules.length, 0), 0);
  const sets = desired.reduce((n, p) => n + p.after.sets.size, 0);
  const entries = desired.reduce((n, p) => n + [...p.after.sets.values()].reduce((m, s) => m + s.entries.size, 0), 0);
  full[0] = check(full[0]!, 'full sync');
  // The periodic resync (cheap check) and the full verification, on an unchanged cluster.
  const resync: SyncResult[] = [];
  const verify: SyncResult[] = [];
  for (let i = 0; i < REPEAT; i++) {
    resync.push(check(await timed(() => syncer.sync(snap, config, { read: 'check' })), 'resync'));
    verify.push(check(await timed(() => syncer.sync(snap, config, { read: 'full' })), 'verify'));
  }
  for (const r of [...resync, ...verify]) if (r.writes !== 0) throw new Error(`unchanged resync (${r.read}) wrote ${r.writes} times`);

  // One pod added on this node, then removed again (each counted as one change).
  const podChange: SyncResult[] = [];
  let cur = snap;
  for (let i = 0; i < REPEAT; i++) {
    const extra = pod('ns-0', `new-${i}`, { app: 'app-0', tier: 'web', pod: `new-${i}` }, 'n1', [v4(pods + 10 + i), v6(pods + 10 + i)]);
    cur = { ...cur, pods: [...cur.pods, extra] };
    podChange.push(check(await timed(() => syncer.sync(cur, config)), 'pod change'));
  }
  // One policy's port changes.
  const policyChange: SyncResult[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const pols = cur.networkPolicies.slice();
    const p0 = pols[0]!;
    pols[0] = { ...p0, spec: { ...p0.spec, ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 8080 + i + 1 }] }] } };
    cur = { ...cur, networkPolicies: pols };
    policyChange.push(check(await timed(() => syncer.sync(cur, config)), 'policy change'));
  }
  const final = check(await syncer.sync(cur, config, { reread: true }), 'final check');
  if (final.writes !== 0) throw new Error('after incremental syncs the kernel differs from the model');
  return { pods, policies, chains, rules, sets, entries, full, resync, verify, podChange, policyChange, ...settledMemory(), peakRssMiB: vm('VmHWM'), load: { start: loadStart, end: load() } };
}

/** Median total (p99 in brackets), render, and the agent's own share (plan + apply), then writes / bytes. */
function change(rs: SyncResult[]): string {
  const t = rs.map((r) => r.durationMs.total);
  const render = median(rs.map((r) => r.durationMs.render));
  const plan = median(rs.map((r) => r.durationMs.plan));
  const apply = median(rs.map((r) => r.durationMs.apply));
  const ipset = median(rs.map((r) => restoresOf.get(r)?.ipset ?? 0));
  const iptables = median(rs.map((r) => restoresOf.get(r)?.iptables ?? 0));
  return `${ms(median(t))} [${ms(pct(t, 99))}] cpu ${ms(median(rs.map((r) => cpuOf.get(r) ?? 0)))} | ${ms(render)} | ${ms(plan)} + ${ms(apply)} (${ms(iptables)}, ${ms(ipset)}) | ${median(rs.map((r) => r.writes))} / ${kib(median(rs.map((r) => r.bytes)))}`;
}

/** Median (p99) wall time and median CPU time of a list of syncs. */
function stat(rs: SyncResult[]): { median: number; p99: number; cpu: number } {
  const t = rs.map((r) => r.durationMs.total);
  return { median: median(t), p99: pct(t, 99), cpu: median(rs.map((r) => cpuOf.get(r) ?? 0)) };
}

/** Every sample of a list of syncs, for --json. */
function samples(rs: SyncResult[]): object[] {
  return rs.map((r) => ({
    ...r.durationMs,
    cpu: cpuOf.get(r),
    restores: restoresOf.get(r),
    read: r.read,
    writes: r.writes,
    bytes: r.bytes,
  }));
}

const runner = nodeRunner();
const tools = await resolveTools(runner, 'auto');
const backend = tools.backend;
// As in the agent's `run`: restores go through one shell started while this process is small.
const writer = new ShellRunner({ fallback: runner });
writer.start();
const kernel = new Kernel(runner, tools, {
  writer,
  observer: {
    onRestore(what, _family, seconds) {
      restoreMs[what] += seconds * 1000;
    },
  },
});
const rows: Row[] = [];
for (const pods of POD_COUNTS) {
  for (const policies of POLICY_COUNTS) {
    process.stderr.write(`bench: ${pods} pods, ${policies} policies...\n`);
    rows.push(await point(kernel, pods, policies));
  }
}
// What one process start costs from this process (its heap is as large as an agent's at this size).
const spawnMs: number[] = [];
const shellMs: number[] = [];
for (let i = 0; i < 9; i++) {
  let t0 = performance.now();
  await runner.run('true', []);
  spawnMs.push(performance.now() - t0);
  t0 = performance.now();
  await writer.run('true', []);
  shellMs.push(performance.now() - t0);
}
await cleanup(kernel);
const viaShell = writer.viaShell;
writer.close();

if (JSON_OUT) {
  const out = {
    families: FAMILIES,
    backend,
    local: LOCAL,
    repeat: REPEAT,
    processStartMs: { spawned: median(spawnMs), shell: median(shellMs) },
    points: rows.map((r) => ({
      pods: r.pods,
      policies: r.policies,
      chains: r.chains,
      rules: r.rules,
      sets: r.sets,
      entries: r.entries,
      rssMiB: r.rssMiB,
      heapMiB: r.heapMiB,
      peakRssMiB: r.peakRssMiB,
      loadAverage: r.load,
      summary: { fullSync: stat(r.full), unchangedResync: stat(r.resync), fullVerification: stat(r.verify), podChange: stat(r.podChange), policyChange: stat(r.policyChange) },
      fullSync: samples(r.full),
      unchangedResync: samples(r.resync),
      fullVerification: samples(r.verify),
      podChange: samples(r.podChange),
      policyChange: samples(r.policyChange),
    })),
  };
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
} else {
  const full = (r: Row): string => {
    const f = r.full;
    const med = (k: 'render' | 'read' | 'total'): number => median(f.map((x) => x.durationMs[k]));
    const pa = median(f.map((x) => x.durationMs.plan + x.durationMs.apply));
    return `${ms(med('total'))} [${ms(pct(f.map((x) => x.durationMs.total), 99))}] (${ms(med('render'))}, ${ms(med('read'))}, ${ms(pa)})`;
  };
  const lines = [
    `netpol-agent benchmark: families ${FAMILIES.join('+')}, iptables backend ${backend}, at most ${LOCAL} pods on this node, median of ${REPEAT} runs [p99 in brackets]; times in ms.`,
    '"render" = the core (libs/netpol); "plan + apply" = the agent: diff against its kernel model, then the restore commands (the kernel work); in parentheses the time inside iptables-restore and ipset restore (process start, the tool, the kernel commit). "cpu" = CPU time of the agent process (the restore commands run in other processes).',
    '"unchanged resync" = the periodic resync (rules and set sizes read back); "full verification" = every set member read back too (--verify-period).',
    `One process start (\`true\`, after the last point, median of 9): ${ms(median(spawnMs))} ms spawned by this process, ${ms(median(shellMs))} ms through the ShellRunner; ${viaShell} restores ran through the shell.`,
    '',
    '| pods | policies | chains / rules | sets / entries | full sync total (render, read, plan+apply) | full sync writes / bytes | unchanged resync total, writes | pod change total | render | plan + apply (iptables, ipset) | writes / bytes | policy change total | render | plan + apply (iptables, ipset) | writes / bytes | full verification total, writes | RSS, heap in use after GC (peak RSS), MiB | load average (start, end) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) =>
      [
        '',
        r.pods,
        r.policies,
        `${r.chains} / ${r.rules}`,
        `${r.sets} / ${r.entries}`,
        full(r),
        `${median(r.full.map((x) => x.writes))} / ${kib(median(r.full.map((x) => x.bytes)))}`,
        `${ms(stat(r.resync).median)} [${ms(stat(r.resync).p99)}] cpu ${ms(stat(r.resync).cpu)}, ${Math.max(...r.resync.map((x) => x.writes))}`,
        change(r.podChange),
        change(r.policyChange),
        `${ms(stat(r.verify).median)} [${ms(stat(r.verify).p99)}] cpu ${ms(stat(r.verify).cpu)}, ${Math.max(...r.verify.map((x) => x.writes))}`,
        `${r.rssMiB.toFixed(0)}, ${r.heapMiB.toFixed(0)} (${r.peakRssMiB.toFixed(0)})`,
        `${r.load.start} → ${r.load.end}`,
        '',
      ]
        .join(' | ')
        .trim(),
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
