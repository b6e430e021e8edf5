// The command-line interface of addon-manager: `run` (default), `render` and `cleanup`.

import { createKubeClient, KubeConfigError } from '@portico/kube';
import { createLogger, createRegistry, ExitCode, formatIssue, handleShutdown, type CommandContext, type Program } from '@portico/service-kit';
import { createApp } from './app.ts';
import { cleanupCommand, cleanupFlags } from './cleanup.ts';
import { renderFlags, runConfigFrom, runFlags, VERSION } from './config.ts';
import { runRender } from './render.ts';

const NAME = 'addon-manager';

const RUN_DETAILS = `Stages the packaged components (CoreDNS, Traefik as HelmCharts, local-path storage,
metrics-server) into --manifests-dir, then, while holding the Lease, applies every .yaml/.yml/.json
file there (subdirectories too) as one k3s.cattle.io/v1 Addon in kube-system, server-side, pruning
objects that leave a file; and runs HelmCharts (helm.cattle.io/v1) through Jobs.
Field manager of every write: portico-addon-manager. See docs/addon-manager.md.`;

const CLEANUP_DETAILS = `For helm uninstall (the chart's hooks). --objects=charts (pre-delete, addon-manager still runs):
deletes every HelmChart annotated helmcharts.cattle.io/managed-by=--controller-name and waits until
each is gone (the running HelmChart loop runs its delete Job, helm uninstall), then every
HelmChartConfig whose HelmChart is gone. --objects=addons (post-delete, addon-manager stopped: a
running one writes them again): every Addon in kube-system that addon-manager wrote. HelmCharts of
another controller (K3s's helm-controller) and their configs stay; so do the objects manifests
deployed. Exit 0 done, 1 failed (HelmCharts not gone within --timeout, API error), 2 bad flags or
kubeconfig.`;

async function runManager(ctx: CommandContext): Promise<number> {
  const parsed = runConfigFrom(ctx.values, ctx.io.env);
  if (!parsed.ok) {
    for (const issue of parsed.issues) ctx.io.stderr.write(`${NAME} run: ${formatIssue(issue)}\n`);
    return ExitCode.usage;
  }
  const config = parsed.config;
  const log = createLogger({ app: NAME, level: config.logLevel });
  let client;
  try {
    client = await createKubeClient({ kubeconfig: config.kubeconfig, env: ctx.io.env, userAgent: `portico-addon-manager/${VERSION}` });
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

/** The command-line interface of addon-manager. */
export const program: Program = {
  name: NAME,
  summary: 'Add-on manager: manifests directory to server-side applied objects with pruning; HelmCharts through Jobs',
  defaultCommand: 'run',
  commands: [
    { name: 'run', summary: 'Run both loops (leader-elected)', details: RUN_DETAILS, flags: runFlags, run: runManager },
    {
      name: 'render',
      summary: 'Print what would be applied, pruned and which HelmChart Jobs would be created, with no cluster access',
      args: '[FILE...]',
      flags: renderFlags,
      run: (ctx) => runRender(ctx, NAME),
    },
    {
      name: 'cleanup',
      summary: 'Delete the HelmCharts this instance manages (waiting for their uninstall Jobs) and their HelmChartConfigs, and/or its Addons',
      details: CLEANUP_DETAILS,
      flags: cleanupFlags,
      run: cleanupCommand,
    },
  ],
};
