import { EventReason } from '@portico/labels';
import type { ServiceEvent } from './api.ts';
import { ingressText } from './status.ts';
import type { LoadBalancerIngress } from './types.ts';

// Event builders with K3s's exact message formats (spec §9.1). The core attaches them to outcomes;
// the shell may also call them directly (e.g. after deleting an orphan DaemonSet).

/** `Normal AppliedDaemonSet "Applied LoadBalancer DaemonSet <ns>/<name>"`, after a successful, changing apply. */
export function appliedDaemonSetEvent(namespace: string, name: string): ServiceEvent {
  return { type: 'Normal', reason: EventReason.AppliedDaemonSet, message: `Applied LoadBalancer DaemonSet ${namespace}/${name}`, when: 'afterApply' };
}

/** `Normal DeletedDaemonSet "Deleted LoadBalancer DaemonSet <ns>/<name>"`, after a delete that removed something. */
export function deletedDaemonSetEvent(namespace: string, name: string): ServiceEvent {
  return { type: 'Normal', reason: EventReason.DeletedDaemonSet, message: `Deleted LoadBalancer DaemonSet ${namespace}/${name}`, when: 'afterDelete' };
}

/** Go's `%v` of a `[]string`: `[a b c]`. */
function goList(entries: readonly LoadBalancerIngress[]): string {
  return `[${entries.map(ingressText).join(' ')}]`;
}

/**
 * After a successful status patch that changed the ingress: `Normal UpdatedLoadBalancer "Updated
 * LoadBalancer with new IPs: [old…] -> [new…]"` when the new ingress is non-empty, else
 * `Warning UnAvailableLoadBalancer "There are no available nodes for LoadBalancer"`.
 */
export function ingressChangedEvent(previous: readonly LoadBalancerIngress[], next: readonly LoadBalancerIngress[]): ServiceEvent {
  if (next.length === 0) {
    return { type: 'Warning', reason: EventReason.UnAvailableLoadBalancer, message: 'There are no available nodes for LoadBalancer', when: 'afterStatusPatch' };
  }
  return { type: 'Normal', reason: EventReason.UpdatedLoadBalancer, message: `Updated LoadBalancer with new IPs: ${goList(previous)} -> ${goList(next)}`, when: 'afterStatusPatch' };
}

/** `Warning NoEligibleNodes <why>` (Portico addition): no node can serve the Service. */
export function noEligibleNodesEvent(message: string): ServiceEvent {
  return { type: 'Warning', reason: EventReason.NoEligibleNodes, message, when: 'now' };
}

/** `Warning InvalidAnnotation <field, value, reason>` (Portico addition): the last applied DaemonSet is kept. */
export function invalidAnnotationEvent(message: string): ServiceEvent {
  return { type: 'Warning', reason: EventReason.InvalidAnnotation, message, when: 'now' };
}

/** `Warning InvalidService <fields>` (Portico addition): the Service fails validation; its last valid DaemonSet is kept. */
export function invalidServiceEvent(message: string): ServiceEvent {
  return { type: 'Warning', reason: EventReason.InvalidService, message, when: 'now' };
}
