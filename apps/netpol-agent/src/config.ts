import { commonRunFlags, type FlagSpec, type FlagValues, type Issue, type LogLevel } from '@portico/service-kit';
import { Env } from '@portico/labels';
import { checkNetpolConfig, parseCIDR, type AcceptPlacement, type Family, type NetpolConfig, type NflogConfig } from '@portico/netpol';
import { IPTABLES_BACKENDS, type IptablesBackend } from '@portico/iptables/adapter';

/**
 * The agent's configuration: flags (with environment fallbacks), validated once, frozen
 * (STYLE rule 10). Every bad value is one issue naming the flag, its variable and the value; the CLI
 * prints them all and exits 2 before touching the kernel or the API.
 *
 * Defaults follow what K3s hands kube-router (spec section 1.5): service CIDR 10.43.0.0/16, node
 * ports 30000-32767, NFLOG group 100 at 10/minute burst 10, resync every 5 minutes.
 */

/** Metrics/health port. Chosen clear of kubelet (10248, 10250, 10255), kube-proxy (10249, 10256),
 * kube-controller-manager (10257), cloud-controller-manager (10258), kube-scheduler (10259) and
 * kube-router (20244, its metrics default 8080). */
export const DEFAULT_METRICS_ADDR = ':10271';

/**
 * Layout profiles (spec section 0). Both enforce the same NetworkPolicy semantics.
 * - `upstream`: kube-router >= v2.10 as newest K3s runs it: the ACCEPT-on-mark rule ends each
 *   `KUBE-ROUTER-*` chain; no per-policy NFLOG rule.
 * - `k3s-fork`: the kube-router fork that released K3s ships (v2.6.3-k3s1): the ACCEPT rule sits in
 *   the built-in chains after the last KUBE rule, and every policy chain ends with an NFLOG rule.
 */
export const PROFILES = ['upstream', 'k3s-fork'] as const;
export type Profile = (typeof PROFILES)[number];

export interface AgentConfig {
  readonly nodeName: string;
  /** `auto`: the families of the node's InternalIP/ExternalIP addresses. */
  readonly families: readonly Family[] | 'auto';
  readonly serviceCIDRs: readonly string[];
  readonly nodePortRange: string;
  /** Undefined: from the Node (`kube-router.io/pod-cidrs`, else `spec.podCIDRs`). */
  readonly podCIDRs: readonly string[] | undefined;
  readonly profile: Profile;
  readonly defaultDeny: boolean;
  readonly nflog: { readonly perPolicy: boolean; readonly group: number; readonly limit: string; readonly burst: number };
  readonly iptablesBackend: IptablesBackend;
}

export interface RunConfig extends AgentConfig {
  readonly kubeconfig: string | undefined;
  readonly metricsAddr: string;
  readonly logLevel: LogLevel;
  readonly resyncPeriodMs: number;
  /** Full verification (every set member read back) at least this often, at a periodic resync. */
  readonly verifyPeriodMs: number;
  readonly minSyncIntervalMs: number;
  readonly retryIntervalMs: number;
}

function validCIDRs(v: readonly string[]): string | undefined {
  const bad = v.filter((c) => !parseCIDR(c));
  return bad.length ? `not a CIDR: ${bad.join(', ')}` : undefined;
}

function validNodePortRange(v: string): string | undefined {
  const m = /^(\d+)[:-](\d+)$/.exec(v.trim());
  if (!m) return 'must be <low>-<high> (or <low>:<high>)';
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo < 1 || hi > 65535) return 'ports must be within 1-65535';
  if (lo >= hi) return 'the first port must be lower than the second';
  return undefined;
}

/**
 * The core's check of one NFLOG value (checkNetpolConfig is the single source of what iptables
 * accepts: rate at most 10000/second, burst 1-10000, group 0-65535), as a flag validator.
 */
function coreNflogProblem(field: 'group' | 'limit' | 'burst', nflog: NflogConfig): string | undefined {
  return checkNetpolConfig({ nodeName: 'check', nflog }).find((p) => p.field === `nflog.${field}`)?.message;
}

function parseFamilies(v: readonly string[]): readonly Family[] | 'auto' | undefined {
  if (v.length === 1 && v[0]!.toLowerCase() === 'auto') return 'auto';
  const out: Family[] = [];
  for (const f of v) {
    const l = f.toLowerCase();
    const fam: Family | undefined = l === 'ipv4' || l === '4' ? 'IPv4' : l === 'ipv6' || l === '6' ? 'IPv6' : undefined;
    if (!fam) return undefined;
    if (!out.includes(fam)) out.push(fam);
  }
  return out.length ? (['IPv4', 'IPv6'] as Family[]).filter((f) => out.includes(f)) : undefined;
}

/** Flags shared by `run`, `render` and `apply` (what the renderer and the kernel need). */
export function policyFlags(): FlagSpec[] {
  return [
    {
      name: 'families',
      type: 'list',
      env: 'PORTICO_NETPOL_FAMILIES',
      default: ['auto'],
      description: 'Address families to enforce: IPv4, IPv6 (both for dual-stack) or auto (the families of the node addresses)',
      validate: (v: readonly string[]) => (parseFamilies(v) ? undefined : 'must be auto, or IPv4 and/or IPv6'),
    },
    {
      name: 'service-cidrs',
      type: 'list',
      env: 'PORTICO_SERVICE_CIDRS',
      default: ['10.43.0.0/16'],
      description: 'Service cluster-IP ranges (one per family when dual-stack); traffic to them skips policy in INPUT',
      validate: (v: readonly string[]) =>
        validCIDRs(v) ??
        (v.length > 2 ? 'at most two ranges (primary and secondary)' : undefined) ??
        checkNetpolConfig({ nodeName: 'check', serviceCIDRs: v }).find((p) => p.field.startsWith('serviceCIDRs'))?.message,
    },
    {
      name: 'node-port-range',
      type: 'string',
      env: 'PORTICO_NODE_PORT_RANGE',
      default: '30000-32767',
      description: 'Service node-port range; local traffic to it skips policy in INPUT',
      validate: (v: string) => validNodePortRange(v),
    },
    {
      name: 'pod-cidrs',
      type: 'list',
      env: 'PORTICO_POD_CIDRS',
      description: "This node's pod CIDRs for default-deny; default: the Node's kube-router.io/pod-cidrs annotation, else spec.podCIDRs",
      validate: (v: readonly string[]) => validCIDRs(v),
    },
    {
      name: 'profile',
      type: 'string',
      env: 'PORTICO_NETPOL_PROFILE',
      default: 'upstream',
      choices: PROFILES,
      description: 'Rule layout: upstream (kube-router >= 2.10, newest K3s) or k3s-fork (kube-router v2.6.3-k3s1, released K3s)',
    },
    {
      name: 'default-deny',
      type: 'bool',
      env: 'PORTICO_NETPOL_DEFAULT_DENY',
      default: true,
      description: 'Reject traffic of local pods whose rules are not programmed yet (kube-router --netpol-default-deny, on in newest K3s)',
    },
    { name: 'nflog-group', type: 'int', env: 'PORTICO_NFLOG_GROUP', default: 100, description: 'NFLOG group of denied-packet logs', validate: (v: number) => coreNflogProblem('group', { group: v }) },
    {
      name: 'nflog-limit',
      type: 'string',
      env: 'PORTICO_NFLOG_LIMIT',
      default: '10/minute',
      description: 'Rate limit of denied-packet logs, <n>/<second|minute|hour|day>',
      validate: (v: string) => coreNflogProblem('limit', { limit: v }),
    },
    { name: 'nflog-limit-burst', type: 'int', env: 'PORTICO_NFLOG_LIMIT_BURST', default: 10, description: 'Burst of denied-packet logs', validate: (v: number) => coreNflogProblem('burst', { burst: v }) },
    {
      name: 'nflog-per-policy',
      type: 'bool',
      env: 'PORTICO_NFLOG_PER_POLICY',
      description: 'Add the k3s per-policy NFLOG rule ("DROP by policy <ns>/<name>"); default: on with --profile k3s-fork',
    },
    backendFlag(),
  ];
}

export function backendFlag(): FlagSpec {
  return {
    name: 'iptables-backend',
    type: 'string',
    env: 'PORTICO_IPTABLES_BACKEND',
    default: 'auto',
    choices: IPTABLES_BACKENDS,
    description: 'iptables variant: auto (what kubelet/the node uses), nft, legacy, or system (plain iptables-save/-restore)',
  };
}

/** `run` flags: the common run flags, the node, the policy flags and the sync timing. */
export function runFlags(): FlagSpec[] {
  const positive = (v: number): string | undefined => (v > 0 ? undefined : 'must be greater than 0');
  return [
    ...commonRunFlags({ metricsAddr: DEFAULT_METRICS_ADDR }),
    { name: 'node-name', type: 'string', env: Env.nodeName, required: true, description: 'This node (downward API spec.nodeName)' },
    ...policyFlags(),
    {
      name: 'resync-period',
      type: 'duration',
      env: 'PORTICO_RESYNC_PERIOD',
      default: 300_000,
      description: 'Periodic resync: re-render, re-read the rules and the set sizes, repair drift',
      validate: positive,
    },
    {
      name: 'verify-period',
      type: 'duration',
      env: 'PORTICO_VERIFY_PERIOD',
      default: 1_800_000,
      description: 'Full verification (read back every set member, repair drift) at the first resync this long after the last one',
      validate: positive,
    },
    {
      name: 'min-sync-interval',
      type: 'duration',
      env: 'PORTICO_MIN_SYNC_INTERVAL',
      default: 1000,
      description: 'Minimum time between two syncs; events inside it are coalesced',
      validate: (v: number) => (v >= 0 && v <= 60_000 ? undefined : 'must be 0-60s'),
    },
    { name: 'sync-retry-interval', type: 'duration', env: 'PORTICO_SYNC_RETRY_INTERVAL', default: 10_000, description: 'Retry a failed sync after this long', validate: positive },
  ];
}

/** `render` / `apply` flags. */
export function snapshotFlags(): FlagSpec[] {
  return [
    { name: 'snapshot', type: 'list', repeatable: true, description: 'Snapshot file (YAML or JSON, v1 List or multi-document; - for stdin); positional FILEs work too' },
    { name: 'node', type: 'string', env: Env.nodeName, required: true, description: 'The node to render for (its pods get pod chains)' },
    ...policyFlags(),
  ];
}

/** Builds the agent config from parsed flag values; cross-field checks give issues. */
export function agentConfig(values: FlagValues, nodeName: string): { config: AgentConfig } | { issues: Issue[] } {
  const profile = values['profile'] as Profile;
  const config: AgentConfig = Object.freeze({
    nodeName,
    families: parseFamilies(values['families'] as readonly string[])!,
    serviceCIDRs: Object.freeze([...(values['service-cidrs'] as readonly string[])]),
    nodePortRange: values['node-port-range'] as string,
    podCIDRs: values['pod-cidrs'] ? Object.freeze([...(values['pod-cidrs'] as readonly string[])]) : undefined,
    profile,
    defaultDeny: values['default-deny'] as boolean,
    nflog: Object.freeze({
      perPolicy: (values['nflog-per-policy'] as boolean | undefined) ?? profile === 'k3s-fork',
      group: values['nflog-group'] as number,
      limit: values['nflog-limit'] as string,
      burst: values['nflog-limit-burst'] as number,
    }),
    iptablesBackend: values['iptables-backend'] as IptablesBackend,
  });
  const issues: Issue[] = [];
  if (Array.isArray(config.families)) {
    const fams = config.families as readonly Family[];
    const stray = config.serviceCIDRs.filter((c) => !fams.includes(parseCIDR(c)!.v6 ? 'IPv6' : 'IPv4'));
    if (stray.length === config.serviceCIDRs.length && stray.length > 0) {
      issues.push({ field: '--service-cidrs / PORTICO_SERVICE_CIDRS', value: config.serviceCIDRs.join(','), reason: `no range of an enabled family (${fams.join(', ')})` });
    }
  }
  return issues.length ? { issues } : { config };
}

export function runConfig(values: FlagValues): { config: RunConfig } | { issues: Issue[] } {
  const base = agentConfig(values, values['node-name'] as string);
  if ('issues' in base) return base;
  return {
    config: Object.freeze({
      ...base.config,
      kubeconfig: values['kubeconfig'] as string | undefined,
      metricsAddr: values['metrics-addr'] as string,
      logLevel: values['log-level'] as LogLevel,
      resyncPeriodMs: values['resync-period'] as number,
      verifyPeriodMs: values['verify-period'] as number,
      minSyncIntervalMs: values['min-sync-interval'] as number,
      retryIntervalMs: values['sync-retry-interval'] as number,
    }),
  };
}

/** The families to enforce, resolving `auto` from the node's addresses (IPv4 when none are known). */
export function resolveFamilies(config: AgentConfig, nodeAddresses: readonly string[]): readonly Family[] {
  if (config.families !== 'auto') return config.families;
  const fams = new Set<Family>();
  for (const a of nodeAddresses) {
    const p = parseCIDR(a.includes('/') ? a : `${a}/${a.includes(':') ? 128 : 32}`);
    if (p) fams.add(p.v6 ? 'IPv6' : 'IPv4');
  }
  const out = (['IPv4', 'IPv6'] as Family[]).filter((f) => fams.has(f));
  return out.length ? out : ['IPv4'];
}

/** The core's config for this agent config and resolved families. */
export function netpolConfig(config: AgentConfig, families: readonly Family[]): NetpolConfig {
  const acceptPlacement: AcceptPlacement = config.profile === 'k3s-fork' ? 'after-kube-rules' : 'chain-end';
  return {
    nodeName: config.nodeName,
    families,
    serviceCIDRs: config.serviceCIDRs,
    nodePortRange: config.nodePortRange,
    ...(config.podCIDRs ? { podCIDRs: config.podCIDRs } : {}),
    defaultDeny: config.defaultDeny,
    acceptPlacement,
    nflog: { enabled: true, perPolicy: config.nflog.perPolicy, group: config.nflog.group, limit: config.nflog.limit, burst: config.nflog.burst },
  };
}

