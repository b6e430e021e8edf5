/**
 * Every Kubernetes-visible name Portico keeps from K3s, in one place (STYLE rule 13).
 *
 * K3s builds its names from `version.Program` ("k3s"; RKE2 sets "rke2"), so every name that contains
 * the program is a function of {@link ProgramNames} rather than a constant. Names that do not depend
 * on the program are plain constants.
 *
 * Source of each name: k3s-io/k3s pkg/cloudprovider/servicelb.go, instances.go, pkg/util/labels.go,
 * upstream kubernetes/cloud-provider, k3s-io/klipper-lb entry. "writes" means Portico sets it;
 * "reads" means Portico only honours it.
 */

/** The default program name, as K3s's `version.Program`. */
export const DEFAULT_PROGRAM = 'k3s';

/** A program name must be a DNS-1123 label so that the derived keys stay valid. */
export function isValidProgram(program: string): boolean {
  return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(program);
}

/** Names that K3s derives from its program name. */
export interface ProgramNames {
  readonly program: string;
  /** Label on DaemonSet and pod template; value = Service name (servicelb.go `svcNameLabel`; writes). */
  readonly svcNameLabel: string;
  /** Label on DaemonSet and pod template; value = Service namespace (`svcNamespaceLabel`; writes). */
  readonly svcNamespaceLabel: string;
  /** Node label: any node carrying the key turns on allow-list mode (`daemonsetNodeLabel`; reads). */
  readonly enableLbLabel: string;
  /** Service and Node label naming an LB pool (`daemonsetNodePoolLabel`; reads, copies into nodeSelector). */
  readonly lbPoolLabel: string;
  /** DaemonSet label "true"/"false": whether a nodeSelector was applied (`nodeSelectorLabel`; writes). */
  readonly nodeSelectorLabel: string;
  /** Service annotation overriding the svclb pods' priorityClassName (`priorityAnnotation`; reads). */
  readonly priorityClassAnnotation: string;
  /** Service annotation: extra tolerations, JSON or YAML list (`tolerationsAnnotation`; reads). */
  readonly tolerationsAnnotation: string;
  /** Legacy Service finalizer; never added, removed where found (`finalizerName`; removes). */
  readonly legacyFinalizer: string;
  /** Node address annotations written by the K3s agent, read by the CCM (instances.go). */
  readonly internalIPKey: string;
  readonly externalIPKey: string;
  readonly internalDNSKey: string;
  readonly externalDNSKey: string;
  readonly hostnameKey: string;
  /** Provider ID scheme prefix, `k3s://` (instances.go). */
  readonly providerIDPrefix: string;
  /** Default instance type label value when the node has none. */
  readonly defaultInstanceType: string;
  /** Cloud provider name (`ProviderName()`). */
  readonly cloudProviderName: string;
  /** Leader-election Lease of the CCM. */
  readonly ccmLeaseName: string;
}

/** Builds the program-derived names; throws on a program that is not a DNS-1123 label. */
export function programNames(program: string = DEFAULT_PROGRAM): ProgramNames {
  if (!isValidProgram(program)) {
    throw new Error(`invalid program name ${JSON.stringify(program)}: must be a DNS-1123 label`);
  }
  const svc = `svccontroller.${program}.cattle.io`;
  return Object.freeze({
    program,
    svcNameLabel: `${svc}/svcname`,
    svcNamespaceLabel: `${svc}/svcnamespace`,
    enableLbLabel: `${svc}/enablelb`,
    lbPoolLabel: `${svc}/lbpool`,
    nodeSelectorLabel: `${svc}/nodeselector`,
    priorityClassAnnotation: `${svc}/priorityclassname`,
    tolerationsAnnotation: `${svc}/tolerations`,
    legacyFinalizer: `${svc}/daemonset`,
    internalIPKey: `${program}.io/internal-ip`,
    externalIPKey: `${program}.io/external-ip`,
    internalDNSKey: `${program}.io/internal-dns`,
    externalDNSKey: `${program}.io/external-dns`,
    hostnameKey: `${program}.io/hostname`,
    providerIDPrefix: `${program}://`,
    defaultInstanceType: program,
    cloudProviderName: program,
    ccmLeaseName: `${program}-cloud-controller-manager`,
  });
}

/** Upstream Kubernetes names that ServiceLB and the CCM use. */
export const Kube = Object.freeze({
  /** Service finalizer owned by the (upstream) service controller; Portico adds and removes it. */
  loadBalancerCleanupFinalizer: 'service.kubernetes.io/load-balancer-cleanup',
  /** Source ranges annotation, used only when spec.loadBalancerSourceRanges is empty. */
  sourceRangesAnnotation: 'service.beta.kubernetes.io/load-balancer-source-ranges',
  /** Node label excluding a node from external load balancers (K3s ignores it; Portico honours it). */
  excludeFromExternalLBLabel: 'node.kubernetes.io/exclude-from-external-load-balancers',
  /** Taint kubelet sets with --cloud-provider=external until the CCM initializes the node. */
  uninitializedTaint: 'node.cloudprovider.kubernetes.io/uninitialized',
  /** Taint for shut-down nodes (never applied by K3s). */
  shutdownTaint: 'node.cloudprovider.kubernetes.io/shutdown',
  /** Cluster-autoscaler taint: node about to be removed. */
  toBeDeletedTaint: 'ToBeDeletedByClusterAutoscaler',
  /** EndpointSlice label naming the owning Service. */
  serviceNameLabel: 'kubernetes.io/service-name',
  /** kubelet annotation carrying --node-ip. */
  providedNodeIPAnnotation: 'alpha.kubernetes.io/provided-node-ip',
  instanceTypeLabel: 'node.kubernetes.io/instance-type',
  betaInstanceTypeLabel: 'beta.kubernetes.io/instance-type',
  zoneLabel: 'topology.kubernetes.io/zone',
  betaZoneLabel: 'failure-domain.beta.kubernetes.io/zone',
  regionLabel: 'topology.kubernetes.io/region',
  betaRegionLabel: 'failure-domain.beta.kubernetes.io/region',
  controlPlaneRoleLabel: 'node-role.kubernetes.io/control-plane',
  criticalAddonsOnlyTaint: 'CriticalAddonsOnly',
});

/** Cloud controller manager constants (upstream kubernetes/cloud-provider). */
export const CloudNode = Object.freeze({
  /** Event source component of the upstream cloud-node controller (spec §9.3). */
  controllerName: 'cloud-node-controller',
});

/** ServiceLB constants (servicelb.go). */
export const ServiceLB = Object.freeze({
  /** Controller name: event source component, field manager base, lease name base. */
  controllerName: 'service-lb-controller',
  defaultNamespace: 'kube-system',
  defaultPriorityClassName: 'system-node-critical',
  /** klipper-lb image K3s uses by default; Portico's own forwarder image replaces it in the chart. */
  klipperDefaultImage: 'rancher/klipper-lb:v0.4.17',
  serviceAccountName: 'svclb',
  daemonSetPrefix: 'svclb-',
  /** Pod label equal to the DaemonSet name; also the DaemonSet selector. */
  appLabel: 'app',
  /** Longest Service-name part of a DaemonSet name before the UID suffix. */
  maxNameLength: 48,
  /** Rootless ingress address. */
  rootlessIngressIP: '127.0.0.1',
});

/** Environment of the klipper-lb container, in the order K3s writes it (servicelb.go `newDaemonSet`). */
export const KlipperEnv = Object.freeze({
  srcPort: 'SRC_PORT',
  srcRanges: 'SRC_RANGES',
  destProto: 'DEST_PROTO',
  destPort: 'DEST_PORT',
  destIPs: 'DEST_IPS',
});

/** The forwarding sysctls a svclb pod sets, per IP family. */
export const ForwardingSysctl = Object.freeze({
  IPv4: 'net.ipv4.ip_forward',
  IPv6: 'net.ipv6.conf.all.forwarding',
});

/**
 * The init container svclb pods get with `--forwarding-mode=init-container` (Portico addition: K3s
 * sets the forwarding sysctls as pod sysctls instead, which only K3s's kubelet admits). The
 * container runs the forwarder image's `enable-forwarding` command for the Service's families.
 */
export const ForwardingInit = Object.freeze({
  containerName: 'enable-forwarding',
  command: 'enable-forwarding',
  familiesFlag: '--families',
});

/** Kubernetes Event reasons, exactly as K3s and the upstream controllers emit them. */
export const EventReason = Object.freeze({
  // service-lb-controller (servicelb.go)
  AppliedDaemonSet: 'AppliedDaemonSet',
  DeletedDaemonSet: 'DeletedDaemonSet',
  UpdatedLoadBalancer: 'UpdatedLoadBalancer',
  UnAvailableLoadBalancer: 'UnAvailableLoadBalancer',
  // upstream service-controller
  EnsuringLoadBalancer: 'EnsuringLoadBalancer',
  SyncLoadBalancerFailed: 'SyncLoadBalancerFailed',
  DeletingLoadBalancer: 'DeletingLoadBalancer',
  DeletedLoadBalancer: 'DeletedLoadBalancer',
  DeleteLoadBalancerFailed: 'DeleteLoadBalancerFailed',
  // cloud-node-controller
  Synced: 'Synced',
  /** A Node tainted uninitialized that has no usable address (Portico addition; K3s only logs). */
  NoUsableAddress: 'NoUsableAddress',
  // Portico additions (K3s has no reason for these; see docs)
  /** A Service no node can serve (no eligible node, or every eligible node has the hostPort taken). */
  NoEligibleNodes: 'NoEligibleNodes',
  /** An annotation or label value is invalid; the Service keeps its last good state. */
  InvalidAnnotation: 'InvalidAnnotation',
  /** A Service (or Node) fails API validation; nothing is built from it, its last good state stays. */
  InvalidService: 'InvalidService',
  InvalidNode: 'InvalidNode',
});

/**
 * Service `status.conditions[]` types Portico writes (Portico addition; K3s writes none). Domain-
 * qualified so they cannot clash with conditions Kubernetes or another load balancer adds.
 */
export const PorticoCondition = Object.freeze({
  /** True when a LoadBalancer Service has ingress addresses and its current spec is applied. */
  loadBalancerReady: 'portico.io/LoadBalancerReady',
});

/** kube-router network policy names (cloudnativelabs/kube-router pkg/controllers/netpol). */
export const Netpol = Object.freeze({
  inputChain: 'KUBE-ROUTER-INPUT',
  forwardChain: 'KUBE-ROUTER-FORWARD',
  outputChain: 'KUBE-ROUTER-OUTPUT',
  commonChain: 'KUBE-NWPLCY-COMMON',
  defaultChain: 'KUBE-NWPLCY-DEFAULT',
  tailChain: 'KUBE-NWPLCY-TAIL',
  podChainPrefix: 'KUBE-POD-FW-',
  policyChainPrefix: 'KUBE-NWPLCY-',
  srcSetPrefix: 'KUBE-SRC-',
  dstSetPrefix: 'KUBE-DST-',
  ipv6SetPrefix: 'inet6:',
  localPodsSet: 'kube-router-local-pods',
  /** Prefix of the comment on the built-in chain jumps ("kube-router netpol - <ID>"). */
  jumpCommentPrefix: 'kube-router netpol',
  /**
   * Text every kube-router rule in a built-in chain contains (its jumps into `KUBE-ROUTER-*`), which
   * the documented K3s cleanup `iptables-save | grep -v KUBE-ROUTER | iptables-restore` relies on.
   */
  builtinRuleMarker: 'KUBE-ROUTER',
  /** The K3s fork ACCEPT goes after the last built-in chain rule containing this (any KUBE-* rule). */
  kubeRuleMarker: 'KUBE',
  /** Mark bit: some policy (or the default) allows the packet for the pod being evaluated. */
  markPolicyMatch: 0x10000,
  /** Mark bit: the packet passed every pod chain it touched ("netpol-ok"). */
  markNetpolOk: 0x20000,
  nflogGroup: 100,
  nflogLimitAnnotation: 'kube-router.io/netpol-nflog-limit',
  nflogLimitBurstAnnotation: 'kube-router.io/netpol-nflog-limit-burst',
  /** Node annotation with the node's pod CIDRs, comma-separated; wins over spec.podCIDRs (pkg/utils/pod_cidr.go; reads). */
  podCIDRsAnnotation: 'kube-router.io/pod-cidrs',
  /** Prefix of every kube-router annotation; the agent's Pod cache keeps only these annotations. */
  annotationPrefix: 'kube-router.io/',
  /** Comment of the K3s fork's ACCEPT rule in the built-in chains (k3s-io/kube-router; writes). */
  k3sForkAcceptComment: 'KUBE-ROUTER rule to explicitly ACCEPT traffic that comply to network policies',
});

/**
 * kube-router's metric names (pkg/metrics/metrics.go; spec section 4.6), kept exactly so K3s
 * dashboards keep working with netpol-agent (writes).
 */
export const KubeRouterMetric = Object.freeze({
  buildInfo: 'kube_router_build_info',
  syncTime: 'kube_router_controller_iptables_sync_time',
  saveTimeV4: 'kube_router_controller_iptables_v4_save_time',
  saveTimeV6: 'kube_router_controller_iptables_v6_save_time',
  restoreTimeV4: 'kube_router_controller_iptables_v4_restore_time',
  restoreTimeV6: 'kube_router_controller_iptables_v6_restore_time',
  chainsSyncTime: 'kube_router_controller_policy_chains_sync_time',
  ipsetRestoreTimeV4: 'kube_router_controller_policy_ipset_v4_restore_time',
  ipsetRestoreTimeV6: 'kube_router_controller_policy_ipset_v6_restore_time',
  policyChains: 'kube_router_controller_policy_chains',
  policyIpsets: 'kube_router_controller_policy_ipsets',
});

/**
 * Node annotations the K3s and RKE2 servers set on their nodes (k3s-io/k3s pkg/nodeconfig, `<program>.io/node-args`;
 * read only): a node carrying one is a K3s/RKE2 cluster, whose own helm-controller handles HelmCharts.
 */
export const DistributionNodeArgs = Object.freeze(['k3s.io/node-args', 'rke2.io/node-args'] as const);

/** Environment variables Portico reads, shared by several apps. */
export const Env = Object.freeze({
  /** Node name, set from the downward API (K3s reads NODE_NAME too). */
  nodeName: 'NODE_NAME',
  /** Namespace the pod runs in (downward API). */
  podNamespace: 'POD_NAMESPACE',
  kubeconfig: 'KUBECONFIG',
});
