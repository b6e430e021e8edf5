/**
 * Choosing between the iptables **nft** and **legacy** backends, as a pure function of observed
 * facts (the probe that gathers them is probe.ts).
 *
 * Why not `lsmod | grep nf_tables` (klipper-lb): on kernels with nf_tables **built in** (Gentoo,
 * Raspberry Pi and Jetson kernels, nested CI) lsmod lists nothing, klipper-lb picks legacy, and
 * when the legacy x_tables are not there the pod crash-loops (klipper-lb issue 80). The facts used
 * here do not depend on how the kernel was built:
 *
 * 1. An explicit override (`--iptables-backend` / env) wins, if its binaries exist.
 * 2. kubelet's hint chains (`KUBE-IPTABLES-HINT` in mangle, `KUBE-KUBELET-CANARY`), when visible
 *    (host network namespace only): the backend that holds them is the one the node uses
 *    (kubernetes-sigs/iptables-wrappers does the same).
 * 3. Whichever backend already holds more rules (`iptables-nft-save` vs `iptables-legacy-save`,
 *    both families): the same heuristic as iptables-wrappers' older versions and kube-proxy's
 *    images. A restarted forwarder in the same pod finds its own rules and stays on that backend.
 * 4. No rules anywhere: nft when nf_tables answered (`iptables-nft-save` succeeded, which it does
 *    when nf_tables is built in or loaded), else legacy when `/proc/net/ip_tables_names` exists
 *    or nft is not installed, else nft-less legacy as a last resort (it may autoload modules on a
 *    host; in a container it then fails and says so).
 *
 * Inside a fresh pod network namespace both backends can coexist safely (they only clash on the
 * same hooks of the same namespace), so preferring nft there is right.
 */

import type { IPFamily } from '@portico/ip-selection';

export type BackendMode = 'nft' | 'legacy';

/** What the probe saw. Everything optional is "unknown / not observed". */
export interface BackendFacts {
  /** Forced mode (flag or environment). */
  readonly override?: BackendMode;
  /** Names of the iptables binaries found on PATH (e.g. `iptables-nft-restore`, `iptables-restore`). */
  readonly binaries: readonly string[];
  /** Mode the plain `iptables --version` reports (`(nf_tables)` → nft, `(legacy)` → legacy). */
  readonly plainMode?: BackendMode;
  /** `iptables-nft-save` ran successfully: the kernel speaks nf_tables. */
  readonly nftUsable: boolean;
  /** Rule lines (`-A`) in nft save output, both families; undefined when not observed. */
  readonly nftRules?: number;
  /** `/proc/net/ip_tables_names` or `ip6_tables_names` exists: legacy x_tables are loaded. */
  readonly legacyLoaded: boolean;
  /** Rule lines in legacy save output, both families; undefined when not observed. */
  readonly legacyRules?: number;
  /** kubelet hint chains seen in nft / legacy save output. @default false */
  readonly nftHint?: boolean;
  readonly legacyHint?: boolean;
}

/** The command names of one family. */
export interface FamilyCommands {
  /** `iptables-nft` / `iptables-legacy` / `iptables` (and ip6tables…). */
  readonly iptables: string;
  readonly save: string;
  readonly restore: string;
}

/** The chosen backend and the commands to run for each family. */
export interface Backend {
  readonly mode: BackendMode;
  /** One sentence: why this mode (logged at startup). */
  readonly reason: string;
  readonly commands: Readonly<Record<IPFamily, FamilyCommands>>;
}

export type BackendDecision = { readonly ok: true; readonly backend: Backend } | { readonly ok: false; readonly reason: string };

/** kubelet's chains that mark the backend a node uses (kubernetes-sigs/iptables-wrappers). */
export const KUBELET_HINT_CHAINS: readonly string[] = Object.freeze(['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY']);

const PREFIX: Record<IPFamily, string> = { IPv4: 'iptables', IPv6: 'ip6tables' };

/** Every binary name {@link commandsFor} may pick, for the probe to look for. */
export const CANDIDATE_BINARIES: readonly string[] = Object.freeze(
  (['iptables', 'ip6tables'] as const).flatMap((p) => ['', '-nft', '-legacy'].flatMap((v) => [`${p}${v}`, `${p}${v}-save`, `${p}${v}-restore`])),
);

/**
 * Commands for `mode`: the variant names (`iptables-nft-restore`) when installed, else the plain
 * names (`iptables-restore`) when the plain binary is that mode (or its mode is unknown).
 * `undefined` when neither is available.
 */
export function commandsFor(mode: BackendMode, binaries: readonly string[], plainMode?: BackendMode): Record<IPFamily, FamilyCommands> | undefined {
  const have = new Set(binaries);
  const out: Partial<Record<IPFamily, FamilyCommands>> = {};
  for (const family of ['IPv4', 'IPv6'] as const) {
    const p = PREFIX[family];
    const variant = { iptables: `${p}-${mode}`, save: `${p}-${mode}-save`, restore: `${p}-${mode}-restore` };
    const plain = { iptables: p, save: `${p}-save`, restore: `${p}-restore` };
    if (have.has(variant.save) && have.has(variant.restore)) out[family] = variant;
    else if (have.has(plain.save) && have.has(plain.restore) && (plainMode === undefined || plainMode === mode)) out[family] = plain;
    else return undefined;
  }
  return out as Record<IPFamily, FamilyCommands>;
}

function choose(mode: BackendMode, reason: string, facts: BackendFacts): BackendDecision {
  const commands = commandsFor(mode, facts.binaries, facts.plainMode);
  if (!commands) return { ok: false, reason: `${reason}, but no ${mode} iptables-save/iptables-restore and ip6tables-save/ip6tables-restore binaries were found (saw: ${[...facts.binaries].sort().join(', ') || 'none'})` };
  return { ok: true, backend: { mode, reason, commands } };
}

/** Picks the backend; see the module comment for the order of the rules. */
export function decideBackend(facts: BackendFacts): BackendDecision {
  if (facts.override) return choose(facts.override, `${facts.override} forced by configuration`, facts);
  if (facts.nftHint && !facts.legacyHint) return choose('nft', 'kubelet hint chains are in the nft backend', facts);
  if (facts.legacyHint && !facts.nftHint) return choose('legacy', 'kubelet hint chains are in the legacy backend', facts);
  const nft = facts.nftRules ?? 0;
  const legacy = facts.legacyRules ?? 0;
  if (legacy > nft) return choose('legacy', `the legacy backend holds more rules (${legacy} legacy, ${nft} nft)`, facts);
  if (nft > 0) return choose('nft', `the nft backend already holds rules (${nft} nft, ${legacy} legacy)`, facts);
  const nftInstalled = commandsFor('nft', facts.binaries, facts.plainMode) !== undefined;
  const legacyInstalled = commandsFor('legacy', facts.binaries, facts.plainMode) !== undefined;
  if (facts.nftUsable && nftInstalled) return choose('nft', 'no rules yet and nf_tables answers', facts);
  if (facts.legacyLoaded && legacyInstalled) return choose('legacy', 'no rules yet, nf_tables does not answer and ip_tables is loaded', facts);
  if (legacyInstalled) return choose('legacy', 'no rules yet and nf_tables does not answer; trying legacy', facts);
  if (nftInstalled) return choose('nft', 'no rules yet and no legacy binaries; trying nft although nf_tables did not answer', facts);
  return { ok: false, reason: `no iptables binaries found (looked for ${CANDIDATE_BINARIES.filter((b) => b.endsWith('-restore')).join(', ')})` };
}

/** Counts rule lines (`-A ...`, with or without counters) in save output. */
export function countRules(saveText: string): number {
  let n = 0;
  for (const line of saveText.split('\n')) if (/^(\[\d+:\d+\] )?-A /.test(line)) n++;
  return n;
}

/** True when save output declares one of kubelet's hint chains. */
export function hasKubeletHint(saveText: string): boolean {
  return saveText.split('\n').some((line) => KUBELET_HINT_CHAINS.some((c) => line.startsWith(`:${c} `)));
}

/** Parses the mode out of `iptables --version` (`iptables v1.8.9 (nf_tables)` / `(legacy)`). */
export function modeFromVersion(versionText: string): BackendMode | undefined {
  if (/\(nf_tables\)/.test(versionText)) return 'nft';
  if (/\(legacy\)/.test(versionText)) return 'legacy';
  return undefined;
}
