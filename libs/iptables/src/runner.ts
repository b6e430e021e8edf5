/**
 * The one port through which this library touches the system: run a command (argv, never a
 * shell) with optional stdin, get its exit code and output. The real implementation is in
 * adapter/runner-node.ts; `RecordingRunner` (@portico/iptables/testing) is the fake for tests. This file does no I/O.
 */

export interface CommandResult {
  /** Exit code; 127 when the command could not be started (not found, not executable). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. @default '' (empty stdin) */
  readonly input?: string;
}

export interface Runner {
  /** Runs `cmd` with `args`. Never rejects for a non-zero exit or a missing command. */
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}
