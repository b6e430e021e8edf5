import type { Logger } from '@portico/service-kit';

/**
 * After the rules are in place nothing needs to run: they live in the pod's network namespace
 * and vanish with it. klipper-lb keeps a shell blocked on a FIFO (about 1.7 MiB resident); a Node
 * process idles near 40 MiB, which would be paid once per Service port per node. So the forwarder
 * replaces itself, with `process.execve()` (Node ≥ 22.15 / 23.11), by a POSIX shell running
 * {@link WAIT_SCRIPT}: same PID (it stays the container's main process, PID 1), one process,
 * measured below 2 MiB resident (docs/lb-forwarder.md), exit 0 on SIGTERM or SIGINT.
 *
 * Why a shell with a trap and not `sleep infinity`: as PID 1 a process ignores every signal it has
 * no handler for, so `sleep` would ignore SIGTERM and the kubelet would have to SIGKILL it after the
 * grace period. The trap installs the handler.
 *
 * Why a FIFO opened read-write and not `sleep N & wait`: the FIFO keeps it to one process, and
 * opening it read-write never blocks on open (a FIFO opened read-only waits for a writer). The FIFO
 * is unlinked right away. When no FIFO can be made (read-only /tmp, no `mkfifo`), the script falls
 * back to a sleeping child, which it kills on exit (two processes, about twice the memory).
 *
 * Fallbacks are explicit and logged: no `process.execve` (Node 20), or a waiter that is not an
 * executable file (a failed execve aborts Node, so it is checked first), or `--waiter none`: the
 * Node process stays and waits for the signal itself.
 */
export const WAIT_SCRIPT = [
  "trap 'exit 0' TERM INT",
  'f="${TMPDIR:-/tmp}/lb-forwarder-wait.$$"',
  'if mkfifo "$f" 2>/dev/null; then',
  '  exec 3<>"$f"',
  '  rm -f "$f"',
  '  while :; do read -r _ <&3; done',
  'fi',
  "trap 'kill \"$s\" 2>/dev/null; exit 0' TERM INT",
  'while :; do sleep 86400 & s=$!; wait "$s"; done',
].join('\n');

/** `$0` of the waiter, visible in `ps` and /proc/<pid>/cmdline. */
export const WAITER_NAME = 'lb-forwarder-wait';

/** The default waiter: the image's POSIX shell. */
export const DEFAULT_WAITER = '/bin/sh';

/** `--waiter none`: stay in Node. */
export const NO_WAITER = 'none';

export type Execve = (file: string, args: readonly string[], env: NodeJS.ProcessEnv) => never;

export interface HandoffDeps {
  readonly log: Logger;
  /** Path of a POSIX shell, or {@link NO_WAITER}. */
  readonly waiter: string;
  /** `process.execve` when the runtime has it. */
  readonly execve: Execve | undefined;
  readonly isExecutable: (path: string) => boolean;
  /** The environment the waiter gets PATH and TMPDIR from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves with the signal name on SIGTERM or SIGINT. */
  readonly waitForSignal: () => Promise<string>;
}

/** The argv and environment the waiter is started with. */
export function waiterInvocation(waiter: string, env: Readonly<Record<string, string | undefined>>): { readonly args: string[]; readonly env: NodeJS.ProcessEnv } {
  const wenv: NodeJS.ProcessEnv = { PATH: env['PATH'] ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  if (env['TMPDIR']) wenv['TMPDIR'] = env['TMPDIR'];
  return { args: [waiter, '-c', WAIT_SCRIPT, WAITER_NAME], env: wenv };
}

/**
 * Replaces the process with the waiter (never returns then), or stays in Node, waits for SIGTERM
 * or SIGINT and returns exit code 0.
 */
export async function handOff(deps: HandoffDeps): Promise<number> {
  const { log } = deps;
  let why: string | undefined;
  if (deps.waiter === NO_WAITER) why = '--waiter none';
  else if (!deps.execve) why = 'process.execve is not available in this Node.js (it needs 22.15 or 23.11 and later)';
  else if (!deps.isExecutable(deps.waiter)) why = `the waiter ${deps.waiter} is not an executable file`;
  if (why === undefined && deps.execve) {
    const inv = waiterInvocation(deps.waiter, deps.env);
    log.info({ event: 'handoff', waiter: deps.waiter, pid: process.pid }, 'rules applied; handing off to the waiter (same PID, exits 0 on SIGTERM/SIGINT)');
    deps.execve(deps.waiter, inv.args, inv.env);
  }
  log.warn({ event: 'stayingResident', reason: why }, `staying in Node until SIGTERM/SIGINT (about 40 MiB resident instead of under 2 MiB): ${why}`);
  const signal = await deps.waitForSignal();
  log.info({ event: 'exited', signal, code: 0 }, 'stopped');
  return 0;
}

/** Resolves on the first SIGTERM or SIGINT, keeping the event loop alive until then. */
export function waitForTermination(proc: Pick<NodeJS.Process, 'once' | 'removeListener'> = process): Promise<string> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const done = (signal: string) => (): void => {
      clearInterval(keepAlive);
      proc.removeListener('SIGTERM', onTerm);
      proc.removeListener('SIGINT', onInt);
      resolve(signal);
    };
    const onTerm = done('SIGTERM');
    const onInt = done('SIGINT');
    proc.once('SIGTERM', onTerm);
    proc.once('SIGINT', onInt);
  });
}
