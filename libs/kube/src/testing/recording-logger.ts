import type { KubeLogger, LogFn } from '../logger.ts';

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
