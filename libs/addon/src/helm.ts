// HelmChart / HelmChartConfig → the objects of a Helm Job (spec §2.4, §2.5, §4): names, values
// Secret, content ConfigMap, ServiceAccount, ClusterRoleBinding, Job, the config hash, `set`
// arguments, which charts are handled, and whether a Job must run. Pure.

import { createHash } from 'node:crypto';
import { Helm } from '@portico/labels';

export { Helm };

export const HelmReason = Object.freeze({
  applyJob: 'ApplyJob',
  removeJob: 'RemoveJob',
  jobFailed: 'JobFailed',
  unsupportedVersion: 'UnsupportedVersion',
  /** Portico addition: the HelmChart (or its HelmChartConfig) fails the CRD's schema; nothing is done with it. */
  invalid: 'InvalidHelmChart',
});

export type FailurePolicy = 'abort' | 'reinstall' | 'retry';

export interface ValuesSecretRef {
  readonly name: string;
  readonly keys?: readonly string[];
  readonly ignoreUpdates?: boolean;
}

export interface HelmChartSpec {
  targetNamespace?: string;
  createNamespace?: boolean;
  chart?: string;
  version?: string;
  repo?: string;
  repoCA?: string;
  repoCAConfigMap?: { name?: string };
  set?: Record<string, string | number | boolean | null>;
  values?: Record<string, unknown>;
  valuesContent?: string;
  valuesSecrets?: ValuesSecretRef[];
  helmVersion?: string;
  bootstrap?: boolean;
  takeOwnership?: boolean;
  serverSide?: string;
  forceConflicts?: boolean;
  chartContent?: string;
  jobImage?: string;
  backOffLimit?: number;
  timeout?: string;
  failurePolicy?: FailurePolicy;
  authSecret?: { name?: string };
  authPassCredentials?: boolean;
  insecureSkipTLSVerify?: boolean;
  plainHTTP?: boolean;
  dockerRegistrySecret?: { name?: string };
  podSecurityContext?: Record<string, unknown>;
  securityContext?: Record<string, unknown>;
  driver?: 'secret' | 'configmap';
}

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

export interface HelmChart {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: HelmChartSpec;
  status?: { jobName?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface HelmChartConfig {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: { values?: Record<string, unknown>; valuesContent?: string; valuesSecrets?: ValuesSecretRef[]; failurePolicy?: FailurePolicy; serverSide?: string; forceConflicts?: boolean };
}

/** Settings of the controller that shape Jobs. */
export interface HelmJobSettings {
  readonly image: string;
  readonly jobClusterRole: string;
  readonly apiserverPort: number;
  /** The controller's proxy variables, passed on when set. */
  readonly proxyEnv?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Record<string, unknown>[];
  readonly resources?: Record<string, unknown>;
}

/** What to do with a chart (spec §4.1). */
export type ChartDisposition = { readonly action: 'ignore'; readonly why: string } | { readonly action: 'claim' } | { readonly action: 'handle' };

export function chartDisposition(chart: HelmChart, managerName: string): ChartDisposition {
  const a = chart.metadata?.annotations ?? {};
  if (Helm.unmanaged in a) return { action: 'ignore', why: `annotated ${Helm.unmanaged}` };
  const owner = a[Helm.managedBy];
  if (owner !== undefined && owner !== managerName) return { action: 'ignore', why: `managed by ${owner}` };
  if (!chart.spec?.chart && !chart.spec?.chartContent) return { action: 'ignore', why: 'neither spec.chart nor spec.chartContent is set' };
  return owner === undefined ? { action: 'claim' } : { action: 'handle' };
}

export function isSupportedHelmVersion(chart: HelmChart): boolean {
  const v = chart.spec?.helmVersion ?? '';
  return v === '' || v === 'v3';
}

export const jobNames = (name: string): { install: string; delete: string; serviceAccount: string; valuesSecret: string; contentConfigMap: string } => ({
  install: `helm-install-${name}`,
  delete: `helm-delete-${name}`,
  serviceAccount: `helm-${name}`,
  valuesSecret: `chart-values-${name}`,
  contentConfigMap: `chart-content-${name}`,
});

export const bindingName = (namespace: string, name: string): string => `helm-${namespace}-${name}`;

/**
 * `set` entries as Helm arguments, keys sorted (spec §4.5, §7.29): integers and true/false/null (any
 * case) with `--set`, anything else with `--set-string`, unescaped commas escaped.
 */
export function setArgs(set: Readonly<Record<string, string | number | boolean | null>> | undefined): string[] {
  const out: string[] = [];
  for (const key of Object.keys(set ?? {}).sort()) {
    const v = set![key];
    const text = v === null ? 'null' : String(v);
    if (typeof v === 'number' ? Number.isInteger(v) : /^-?\d+$/.test(text) || /^(true|false|null)$/i.test(text)) out.push('--set', `${key}=${text}`);
    else out.push('--set-string', `${key}=${text.replace(/(?<!\\),/g, '\\,')}`);
  }
  return out;
}

/** Values files of the /config mount, in Helm's order (spec §4.5). */
export interface ValuesLayout {
  /** Keys of the chart-values Secret and their file names. */
  readonly secretItems: { key: string; path: string }[];
  /** Projections of `valuesSecrets` entries. */
  readonly secretProjections: { name: string; items: { key: string; path: string }[]; optional: boolean }[];
  /** The chart-values Secret's data (plain text). */
  readonly data: Record<string, string>;
}

const pad = (n: number): string => String(n).padStart(3, '0');

function valuesSecretsLayout(prefix: string, who: string, refs: readonly ValuesSecretRef[] | undefined, own: string, start: number): ValuesLayout['secretProjections'] {
  const out: ValuesLayout['secretProjections'] = [];
  let i = start;
  for (const r of refs ?? []) {
    if (!r.name || r.name === own || !r.keys || r.keys.length === 0) continue;
    out.push({ name: r.name, optional: r.ignoreUpdates === true, items: r.keys.map((key) => ({ key, path: `values-${prefix}-${pad(i++)}-${who}-ValuesSecret.yaml` })) });
  }
  return out;
}

/** The values Secret's data and the /config layout for a chart and its optional config. */
export function valuesLayout(chart: HelmChart, config: HelmChartConfig | undefined): ValuesLayout {
  const s = chart.spec ?? {};
  const c = config?.spec ?? {};
  const data: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  const put = (key: string, path: string, value: string | undefined): void => {
    if (value === undefined || value === '') return;
    data[key] = value;
    items.push({ key, path });
  };
  put('HelmChartValuesContent', 'values-0-000-HelmChart-ValuesContent.yaml', s.valuesContent);
  put('HelmChartValues', 'values-0-001-HelmChart-Values.yaml', s.values && Object.keys(s.values).length > 0 ? JSON.stringify(s.values) : undefined);
  put('RepoCA', 'ca-file.pem', s.repoCA);
  put('HelmChartConfigValuesContent', 'values-1-000-HelmChartConfig-ValuesContent.yaml', c.valuesContent);
  put('HelmChartConfigValues', 'values-1-001-HelmChartConfig-Values.yaml', c.values && Object.keys(c.values).length > 0 ? JSON.stringify(c.values) : undefined);
  const own = jobNames(chart.metadata?.name ?? '').valuesSecret;
  return {
    data,
    secretItems: items,
    secretProjections: [...valuesSecretsLayout('0', 'HelmChart', s.valuesSecrets, own, 2), ...valuesSecretsLayout('1', 'HelmChartConfig', c.valuesSecrets, own, 2)],
  };
}

/** The effective failure policy, server-side mode and force flag: defaults, then the chart, then the config. */
export function effectivePolicy(chart: HelmChart, config: HelmChartConfig | undefined): { failurePolicy: FailurePolicy; serverSide: string; forceConflicts: boolean } {
  return {
    failurePolicy: config?.spec?.failurePolicy ?? chart.spec?.failurePolicy ?? 'reinstall',
    serverSide: config?.spec?.serverSide ?? chart.spec?.serverSide ?? 'auto',
    forceConflicts: config?.spec?.forceConflicts ?? chart.spec?.forceConflicts ?? false,
  };
}

const BOOTSTRAP_TOLERATIONS = Object.freeze([
  { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' },
  { key: 'node.cloudprovider.kubernetes.io/uninitialized', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
  { key: 'CriticalAddonsOnly', operator: 'Exists' },
  { key: 'node-role.kubernetes.io/etcd', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
]);

/** The objects of a chart's Job, plus the hash that decides re-runs (spec §4.4). */
export interface HelmJobObjects {
  readonly job: Record<string, unknown> & { metadata: { name: string; namespace: string } };
  readonly valuesSecret?: Record<string, unknown>;
  readonly contentConfigMap?: Record<string, unknown>;
  readonly serviceAccount: Record<string, unknown>;
  readonly clusterRoleBinding: Record<string, unknown>;
  /** Upper-case hex SHA-256. */
  readonly hash: string;
}

/** Data of Secrets named by non-ignoreUpdates valuesSecrets (they feed the hash); absent ones are left out. */
export type ValuesSecretData = ReadonlyMap<string, Readonly<Record<string, string>>>;

/** Canonical JSON: keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as Record<string, unknown>)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The release label value: the hash cut to 63 characters (a label value). */
export const releaseHashLabel = (hash: string): string => hash.slice(0, 63);

/**
 * Renders the install (`kind: 'install'`) or delete Job of a chart. `expectedRevision` is the latest
 * release revision (0 when none); it and CONFIG_HASH are appended after hashing.
 */
export function renderHelmJob(
  chart: HelmChart,
  config: HelmChartConfig | undefined,
  settings: HelmJobSettings,
  opts: { readonly kind: 'install' | 'delete'; readonly expectedRevision: number; readonly valuesSecretData?: ValuesSecretData },
): HelmJobObjects {
  const name = chart.metadata!.name!;
  const namespace = chart.metadata!.namespace!;
  const s = chart.spec ?? {};
  const names = jobNames(name);
  const policy = effectivePolicy(chart, config);
  const target = s.targetNamespace || namespace;
  const chartRef = s.repo && s.chart ? `${name}/${s.chart}` : (s.chart ?? '');
  const args: string[] = [opts.kind];
  if (opts.kind === 'install') {
    if (s.targetNamespace) args.push('--namespace', s.targetNamespace);
    if (s.createNamespace) args.push('--create-namespace');
    if (s.takeOwnership) args.push('--take-ownership');
    if (s.version) args.push('--version', s.version);
    args.push(...setArgs(s.set));
  }
  const env: { name: string; value: string }[] = [
    { name: 'NAME', value: name },
    { name: 'VERSION', value: s.version ?? '' },
    { name: 'REPO', value: s.repo ?? '' },
    { name: 'HELM_DRIVER', value: s.driver ?? 'secret' },
    { name: 'CHART_NAMESPACE', value: namespace },
    { name: 'CHART', value: chartRef },
    { name: 'HELM_VERSION', value: s.helmVersion ?? '' },
    { name: 'TARGET_NAMESPACE', value: target },
    { name: 'AUTH_PASS_CREDENTIALS', value: String(s.authPassCredentials ?? false) },
    { name: 'INSECURE_SKIP_TLS_VERIFY', value: String(s.insecureSkipTLSVerify ?? false) },
    { name: 'PLAIN_HTTP', value: String(s.plainHTTP ?? false) },
    { name: 'FAILURE_POLICY', value: policy.failurePolicy },
    { name: 'SERVER_SIDE', value: policy.serverSide },
    { name: 'FORCE_CONFLICTS', value: String(policy.forceConflicts) },
  ];
  if (s.timeout) env.push({ name: 'TIMEOUT', value: s.timeout });
  for (const k of ['all_proxy', 'ALL_PROXY', 'http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']) {
    const v = settings.proxyEnv?.[k];
    if (v) env.push({ name: k, value: v });
  }
  if (s.bootstrap) env.push({ name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: String(settings.apiserverPort) }, { name: 'BOOTSTRAP', value: 'true' });

  const layout = valuesLayout(chart, config);
  const volumes: Record<string, unknown>[] = [];
  const mounts: Record<string, unknown>[] = [];
  const emptyDir = (vol: string, path: string): void => {
    volumes.push({ name: vol, emptyDir: { medium: 'Memory' } });
    mounts.push({ name: vol, mountPath: path });
  };
  emptyDir('klipper-helm', '/home/klipper-helm/.helm');
  emptyDir('klipper-cache', '/home/klipper-helm/.cache');
  emptyDir('klipper-config', '/home/klipper-helm/.config');
  emptyDir('tmp', '/tmp');
  if (opts.kind === 'install') {
    volumes.push({
      name: 'values',
      projected: {
        sources: [
          { secret: { name: names.valuesSecret, items: layout.secretItems } },
          ...layout.secretProjections.map((p) => ({ secret: { name: p.name, items: p.items, ...(p.optional ? { optional: true } : {}) } })),
        ],
      },
    });
    mounts.push({ name: 'values', mountPath: '/config' });
    volumes.push({ name: 'content', configMap: { name: names.contentConfigMap } });
    mounts.push({ name: 'content', mountPath: '/chart' });
  }
  if (s.authSecret?.name) {
    volumes.push({ name: 'auth', secret: { secretName: s.authSecret.name } });
    mounts.push({ name: 'auth', mountPath: '/auth' });
  }
  if (s.repoCAConfigMap?.name) {
    volumes.push({ name: 'ca-files', configMap: { name: s.repoCAConfigMap.name } });
    mounts.push({ name: 'ca-files', mountPath: '/ca-files' });
  }
  if (s.dockerRegistrySecret?.name) {
    volumes.push({ name: 'docker-config', secret: { secretName: s.dockerRegistrySecret.name, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } });
    mounts.push({ name: 'docker-config', mountPath: '/home/klipper-helm/.docker' });
  }
  const podSecurityContext = s.podSecurityContext ?? { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
  const securityContext = s.securityContext ?? { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true };
  const tolerations: Record<string, unknown>[] = [...(s.bootstrap ? BOOTSTRAP_TOLERATIONS : []), ...(settings.tolerations ?? [])];
  const podSpec: Record<string, unknown> = {
    serviceAccountName: names.serviceAccount,
    restartPolicy: 'OnFailure',
    priorityClassName: 'system-cluster-critical',
    nodeSelector: s.bootstrap ? { 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/control-plane': 'true' } : { 'kubernetes.io/os': 'linux' },
    securityContext: podSecurityContext,
    containers: [
      {
        name: 'helm',
        image: s.jobImage || settings.image,
        imagePullPolicy: 'IfNotPresent',
        args,
        env,
        volumeMounts: mounts,
        securityContext,
        ...(settings.resources ? { resources: settings.resources } : {}),
      },
    ],
    volumes,
  };
  if (s.bootstrap) podSpec['hostNetwork'] = true;
  if (tolerations.length > 0) podSpec['tolerations'] = tolerations;
  const backoffLimit = s.backOffLimit ?? Helm.defaultBackoffLimit;
  const labels = { [Helm.chartLabel]: name };

  const valuesSecret =
    opts.kind === 'install'
      ? {
          apiVersion: 'v1',
          kind: 'Secret',
          type: Helm.valuesSecretType,
          metadata: { name: names.valuesSecret, namespace, labels },
          data: Object.fromEntries(Object.entries(layout.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
        }
      : undefined;
  const contentConfigMap =
    opts.kind === 'install' ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: names.contentConfigMap, namespace, labels }, data: { [`${name}.tgz.base64`]: s.chartContent ?? '' } } : undefined;

  const watched: Record<string, Readonly<Record<string, string>>> = {};
  for (const r of [...(s.valuesSecrets ?? []), ...(config?.spec?.valuesSecrets ?? [])]) {
    if (r.ignoreUpdates || !r.name) continue;
    const d = opts.valuesSecretData?.get(r.name);
    if (d) watched[r.name] = d;
  }
  const redeploy = chart.metadata?.annotations?.[Helm.redeployAnnotation];
  const hash = createHash('sha256')
    .update(canonicalJson({ backoffLimit, podSpec, labels, values: valuesSecret?.data ?? {}, content: contentConfigMap?.data ?? {}, watched, redeploy: redeploy ?? null }))
    .digest('hex')
    .toUpperCase();
  const finalEnv = [...env, { name: 'EXPECTED_RELEASE_REVISION', value: String(opts.expectedRevision) }, { name: 'CONFIG_HASH', value: releaseHashLabel(hash) }];
  const containers = podSpec['containers'] as Record<string, unknown>[];
  const finalPodSpec = { ...podSpec, containers: [{ ...containers[0], env: finalEnv }] };
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: opts.kind === 'install' ? names.install : names.delete, namespace, labels, annotations: { [Helm.configHash]: `SHA256=${hash}` } },
    spec: {
      backoffLimit,
      template: { metadata: { labels, annotations: { [Helm.configHash]: `SHA256=${hash}` } }, spec: finalPodSpec },
    },
  };
  return {
    job,
    valuesSecret,
    contentConfigMap,
    serviceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: names.serviceAccount, namespace, labels }, automountServiceAccountToken: true },
    clusterRoleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: bindingName(namespace, name), labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: settings.jobClusterRole },
      subjects: [{ kind: 'ServiceAccount', name: names.serviceAccount, namespace }],
    },
    hash,
  };
}

/** A Helm release record (Secret or ConfigMap with labels owner=helm, name, version, status). */
export interface ReleaseRecord {
  readonly metadata?: { labels?: Record<string, string> };
}

export interface ReleaseState {
  readonly revision: number;
  readonly status: string;
  /** `helmcharts.helm.cattle.io/configHash` label of the release, if any. */
  readonly hash: string | undefined;
}

/** The latest release (highest `version` label) of the records, or undefined. */
export function latestRelease(records: readonly ReleaseRecord[]): ReleaseState | undefined {
  let best: ReleaseState | undefined;
  for (const r of records) {
    const l = r.metadata?.labels ?? {};
    const revision = Number(l['version']);
    if (!Number.isInteger(revision)) continue;
    if (!best || revision > best.revision) best = { revision, status: l['status'] ?? 'unknown', hash: l[Helm.configHash] };
  }
  return best;
}

export interface LiveJob {
  readonly metadata?: { annotations?: Record<string, string>; deletionTimestamp?: string };
  readonly status?: { active?: number; conditions?: { type: string; status: string }[] };
}

export const jobCondition = (job: LiveJob | undefined, type: string): boolean => job?.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/**
 * Whether the install Job must be (re)applied (spec §4.2 step 6): not when the Job with this hash
 * completed and the release is deployed with this hash; not while a Job with this hash still runs;
 * otherwise yes. `replace` says an existing Job must be deleted first.
 */
export function installDecision(job: LiveJob | undefined, release: ReleaseState | undefined, hash: string): { readonly run: boolean; readonly replace: boolean; readonly why: string } {
  const jobHash = job?.metadata?.annotations?.[Helm.configHash];
  const same = jobHash === `SHA256=${hash}`;
  const releaseOk = release?.status === 'deployed' && release.hash === releaseHashLabel(hash);
  if (!job) return releaseOk ? { run: false, replace: false, why: 'release deployed with this config' } : { run: true, replace: false, why: 'no Job' };
  if (job.metadata?.deletionTimestamp) return { run: false, replace: false, why: 'previous Job is being deleted' };
  const complete = jobCondition(job, 'Complete');
  const failed = jobCondition(job, 'Failed');
  if (same && releaseOk) return { run: false, replace: false, why: 'release deployed with this config' };
  if (same && !complete && !failed) return { run: false, replace: false, why: 'Job with this config is running' };
  if (same && failed) return { run: false, replace: false, why: 'Job failed (backoff limit reached); change the chart to retry' };
  return { run: true, replace: true, why: same ? `release is ${release ? `${release.status} with another config` : 'missing'}` : 'config changed' };
}
