import { flagsHelp, formatIssue, parseFlags, type FlagSpec, type FlagValues } from './flags.ts';

/** Where a command writes; tests pass buffers, main.ts passes the process streams. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CommandContext {
  readonly values: FlagValues;
  readonly positionals: readonly string[];
  readonly io: Io;
}

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Extra help text printed under the usage line. */
  readonly details?: string;
  /** Usage of positionals, e.g. `[FILE...]`. @default '' */
  readonly args?: string;
  readonly flags: readonly FlagSpec[];
  /** Returns the process exit code (or a promise of it). */
  readonly run: (ctx: CommandContext) => number | Promise<number>;
}

export interface Program {
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly Command[];
  /** Command used when argv starts with a flag or is empty. */
  readonly defaultCommand?: string;
}

/** Exit codes shared by every Portico binary. */
export const ExitCode = Object.freeze({ ok: 0, failure: 1, usage: 2 });

export function programHelp(p: Program): string {
  const width = Math.max(...p.commands.map((c) => c.name.length)) + 2;
  const lines = [
    `${p.name}: ${p.summary}`,
    '',
    `Usage: ${p.name} <command> [flags]${p.defaultCommand ? `   (no command: ${p.defaultCommand})` : ''}`,
    '',
    'Commands:',
    ...p.commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    `  ${'help'.padEnd(width)}Show help for a command`,
    '',
    `Run '${p.name} <command> --help' for the flags of a command.`,
  ];
  return lines.join('\n') + '\n';
}

export function commandHelp(p: Program, c: Command): string {
  const lines = [`${p.name} ${c.name}: ${c.summary}`, '', `Usage: ${p.name} ${c.name} [flags]${c.args ? ` ${c.args}` : ''}`];
  if (c.details) lines.push('', c.details.trimEnd());
  if (c.flags.length) lines.push('', 'Flags:', flagsHelp(c.flags));
  lines.push(`  --help`.padEnd(4) + '  Show this help');
  return lines.join('\n') + '\n';
}

/**
 * Dispatches argv (without node and script) to a command. Usage errors print one line per problem
 * and return 2 without running anything.
 */
export async function runProgram(p: Program, argv: readonly string[], io: Io): Promise<number> {
  const first = argv[0];
  let rest = argv.slice(1);
  if (first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? p.commands.find((c) => c.name === rest[0]) : undefined;
    io.stdout.write(target ? commandHelp(p, target) : programHelp(p));
    return ExitCode.ok;
  }
  let command = p.commands.find((c) => c.name === first);
  if (!command) {
    if ((first === undefined || first.startsWith('-')) && p.defaultCommand) {
      command = p.commands.find((c) => c.name === p.defaultCommand);
      rest = argv.slice();
    } else {
      io.stderr.write(`${p.name}: unknown command ${JSON.stringify(first ?? '')} (commands: ${p.commands.map((c) => c.name).join(', ')})\n`);
      return ExitCode.usage;
    }
  }
  if (!command) throw new Error(`bug: default command ${p.defaultCommand} is not defined`);
  const parsed = parseFlags(command.flags, rest, io.env);
  if (!parsed.ok) {
    for (const issue of parsed.issues) io.stderr.write(`${p.name} ${command.name}: ${formatIssue(issue)}\n`);
    return ExitCode.usage;
  }
  if (parsed.help) {
    io.stdout.write(commandHelp(p, command));
    return ExitCode.ok;
  }
  return command.run({ values: parsed.values, positionals: parsed.positionals, io });
}
