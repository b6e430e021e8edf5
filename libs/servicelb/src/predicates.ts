import { Kube, type ProgramNames } from '@portico/labels';
import type { Service, ServicePort } from './types.ts';

// The upstream service controller's enqueue rules (kubernetes/cloud-provider controllers/service,
// spec §4.1), as pure predicates. A level-triggered shell does not need them to be correct (every
// reconcile recomputes everything); they let it skip work on irrelevant Service updates.

/** `type == LoadBalancer` and no `spec.loadBalancerClass`: the Service is ServiceLB's to serve. */
export function wantsLoadBalancer(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && !svc.spec?.loadBalancerClass;
}

/** Whether the Service carries the cleanup finalizer `service.kubernetes.io/load-balancer-cleanup`. */
export function hasCleanupFinalizer(svc: Service): boolean {
  return (svc.metadata?.finalizers ?? []).includes(Kube.loadBalancerCleanupFinalizer);
}

/**
 * Upstream `needsCleanup`: the Service has the cleanup finalizer and is being deleted or is no longer
 * of type LoadBalancer. The shell then deletes the DaemonSet, clears the status and removes the finalizer.
 */
export function needsCleanup(svc: Service): boolean {
  if (!hasCleanupFinalizer(svc)) return false;
  return Boolean(svc.metadata?.deletionTimestamp) || svc.spec?.type !== 'LoadBalancer';
}

/**
 * Whether reconciling the Service reads EndpointSlices: it is served (type LoadBalancer, no class),
 * has `externalTrafficPolicy: Local` and is NOT being deleted. A Service being deleted is cleaned up
 * whatever its endpoints are, so its cleanup must never wait for the EndpointSlice cache (which is
 * only kept running while some Service needs it).
 */
export function needsEndpointSlices(svc: Service): boolean {
  return wantsLoadBalancer(svc) && svc.spec?.externalTrafficPolicy === 'Local' && !svc.metadata?.deletionTimestamp;
}

function portKey(p: ServicePort): string {
  return JSON.stringify([p.name ?? '', p.protocol ?? '', p.port, p.nodePort ?? 0, p.targetPort ?? null, p.appProtocol ?? null]);
}

function sameList<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, key: (x: T) => string = (x) => JSON.stringify(x)): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((e, i) => key(e) === key(y[i]!));
}

/** JSON with sorted keys, for deep equality of small records. */
function stable(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  if (typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  const r = v as Record<string, unknown>;
  return `{${Object.keys(r)
    .sort()
    .filter((k) => r[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stable(r[k])}`)
    .join(',')}}`;
}

/**
 * Upstream `needsUpdate(old, new)`, exactly: true on a change of wantsLoadBalancer, source ranges
 * (only when the new Service wants a load balancer), ports (name, protocol, port, nodePort,
 * targetPort, appProtocol), sessionAffinity or its config, loadBalancerIP, externalIPs, any
 * annotation, UID, externalTrafficPolicy, healthCheckNodePort, or the NUMBER of ipFamilies.
 * Label changes do not count (that is K3s bug §10.3; see {@link needsDaemonSetUpdate}).
 */
export function needsUpdate(oldSvc: Service, newSvc: Service): boolean {
  const oldWants = wantsLoadBalancer(oldSvc);
  const newWants = wantsLoadBalancer(newSvc);
  if (!oldWants && !newWants) return false;
  if (oldWants !== newWants) return true;
  const o = oldSvc.spec ?? {};
  const n = newSvc.spec ?? {};
  if (newWants && !sameList(o.loadBalancerSourceRanges, n.loadBalancerSourceRanges)) return true;
  if (!sameList(o.ports, n.ports, portKey)) return true;
  if ((o.sessionAffinity ?? '') !== (n.sessionAffinity ?? '')) return true;
  if (stable(o.sessionAffinityConfig) !== stable(n.sessionAffinityConfig)) return true;
  if ((o.loadBalancerIP ?? '') !== (n.loadBalancerIP ?? '')) return true;
  if (!sameList(o.externalIPs, n.externalIPs)) return true;
  if (stable(oldSvc.metadata?.annotations ?? {}) !== stable(newSvc.metadata?.annotations ?? {})) return true;
  if ((oldSvc.metadata?.uid ?? '') !== (newSvc.metadata?.uid ?? '')) return true;
  if ((o.externalTrafficPolicy ?? '') !== (n.externalTrafficPolicy ?? '')) return true;
  if ((o.healthCheckNodePort ?? 0) !== (n.healthCheckNodePort ?? 0)) return true;
  return (o.ipFamilies ?? []).length !== (n.ipFamilies ?? []).length;
}

/**
 * Portico's rule for "the DaemonSet may have to change": upstream {@link needsUpdate}, plus a change
 * of the Service's `lbpool` label (§10.3 fixed: K3s ignores label changes, so a Service moved to
 * another pool keeps the old one until something else re-ensures it), plus a change of `clusterIPs`
 * or of the ipFamilies order (both feed the DaemonSet: DEST_IPS and the sysctls).
 */
export function needsDaemonSetUpdate(oldSvc: Service, newSvc: Service, names: ProgramNames): boolean {
  if (needsUpdate(oldSvc, newSvc)) return true;
  if (!wantsLoadBalancer(newSvc)) return false;
  if ((oldSvc.metadata?.labels?.[names.lbPoolLabel] ?? '') !== (newSvc.metadata?.labels?.[names.lbPoolLabel] ?? '')) return true;
  if (!sameList(oldSvc.spec?.clusterIPs, newSvc.spec?.clusterIPs)) return true;
  return !sameList(oldSvc.spec?.ipFamilies, newSvc.spec?.ipFamilies);
}
