// createApp: the servicelb-controller process as a factory with start() and close() (STYLE rule 9).
// Every dependency comes in as a parameter; main.ts (through cli.ts) only wires real ones. The
// controller, its caches and its Lease are @portico/servicelb-runtime's ServiceLB host (the same
// one ccm runs); this app adds only the health and metrics server.

import { createKubeMetrics, type KubeClient } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { buildHealthServer, listenOn, type Logger, type Registry } from '@portico/service-kit';
import { createServiceLBHost, FIELD_MANAGER, type EventSink, type ServiceLBController, type ServiceLBHost } from '@portico/servicelb-runtime';
import type { RunConfig } from './config.ts';

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
  readonly host: ServiceLBHost;
  /** The health/metrics server (not listening until start(); tests use inject()). */
  readonly server: ReturnType<typeof buildHealthServer>;
  /** Starts caches, the HTTP server (unless metrics-addr is 0) and the leader loop. */
  start(): Promise<void>;
  /** Stops leading (releasing the Lease), the caches and the server; flushes Events. */
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { config, log, client, registry } = deps;
  const host = createServiceLBHost({
    client,
    core: config.core,
    work: config,
    leader: config,
    leaseName: config.leaseName,
    nodeName: config.nodeName,
    log,
    registry,
    kubeMetrics: createKubeMetrics(registry),
    events: deps.events,
    clock: deps.clock,
  });
  const server = buildHealthServer({ registry, readiness: () => host.readiness(), log });
  return {
    controller: host.controller,
    host,
    server,
    async start() {
      log.info({ event: 'starting', config: { ...config, core: { ...config.core } }, fieldManager: FIELD_MANAGER }, 'starting servicelb-controller');
      host.start();
      await listenOn(server, config.metricsAddr, log);
    },
    async close() {
      await host.close();
      await server.close();
    },
  };
}
