/**
 * Public types of the pure network-policy core (@portico/netpol).
 *
 * Input: a {@link NetpolSnapshot} of plain Kubernetes-shaped objects (only the fields the core
 * reads; a `kubectl get -o yaml` object or a client-node object fits structurally) plus a
 * {@link NetpolConfig}. Output: a {@link DesiredState}, per address family the ipsets and the
 * filter-table chains Portico owns, with their full rule lists, and the rules that must exist in
 * the built-in chains. The apply engine (apps/netpol-agent) turns that into one `ipset restore` and
 * one `iptables-restore --noflush` per family.
 *
 * The rule model here is Portico's own plain model (libs/iptables had no rule model when this API was
 * fixed). {@link ruleArgs} renders a rule as the argument list that `iptables-save` prints for it, so
 * rendered rules and parsed kernel rules can be compared as text.
 */

// ---------------------------------------------------------------------------------------------
// Input: Kubernetes-shaped objects (minimal structural subsets)
// ---------------------------------------------------------------------------------------------

/** `metav1.LabelSelectorRequirement`. */
export interface LabelSelectorRequirement {
  readonly key: string;
  /** `In`, `NotIn`, `Exists` or `DoesNotExist`; anything else is reported as invalid. */
  readonly operator: string;
  readonly values?: readonly string[] | null;
}

/** `metav1.LabelSelector`. `{}` (or both fields empty) selects everything. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>> | null;
  readonly matchExpressions?: readonly LabelSelectorRequirement[] | null;
}

/** The object metadata fields the core reads. */
export interface ObjectMeta {
  readonly name: string;
  /** Required on Pods and NetworkPolicies; `default` is assumed when absent (as kubectl does). */
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>> | null;
  readonly annotations?: Readonly<Record<string, string>> | null;
  /** Terminating pods stay selected and stay peers until they are gone or finished. */
  readonly deletionTimestamp?: string | null;
}

/** A container port; `protocol` defaults to TCP. Only named ports matter for policy. */
export interface ContainerPort {
  readonly name?: string | null;
  readonly containerPort: number;
  readonly protocol?: string | null;
}

/** `v1.Pod`, reduced. */
export interface Pod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec?: {
    readonly nodeName?: string | null;
    readonly hostNetwork?: boolean | null;
    /** Named ports are resolved on these containers' ports (as kube-router does). */
    readonly containers?: readonly { readonly name?: string; readonly ports?: readonly ContainerPort[] | null }[] | null;
  } | null;
  readonly status?: {
    /** `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown` (kube-router also treats `Completed` as finished). */
    readonly phase?: string | null;
    readonly podIP?: string | null;
    readonly podIPs?: readonly { readonly ip: string }[] | null;
    readonly hostIP?: string | null;
  } | null;
}

/** `v1.Namespace`, reduced. */
export interface Namespace {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}

/** `networking.k8s.io/v1 NetworkPolicyPort`. */
export interface NetworkPolicyPort {
  /** `TCP` (default), `UDP` or `SCTP`. */
  readonly protocol?: string | null;
  /** A number (1-65535) or an IANA service name (named port). Absent: every port of the protocol. */
  readonly port?: number | string | null;
  /** Inclusive end of a numeric port range; requires a numeric `port` and `endPort >= port`. */
  readonly endPort?: number | null;
}

/** `networking.k8s.io/v1 IPBlock`. */
export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[] | null;
}

/** `networking.k8s.io/v1 NetworkPolicyPeer`: `ipBlock` alone, or pod/namespace selectors (AND). */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector | null;
  readonly namespaceSelector?: LabelSelector | null;
  readonly ipBlock?: IPBlock | null;
}

export interface NetworkPolicyIngressRule {
  /** Absent or empty: every source (including outside the cluster). */
  readonly from?: readonly NetworkPolicyPeer[] | null;
  /** Absent or empty: every port and protocol. */
  readonly ports?: readonly NetworkPolicyPort[] | null;
}

export interface NetworkPolicyEgressRule {
  /** Absent or empty: every destination. */
  readonly to?: readonly NetworkPolicyPeer[] | null;
  readonly ports?: readonly NetworkPolicyPort[] | null;
}

/** `networking.k8s.io/v1 NetworkPolicy`, reduced. */
export interface NetworkPolicy {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: {
    /** `{}` selects every pod of the policy's namespace. Absent is treated as `{}`. */
    readonly podSelector?: LabelSelector | null;
    /**
     * `Ingress` and/or `Egress`. Absent or empty: `[Ingress]`, plus `Egress` when `egress` is non-empty
     * (the API server's defaulting; a raw manifest may lack it, kube-router deviation D11).
     */
    readonly policyTypes?: readonly string[] | null;
    readonly ingress?: readonly NetworkPolicyIngressRule[] | null;
    readonly egress?: readonly NetworkPolicyEgressRule[] | null;
  };
}

export interface NodeAddress {
  /** `InternalIP`, `ExternalIP`, `Hostname`, ... */
  readonly type: string;
  readonly address: string;
}

/** `v1.Node`, reduced: addresses (node-local sources) and pod CIDRs (default-deny). */
export interface Node {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec?: { readonly podCIDR?: string | null; readonly podCIDRs?: readonly string[] | null } | null;
  readonly status?: { readonly addresses?: readonly NodeAddress[] | null } | null;
}

/**
 * Everything the core reads from the cluster. Order of the arrays does not matter: output is sorted.
 * Objects that are not NetworkPolicy-relevant are never needed; duplicates (same namespace/name) are
 * reported and the last one in (namespace, name, uid) order wins.
 */
export interface NetpolSnapshot {
  readonly pods: readonly Pod[];
  readonly namespaces: readonly Namespace[];
  readonly networkPolicies: readonly NetworkPolicy[];
  /** The cluster's nodes; the core uses the one named {@link NetpolConfig.nodeName} (pod CIDRs). */
  readonly nodes?: readonly Node[];
}

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

/** An address family, spelled as kube-router spells it in its hash inputs. */
export type Family = 'IPv4' | 'IPv6';

/** All families, in output order. */
export const FAMILIES: readonly Family[] = Object.freeze(['IPv4', 'IPv6'] as const);

/**
 * Where the final "ACCEPT traffic that passed network policy" rule sits.
 * - `chain-end` (upstream kube-router, newest k3s): last rule of each `KUBE-ROUTER-*` chain, after
 *   the jump to `KUBE-NWPLCY-TAIL`.
 * - `after-kube-rules` (k3s fork v2.6.3-k3s1): in the built-in `INPUT`/`FORWARD`/`OUTPUT` chains,
 *   directly after the last rule whose text contains `KUBE`, so kube-proxy's chains still see the
 *   packet first. Emitted as a {@link BuiltinRule} with placement `after-last-kube`.
 */
export type AcceptPlacement = 'chain-end' | 'after-kube-rules';

/** NFLOG logging of denied packets (spec 2.4 rule 6 and the k3s per-policy rule of 2.5). */
export interface NflogConfig {
  /**
   * Per-pod-chain log rule before the REJECT (upstream behaviour).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * The k3s fork's extra rule at the end of each policy chain, with prefix
   * `DROP by policy <ns>/<name>` and the `kube-router.io/netpol-nflog-limit(-burst)` annotations.
   * @default false
   */
  readonly perPolicy?: boolean;
  /** @default 100 */
  readonly group?: number;
  /** iptables `limit` rate, `<n>/<second|minute|hour|day>`. @default '10/minute' */
  readonly limit?: string;
  /** @default 10 */
  readonly burst?: number;
}

/**
 * Node-level configuration of the renderer. The shell parses flags into this once (STYLE rule 10).
 */
export interface NetpolConfig {
  /** This node's name: pods with `spec.nodeName` equal to it get pod chains. */
  readonly nodeName: string;
  /** Families to render. @default ['IPv4'] */
  readonly families?: readonly Family[];
  /** Service cluster-IP CIDRs (any family; each goes to its family's INPUT whitelist). @default ['10.43.0.0/16'] */
  readonly serviceCIDRs?: readonly string[];
  /** NodePort range `a-b` or `a:b`. @default '30000-32767' */
  readonly nodePortRange?: string;
  /**
   * Pod CIDRs of this node (default-deny TAIL rules). When absent they come from the Node: annotation
   * `kube-router.io/pod-cidrs` (comma-separated), else `spec.podCIDRs`, else `spec.podCIDR`.
   */
  readonly podCIDRs?: readonly string[];
  /**
   * Default-deny profile (kube-router >= v2.10 `--netpol-default-deny`, on in newest k3s): the TAIL
   * chain rejects traffic of local pod CIDRs that no pod chain handled, and `kube-router-local-pods`
   * holds the programmed local pods.
   * @default false
   */
  readonly defaultDeny?: boolean;
  /** @default 'chain-end' */
  readonly acceptPlacement?: AcceptPlacement;
  readonly nflog?: NflogConfig;
}

// ---------------------------------------------------------------------------------------------
// Output: rule model
// ---------------------------------------------------------------------------------------------

/** Protocols a rendered rule can match. */
export type RuleProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'ipv6-icmp';

/** `-m set [!] --match-set <set> src|dst`. */
export interface SetMatch {
  readonly set: string;
  readonly dir: 'src' | 'dst';
  readonly negate?: boolean;
}

/**
 * One iptables rule of the filter table. Every field is a match (all must hold) except `target`.
 * {@link ruleArgs} prints the fields in a fixed order that equals `iptables-save` output:
 * `-s`, `-d`, `-p`, then `physdev`, `comment`, `addrType`, `conntrack`, `sets`, the protocol match
 * (`-m tcp --dport` / `-m multiport --dports` / `-m icmp --icmp-type`), `mark`, `limit`, then `-j`.
 */
export interface Rule {
  /** `-s <cidr>`; addresses are always written as CIDRs (`/32`, `/128` for hosts). */
  readonly source?: string;
  /** `-d <cidr>`. */
  readonly destination?: string;
  /** `-p <proto>`. */
  readonly protocol?: RuleProtocol;
  /** `-m physdev --physdev-is-bridged`. */
  readonly physdevIsBridged?: boolean;
  /** `-m comment --comment <text>` (at most 256 bytes, no control characters). */
  readonly comment?: string;
  /** `-m addrtype [!] --src-type LOCAL` / `[!] --dst-type LOCAL` (one of the two per rule). */
  readonly addrType?: { readonly dir: 'src' | 'dst'; readonly type: 'LOCAL'; readonly negate?: boolean };
  /** `-m conntrack --ctstate <states joined by ,>`. */
  readonly ctState?: readonly ('INVALID' | 'NEW' | 'RELATED' | 'ESTABLISHED')[];
  /** Set matches, in order. */
  readonly sets?: readonly SetMatch[];
  /** `-m <proto> --dport p` or `--dport p:q` (needs `protocol` tcp/udp/sctp). */
  readonly dport?: { readonly from: number; readonly to?: number };
  /** `-m multiport --dports p:q` (needs `protocol`). Used only for the node-port range. */
  readonly multiportDports?: { readonly from: number; readonly to: number };
  /** `-m icmp --icmp-type <n>` / `-m icmp6 --icmpv6-type <n>` (numeric type; needs `protocol`). */
  readonly icmpType?: number;
  /** `-m mark [!] --mark value/mask`. */
  readonly mark?: { readonly value: number; readonly mask: number; readonly negate?: boolean };
  /** `-m limit --limit <rate> --limit-burst <n>`. */
  readonly limit?: { readonly rate: string; readonly burst: number };
  readonly target: Target;
}

/**
 * Rule targets. `MARK` is always `--set-xmark value/mask` (new mark = (mark & ~mask) ^ value), which is
 * how iptables-save prints both `--set-mark` and `--set-xmark`.
 */
export type Target =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'ACCEPT' }
  | { readonly kind: 'DROP' }
  | { readonly kind: 'RETURN' }
  | { readonly kind: 'REJECT' }
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number }
  | { readonly kind: 'NFLOG'; readonly group: number; readonly prefix?: string };

/** A chain Portico owns completely: the apply engine makes its content exactly `rules`. */
export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** The built-in filter chains Portico hooks into. */
export type BuiltinChain = 'INPUT' | 'FORWARD' | 'OUTPUT';

/**
 * A rule that must exist in a built-in chain (which Portico does not own).
 * - `first`: at position 1 (the jumps into `KUBE-ROUTER-*`; they carry kube-router's positioned-rule
 *   comment `kube-router netpol - <ID>` so that existing k3s rules are recognised).
 * - `after-last-kube`: directly after the last rule whose text contains `KUBE` (k3s fork ACCEPT).
 */
export interface BuiltinRule {
  readonly chain: BuiltinChain;
  readonly placement: 'first' | 'after-last-kube';
  readonly rule: Rule;
}

/** One ipset entry; `nomatch` only in `hash:net` sets. */
export interface IpSetEntry {
  /** An IP (hash:ip) or a CIDR (hash:net; host prefixes are written without `/32`, `/128`, as ipset prints them). */
  readonly addr: string;
  readonly nomatch?: boolean;
}

/**
 * One ipset. The apply engine creates it (`timeout 0` like kube-router, so existing k3s sets can be
 * swapped) and fills it through a temporary set and `swap`.
 */
export interface IpSet {
  /** Includes the `inet6:` prefix for IPv6 sets. */
  readonly name: string;
  readonly type: 'hash:ip' | 'hash:net';
  /** ipset family: `inet` for IPv4, `inet6` for IPv6. */
  readonly family: 'inet' | 'inet6';
  /** Sorted, unique. */
  readonly entries: readonly IpSetEntry[];
}

/** The desired state of one address family (one `iptables-restore` + one `ipset restore`). */
export interface FamilyState {
  readonly family: Family;
  /** Every set Portico wants in this family, sorted by name. Sets owned by Portico but absent here are stale. */
  readonly ipsets: readonly IpSet[];
  /**
   * Every chain Portico wants in the filter table, in a fixed order: `KUBE-ROUTER-INPUT`,
   * `KUBE-ROUTER-FORWARD`, `KUBE-ROUTER-OUTPUT`, `KUBE-NWPLCY-COMMON`, `KUBE-NWPLCY-DEFAULT`,
   * `KUBE-NWPLCY-TAIL`, then policy chains and pod chains sorted by name. Owned chains (see
   * {@link isOwnedChain}) that exist in the kernel but not here are stale.
   */
  readonly chains: readonly Chain[];
  /** Rules in built-in chains, in INPUT, FORWARD, OUTPUT order. */
  readonly builtinRules: readonly BuiltinRule[];
}

/** What the core reports about its input. */
export type ProblemReason =
  /**
   * A NetworkPolicy the API server would reject (wrong shape, bad selector, port, CIDR...): it is
   * enforced in its isolation form (its pods isolated, no allow rules) or, in the agent, its last
   * valid version stays in force. Never dropped: dropping an isolating policy would widen.
   */
  | 'InvalidNetworkPolicy'
  /** A Pod, Namespace or Node the API server would reject (wrong shape, bad labels, ports...): it is left out. */
  | 'InvalidObject'
  /** Two actionable pods with one IP address: the first by namespace/name is the one policies see for that address. */
  | 'DuplicateAddress'
  /** An ipBlock of a family that is not enabled on this node: it is ignored for that family. */
  | 'IPBlockFamilyDisabled'
  /** A `kube-router.io/netpol-nflog-limit(-burst)` annotation value that does not parse: the default is used. */
  | 'InvalidNflogAnnotation'
  /** Two objects with the same namespace/name in the snapshot: the later one in sorted order wins. */
  | 'DuplicateObject'
  /** Two different objects map to one kube-router hash name (`ns+name` concatenation is ambiguous); the later one gets a disambiguated name. */
  | 'NameCollision'
  /** Default-deny is on but the node has no pod CIDR of an enabled family: TAIL has no CIDR rules there. */
  | 'MissingPodCIDR'
  /** The Node named in the config is not in the snapshot (only matters for pod CIDRs). */
  | 'NodeNotFound'
  /** A pod IP or node pod CIDR that does not parse: it is ignored. */
  | 'InvalidAddress'
  /** A config value that is out of range or does not parse (see `checkNetpolConfig`). */
  | 'InvalidConfig';

/** One problem, with enough context for a log line or a Kubernetes Event on the object. */
export interface Problem {
  readonly reason: ProblemReason;
  /** `error` = something is ignored; `warning` = rendered with a documented fallback. */
  readonly severity: 'error' | 'warning';
  /** The object concerned (absent for config problems). */
  readonly object?: { readonly kind: string; readonly namespace?: string; readonly name: string };
  /** JSON path of the field, e.g. `spec.ingress[0].from[1].podSelector.matchExpressions[0].operator`. */
  readonly field: string;
  readonly value: string;
  /** One sentence. */
  readonly message: string;
}

/** The renderer's output for one node. */
export interface DesiredState {
  /** One entry per enabled family, IPv4 first. */
  readonly families: readonly FamilyState[];
  /** Sorted by object, then field. */
  readonly problems: readonly Problem[];
}
