// The ServiceLB controller as a hostable unit: the controller (caches always, work while leading)
// under its Lease. servicelb-controller is this plus a health server; ccm hosts it beside node
// initialization. Both take the same Lease (SERVICELB_LEASE_NAME by default), so ServiceLB never
// runs twice on one cluster, whichever binaries are deployed.

import { EventRecorder, type KubeClient, type KubeMetrics } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { ServiceLB } from '@portico/labels';
import type { Logger, Readiness, Registry } from '@portico/service-kit';
import type { ServiceLBConfig } from '@portico/servicelb';
import { FIELD_MANAGER, type ServiceLBWorkConfig } from './config.ts';
import { type LeaderConfig } from '@portico/service-kit/controller';
import { ServiceLBController, type EventSink } from './controller.ts';
import { LeaderLoop } from './leader-loop.ts';
import { createControllerMetrics } from './metrics.ts';

export interface ServiceLBHostOptions {
  readonly client: KubeClient;
  readonly core: ServiceLBConfig;
  readonly work: ServiceLBWorkConfig;
  readonly leader: LeaderConfig;
  /** The ServiceLB Lease. */
  readonly leaseName: string;
  /** Node this process runs on (the "host" of its Events). */
  readonly nodeName: string | undefined;
  readonly log: Logger;
  /** Where the `portico_servicelb_*` metrics go. */
  readonly registry: Registry;
  /** libs/kube's metrics on the same registry (caches, queue, leader, events). */
  readonly kubeMetrics: KubeMetrics;
  /** Event sink; defaults to an EventRecorder on `client` (component `service-lb-controller`). */
  readonly events?: EventSink;
  readonly clock?: Clock;
}

export interface ServiceLBHost {
  readonly controller: ServiceLBController;
  readonly loop: LeaderLoop;
  readiness(): Readiness;
  /** Starts the caches and the leader loop. */
  start(): void;
  /** Stops leading (releasing the Lease), then the caches; flushes Events. */
  close(): Promise<void>;
}

export function createServiceLBHost(o: ServiceLBHostOptions): ServiceLBHost {
  const metrics = createControllerMetrics(o.registry);
  const events: EventSink =
    o.events ??
    new EventRecorder({
      client: o.client,
      // K3s's event source component for ServiceLB (spec §9.1).
      component: ServiceLB.controllerName,
      host: o.nodeName,
      instance: o.leader.identity,
      clock: o.clock,
      logger: o.log,
      metrics: o.kubeMetrics.events,
    });
  const controller = new ServiceLBController({
    client: o.client,
    core: o.core,
    log: o.log,
    metrics,
    events,
    fieldManager: FIELD_MANAGER,
    workers: o.work.workers,
    resyncPeriodMs: o.work.resyncPeriodMs,
    kubeMetrics: o.kubeMetrics,
    clock: o.clock,
  });
  const loop = new LeaderLoop({
    client: o.client,
    leader: o.leader,
    leaseName: o.leaseName,
    what: 'ServiceLB',
    work: (signal) => controller.lead(signal),
    log: o.log,
    metrics: o.kubeMetrics.leader,
    clock: o.clock,
  });
  return {
    controller,
    loop,
    readiness: () => controller.readiness(),
    start() {
      controller.start();
      loop.start();
    },
    async close() {
      await loop.close();
      await controller.stop();
      await events.flush();
    },
  };
}
