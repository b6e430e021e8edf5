/**
 * Helpers of the T2 fault campaigns (issue 15, item 4): replicas of a controller with leader
 * election, a watch on "never two leaders" (every replica's leader gauge and the Lease holder sampled
 * every 100 ms), and convergence times. Test code only.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Resources, type KubeObject, type LoadedKubeClient } from '@portico/kube';
import type { LoggedProcess } from './t2.ts';
import { REPO } from './t2-apps.ts';

const exec = promisify(execFile);

/** Value at quantile `q` (0..1) of `xs` (nearest rank); NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** `median 1234 ms, p99 2345 ms, max 2345 ms (n = 20)`. */
export function timesSummary(ms: readonly number[]): string {
  return `median ${Math.round(quantile(ms, 0.5))} ms, p99 ${Math.round(quantile(ms, 0.99))} ms, max ${Math.round(Math.max(...ms))} ms (n = ${ms.length})`;
}

/** Restarts the T2 kube-apiserver (e2e/t2/restart-apiserver; T2_PORT_OFFSET from the environment). */
export async function restartApiserver(downForSeconds = 0): Promise<void> {
  await exec(join(REPO, 'e2e/t2/restart-apiserver'), ['--down-for', String(downForSeconds)], { cwd: REPO, env: process.env, timeout: 300_000 });
}

/**
 * Samples, every 100 ms, the leader gauge of every live replica and the Lease's holder. `overlaps`
 * lists the samples where two replicas said they lead; `holders` is the Lease holder history (each
 * change, with its time).
 */
export class LeaderWatch {
  readonly overlaps: string[] = [];
  readonly holders: { at: number; holder: string }[] = [];
  samples = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  readonly #replicas: () => ReadonlyMap<string, LoggedProcess>;
  readonly #gauge: string;
  readonly #admin: LoadedKubeClient;
  readonly #lease: { namespace: string; name: string };

  constructor(replicas: () => ReadonlyMap<string, LoggedProcess>, gauge: string, admin: LoadedKubeClient, lease: { namespace: string; name: string }) {
    this.#replicas = replicas;
    this.#gauge = gauge;
    this.#admin = admin;
    this.#lease = lease;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#sample(), 100);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The Lease's current holder ('' when none or unreadable). */
  async holder(): Promise<string> {
    try {
      const l = await this.#admin.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, this.#lease);
      return l.spec?.holderIdentity ?? '';
    } catch {
      return '';
    }
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const live = [...this.#replicas()].filter(([, p]) => p.running);
      const leading = (
        await Promise.all(
          live.map(async ([id, p]) => {
            try {
              return (await p.metric(this.#gauge)) === 1 ? id : undefined;
            } catch {
              return undefined; // not answering (starting, being killed)
            }
          }),
        )
      ).filter((x): x is string => x !== undefined);
      this.samples++;
      if (leading.length > 1) this.overlaps.push(`${new Date().toISOString()}: ${leading.join(' and ')} both lead`);
      const h = await this.holder();
      if (h !== '' && this.holders[this.holders.length - 1]?.holder !== h) this.holders.push({ at: performance.now(), holder: h });
    } finally {
      this.#busy = false;
    }
  }
}
