import { ServiceLB } from '@portico/labels';
import { requestsOnlyLocalTraffic } from './daemonset.ts';
import { ingressAddresses } from '@portico/ip-selection';
import { isExcludedFromLoadBalancers } from './nodes.ts';
import { serviceIPFamilies } from './source-ranges.ts';
import type { EndpointSlice, LoadBalancerIngress, Node, Pod, Service } from './types.ts';

/** Inputs of {@link computeIngress} besides the Service. */
export interface IngressInputs {
  /** The Service's svclb pods (any order; pods of other Services must not be passed). */
  readonly pods: readonly Pod[];
  readonly nodesByName: ReadonlyMap<string, Node>;
  /**
   * Nodes with a Ready local endpoint of the Service (see {@link localReadyNodes}); only read when the
   * Service has `externalTrafficPolicy: Local`.
   */
  readonly localReadyNodes: ReadonlySet<string>;
  readonly rootless: boolean;
  /**
   * Optional memo shared across calls on one snapshot: ingress addresses per (IP families, serving
   * nodes). Many Services run on the same node set; their addresses are computed once.
   */
  readonly addressMemo?: Map<string, readonly string[]>;
}

/** The ingress of one Service and how it was reached (for the condition message). */
export interface IngressResult {
  /** Ingress entries, `ipMode: VIP` on each, in family order then address order. */
  readonly ingress: readonly LoadBalancerIngress[];
  /** Nodes with a Ready svclb pod (podIP set, nodeName set, node known), sorted. */
  readonly readyNodes: readonly string[];
  /** `readyNodes` after the Local-endpoint filter and the exclusion label, sorted: the nodes listed. */
  readonly servingNodes: readonly string[];
}

/** Whether a pod has condition Ready=True. */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Nodes hosting a Ready endpoint of a Service (K3s §6 step 1): over the EndpointSlices labelled
 * `kubernetes.io/service-name=<name>` in the Service's namespace, the `nodeName` of each endpoint whose
 * `targetRef.kind` is `Pod` and whose `conditions.ready` is exactly true (null/absent = not ready).
 */
export function localReadyNodes(slices: readonly EndpointSlice[]): Set<string> {
  const out = new Set<string>();
  for (const slice of slices) {
    for (const ep of slice.endpoints ?? []) {
      if (ep.targetRef?.kind !== 'Pod') continue;
      if (ep.conditions?.ready !== true) continue;
      if (!ep.nodeName) continue;
      out.add(ep.nodeName);
    }
  }
  return out;
}

/**
 * `status.loadBalancer.ingress` of a LoadBalancer Service (K3s `getStatus`/`podIPs`/`filterByIPFamily`, §6):
 * 1. pods with nodeName, podIP and Ready=True, on a node that exists;
 * 2. with `externalTrafficPolicy: Local`, only nodes in `localReadyNodes`;
 * 3. Portico: never a node excluded by `node.kubernetes.io/exclude-from-external-load-balancers` (§10.12);
 * 4. addresses by @portico/ip-selection `ingressAddresses` with Portico's defaults: ExternalIPs
 *    are preferred PER FAMILY (for each family, the ExternalIPs of that family if any serving node
 *    has one, else the InternalIPs of that family) — the fix for §10.7, where K3s lets one ExternalIP
 *    of any family suppress every InternalIP, so an IPv6 ExternalIP empties an IPv4-only Service's
 *    ingress. Within a family, as in K3s, a node with only an InternalIP is not listed next to nodes
 *    with ExternalIPs (publishing a private address beside public ones would advertise an address
 *    clients outside cannot reach). Families in `spec.ipFamilies` order (unlisted families dropped;
 *    no ipFamilies → empty); within a family de-duplicated and sorted NUMERICALLY in canonical text
 *    (K3s sorts as strings, `10.0.0.10` before `10.0.0.9`; deterministic either way). Hostname and
 *    DNS addresses are never used;
 * 5. rootless: a non-empty result becomes `127.0.0.1`;
 * 6. every entry gets `ipMode: VIP` explicitly (what the API server defaults it to), so a stored
 *    status compares equal and the controller does not loop (§6 ipMode caveat).
 */
export function computeIngress(svc: Service, inputs: IngressInputs): IngressResult {
  const local = requestsOnlyLocalTraffic(svc);
  const ready = new Set<string>();
  for (const pod of inputs.pods) {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName || !pod.status?.podIP || !isPodReady(pod)) continue;
    if (!inputs.nodesByName.has(nodeName)) continue;
    ready.add(nodeName);
  }
  const readyNodes = [...ready].sort();
  const servingNodes = readyNodes.filter((n) => (!local || inputs.localReadyNodes.has(n)) && !isExcludedFromLoadBalancers(inputs.nodesByName.get(n)!));

  const ipFamilies = serviceIPFamilies(svc);
  const memoKey = `${ipFamilies.join(',')}|${servingNodes.join(',')}`;
  let ips = inputs.addressMemo?.get(memoKey);
  if (!ips) {
    ips = ingressAddresses(
      servingNodes.map((n) => inputs.nodesByName.get(n)!.status?.addresses ?? []),
      { ipFamilies, externalPrecedence: 'per-family', sort: 'numeric' },
    );
    inputs.addressMemo?.set(memoKey, ips);
  }
  const result = ips.length > 0 && inputs.rootless ? [ServiceLB.rootlessIngressIP] : ips;
  return { ingress: result.map((ip) => ({ ip, ipMode: 'VIP' })), readyNodes, servingNodes };
}
