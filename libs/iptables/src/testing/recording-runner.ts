import type { CommandResult, Runner, RunOptions } from '../runner.ts';

/** One call seen by a {@link RecordingRunner}. */
export interface RecordedCall {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

export type CallHandler = (call: RecordedCall) => CommandResult | Promise<CommandResult>;

/** A successful result with the given stdout. */
export function ok(stdout = ''): CommandResult {
  return { code: 0, stdout, stderr: '' };
}

/** A failed result. */
export function failed(code: number, stderr: string): CommandResult {
  return { code, stdout: '', stderr };
}

/**
 * A fake {@link Runner} that records every call and answers from `handler` (default: success with
 * empty output). Tests script the system through the handler and assert on `calls`.
 */
export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  private readonly handler: CallHandler;

  constructor(handler: CallHandler = () => ok()) {
    this.handler = handler;
  }

  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    const call: RecordedCall = { cmd, args: [...args], input: opts.input };
    this.calls.push(call);
    return this.handler(call);
  }

  /** The calls as `cmd arg arg` strings, for compact assertions. */
  commandLines(): string[] {
    return this.calls.map((c) => [c.cmd, ...c.args].join(' '));
  }
}
