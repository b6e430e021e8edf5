// createApp: the ccm process as a factory with start() and close() (STYLE rule 9). Node
// initialization runs under its own Lease (<program>-cloud-controller-manager, K3s's); unless
// `--disable servicelb`, @portico/servicelb-runtime's ServiceLB host runs beside it under the
// ServiceLB Lease, the one servicelb-controller takes too, so ServiceLB never runs twice.

import { createKubeMetrics, EventRecorder, type KubeClient } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { CloudNode } from '@portico/labels';
import { buildHealthServer, listenOn, type Logger, type Readiness, type Registry } from '@portico/service-kit';
import { createServiceLBHost, LeaderLoop, type EventSink, type ServiceLBHost } from '@portico/servicelb-runtime';
import { FIELD_MANAGER, type RunConfig } from './config.ts';
import { createCcmMetrics } from './metrics.ts';
import { NodeController } from './node-controller.ts';

export interface AppDeps {
  readonly config: RunConfig;
  readonly log: Logger;
  readonly client: KubeClient;
  readonly registry: Registry;
  /** Event sinks; default EventRecorders on `client` (components cloud-node-controller, service-lb-controller). */
  readonly nodeEvents?: EventSink;
  readonly serviceLBEvents?: EventSink;
  readonly clock?: Clock;
}

export interface App {
  readonly nodes: NodeController;
  readonly nodeLoop: LeaderLoop;
  /** The hosted ServiceLB; undefined with `--disable servicelb`. */
  readonly serviceLB: ServiceLBHost | undefined;
  readonly server: ReturnType<typeof buildHealthServer>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { config, log, client, registry } = deps;
  const kubeMetrics = createKubeMetrics(registry);
  const nodeEvents: EventSink =
    deps.nodeEvents ??
    new EventRecorder({ client, component: CloudNode.controllerName, host: config.nodeName, instance: config.identity, clock: deps.clock, logger: log, metrics: kubeMetrics.events });
  const nodes = new NodeController({
    client,
    program: config.program,
    log,
    metrics: createCcmMetrics(registry),
    events: nodeEvents,
    fieldManager: FIELD_MANAGER,
    resyncPeriodMs: config.nodeResyncPeriodMs,
    kubeMetrics,
    clock: deps.clock,
  });
  const nodeLoop = new LeaderLoop({
    client,
    leader: config,
    leaseName: config.leaseName,
    what: 'node initialization',
    work: (signal) => nodes.lead(signal),
    log,
    metrics: kubeMetrics.leader,
    clock: deps.clock,
  });
  const serviceLB = config.serviceLB
    ? createServiceLBHost({
        client,
        core: config.serviceLB,
        work: config,
        leader: config,
        leaseName: config.serviceLBLeaseName,
        nodeName: config.nodeName,
        log: log.child({ component: 'servicelb' }),
        registry,
        kubeMetrics,
        events: deps.serviceLBEvents,
        clock: deps.clock,
      })
    : undefined;
  const readiness = (): Readiness => {
    const parts = [nodes.readiness(), ...(serviceLB ? [serviceLB.readiness()] : [])];
    const bad = parts.filter((p) => !p.ready).map((p) => (p.ready ? '' : p.reason));
    return bad.length === 0 ? { ready: true } : { ready: false, reason: bad.join('; ') };
  };
  const server = buildHealthServer({ registry, readiness, log });
  return {
    nodes,
    nodeLoop,
    serviceLB,
    server,
    async start() {
      log.info(
        { event: 'starting', config: { ...config, serviceLB: config.serviceLB ? { ...config.serviceLB } : 'disabled' }, fieldManager: FIELD_MANAGER },
        `starting ccm (ServiceLB ${serviceLB ? 'hosted' : 'disabled'})`,
      );
      nodes.start();
      nodeLoop.start();
      serviceLB?.start();
      await listenOn(server, config.metricsAddr, log);
    },
    async close() {
      await Promise.all([nodeLoop.close(), serviceLB?.close()]);
      await nodes.stop();
      await nodeEvents.flush();
      await server.close();
    },
  };
}
