// Flags shared by every process that runs the ServiceLB controller (servicelb-controller, and ccm
// when it hosts ServiceLB), and their translation into validated config (STYLE rule 10). The two
// apps list the same flags with the same names, environment variables and defaults, so the chart
// and the docs describe ServiceLB once.

import { Env, ServiceLB } from '@portico/labels';
import { leaderTimingProblems } from '@portico/kube';
import { fieldName, type FlagSpec, type FlagValues, type Issue } from '@portico/service-kit';
import { FORWARDING_MODES, serviceLBConfig, validateConfig, type ForwardingMode, type ServiceLBConfig } from '@portico/servicelb';

/** The Portico release this library belongs to; config.test.ts checks it equals the root package.json version. */
export const VERSION = '0.1.0';

/**
 * Default forwarder image: Portico's lb-forwarder of the same release. It accepts the klipper-lb
 * environment unchanged, so `rancher/klipper-lb:v0.4.17` (K3s's default) also works as a value
 * (with `--forwarding-mode=sysctls`), and K3s's klipper-lb DaemonSets can run this image.
 */
export const DEFAULT_FORWARDER_IMAGE = `ghcr.io/portico/lb-forwarder:${VERSION}`;

/**
 * The Lease that guards ServiceLB. servicelb-controller and ccm (hosting ServiceLB) take the same
 * Lease by default, so two deployments of ServiceLB on one cluster never both write.
 */
export const SERVICELB_LEASE_NAME = 'portico-servicelb-controller';

/** Field manager of every ServiceLB write (server-side apply of DaemonSets and Service status, patches). */
export const FIELD_MANAGER = 'portico-servicelb';

/**
 * Default of `--forwarding-mode`: `init-container`, so ServiceLB works on any cluster with its
 * kubelets at defaults (a kubelet refuses the unsafe forwarding sysctls unless told to allow them,
 * as K3s's is). `sysctls` is K3s's exact form (docs/servicelb.md, "Forwarding mode").
 */
export const DEFAULT_FORWARDING_MODE: ForwardingMode = 'init-container';

/** Flags that shape the core's output: `run` and `render` of both apps. */
export const serviceLBCoreFlags: readonly FlagSpec[] = [
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
    description: `Image of the svclb containers; ${ServiceLB.klipperDefaultImage} also works with --forwarding-mode=sysctls (K3s lbImage)`,
  },
  {
    name: 'forwarding-mode',
    type: 'string',
    env: 'PORTICO_FORWARDING_MODE',
    default: DEFAULT_FORWARDING_MODE,
    choices: FORWARDING_MODES,
    description:
      'How svclb pods turn on IP forwarding: init-container (a privileged init container of the forwarder image; any kubelet) or sysctls (pod sysctls as K3s; needs a kubelet that allows them)',
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
    description: 'Program name in the svccontroller.<program>.cattle.io/* and <program>.io/* keys (k3s; rke2 for RKE2)',
  },
  {
    name: 'rootless',
    type: 'bool',
    env: 'PORTICO_ROOTLESS',
    default: false,
    description: 'Rootless K3s: publish 127.0.0.1 as the ingress of every Service that has one',
  },
];

/** Flags of the ServiceLB work loop (`run` only). */
export const serviceLBWorkFlags: readonly FlagSpec[] = [
  { name: 'workers', type: 'int', env: 'PORTICO_WORKERS', default: 4, description: 'Services reconciled in parallel (one Service is never reconciled twice at once)' },
  { name: 'resync-period', type: 'duration', env: 'PORTICO_RESYNC_PERIOD', description: 'Re-reconcile every LoadBalancer Service this often (repairs drift); 0 disables (default 10m)' },
];

/** Leader-election flags (`run` only); Lease names are the apps' own flags. */
export function leaderElectionFlags(namespaceDefault: string): FlagSpec[] {
  return [
    { name: 'leader-elect', type: 'bool', env: 'PORTICO_LEADER_ELECT', default: true, description: 'Elect a leader through a Lease; only the leader writes' },
    {
      name: 'leader-elect-namespace',
      type: 'string',
      env: 'PORTICO_LEADER_ELECT_NAMESPACE',
      description: `Namespace of the Lease(s) (default: $${Env.podNamespace}, else ${namespaceDefault})`,
    },
    // Durations carry no `default` in the spec (help would print it in ms); defaults are applied in leaderConfigFrom.
    { name: 'leader-elect-lease-duration', type: 'duration', env: 'PORTICO_LEADER_ELECT_LEASE_DURATION', description: 'How long a standby waits before taking over an unrenewed Lease (default 15s)' },
    { name: 'leader-elect-renew-deadline', type: 'duration', env: 'PORTICO_LEADER_ELECT_RENEW_DEADLINE', description: 'How long the leader keeps acting without a successful renew (default 10s)' },
    { name: 'leader-elect-retry-period', type: 'duration', env: 'PORTICO_LEADER_ELECT_RETRY_PERIOD', description: 'Pause between Lease acquire/renew attempts (default 2s)' },
    { name: 'leader-elect-identity', type: 'string', env: 'POD_NAME', description: 'Identity in the Lease (default: <hostname>_<random>)' },
  ];
}

/** `--node-name`: the node this process runs on, the "host" of its Events. */
export const nodeNameFlag: FlagSpec = { name: 'node-name', type: 'string', env: Env.nodeName, description: 'Node this process runs on; the "host" of the Events it emits' };

export type ConfigResult<T> = { readonly ok: true; readonly config: T } | { readonly ok: false; readonly issues: readonly Issue[] };

const byName = (specs: readonly FlagSpec[]): Map<string, FlagSpec> => new Map(specs.map((s) => [s.name, s]));

/** Core config field -> the flag that sets it. */
const CORE_FIELD_FLAG: Readonly<Record<keyof ServiceLBConfig, string>> = {
  namespace: 'lb-namespace',
  image: 'forwarder-image',
  defaultPriorityClassName: 'default-priority-class',
  program: 'program',
  rootless: 'rootless',
  forwardingMode: 'forwarding-mode',
};

/** Builds the core config from parsed flag values; the core's own validation names the flags. */
export function coreConfigFrom(values: FlagValues): ConfigResult<ServiceLBConfig> {
  const core = serviceLBConfig({
    namespace: String(values['lb-namespace']),
    image: String(values['forwarder-image']),
    defaultPriorityClassName: String(values['default-priority-class']),
    program: String(values['program']),
    rootless: values['rootless'] === true,
    forwardingMode: String(values['forwarding-mode']) as ForwardingMode,
  });
  const specs = byName(serviceLBCoreFlags);
  const issues = validateConfig(core).map((p): Issue => {
    const flag = CORE_FIELD_FLAG[p.field as keyof ServiceLBConfig];
    const spec = flag ? specs.get(flag) : undefined;
    return { field: spec ? fieldName(spec) : p.field, value: p.value, reason: p.reason };
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: core };
}

/** The ServiceLB work-loop settings. */
export interface ServiceLBWorkConfig {
  readonly workers: number;
  readonly resyncPeriodMs: number;
}

/** Reads `--workers` and `--resync-period`; pushes problems to `issues`. */
export function workConfigFrom(values: FlagValues, issues: Issue[]): ServiceLBWorkConfig {
  const specs = byName(serviceLBWorkFlags);
  const workers = values['workers'] as number;
  if (!(workers >= 1 && workers <= 64)) issues.push({ field: fieldName(specs.get('workers')!), value: String(workers), reason: 'must be between 1 and 64' });
  return { workers, resyncPeriodMs: (values['resync-period'] as number | undefined) ?? 600_000 };
}

/** Leader-election settings shared by every Lease of a process. */
export interface LeaderConfig {
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** Identity in the Lease(s); given, or `<hostname>_<random>`. */
  readonly identity: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Pushes an issue when `name` (the value of flag `spec`) is not a valid Lease name. */
export function checkLeaseName(spec: FlagSpec, name: string, issues: Issue[]): void {
  if (!(name.length <= 253 && DNS_SUBDOMAIN.test(name))) issues.push({ field: fieldName(spec), value: name, reason: 'must be a DNS-1123 subdomain (a Lease name)' });
}

/**
 * Reads the leader-election flags. The Lease namespace defaults to $POD_NAMESPACE, else
 * `fallbackNamespace`; `defaultIdentity` is called only when no identity was given.
 */
export function leaderConfigFrom(
  values: FlagValues,
  env: Readonly<Record<string, string | undefined>>,
  fallbackNamespace: string,
  defaultIdentity: () => string,
  issues: Issue[],
): LeaderConfig {
  const specs = byName(leaderElectionFlags(''));
  const issue = (flag: string, value: string, reason: string): void => {
    issues.push({ field: fieldName(specs.get(flag)!), value, reason });
  };
  const nsFlag = values['leader-elect-namespace'] as string | undefined;
  if (nsFlag !== undefined && !(nsFlag.length <= 63 && DNS_LABEL.test(nsFlag))) issue('leader-elect-namespace', nsFlag, 'must be a DNS-1123 label (a namespace name)');
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
  const identityFlag = values['leader-elect-identity'] as string | undefined;
  if (identityFlag !== undefined && identityFlag.trim() === '') issue('leader-elect-identity', identityFlag, 'must not be empty');
  return {
    leaderElect,
    leaseNamespace: nsFlag || env[Env.podNamespace] || fallbackNamespace,
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    identity: identityFlag || defaultIdentity(),
  };
}
