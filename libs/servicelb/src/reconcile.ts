import { programNames, ServiceLB, Kube, type ProgramNames } from '@portico/labels';
import type {
  DaemonSetPlan,
  FinalizerPlan,
  DesiredServiceStatus,
  Problem,
  Reconciliation,
  ServiceEvent,
  ServiceLBConfig,
  ServiceLBSnapshot,
  ServiceOutcome,
  ServiceState,
  StatusPlan,
} from './api.ts';
import { canonical } from './canonical.ts';
import { buildDaemonSet, requestsOnlyLocalTraffic } from './daemonset.ts';
import { appliedDaemonSetEvent, deletedDaemonSetEvent, ingressChangedEvent, invalidAnnotationEvent, invalidServiceEvent, noEligibleNodesEvent } from './events.ts';
import { computeIngress, localReadyNodes } from './ingress.ts';
import { daemonSetName } from './names.ts';
import { isAllowListMode, isExcludedFromLoadBalancers, matchesNodeSelector } from './nodes.ts';
import { hasCleanupFinalizer, wantsLoadBalancer } from './predicates.ts';
import { ConditionReason, findReadyCondition, ingressEqual, readyCondition, statusEqual, type ConditionReasonValue } from './status.ts';
import { DAEMONSET_AUTO_TOLERATIONS, formatTaint, untoleratedTaint } from './tolerations.ts';
import type { DaemonSet, EndpointSlice, Node, Pod, Service, Toleration } from './types.ts';
import { screenSnapshot, serviceKey as keyOfService, serviceStatusProblems, type ObjectProblem } from './validate.ts';
import type { FieldProblem } from '@portico/validation';

/** Who holds a hostPort on a node: a svclb DaemonSet (`ns/svclb-…`) or any other pod (`ns/pod`). */
interface PortHolder {
  /** `namespace/name` of the DaemonSet (svclb pods) or of the pod. */
  readonly holder: string;
  /** `namespace/name` of the Service when the holder is a svclb pod, else ''. */
  readonly serviceKey: string;
}

/** Nodes a DaemonSet's pods may run on, and why the others may not. */
interface Eligibility {
  readonly eligible: readonly string[];
  /** Human-readable rejection counts, in a fixed order. */
  readonly rejections: readonly string[];
}

/**
 * Everything the core derives from a snapshot once, so that reconciling one Service costs
 * O(its own objects). Build it once per batch of work with {@link buildIndex}. It never changes
 * apart from its memo caches, which only hold data derived from the same snapshot (so results do not
 * depend on the order in which Services are reconciled).
 */
export interface ServiceLBIndex {
  readonly config: ServiceLBConfig;
  readonly names: ProgramNames;
  /** Allow-list mode over all Nodes. */
  readonly allowList: boolean;
  readonly servicesByKey: ReadonlyMap<string, Service>;
  /** Nodes sorted by name. */
  readonly nodes: readonly Node[];
  readonly nodesByName: ReadonlyMap<string, Node>;
  /** svclb pods of `config.namespace`, by Service key (`namespace/name` from their labels). */
  readonly svclbPodsByService: ReadonlyMap<string, readonly Pod[]>;
  /**
   * node -> `port/PROTOCOL` -> holders, from every non-terminal pod with a hostPort and a nodeName.
   * Built on first use (only Services without ingress need it), then kept.
   */
  hostPortsByNode(): ReadonlyMap<string, ReadonlyMap<string, readonly PortHolder[]>>;
  /** Service key -> nodes with a Ready local endpoint (from EndpointSlices). */
  readonly localNodesByService: ReadonlyMap<string, ReadonlySet<string>>;
  /** ServiceLB DaemonSets that exist in `config.namespace`, by name. */
  readonly existingDaemonSets: ReadonlyMap<string, DaemonSet>;
  /** Service key -> names of existing ServiceLB DaemonSets labelled for it. */
  readonly existingByService: ReadonlyMap<string, readonly string[]>;
  /** Memo of node eligibility per (nodeSelector, tolerations); filled lazily. */
  readonly eligibilityMemo: Map<string, Eligibility>;
  /** Memo of ingress addresses per (IP families, serving nodes); filled lazily. */
  readonly addressMemo: Map<string, readonly string[]>;
  /** Services that fail validation (validate.ts), by key: reconciled as `invalid`, never built. */
  readonly invalidServices: ReadonlyMap<string, readonly FieldProblem[]>;
  /** Every invalid object of the snapshot (validate.ts), sorted; invalid Nodes, Pods, EndpointSlices and DaemonSets are left out of the index. */
  readonly problems: readonly ObjectProblem[];
}

const EMPTY_SET: ReadonlySet<string> = new Set();

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Whether a DaemonSet is one ServiceLB manages: in the LB namespace, with K3s's three labels. */
export function isServiceLBDaemonSet(ds: DaemonSet, config: ServiceLBConfig, names: ProgramNames): boolean {
  const labels = ds.metadata?.labels ?? {};
  return (
    ds.metadata?.namespace === config.namespace &&
    labels[names.nodeSelectorLabel] !== undefined &&
    labels[names.svcNameLabel] !== undefined &&
    labels[names.svcNamespaceLabel] !== undefined
  );
}

/**
 * Indexes a snapshot (see {@link ServiceLBSnapshot} for what each list must contain). Order of the
 * input lists does not matter. Objects of other namespaces than the LB namespace are ignored where
 * only that namespace counts (svclb pods, DaemonSets).
 */
export function buildIndex(input: ServiceLBSnapshot, config: ServiceLBConfig): ServiceLBIndex {
  const names = programNames(config.program);
  const screened = screenSnapshot(input, names);
  const snapshot = screened.snapshot;
  const servicesByKey = new Map<string, Service>();
  for (const svc of snapshot.services) servicesByKey.set(keyOfService(svc), svc);

  const nodes = [...snapshot.nodes].sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
  const nodesByName = new Map<string, Node>();
  for (const n of nodes) nodesByName.set(n.metadata?.name ?? '', n);

  const svclbPodsByService = new Map<string, Pod[]>();
  for (const pod of snapshot.pods) {
    if (pod.metadata?.namespace !== config.namespace) continue;
    const labels = pod.metadata.labels;
    const svcName = labels?.[names.svcNameLabel];
    const svcNamespace = labels?.[names.svcNamespaceLabel];
    if (svcName !== undefined && svcNamespace !== undefined) push(svclbPodsByService, keyOf(svcNamespace, svcName), pod);
  }
  let hostPorts: Map<string, Map<string, PortHolder[]>> | undefined;
  const hostPortsByNode = (): ReadonlyMap<string, ReadonlyMap<string, readonly PortHolder[]>> => (hostPorts ??= indexHostPorts(snapshot.pods, config, names));

  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of snapshot.endpointSlices) {
    const svcName = slice.metadata?.labels?.[Kube.serviceNameLabel];
    if (svcName) push(slicesByService, keyOf(slice.metadata?.namespace, svcName), slice);
  }
  const localNodesByService = new Map<string, ReadonlySet<string>>();
  for (const [key, slices] of slicesByService) localNodesByService.set(key, localReadyNodes(slices));

  const existingDaemonSets = new Map<string, DaemonSet>();
  const existingByService = new Map<string, string[]>();
  for (const ds of snapshot.daemonSets) {
    if (!isServiceLBDaemonSet(ds, config, names)) continue;
    const name = ds.metadata?.name ?? '';
    existingDaemonSets.set(name, ds);
    const labels = ds.metadata!.labels!;
    push(existingByService, keyOf(labels[names.svcNamespaceLabel], labels[names.svcNameLabel]), name);
  }
  for (const list of existingByService.values()) list.sort(cmp);

  return {
    config,
    names,
    allowList: isAllowListMode(nodes, names) || screened.invalidNodeAllowListed,
    servicesByKey,
    nodes,
    nodesByName,
    svclbPodsByService,
    hostPortsByNode,
    localNodesByService,
    existingDaemonSets,
    existingByService,
    eligibilityMemo: new Map(),
    addressMemo: new Map(),
    invalidServices: screened.invalidServices,
    problems: screened.problems,
  };
}

/** node -> `port/PROTOCOL` -> holders (see {@link ServiceLBIndex.hostPortsByNode}). */
function indexHostPorts(pods: readonly Pod[], config: ServiceLBConfig, names: ProgramNames): Map<string, Map<string, PortHolder[]>> {
  const out = new Map<string, Map<string, PortHolder[]>>();
  for (const pod of pods) {
    const nodeName = pod.spec?.nodeName;
    const phase = pod.status?.phase;
    if (!nodeName || phase === 'Succeeded' || phase === 'Failed') continue;
    const labels = pod.metadata?.labels ?? {};
    const svcName = labels[names.svcNameLabel];
    const svcNamespace = labels[names.svcNamespaceLabel];
    const serviceKey = pod.metadata?.namespace === config.namespace && svcName !== undefined && svcNamespace !== undefined ? keyOf(svcNamespace, svcName) : '';
    const appLabel = labels[ServiceLB.appLabel];
    const holder = serviceKey && appLabel ? `${config.namespace}/${appLabel}` : keyOf(pod.metadata?.namespace, pod.metadata?.name);
    for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
      for (const p of c.ports ?? []) {
        if (!p.hostPort) continue;
        let byPort = out.get(nodeName);
        if (!byPort) out.set(nodeName, (byPort = new Map()));
        push(byPort, `${p.hostPort}/${p.protocol || 'TCP'}`, { holder, serviceKey });
      }
    }
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "a", "a and b", "a, b and c", "a, b, c and 2 more". */
function listText(items: readonly string[], max = 3): string {
  if (items.length <= 1) return items[0] ?? '';
  if (items.length <= max) return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

/** Nodes the DaemonSet's pods may run on: nodeSelector, exclusion label, NoSchedule/NoExecute taints. */
function eligibility(index: ServiceLBIndex, nodeSelector: Readonly<Record<string, string>> | undefined, tolerations: readonly Toleration[]): Eligibility {
  const memoKey = JSON.stringify([nodeSelector ?? null, tolerations]);
  const memo = index.eligibilityMemo.get(memoKey);
  if (memo) return memo;
  const { names } = index;
  const all = [...tolerations, ...DAEMONSET_AUTO_TOLERATIONS];
  const eligible: string[] = [];
  let notAllowListed = 0;
  let notInPool = 0;
  let excluded = 0;
  const taints = new Map<string, number>();
  for (const node of index.nodes) {
    const name = node.metadata?.name ?? '';
    if (!matchesNodeSelector(node, nodeSelector)) {
      if (node.metadata?.labels?.[names.enableLbLabel] !== 'true') notAllowListed++;
      else notInPool++;
      continue;
    }
    if (isExcludedFromLoadBalancers(node)) {
      excluded++;
      continue;
    }
    const taint = untoleratedTaint(node.spec?.taints, all);
    if (taint) {
      const t = formatTaint(taint);
      taints.set(t, (taints.get(t) ?? 0) + 1);
      continue;
    }
    eligible.push(name);
  }
  const rejections: string[] = [];
  if (notAllowListed > 0) rejections.push(`${plural(notAllowListed, 'node')} not labelled ${names.enableLbLabel}=true (allow-list mode is on)`);
  if (notInPool > 0) rejections.push(`${plural(notInPool, 'node')} not in pool ${names.lbPoolLabel}=${nodeSelector?.[names.lbPoolLabel] ?? ''}`);
  if (excluded > 0) rejections.push(`${plural(excluded, 'node')} labelled ${Kube.excludeFromExternalLBLabel}`);
  const taintTexts = [...taints.entries()].sort((a, b) => cmp(a[0], b[0])).map(([t, n]) => `${t} on ${plural(n, 'node')}`);
  if (taintTexts.length > 0) rejections.push(`untolerated taints: ${taintTexts.join(', ')}`);
  const result = { eligible, rejections };
  index.eligibilityMemo.set(memoKey, result);
  return result;
}

/**
 * Why no node can serve the Service, or null when some node can. A node can serve when it is eligible
 * and none of the Service's (hostPort, protocol) pairs is held there by another Service's svclb pod
 * or another pod. A Service that already has a scheduled pod on an eligible node can serve.
 *
 * Limits (documented): hostPorts are known only from the pods in the snapshot (at least the svclb
 * pods of the LB namespace); a pod that is not scheduled yet holds nothing, so two new Services on
 * one port are told apart only once the scheduler has placed one of them.
 */
function whyNoNodeCanServe(index: ServiceLBIndex, svc: Service, key: string, ds: DaemonSet, tolerations: readonly Toleration[]): string | null {
  const podSpec = ds.spec?.template?.spec;
  const { eligible, rejections } = eligibility(index, podSpec?.nodeSelector, tolerations);
  if (eligible.length === 0) {
    if (index.nodes.length === 0) return 'No node can run the LoadBalancer pods: the cluster has no nodes';
    return `No node can run the LoadBalancer pods: of ${plural(index.nodes.length, 'node')}, ${rejections.join('; ')}`;
  }
  const eligibleSet = new Set(eligible);
  for (const pod of index.svclbPodsByService.get(key) ?? []) {
    const n = pod.spec?.nodeName;
    if (n && eligibleSet.has(n) && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') return null;
  }
  const wanted = [...new Set((svc.spec?.ports ?? []).map((p) => `${p.port}/${p.protocol || 'TCP'}`))];
  const hostPorts = index.hostPortsByNode();
  // port -> nodes blocked by it, and the holders seen
  const blockedBy = new Map<string, { nodes: number; holders: Set<string> }>();
  for (const node of eligible) {
    const byPort = hostPorts.get(node);
    let blocked = false;
    if (byPort) {
      for (const pp of wanted) {
        const others = (byPort.get(pp) ?? []).filter((h) => h.serviceKey !== key);
        if (others.length === 0) continue;
        blocked = true;
        let entry = blockedBy.get(pp);
        if (!entry) blockedBy.set(pp, (entry = { nodes: 0, holders: new Set() }));
        entry.nodes++;
        for (const h of others) entry.holders.add(h.holder);
      }
    }
    if (!blocked) return null;
  }
  const total = eligible.length;
  const where = total === 1 ? 'the only eligible node' : `all ${total} eligible nodes`;
  const entries = wanted.filter((pp) => blockedBy.has(pp)).map((pp) => ({ pp, ...blockedBy.get(pp)! }));
  const single = entries.find((e) => e.nodes === total);
  if (entries.length === 1 && single) {
    return `hostPort ${single.pp} is taken on ${where} by ${listText([...single.holders].sort(cmp))}`;
  }
  const parts = entries.map((e) => `hostPort ${e.pp} on ${plural(e.nodes, 'node')} by ${listText([...e.holders].sort(cmp))}`);
  return `A hostPort this Service needs is taken on ${where}: ${parts.join('; ')}`;
}

function problemText(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.field}: invalid value ${JSON.stringify(p.value)}: ${p.reason}`).join('; ');
}

interface StatusDecision {
  readonly ready: boolean;
  readonly reason: ConditionReasonValue;
  readonly message: string;
}

function statusPlanFor(svc: Service, desired: DesiredServiceStatus): StatusPlan {
  return statusEqual(svc.status, desired) ? { action: 'unchanged', status: desired } : { action: 'patch', status: desired };
}

function outcome(
  svc: { namespace: string; name: string },
  state: ServiceState,
  detail: string,
  daemonSet: DaemonSetPlan,
  status: StatusPlan,
  events: ServiceEvent[],
  problems: readonly Problem[],
  staleDaemonSets: readonly string[],
): ServiceOutcome {
  return { key: `${svc.namespace}/${svc.name}`, namespace: svc.namespace, name: svc.name, state, detail, daemonSet, status, events, problems, staleDaemonSets, finalizers: NO_FINALIZERS };
}

const NO_FINALIZERS: FinalizerPlan = Object.freeze({ removeFirst: [], add: [], removeLast: [] });

/**
 * The finalizer writes for `svc` given its outcome:
 * 1. K3s's legacy finalizer is removed wherever found (K3s no longer uses it);
 * 2. a Service that wants a load balancer and is not being deleted gets the cleanup finalizer
 *    (`service.kubernetes.io/load-balancer-cleanup`) before anything is created for it;
 * 3. once the outcome is `cleanup` (nothing of ours left after this reconcile's writes), the cleanup
 *    finalizer is removed, so a Service is never left stuck; never on a Service with
 *    spec.loadBalancerClass, which ServiceLB does not write to.
 */
function finalizerPlan(svc: Service, o: ServiceOutcome, legacyFinalizer: string): FinalizerPlan {
  const removeFirst = (svc.metadata?.finalizers ?? []).includes(legacyFinalizer) ? [legacyFinalizer] : [];
  const add = wantsLoadBalancer(svc) && !svc.metadata?.deletionTimestamp && !hasCleanupFinalizer(svc) ? [Kube.loadBalancerCleanupFinalizer] : [];
  const removeLast = o.state === 'cleanup' && (hasCleanupFinalizer(svc) || add.length > 0) && !svc.spec?.loadBalancerClass ? [Kube.loadBalancerCleanupFinalizer] : [];
  return removeFirst.length === 0 && add.length === 0 && removeLast.length === 0 ? NO_FINALIZERS : { removeFirst, add, removeLast };
}

/**
 * The core's verdict for one Service of the index (see {@link ServiceOutcome}). `now` (RFC 3339) is
 * only used as `lastTransitionTime` of a condition whose status changes.
 *
 * Decision order:
 * 1. `spec.loadBalancerClass` set → `ignored`: no DaemonSet (an existing one is deleted), status never
 *    touched (§10.9 fixed: K3s's status worker empties such a Service's ingress).
 * 2. type is not LoadBalancer → DaemonSet deleted if it exists; the status is cleared only if the
 *    Service still carries the cleanup finalizer and has something of ours (`cleanup`), else `ignored`.
 * 3. being deleted → `cleanup`: DaemonSet deleted, status left alone.
 * 4. the DaemonSet cannot be built → `invalid`: the existing one is kept; an Event names the field.
 * 5. otherwise the DaemonSet is applied and the ingress computed: `ok`, `pending` or `noEligibleNodes`.
 */
export function reconcileService(index: ServiceLBIndex, svc: Service, now: string): ServiceOutcome {
  const o = decideService(index, svc, now);
  return { ...o, finalizers: finalizerPlan(svc, o, index.names.legacyFinalizer) };
}

function decideService(index: ServiceLBIndex, svc: Service, now: string): ServiceOutcome {
  const { config, names } = index;
  const key = keyOfService(svc);
  const slash = key.indexOf('/');
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  const id = { namespace, name };
  const uid = svc.metadata?.uid;
  const wantedName = daemonSetName(name, typeof uid === 'string' ? uid : '');
  const existing = index.existingByService.get(key) ?? [];
  const stale = existing.filter((n) => n !== wantedName);
  const currentExists = index.existingDaemonSets.has(wantedName);
  const deletePlan: DaemonSetPlan = currentExists ? { action: 'delete', name: wantedName } : { action: 'none' };
  const deleteEvents = (): ServiceEvent[] => (currentExists ? [deletedDaemonSetEvent(config.namespace, wantedName)] : []);

  const invalid = index.invalidServices.get(key);
  if (invalid) return invalidServiceOutcome(index, svc, id, wantedName, currentExists, invalid, now);

  if (svc.spec?.loadBalancerClass) {
    const detail = `spec.loadBalancerClass is ${JSON.stringify(svc.spec.loadBalancerClass)}: another controller implements this Service`;
    return outcome(id, 'ignored', detail, deletePlan, { action: 'none' }, deleteEvents(), [], stale);
  }

  if (svc.spec?.type !== 'LoadBalancer') {
    const ours = findReadyCondition(svc.status) !== undefined || (svc.status?.loadBalancer?.ingress ?? []).length > 0;
    const clear = hasCleanupFinalizer(svc) && ours;
    const status: StatusPlan = clear
      ? { action: 'patch', status: { loadBalancer: {}, conditions: [] } }
      : { action: 'none' };
    const events = deleteEvents();
    const cleanup = currentExists || stale.length > 0 || clear || hasCleanupFinalizer(svc);
    const detail = `type is ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer`;
    return outcome(id, cleanup ? 'cleanup' : 'ignored', detail, deletePlan, status, events, [], stale);
  }

  if (svc.metadata?.deletionTimestamp) {
    return outcome(id, 'cleanup', 'the Service is being deleted', deletePlan, { action: 'none' }, deleteEvents(), [], stale);
  }

  const built = buildDaemonSet(svc, { config, names, allowList: index.allowList });
  const local = requestsOnlyLocalTraffic(svc);
  const ingress = computeIngress(svc, {
    pods: index.svclbPodsByService.get(key) ?? [],
    nodesByName: index.nodesByName,
    localReadyNodes: index.localNodesByService.get(key) ?? EMPTY_SET,
    rootless: config.rootless,
    addressMemo: index.addressMemo,
  });
  const previousCondition = findReadyCondition(svc.status);
  const events: ServiceEvent[] = [];

  let state: ServiceState;
  let plan: DaemonSetPlan;
  let decision: StatusDecision;
  let problems: readonly Problem[] = [];
  if (!built.ok) {
    state = 'invalid';
    problems = built.problems;
    plan = currentExists ? { action: 'keep', name: wantedName } : { action: 'none' };
    const kept = currentExists ? `the DaemonSet ${config.namespace}/${wantedName} from the last valid configuration is kept` : 'no DaemonSet is created';
    decision = { ready: false, reason: ConditionReason.InvalidAnnotation, message: `${problemText(problems)}; ${kept}` };
  } else {
    plan = { action: 'apply', daemonSet: built.daemonSet };
    events.push(appliedDaemonSetEvent(config.namespace, wantedName));
    if (ingress.ingress.length > 0) {
      state = 'ok';
      const n = ingress.servingNodes.length;
      decision = { ready: true, reason: ConditionReason.IngressAssigned, message: `${plural(ingress.ingress.length, 'ingress address', 'ingress addresses')} from ${plural(n, 'node')}` };
    } else {
      const why = whyNoNodeCanServe(index, svc, key, built.daemonSet, built.tolerations);
      if (why !== null) {
        state = 'noEligibleNodes';
        decision = { ready: false, reason: ConditionReason.NoEligibleNodes, message: why };
      } else {
        state = 'pending';
        if (ingress.readyNodes.length === 0) {
          decision = { ready: false, reason: ConditionReason.PodsNotReady, message: 'Waiting for a svclb pod to become Ready' };
        } else if (local && ingress.servingNodes.length === 0) {
          decision = {
            ready: false,
            reason: ConditionReason.NoLocalEndpoints,
            message: `externalTrafficPolicy is Local and none of the ${plural(ingress.readyNodes.length, 'node')} with a Ready svclb pod has a Ready endpoint`,
          };
        } else {
          const families = (svc.spec?.ipFamilies ?? []).join(', ') || 'none';
          decision = {
            ready: false,
            reason: ConditionReason.NoUsableAddress,
            message: `None of the ${plural(ingress.servingNodes.length, 'node')} with a Ready svclb pod has an InternalIP or ExternalIP of the Service's IP families (${families})`,
          };
        }
      }
    }
  }

  const condition = readyCondition(previousCondition, decision.ready, decision.reason, decision.message, now, svc.metadata?.generation);
  // Keys already in canonical order (a test checks it): no copy needed.
  const desired: DesiredServiceStatus = {
    conditions: [condition],
    loadBalancer: ingress.ingress.length > 0 ? { ingress: ingress.ingress } : {},
  };
  const status = statusPlanFor(svc, desired);
  const conditionChanged = !previousCondition || previousCondition.reason !== condition.reason || previousCondition.message !== condition.message;
  if (conditionChanged && decision.reason === ConditionReason.NoEligibleNodes) events.unshift(noEligibleNodesEvent(decision.message));
  if (conditionChanged && decision.reason === ConditionReason.InvalidAnnotation) events.unshift(invalidAnnotationEvent(decision.message));
  const previousIngress = svc.status?.loadBalancer?.ingress ?? [];
  if (!ingressEqual(previousIngress, ingress.ingress)) events.push(ingressChangedEvent(previousIngress, ingress.ingress));
  return outcome(id, state, decision.message, plan, status, events, problems, stale);
}

/**
 * The verdict for a Service that fails validation (validate.ts): state `invalid`; no DaemonSet is
 * built from it, the one of its last valid version (if any) is kept unchanged; nothing else (stale
 * DaemonSets included) is touched. When the Service is a LoadBalancer Service ServiceLB serves and
 * its status can be read, the status gets the condition `InvalidService` (its ingress unchanged) and
 * a Warning `InvalidService` Event names every field, once per change; otherwise only the Event.
 */
function invalidServiceOutcome(
  index: ServiceLBIndex,
  svc: Service,
  id: { namespace: string; name: string },
  wantedName: string,
  currentExists: boolean,
  found: readonly FieldProblem[],
  now: string,
): ServiceOutcome {
  const { config } = index;
  const problems: Problem[] = found.map((p) => ({ field: p.field, value: p.value, reason: p.message }));
  const plan: DaemonSetPlan = currentExists ? { action: 'keep', name: wantedName } : { action: 'none' };
  const kept = currentExists ? `the DaemonSet ${config.namespace}/${wantedName} from the last valid version is kept` : 'no DaemonSet is created';
  const message = `${problemText(problems)}; ${kept}`;
  const spec: unknown = svc.spec;
  const served = typeof spec === 'object' && spec !== null && svc.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
  const statusReadable = serviceStatusProblems(svc.status).length === 0;
  if (!served || !statusReadable) {
    return outcome(id, 'invalid', message, plan, { action: 'none' }, [invalidServiceEvent(message)], problems, []);
  }
  const previousCondition = findReadyCondition(svc.status);
  const condition = readyCondition(previousCondition, false, ConditionReason.InvalidService, message, now, typeof svc.metadata?.generation === 'number' ? svc.metadata.generation : undefined);
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const desired: DesiredServiceStatus = { conditions: [condition], loadBalancer: ingress.length > 0 ? { ingress } : {} };
  const changed = !previousCondition || previousCondition.reason !== condition.reason || previousCondition.message !== condition.message;
  return outcome(id, 'invalid', message, plan, statusPlanFor(svc, desired), changed ? [invalidServiceEvent(message)] : [], problems, []);
}

/**
 * The verdict for a queue key `namespace/name`: {@link reconcileService} when the Service is in the
 * index; otherwise (the Service is gone) every ServiceLB DaemonSet still labelled for it is stale and
 * listed for deletion, with state `cleanup` (or `ignored` when nothing is left).
 */
export function reconcileKey(index: ServiceLBIndex, key: string, now: string): ServiceOutcome {
  const svc = index.servicesByKey.get(key);
  if (svc) return reconcileService(index, svc, now);
  const slash = key.indexOf('/');
  const id = { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
  const stale = index.existingByService.get(key) ?? [];
  const state: ServiceState = stale.length > 0 ? 'cleanup' : 'ignored';
  const events = stale.map((n) => deletedDaemonSetEvent(index.config.namespace, n));
  return outcome(id, state, 'the Service no longer exists', { action: 'none' }, { action: 'none' }, events, [], stale);
}

/**
 * A kept DaemonSet as the reconciliation lists it: the object as it exists, without server-owned
 * fields (status, uid, resourceVersion, managedFields, timestamps), so render output is stable.
 */
function keptView(ds: DaemonSet): DaemonSet {
  const m = ds.metadata ?? {};
  return canonical({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: m.name, namespace: m.namespace, labels: m.labels, annotations: m.annotations },
    spec: ds.spec,
  });
}

/**
 * Reconciles a whole snapshot: one outcome per Service (sorted by key), every DaemonSet that should
 * exist (applied or kept; sorted by name) and the orphans to delete. Same snapshot in any order →
 * identical result. `now` as in {@link reconcileService}.
 */
export function reconcile(snapshot: ServiceLBSnapshot, config: ServiceLBConfig, now: string): Reconciliation {
  const index = buildIndex(snapshot, config);
  const keys = [...index.servicesByKey.keys()].sort(cmp);
  const services = keys.map((k) => reconcileService(index, index.servicesByKey.get(k)!, now));
  const wanted = new Map<string, DaemonSet>();
  for (const o of services) {
    if (o.daemonSet.action === 'apply') wanted.set(o.daemonSet.daemonSet.metadata!.name!, o.daemonSet.daemonSet);
    else if (o.daemonSet.action === 'keep') wanted.set(o.daemonSet.name, keptView(index.existingDaemonSets.get(o.daemonSet.name)!));
  }
  const daemonSets = [...wanted.keys()].sort(cmp).map((n) => wanted.get(n)!);
  const orphans = [...index.existingDaemonSets.keys()].filter((n) => !wanted.has(n)).sort(cmp);
  return { services, daemonSets, orphans, problems: index.problems };
}

/**
 * Sorts objects of a parsed snapshot into a {@link ServiceLBSnapshot} by `kind`. Lists are
 * flattened: `kind: List` (kubectl) and typed lists such as `ServiceList` (raw API responses, whose
 * items carry no `kind`: it is taken from the list's kind). Other kinds are ignored.
 */
export function snapshotFromObjects(objects: readonly unknown[]): ServiceLBSnapshot {
  const services: Service[] = [];
  const nodes: Node[] = [];
  const pods: Pod[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const daemonSets: DaemonSet[] = [];
  const visit = (o: unknown, impliedKind: string | undefined): void => {
    if (o === null || typeof o !== 'object') return;
    const obj = o as { kind?: unknown; items?: unknown };
    const kind = typeof obj.kind === 'string' ? obj.kind : impliedKind;
    if (kind !== undefined && kind.endsWith('List') && Array.isArray(obj.items)) {
      const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
      for (const item of obj.items) visit(item, itemKind);
      return;
    }
    switch (kind) {
      case 'Service':
        services.push(o as Service);
        break;
      case 'Node':
        nodes.push(o as Node);
        break;
      case 'Pod':
        pods.push(o as Pod);
        break;
      case 'EndpointSlice':
        endpointSlices.push(o as EndpointSlice);
        break;
      case 'DaemonSet':
        daemonSets.push(o as DaemonSet);
        break;
      default:
        break;
    }
  };
  for (const o of objects) visit(o, undefined);
  return { services, nodes, pods, endpointSlices, daemonSets };
}
