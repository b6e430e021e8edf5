// The logging surface libs/kube needs. A pino Logger (from @portico/service-kit's createLogger)
// satisfies it structurally; libs/kube does not import pino itself, so tests can pass a recorder.

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

/** One recorded line of a RecordingLogger. */
export interface LogRecord {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** Keeps every line, for tests that assert on logging (e.g. "failures are logged, not thrown"). */
export class RecordingLogger implements KubeLogger {
  readonly records: LogRecord[] = [];
  error: LogFn = (obj, msg) => void this.records.push({ level: 'error', obj, msg });
  warn: LogFn = (obj, msg) => void this.records.push({ level: 'warn', obj, msg });
  info: LogFn = (obj, msg) => void this.records.push({ level: 'info', obj, msg });
  debug: LogFn = (obj, msg) => void this.records.push({ level: 'debug', obj, msg });
}
