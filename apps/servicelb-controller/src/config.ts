// Flags of servicelb-controller and their translation into a frozen, validated config (STYLE rule 10).
// The ServiceLB flags themselves (core, work loop, leader election) come from
// @portico/servicelb-runtime, shared with ccm; this file only adds the Lease name and the port.
//
// Every flag has an environment equivalent (`PORTICO_*`, plus the downward-API names POD_NAMESPACE,
// POD_NAME and NODE_NAME), so the Helm chart can set either. Problems are reported all at once, one
// line per flag naming it and the value (exit code 2); nothing runs with a bad config.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { commonRunFlags, type FlagSpec, type FlagValues, type Issue, type LogLevel } from '@portico/service-kit';
import type { ServiceLBConfig } from '@portico/servicelb';
import { coreConfigFrom, SERVICELB_LEASE_NAME, serviceLBCoreFlags, serviceLBWorkFlags, workConfigFrom, type ServiceLBWorkConfig } from '@portico/servicelb-runtime';
import { checkLeaseName, leaderConfigFrom, leaderElectionFlags, nodeNameFlag, type ConfigResult, type LeaderConfig } from '@portico/service-kit/controller';

export { DEFAULT_FORWARDER_IMAGE, FIELD_MANAGER, renderFlags } from '@portico/servicelb-runtime';
export { VERSION } from '@portico/service-kit';

/** Default Lease name for leader election: the ServiceLB Lease, shared with ccm when it hosts ServiceLB. */
export const DEFAULT_LEASE_NAME = SERVICELB_LEASE_NAME;

/** Default listen address of /healthz, /readyz and /metrics (no collision with kubelet/kube-proxy/KCM/CCM ports). */
export const DEFAULT_METRICS_ADDR = ':10270';

export const leaseNameFlag: FlagSpec = {
  name: 'lease-name',
  type: 'string',
  env: 'PORTICO_LEASE_NAME',
  default: DEFAULT_LEASE_NAME,
  description: 'Name of the leader-election Lease (the same Lease as ccm --servicelb-lease-name, so only one of them runs ServiceLB)',
};

/** Flags of `run`. */
export const runFlags: readonly FlagSpec[] = [
  ...commonRunFlags({ metricsAddr: DEFAULT_METRICS_ADDR }),
  ...serviceLBCoreFlags,
  ...leaderElectionFlags('--lb-namespace'),
  leaseNameFlag,
  nodeNameFlag,
  ...serviceLBWorkFlags,
];

/** Config of `run`, frozen after validation. */
export interface RunConfig extends LeaderConfig, ServiceLBWorkConfig {
  readonly core: ServiceLBConfig;
  readonly kubeconfig: string | undefined;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  readonly leaseName: string;
  readonly nodeName: string | undefined;
}

/**
 * Builds the `run` config from parsed flag values and the environment (only for defaults that come
 * from the downward API: POD_NAMESPACE). Returns every problem found.
 */
export function runConfigFrom(values: FlagValues, env: Readonly<Record<string, string | undefined>>): ConfigResult<RunConfig> {
  const issues: Issue[] = [];
  const core = coreConfigFrom(values);
  if (!core.ok) issues.push(...core.issues);
  const leader = leaderConfigFrom(values, env, String(values['lb-namespace']), () => `${hostname()}_${randomBytes(4).toString('hex')}`, issues);
  const leaseName = String(values['lease-name']);
  checkLeaseName(leaseNameFlag, leaseName, issues);
  const work = workConfigFrom(values, issues);
  if (issues.length > 0 || !core.ok) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      core: core.config,
      kubeconfig: (values['kubeconfig'] as string | undefined) || undefined,
      metricsAddr: String(values['metrics-addr']),
      logLevel: values['log-level'] as LogLevel,
      ...leader,
      leaseName,
      nodeName: (values['node-name'] as string | undefined) || undefined,
      ...work,
    }),
  };
}
