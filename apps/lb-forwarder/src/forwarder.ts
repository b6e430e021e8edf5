import type { IPFamily } from '@portico/ip-selection';
import { addedRuleCount, type BackendDecision, type Runner } from '@portico/iptables';
import { iptablesRestore, iptablesSave } from '@portico/iptables/adapter';
import type { Logger } from '@portico/service-kit';
import type { ForwarderConfig } from './config.ts';
import { chainRules, destinationsOf, familiesOf, planRestore } from './rules.ts';
import { forwardingSysctl, type SysctlReader } from './sysctl.ts';

/**
 * Applying the forwarder's rules: the shell around the pure rules.ts, talking to the kernel only
 * through a {@link Runner}.
 */

/** A family in `DEST_IPS` that will not be forwarded, and why. */
export interface SkippedFamily {
  readonly family: IPFamily;
  readonly sysctl: string;
  /** What the sysctl reads, or `undefined` when it does not exist. */
  readonly value: string | undefined;
}

/**
 * Splits the families of `DEST_IPS` into those whose forwarding sysctl reads `1` and those that
 * do not (klipper-lb skips the latter; so does Portico, with a warning naming the sysctl).
 */
export function selectFamilies(cfg: ForwarderConfig, sysctl: SysctlReader): { readonly families: IPFamily[]; readonly skipped: SkippedFamily[] } {
  const families: IPFamily[] = [];
  const skipped: SkippedFamily[] = [];
  for (const family of familiesOf(cfg)) {
    const name = forwardingSysctl(family);
    const value = sysctl(name);
    if (value === '1') families.push(family);
    else skipped.push({ family, sysctl: name, value });
  }
  return { families, skipped };
}

/** Human text for a skipped family. */
export function skippedText(s: SkippedFamily): string {
  return `${s.family} destinations skipped: ${s.sysctl} is ${s.value === undefined ? 'missing' : JSON.stringify(s.value)}, not "1"`;
}

/** Warning text for a family with destinations but no source range (run logs it, render prints it). */
export function noRangeText(f: IPFamily): string {
  return `SRC_RANGES has no ${f} range: every ${f} connection will be dropped`;
}

/** Families with destinations but no source range of that family: all their traffic is dropped. */
export function familiesWithoutRanges(cfg: ForwarderConfig, families: readonly IPFamily[]): IPFamily[] {
  return families.filter((f) => destinationsOf(cfg, f).length > 0 && !cfg.srcRanges.some((r) => r.family === f));
}

/**
 * `render`: the restore input per family for a namespace without Portico rules (jumps included),
 * as `#`-commented blocks that can be fed to `iptables-restore --noflush` / `ip6tables-restore
 * --noflush`. On a re-apply only what differs is written (see planRestore).
 */
export function renderForwarder(cfg: ForwarderConfig, families: readonly IPFamily[], skipped: readonly SkippedFamily[]): string {
  let out = '';
  for (const family of families) {
    const tool = family === 'IPv4' ? 'iptables-restore' : 'ip6tables-restore';
    out += `# ${family}: input of \`${tool} --noflush\`\n`;
    out += planRestore(cfg, family);
  }
  for (const s of skipped) out += `# ${skippedText(s)}\n`;
  return out;
}

export interface ApplyDeps {
  readonly log: Logger;
  readonly runner: Runner;
  readonly sysctl: SysctlReader;
  /** Detects the iptables backend (probe.ts), honouring any override. */
  readonly detect: () => Promise<BackendDecision>;
  /** Pause before re-reading after a failed restore. @default 200 */
  readonly retryDelayMs?: number;
}

/** Restores tried per family before giving up (the first one after a successful --test). */
export const RESTORE_ATTEMPTS = 3;

export type ApplyOutcome = { readonly ok: true; readonly families: readonly IPFamily[]; readonly skipped: readonly SkippedFamily[] } | { readonly ok: false; readonly reason: string };

/**
 * Reads what the namespace holds, plans each family, checks every plan with `--test`, then applies
 * ONE restore per family. Nothing is written when a family cannot be planned or tested. A restore
 * the kernel refuses after its `--test` passed (a concurrent change by a sibling container) is
 * retried after re-reading, up to {@link RESTORE_ATTEMPTS} times.
 */
export async function applyForwarding(cfg: ForwarderConfig, deps: ApplyDeps): Promise<ApplyOutcome> {
  const { log } = deps;
  const { families, skipped } = selectFamilies(cfg, deps.sysctl);
  for (const s of skipped) log.warn({ event: 'familySkipped', family: s.family, sysctl: s.sysctl, value: s.value ?? null }, skippedText(s));
  if (families.length === 0) {
    const reason = `nothing can be forwarded: ${skipped.map(skippedText).join('; ')}`;
    log.error({ op: 'selectFamilies', event: 'noFamily' }, reason);
    return { ok: false, reason };
  }
  for (const f of familiesWithoutRanges(cfg, families)) {
    log.warn({ event: 'noSourceRange', family: f }, noRangeText(f));
  }

  const decision = await deps.detect();
  if (!decision.ok) {
    log.error({ op: 'detectBackend' }, `no usable iptables backend: ${decision.reason}`);
    return { ok: false, reason: decision.reason };
  }
  const backend = decision.backend;
  log.info({ event: 'backendSelected', mode: backend.mode, reason: backend.reason }, `iptables ${backend.mode} backend: ${backend.reason}`);

  const plans: { family: IPFamily; input: string }[] = [];
  for (const family of families) {
    const cmds = backend.commands[family];
    try {
      const { text } = await iptablesSave(deps.runner, cmds);
      const input = planRestore(cfg, family, text);
      if (input !== '') await iptablesRestore(deps.runner, cmds, input, { test: true });
      plans.push({ family, input });
    } catch (err) {
      if (log.isLevelEnabled('debug')) log.debug({ event: 'failedInput', family, input: planRestore(cfg, family) }, 'rules that could not be prepared');
      log.error({ err, op: 'plan', family }, `cannot prepare the ${family} rules; nothing applied`);
      return { ok: false, reason: `${family}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  for (const plan of plans) {
    const { family } = plan;
    const cmds = backend.commands[family];
    let input = plan.input;
    for (let attempt = 1; ; attempt++) {
      if (input === '') break;
      if (log.isLevelEnabled('debug')) log.debug({ event: 'restoreInput', family, attempt, input }, `${cmds.restore} input`);
      try {
        await iptablesRestore(deps.runner, cmds, input);
        break;
      } catch (err) {
        if (attempt >= RESTORE_ATTEMPTS) {
          if (log.isLevelEnabled('debug')) log.debug({ event: 'failedInput', family, input }, `${cmds.restore} input that failed`);
          log.error({ err, op: 'restore', family, attempt }, `${cmds.restore} failed`);
          return { ok: false, reason: `${family}: ${err instanceof Error ? err.message : String(err)}` };
        }
        // Another container of the same pod may have changed the table between our read and our
        // write (legacy iptables refuses a replace of a table that changed). Re-read, re-plan, retry.
        log.warn({ err, op: 'restore', family, attempt }, `${cmds.restore} failed; re-reading and retrying`);
        await new Promise((r) => setTimeout(r, deps.retryDelayMs ?? 200));
        try {
          input = planRestore(cfg, family, (await iptablesSave(deps.runner, cmds)).text);
        } catch (readErr) {
          log.error({ err: readErr, op: 'plan', family }, `cannot re-read the ${family} rules`);
          return { ok: false, reason: `${family}: ${readErr instanceof Error ? readErr.message : String(readErr)}` };
        }
      }
    }
    const own = chainRules(cfg, family);
    if (input === '') log.info({ event: 'rulesUnchanged', family, chainRules: own.nat.ops.length + own.filter.ops.length }, `${family} rules already in place; nothing written`);
    else log.info({ event: 'rulesApplied', family, command: cmds.restore, rulesWritten: addedRuleCount(input), chainRules: own.nat.ops.length + own.filter.ops.length }, `${family} rules applied in one ${cmds.restore}`);
  }
  return { ok: true, families, skipped };
}
