/**
 * @portico/servicelb — the pure ServiceLB core (type:core: no I/O, no clock, no randomness, no env).
 *
 * From Services, Nodes, svclb Pods, EndpointSlices, the existing svclb DaemonSets and a
 * {@link ServiceLBConfig}, it computes, with K3s parity and K3s's known bugs fixed (docs/servicelb.md):
 * - the svclb DaemonSet of each LoadBalancer Service ({@link buildDaemonSet});
 * - its `status.loadBalancer.ingress` and a `portico.io/LoadBalancerReady` condition ({@link computeIngress});
 * - the Events to emit and a per-Service state for metrics ({@link ServiceOutcome}).
 *
 * Typical shell use (apps/servicelb-controller):
 * ```ts
 * const index = buildIndex(snapshotFromCaches(), config);   // once per batch of queue keys
 * for (const key of batch) {
 *   const o = reconcileKey(index, key, new Date().toISOString());
 *   // o.daemonSet: apply (SSA) | keep | delete | none;  o.staleDaemonSets: delete
 *   // o.status: patch | unchanged | none;  o.events: emit per `when`;  o.state: metrics
 * }
 * ```
 * `reconcile(snapshot, config, now)` does the whole snapshot at once (and finds orphans);
 * `renderServiceLB(objects, config)` is the `render` command.
 */

export type {
  DaemonSetPlan,
  DesiredServiceStatus,
  EventTiming,
  Problem,
  Reconciliation,
  ServiceEvent,
  ServiceLBConfig,
  ServiceLBSnapshot,
  ServiceOutcome,
  FinalizerPlan,
  ServiceState,
  StatusPlan,
} from './api.ts';
export { FORWARDING_MODES, SERVICE_STATES, type ForwardingMode } from './api.ts';
export type {
  AnyObject,
  Condition,
  ContainerPort,
  DaemonSet,
  EndpointSlice,
  EnvVar,
  ForwardingInitContainer,
  LoadBalancerIngress,
  Meta,
  Node,
  NodeAddress,
  NodeSelectorRequirement,
  Pod,
  Service,
  ServicePort,
  ServiceStatus,
  SvclbContainer,
  Taint,
  Toleration,
} from './types.ts';

// Configuration.
export { DEFAULT_CONFIG, serviceLBConfig, validateConfig } from './config.ts';

// Whole-snapshot and per-Service reconciliation.
export { buildIndex, isServiceLBDaemonSet, reconcile, reconcileKey, reconcileService, snapshotFromObjects, type ServiceLBIndex } from './reconcile.ts';

// The rules, individually (each is pure and unit-tested).
export { daemonSetName } from './names.ts';
export { buildDaemonSet, requestsOnlyLocalTraffic, type DaemonSetContext, type DaemonSetResult } from './daemonset.ts';
export { serviceIPFamilies, sourceRanges, type SourceRangesResult } from './source-ranges.ts';
export {
  DAEMONSET_AUTO_TOLERATIONS,
  DEFAULT_TOLERATIONS,
  formatTaint,
  parseTolerationsAnnotation,
  toleratesTaint,
  untoleratedTaint,
  type TolerationsResult,
} from './tolerations.ts';
export { EXCLUDE_LABEL_FALSE_VALUES, isAllowListMode, isExcludedFromLoadBalancers, matchesNodeSelector, nodeSelectorFor } from './nodes.ts';
export { computeIngress, isPodReady, localReadyNodes, type IngressInputs, type IngressResult } from './ingress.ts';
export {
  ConditionReason,
  findReadyCondition,
  ingressEqual,
  ingressText,
  LOAD_BALANCER_READY_CONDITION,
  readyCondition,
  statusEqual,
  type ConditionReasonValue,
} from './status.ts';
export { appliedDaemonSetEvent, deletedDaemonSetEvent, ingressChangedEvent, invalidAnnotationEvent, invalidServiceEvent, noEligibleNodesEvent } from './events.ts';
export { hasCleanupFinalizer, needsCleanup, needsDaemonSetUpdate, needsEndpointSlices, needsUpdate, wantsLoadBalancer } from './predicates.ts';

// Validation of every object the core reads (never widen).
export {
  objectProblemText,
  screenSnapshot,
  serviceKey,
  serviceStatusProblems,
  validateDaemonSet,
  validateEndpointSlice,
  validateNode,
  validatePod,
  validateService,
  type ObjectProblem,
  type ScreenedSnapshot,
} from './validate.ts';

// render.
export { RENDER_EPOCH, renderedObjects, renderOutcomes, renderServiceLB, streamText, toYamlDocument, toYamlStream, yamlDocuments, type RenderOptions, type RenderResult } from './render.ts';
export { canonical } from './canonical.ts';
