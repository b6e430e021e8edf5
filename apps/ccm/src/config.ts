// Flags of ccm and their translation into a frozen, validated config (STYLE rule 10). The ServiceLB
// flags (core, work loop) and the leader-election flags are @portico/servicelb-runtime's, the same
// names, variables and defaults as servicelb-controller's; ccm adds --disable, its own Lease, the
// ServiceLB Lease and the address refresh period. Problems: exit 2, one line per flag and value.

import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { isValidProgram, programNames, ServiceLB } from '@portico/labels';
import { commonRunFlags, fieldName, type FlagSpec, type FlagValues, type Issue, type LogLevel } from '@portico/service-kit';
import type { ServiceLBConfig } from '@portico/servicelb';
import { coreConfigFrom, renderFlags as serviceLBRenderFlags, SERVICELB_LEASE_NAME, serviceLBCoreFlags, serviceLBWorkFlags, workConfigFrom, type ServiceLBWorkConfig } from '@portico/servicelb-runtime';
import { checkLeaseName, leaderConfigFrom, leaderElectionFlags, nodeNameFlag, type ConfigResult, type LeaderConfig } from '@portico/service-kit/controller';

export { VERSION } from '@portico/service-kit';

/** Default listen address of /healthz, /readyz and /metrics: the cloud-controller-manager port, 10258. */
export const DEFAULT_METRICS_ADDR = ':10258';

/** Field manager of ccm's Node writes (ServiceLB's writes keep portico-servicelb). */
export const FIELD_MANAGER = 'portico-ccm';

/**
 * The names K3s's `--disable` takes. ccm acts on `servicelb` only (the others are addon-manager's);
 * they are accepted so one K3s-style list can be passed to every component.
 */
export const K3S_DISABLE_NAMES = ['servicelb', 'traefik', 'coredns', 'local-storage', 'metrics-server', 'runtimes'] as const;

const disableFlag: FlagSpec = {
  name: 'disable',
  type: 'list',
  repeatable: true,
  env: 'PORTICO_DISABLE',
  description: `K3s --disable names, comma-separated or repeated; "servicelb" turns off the hosted ServiceLB (others: ${K3S_DISABLE_NAMES.slice(1).join(', ')}; accepted, no effect here)`,
  validate: (v: readonly string[]) => {
    const bad = v.filter((n) => !(K3S_DISABLE_NAMES as readonly string[]).includes(n));
    return bad.length === 0 ? undefined : `unknown name(s) ${bad.join(', ')}: want ${K3S_DISABLE_NAMES.join(', ')}`;
  },
};

const leaseNameFlag: FlagSpec = {
  name: 'lease-name',
  type: 'string',
  env: 'PORTICO_LEASE_NAME',
  description: 'Lease of node initialization (default <program>-cloud-controller-manager, K3s\'s CCM Lease)',
};

const serviceLBLeaseFlag: FlagSpec = {
  name: 'servicelb-lease-name',
  type: 'string',
  env: 'PORTICO_SERVICELB_LEASE_NAME',
  default: SERVICELB_LEASE_NAME,
  description: 'Lease of the hosted ServiceLB: the same as servicelb-controller --lease-name, so only one of them runs ServiceLB',
};

const refreshFlag: FlagSpec = {
  name: 'node-status-update-frequency',
  type: 'duration',
  env: 'PORTICO_NODE_STATUS_UPDATE_FREQUENCY',
  description: 'Reconcile every Node this often (addresses, labels; K3s 1m); 0 disables (watch events still apply) (default 1m)',
};

/** Flags of `run`. */
export const runFlags: readonly FlagSpec[] = [
  ...commonRunFlags({ metricsAddr: DEFAULT_METRICS_ADDR }),
  disableFlag,
  refreshFlag,
  ...serviceLBCoreFlags,
  ...leaderElectionFlags('kube-system'),
  leaseNameFlag,
  serviceLBLeaseFlag,
  nodeNameFlag,
  ...serviceLBWorkFlags,
];

/** Flags of `render`. */
export const renderFlags: readonly FlagSpec[] = [...serviceLBRenderFlags, disableFlag];

/** Whether `--disable` turns off the hosted ServiceLB. */
export function serviceLBDisabled(values: FlagValues): boolean {
  return ((values['disable'] as readonly string[] | undefined) ?? []).includes('servicelb');
}

export interface RunConfig extends LeaderConfig, ServiceLBWorkConfig {
  readonly kubeconfig: string | undefined;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  /** The program of every K3s name (node address keys, provider ID, ServiceLB keys). */
  readonly program: string;
  /** The hosted ServiceLB's core config; undefined with `--disable servicelb`. */
  readonly serviceLB: ServiceLBConfig | undefined;
  readonly disabled: readonly string[];
  readonly leaseName: string;
  readonly serviceLBLeaseName: string;
  readonly nodeName: string | undefined;
  readonly nodeResyncPeriodMs: number;
}

export function runConfigFrom(values: FlagValues, env: Readonly<Record<string, string | undefined>>): ConfigResult<RunConfig> {
  const issues: Issue[] = [];
  const core = coreConfigFrom(values);
  const disabled = [...new Set((values['disable'] as readonly string[] | undefined) ?? [])];
  const lbOff = disabled.includes('servicelb');
  const program = String(values['program']);
  // With ServiceLB off only --program matters of the core flags (it names the node keys).
  if (!core.ok) issues.push(...(lbOff ? core.issues.filter((i) => i.field.startsWith('--program ')) : core.issues));
  const leader = leaderConfigFrom(values, env, ServiceLB.defaultNamespace, () => `${hostname()}_${randomBytes(4).toString('hex')}`, issues);
  const leaseName = (values['lease-name'] as string | undefined) || (isValidProgram(program) ? programNames(program).ccmLeaseName : 'cloud-controller-manager');
  checkLeaseName(leaseNameFlag, leaseName, issues);
  const serviceLBLeaseName = String(values['servicelb-lease-name']);
  checkLeaseName(serviceLBLeaseFlag, serviceLBLeaseName, issues);
  if (leader.leaderElect && !lbOff && leaseName === serviceLBLeaseName) {
    issues.push({ field: `${fieldName(leaseNameFlag)} and ${fieldName(serviceLBLeaseFlag)}`, value: leaseName, reason: 'must differ: node initialization and the hosted ServiceLB each take their own Lease' });
  }
  const work = workConfigFrom(values, issues);
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      kubeconfig: (values['kubeconfig'] as string | undefined) || undefined,
      metricsAddr: String(values['metrics-addr']),
      logLevel: values['log-level'] as LogLevel,
      program,
      serviceLB: lbOff || !core.ok ? undefined : core.config,
      disabled,
      ...leader,
      leaseName,
      serviceLBLeaseName,
      nodeName: (values['node-name'] as string | undefined) || undefined,
      nodeResyncPeriodMs: (values['node-status-update-frequency'] as number | undefined) ?? 60_000,
      ...work,
    }),
  };
}
