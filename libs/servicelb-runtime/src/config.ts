// Flags shared by every process that runs the ServiceLB controller (servicelb-controller, and ccm
// when it hosts ServiceLB), and their translation into validated config (STYLE rule 10). The two
// apps list the same flags with the same names, environment variables and defaults, so the chart
// and the docs describe ServiceLB once.

import { ServiceLB } from '@portico/labels';
import { fieldName, VERSION, type FlagSpec, type FlagValues, type Issue } from '@portico/service-kit';
import type { ConfigResult } from '@portico/service-kit/controller';
import { FORWARDING_MODES, serviceLBConfig, validateConfig, type ForwardingMode, type ServiceLBConfig } from '@portico/servicelb';

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
