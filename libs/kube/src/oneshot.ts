// Helpers of one-shot commands that talk to the API server and end (the `cleanup` commands the Helm
// chart runs as uninstall hooks): connect with a clear exit-2 message for an unusable kubeconfig,
// and poll a condition until it holds or a deadline passes.

import { createKubeClient } from './bootstrap.ts';
import { KubeConfigError } from './errors.ts';
import { type Clock, sleep } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';

/**
 * Connects as createKubeClient does. On an unusable kubeconfig it writes `<prefix>: <why>` to
 * `stderr` and answers undefined (the command then exits 2); other errors propagate.
 */
export async function connectForCommand(opts: {
  readonly kubeconfig: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly userAgent: string;
  readonly prefix: string;
  readonly stderr: { write(s: string): unknown };
}): Promise<Awaited<ReturnType<typeof createKubeClient>> | undefined> {
  try {
    return await createKubeClient({ kubeconfig: opts.kubeconfig, env: opts.env, userAgent: opts.userAgent });
  } catch (err) {
    if (err instanceof KubeConfigError) {
      opts.stderr.write(`${opts.prefix}: ${err.message}\n`);
      return undefined;
    }
    throw err;
  }
}

/** A condition that did not hold before its deadline; `last` says what was seen last. */
export class PollTimeoutError extends Error {
  readonly what: string;
  readonly last: string;
  constructor(what: string, last: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs < 1000 ? `${timeoutMs}ms` : `${Math.round(timeoutMs / 1000)}s`} waiting for ${what}${last ? ` (last seen: ${last})` : ''}`);
    this.name = 'PollTimeoutError';
    this.what = what;
    this.last = last;
  }
}

/**
 * Calls `check` every `intervalMs` until it answers `{ done: true }`; throws PollTimeoutError after
 * `timeoutMs` with the last `seen` text. Errors thrown by `check` propagate at once.
 */
export async function pollUntil(
  what: string,
  check: () => Promise<{ readonly done: boolean; readonly seen?: string }>,
  opts: { readonly timeoutMs: number; readonly intervalMs?: number; readonly clock?: Clock; readonly signal?: AbortSignal },
): Promise<void> {
  const clock = opts.clock ?? realClock;
  const deadline = clock.now() + opts.timeoutMs;
  for (;;) {
    const r = await check();
    if (r.done) return;
    if (clock.now() >= deadline) throw new PollTimeoutError(what, r.seen ?? '', opts.timeoutMs);
    await sleep(clock, Math.min(opts.intervalMs ?? 2000, Math.max(1, deadline - clock.now())), opts.signal);
  }
}
