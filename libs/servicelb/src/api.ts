// Public data types of the ServiceLB core: its configuration, its input snapshot and its outcome.
// The functions that produce them are in reconcile.ts (whole snapshot / one Service) and the
// rule modules (daemonset.ts, ingress.ts, ...). Everything here is plain data: JSON-serialisable,
// no classes, no Dates, so a controller can log it and a test can compare it.

import type { ObjectProblem } from './validate.ts';
import type { Condition, DaemonSet, EndpointSlice, LoadBalancerIngress, Node, Pod, Service } from './types.ts';

/** What the core needs to know about its deployment. Parsed and validated once by the shell. */
export interface ServiceLBConfig {
  /**
   * Namespace of the svclb DaemonSets, their pods and the `svclb` ServiceAccount
   * (K3s `--servicelb-namespace`).
   * @default 'kube-system'
   */
  readonly namespace: string;
  /**
   * Forwarder image of the svclb containers (K3s `lbImage`; Portico ships its own lb-forwarder,
   * which accepts the klipper-lb environment unchanged).
   * @default 'rancher/klipper-lb:v0.4.17'
   */
  readonly image: string;
  /**
   * priorityClassName of svclb pods when the Service has no priority-class annotation
   * (K3s `lbDefaultPriorityClassName`).
   * @default 'system-node-critical'
   */
  readonly defaultPriorityClassName: string;
  /**
   * Program name that the `svccontroller.<program>.cattle.io/*` keys derive from (K3s `version.Program`).
   * @default 'k3s'
   */
  readonly program: string;
  /**
   * Rootless mode: a non-empty ingress is replaced by `127.0.0.1` (K3s `rootless`).
   * @default false
   */
  readonly rootless: boolean;
  /**
   * How svclb pods get IP forwarding on in their own network namespace:
   * - `sysctls`: K3s's form, pod `securityContext.sysctls` (`net.ipv4.ip_forward`,
   *   `net.ipv6.conf.all.forwarding`). Only a kubelet that allows these unsafe sysctls (K3s's does)
   *   admits such pods; any other kubelet at defaults rejects them with `SysctlForbidden`.
   * - `init-container`: no pod sysctls; a privileged init container of the forwarder image runs
   *   `enable-forwarding` (writes the same sysctls in the pod's network namespace, then exits).
   *   Works with any kubelet; needs Portico's lb-forwarder image (klipper-lb has no such command).
   * @default 'sysctls'
   */
  readonly forwardingMode: ForwardingMode;
}

/** The values of {@link ServiceLBConfig.forwardingMode}. */
export const FORWARDING_MODES = ['sysctls', 'init-container'] as const;
export type ForwardingMode = (typeof FORWARDING_MODES)[number];

/**
 * Everything the core reads. Order does not matter: the output is the same for any permutation.
 *
 * - `services`: Services of every namespace (non-LoadBalancer ones are needed for cleanup).
 * - `nodes`: every Node. Allow-list mode, pools, exclusion and taints are decided from all of them.
 * - `pods`: at least the svclb pods of `config.namespace` (labelled svcname + svcnamespace). Any other
 *   Pod with a `hostPort` that the shell chooses to feed in (e.g. from a cluster-wide watch) also
 *   counts as occupying that port on its node for the "no node can serve" diagnosis; pods without
 *   hostPorts are ignored.
 * - `endpointSlices`: EndpointSlices of every namespace (only used for `externalTrafficPolicy: Local`).
 * - `daemonSets`: the DaemonSets that exist now in `config.namespace` (the last applied state). They
 *   are what an invalid Service keeps, and what becomes an orphan to delete when no Service wants it.
 */
export interface ServiceLBSnapshot {
  readonly services: readonly Service[];
  readonly nodes: readonly Node[];
  readonly pods: readonly Pod[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly daemonSets: readonly DaemonSet[];
}

/**
 * What the core concluded about one Service; a metrics label (`portico_servicelb_services{state}`).
 *
 * - `ok`: the Service has a DaemonSet and a non-empty ingress.
 * - `pending`: the DaemonSet is desired and some node can serve it, but no ingress yet (pods not Ready,
 *   no Ready local endpoint with `externalTrafficPolicy: Local`, or nodes without a usable address).
 * - `noEligibleNodes`: no node can serve the Service (selection, exclusion, taints, or hostPort taken
 *   on every eligible node). The DaemonSet is still applied, so it recovers on its own.
 * - `invalid`: an annotation or field cannot be turned into a DaemonSet; the last applied DaemonSet
 *   (if any) is kept unchanged and the ingress keeps following its pods.
 * - `ignored`: not ours: not type LoadBalancer (and nothing to clean up), or `spec.loadBalancerClass` set.
 * - `cleanup`: ours to tear down: type changed away from LoadBalancer, Service being deleted, or gone.
 */
export type ServiceState = 'ok' | 'pending' | 'noEligibleNodes' | 'invalid' | 'ignored' | 'cleanup';

/** All states, in a fixed order (for metrics that must report zeroes). */
export const SERVICE_STATES: readonly ServiceState[] = Object.freeze(['ok', 'pending', 'noEligibleNodes', 'invalid', 'ignored', 'cleanup']);

/** What to do with the Service's DaemonSet. */
export type DaemonSetPlan =
  /** Server-side apply this object (it may equal what exists; SSA makes that a no-op). */
  | { readonly action: 'apply'; readonly daemonSet: DaemonSet }
  /** The desired object cannot be computed (state `invalid`): leave the existing one untouched. */
  | { readonly action: 'keep'; readonly name: string }
  /** Delete this DaemonSet from `config.namespace` (it exists and is not wanted). */
  | { readonly action: 'delete'; readonly name: string }
  /** Nothing exists and nothing is wanted. */
  | { readonly action: 'none' };

/**
 * The part of `Service.status` ServiceLB owns. `loadBalancer` is written whole; `conditions` holds
 * only Portico's own condition (see {@link LOAD_BALANCER_READY_CONDITION}), so a server-side apply of
 * the status subresource with Portico's field manager leaves other controllers' conditions alone.
 * An empty ingress is `loadBalancer: {}`, as K3s writes it.
 */
export interface DesiredServiceStatus {
  readonly loadBalancer: { readonly ingress?: readonly LoadBalancerIngress[] };
  readonly conditions: readonly Condition[];
}

/** What to do with the Service's status. */
export type StatusPlan =
  /** Do not touch the status (ignored Services, or a Service already gone). */
  | { readonly action: 'none' }
  /** The status already equals `status` (ignoring irrelevant differences); nothing to send. */
  | { readonly action: 'unchanged'; readonly status: DesiredServiceStatus }
  /** Patch (or server-side apply) the status subresource to `status`. */
  | { readonly action: 'patch'; readonly status: DesiredServiceStatus };

/**
 * When the shell should emit an Event:
 * - `now`: unconditionally, in this reconcile (problems; the core only returns these on a change of
 *   the Service's condition, so a steady problem is reported once, not on every resync);
 * - `afterApply`: only if the DaemonSet apply succeeded AND changed the object (K3s emits
 *   AppliedDaemonSet even on failure — §10.16 — Portico does not);
 * - `afterStatusPatch`: only if the status patch succeeded;
 * - `afterDelete`: only if the DaemonSet delete removed an object (not on NotFound).
 */
export type EventTiming = 'now' | 'afterApply' | 'afterStatusPatch' | 'afterDelete';

/** An Event the shell emits on the Service (source component `service-lb-controller`). */
export interface ServiceEvent {
  readonly type: 'Normal' | 'Warning';
  /** One of `EventReason` from @portico/labels. */
  readonly reason: string;
  readonly message: string;
  readonly when: EventTiming;
}

/** A user-facing problem with one field of the Service (annotation, label or spec field). */
export interface Problem {
  /** e.g. `annotation svccontroller.k3s.cattle.io/tolerations` or `spec.loadBalancerSourceRanges`. */
  readonly field: string;
  /** The offending value, verbatim. */
  readonly value: string;
  /** Why it is rejected (K3s's error text where K3s has one). */
  readonly reason: string;
}

/**
 * The finalizer writes the shell makes for one Service, in this order around its other writes
 * (STYLE rule 1: the core decides, the shell executes).
 */
export interface FinalizerPlan {
  /** First: finalizers to remove (K3s's legacy `svccontroller.<program>.cattle.io/daemonset`). */
  readonly removeFirst: readonly string[];
  /** Then, before any DaemonSet or status write: finalizers to add (the load-balancer cleanup finalizer). */
  readonly add: readonly string[];
  /** Last, after the DaemonSets are gone and the status is cleared: finalizers to remove (the cleanup finalizer). */
  readonly removeLast: readonly string[];
}

/** The core's verdict for one Service. */
export interface ServiceOutcome {
  /** `namespace/name`. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly state: ServiceState;
  /** One sentence explaining `state` (also the condition message when there is one). */
  readonly detail: string;
  readonly daemonSet: DaemonSetPlan;
  readonly status: StatusPlan;
  /** Events in emission order. */
  readonly events: readonly ServiceEvent[];
  /** Invalid inputs found (non-empty exactly when `state` is `invalid`). */
  readonly problems: readonly Problem[];
  /**
   * Other existing ServiceLB DaemonSets labelled for this Service (an older UID of a re-created
   * Service, or a pre-2024 uncapped K3s name), sorted. The shell deletes them; they are also orphans.
   */
  readonly staleDaemonSets: readonly string[];
  /** Finalizers to remove and add; all empty when the Service no longer exists. */
  readonly finalizers: FinalizerPlan;
}

/** The core's verdict for a whole snapshot. */
export interface Reconciliation {
  /** One outcome per Service in the snapshot, sorted by key. */
  readonly services: readonly ServiceOutcome[];
  /** Every ServiceLB DaemonSet that should exist after this reconcile (applied or kept), sorted by name. */
  readonly daemonSets: readonly DaemonSet[];
  /**
   * Names of existing ServiceLB DaemonSets in `config.namespace` that no Service in the snapshot
   * wants (their Service was deleted while nobody watched). Sorted. The shell deletes them.
   */
  readonly orphans: readonly string[];
  /**
   * Every object of the snapshot that fails validation (validate.ts), sorted: invalid Services are
   * in `services` with state `invalid`; invalid Nodes, Pods, EndpointSlices and DaemonSets were left
   * out. `render` exits 2 when this is not empty.
   */
  readonly problems: readonly ObjectProblem[];
}
