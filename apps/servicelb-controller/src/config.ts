// Flags of servicelb-controller and their translation into a frozen, validated config (STYLE rule 10).
//
// Every flag has an environment equivalent (`PORTICO_*`, plus the downward-API names POD_NAMESPACE,
// POD_NAME and NODE_NAME), so the Helm chart can set either. Problems are reported all at once, one
// line per flag naming it and the value (exit code 2); nothing runs with a bad config.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Env, ServiceLB } from '@portico/labels';
import { leaderTimingProblems } from '@portico/kube';
import { commonRunFlags, fieldName, type FlagSpec, type FlagValues, type Issue, type LogLevel } from '@portico/service-kit';
import { serviceLBConfig, validateConfig, type ServiceLBConfig } from '@portico/servicelb';
/** The Portico release this binary belongs to; config.test.ts checks it equals the root package.json version. */
export const VERSION = '0.1.0';

/**
 * Default forwarder image: Portico's lb-forwarder of the same release. It accepts the klipper-lb
 * environment unchanged, so `rancher/klipper-lb:v0.4.17` (K3s's default) also works as a value, and
 * K3s's klipper-lb DaemonSets can run this image.
 */
export const DEFAULT_FORWARDER_IMAGE = `ghcr.io/portico/lb-forwarder:${VERSION}`;

/** Default Lease name for leader election (one Lease per ServiceLB deployment). */
export const DEFAULT_LEASE_NAME = 'portico-servicelb-controller';

/** Default listen address of /healthz, /readyz and /metrics (no collision with kubelet/kube-proxy/KCM/CCM ports). */
export const DEFAULT_METRICS_ADDR = ':10270';

/** Field manager of every write (server-side apply of DaemonSets and Service status, patches). */
export const FIELD_MANAGER = 'portico-servicelb';

/** Flags that shape the core's output: shared by `run` and `render`. */
export const coreFlags: readonly FlagSpec[] = [
  {
    name: 'lb-namespace',
    type: 'string',
    env: 'PORTICO_LB_NAMESPACE',
    default: ServiceLB.defaultNamespace,
    description: 'Namespace of the svclb DaemonSets, their pods and the svclb ServiceAccount (K3s --servicelb-namespace)',
  },
  {
    name: 'forwarder-image',
    type: 'string',
    env: 'PORTICO_FORWARDER_IMAGE',
    default: DEFAULT_FORWARDER_IMAGE,
    description: `Image of the svclb containers; ${ServiceLB.klipperDefaultImage} also works (K3s lbImage)`,
  },
  {
    name: 'default-priority-class',
    type: 'string',
    env: 'PORTICO_DEFAULT_PRIORITY_CLASS',
    default: ServiceLB.defaultPriorityClassName,
    description: 'priorityClassName of svclb pods when the Service has no priorityclassname annotation; empty for none',
  },
  {
    name: 'program',
    type: 'string',
    env: 'PORTICO_PROGRAM',
    default: 'k3s',
    description: 'Program name in the svccontroller.<program>.cattle.io/* keys (k3s; rke2 for RKE2)',
  },
  {
    name: 'rootless',
    type: 'bool',
    env: 'PORTICO_ROOTLESS',
    default: false,
    description: 'Rootless K3s: publish 127.0.0.1 as the ingress of every Service that has one',
  },
];

/** Flags of `run` only (besides kubeconfig, metrics-addr and log-level). */
const runOnlyFlags: readonly FlagSpec[] = [
  { name: 'leader-elect', type: 'bool', env: 'PORTICO_LEADER_ELECT', default: true, description: 'Elect a leader through a Lease; only the leader writes' },
  {
    name: 'leader-elect-namespace',
    type: 'string',
    env: 'PORTICO_LEADER_ELECT_NAMESPACE',
    description: `Namespace of the Lease (default: $${Env.podNamespace}, else --lb-namespace)`,
  },
  { name: 'lease-name', type: 'string', env: 'PORTICO_LEASE_NAME', default: DEFAULT_LEASE_NAME, description: 'Name of the leader-election Lease' },
  // Durations carry no `default` in the spec (help would print it in ms); defaults are applied in runConfigFrom.
  { name: 'leader-elect-lease-duration', type: 'duration', env: 'PORTICO_LEADER_ELECT_LEASE_DURATION', description: 'How long a standby waits before taking over an unrenewed Lease (default 15s)' },
  { name: 'leader-elect-renew-deadline', type: 'duration', env: 'PORTICO_LEADER_ELECT_RENEW_DEADLINE', description: 'How long the leader keeps acting without a successful renew (default 10s)' },
  { name: 'leader-elect-retry-period', type: 'duration', env: 'PORTICO_LEADER_ELECT_RETRY_PERIOD', description: 'Pause between Lease acquire/renew attempts (default 2s)' },
  { name: 'leader-elect-identity', type: 'string', env: 'POD_NAME', description: 'Identity in the Lease (default: <hostname>_<random>)' },
  { name: 'node-name', type: 'string', env: Env.nodeName, description: 'Node this process runs on; the "host" of the Events it emits' },
  { name: 'workers', type: 'int', env: 'PORTICO_WORKERS', default: 4, description: 'Services reconciled in parallel (one Service is never reconciled twice at once)' },
  { name: 'resync-period', type: 'duration', env: 'PORTICO_RESYNC_PERIOD', description: 'Re-reconcile every LoadBalancer Service this often (repairs drift); 0 disables (default 10m)' },
];

/** Flags of `run`. */
export const runFlags: readonly FlagSpec[] = [...commonRunFlags({ metricsAddr: DEFAULT_METRICS_ADDR }), ...coreFlags, ...runOnlyFlags];

/** Flags of `render` (the positional FILE... arguments are snapshot files too). */
export const renderFlags: readonly FlagSpec[] = [
  { name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot file (YAML or JSON: v1 List, multi-document stream or kubectl get -o yaml); - for stdin' },
  {
    name: 'now',
    type: 'string',
    default: '1970-01-01T00:00:00Z',
    description: 'lastTransitionTime written for conditions that change (a fixed time keeps the output reproducible)',
    validate: (v: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(v) && !Number.isNaN(Date.parse(v)) ? undefined : 'must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z'),
  },
  ...coreFlags,
];

/** Config of `run`, frozen after validation. */
export interface RunConfig {
  readonly core: ServiceLBConfig;
  readonly kubeconfig: string | undefined;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly nodeName: string | undefined;
  readonly workers: number;
  readonly resyncPeriodMs: number;
}

export type ConfigResult<T> = { readonly ok: true; readonly config: T } | { readonly ok: false; readonly issues: readonly Issue[] };

const byName = (specs: readonly FlagSpec[]): Map<string, FlagSpec> => new Map(specs.map((s) => [s.name, s]));

/** Core config field -> the flag that sets it. */
const CORE_FIELD_FLAG: Readonly<Record<keyof ServiceLBConfig, string>> = {
  namespace: 'lb-namespace',
  image: 'forwarder-image',
  defaultPriorityClassName: 'default-priority-class',
  program: 'program',
  rootless: 'rootless',
};

/** Builds the core config from parsed flag values; the core's own validation names the flags. */
export function coreConfigFrom(values: FlagValues): ConfigResult<ServiceLBConfig> {
  const core = serviceLBConfig({
    namespace: String(values['lb-namespace']),
    image: String(values['forwarder-image']),
    defaultPriorityClassName: String(values['default-priority-class']),
    program: String(values['program']),
    rootless: values['rootless'] === true,
  });
  const specs = byName(coreFlags);
  const issues = validateConfig(core).map((p): Issue => {
    const flag = CORE_FIELD_FLAG[p.field as keyof ServiceLBConfig];
    const spec = flag ? specs.get(flag) : undefined;
    return { field: spec ? fieldName(spec) : p.field, value: p.value, reason: p.reason };
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: core };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Builds the `run` config from parsed flag values and the environment (only for defaults that come
 * from the downward API: POD_NAMESPACE). Returns every problem found.
 */
export function runConfigFrom(values: FlagValues, env: Readonly<Record<string, string | undefined>>): ConfigResult<RunConfig> {
  const specs = byName(runFlags);
  const issues: Issue[] = [];
  const issue = (flag: string, value: string, reason: string): void => {
    issues.push({ field: fieldName(specs.get(flag)!), value, reason });
  };
  const core = coreConfigFrom(values);
  if (!core.ok) issues.push(...core.issues);

  const lbNamespace = String(values['lb-namespace']);
  const leaseNamespaceFlag = values['leader-elect-namespace'] as string | undefined;
  const leaseNamespace = leaseNamespaceFlag || env[Env.podNamespace] || lbNamespace;
  if (leaseNamespaceFlag !== undefined && !(leaseNamespaceFlag.length <= 63 && DNS_LABEL.test(leaseNamespaceFlag))) {
    issue('leader-elect-namespace', leaseNamespaceFlag, 'must be a DNS-1123 label (a namespace name)');
  }
  const leaseName = String(values['lease-name']);
  if (!(leaseName.length <= 253 && DNS_SUBDOMAIN.test(leaseName))) issue('lease-name', leaseName, 'must be a DNS-1123 subdomain (a Lease name)');

  const leaseDurationMs = (values['leader-elect-lease-duration'] as number | undefined) ?? 15_000;
  const renewDeadlineMs = (values['leader-elect-renew-deadline'] as number | undefined) ?? 10_000;
  const retryPeriodMs = (values['leader-elect-retry-period'] as number | undefined) ?? 2_000;
  const leaderElect = values['leader-elect'] === true;
  if (leaderElect) {
    const timing = leaderTimingProblems({ leaseDurationMs, renewDeadlineMs, retryPeriodMs });
    if (timing.length > 0) {
      const value = `lease-duration=${leaseDurationMs}ms renew-deadline=${renewDeadlineMs}ms retry-period=${retryPeriodMs}ms`;
      issues.push({ field: '--leader-elect-lease-duration / --leader-elect-renew-deadline / --leader-elect-retry-period', value, reason: timing.join('; ') });
    }
  }

  const workers = values['workers'] as number;
  if (!(workers >= 1 && workers <= 64)) issue('workers', String(workers), 'must be between 1 and 64');

  const identityFlag = values['leader-elect-identity'] as string | undefined;
  if (identityFlag !== undefined && identityFlag.trim() === '') issue('leader-elect-identity', identityFlag, 'must not be empty');
  const nodeName = (values['node-name'] as string | undefined) || undefined;

  if (issues.length > 0 || !core.ok) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      core: core.config,
      kubeconfig: (values['kubeconfig'] as string | undefined) || undefined,
      metricsAddr: String(values['metrics-addr']),
      logLevel: values['log-level'] as LogLevel,
      leaderElect,
      leaseNamespace,
      leaseName,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      identity: identityFlag || `${hostname()}_${randomBytes(4).toString('hex')}`,
      nodeName,
      workers,
      resyncPeriodMs: (values['resync-period'] as number | undefined) ?? 600_000,
    }),
  };
}
