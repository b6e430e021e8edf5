import { PorticoCondition } from '@portico/labels';
import type { DesiredServiceStatus } from './api.ts';
import type { Condition, LoadBalancerIngress, ServiceStatus } from './types.ts';

/**
 * The Service condition Portico writes (type `portico.io/LoadBalancerReady`, from @portico/labels).
 * `True` when the Service has ingress addresses and its current spec is applied; `False` with one of
 * {@link ConditionReason} otherwise. K3s writes no condition and leaves a Service silently Pending.
 */
export const LOAD_BALANCER_READY_CONDITION = PorticoCondition.loadBalancerReady;

/** Reasons of the `portico.io/LoadBalancerReady` condition (CamelCase, as the API conventions ask). */
export const ConditionReason = Object.freeze({
  /** True: ingress addresses are published. */
  IngressAssigned: 'IngressAssigned',
  /** False: no node can run the svclb pods (selection, exclusion, taints, or hostPort taken everywhere). */
  NoEligibleNodes: 'NoEligibleNodes',
  /** False: an annotation or field is invalid; the last applied DaemonSet is kept. */
  InvalidAnnotation: 'InvalidAnnotation',
  /** False: the Service fails API validation (a port, protocol, IP, name...); the last applied DaemonSet is kept. */
  InvalidService: 'InvalidService',
  /** False: some node can run the pods, but none is Ready yet. */
  PodsNotReady: 'PodsNotReady',
  /** False: `externalTrafficPolicy: Local` and no node with a Ready svclb pod has a Ready endpoint. */
  NoLocalEndpoints: 'NoLocalEndpoints',
  /** False: nodes with Ready svclb pods have no address of the Service's IP families. */
  NoUsableAddress: 'NoUsableAddress',
});
export type ConditionReasonValue = (typeof ConditionReason)[keyof typeof ConditionReason];

/** The condition Portico owns in a status, if present. */
export function findReadyCondition(status: ServiceStatus | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === LOAD_BALANCER_READY_CONDITION);
}

/**
 * Builds the condition, keeping `lastTransitionTime` from `previous` when the status (True/False) did
 * not change, as the API conventions require; otherwise `now` (RFC 3339, supplied by the shell: the
 * core reads no clock).
 */
export function readyCondition(
  previous: Condition | undefined,
  ready: boolean,
  reason: ConditionReasonValue,
  message: string,
  now: string,
  observedGeneration: number | undefined,
): Condition {
  const status = ready ? 'True' : 'False';
  const lastTransitionTime = previous && previous.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : now;
  return {
    lastTransitionTime,
    message,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    reason,
    status,
    type: LOAD_BALANCER_READY_CONDITION,
  };
}

/** Text of one ingress entry as K3s prints it in events: the IP, else the hostname. */
export function ingressText(entry: LoadBalancerIngress): string {
  return entry.ip || entry.hostname || '';
}

function entryEqual(a: LoadBalancerIngress, b: LoadBalancerIngress): boolean {
  if ((a.ip ?? '') !== (b.ip ?? '') || (a.hostname ?? '') !== (b.hostname ?? '')) return false;
  // The API server defaults ipMode to VIP on entries with an IP: treat absent as VIP there.
  const mode = (e: LoadBalancerIngress): string => e.ipMode ?? (e.ip ? 'VIP' : '');
  if (mode(a) !== mode(b)) return false;
  return JSON.stringify(a.ports ?? []) === JSON.stringify(b.ports ?? []);
}

/**
 * Whether two ingress lists are the same for ServiceLB: same entries in the same order, comparing ip,
 * hostname, ports and ipMode, where an absent ipMode on an IP entry equals `VIP`.
 */
export function ingressEqual(a: readonly LoadBalancerIngress[] | undefined, b: readonly LoadBalancerIngress[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((e, i) => entryEqual(e, y[i]!));
}

function conditionEqual(a: Condition | undefined, b: Condition | undefined): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && a.reason === b.reason && a.message === b.message && (a.observedGeneration ?? null) === (b.observedGeneration ?? null);
}

/**
 * Whether the stored status already says what ServiceLB wants: the ingress (see {@link ingressEqual})
 * and Portico's condition (ignoring `lastTransitionTime`). Other conditions and fields are not
 * ServiceLB's and are ignored. The shell patches only when this is false.
 */
export function statusEqual(current: ServiceStatus | undefined, desired: DesiredServiceStatus): boolean {
  if (!ingressEqual(current?.loadBalancer?.ingress, desired.loadBalancer.ingress)) return false;
  return conditionEqual(findReadyCondition(current), desired.conditions.find((c) => c.type === LOAD_BALANCER_READY_CONDITION));
}
