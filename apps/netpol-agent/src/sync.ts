import { Netpol } from '@portico/labels';
import type { Logger } from '@portico/service-kit';
import { FAMILIES, isFixedChain, NETPOL_OWNERSHIP, NetpolPlanner, NetpolRenderer, type DesiredState, type Family, type NetpolConfig, type NetpolSnapshot, type Problem } from '@portico/netpol';
import { applyFamilyPlan, isEmptyPlan, planText, setHeaderDrift, type FamilyApplyResult, type FamilyPlan, type KernelFamily } from '@portico/iptables';
import type { Kernel } from '@portico/iptables/adapter';
import type { AgentMetrics } from './metrics.ts';

/**
 * One sync: render the snapshot, plan against the kernel, apply. Used once by `apply` and in a loop
 * by `run`.
 *
 * The kernel model. Reading the kernel back (`iptables-save`, `ipset save`) costs about a second
 * per 50,000 rules or 300,000 set members, far above the incremental-sync budget, so the syncer keeps
 * the state it last read or wrote and plans against that. How much of the kernel a sync reads is
 * its {@link ReadMode}:
 * - `model`: nothing (event-driven syncs);
 * - `check`: the cheap check of the periodic resync: the table (`iptables-save -t filter`, a few
 *   thousand rules) and every set's header and member count (`ipset list -t`), not the members.
 *   The plan runs against the table just read and the model's sets; a set that is missing, unknown,
 *   of another type or of another size turns the sync into a `full` one;
 * - `full`: everything, every member of every set (`apply`, the first sync, the periodic full
 *   verification, and after anything went wrong: a failed apply, a leftover set, an unknown
 *   rollback; any doubt means a full read).
 */

/** How much of the kernel a sync reads before planning (see the module comment). */
export type ReadMode = 'model' | 'check' | 'full';

export type SyncOutcome = 'applied' | 'unchanged' | 'failed';

export interface SyncResult {
  readonly outcome: SyncOutcome;
  /** Where it failed, when it did before applying anything (render, read, plan). */
  readonly failedPhase?: 'read' | 'plan';
  readonly error?: Error;
  readonly families: readonly FamilyApplyResult[];
  readonly plans: readonly FamilyPlan[];
  readonly problems: readonly Problem[];
  /** Restore invocations and bytes written during this sync. */
  readonly writes: number;
  readonly bytes: number;
  /** True when the whole kernel (every set member) was read during this sync. */
  readonly reread: boolean;
  /** What this sync read: the cheap check can turn into a full read when it finds a set differing. */
  readonly read: ReadMode;
  /** Periodic resync found the kernel differing from what was last applied. */
  readonly drift: boolean;
  readonly durationMs: { readonly render: number; readonly read: number; readonly plan: number; readonly apply: number; readonly total: number };
}

export interface SyncerOptions {
  readonly kernel: Kernel;
  readonly log: Logger;
  readonly metrics?: AgentMetrics;
  /** @default a new NetpolRenderer */
  readonly renderer?: NetpolRenderer;
  /**
   * Called with the render problems whenever they differ from the previous sync's.
   * @default one log line per problem (warn, error for `error` severity)
   */
  readonly onProblems?: (problems: readonly Problem[]) => void;
}

export class Syncer {
  readonly #kernel: Kernel;
  readonly #log: Logger;
  readonly #metrics: AgentMetrics | undefined;
  readonly #renderer: NetpolRenderer;
  /** The kernel planner with its memo (kept across syncs, so unchanged chains and sets cost a lookup). */
  readonly #planner = new NetpolPlanner();
  /** family -> the kernel state as last read or written; absent = unknown, read before planning. */
  readonly #model = new Map<Family, KernelFamily>();
  /** Families this syncer has written to and not cleaned up since (a family dropped later is cleaned). */
  readonly #applied = new Set<Family>();
  readonly #onProblems: ((problems: readonly Problem[]) => void) | undefined;
  #lastProblems = '';

  constructor(opts: SyncerOptions) {
    this.#kernel = opts.kernel;
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#renderer = opts.renderer ?? new NetpolRenderer();
    this.#onProblems = opts.onProblems;
  }

  /** Forgets the kernel model: the next sync reads the kernel. */
  invalidate(): void {
    this.#model.clear();
  }

  /** Renders `snapshot` with `config` and makes the kernel match. Never throws. */
  async sync(snapshot: NetpolSnapshot, config: NetpolConfig, opts: { reread?: boolean; read?: ReadMode } = {}): Promise<SyncResult> {
    const t0 = performance.now();
    const writes0 = this.#kernel.writes;
    const bytes0 = this.#kernel.bytes;
    const desired: DesiredState = this.#renderer.render(snapshot, config);
    const tRender = performance.now();
    this.#reportProblems(desired.problems);
    const families = desired.families.map((f) => f.family);
    const result = (r: Omit<SyncResult, 'writes' | 'bytes' | 'problems' | 'durationMs' | 'read'> & { times: [number, number, number] }): SyncResult => {
      const end = performance.now();
      const [read, plan, apply] = r.times;
      const out: SyncResult = {
        outcome: r.outcome,
        ...(r.failedPhase ? { failedPhase: r.failedPhase } : {}),
        ...(r.error ? { error: r.error } : {}),
        families: r.families,
        plans: r.plans,
        problems: desired.problems,
        writes: this.#kernel.writes - writes0,
        bytes: this.#kernel.bytes - bytes0,
        reread: r.reread,
        read: r.reread ? 'full' : checked ? 'check' : 'model',
        drift: r.drift,
        durationMs: { render: tRender - t0, read, plan, apply, total: end - t0 },
      };
      this.#record(out, desired);
      return out;
    };

    // The kernel state to plan against.
    const mode: ReadMode = opts.reread === true ? 'full' : (opts.read ?? 'model');
    let needRead = mode === 'full' || families.some((f) => !this.#model.has(f));
    let checked = false;
    const cached = new Map(this.#model);
    let observed: KernelFamily[] = [];
    const tRead0 = performance.now();
    const failedRead = (err: unknown): SyncResult => {
      this.invalidate();
      return result({ outcome: 'failed', failedPhase: 'read', error: asError(err), families: [], plans: [], reread: true, drift: false, times: [performance.now() - tRead0, 0, 0] });
    };
    if (!needRead && mode === 'check') {
      // The cheap check: the tables, and the sets' headers against the model's sets.
      checked = true;
      try {
        const headers = await this.#kernel.readSetHeaders();
        for (const f of families) {
          const model = this.#model.get(f)!;
          const differing = setHeaderDrift(model, headers, NETPOL_OWNERSHIP);
          if (differing.length > 0) {
            this.#log.info({ event: 'setDrift', family: f, sets: differing.slice(0, 10), count: differing.length }, 'sets differ from the model; reading every set');
            needRead = true;
            break;
          }
          observed.push({ family: f, table: await this.#kernel.readTable(f), sets: model.sets });
        }
      } catch (err) {
        return failedRead(err);
      }
    }
    if (needRead) {
      try {
        observed = await this.#kernel.read(families);
      } catch (err) {
        return failedRead(err);
      }
    } else if (!checked) {
      observed = families.map((f) => this.#model.get(f)!);
    }
    const tRead = performance.now() - tRead0;
    const compared = needRead || checked;

    const tPlan0 = performance.now();
    let plans: FamilyPlan[];
    let drift = false;
    try {
      plans = desired.families.map((f, i) => this.#planner.plan(f, observed[i]!));
      if (compared) {
        // Drift: the kernel differs from what we last left there although our plan against our own
        // model would have written nothing.
        desired.families.forEach((f, i) => {
          const model = cached.get(f.family);
          if (model && !isEmptyPlan(plans[i]!) && isEmptyPlan(this.#planner.plan(f, model))) drift = true;
        });
      }
    } catch (err) {
      return result({ outcome: 'failed', failedPhase: 'plan', error: asError(err), families: [], plans: [], reread: needRead, drift: false, times: [tRead, performance.now() - tPlan0, 0] });
    }
    // A family no longer enabled (flags, or the node's addresses with --families auto) keeps no
    // rules: its owned chains, jumps and sets are removed like `cleanup` removes them. Families this
    // syncer never wrote are looked at only on re-reads (`apply`, the first and periodic syncs), and a
    // family whose tools cannot be read there is not ours to clean.
    for (const family of FAMILIES) {
      if (families.includes(family) || (!this.#applied.has(family) && !needRead)) continue;
      let k = needRead ? undefined : this.#model.get(family);
      if (!k) {
        try {
          [k] = await this.#kernel.read([family]);
        } catch (err) {
          if (!this.#applied.has(family)) continue;
          this.invalidate();
          return result({ outcome: 'failed', failedPhase: 'read', error: asError(err), families: [], plans: [], reread: true, drift: false, times: [tRead, performance.now() - tPlan0, 0] });
        }
      }
      const p = this.#planner.plan({ family, chains: [], ipsets: [], builtinRules: [] }, k!);
      if (isEmptyPlan(p)) {
        this.#applied.delete(family);
        continue;
      }
      this.#log.info({ event: 'familyDropped', family }, 'family no longer enabled; removing its rules and sets');
      plans.push(p);
    }
    const tPlan = performance.now() - tPlan0;
    if (this.#log.isLevelEnabled('debug')) {
      for (const p of plans) if (!isEmptyPlan(p)) this.#log.debug({ event: 'plan', family: p.family, plan: planText(p) }, 'apply plan');
    }

    const tApply0 = performance.now();
    const applied: FamilyApplyResult[] = [];
    for (const p of plans) {
      const r = await applyFamilyPlan(p, this.#kernel);
      applied.push(r);
      if (r.outcome === 'failed' || r.leftovers.length > 0 || p.warnings.length > 0) this.#model.delete(p.family);
      else this.#model.set(p.family, p.after);
      if (families.includes(p.family)) this.#applied.add(p.family);
      else if (r.outcome !== 'failed' && r.leftovers.length === 0) this.#applied.delete(p.family);
      for (const w of p.warnings) this.#log.warn({ event: w.event, family: p.family, name: w.name, referencedBy: w.referencedBy }, 'stale object still referenced by a foreign rule; emptied but kept');
      if (r.leftovers.length) this.#log.warn({ event: 'leftoverSets', family: p.family, sets: r.leftovers }, 'could not destroy sets; will retry');
      if (r.outcome === 'failed') {
        this.#log.error(
          { op: 'apply', family: p.family, phase: r.phase, err: r.error, rolledBack: r.rolledBack, rollbackErrors: r.rollbackErrors.map((e) => e.message) },
          r.rolledBack ? 'apply failed; previous rules left in force' : 'apply failed; kernel state will be re-read',
        );
        if (this.#log.isLevelEnabled('debug')) this.#log.debug({ event: 'failedPlan', family: p.family, plan: planText(p) }, 'plan that failed');
      }
    }
    const tApply = performance.now() - tApply0;
    const failed = applied.some((r) => r.outcome === 'failed');
    const changed = applied.some((r) => r.outcome === 'applied');
    return result({ outcome: failed ? 'failed' : changed ? 'applied' : 'unchanged', families: applied, plans, reread: needRead, drift, times: [tRead, tPlan, tApply] });
  }

  #reportProblems(problems: readonly Problem[]): void {
    const text = JSON.stringify(problems);
    if (text === this.#lastProblems) return;
    this.#lastProblems = text;
    if (this.#onProblems) {
      this.#onProblems(problems);
      return;
    }
    logProblems(this.#log, problems);
  }

  #record(r: SyncResult, desired: DesiredState): void {
    const m = this.#metrics;
    if (!m) return;
    m.syncs.labels(r.outcome).inc();
    m.syncTime.observe(r.durationMs.total / 1000);
    m.chainsSyncTime.observe((r.durationMs.render + r.durationMs.plan) / 1000);
    m.lastSyncOk.set(r.outcome === 'failed' ? 0 : 1);
    if (r.outcome !== 'failed') m.lastSuccess.set(Date.now() / 1000);
    if (r.drift) m.driftRepairs.inc();
    if (r.failedPhase) m.syncFailures.labels('all', r.failedPhase).inc();
    for (const f of r.families) if (f.outcome === 'failed') m.syncFailures.labels(f.family === 'IPv4' ? 'ipv4' : 'ipv6', f.phase ?? 'unknown').inc();
    let policyChains = 0;
    let podChains = 0;
    let sets = 0;
    for (const f of desired.families) {
      for (const c of f.chains) {
        if (c.name.startsWith(Netpol.podChainPrefix)) podChains++;
        else if (c.name.startsWith(Netpol.policyChainPrefix) && !isFixedChain(c.name)) policyChains++;
      }
      sets += f.ipsets.filter((s) => !s.name.endsWith(Netpol.localPodsSet)).length;
    }
    m.policyChains.set(policyChains);
    m.policyIpsets.set(sets);
    m.podChains.set(podChains);
    m.leftovers.set(r.plans.reduce((n, p) => n + p.warnings.length, 0) + r.families.reduce((n, f) => n + f.leftovers.length, 0));
    m.renderProblems.reset();
    for (const p of r.problems) m.renderProblems.labels(p.reason).inc();
  }
}

/** One log line per render problem: object, field, value, and what was done about it. */
export function logProblems(log: Logger, problems: readonly Problem[]): void {
  for (const p of problems) {
    log[p.severity === 'error' ? 'error' : 'warn']({ event: 'renderProblem', reason: p.reason, obj: p.object, field: p.field, value: p.value }, p.message);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
