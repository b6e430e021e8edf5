// The command-line interface of servicelb-controller: `run` (default), `render` and `cleanup`.

import type { Program } from '@portico/service-kit';
import { cleanupCommand, cleanupFlags, FIELD_MANAGER, renderServiceLBCommand } from '@portico/servicelb-runtime';
import { controllerRunCommand, realControllerSystem, type ControllerSystem } from '@portico/service-kit/controller';
import { createApp } from './app.ts';
import { leaseNameFlag, renderFlags, runConfigFrom, runFlags, VERSION } from './config.ts';

const NAME = 'servicelb-controller';

const RUN_DETAILS = `Watches Services, Nodes, svclb Pods and DaemonSets (and EndpointSlices while a LoadBalancer
Service uses externalTrafficPolicy Local); keeps one svclb DaemonSet per LoadBalancer Service in
--lb-namespace and writes status.loadBalancer.ingress. Only the Lease holder writes.
Field manager of every write: portico-servicelb. See docs/servicelb.md ("Controller").`;

const CLEANUP_DETAILS = `For helm uninstall (the chart's post-delete hook) or turning ServiceLB off. Waits for the
ServiceLB Lease (a stopping controller releases it, a killed one lets it expire), so no controller
writes meanwhile; then deletes the svclb DaemonSets (label svccontroller.<program>.cattle.io/svcname)
in --lb-namespace, clears status.loadBalancer.ingress and the LoadBalancerReady condition of every
Service that carries ServiceLB's finalizer (and no spec.loadBalancerClass), removes the finalizer,
and releases the Lease. Idempotent. Exit 0 done, 1 failed (Lease not free within --timeout, API
error), 2 bad flags or kubeconfig.`;

/** The command-line interface of servicelb-controller; `system` is the I/O of `run` (tests inject a fake). */
export function createProgram(system: ControllerSystem = realControllerSystem()): Program {
  return {
    name: NAME,
    summary: 'ServiceLB controller: LoadBalancer Services to svclb DaemonSets and Service status',
    defaultCommand: 'run',
    commands: [
      { name: 'run', summary: 'Run the controller (leader-elected)', details: RUN_DETAILS, flags: runFlags, run: controllerRunCommand({ name: NAME, version: VERSION, parse: runConfigFrom, createApp, system }) },
      {
        name: 'render',
        summary: 'Print the DaemonSets and Service statuses the controller would write for snapshot files, with no cluster access',
        args: '[FILE...]',
        flags: renderFlags,
        run: (ctx) => renderServiceLBCommand(ctx, NAME),
      },
      {
        name: 'cleanup',
        summary: 'Delete every svclb DaemonSet and release every Service ServiceLB served (status, finalizer), holding the ServiceLB Lease',
        details: CLEANUP_DETAILS,
        flags: cleanupFlags(leaseNameFlag),
        run: cleanupCommand({ name: NAME, version: VERSION, fieldManager: FIELD_MANAGER, leaseNameFlag }),
      },
    ],
  };
}
