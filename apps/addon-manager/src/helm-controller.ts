// The HelmChart loop (K3s's helm-controller, spec §4): claims charts, keeps the finalizer, renders
// the Job objects with the pure core (@portico/addon helm.ts), runs install Jobs when the config
// hash or the release says so, and delete Jobs before a chart goes. Only the leader runs it.

import {
  addFinalizer,
  createKubeMetrics,
  isNotFound,
  ListWatch,
  removeFinalizer,
  Resources,
  stripManagedFields,
  WorkQueue,
  type KubeClient,
  type KubeObject,
  type ObjectKey,
  type ResourceType,
} from '@portico/kube';
import {
  chartDisposition,
  customResourceProblems,
  Helm,
  HelmReason,
  installDecision,
  isSupportedHelmVersion,
  jobCondition,
  jobNames,
  latestRelease,
  renderHelmJob,
  bindingName,
  PorticoAddon,
  type HelmChart,
  type HelmChartConfig,
  type HelmJobObjects,
  type LiveJob,
  type ReleaseRecord,
} from '@portico/addon';
import { DistributionNodeArgs } from '@portico/labels';
import type { Logger } from '@portico/service-kit';
import type { EventSink } from './addon-controller.ts';
import type { CoreConfig } from './config.ts';
import type { AddonMetrics } from './metrics.ts';

export const HelmChartResource: ResourceType = Object.freeze({ group: Helm.group, version: Helm.version, plural: Helm.chartPlural, kind: Helm.chartKind, namespaced: true });
export const HelmChartConfigResource: ResourceType = Object.freeze({ group: Helm.group, version: Helm.version, plural: Helm.configPlural, kind: Helm.configKind, namespaced: true });
export const JobResource: ResourceType = Object.freeze({ group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true });

type Job = KubeObject & LiveJob;
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface HelmControllerOptions {
  readonly client: KubeClient;
  readonly core: CoreConfig;
  readonly log: Logger;
  readonly events: EventSink;
  readonly metrics: AddonMetrics;
  /** auto: off on K3s/RKE2 (their helm-controller runs); true; false. */
  readonly mode: 'auto' | 'true' | 'false';
  readonly kubeMetrics?: ReturnType<typeof createKubeMetrics>;
  /** Re-check every chart this often (a manual `helm rollback` is noticed this way, spec §7.37). @default 60000 */
  readonly resyncMs?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

const PROXY_VARS = ['all_proxy', 'ALL_PROXY', 'http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
const errMsg = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class HelmController {
  readonly #o: HelmControllerOptions;
  #charts!: ListWatch<HelmChart & KubeObject>;
  #configs!: ListWatch<HelmChartConfig & KubeObject>;
  /** HelmChart key -> the problems last reported (one Event and log line per change). */
  readonly #invalidReported = new Map<string, string>();
  #jobs!: ListWatch<Job>;
  #queue!: WorkQueue<string>;
  /** UIDs of charts whose finalizer this term removed: stale cache entries must not restart their delete Job. */
  #finalized = new Set<string>();

  constructor(o: HelmControllerOptions) {
    this.#o = o;
  }

  /** Fresh caches and queue for one term of leadership. */
  #session(): void {
    const o = this.#o;
    const lw = { transform: stripManagedFields, logger: o.log, metrics: o.kubeMetrics?.listWatch };
    this.#finalized = new Set<string>();
    this.#queue = new WorkQueue<string>({ name: 'helmcharts', metrics: o.kubeMetrics?.workQueue });
    this.#charts = new ListWatch(o.client, HelmChartResource, { ...lw, name: 'helmcharts' });
    this.#configs = new ListWatch(o.client, HelmChartConfigResource, { ...lw, name: 'helmchartconfigs' });
    this.#jobs = new ListWatch(o.client, JobResource, { ...lw, name: 'helm-jobs', labelSelector: Helm.chartLabel });
    const queue = this.#queue;
    const enqueue = (ns: string | undefined, name: string | undefined): void => {
      if (ns && name) queue.add(`${ns}/${name}`);
    };
    this.#charts.onChange((e) => enqueue(e.object.metadata?.namespace, e.object.metadata?.name));
    this.#configs.onChange((e) => enqueue(e.object.metadata?.namespace, e.object.metadata?.name));
    this.#jobs.onChange((e) => enqueue(e.object.metadata?.namespace, e.object.metadata?.labels?.[Helm.chartLabel]));
  }

  /** Whether this cluster runs K3s's or RKE2's own helm-controller (a Node carries their node-args annotation). */
  async #k3sCluster(): Promise<boolean> {
    const nodes = await this.#o.client.list<KubeObject>(Resources.Node, { limit: 100 });
    return nodes.items.some((n) => DistributionNodeArgs.some((key) => n.metadata?.annotations?.[key] !== undefined));
  }

  async lead(signal: AbortSignal): Promise<void> {
    const { log, mode } = this.#o;
    if (mode === 'false') {
      log.info({ event: 'helmDisabled' }, 'HelmChart handling is off (--helm-controller=false)');
      return;
    }
    if (mode === 'auto' && (await this.#k3sCluster())) {
      log.warn({ event: 'helmDisabled', reason: 'k3s' }, 'K3s/RKE2 nodes found: their helm-controller handles HelmCharts; this instance claims none (--helm-controller=true overrides)');
      return;
    }
    try {
      await this.#o.client.resource(Helm.apiVersion, Helm.chartKind);
    } catch (err) {
      log.error({ event: 'crdMissing', err }, 'helmcharts.helm.cattle.io is not served: install the CRDs (apps/addon-manager/crds); HelmChart handling is off');
      return;
    }
    this.#session();
    this.#charts.start();
    this.#configs.start();
    this.#jobs.start();
    await Promise.all([this.#charts, this.#configs, this.#jobs].map((l) => l.waitForSync({ signal })));
    log.info({ event: 'helmSynced', charts: this.#charts.size }, 'HelmChart caches synced');
    const resync = setInterval(() => {
      for (const k of this.#charts.keys()) this.#queue.add(k);
    }, this.#o.resyncMs ?? 60_000);
    const stop = (): void => this.#queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    for (const k of this.#charts.keys()) this.#queue.add(k);
    try {
      for (;;) {
        const key = await this.#queue.get();
        if (key === undefined) break;
        if (signal.aborted) {
          // Leadership lost: queued keys are still handed out after shutDown; do not act on them.
          this.#queue.done(key);
          continue;
        }
        try {
          const again = await this.reconcile(key);
          this.#queue.forget(key);
          if (again) this.#queue.addAfter(key, again);
          this.#o.metrics.countHelmReconcile(true);
        } catch (err) {
          this.#o.metrics.countHelmReconcile(false);
          log.warn({ event: 'helmReconcileFailed', chart: key, err }, `HelmChart ${key}: ${errMsg(err)}`);
          this.#queue.addRateLimited(key);
        } finally {
          this.#queue.done(key);
        }
      }
    } finally {
      clearInterval(resync);
      await Promise.all([this.#charts.stop(), this.#configs.stop(), this.#jobs.stop()]);
    }
  }

  #settings(): Parameters<typeof renderHelmJob>[2] {
    const env = this.#o.env ?? process.env;
    const proxyEnv: Record<string, string> = {};
    for (const k of PROXY_VARS) if (env[k]) proxyEnv[k] = env[k]!;
    return { image: this.#o.core.helmJobImage, jobClusterRole: this.#o.core.jobClusterRole, apiserverPort: this.#o.core.apiserverPort, proxyEnv };
  }

  /** One chart. Returns ms after which to look again, or 0. */
  async reconcile(key: string): Promise<number> {
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const { client, log, events, core } = this.#o;
    const chart = this.#charts.get(ns, name);
    if (!chart) return 0;
    const disposition = chartDisposition(chart, core.controllerName);
    if (disposition.action === 'ignore') {
      log.debug({ event: 'chartIgnored', chart: key, why: disposition.why }, `HelmChart ${key} ignored: ${disposition.why}`);
      return 0;
    }
    if (chart.metadata?.deletionTimestamp) return this.#onDelete(chart);
    const config = this.#configs.get(ns, name);
    const invalid = [...customResourceProblems([{ apiVersion: Helm.apiVersion, kind: Helm.chartKind, ...chart }]), ...(config ? customResourceProblems([{ apiVersion: Helm.apiVersion, kind: Helm.configKind, ...config }]) : [])];
    if (invalid.length > 0) {
      // Never acted on: no claim, no Job; a Job of its last valid version stays as it is.
      const message = `${invalid.join('; ')}; no Job is created`;
      if (this.#invalidReported.get(key) !== message) {
        this.#invalidReported.set(key, message);
        events.event(chart as KubeObject, 'Warning', HelmReason.invalid, message);
        log.warn({ event: 'chartInvalid', chart: key, problems: invalid }, `HelmChart ${key}: ${message}`);
      }
      return 0;
    }
    this.#invalidReported.delete(key);
    if (disposition.action === 'claim') {
      await client.patch(HelmChartResource, { namespace: ns, name }, { metadata: { resourceVersion: chart.metadata?.resourceVersion, annotations: { [Helm.managedBy]: core.controllerName } } }, { type: 'merge', fieldManager: PorticoAddon.fieldManager });
      log.info({ event: 'chartClaimed', chart: key }, `claimed HelmChart ${key}`);
      return 0;
    }
    const current = await addFinalizer(client, HelmChartResource, chart as KubeObject, Helm.finalizer, { fieldManager: PorticoAddon.fieldManager });
    if (!isSupportedHelmVersion(chart)) {
      events.event(current, 'Warning', HelmReason.unsupportedVersion, `Unsupported Helm version ${chart.spec?.helmVersion}: only v3 (or empty) is supported`);
      await this.#status(chart, undefined, [
        { type: 'JobCreated', status: 'False', reason: 'Unsupported version', message: `Unsupported Helm version ${chart.spec?.helmVersion}` },
        { type: 'Failed', status: 'True', reason: 'Unsupported version', message: `Unsupported Helm version ${chart.spec?.helmVersion}` },
      ]);
      return 0;
    }
    const release = latestRelease(await this.#releases(chart));
    const objs = renderHelmJob(chart, config, this.#settings(), { kind: 'install', expectedRevision: release?.revision ?? 0, valuesSecretData: await this.#watchedSecrets(chart, config) });
    const names = jobNames(name);
    const live = this.#jobs.get(ns, names.install);
    if (jobCondition(live, 'Failed') && live?.metadata?.annotations?.[Helm.configHash] === `SHA256=${objs.hash}`) {
      events.event(current, 'Warning', HelmReason.jobFailed, `Job ${ns}/${names.install} failed (backoff limit reached); change the HelmChart to retry`);
      await this.#status(chart, names.install, [{ type: 'Failed', status: 'True', reason: 'Job failed', message: `Job ${ns}/${names.install} failed` }]);
      return 0;
    }
    const d = installDecision(live, release, objs.hash);
    if (!d.run) {
      log.debug({ event: 'chartUpToDate', chart: key, why: d.why }, `HelmChart ${key}: ${d.why}`);
      return 0;
    }
    if (d.replace && live) {
      if ((live.status?.active ?? 0) > 0 && !jobCondition(live, 'Complete') && !jobCondition(live, 'Failed')) {
        log.info({ event: 'jobBusy', chart: key }, `HelmChart ${key}: ${d.why}; waiting for the running Job before replacing it`);
        return 2000;
      }
      await client.delete(JobResource, { namespace: ns, name: names.install }, { propagationPolicy: 'Background' }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
      log.info({ event: 'jobReplaced', chart: key, why: d.why }, `HelmChart ${key}: deleted Job ${names.install} (${d.why})`);
      return 500;
    }
    await this.#applyJobObjects(chart, objs, 'install');
    const source = chart.metadata?.annotations?.[Helm.chartUrl] ?? (chart.spec?.chartContent ? 'chartContent' : (chart.spec?.chart ?? ''));
    events.event(current, 'Normal', HelmReason.applyJob, `Applying HelmChart from ${source} using Job ${ns}/${names.install}`);
    await this.#status(chart, names.install, [
      { type: 'JobCreated', status: 'True', reason: 'Job created', message: `Applying HelmChart using Job ${ns}/${names.install}` },
      { type: 'Failed', status: 'False', reason: '', message: '' },
    ]);
    this.#o.metrics.countHelmJob('install');
    log.info({ event: 'jobCreated', chart: key, job: names.install, why: d.why, hash: objs.hash }, `HelmChart ${key}: created Job ${names.install} (${d.why})`);
    return 0;
  }

  async #onDelete(chart: HelmChart & KubeObject): Promise<number> {
    const { client, log, events } = this.#o;
    const ns = chart.metadata!.namespace!;
    const name = chart.metadata!.name!;
    if (!(chart.metadata?.finalizers ?? []).includes(Helm.finalizer) || this.#finalized.has(chart.metadata!.uid!)) return 0;
    const names = jobNames(name);
    const namespace = await client.get<KubeObject & { status?: { phase?: string } }>(Resources.Namespace, { name: ns }).catch(() => undefined);
    if (namespace?.status?.phase === 'Terminating' || !isSupportedHelmVersion(chart)) {
      // Spec B13: a terminating namespace cannot run the delete Job; do not block it.
      log.warn({ event: 'finalizerDropped', chart: `${ns}/${name}` }, `HelmChart ${ns}/${name}: ${isSupportedHelmVersion(chart) ? 'namespace is terminating' : 'unsupported Helm version'}; released without uninstall`);
      await this.#cleanup(chart, names);
      return 0;
    }
    const del = this.#jobs.get(ns, names.delete);
    if (!del) {
      // The cache may lag behind our own finalizer removal: ask the API before starting a delete Job.
      const fresh = await client.get<HelmChart & KubeObject>(HelmChartResource, { namespace: ns, name }).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (!fresh || !(fresh.metadata?.finalizers ?? []).includes(Helm.finalizer)) return 0;
      const release = latestRelease(await this.#releases(chart));
      const objs = renderHelmJob(chart, this.#configs.get(ns, name), this.#settings(), { kind: 'delete', expectedRevision: release?.revision ?? 0 });
      await this.#applyJobObjects(chart, objs, 'delete');
      events.event(chart, 'Normal', HelmReason.removeJob, `Uninstalling HelmChart using Job ${ns}/${names.delete}`);
      await this.#status(chart, names.delete, []).catch(() => undefined);
      this.#o.metrics.countHelmJob('delete');
      return 0;
    }
    if (jobCondition(del, 'Complete')) {
      events.event(chart, 'Normal', HelmReason.removeJob, `Uninstalled HelmChart using Job ${ns}/${names.delete}, removing resources`);
      await this.#cleanup(chart, names);
      log.info({ event: 'chartRemoved', chart: `${ns}/${name}` }, `HelmChart ${ns}/${name} uninstalled`);
      return 0;
    }
    if (jobCondition(del, 'Failed')) events.event(chart, 'Warning', HelmReason.jobFailed, `Job ${ns}/${names.delete} failed; the HelmChart keeps its finalizer`);
    return 0;
  }

  async #cleanup(chart: HelmChart & KubeObject, names: ReturnType<typeof jobNames>): Promise<void> {
    const { client } = this.#o;
    const ns = chart.metadata!.namespace!;
    const gone = async (res: ResourceType, key: ObjectKey): Promise<void> => {
      try {
        await client.delete(res, key, { propagationPolicy: 'Background' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    };
    await gone(JobResource, { namespace: ns, name: names.delete });
    await gone(JobResource, { namespace: ns, name: names.install });
    await gone(Resources.Secret, { namespace: ns, name: names.valuesSecret });
    await gone(Resources.ConfigMap, { namespace: ns, name: names.contentConfigMap });
    await gone(Resources.ServiceAccount, { namespace: ns, name: names.serviceAccount });
    await gone(Resources.ClusterRoleBinding, { name: bindingName(ns, chart.metadata!.name!) });
    await removeFinalizer(client, HelmChartResource, chart as KubeObject, Helm.finalizer, { fieldManager: PorticoAddon.fieldManager });
    this.#finalized.add(chart.metadata!.uid!);
  }

  async #applyJobObjects(chart: HelmChart & KubeObject, objs: HelmJobObjects, kind: 'install' | 'delete'): Promise<void> {
    const owner = { apiVersion: Helm.apiVersion, kind: Helm.chartKind, name: chart.metadata!.name!, uid: chart.metadata!.uid!, controller: false, blockOwnerDeletion: false };
    const owned = (o: Record<string, unknown>): KubeObject => {
      const meta = o['metadata'] as Record<string, unknown>;
      return { ...o, metadata: { ...meta, ownerReferences: [owner] } } as KubeObject;
    };
    const list: KubeObject[] = [];
    if (kind === 'install') list.push(owned(objs.valuesSecret!), owned(objs.contentConfigMap!));
    list.push(owned(objs.serviceAccount), objs.clusterRoleBinding as KubeObject, owned(objs.job));
    for (const o of list) await this.#o.client.apply(o, { fieldManager: PorticoAddon.fieldManager, force: true });
  }

  async #releases(chart: HelmChart): Promise<ReleaseRecord[]> {
    const target = chart.spec?.targetNamespace || chart.metadata!.namespace!;
    const res = chart.spec?.driver === 'configmap' ? Resources.ConfigMap : Resources.Secret;
    const list = await this.#o.client.list<KubeObject>(res, { namespace: target, labelSelector: `owner=helm,name=${chart.metadata!.name!}` });
    return list.items;
  }

  async #watchedSecrets(chart: HelmChart, config: HelmChartConfig | undefined): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    const ns = chart.metadata!.namespace!;
    for (const r of [...(chart.spec?.valuesSecrets ?? []), ...(config?.spec?.valuesSecrets ?? [])]) {
      if (r.ignoreUpdates || !r.name || out.has(r.name)) continue;
      try {
        const s = await this.#o.client.get<KubeObject & { data?: Record<string, string> }>(Resources.Secret, { namespace: ns, name: r.name });
        out.set(r.name, s.data ?? {});
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  async #status(chart: HelmChart, jobName: string | undefined, conditions: Omit<Condition, 'lastTransitionTime'>[]): Promise<void> {
    const prev = chart.status?.conditions ?? [];
    const merged: Condition[] = prev.filter((c) => !conditions.some((n) => n.type === c.type)).map((c) => ({ reason: '', message: '', ...c }));
    for (const c of conditions) {
      const old = prev.find((p) => p.type === c.type) as Condition | undefined;
      merged.push({ ...c, lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now() });
    }
    const status: Record<string, unknown> = { conditions: merged, observedGeneration: chart.metadata?.generation };
    if (jobName) status['jobName'] = jobName;
    await this.#o.client.apply(
      { apiVersion: Helm.apiVersion, kind: Helm.chartKind, metadata: { name: chart.metadata!.name!, namespace: chart.metadata!.namespace! }, status } as KubeObject,
      { fieldManager: PorticoAddon.fieldManager, force: true, subresource: 'status', resource: HelmChartResource },
    );
  }
}
