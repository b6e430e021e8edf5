// createApp: the addon-manager process as a factory with start() and close() (STYLE rule 9).
//
// Start-up (every replica, as K3s stages before leader election): render the packaged templates
// into --manifests-dir. Then every replica serves /healthz, /readyz and /metrics and campaigns
// for one Lease; the holder runs both loops (Addon passes and HelmCharts), a standby waits.

import { EventRecorder, LeaderElector, createKubeMetrics, type KubeClient } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { AddonApi, stagePlan } from '@portico/addon';
import { buildHealthServer, listenOn, type Logger, type Registry } from '@portico/service-kit';
import { AddonController, type EventSink } from './addon-controller.ts';
import type { RunConfig } from './config.ts';
import { writeStaged } from './fswalk.ts';
import { HelmController } from './helm-controller.ts';
import { createAddonMetrics } from './metrics.ts';
import { PACKAGED_TEMPLATES } from './packaged.generated.ts';

export interface AppDeps {
  readonly config: RunConfig;
  readonly log: Logger;
  readonly client: KubeClient;
  readonly registry: Registry;
  readonly events?: EventSink;
  readonly clock?: Clock;
}

export interface App {
  readonly addons: AddonController;
  readonly server: ReturnType<typeof buildHealthServer>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { config, log, client, registry } = deps;
  const metrics = createAddonMetrics(registry);
  const kubeMetrics = createKubeMetrics(registry);
  const events: EventSink =
    deps.events ??
    new EventRecorder({ client, component: AddonApi.eventComponent, host: config.nodeName, instance: config.identity, clock: deps.clock, logger: log, metrics: kubeMetrics.events });
  const staged = config.core.stagePackaged ? stagePlan(PACKAGED_TEMPLATES, config.core.template, config.core.disables) : { write: [], skipped: [] };
  const addons = new AddonController({
    client,
    core: config.core,
    log: log.child({ loop: 'addon' }),
    events,
    metrics,
    pollIntervalMs: config.pollIntervalMs,
    onSourceRemoved: config.onSourceRemoved,
    sourceRemovedGraceMs: config.sourceRemovedGraceMs,
    forceUserManifests: config.forceUserManifests,
    packagedPaths: new Set(staged.write.map((f) => f.relPath)),
    clock: deps.clock,
  });
  const helm = new HelmController({ client, core: config.core, log: log.child({ loop: 'helm' }), events, metrics, mode: config.helmController, kubeMetrics, resyncMs: config.helmResyncMs });
  let started = false;
  const server = buildHealthServer({ registry, readiness: () => (started ? { ready: true } : { ready: false, reason: 'starting' }), log });

  let leading: Promise<unknown> = Promise.resolve();
  let stopWork: AbortController | undefined;
  const lead = (signal: AbortSignal): void => {
    metrics.setLeader(true);
    signal.addEventListener('abort', () => metrics.setLeader(false), { once: true });
    leading = Promise.all([
      addons.lead(signal).catch((err: unknown) => log.error({ op: 'addon-loop', err }, 'Addon loop failed')),
      helm.lead(signal).catch((err: unknown) => log.error({ op: 'helm-loop', err }, 'HelmChart loop failed')),
    ]);
  };
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
        onStartedLeading: lead,
        onStoppedLeading: () => leading.then(() => undefined),
      })
    : undefined;
  let campaign: Promise<void> | undefined;
  let closing = false;

  return {
    addons,
    server,
    async start() {
      log.info({ event: 'starting', config: { ...config, core: { ...config.core, disables: [...config.core.disables] } } }, 'starting addon-manager');
      if (staged.write.length > 0 || staged.skipped.length > 0) {
        await writeStaged(config.core.manifestsDir, staged.write);
        log.info({ event: 'staged', written: staged.write.map((f) => f.relPath), skipped: staged.skipped }, `staged ${staged.write.length} packaged manifests`);
      }
      await listenOn(server, config.metricsAddr, log);
      started = true;
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
        lead(stopWork.signal);
      }
    },
    async close() {
      closing = true;
      if (elector) {
        await elector.stop();
        await campaign;
      } else stopWork?.abort(new Error('shutting down'));
      await leading;
      await events.flush();
      await server.close();
    },
  };
}
