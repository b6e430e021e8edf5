import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CANDIDATE_BINARIES, commandsFor, countRules, decideBackend, hasKubeletHint, modeFromVersion, type BackendDecision, type BackendFacts, type BackendMode } from '../backend.ts';
import type { Runner } from '../runner.ts';

/**
 * Gathers {@link BackendFacts} from the system (the I/O half of backend detection): which iptables
 * binaries are on PATH, what the plain `iptables --version` says, whether `iptables-nft-save`
 * answers and how many rules each backend holds in the current network namespace, and whether
 * `/proc/net/ip_tables_names` exists. Legacy save commands are only run when legacy tables are
 * already loaded, so probing never loads legacy modules as a side effect.
 */

export interface ProbeOptions {
  /** Forced backend, from a flag or the environment. */
  readonly override?: BackendMode;
  /** Directories to look for binaries in. @default PATH of this process, then /usr/sbin, /sbin */
  readonly pathDirs?: readonly string[];
  /** Checks a file; for tests. @default fs.existsSync */
  readonly exists?: (path: string) => boolean;
  /** Checks an executable; for tests. @default fs.accessSync(path, X_OK) */
  readonly executable?: (path: string) => boolean;
}

function defaultExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directories of `PATH` plus the sbin directories iptables usually lives in. */
export function defaultPathDirs(pathEnv: string | undefined): string[] {
  const dirs = (pathEnv ?? '').split(delimiter).filter((d) => d !== '');
  for (const d of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(d)) dirs.push(d);
  return dirs;
}

/** Observes the facts {@link decideBackend} needs. Never throws for missing commands. */
export async function probeBackendFacts(runner: Runner, opts: ProbeOptions = {}): Promise<BackendFacts> {
  const exists = opts.exists ?? existsSync;
  const executable = opts.executable ?? defaultExecutable;
  const dirs = opts.pathDirs ?? defaultPathDirs(process.env['PATH']);
  const binaries = CANDIDATE_BINARIES.filter((b) => dirs.some((d) => executable(join(d, b))));

  let plainMode: BackendMode | undefined;
  if (binaries.includes('iptables')) {
    const v = await runner.run('iptables', ['--version']);
    if (v.code === 0) plainMode = modeFromVersion(v.stdout + v.stderr);
  }

  const saveAll = async (mode: BackendMode): Promise<{ ok: boolean; rules: number; hint: boolean } | undefined> => {
    const cmds = commandsFor(mode, binaries, plainMode);
    if (!cmds) return undefined;
    const v4 = await runner.run(cmds.IPv4.save, []);
    const v6 = await runner.run(cmds.IPv6.save, []);
    const text = (v4.code === 0 ? v4.stdout : '') + (v6.code === 0 ? v6.stdout : '');
    return { ok: v4.code === 0, rules: countRules(text), hint: hasKubeletHint(text) };
  };

  const nft = await saveAll('nft');
  const legacyLoaded = exists('/proc/net/ip_tables_names') || exists('/proc/net/ip6_tables_names');
  const legacy = legacyLoaded ? await saveAll('legacy') : undefined;
  return {
    ...(opts.override ? { override: opts.override } : {}),
    binaries,
    ...(plainMode ? { plainMode } : {}),
    nftUsable: nft?.ok ?? false,
    ...(nft?.ok ? { nftRules: nft.rules, nftHint: nft.hint } : {}),
    legacyLoaded,
    ...(legacy?.ok ? { legacyRules: legacy.rules, legacyHint: legacy.hint } : {}),
  };
}

/** Probes, then decides. */
export async function detectBackend(runner: Runner, opts: ProbeOptions = {}): Promise<{ readonly facts: BackendFacts; readonly decision: BackendDecision }> {
  const facts = await probeBackendFacts(runner, opts);
  return { facts, decision: decideBackend(facts) };
}
