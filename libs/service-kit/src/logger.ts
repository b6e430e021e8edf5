import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Component name, bound to every line as `app`. */
  readonly app: string;
  /** @default 'info' */
  readonly level?: LogLevel;
  /** Where JSON lines go. @default stdout */
  readonly destination?: DestinationStream;
}

/**
 * The root logger of a process (STYLE rule 12): JSON lines, ISO time, `err` serialised, level as a
 * label. Create it once in main.ts and pass children down.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { app: opts.app },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
