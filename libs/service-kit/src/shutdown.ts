import type { Logger } from 'pino';

export type Closer = () => Promise<void> | void;

export interface ShutdownOptions {
  readonly log: Logger;
  /** Give up waiting for closers after this long, then exit 1. @default 20000 */
  readonly timeoutMs?: number;
  /** For tests. @default process */
  readonly proc?: Pick<NodeJS.Process, 'once' | 'exit'>;
}

/**
 * Graceful shutdown on SIGTERM/SIGINT: closers run once, in reverse order of registration (last
 * started, first stopped), each failure is logged and the rest still run; then the process exits 0,
 * or 1 if a closer failed or the timeout passed. Returns `add` to register closers and `shutdown` to
 * trigger the same path from code.
 */
export function handleShutdown(opts: ShutdownOptions): { add(c: Closer): void; shutdown(signal: string): Promise<number> } {
  const closers: Closer[] = [];
  const proc = opts.proc ?? process;
  let running: Promise<number> | undefined;
  const shutdown = (signal: string): Promise<number> => {
    if (running) return running;
    running = (async () => {
      opts.log.info({ event: 'shutdown', signal }, 'shutting down');
      let failed = false;
      const all = (async () => {
        for (const c of closers.slice().reverse()) {
          try {
            await c();
          } catch (err) {
            failed = true;
            opts.log.error({ err, op: 'shutdown' }, 'a closer failed during shutdown');
          }
        }
      })();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), opts.timeoutMs ?? 20_000);
          timer.unref?.();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) opts.log.error({ op: 'shutdown' }, 'shutdown timed out');
      const code = failed || timedOut ? 1 : 0;
      opts.log.info({ event: 'exited', code }, 'stopped');
      return code;
    })();
    return running;
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    proc.once(sig, () => {
      void shutdown(sig).then((code) => proc.exit(code));
    });
  }
  return { add: (c) => void closers.push(c), shutdown };
}
