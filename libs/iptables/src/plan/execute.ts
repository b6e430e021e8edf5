import type { IPFamily } from '@portico/ip-selection';
import { pushAll } from '../arrays.ts';
import { isEmptyPlan, type FamilyPlan } from './planner.ts';

type Family = IPFamily;

/**
 * The writes an executor needs (the adapter's `Kernel` implements it). A failed write rejects with an
 * error that carries `failedLine` (1-based input line) when the tool named one.
 */
export interface PlanWriter {
  /** One `ipset restore` (`-exist` when `exist`) of `lines`; nothing when `lines` is empty. */
  ipsetRestore(family: Family, lines: readonly string[], exist: boolean): Promise<void>;
  /** One `iptables-restore --noflush` (or ip6tables-) of `input`; nothing when it is ''. */
  iptablesRestore(family: Family, input: string): Promise<void>;
  /** Names of all ipsets. */
  listSetNames(): Promise<Set<string>>;
}

/** The input line a failed write blamed, if it said. */
function failedLine(err: unknown): number | undefined {
  const n = (err as { failedLine?: unknown } | null)?.failedLine;
  return typeof n === 'number' ? n : undefined;
}

/**
 * Runs a {@link FamilyPlan} through a {@link PlanWriter}, phase by phase (see planner.ts for the
 * phases and why they are ordered so). Families are independent data planes and are applied
 * independently. Pure logic: every effect goes through the writer.
 *
 * Guarantee: if anything up to and including the iptables transaction fails, the family is left
 * as it was before (sets restored, created sets destroyed) and the result says `failed`. After the
 * iptables transaction succeeded, a failure to grow a set leaves the family no more permissive than
 * the new state (and is reported as failed, so the caller re-reads the kernel and retries); a failure
 * to destroy a temporary or stale set is only a leftover (reported, retried by the next sync).
 */

export type ApplyPhase = 'stage' | 'shrink' | 'iptables' | 'grow' | 'finish' | 'rollback';

export interface FamilyApplyResult {
  readonly family: Family;
  /** `unchanged`: nothing to write; `applied`; `failed`: see `phase` and `error`. */
  readonly outcome: 'unchanged' | 'applied' | 'failed';
  readonly phase?: ApplyPhase;
  readonly error?: Error;
  /** True when the previous state is known to be intact after a failure. */
  readonly rolledBack?: boolean;
  /** Leftover sets that could not be destroyed (phase `finish`), to retry later. */
  readonly leftovers: readonly string[];
  /** Errors met while rolling back (the kernel state is then unknown: re-read it). */
  readonly rollbackErrors: readonly Error[];
}

export async function applyFamilyPlan(plan: FamilyPlan, kernel: PlanWriter): Promise<FamilyApplyResult> {
  const family = plan.family;
  const base = { family, leftovers: [] as string[], rollbackErrors: [] as Error[] };
  if (isEmptyPlan(plan)) return { ...base, outcome: 'unchanged' };

  // Phase 1: new and temporary sets. Nothing references them yet.
  try {
    await kernel.ipsetRestore(family, plan.stage, false);
  } catch (err) {
    const rollbackErrors = await destroyCreated(kernel, plan);
    return { ...base, outcome: 'failed', phase: 'stage', error: asError(err), rolledBack: rollbackErrors.length === 0, rollbackErrors };
  }

  // Phase 2: the restrictive half of each set change.
  try {
    await kernel.ipsetRestore(family, plan.shrink.map((o) => o.line), true);
  } catch (err) {
    // Undo the lines before the failing one, newest first. Without a line number, undo them all:
    // the inverses are idempotent under -exist, and a swap that did not happen leaves the TMP set
    // holding the intermediate content, which destroyCreated then removes.
    const line = failedLine(err);
    const k = line !== undefined ? line - 1 : plan.shrink.length;
    const rollbackErrors = await undoShrink(kernel, plan, k, line !== undefined);
    pushAll(rollbackErrors, await destroyCreated(kernel, plan));
    return { ...base, outcome: 'failed', phase: 'shrink', error: asError(err), rolledBack: rollbackErrors.length === 0, rollbackErrors };
  }

  // Phase 3: one iptables-restore transaction.
  try {
    await kernel.iptablesRestore(family, plan.iptables);
  } catch (err) {
    const rollbackErrors = await undoShrink(kernel, plan, plan.shrink.length, true);
    pushAll(rollbackErrors, await destroyCreated(kernel, plan));
    return { ...base, outcome: 'failed', phase: 'iptables', error: asError(err), rolledBack: rollbackErrors.length === 0, rollbackErrors };
  }

  // Phase 4: the permissive half.
  try {
    await kernel.ipsetRestore(family, plan.grow, true);
  } catch (err) {
    return { ...base, outcome: 'failed', phase: 'grow', error: asError(err), rolledBack: false };
  }

  // Phase 5: destroy what is no longer referenced; one failing line does not stop the others.
  const leftovers = await destroyEach(kernel, family, plan.finish);
  return { ...base, outcome: 'applied', leftovers };
}

/** Undoes the first `count` shrink lines (newest first). */
async function undoShrink(kernel: PlanWriter, plan: FamilyPlan, count: number, exact: boolean): Promise<Error[]> {
  let ops = plan.shrink.slice(0, count).reverse();
  if (!exact) ops = ops.filter((o) => !o.line.startsWith('swap ')); // an unapplied swap must not be "undone"
  if (ops.length === 0) return [];
  try {
    await kernel.ipsetRestore(plan.family, ops.map((o) => o.inverse), true);
    return [];
  } catch (err) {
    return [asError(err)];
  }
}

/** Destroys the sets phase 1 may have created (those that exist). */
async function destroyCreated(kernel: PlanWriter, plan: FamilyPlan): Promise<Error[]> {
  if (plan.created.length === 0) return [];
  let existing: Set<string>;
  try {
    existing = await kernel.listSetNames();
  } catch (err) {
    return [asError(err)];
  }
  const lines = plan.created.filter((n) => existing.has(n)).map((n) => `destroy ${n}`);
  const left = await destroyEach(kernel, plan.family, lines);
  return left.map((n) => new Error(`could not destroy set ${n} while rolling back`));
}

/** Runs `destroy` lines in one restore; on a failing line, skips it and continues with the rest. */
async function destroyEach(kernel: PlanWriter, family: Family, lines: readonly string[]): Promise<string[]> {
  const leftovers: string[] = [];
  let rest = lines.slice();
  while (rest.length > 0) {
    try {
      await kernel.ipsetRestore(family, rest, false);
      break;
    } catch (err) {
      const k = failedLine(err) ?? 1;
      const failed = rest[k - 1];
      if (failed) leftovers.push(failed.replace(/^destroy /, ''));
      rest = rest.slice(k);
    }
  }
  return leftovers;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
