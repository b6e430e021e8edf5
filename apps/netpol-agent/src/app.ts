import { EventRecorder, ListWatch, Resources, createKubeMetrics, type ChangeEvent, type KubeClient, type KubeObject } from '@portico/kube';
import { buildHealthServer, createRegistry, listenOn, type Logger, type Readiness, type Registry } from '@portico/service-kit';
import type { NetpolSnapshot, Problem } from '@portico/netpol';
import type { FastifyInstance } from 'fastify';
import { netpolConfig, resolveFamilies, type RunConfig } from './config.ts';
import type { Kernel } from '@portico/iptables/adapter';
import { createAgentMetrics, type AgentMetrics } from './metrics.ts';
import { BoundedRunner, type Clock, type RunOutcome, type RunReason } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { logProblems, Syncer, type SyncResult } from './sync.ts';
import { namespaceEventMatters, nodeEventMatters, podEventMatters, slimNamespace, slimNode, slimPod, slimPolicy } from './watch-filters.ts';
import { nodeAddresses, toNetpolSnapshot } from './snapshot.ts';

/**
 * The long-running agent (`run`): four list-watch caches (all Pods, Namespaces, NetworkPolicies,
 * this Node) feed one {@link BoundedRunner}; every sync renders the whole snapshot and lets the
 * {@link Syncer} write only what changed. Watch handlers only request a sync (STYLE rule 7).
 *
 * Readiness: ready after the first successful sync (the node enforces policy from then on), not
 * ready again while the last sync failed. Liveness: the sync loop has run recently (a stuck sync,
 * the kube-router#945 failure mode, turns the pod unhealthy instead of silently enforcing stale
 * rules).
 */

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

export interface AppDeps {
  readonly config: RunConfig;
  readonly log: Logger;
  readonly client: KubeClient;
  readonly kernel: Kernel;
  readonly version: string;
  /** @default realClock */
  readonly clock?: Clock;
  /** @default a new registry */
  readonly registry?: Registry;
  /** Called after every sync (tests). */
  readonly onSync?: (r: SyncResult) => void;
}

export interface App {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly server: FastifyInstance;
  readonly registry: Registry;
  readonly metrics: AgentMetrics;
  readiness(): Readiness;
}

export function createApp(deps: AppDeps): App {
  const { config, log, client } = deps;
  const clock = deps.clock ?? realClock;
  const registry = deps.registry ?? createRegistry('netpol-agent', deps.version);
  const metrics = createAgentMetrics(registry, deps.version);
  const kubeMetrics = createKubeMetrics(registry);
  const events = new EventRecorder({ client, component: 'portico-netpol-agent', host: config.nodeName, logger: log });
  // Problems are logged when they change; an invalid NetworkPolicy also gets a Warning Event (reason
  // InvalidNetworkPolicy, the field, the value and what is enforced instead: its last valid version,
  // or its fail-closed isolation form). Every node's agent reports it (source.host tells them apart).
  const onProblems = (problems: readonly Problem[]): void => {
    logProblems(log, problems);
    for (const p of problems) {
      if (p.object?.kind !== 'NetworkPolicy' || !p.object.name) continue;
      const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: p.object.namespace ?? 'default', name: p.object.name };
      events.event(ref, 'Warning', p.reason, `${p.field}: ${JSON.stringify(p.value)}: ${p.message}`);
    }
  };
  const syncer = new Syncer({ kernel: deps.kernel, log, metrics, onProblems });
  deps.kernel.observe(metrics.kernelObserver);

  const lw = <T extends Obj>(res: (typeof Resources)[keyof typeof Resources], transform: (o: T) => T, extra: { fieldSelector?: string; name: string }) =>
    new ListWatch<T>(client, res, { transform, logger: log, metrics: kubeMetrics.listWatch, name: extra.name, ...(extra.fieldSelector ? { fieldSelector: extra.fieldSelector } : {}) });
  const pods = lw<Obj>(Resources.Pod, slimPod, { name: 'pods' });
  const namespaces = lw<Obj>(Resources.Namespace, slimNamespace, { name: 'namespaces' });
  const policies = lw<Obj>(Resources.NetworkPolicy, slimPolicy, { name: 'networkpolicies' });
  const nodes = lw<Obj>(Resources.Node, slimNode, { name: 'node', fieldSelector: `metadata.name=${config.nodeName}` });
  const caches = [pods, namespaces, policies, nodes];

  let firstSyncDone = false;
  let lastOutcome: SyncResult['outcome'] | undefined;
  let lastRunEnd = clock.now();
  /** When the kernel was last read in full (every set member); the verification timer runs from it. */
  let lastFullRead = -Infinity;

  const snapshot = (): NetpolSnapshot =>
    toNetpolSnapshot({ Pod: pods.list(), Namespace: namespaces.list(), NetworkPolicy: policies.list(), Node: nodes.list() });

  const run = async (reason: RunReason): Promise<RunOutcome> => {
    const snap = snapshot();
    for (const c of caches) metrics.cacheObjects.labels(c.name).set(c.size);
    const families = resolveFamilies(config, nodeAddresses(snap, config.nodeName));
    // Event-driven syncs plan against the model; the periodic resync checks the rules and the set
    // sizes, and reads every set member once --verify-period has passed since the last full read
    // (the first sync always reads everything).
    const verifyDue = clock.now() - lastFullRead >= config.verifyPeriodMs;
    const read = reason === 'initial' || (reason === 'periodic' && verifyDue) ? 'full' : reason === 'periodic' ? 'check' : 'model';
    const r = await syncer.sync(snap, netpolConfig(config, families), { read });
    if (r.reread) lastFullRead = clock.now();
    lastRunEnd = clock.now();
    lastOutcome = r.outcome;
    if (r.outcome !== 'failed') firstSyncDone = true;
    const level = r.outcome === 'failed' ? 'error' : r.outcome === 'applied' || r.drift ? 'info' : 'debug';
    log[level](
      {
        event: 'sync',
        reason,
        outcome: r.outcome,
        drift: r.drift,
        writes: r.writes,
        bytes: r.bytes,
        read: r.read,
        ms: Math.round(r.durationMs.total * 10) / 10,
        pods: pods.size,
        policies: policies.size,
        ...(r.error ? { err: r.error, phase: r.failedPhase } : {}),
      },
      r.drift ? 'sync repaired drift in the kernel' : 'sync done',
    );
    deps.onSync?.(r);
    return r.outcome === 'failed' ? 'retry' : 'ok';
  };

  const runner = new BoundedRunner({
    run,
    clock,
    minIntervalMs: config.minSyncIntervalMs,
    retryIntervalMs: config.retryIntervalMs,
    maxIntervalMs: config.resyncPeriodMs,
    onError: (err) => log.error({ err, op: 'sync', bug: true }, 'sync threw'),
  });

  const request = (): void => runner.request();
  pods.onChange((ev: ChangeEvent<Obj>) => podEventMatters(ev) && request());
  namespaces.onChange((ev: ChangeEvent<Obj>) => namespaceEventMatters(ev) && request());
  policies.onChange(() => request());
  nodes.onChange((ev: ChangeEvent<Obj>) => nodeEventMatters(ev) && request());

  const readiness = (): Readiness => {
    if (!caches.every((c) => c.hasSynced())) return { ready: false, reason: `waiting for caches: ${caches.filter((c) => !c.hasSynced()).map((c) => c.name).join(', ')}` };
    if (!firstSyncDone) return { ready: false, reason: 'first sync not done yet' };
    if (lastOutcome === 'failed') return { ready: false, reason: 'last sync failed (see logs and portico_netpol_sync_failures_total)' };
    return { ready: true };
  };
  // A loop that has not finished a run for three resync periods (and at least 15 minutes) is stuck.
  const stuckAfterMs = Math.max(3 * config.resyncPeriodMs, 15 * 60_000);
  const liveness = (): boolean => !firstSyncDone || runner.busy === false || clock.now() - lastRunEnd < stuckAfterMs;
  const server = buildHealthServer({ registry, readiness, liveness, log });

  return {
    server,
    registry,
    metrics,
    readiness,
    async start() {
      log.info({ event: 'starting', config: { ...config, kubeconfig: config.kubeconfig ? '(set)' : undefined }, server: client.server, backend: deps.kernel.tools.backend }, 'netpol-agent starting');
      // Serving first: /healthz answers (and /readyz says why not ready) while the caches list.
      await listenOn(server, config.metricsAddr, log);
      for (const c of caches) c.start();
      // The node object is needed for families (auto) and pod CIDRs (default-deny); wait for all
      // caches before the first sync so that it never programs a partial view.
      await Promise.all(caches.map((c) => c.waitForSync()));
      if (nodes.size === 0) log.warn({ event: 'nodeNotFound', node: config.nodeName }, 'node object not found; pod CIDRs and address families fall back to flags/defaults');
      log.info({ event: 'cachesSynced', pods: pods.size, namespaces: namespaces.size, policies: policies.size }, 'caches synced; first sync');
      runner.start();
    },
    async close() {
      await runner.stop();
      await events.flush();
      await Promise.all(caches.map((c) => c.stop()));
      await server.close();
    },
  };
}
