// `render --snapshot FILE...` for processes that run ServiceLB: what would be written for a
// snapshot, with no cluster access. Snapshot files are loaded with libs/kube's snapshot loader
// (which never loads @kubernetes/client-node). ServiceLB's part is the core's YAML stream: every
// svclb DaemonSet that should exist, then each Service's desired status. Output is byte-stable: the
// core sorts everything and condition transitions get a fixed time (--now, default
// 1970-01-01T00:00:00Z), so input order and the wall clock do not matter.

import { loadSnapshot, SnapshotError, type StdinSource } from '@portico/kube';
import { ExitCode, type CommandContext, type FlagSpec, type FlagValues } from '@portico/service-kit';
import { renderServiceLB, type RenderResult, type ServiceLBConfig } from '@portico/servicelb';
import { coreConfigFrom, serviceLBCoreFlags } from './config.ts';

/** Flags of `render` (the positional FILE... arguments are snapshot files too). */
export const renderFlags: readonly FlagSpec[] = [
  { name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot file (YAML or JSON: v1 List, multi-document stream or kubectl get -o yaml); - for stdin' },
  {
    name: 'now',
    type: 'string',
    default: '1970-01-01T00:00:00Z',
    description: 'lastTransitionTime written for conditions that change (a fixed time keeps the output reproducible)',
    validate: (v: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z'),
  },
  ...serviceLBCoreFlags,
];

/**
 * What a render command prints for the loaded objects: the text, or the problems (one line each,
 * naming object, field and value) that stop it with exit 2 and nothing on stdout.
 */
export type RenderProducer = (objects: readonly unknown[], values: FlagValues) => RenderResult;

/**
 * Runs a render command: validates `problems` (already found by the caller) plus the snapshot
 * arguments, loads the files and prints `produce(objects)`. Exit 2 with one line per problem.
 * `stdin` is where `-` reads from (tests pass a buffer).
 */
export async function runRenderCommand(ctx: CommandContext, name: string, problems: string[], produce: RenderProducer, stdin?: StdinSource): Promise<number> {
  const { values, positionals, io } = ctx;
  const files = [...((values['snapshot'] as readonly string[] | undefined) ?? []), ...positionals];
  if (files.length === 0) problems.push('--snapshot: no snapshot file given (use --snapshot FILE or FILE arguments; - for stdin)');
  if (problems.length > 0) {
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
  const result = produce(objects, values);
  if (result.problems.length > 0) {
    for (const p of result.problems) io.stderr.write(`${name} render: ${p}\n`);
    io.stderr.write(`${name} render: ${result.problems.length === 1 ? '1 problem' : `${result.problems.length} problems`}; nothing rendered (an invalid object gets no DaemonSet; in a cluster its last valid one is kept)\n`);
    return ExitCode.usage;
  }
  // Document by document: the whole output is never one string (50,000 Services make ~150 MB).
  let first = true;
  for (const doc of result.documents) {
    io.stdout.write(first ? doc : `---\n${doc}`);
    first = false;
  }
  return ExitCode.ok;
}

/** The ServiceLB core config of a render command, or the problems with its flags (pushed to `problems`). */
export function renderCoreConfig(values: FlagValues, problems: string[]): ServiceLBConfig | undefined {
  const core = coreConfigFrom(values);
  if (core.ok) return core.config;
  for (const i of core.issues) problems.push(`invalid ${i.field}: ${JSON.stringify(i.value)}: ${i.reason}`);
  return undefined;
}

/** ServiceLB's render output for `objects` with `core` (the `now` flag fixes condition times). */
export function renderServiceLBPart(objects: readonly unknown[], core: ServiceLBConfig, values: FlagValues): RenderResult {
  return renderServiceLB(objects, core, { now: String(values['now']) });
}

/** `servicelb-controller render`: ServiceLB's output only. */
export async function renderServiceLBCommand(ctx: CommandContext, name: string, stdin?: StdinSource): Promise<number> {
  const problems: string[] = [];
  const core = renderCoreConfig(ctx.values, problems);
  return runRenderCommand(ctx, name, problems, (objects, values) => renderServiceLBPart(objects, core!, values), stdin);
}
