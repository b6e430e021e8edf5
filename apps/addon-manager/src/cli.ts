// The command-line interface of addon-manager: `run` (default), `render` and `cleanup`.

import type { Program } from '@portico/service-kit';
import { controllerRunCommand, realControllerSystem, type ControllerSystem } from '@portico/service-kit/controller';
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

/** The command-line interface of addon-manager; `system` is the I/O of `run` (tests inject a fake). */
export function createProgram(system: ControllerSystem = realControllerSystem()): Program {
  return {
    name: NAME,
    summary: 'Add-on manager: manifests directory to server-side applied objects with pruning; HelmCharts through Jobs',
    defaultCommand: 'run',
    commands: [
      { name: 'run', summary: 'Run both loops (leader-elected)', details: RUN_DETAILS, flags: runFlags, run: controllerRunCommand({ name: NAME, version: VERSION, parse: runConfigFrom, createApp, system }) },
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
}
