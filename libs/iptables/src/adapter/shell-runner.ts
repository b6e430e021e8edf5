import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { CommandResult, Runner, RunOptions } from '../runner.ts';

/**
 * A {@link Runner} for the agent's kernel writes that starts them from one long-lived `/bin/sh`
 * instead of from the agent process.
 *
 * Why: starting a process from Node gets slower as the agent's resident memory grows (measured on the
 * project machine: 4 ms at 50 MiB RSS, 17-23 ms while holding the kernel model of 5,000 pods and 500
 * policies, 25-52 ms at 1.4-2.4 GiB), and an incremental sync is one to three restore commands, so at
 * that size process start-up was the largest part of a pod change. A shell started while the agent is
 * small forks cheaply however large the agent grows.
 *
 * How: each command is written to the shell's stdin as `{ cmd 'arg'... 2>&1 <<'DELIM'`, with the input
 * as a quoted here-document (no expansion) ended by a random delimiter, followed by a marker line
 * carrying the exit status and `}` ({@link shellScript}: a script cut short runs nothing). Commands run one at a time. The tool's stdout and stderr arrive merged
 * and are returned as `stderr`: restore commands print nothing on success and their error on failure
 * ("Error in line N" parsing keeps working); commands whose stdout matters (saves, listings) must go
 * through the ordinary runner. Inputs larger than `maxInputBytes` (a full sync of a large cluster)
 * also go through the ordinary runner, as does everything when the shell cannot be started (no
 * `/bin/sh`).
 * A command that runs past `timeoutMs` gets the shell's whole process group killed (exit 124, as the
 * ordinary runner reports it) and the next command starts a new shell. The shell never keeps the
 * agent's event loop alive; {@link close} stops it.
 */
export interface ShellRunnerOptions {
  /** For inputs that are too large, and when the shell cannot be started. */
  readonly fallback: Runner;
  /** @default '/bin/sh' */
  readonly shell?: string;
  /** @default 60000 (the ordinary runner's timeout) */
  readonly timeoutMs?: number;
  /** @default 4 MiB */
  readonly maxInputBytes?: number;
}

const MARK = 'PORTICO-DONE-';

export class ShellRunner implements Runner {
  readonly #fallback: Runner;
  readonly #shell: string;
  readonly #timeoutMs: number;
  readonly #maxInput: number;
  #sh: ChildProcessWithoutNullStreams | undefined;
  #out = '';
  /** The command in flight: its marker and how to finish it. */
  #pending: { marker: string; done: (r: CommandResult) => void; viaFallback: () => Promise<CommandResult> } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Set when the shell cannot be started; then the fallback runs everything. */
  #unusable = false;
  /** Commands run through the shell (tests and the benchmark check the shell is used). */
  viaShell = 0;

  constructor(opts: ShellRunnerOptions) {
    this.#fallback = opts.fallback;
    this.#shell = opts.shell ?? '/bin/sh';
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#maxInput = opts.maxInputBytes ?? 4 * 1024 * 1024;
  }

  /** Starts the shell now (call it while the process is still small). */
  start(): void {
    if (this.#sh) return;
    const sh = spawn(this.#shell, ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    sh.stdout.setEncoding('utf8');
    sh.stdout.on('data', (d: string) => {
      if (this.#sh === sh) this.#onData(d); // late output of a shell closed earlier is dropped
    });
    sh.stderr.on('data', () => undefined); // the shell's own complaints; commands redirect theirs
    sh.stdin.on('error', () => undefined); // EPIPE when the shell died: handled by 'exit'
    sh.on('error', () => {
      // No shell at all (e.g. no /bin/sh in the image): every command goes to the fallback runner.
      if (sh.pid === undefined) this.#unusable = true;
      this.#onExit(sh);
    });
    sh.on('exit', () => this.#onExit(sh));
    this.#sh = sh;
    this.#idle();
  }

  run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const input = opts.input ?? '';
    if (Buffer.byteLength(input) > this.#maxInput) return this.#fallback.run(cmd, args, opts);
    const next = this.#queue.then(() => this.#runOne(cmd, args, input));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Stops the shell (an idle shell also ends when the agent exits, as its stdin closes). */
  close(): void {
    const sh = this.#sh;
    this.#sh = undefined;
    if (sh) killGroup(sh);
  }

  async #runOne(cmd: string, args: readonly string[], input: string): Promise<CommandResult> {
    if (this.#unusable) return this.#fallback.run(cmd, args, { input });
    try {
      this.start();
    } catch {
      return this.#fallback.run(cmd, args, { input });
    }
    const sh = this.#sh;
    if (!sh || sh.exitCode !== null || sh.pid === undefined) {
      this.#sh = undefined;
      return this.#fallback.run(cmd, args, { input });
    }
    const token = randomBytes(12).toString('hex');
    const marker = MARK + token;
    const script = shellScript(cmd, args, input, token);
    this.viaShell++;
    return new Promise<CommandResult>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending = undefined;
        this.close();
        resolve({ code: 124, stdout: '', stderr: `${cmd}: timed out after ${this.#timeoutMs} ms\n` });
      }, this.#timeoutMs);
      this.#pending = {
        marker,
        viaFallback: () => this.#fallback.run(cmd, args, { input }),
        done: (r) => {
          clearTimeout(timer);
          this.#pending = undefined;
          this.#idle();
          resolve(r);
        },
      };
      this.#busy();
      sh.stdin.write(script);
    });
  }

  #onData(d: string): void {
    this.#out += d;
    const p = this.#pending;
    if (!p) return;
    const at = this.#out.indexOf(`\n${p.marker} `);
    if (at < 0) return;
    const end = this.#out.indexOf('\n', at + 1 + p.marker.length);
    if (end < 0) return;
    const code = Number(this.#out.slice(at + 1 + p.marker.length + 1, end));
    const output = this.#out.slice(0, at);
    this.#out = this.#out.slice(end + 1);
    p.done({ code: Number.isInteger(code) ? code : 1, stdout: '', stderr: output });
  }

  #onExit(sh: ChildProcessWithoutNullStreams): void {
    if (this.#sh !== sh) return; // a shell closed earlier (timeout, close()): nothing of it is pending
    this.#sh = undefined;
    this.#out = '';
    const p = this.#pending;
    if (!p) return;
    // The shell never started: the command did not run, so it runs through the fallback. A shell that
    // died while the command ran may have left it half done: that is reported, not retried.
    if (this.#unusable) void p.viaFallback().then(p.done);
    else p.done({ code: 127, stdout: '', stderr: `${this.#shell}: the command shell exited while running a command\n` });
  }

  /** While a command runs, the shell keeps the event loop alive; while idle, it does not. */
  #busy(): void {
    this.#sh?.ref();
    (this.#sh?.stdout as unknown as { ref?: () => void } | undefined)?.ref?.();
  }

  #idle(): void {
    this.#sh?.unref();
    for (const s of [this.#sh?.stdout, this.#sh?.stderr, this.#sh?.stdin]) (s as unknown as { unref?: () => void } | undefined)?.unref?.();
  }
}

/**
 * The script that runs one command: `{ cmd 'arg'... 2>&1 <<'DELIM' ... DELIM; printf marker; }`. The
 * braces matter: the shell runs a compound command only once it has read all of it, so when the
 * agent dies (SIGKILL) while writing the script, the shell meets the end of its input inside the
 * braces, reports a syntax error and runs nothing. Without them, dash runs the command with the
 * here-document cut where the input ended, and an `ipset restore` applies a last line cut in the
 * middle (`add SET 10.42.0.25` cut to `add SET 10.42.0.2` adds an address nobody asked for).
 */
export function shellScript(cmd: string, args: readonly string[], input: string, token: string): string {
  const delim = `PORTICO-EOF-${token}`;
  const body = input === '' || input.endsWith('\n') ? input : input + '\n';
  return `{\n${[cmd, ...args].map(shellQuote).join(' ')} 2>&1 <<'${delim}'\n${body}${delim}\nprintf '\\n%s %d\\n' '${MARK}${token}' "$?"\n}\n`;
}

/** Single-quotes an argument for sh (`'` becomes `'\''`). */
export function shellQuote(a: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function killGroup(sh: ChildProcessWithoutNullStreams): void {
  try {
    if (sh.pid !== undefined) process.kill(-sh.pid, 'SIGKILL');
  } catch {
    sh.kill('SIGKILL');
  }
}
