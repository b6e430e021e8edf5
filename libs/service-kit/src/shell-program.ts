import { ExitCode, type CommandContext, type Program } from './cli.ts';
import { commonRunFlags } from './common-flags.ts';

export interface ShellProgramOptions {
  readonly name: string;
  readonly summary: string;
  /** Default of `run --metrics-addr`, so the app's port is fixed before its core lands. */
  readonly metricsAddr: string;
}

/**
 * The CLI of an app whose core is not in this build yet (DESIGN.md: every app has `run` and
 * `render`). Flags are parsed and validated as the real commands will (exit 2 on bad input); the
 * commands then say plainly that the core is missing and exit 1. Nothing pretends to work.
 */
export function shellProgram(opts: ShellProgramOptions): Program {
  const unavailable = (what: string) => (ctx: CommandContext): number => {
    ctx.io.stderr.write(`${opts.name}: '${what}' is not available in this build: the ${opts.name} core is tracked in its own issue\n`);
    return ExitCode.failure;
  };
  return {
    name: opts.name,
    summary: opts.summary,
    defaultCommand: 'run',
    commands: [
      { name: 'run', summary: 'Run the long-running service', flags: commonRunFlags({ metricsAddr: opts.metricsAddr }), run: unavailable('run') },
      {
        name: 'render',
        summary: 'Print what the core would produce from snapshot files, with no cluster access',
        args: 'FILE...',
        flags: [{ name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot file (YAML or JSON, v1 List or multi-document; - for stdin)' }],
        run: unavailable('render'),
      },
    ],
  };
}
