import { spawn } from 'node:child_process';

/**
 * How the agent runs iptables and ipset: one narrow interface, a real implementation (spawn, input on
 * stdin) and a recording fake for unit tests.
 *
 * libs/iptables was still empty when this was written, so the agent has its own; it is small on
 * purpose and can be replaced by the library's Runner without touching the plan.
 */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CommandRunner {
  /** Runs `cmd args`, writing `input` to its stdin when given. Never throws for a non-zero exit. */
  run(cmd: string, args: readonly string[], input?: string): Promise<CommandResult>;
}

/** Runs commands with child_process.spawn; a command that cannot be started gives code 127. */
export function realRunner(opts: { timeoutMs?: number } = {}): CommandRunner {
  return {
    run(cmd, args, input) {
      return new Promise((resolve) => {
        const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000 });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        let settled = false;
        const done = (code: number, extra = ''): void => {
          if (settled) return;
          settled = true;
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + extra });
        };
        child.on('error', (e) => done(127, `${cmd}: ${e.message}`));
        child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1), signal ? `${cmd}: killed by ${signal}` : ''));
        child.stdin.on('error', () => undefined); // EPIPE when the command exits early; its exit code tells
        child.stdin.end(input ?? '');
      });
    },
  };
}

/** One recorded call. */
export interface RecordedCall {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

/**
 * A fake runner: records calls and answers from a handler (default: success with empty output).
 * Tests script the kernel by returning save output and failing chosen restores.
 */
export class RecordingRunner implements CommandRunner {
  readonly calls: RecordedCall[] = [];
  readonly #handler: (call: RecordedCall) => Partial<CommandResult> | undefined;
  constructor(handler: (call: RecordedCall) => Partial<CommandResult> | undefined = () => undefined) {
    this.#handler = handler;
  }

  async run(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const call = { cmd, args: [...args], input };
    this.calls.push(call);
    const r = this.#handler(call) ?? {};
    return { code: r.code ?? 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }
}
