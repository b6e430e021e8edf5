// `servicelb-controller render --snapshot FILE...`: what the controller would write for a snapshot,
// with no cluster access. Loads the files with libs/kube's snapshot loader (which never loads
// @kubernetes/client-node) and prints the core's YAML stream: every svclb DaemonSet that should
// exist, then each Service's desired status. Output is byte-stable: the core sorts everything and
// condition transitions get a fixed time (--now, default 1970-01-01T00:00:00Z), so input order and
// the wall clock do not matter.

import { loadSnapshot, SnapshotError, type StdinSource } from '@portico/kube';
import { ExitCode, type CommandContext } from '@portico/service-kit';
import { renderServiceLB } from '@portico/servicelb';
import { coreConfigFrom } from './config.ts';

/** Runs `render`; `stdin` is where `-` reads from (tests pass a buffer). */
export async function runRender(ctx: CommandContext, name: string, stdin?: StdinSource): Promise<number> {
  const { values, positionals, io } = ctx;
  const files = [...((values['snapshot'] as readonly string[] | undefined) ?? []), ...positionals];
  const core = coreConfigFrom(values);
  const problems: string[] = [];
  if (!core.ok) for (const i of core.issues) problems.push(`invalid ${i.field}: ${JSON.stringify(i.value)}: ${i.reason}`);
  if (files.length === 0) problems.push('--snapshot: no snapshot file given (use --snapshot FILE or FILE arguments; - for stdin)');
  if (problems.length > 0 || !core.ok) {
    for (const p of problems) io.stderr.write(`${name} render: ${p}\n`);
    return ExitCode.usage;
  }
  let objects;
  try {
    objects = (await loadSnapshot(files, stdin ? { stdin } : {})).objects;
  } catch (err) {
    if (err instanceof SnapshotError) {
      for (const p of err.problems) io.stderr.write(`${name} render: ${p}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  io.stdout.write(renderServiceLB(objects, core.config, { now: String(values['now']) }));
  return ExitCode.ok;
}
