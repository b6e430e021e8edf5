// Flags of addon-manager and their translation into a frozen, validated config (STYLE rule 10).
// Every flag has a PORTICO_* environment equivalent; problems are reported all at once (exit 2).

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { disableSet, K3S_TEMPLATE_DEFAULTS, templateSettingsProblems, type NamingRule, type TemplateSettings } from '@portico/addon';
import { commonRunFlags, fieldName, VERSION, type FlagSpec, type FlagValues, type Issue, type LogLevel } from '@portico/service-kit';
import { checkLeaseName, leaderConfigFrom, leaderElectionFlags, nodeNameFlag, type ConfigResult } from '@portico/service-kit/controller';

export { VERSION };

/** Image of the HelmChart Jobs: helm + apps/addon-manager/job/entry.sh (built by the images issue). */
export const DEFAULT_HELM_JOB_IMAGE = `ghcr.io/portico/helm-job:${VERSION}`;
export const DEFAULT_METRICS_ADDR = ':10262';
export const DEFAULT_LEASE_NAME = 'portico-addon-manager';
/** Namespace of the Lease when neither --leader-elect-namespace nor $POD_NAMESPACE is set. */
const LEASE_NAMESPACE_FALLBACK = 'kube-system';
const leaseNameFlag: FlagSpec = { name: 'lease-name', type: 'string', env: 'PORTICO_LEASE_NAME', default: DEFAULT_LEASE_NAME, description: 'Name of the leader-election Lease' };
/** `helmcharts.cattle.io/managed-by` value; K3s's own controller uses `helm-controller`. */
export const DEFAULT_CONTROLLER_NAME = 'portico-addon-manager';
/** ClusterRole bound to each HelmChart Job ServiceAccount (K3s: cluster-admin; docs/addon-manager.md says why). */
export const DEFAULT_JOB_CLUSTER_ROLE = 'cluster-admin';

/** Flags that shape what is applied: shared by `run` and `render`. */
export const coreFlags: readonly FlagSpec[] = [
  { name: 'manifests-dir', type: 'string', env: 'PORTICO_MANIFESTS_DIR', required: true, description: 'Directory of manifests (K3s /var/lib/rancher/k3s/server/manifests); subdirectories are read too' },
  { name: 'disable', type: 'list', repeatable: true, env: 'PORTICO_DISABLE', default: [], description: 'Do not deploy these packaged components and delete what they deployed (comma list, repeatable; K3s names: coredns, traefik, local-storage, metrics-server; any manifest name or directory)' },
  { name: 'stage-packaged', type: 'bool', env: 'PORTICO_STAGE_PACKAGED', default: true, description: 'Render the packaged components into --manifests-dir at start (K3s staging)' },
  { name: 'cluster-dns', type: 'list', env: 'PORTICO_CLUSTER_DNS', default: K3S_TEMPLATE_DEFAULTS.clusterDns, description: 'Cluster DNS Service IP(s), one per family (%{CLUSTER_DNS}%)' },
  { name: 'cluster-domain', type: 'string', env: 'PORTICO_CLUSTER_DOMAIN', default: K3S_TEMPLATE_DEFAULTS.clusterDomain, description: 'Cluster domain (%{CLUSTER_DOMAIN}%)' },
  { name: 'system-default-registry', type: 'string', env: 'PORTICO_SYSTEM_DEFAULT_REGISTRY', default: '', description: 'Registry prefixed to packaged component images (%{SYSTEM_DEFAULT_REGISTRY}%)' },
  { name: 'default-local-storage-path', type: 'string', env: 'PORTICO_DEFAULT_LOCAL_STORAGE_PATH', default: K3S_TEMPLATE_DEFAULTS.defaultLocalStoragePath, description: 'Host path of local-path volumes (%{DEFAULT_LOCAL_STORAGE_PATH}%)' },
  { name: 'preferred-address-types', type: 'list', env: 'PORTICO_PREFERRED_ADDRESS_TYPES', default: K3S_TEMPLATE_DEFAULTS.preferredAddressTypes, description: 'Node address types metrics-server uses, in order (%{PREFERRED_ADDRESS_TYPES}%)' },
  { name: 'traefik-chart-repo', type: 'string', env: 'PORTICO_TRAEFIK_CHART_REPO', default: K3S_TEMPLATE_DEFAULTS.traefikChartRepo, description: 'Chart repository of the packaged Traefik HelmCharts (K3s serves them from /static/; %{TRAEFIK_CHART_REPO}%)' },
  { name: 'addon-naming', type: 'string', env: 'PORTICO_ADDON_NAMING', default: 'k3s', choices: ['k3s', 'path'], description: 'Addon names: k3s = file name up to the first dot (compatible with K3s-created objects); path = relative path' },
  { name: 'helm-job-image', type: 'string', env: 'PORTICO_HELM_JOB_IMAGE', default: DEFAULT_HELM_JOB_IMAGE, description: 'Image of HelmChart Jobs (helm + the klipper-helm-compatible entry script); HelmChart spec.jobImage overrides it' },
  { name: 'job-cluster-role', type: 'string', env: 'PORTICO_JOB_CLUSTER_ROLE', default: DEFAULT_JOB_CLUSTER_ROLE, description: 'ClusterRole bound to each HelmChart Job ServiceAccount (K3s: cluster-admin)' },
  { name: 'controller-name', type: 'string', env: 'PORTICO_CONTROLLER_NAME', default: DEFAULT_CONTROLLER_NAME, description: 'helmcharts.cattle.io/managed-by value this instance claims HelmCharts with' },
  { name: 'apiserver-port', type: 'int', env: 'PORTICO_APISERVER_PORT', default: 6443, description: 'Port of the apiserver on control-plane nodes, for bootstrap charts (KUBERNETES_SERVICE_PORT)' },
];

const runOnlyFlags: readonly FlagSpec[] = [
  { name: 'poll-interval', type: 'duration', env: 'PORTICO_POLL_INTERVAL', description: 'Pause between directory passes (K3s: 15s) (default 15s)' },
  { name: 'on-source-removed', type: 'string', env: 'PORTICO_ON_SOURCE_REMOVED', default: 'prune', choices: ['prune', 'orphan'], description: 'A manifest file vanished: prune its objects and Addon after the grace period, or orphan them (K3s)' },
  { name: 'source-removed-grace-period', type: 'duration', env: 'PORTICO_SOURCE_REMOVED_GRACE_PERIOD', description: 'How long a vanished file is waited for before pruning (default 60s)' },
  { name: 'force-user-manifests', type: 'bool', env: 'PORTICO_FORCE_USER_MANIFESTS', default: false, description: 'Take over fields other managers own in user manifests (packaged ones always do); false reports conflicts as ApplyManifestFailed' },
  { name: 'helm-controller', type: 'string', env: 'PORTICO_HELM_CONTROLLER', default: 'auto', choices: ['auto', 'true', 'false'], description: 'Handle HelmCharts; auto = off on a K3s/RKE2 cluster (a Node carries k3s.io/node-args or rke2.io/node-args), whose own helm-controller does it' },
  { name: 'helm-resync-period', type: 'duration', env: 'PORTICO_HELM_RESYNC_PERIOD', description: 'Re-check every HelmChart against its release this often (catches a manual helm rollback) (default 60s)' },
  ...leaderElectionFlags(LEASE_NAMESPACE_FALLBACK).map((f) => (f.name === 'leader-elect' ? { ...f, description: `${f.description} (both loops)` } : f)),
  leaseNameFlag,
  nodeNameFlag,
];

export const runFlags: readonly FlagSpec[] = [...commonRunFlags({ metricsAddr: DEFAULT_METRICS_ADDR }), ...coreFlags, ...runOnlyFlags];

export const renderFlags: readonly FlagSpec[] = [
  { name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot of the cluster (YAML or JSON: v1 List, multi-document stream or kubectl get -o yaml; - for stdin): Addons, live members, HelmChartConfigs, CRDs' },
  ...coreFlags.map((f) => (f.name === 'stage-packaged' ? { ...f, description: 'Include the packaged components as if staged' } : f)),
];

/** Settings that shape the desired state, shared by run and render. */
export interface CoreConfig {
  readonly manifestsDir: string;
  readonly disables: ReadonlySet<string>;
  readonly stagePackaged: boolean;
  readonly template: TemplateSettings;
  readonly naming: NamingRule;
  readonly helmJobImage: string;
  readonly jobClusterRole: string;
  readonly controllerName: string;
  readonly apiserverPort: number;
}

export interface RunConfig {
  readonly core: CoreConfig;
  readonly kubeconfig: string | undefined;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  readonly pollIntervalMs: number;
  readonly onSourceRemoved: 'prune' | 'orphan';
  readonly sourceRemovedGraceMs: number;
  readonly forceUserManifests: boolean;
  readonly helmController: 'auto' | 'true' | 'false';
  readonly helmResyncMs: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly nodeName: string | undefined;
}

export type { ConfigResult };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TEMPLATE_FLAG: Record<keyof TemplateSettings, string> = {
  clusterDns: 'cluster-dns',
  clusterDomain: 'cluster-domain',
  systemDefaultRegistry: 'system-default-registry',
  defaultLocalStoragePath: 'default-local-storage-path',
  preferredAddressTypes: 'preferred-address-types',
  traefikChartRepo: 'traefik-chart-repo',
};

function issueFor(specs: readonly FlagSpec[]): { issues: Issue[]; add(flag: string, value: string, reason: string): void } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const issues: Issue[] = [];
  return {
    issues,
    add(flag, value, reason) {
      const spec = byName.get(flag);
      issues.push({ field: spec ? fieldName(spec) : `--${flag}`, value, reason });
    },
  };
}

export function coreConfigFrom(values: FlagValues): ConfigResult<CoreConfig> {
  const { issues, add } = issueFor(coreFlags);
  const manifestsDir = String(values['manifests-dir'] ?? '');
  if (!manifestsDir.startsWith('/')) add('manifests-dir', manifestsDir, 'must be an absolute path');
  const template: TemplateSettings = Object.freeze({
    clusterDns: Object.freeze([...((values['cluster-dns'] as readonly string[] | undefined) ?? [])]),
    clusterDomain: String(values['cluster-domain']),
    systemDefaultRegistry: String(values['system-default-registry'] ?? ''),
    defaultLocalStoragePath: String(values['default-local-storage-path']),
    preferredAddressTypes: Object.freeze([...((values['preferred-address-types'] as readonly string[] | undefined) ?? [])]),
    traefikChartRepo: String(values['traefik-chart-repo']),
  });
  for (const p of templateSettingsProblems(template)) add(TEMPLATE_FLAG[p.field], p.value, p.reason);
  const disables = disableSet((values['disable'] as readonly string[] | undefined) ?? []);
  for (const d of disables) {
    if (d.startsWith('/') || d.split('/').includes('..')) add('disable', d, 'must be a name or a path relative to --manifests-dir');
  }
  const helmJobImage = String(values['helm-job-image']);
  if (helmJobImage.trim() === '' || /\s/.test(helmJobImage)) add('helm-job-image', helmJobImage, 'must be an image reference');
  const jobClusterRole = String(values['job-cluster-role']);
  if (!DNS_SUBDOMAIN.test(jobClusterRole.replace(/:/g, '-'))) add('job-cluster-role', jobClusterRole, 'must be a ClusterRole name');
  const controllerName = String(values['controller-name']);
  if (controllerName.trim() === '' || controllerName.length > 63) add('controller-name', controllerName, 'must be 1 to 63 characters');
  const apiserverPort = values['apiserver-port'] as number;
  if (!(apiserverPort >= 1 && apiserverPort <= 65535)) add('apiserver-port', String(apiserverPort), 'must be a port between 1 and 65535');
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      manifestsDir: manifestsDir.replace(/\/+$/, '') || '/',
      disables,
      stagePackaged: values['stage-packaged'] === true,
      template,
      naming: values['addon-naming'] as NamingRule,
      helmJobImage,
      jobClusterRole,
      controllerName,
      apiserverPort,
    }),
  };
}

export function runConfigFrom(values: FlagValues, env: Readonly<Record<string, string | undefined>>): ConfigResult<RunConfig> {
  const { issues, add } = issueFor(runFlags);
  const core = coreConfigFrom(values);
  if (!core.ok) issues.push(...core.issues);
  const leader = leaderConfigFrom(values, env, LEASE_NAMESPACE_FALLBACK, () => `${hostname()}_${randomBytes(4).toString('hex')}`, issues);
  const leaseName = String(values['lease-name']);
  checkLeaseName(leaseNameFlag, leaseName, issues);
  const pollIntervalMs = (values['poll-interval'] as number | undefined) ?? 15_000;
  if (pollIntervalMs < 100) add('poll-interval', `${pollIntervalMs}ms`, 'must be at least 100ms');
  const sourceRemovedGraceMs = (values['source-removed-grace-period'] as number | undefined) ?? 60_000;
  if (issues.length > 0 || !core.ok) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      core: core.config,
      kubeconfig: (values['kubeconfig'] as string | undefined) || undefined,
      metricsAddr: String(values['metrics-addr']),
      logLevel: values['log-level'] as LogLevel,
      pollIntervalMs,
      onSourceRemoved: values['on-source-removed'] as 'prune' | 'orphan',
      sourceRemovedGraceMs,
      forceUserManifests: values['force-user-manifests'] === true,
      helmController: values['helm-controller'] as 'auto' | 'true' | 'false',
      helmResyncMs: (values['helm-resync-period'] as number | undefined) ?? 60_000,
      ...leader,
      leaseName,
      nodeName: (values['node-name'] as string | undefined) || undefined,
    }),
  };
}
