// The `run` command of a leader-elected controller process (servicelb-controller, ccm): validate
// the flags (exit 2, one line per problem), connect to the API server (an unusable kubeconfig is
// exit 2 too), build the app, start it, and run until SIGTERM/SIGINT, stopping it cleanly.

import { createKubeClient, KubeConfigError, type KubeClient } from '@portico/kube';
import { createLogger, createRegistry, ExitCode, formatIssue, handleShutdown, type CommandContext, type FlagValues, type Logger, type LogLevel, type Registry } from '@portico/service-kit';
import type { ConfigResult } from './config.ts';

/** What a controller app must offer to be run. */
export interface RunnableApp {
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface ControllerCommandOptions<C extends { readonly logLevel: LogLevel; readonly kubeconfig: string | undefined }> {
  /** Program name, for messages and the logger. */
  readonly name: string;
  readonly version: string;
  readonly parse: (values: FlagValues, env: Readonly<Record<string, string | undefined>>) => ConfigResult<C>;
  readonly createApp: (deps: { readonly config: C; readonly log: Logger; readonly client: KubeClient; readonly registry: Registry }) => RunnableApp;
}

/** The `run` command's handler for `opts`. */
export function controllerRunCommand<C extends { readonly logLevel: LogLevel; readonly kubeconfig: string | undefined }>(opts: ControllerCommandOptions<C>): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    const parsed = opts.parse(ctx.values, ctx.io.env);
    if (!parsed.ok) {
      for (const issue of parsed.issues) ctx.io.stderr.write(`${opts.name} run: ${formatIssue(issue)}\n`);
      return ExitCode.usage;
    }
    const config = parsed.config;
    const log = createLogger({ app: opts.name, level: config.logLevel });
    let client;
    try {
      client = await createKubeClient({ kubeconfig: config.kubeconfig, env: ctx.io.env, userAgent: `portico-${opts.name}/${opts.version}` });
    } catch (err) {
      if (err instanceof KubeConfigError) {
        ctx.io.stderr.write(`${opts.name} run: ${err.message}\n`);
        return ExitCode.usage;
      }
      throw err;
    }
    const app = opts.createApp({ config, log, client, registry: createRegistry(opts.name, opts.version) });
    return new Promise<number>((resolve) => {
      const shutdown = handleShutdown({ log, proc: { once: (sig, fn) => process.once(sig, fn), exit: (code) => resolve(typeof code === 'number' ? code : 0) } as Pick<NodeJS.Process, 'once' | 'exit'> });
      shutdown.add(() => client.close());
      shutdown.add(() => app.close());
      app.start().catch((err: unknown) => {
        log.fatal({ op: 'start', err }, 'cannot start');
        void shutdown.shutdown('start failed').then(() => resolve(ExitCode.failure));
      });
    });
  };
}

/** Counts each API write of `call` with `count(verb, resource, ok)`; `okOnError` says which failures still count as ok (e.g. 404 on delete). */
export async function countedWrite<T>(count: (verb: string, resource: string, ok: boolean) => void, verb: string, resource: string, call: () => Promise<T>, okOnError: (err: unknown) => boolean = () => false): Promise<T> {
  try {
    const out = await call();
    count(verb, resource, true);
    return out;
  } catch (err) {
    count(verb, resource, okOnError(err));
    throw err;
  }
}
