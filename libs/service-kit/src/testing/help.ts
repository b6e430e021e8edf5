// "--help that is true" (COMMON quality bar), checked the same way for every app.
import assert from 'node:assert/strict';
import { runProgram, type Program } from '../cli.ts';

/** Collects what a command writes. */
class TextSink {
  text = '';
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }
}

/**
 * Asserts that `program`'s help is true: the top-level help lists exactly the commands the program
 * has (plus `help`), each of them answers `--help` with exit 0, and every duration flag of `run`
 * prints its default in units (`15s`, not `15000`). `minDurations` guards against a help text the
 * check would pass vacuously.
 */
export async function assertHelpIsTrue(program: Program, opts: { readonly minDurations: number }): Promise<void> {
  const run = async (args: string[]): Promise<{ code: number; out: string }> => {
    const out = new TextSink();
    const code = await runProgram(program, args, { stdout: out, stderr: new TextSink(), env: {} });
    return { code, out: out.text };
  };
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  const commands = top.out.split('Commands:\n')[1]!.split('\n\n')[0]!.trim().split('\n').map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(commands, [...program.commands.map((c) => c.name), 'help']);
  assert.ok(commands.includes('run') && commands.includes('render'));
  for (const c of program.commands) assert.equal((await run([c.name, '--help'])).code, 0, c.name);
  const help = (await run(['run', '--help'])).out;
  const durations = help.split('\n').filter((l) => l.includes('<duration>'));
  assert.ok(durations.length >= opts.minDurations, help);
  for (const l of durations) assert.match(l, /\bdefault \d+(ms|s|m|h)\)/, l);
}
