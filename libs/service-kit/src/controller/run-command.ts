// The `run` command of a leader-elected controller process (servicelb-controller, ccm,
// addon-manager): validate the flags (exit 2, one line per problem), connect to the API server (an
// unusable kubeconfig is exit 2 too), build the app, start it (the app starts its own health and
// metrics server), and run until SIGTERM/SIGINT, stopping it cleanly.

import { createKubeClient, KubeConfigError, type KubeClient } from '@portico/kube';
import type { CommandContext } from '../cli.ts';
import type { FlagValues } from '../flags.ts';
import { createLogger, type Logger, type LogLevel } from '../logger.ts';
import { createRegistry, type Registry } from '../metrics.ts';
import { handleShutdown } from '../shutdown.ts';
import { ExitCode } from '../cli.ts';
import { formatIssue } from '../flags.ts';
import type { ConfigResult } from './leader-config.ts';

/** What a controller app must offer to be run. */
export interface RunnableApp {
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The I/O a controller process needs beyond its command context; tests replace it. */
export interface ControllerSystem {
  /** Connects to the API server (libs/kube's createKubeClient); throws KubeConfigError on an unusable kubeconfig. */
  readonly connect: (opts: { readonly kubeconfig: string | undefined; readonly env: Readonly<Record<string, string | undefined>>; readonly userAgent: string }) => Promise<KubeClient & { close(): Promise<void> | void }>;
  /** Where SIGTERM/SIGINT come from. @default process */
  readonly signals: Pick<NodeJS.Process, 'once'>;
}

/** The real system: libs/kube's client (it loads client-node on first use) and the process's signals. */
export function realControllerSystem(): ControllerSystem {
  return {
    connect: (opts) => createKubeClient(opts),
    signals: process,
  };
}

export interface ControllerCommandOptions<C extends { readonly logLevel: LogLevel; readonly kubeconfig: string | undefined }> {
  /** Program name, for messages and the logger. */
  readonly name: string;
  readonly version: string;
  readonly parse: (values: FlagValues, env: Readonly<Record<string, string | undefined>>) => ConfigResult<C>;
  readonly createApp: (deps: { readonly config: C; readonly log: Logger; readonly client: KubeClient; readonly registry: Registry }) => RunnableApp;
  /** @default realControllerSystem() */
  readonly system?: ControllerSystem;
}

/** The `run` command's handler for `opts`. */
export function controllerRunCommand<C extends { readonly logLevel: LogLevel; readonly kubeconfig: string | undefined }>(opts: ControllerCommandOptions<C>): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    const parsed = opts.parse(ctx.values, ctx.io.env);
    if (!parsed.ok) {
      for (const issue of parsed.issues) ctx.io.stderr.write(`${opts.name} run: ${formatIssue(issue)}\n`);
      return ExitCode.usage;
    }
    const system = opts.system ?? realControllerSystem();
    const config = parsed.config;
    const log = createLogger({ app: opts.name, level: config.logLevel });
    let client;
    try {
      client = await system.connect({ kubeconfig: config.kubeconfig, env: ctx.io.env, userAgent: `portico-${opts.name}/${opts.version}` });
    } catch (err) {
      if (err instanceof KubeConfigError) {
        ctx.io.stderr.write(`${opts.name} run: ${err.message}\n`);
        return ExitCode.usage;
      }
      throw err;
    }
    const app = opts.createApp({ config, log, client, registry: createRegistry(opts.name, opts.version) });
    return new Promise<number>((resolve) => {
      const shutdown = handleShutdown({ log, proc: { once: (sig, fn) => system.signals.once(sig, fn), exit: (code) => resolve(typeof code === 'number' ? code : 0) } as Pick<NodeJS.Process, 'once' | 'exit'> });
      shutdown.add(() => client.close());
      shutdown.add(() => app.close());
      app.start().catch((err: unknown) => {
        log.fatal({ op: 'start', err }, 'cannot start');
        void shutdown.shutdown('start failed').then(() => resolve(ExitCode.failure));
      });
    });
  };
}
