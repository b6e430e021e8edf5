import { accessSync, constants, statSync } from 'node:fs';
import { type BackendMode, type Runner } from '@portico/iptables';
import { detectBackend, nodeRunner } from '@portico/iptables/adapter';
import { createLogger, ExitCode, formatIssue, logLevelFlag, type Command, type CommandContext, type LogLevel, type Program } from '@portico/service-kit';
import { parseForwarderEnv, type ForwarderConfig } from './config.ts';
import { applyForwarding, familiesWithoutRanges, noRangeText, renderForwarder, selectFamilies } from './forwarder.ts';
import { DEFAULT_WAITER, handOff, NO_WAITER, waitForTermination, type Execve } from './handoff.ts';
import { ForwardingInit } from '@portico/labels';
import type { IPFamily } from '@portico/ip-selection';
import { enableForwarding, procSysctl, procSysctlWriter, type SysctlReader, type SysctlWriter } from './sysctl.ts';

const NAME = 'lb-forwarder';

/** Everything the commands touch outside their pure parts; tests replace them. */
export interface ForwarderSystem {
  readonly runner: Runner;
  readonly sysctl: SysctlReader;
  readonly writeSysctl: SysctlWriter;
  readonly execve: Execve | undefined;
  readonly isExecutable: (path: string) => boolean;
  readonly waitForSignal: () => Promise<string>;
  /** Where JSON log lines go. @default stdout */
  readonly logDestination?: { write(s: string): unknown };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The real system. */
export function realSystem(): ForwarderSystem {
  const execve = typeof process.execve === 'function' ? (process.execve.bind(process) as Execve) : undefined;
  return { runner: nodeRunner(), sysctl: procSysctl(), writeSysctl: procSysctlWriter(), execve, isExecutable: isExecutableFile, waitForSignal: () => waitForTermination() };
}

const ENV_HELP = `Environment (klipper-lb's, read unchanged; K3s's svclb DaemonSet sets them):
  SRC_PORT     port the pod receives on (the hostPort = Service port), 1-65535
  SRC_RANGES   comma-separated CIDRs allowed to connect (K3s default 0.0.0.0/0, plus ::/0 for IPv6)
  DEST_PROTO   TCP, UDP or SCTP
  DEST_PORT    port to forward to, 1-65535 (Service port, or node port for externalTrafficPolicy Local);
               0 is refused (no node port allocated)
  DEST_IPS     comma-separated IPs to forward to (ClusterIPs, or host IPs for Local); IPv4 goes to
               iptables, IPv6 to ip6tables, each only if its forwarding sysctl
               (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) reads 1
Bad input: exit 2, one line per problem naming the variable and its value, nothing applied.`;

function configOrIssues(ctx: CommandContext): ForwarderConfig | number {
  const parsed = parseForwarderEnv(ctx.io.env);
  if (parsed.ok) return parsed.config;
  for (const issue of parsed.issues) ctx.io.stderr.write(`${NAME}: ${formatIssue(issue)}\n`);
  return ExitCode.usage;
}

function runCommand(system: () => ForwarderSystem): Command {
  return {
    name: 'run',
    summary: 'Apply the DNAT rules for the klipper-lb environment, then wait for SIGTERM with minimal memory',
    details: `${ENV_HELP}

After applying, the process replaces itself (same PID) with --waiter, a POSIX shell that waits for
SIGTERM/SIGINT and exits 0; its resident memory stays under 2 MiB. There is no health endpoint:
like klipper-lb, readiness is "the container is running". Re-running in the same network namespace
leaves the same rules (own chains refilled, jumps added only when missing).`,
    flags: [
      {
        name: 'waiter',
        type: 'string',
        env: 'PORTICO_WAITER',
        default: DEFAULT_WAITER,
        description: `POSIX shell that waits after the hand-off; "${NO_WAITER}" keeps the Node process instead`,
      },
      {
        name: 'iptables-backend',
        type: 'string',
        env: 'PORTICO_IPTABLES_BACKEND',
        default: 'auto',
        choices: ['auto', 'nft', 'legacy'],
        description: 'iptables backend; auto prefers the one already holding rules, else nft when nf_tables answers',
      },
      logLevelFlag(),
    ],
    run: async (ctx) => {
      const cfg = configOrIssues(ctx);
      if (typeof cfg === 'number') return cfg;
      const sys = system();
      const log = createLogger({ app: NAME, level: ctx.values['log-level'] as LogLevel, ...(sys.logDestination ? { destination: sys.logDestination } : {}) });
      const backendFlag = ctx.values['iptables-backend'] as string;
      const override = backendFlag === 'auto' ? undefined : (backendFlag as BackendMode);
      log.info(
        {
          event: 'starting',
          config: { srcPort: cfg.srcPort, protocol: cfg.protocol, destPort: cfg.destPort, destIPs: cfg.destIPs.map((i) => i.text), srcRanges: cfg.srcRanges.map((r) => r.text) },
          iptablesBackend: backendFlag,
          waiter: ctx.values['waiter'],
        },
        'lb-forwarder starting',
      );
      const outcome = await applyForwarding(cfg, {
        log,
        runner: sys.runner,
        sysctl: sys.sysctl,
        detect: async () => (await detectBackend(sys.runner, override ? { override } : {})).decision,
      });
      if (!outcome.ok) return ExitCode.failure;
      return handOff({ log, waiter: ctx.values['waiter'] as string, execve: sys.execve, isExecutable: sys.isExecutable, env: ctx.io.env, waitForSignal: sys.waitForSignal });
    },
  };
}

function renderCommand(system: () => ForwarderSystem): Command {
  return {
    name: 'render',
    summary: 'Print the iptables-restore input per family that run would apply, without applying it',
    details: `${ENV_HELP}

Prints, per family, the input of \`iptables-restore --noflush\` / \`ip6tables-restore --noflush\` for a
network namespace without Portico rules. Families whose forwarding sysctl is not 1 are listed as
skipped, as run would skip them, unless --all-families is given. A family with destinations but no
source range in SRC_RANGES gets a warning on stderr (its rules drop every connection), as run logs.`,
    flags: [{ name: 'all-families', type: 'bool', default: false, description: 'Render every family in DEST_IPS, whatever the forwarding sysctls say' }],
    run: (ctx) => {
      const cfg = configOrIssues(ctx);
      if (typeof cfg === 'number') return cfg;
      const sel = ctx.values['all-families'] ? selectFamilies(cfg, () => '1') : selectFamilies(cfg, system().sysctl);
      ctx.io.stdout.write(renderForwarder(cfg, sel.families, sel.skipped));
      // The same warning run logs: the rules are valid, but they drop every connection of the family.
      for (const f of familiesWithoutRanges(cfg, sel.families)) ctx.io.stderr.write(`${NAME} render: warning: ${noRangeText(f)}\n`);
      return ExitCode.ok;
    },
  };
}

function enableForwardingCommand(system: () => ForwarderSystem): Command {
  return {
    name: ForwardingInit.command,
    summary: 'Turn on IP forwarding in this network namespace for the given families, then exit (svclb init container)',
    details: `The init container of svclb pods when ServiceLB runs with --forwarding-mode=init-container
(docs/servicelb.md, "Forwarding mode"): writes 1 to net.ipv4.ip_forward (IPv4) and
net.ipv6.conf.all.forwarding (IPv6) of the pod's own network namespace, reads each back, and exits 0.
The sysctls are per network namespace: the node's own settings are not touched. /proc/sys is
read-only in an unprivileged container, so the container must be privileged. Exit 1 naming the
sysctl when one cannot be set; exit 2 on bad flags.`,
    flags: [
      {
        name: 'families',
        type: 'list',
        repeatable: true,
        description: 'IP families to forward, comma-separated or repeated: IPv4, IPv6',
        validate: (v: readonly string[]) => (v.every((f) => f === 'IPv4' || f === 'IPv6') ? undefined : 'each family must be IPv4 or IPv6'),
      },
      logLevelFlag(),
    ],
    run: (ctx) => {
      const families = [...new Set((ctx.values['families'] as readonly string[] | undefined) ?? [])] as IPFamily[];
      if (families.length === 0) {
        ctx.io.stderr.write(`${NAME} ${ForwardingInit.command}: --families: no family given (want IPv4, IPv6 or both)\n`);
        return ExitCode.usage;
      }
      const sys = system();
      const log = createLogger({ app: NAME, level: ctx.values['log-level'] as LogLevel, ...(sys.logDestination ? { destination: sys.logDestination } : {}) });
      const results = enableForwarding(families, sys.sysctl, sys.writeSysctl);
      for (const r of results) {
        if (r.ok) log.info({ event: 'forwardingEnabled', family: r.family, sysctl: r.sysctl }, `${r.sysctl} = 1`);
        else log.error({ event: 'forwardingFailed', family: r.family, sysctl: r.sysctl, reason: r.reason }, `cannot turn on ${r.family} forwarding: ${r.sysctl} ${r.reason}`);
      }
      return results.every((r) => r.ok) ? ExitCode.ok : ExitCode.failure;
    },
  };
}

/** The command-line interface; `system` is called lazily, only by commands that need it. */
export function createProgram(system: () => ForwarderSystem = realSystem): Program {
  return {
    name: NAME,
    summary: 'klipper-lb compatible forwarder: DNAT from the pod port to the Service, then a minimal waiter',
    defaultCommand: 'run',
    commands: [runCommand(system), renderCommand(system), enableForwardingCommand(system)],
  };
}

