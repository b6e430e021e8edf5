// Plain-JSON shapes of the Kubernetes objects the ServiceLB core reads and writes.
//
// The core is type:core: it never loads @kubernetes/client-node (whose models turn timestamps into
// Date objects). These interfaces are the subset of each kind that ServiceLB looks at; every field
// is optional because snapshots and caches hand over whatever the API server stored, and the core
// must not crash on a sparse object. Unknown fields are ignored (and never copied into output).

/** `metadata` as far as ServiceLB reads it. */
export interface Meta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
  readonly ownerReferences?: readonly { readonly kind?: string; readonly name?: string; readonly controller?: boolean }[];
}

/** `Service.spec.ports[]`. */
export interface ServicePort {
  readonly name?: string;
  /** `TCP` (API default), `UDP` or `SCTP`. */
  readonly protocol?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

/** `status.loadBalancer.ingress[]`. */
export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  /** `VIP` or `Proxy`; the API server defaults it to `VIP` for entries with an IP. */
  readonly ipMode?: string;
  readonly ports?: readonly { readonly port?: number; readonly protocol?: string; readonly error?: string }[];
}

/** A `metav1.Condition` (Service `status.conditions[]`). */
export interface Condition {
  readonly type: string;
  /** `True`, `False` or `Unknown`. */
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

/** `Service.status`. */
export interface ServiceStatus {
  readonly loadBalancer?: { readonly ingress?: readonly LoadBalancerIngress[] };
  readonly conditions?: readonly Condition[];
}

export interface Service {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly spec?: {
    /** `ClusterIP` (default), `NodePort`, `LoadBalancer`, `ExternalName`. */
    readonly type?: string;
    readonly ports?: readonly ServicePort[];
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    /** `IPv4` / `IPv6`, primary first. */
    readonly ipFamilies?: readonly string[];
    readonly ipFamilyPolicy?: string;
    /** `Cluster` (default) or `Local`. */
    readonly externalTrafficPolicy?: string;
    readonly loadBalancerClass?: string;
    readonly loadBalancerSourceRanges?: readonly string[];
    readonly loadBalancerIP?: string;
    readonly externalIPs?: readonly string[];
    readonly sessionAffinity?: string;
    readonly sessionAffinityConfig?: unknown;
    readonly healthCheckNodePort?: number;
    readonly allocateLoadBalancerNodePorts?: boolean;
  };
  readonly status?: ServiceStatus;
}

/** `Node.spec.taints[]` */
export interface Taint {
  readonly key: string;
  readonly value?: string;
  /** `NoSchedule`, `PreferNoSchedule` or `NoExecute`. */
  readonly effect: string;
}

/** `Node.status.addresses[]` */
export interface NodeAddress {
  /** `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS`, `ExternalDNS`. */
  readonly type: string;
  readonly address: string;
}

export interface Node {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly spec?: { readonly taints?: readonly Taint[]; readonly unschedulable?: boolean };
  readonly status?: { readonly addresses?: readonly NodeAddress[] };
}

/** `ContainerPort` as far as hostPort accounting needs it. */
export interface ContainerPort {
  readonly name?: string;
  readonly containerPort?: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
  readonly protocol?: string;
}

export interface Pod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly spec?: {
    readonly nodeName?: string;
    readonly containers?: readonly { readonly name?: string; readonly ports?: readonly ContainerPort[] }[];
    readonly initContainers?: readonly { readonly name?: string; readonly ports?: readonly ContainerPort[] }[];
  };
  readonly status?: {
    /** `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`. */
    readonly phase?: string;
    readonly podIP?: string;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

/** `discovery.k8s.io/v1` EndpointSlice, as far as the Local-policy filter reads it. */
export interface EndpointSlice {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly addressType?: string;
  readonly endpoints?: readonly {
    readonly addresses?: readonly string[];
    /** `ready: null/absent` counts as NOT ready (K3s and kube-proxy semantics for this path). */
    readonly conditions?: { readonly ready?: boolean | null };
    readonly nodeName?: string | null;
    readonly targetRef?: { readonly kind?: string; readonly name?: string; readonly namespace?: string } | null;
  }[];
}

/** A toleration as it appears in a pod spec (and in the tolerations annotation). */
export interface Toleration {
  readonly key?: string;
  /** `Exists` or `Equal`. */
  readonly operator?: string;
  readonly value?: string;
  /** empty (all effects), `NoSchedule`, `PreferNoSchedule` or `NoExecute`. */
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

/** `EnvVar` of a svclb container: a literal value, or the downward-API `status.hostIPs` in Local mode. */
export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef: { readonly fieldPath: string } };
}

/** One svclb container (one per Service port). */
export interface SvclbContainer {
  readonly env: readonly EnvVar[];
  readonly image: string;
  readonly imagePullPolicy: 'IfNotPresent';
  readonly name: string;
  readonly ports: readonly { readonly containerPort: number; readonly hostPort: number; readonly name: string; readonly protocol: string }[];
  readonly securityContext: { readonly capabilities: { readonly add: readonly string[] } };
}

/** The init container of `init-container` forwarding mode (see ServiceLBConfig.forwardingMode). */
export interface ForwardingInitContainer {
  readonly args: readonly string[];
  readonly image: string;
  readonly imagePullPolicy: 'IfNotPresent';
  readonly name: string;
  readonly securityContext: { readonly privileged: true };
}

/** A node-affinity requirement (`NodeSelectorRequirement`). */
export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  readonly values?: readonly string[];
}

/**
 * A DaemonSet as ServiceLB builds it (apps/v1). The desired objects the core returns have exactly
 * the fields below, with keys in canonical (sorted) order; existing DaemonSets read from the cluster
 * may carry more, which the core ignores apart from metadata and the fields it compares.
 */
export interface DaemonSet {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly spec?: {
    readonly selector?: { readonly matchLabels?: Readonly<Record<string, string>> };
    readonly template?: {
      readonly metadata?: { readonly labels?: Readonly<Record<string, string>> };
      readonly spec?: {
        readonly affinity?: {
          readonly nodeAffinity?: {
            readonly requiredDuringSchedulingIgnoredDuringExecution?: {
              readonly nodeSelectorTerms: readonly { readonly matchExpressions: readonly NodeSelectorRequirement[] }[];
            };
          };
        };
        readonly automountServiceAccountToken?: boolean;
        readonly containers?: readonly SvclbContainer[];
        readonly initContainers?: readonly ForwardingInitContainer[];
        readonly nodeSelector?: Readonly<Record<string, string>>;
        readonly priorityClassName?: string;
        readonly securityContext?: { readonly sysctls?: readonly { readonly name: string; readonly value: string }[] };
        readonly serviceAccountName?: string;
        readonly tolerations?: readonly Toleration[];
      };
    };
    readonly updateStrategy?: { readonly type?: string; readonly rollingUpdate?: { readonly maxUnavailable?: number | string } };
  };
}

/** Any object of a snapshot; `kind` decides what the core does with it. */
export interface AnyObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: Meta;
  readonly [field: string]: unknown;
}
