// The logging surface libs/kube needs. A pino Logger (from @portico/service-kit's createLogger)
// satisfies it structurally; libs/kube does not import pino itself, so tests can pass a recorder
// (RecordingLogger, @portico/kube/testing).

/** A structured log method: `log.warn({ err, event: 'watchRestart' }, 'watch ended')`. */
export type LogFn = (obj: object, msg?: string) => void;

/** The pino subset libs/kube uses (STYLE rule 12). */
export interface KubeLogger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
}

/** Discards everything; the default when no logger is passed. */
const discard: LogFn = () => undefined;
export const silentLogger: KubeLogger = Object.freeze({ error: discard, warn: discard, info: discard, debug: discard });
