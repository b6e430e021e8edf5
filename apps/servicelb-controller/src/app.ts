// createApp: the servicelb-controller process as a factory with start() and close() (STYLE rule 9).
// Every dependency comes in as a parameter; main.ts (through cli.ts) only wires real ones.
//
// Leader election: with --leader-elect (default) every replica runs its caches and serves
// /healthz, /readyz and /metrics; only the Lease holder reconciles. A replica that loses the Lease
// stops its work (in-flight API calls are aborted before the renew deadline ends, i.e. before any
// standby can take over), goes back to idle and campaigns again, rather than exiting as client-go
// controllers do: the caches stay warm, and readiness does not flap.

import { EventRecorder, LeaderElector, createKubeMetrics, type Clock, type KubeClient } from '@portico/kube';
import { ServiceLB } from '@portico/labels';
import { buildHealthServer, splitListenAddr, type Logger, type Registry } from '@portico/service-kit';
import type { RunConfig } from './config.ts';
import { FIELD_MANAGER } from './config.ts';
import { ServiceLBController, type EventSink } from './controller.ts';
import { createControllerMetrics } from './metrics.ts';

export interface AppDeps {
  readonly config: RunConfig;
  readonly log: Logger;
  readonly client: KubeClient;
  readonly registry: Registry;
  /** Event sink; defaults to an EventRecorder on `client` (component `service-lb-controller`). */
  readonly events?: EventSink;
  readonly clock?: Clock;
}

export interface App {
  readonly controller: ServiceLBController;
  /** The health/metrics server (not listening until start(); tests use inject()). */
  readonly server: ReturnType<typeof buildHealthServer>;
  /** The elector, when leader election is on. */
  readonly elector: LeaderElector | undefined;
  /** Starts caches, the HTTP server (unless metrics-addr is 0) and the leader loop. */
  start(): Promise<void>;
  /** Stops leading (releasing the Lease), the caches and the server; flushes Events. */
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { config, log, client, registry } = deps;
  const metrics = createControllerMetrics(registry);
  const kubeMetrics = createKubeMetrics(registry);
  const events: EventSink =
    deps.events ??
    new EventRecorder({
      client,
      // K3s's event source component for ServiceLB (spec §9.1).
      component: ServiceLB.controllerName,
      host: config.nodeName,
      instance: config.identity,
      clock: deps.clock,
      logger: log,
      metrics: kubeMetrics.events,
    });
  const controller = new ServiceLBController({
    client,
    core: config.core,
    log,
    metrics,
    events,
    fieldManager: FIELD_MANAGER,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
    kubeMetrics,
    clock: deps.clock,
  });
  const server = buildHealthServer({ registry, readiness: () => controller.readiness(), log });

  let leading: Promise<void> = Promise.resolve();
  let stopWork: AbortController | undefined;
  const elector = config.leaderElect
    ? new LeaderElector({
        client,
        namespace: config.leaseNamespace,
        name: config.leaseName,
        identity: config.identity,
        leaseDurationMs: config.leaseDurationMs,
        renewDeadlineMs: config.renewDeadlineMs,
        retryPeriodMs: config.retryPeriodMs,
        clock: deps.clock,
        logger: log,
        metrics: kubeMetrics.leader,
        onStartedLeading: (signal) => {
          leading = controller.lead(signal).catch((err: unknown) => log.error({ op: 'lead', err }, 'leader work failed'));
        },
        onStoppedLeading: () => leading,
      })
    : undefined;
  let campaign: Promise<void> | undefined;
  let closing = false;

  return {
    controller,
    server,
    elector,
    async start() {
      log.info(
        {
          event: 'starting',
          config: { ...config, core: { ...config.core } },
          fieldManager: FIELD_MANAGER,
        },
        'starting servicelb-controller',
      );
      controller.start();
      const addr = splitListenAddr(config.metricsAddr);
      if (addr) {
        await server.listen({ host: addr.host, port: addr.port });
        log.info({ event: 'listening', addr: config.metricsAddr }, 'serving /healthz, /readyz and /metrics');
      }
      if (elector) {
        campaign = (async () => {
          while (!closing) {
            const why = await elector.run();
            if (why === 'stopped') return;
            log.warn({ event: 'leadershipLost', lease: elector.lease }, 'lost the Lease; idle until elected again');
          }
        })();
      } else {
        stopWork = new AbortController();
        leading = controller.lead(stopWork.signal).catch((err: unknown) => log.error({ op: 'lead', err }, 'controller work failed'));
      }
    },
    async close() {
      closing = true;
      if (elector) {
        await elector.stop();
        await campaign;
      } else {
        stopWork?.abort(new Error('shutting down'));
      }
      await leading;
      await controller.stop();
      await events.flush();
      await server.close();
    },
  };
}
