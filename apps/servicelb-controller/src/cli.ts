// The command-line interface of servicelb-controller: `run` (default) and `render`.

import { createKubeClient, KubeConfigError } from '@portico/kube';
import { createLogger, createRegistry, ExitCode, formatIssue, handleShutdown, type CommandContext, type Program } from '@portico/service-kit';
import { createApp } from './app.ts';
import { renderServiceLBCommand } from '@portico/servicelb-runtime';
import { renderFlags, runConfigFrom, runFlags, VERSION } from './config.ts';

const NAME = 'servicelb-controller';

const RUN_DETAILS = `Watches Services, Nodes, svclb Pods and DaemonSets (and EndpointSlices while a LoadBalancer
Service uses externalTrafficPolicy Local); keeps one svclb DaemonSet per LoadBalancer Service in
--lb-namespace and writes status.loadBalancer.ingress. Only the Lease holder writes.
Field manager of every write: portico-servicelb. See docs/servicelb.md ("Controller").`;

/** `run`: validates flags (exit 2 on any problem), then runs until SIGTERM/SIGINT. */
async function runController(ctx: CommandContext): Promise<number> {
  const parsed = runConfigFrom(ctx.values, ctx.io.env);
  if (!parsed.ok) {
    for (const issue of parsed.issues) ctx.io.stderr.write(`${NAME} run: ${formatIssue(issue)}\n`);
    return ExitCode.usage;
  }
  const config = parsed.config;
  const log = createLogger({ app: NAME, level: config.logLevel });
  let client;
  try {
    client = await createKubeClient({ kubeconfig: config.kubeconfig, env: ctx.io.env, userAgent: `portico-servicelb-controller/${VERSION}` });
  } catch (err) {
    if (err instanceof KubeConfigError) {
      ctx.io.stderr.write(`${NAME} run: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  const app = createApp({ config, log, client, registry: createRegistry(NAME, VERSION) });
  return new Promise<number>((resolve) => {
    const shutdown = handleShutdown({ log, proc: { once: (sig, fn) => process.once(sig, fn), exit: (code) => resolve(typeof code === 'number' ? code : 0) } as Pick<NodeJS.Process, 'once' | 'exit'> });
    shutdown.add(() => client.close());
    shutdown.add(() => app.close());
    app.start().catch((err: unknown) => {
      log.fatal({ op: 'start', err }, 'cannot start');
      void shutdown.shutdown('start failed').then(() => resolve(ExitCode.failure));
    });
  });
}

/** The command-line interface of servicelb-controller. */
export const program: Program = {
  name: NAME,
  summary: 'ServiceLB controller: LoadBalancer Services to svclb DaemonSets and Service status',
  defaultCommand: 'run',
  commands: [
    { name: 'run', summary: 'Run the controller (leader-elected)', details: RUN_DETAILS, flags: runFlags, run: runController },
    {
      name: 'render',
      summary: 'Print the DaemonSets and Service statuses the controller would write for snapshot files, with no cluster access',
      args: '[FILE...]',
      flags: renderFlags,
      run: (ctx) => renderServiceLBCommand(ctx, NAME),
    },
  ],
};
