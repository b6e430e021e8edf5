import { spawn } from 'node:child_process';
import type { CommandResult, Runner, RunOptions } from '../runner.ts';

export interface NodeRunnerOptions {
  /** Kill the command after this long (then code 124-like failure). @default 60000 */
  readonly timeoutMs?: number;
  /** Environment for the commands. @default the process environment */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The real {@link Runner}: `child_process.spawn` with an argv array (no shell, so no quoting
 * problems), stdin from `opts.input`, stdout and stderr collected as UTF-8. A command that cannot
 * be started resolves with code 127 and the spawn error in stderr; a timeout kills it (SIGKILL) and
 * resolves with code 124.
 */
export function nodeRunner(options: NodeRunnerOptions = {}): Runner {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return {
    run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
      return new Promise((resolve) => {
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let settled = false;
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        const finish = (code: number, extra: string): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + extra });
        };
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', (e) => finish(127, `${cmd}: ${e.message}\n`));
        child.on('close', (code, signal) => {
          if (timedOut) finish(124, `${cmd}: timed out after ${timeoutMs} ms\n`);
          else finish(code ?? 128, signal ? `${cmd}: killed by ${signal}\n` : '');
        });
        // EPIPE when the command exits before reading its input: its exit code tells what happened.
        child.stdin.on('error', () => undefined);
        child.stdin.end(opts.input ?? '');
      });
    },
  };
}
