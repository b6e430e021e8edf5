import { createLogger, ExitCode, handleShutdown, VERSION, type CommandContext, type FlagSpec, type Io, type Program } from '@portico/service-kit';
import { createKubeClient, loadSnapshot, SnapshotError } from '@portico/kube';
import type { Family, NetpolSnapshot, Problem } from '@portico/netpol';
import { NetpolPlanner, renderNetpol } from '@portico/netpol';
import { agentConfig, backendFlag, netpolConfig, resolveFamilies, runConfig, runFlags, snapshotFlags, type RunConfig } from './config.ts';
import { createApp } from './app.ts';
import { applyFamilyPlan, createSetLines, type KernelFamily, type Runner } from '@portico/iptables';
import { Kernel, nodeRunner, resolveTools, ShellRunner, type IptablesBackend, type Tools } from '@portico/iptables/adapter';
import { Syncer, type SyncResult } from './sync.ts';
import { nodeAddresses, toNetpolSnapshot } from './snapshot.ts';
import { cleanupWaitCommand, cleanupWaitFlags } from './uninstall-wait.ts';

/**
 * The command-line interface of netpol-agent: `run` (default), `render`, `apply`, `cleanup`,
 * `cleanup-wait`.
 * Every command validates all of its input first and exits 2, one line per problem, before touching
 * the kernel or the API (STYLE rule 10).
 */

const NAME = 'netpol-agent';

/** What the commands need from the outside world; tests inject fakes. */
export interface CliDeps {
  /** @default nodeRunner() of @portico/iptables */
  readonly runner?: Runner;
  /** Resolves --iptables-backend to binaries. @default resolveTools (probes the system) */
  readonly resolveTools?: (runner: Runner, choice: IptablesBackend) => Promise<Tools>;
  /** Connects to the API server. @default createKubeClient of @portico/kube */
  readonly connect?: typeof createKubeClient;
  /** Starts the long-running agent; resolves with the exit code when it stops. @default {@link startAgent} */
  readonly startAgent?: (ctx: CommandContext, config: RunConfig) => Promise<number>;
}

/**
 * `run`: the kernel door (restores through one helper shell started now, while the process is
 * small), the API client and the app, which serves /healthz, /readyz and /metrics and syncs until
 * SIGTERM/SIGINT (handleShutdown then exits the process).
 */
async function startAgent(ctx: CommandContext, config: RunConfig, deps: CliDeps): Promise<number> {
  const log = createLogger({ app: NAME, level: config.logLevel });
  const runner = deps.runner ?? nodeRunner();
  const writer = deps.runner ? undefined : new ShellRunner({ fallback: runner });
  writer?.start();
  const tools = await (deps.resolveTools ?? resolveTools)(runner, config.iptablesBackend);
  log.info({ event: 'iptablesBackend', backend: tools.backend, reason: tools.reason }, 'iptables backend chosen');
  const kernel = new Kernel(runner, tools, writer ? { writer } : {});
  const client = await (deps.connect ?? createKubeClient)({ kubeconfig: config.kubeconfig, env: ctx.io.env, userAgent: 'portico-netpol-agent' });
  const app = createApp({ config, log, client, kernel, version: VERSION });
  const shutdown = handleShutdown({ log });
  // Closers run in reverse order: the app stops (no sync in flight) before its restore shell.
  shutdown.add(async () => writer?.close());
  shutdown.add(() => app.close());
  await app.start();
  return new Promise<number>(() => undefined);
}

function err(io: Io, command: string, line: string): void {
  io.stderr.write(`${NAME} ${command}: ${line}\n`);
}

/** One line per render problem: object, field, value, message. */
function problemLine(p: Problem): string {
  const obj = p.object ? `${p.object.kind} ${p.object.namespace ? `${p.object.namespace}/` : ''}${p.object.name}: ` : '';
  return `${p.severity}: ${obj}${p.field}: ${JSON.stringify(p.value)}: ${p.message} (${p.reason})`;
}

/** Loads and renders a snapshot for render/apply; prints problems; undefined means exit 2. */
async function prepare(ctx: CommandContext, command: string) {
  const { io, values, positionals } = ctx;
  const files = [...((values['snapshot'] as readonly string[] | undefined) ?? []), ...positionals];
  const nodeName = values['node'] as string;
  const built = agentConfig(values, nodeName);
  const issues = 'issues' in built ? built.issues.map((i) => `invalid ${i.field}: ${JSON.stringify(i.value)}: ${i.reason}`) : [];
  if (files.length === 0) issues.push('no snapshot given: pass --snapshot FILE (or FILE...; - for stdin)');
  if (issues.length || 'issues' in built) {
    for (const i of issues) err(io, command, i);
    return undefined;
  }
  let snapshot: NetpolSnapshot;
  try {
    snapshot = toNetpolSnapshot((await loadSnapshot(files, { stdin: process.stdin })).byKind);
  } catch (e) {
    if (e instanceof SnapshotError) {
      for (const p of e.problems) err(io, command, p);
      return undefined;
    }
    throw e;
  }
  const families = resolveFamilies(built.config, nodeAddresses(snapshot, nodeName));
  const cfg = netpolConfig(built.config, families);
  const desired = renderNetpol(snapshot, cfg);
  for (const p of desired.problems) err(io, command, problemLine(p));
  if (desired.problems.some((p) => p.severity === 'error')) return undefined;
  return { config: built.config, snapshot, cfg, desired, families };
}

const EMPTY_KERNEL = (family: Family): KernelFamily => ({ family, table: { chains: new Map() }, sets: new Map() });

async function renderCommand(ctx: CommandContext): Promise<number> {
  const p = await prepare(ctx, 'render');
  if (!p) return ExitCode.usage;
  // Written in slices: a large cluster's output (every set entry of every family) can exceed the
  // longest string V8 can build, and one string would double the peak memory.
  const write = (lines: readonly string[]): void => {
    for (let i = 0; i < lines.length; i += 65536) ctx.io.stdout.write(lines.slice(i, i + 65536).join('\n') + '\n');
  };
  for (const f of p.desired.families) {
    // What `apply` writes on a node that holds none of Portico's objects yet: every set created with
    // its content (written set by set: planning them would hold every entry twice more), then the
    // rules (planned with the set contents left out, which the rules do not depend on).
    const plan = new NetpolPlanner().plan({ ...f, ipsets: f.ipsets.map((s) => ({ ...s, entries: [] })) }, EMPTY_KERNEL(f.family));
    write([`# ${NAME} render: node ${p.cfg.nodeName}, family ${f.family}`, `# ipset restore input (${f.ipsets.length} sets)`]);
    for (const s of f.ipsets) write(createSetLines(s));
    write([`# ${f.family === 'IPv4' ? 'iptables' : 'ip6tables'}-restore --noflush input (filter table, ${f.chains.length} chains)`, plan.iptables.trimEnd()]);
  }
  return ExitCode.ok;
}

/** The kernel door; with the real runner, restores go through a ShellRunner (closed by the caller). */
async function kernelFor(deps: CliDeps, runner: Runner, backend: IptablesBackend): Promise<Kernel> {
  const tools = await (deps.resolveTools ?? resolveTools)(runner, backend);
  return new Kernel(runner, tools, deps.runner ? {} : { writer: new ShellRunner({ fallback: runner }) });
}

function summary(r: SyncResult, backend: string): string {
  const failedFamilies = new Set(r.families.filter((f) => f.outcome === 'failed').map((f) => f.family));
  return JSON.stringify({
    outcome: r.outcome,
    backend,
    writes: r.writes,
    bytes: r.bytes,
    ...(r.error ? { error: r.error.message } : {}),
    families: r.families.map((f) => ({
      family: f.family,
      outcome: f.outcome,
      ...(f.phase ? { phase: f.phase, error: f.error?.message, rolledBack: f.rolledBack } : {}),
      ...(f.leftovers.length ? { leftovers: f.leftovers } : {}),
    })),
    // What was done, per family that was applied; what a failed family would have done is `notApplied`
    // (its changes were rolled back or never made), so a failure never reads as sets created.
    summary: Object.fromEntries(r.plans.filter((p) => !failedFamilies.has(p.family)).map((p) => [p.family, p.summary])),
    ...(failedFamilies.size ? { notApplied: Object.fromEntries(r.plans.filter((p) => failedFamilies.has(p.family)).map((p) => [p.family, p.summary])) } : {}),
    durationMs: Object.fromEntries(Object.entries(r.durationMs).map(([k, v]) => [k, Math.round(v * 10) / 10])),
  });
}

async function applyCommand(ctx: CommandContext, deps: CliDeps): Promise<number> {
  const p = await prepare(ctx, 'apply');
  if (!p) return ExitCode.usage;
  const runner = deps.runner ?? nodeRunner();
  let kernel: Kernel;
  try {
    kernel = await kernelFor(deps, runner, p.config.iptablesBackend);
  } catch (e) {
    err(ctx.io, 'apply', (e as Error).message);
    return ExitCode.failure;
  }
  const log = createLogger({ app: NAME, level: 'warn', destination: { write: (s: string) => void ctx.io.stderr.write(s) } });
  // prepare() printed every render problem already: once is enough.
  const syncer = new Syncer({ kernel, log, onProblems: () => undefined });
  const r = await syncer.sync(p.snapshot, p.cfg, { reread: true });
  kernel.close();
  ctx.io.stdout.write(summary(r, kernel.tools.backend) + '\n');
  if (r.outcome === 'failed') {
    err(ctx.io, 'apply', r.error ? `failed (${r.failedPhase}): ${r.error.message}` : 'failed; see the log above (previous state left in force where rolledBack is true)');
    return ExitCode.failure;
  }
  return ExitCode.ok;
}

async function cleanupCommand(ctx: CommandContext, deps: CliDeps): Promise<number> {
  const families = (ctx.values['families'] as readonly string[]).map((f) => (f.toLowerCase() === 'ipv6' || f === '6' ? 'IPv6' : 'IPv4')) as Family[];
  const runner = deps.runner ?? nodeRunner();
  let kernel: Kernel;
  try {
    kernel = await kernelFor(deps, runner, ctx.values['iptables-backend'] as IptablesBackend);
  } catch (e) {
    err(ctx.io, 'cleanup', (e as Error).message);
    return ExitCode.failure;
  }
  let failed = false;
  let observed: KernelFamily[];
  try {
    observed = await kernel.read([...new Set(families)]);
  } catch (e) {
    err(ctx.io, 'cleanup', `cannot read the kernel state: ${(e as Error).message}`);
    return ExitCode.failure;
  }
  const report: unknown[] = [];
  for (const k of observed) {
    // Cleanup is the plan towards an empty desired state: every owned rule, chain and set goes, in
    // the same safe order as a sync (rules first, then the sets they used).
    const plan = new NetpolPlanner().plan({ family: k.family, chains: [], ipsets: [], builtinRules: [] }, k);
    const r = await applyFamilyPlan(plan, kernel);
    if (r.outcome === 'failed') {
      failed = true;
      err(ctx.io, 'cleanup', `${k.family}: failed in ${r.phase}: ${r.error?.message}`);
    }
    for (const w of plan.warnings) err(ctx.io, 'cleanup', `${k.family}: ${w.name} kept: referenced by ${w.referencedBy}`);
    if (r.leftovers.length) {
      failed = true;
      err(ctx.io, 'cleanup', `${k.family}: could not destroy sets: ${r.leftovers.join(', ')}`);
    }
    report.push({ family: k.family, outcome: r.outcome, summary: plan.summary });
  }
  kernel.close();
  ctx.io.stdout.write(JSON.stringify({ outcome: failed ? 'failed' : 'ok', backend: kernel.tools.backend, writes: kernel.writes, bytes: kernel.bytes, families: report }) + '\n');
  return failed ? ExitCode.failure : ExitCode.ok;
}

const cleanupFlags: FlagSpec[] = [
  {
    name: 'families',
    type: 'list',
    env: 'PORTICO_NETPOL_FAMILIES',
    default: ['IPv4', 'IPv6'],
    description: 'Families to clean up',
    validate: (v: readonly string[]) => (v.length > 0 && v.every((f) => /^(ipv4|ipv6|4|6)$/i.test(f)) ? undefined : 'must be IPv4 and/or IPv6'),
  },
  backendFlag(),
];

/** Builds the program; every field of `deps` defaults to the real system, tests inject fakes. */
export function createProgram(deps: CliDeps = {}): Program {
  return {
    name: NAME,
    summary: 'Network policy agent: NetworkPolicy to iptables/ip6tables and ipsets on this node (kube-router compatible)',
    defaultCommand: 'run',
    commands: [
      {
        name: 'run',
        summary: 'Watch pods, namespaces, network policies and this node; keep the kernel in sync',
        flags: runFlags(),
        run: async (ctx) => {
          const built = runConfig(ctx.values);
          const problems = 'issues' in built ? built.issues.map((i) => `invalid ${i.field}: ${JSON.stringify(i.value)}: ${i.reason}`) : [];
          for (const p of ctx.positionals) problems.push(`unexpected argument ${JSON.stringify(p)} (run takes flags only)`);
          if ('issues' in built || problems.length) {
            for (const p of problems) err(ctx.io, 'run', p);
            return ExitCode.usage;
          }
          return deps.startAgent ? deps.startAgent(ctx, built.config) : startAgent(ctx, built.config, deps);
        },
      },
      {
        name: 'render',
        summary: 'Print the ipset and iptables-restore input per family for snapshot files, with no kernel or cluster access',
        args: '[FILE...]',
        details: 'Output is what `apply` would write on a node holding none of its objects. Exit 2 on bad input.',
        flags: snapshotFlags(),
        run: (ctx) => renderCommand(ctx),
      },
      {
        name: 'apply',
        summary: 'Render snapshot files and apply them once into the current network namespace',
        args: '[FILE...]',
        details:
          'Writes only what differs from the kernel (an unchanged state writes nothing) and prints a JSON summary.\n' +
          'Exit 0: applied or unchanged; 1: apply failed (the previous state is left in force, see rolledBack); 2: bad input.',
        flags: snapshotFlags(),
        run: (ctx) => applyCommand(ctx, deps),
      },
      {
        name: 'cleanup',
        summary: 'Remove every chain, jump and ipset the agent (or kube-router) owns; leave everything else untouched',
        details: 'Idempotent. Owned: KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-* chains and the jumps to them; KUBE-SRC-*, KUBE-DST-*, kube-router-local-pods sets (inet6: too).',
        flags: cleanupFlags,
        run: (ctx) => cleanupCommand(ctx, deps),
      },
      {
        name: 'cleanup-wait',
        summary: 'Wait until no agent pod is left, or until a cleanup DaemonSet ran `cleanup` on every node (helm uninstall hooks)',
        details:
          'Used by the chart\'s post-delete hook Jobs around the DaemonSet whose init container runs `cleanup` on each node.\n' +
          'Exit 0: done; 1: not done within --timeout (the message names what was seen last) or an API error; 2: bad flags or kubeconfig.',
        flags: cleanupWaitFlags,
        run: (ctx) => cleanupWaitCommand(ctx),
      },
    ],
  };
}
