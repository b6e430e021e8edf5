// The command-line interface of servicelb-controller: `run` (default) and `render`.

import type { Program } from '@portico/service-kit';
import { controllerRunCommand, renderServiceLBCommand } from '@portico/servicelb-runtime';
import { createApp } from './app.ts';
import { renderFlags, runConfigFrom, runFlags, VERSION } from './config.ts';

const NAME = 'servicelb-controller';

const RUN_DETAILS = `Watches Services, Nodes, svclb Pods and DaemonSets (and EndpointSlices while a LoadBalancer
Service uses externalTrafficPolicy Local); keeps one svclb DaemonSet per LoadBalancer Service in
--lb-namespace and writes status.loadBalancer.ingress. Only the Lease holder writes.
Field manager of every write: portico-servicelb. See docs/servicelb.md ("Controller").`;

/** The command-line interface of servicelb-controller. */
export const program: Program = {
  name: NAME,
  summary: 'ServiceLB controller: LoadBalancer Services to svclb DaemonSets and Service status',
  defaultCommand: 'run',
  commands: [
    { name: 'run', summary: 'Run the controller (leader-elected)', details: RUN_DETAILS, flags: runFlags, run: controllerRunCommand({ name: NAME, version: VERSION, parse: runConfigFrom, createApp }) },
    {
      name: 'render',
      summary: 'Print the DaemonSets and Service statuses the controller would write for snapshot files, with no cluster access',
      args: '[FILE...]',
      flags: renderFlags,
      run: (ctx) => renderServiceLBCommand(ctx, NAME),
    },
  ],
};
