// Leader-election flags and their validated config, shared by every leader-elected process
// (servicelb-controller, ccm, addon-manager, and ServiceLB's cleanup). Same names, environment
// variables and defaults everywhere, so the chart and the docs describe them once.

import { Env } from '@portico/labels';
import { leaderTimingProblems } from '@portico/kube';
import { fieldName, type FlagSpec, type FlagValues, type Issue } from '../flags.ts';

/** A parsed config, or every problem found (STYLE rule 10). */
export type ConfigResult<T> = { readonly ok: true; readonly config: T } | { readonly ok: false; readonly issues: readonly Issue[] };

const byName = (specs: readonly FlagSpec[]): Map<string, FlagSpec> => new Map(specs.map((s) => [s.name, s]));

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

/** `--node-name`: the node this process runs on, the "host" of its Events. */
export const nodeNameFlag: FlagSpec = { name: 'node-name', type: 'string', env: Env.nodeName, description: 'Node this process runs on; the "host" of the Events it emits' };
