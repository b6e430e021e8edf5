// The pure core of ccm's node functions (DESIGN.md "pure core"): from one Node, what K3s's
// InstancesV2 returns (spec §8.1, `instanceMetadata`), and what the upstream cloud-node and
// cloud-node-lifecycle controllers then write (§8.3, `nodeOutcome`). No I/O, no clock.
//
// Portico differences from K3s (docs/ccm.md, each with its test in instances.test.ts):
//  - any cluster: without `<program>.io/*` keys, the kubelet's `alpha.kubernetes.io/provided-node-ip`
//    and then the addresses already on the Node are used, so kubeadm/kind nodes joined with
//    `--cloud-provider=external` are initialized too;
//  - values are checked: entries are trimmed, empty entries dropped, an entry that is not an IP (or a
//    DNS name) is left out and reported (Warning InvalidAnnotation) instead of being written;
//  - exact duplicate addresses are written once (the API server rejects duplicates).

import { Kube, type ProgramNames } from '@portico/labels';
import { parseIP, type IPAddress } from '@portico/ip-selection';

export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: string;
}

/** The fields of a Node that ccm reads (a plain-JSON Node; other fields pass through the shell untouched). */
export interface CcmNode {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly creationTimestamp?: string;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: { readonly providerID?: string; readonly taints?: readonly Taint[] };
  readonly status?: {
    readonly addresses?: readonly NodeAddress[];
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
  };
}

/** A bad annotation or label value: left out of the addresses and reported. */
export interface ValueProblem {
  /** `annotation <key>` or `label <key>`. */
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

/** Where the addresses came from. */
export type AddressSource = 'k3s' | 'provided-node-ip' | 'node-status';

/** InstanceMetadata, or why there is none. */
export type InstanceMetadata =
  | {
      readonly ok: true;
      readonly source: AddressSource;
      readonly providerID: string;
      readonly instanceType: string;
      readonly region: string;
      readonly zone: string;
      readonly addresses: readonly NodeAddress[];
      readonly problems: readonly ValueProblem[];
    }
  | { readonly ok: false; readonly reason: string; readonly problems: readonly ValueProblem[] };

const DNS_NAME = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\.?$/;

/** Whether `s` can be a DNS name or hostname address (RFC 1123, at most 253 characters). */
export function isDnsName(s: string): boolean {
  return s.length > 0 && s.length <= 253 && DNS_NAME.test(s);
}

type Kind = 'ip' | 'dns';

/** Splits a comma-separated value, trims entries, drops empty ones, reports the invalid ones. */
function entries(field: string, raw: string, kind: Kind, problems: ValueProblem[]): string[] {
  const out: string[] = [];
  for (const part of raw.split(',')) {
    const e = part.trim();
    if (e === '') continue;
    if (kind === 'ip' ? parseIP(e) === undefined : !isDnsName(e)) {
      problems.push({ field, value: raw, reason: `${JSON.stringify(e)} is not ${kind === 'ip' ? 'an IP address' : 'a DNS name'}` });
      continue;
    }
    out.push(e);
  }
  return out;
}

/**
 * The values of one K3s address key: the annotation (comma-separated), else (when `label`) the
 * legacy label as one value (K3s never splits the label; a label cannot hold a comma anyway).
 * An annotation whose every entry is invalid counts as absent, so the label can still serve.
 */
function k3sValues(node: CcmNode, key: string, kind: Kind, label: boolean, problems: ValueProblem[]): string[] {
  const ann = node.metadata?.annotations?.[key];
  if (ann !== undefined && ann.trim() !== '') {
    const got = entries(`annotation ${key}`, ann, kind, problems);
    if (got.length > 0 || !label) return got;
  }
  const lab = label ? node.metadata?.labels?.[key] : undefined;
  if (lab !== undefined && lab.trim() !== '') return entries(`label ${key}`, lab, kind, problems).slice(0, 1);
  return [];
}

const sameIP = (a: IPAddress | undefined, b: IPAddress | undefined): boolean =>
  a !== undefined && b !== undefined && a.family === b.family && a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);

function dedupe(addresses: readonly NodeAddress[]): NodeAddress[] {
  const seen = new Set<string>();
  return addresses.filter((a) => {
    const k = `${a.type}\u0000${a.address}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Upstream's provided-node-ip rule (cloud-provider node/helpers `GetNodeAddressesFromNodeIPs`):
 * every provided IP must be among `addresses`; the matching addresses come first and are the only
 * ones of their type; all addresses of other types follow. Returns the reordered list or the first
 * IP that is missing.
 */
export function applyProvidedNodeIPs(provided: readonly string[], addresses: readonly NodeAddress[]): { ok: true; addresses: NodeAddress[] } | { ok: false; missing: string } {
  const ips = provided.map((p) => ({ text: p, ip: parseIP(p) }));
  for (const p of ips) if (!addresses.some((a) => sameIP(parseIP(a.address), p.ip))) return { ok: false, missing: p.text };
  const out: NodeAddress[] = [];
  const types = new Set<string>();
  for (const p of ips) {
    for (const a of addresses) {
      if (sameIP(parseIP(a.address), p.ip)) {
        out.push({ type: a.type, address: a.address });
        types.add(a.type);
      }
    }
  }
  for (const a of addresses) if (!types.has(a.type)) out.push({ type: a.type, address: a.address });
  return { ok: true, addresses: dedupe(out) };
}

/** The node's provided-node-ip IPs (valid entries only; bad ones reported). */
function providedNodeIPs(node: CcmNode, problems: ValueProblem[]): string[] {
  const raw = node.metadata?.annotations?.[Kube.providedNodeIPAnnotation];
  return raw === undefined ? [] : entries(`annotation ${Kube.providedNodeIPAnnotation}`, raw, 'ip', problems);
}

const isUsable = (a: NodeAddress): boolean => (a.type === 'InternalIP' || a.type === 'ExternalIP') && parseIP(a.address) !== undefined;

/**
 * K3s's `InstanceMetadata` (spec §8.1) with Portico's any-cluster fallback and value checks.
 *
 * Addresses, in this order of sources:
 *  1. `<program>.io/internal-ip` (annotation, else legacy label) has a valid IP: K3s's list —
 *     InternalIP…, ExternalIP…, InternalDNS…, ExternalDNS…, Hostname — then upstream's
 *     provided-node-ip rule (each provided IP must be in the list, else no metadata) and "keep the
 *     kubelet's Hostname when the list has none";
 *  2. else `alpha.kubernetes.io/provided-node-ip` (the kubelet's --node-ip, one IP per family): those
 *     IPs as InternalIP, then the Node's other addresses that are not InternalIP;
 *  3. else the Node's own status.addresses, when they hold an InternalIP or ExternalIP.
 * Otherwise there is no metadata and the reason names what is missing.
 */
export function instanceMetadata(node: CcmNode, names: ProgramNames): InstanceMetadata {
  const problems: ValueProblem[] = [];
  const labels = node.metadata?.labels ?? {};
  const existing = node.status?.addresses ?? [];
  const internal = k3sValues(node, names.internalIPKey, 'ip', true, problems);
  const provided = providedNodeIPs(node, problems);
  let source: AddressSource;
  let addresses: NodeAddress[];
  if (internal.length > 0) {
    source = 'k3s';
    const list: NodeAddress[] = [
      ...internal.map((address) => ({ type: 'InternalIP', address })),
      ...k3sValues(node, names.externalIPKey, 'ip', true, problems).map((address) => ({ type: 'ExternalIP', address })),
      ...k3sValues(node, names.internalDNSKey, 'dns', false, problems).map((address) => ({ type: 'InternalDNS', address })),
      ...k3sValues(node, names.externalDNSKey, 'dns', false, problems).map((address) => ({ type: 'ExternalDNS', address })),
      ...k3sValues(node, names.hostnameKey, 'dns', true, problems).slice(0, 1).map((address) => ({ type: 'Hostname', address })),
    ];
    addresses = dedupe(list);
    if (provided.length > 0) {
      const r = applyProvidedNodeIPs(provided, addresses);
      if (!r.ok) {
        return {
          ok: false,
          reason: `${Kube.providedNodeIPAnnotation} ${r.missing} (the kubelet's --node-ip) is not among the addresses from ${names.internalIPKey}/${names.externalIPKey}: ${addresses.map((a) => a.address).join(', ')}`,
          problems,
        };
      }
      addresses = r.addresses;
    }
    if (!addresses.some((a) => a.type === 'Hostname')) {
      const kubeletHostname = existing.find((a) => a.type === 'Hostname');
      if (kubeletHostname) addresses.push({ type: 'Hostname', address: kubeletHostname.address });
    }
  } else if (provided.length > 0) {
    source = 'provided-node-ip';
    addresses = dedupe([...provided.map((address) => ({ type: 'InternalIP', address })), ...existing.filter((a) => a.type !== 'InternalIP').map((a) => ({ type: a.type, address: a.address }))]);
  } else if (existing.some(isUsable)) {
    source = 'node-status';
    addresses = dedupe(existing.map((a) => ({ type: a.type, address: a.address })));
  } else {
    return {
      ok: false,
      reason: `no usable address: no valid ${names.internalIPKey} annotation or label, no valid ${Kube.providedNodeIPAnnotation} annotation, and no InternalIP or ExternalIP in status.addresses`,
      problems,
    };
  }
  return {
    ok: true,
    source,
    providerID: node.spec?.providerID || `${names.providerIDPrefix}${node.metadata?.name ?? ''}`,
    instanceType: labels[Kube.instanceTypeLabel] || names.defaultInstanceType,
    region: labels[Kube.regionLabel] ?? '',
    zone: labels[Kube.zoneLabel] ?? '',
    addresses,
    problems,
  };
}

/** K3s's InstancesV2 `InstanceExists`: always true, so the lifecycle controller never deletes a Node. */
export function instanceExists(_node: CcmNode): boolean {
  return true;
}

/** K3s's InstancesV2 `InstanceShutdown`: always false, so no Node ever gets the shutdown taint. */
export function instanceShutdown(_node: CcmNode): boolean {
  return false;
}

/** What ccm does with a Node (for logs and the `portico_ccm_nodes` metric). */
export type NodeState =
  /** Tainted uninitialized, metadata available: initialize now. */
  | 'initializing'
  /** Tainted uninitialized, no usable address (or provided-node-ip mismatch): stays tainted, retried. */
  | 'waiting'
  /** Initialized (no taint): addresses and beta labels kept current. */
  | 'initialized';

export interface NodeEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** `now`: emit as decided; `afterUpdate`: only once the spec update succeeded. */
  readonly when: 'now' | 'afterUpdate';
}

/** The one metadata/spec update of a Node (a PUT): labels to set, the provider ID, the taints after. */
export interface NodeSpecUpdate {
  readonly labels: Readonly<Record<string, string>>;
  /** Set only when the Node has none (upstream never changes a provider ID). */
  readonly providerID?: string;
  /** The taints after the update (the uninitialized or shutdown taint removed), when they change. */
  readonly taints?: readonly Taint[];
}

/** ccm's verdict on one Node. */
export interface NodeOutcome {
  readonly name: string;
  readonly state: NodeState;
  /** New status.addresses, only when they differ from the Node's (written before `update`). */
  readonly addresses?: readonly NodeAddress[];
  /** The spec/metadata update, when something changes. */
  readonly update?: NodeSpecUpdate;
  readonly events: readonly NodeEvent[];
  /** Why a tainted Node waits (state `waiting`). */
  readonly waitReason?: string;
  readonly source?: AddressSource;
}

/** Beta/GA label pairs kept equal on initialized Nodes (upstream `labelReconcileInfo`). */
const LABEL_PAIRS: readonly (readonly [string, string])[] = [
  [Kube.instanceTypeLabel, Kube.betaInstanceTypeLabel],
  [Kube.zoneLabel, Kube.betaZoneLabel],
  [Kube.regionLabel, Kube.betaRegionLabel],
];

const addressesEqual = (a: readonly NodeAddress[], b: readonly NodeAddress[]): boolean => a.length === b.length && a.every((x, i) => x.type === b[i]!.type && x.address === b[i]!.address);

function isReady(node: CcmNode): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** `Synced` event of the upstream cloud-node controller (spec §9.3). */
export const SYNCED_MESSAGE = 'Node synced successfully';

/**
 * What ccm does with `node` (spec §8.3 with the lifecycle part of §8.2):
 *  - tainted `node.cloudprovider.kubernetes.io/uninitialized`: with metadata, write the addresses,
 *    then in one update set the provider ID (if empty), the instance-type labels (GA and beta), the
 *    zone and region labels (both, when set) and remove the taint; then `Normal Synced`. Without
 *    metadata, it stays tainted, with `Warning NoUsableAddress` naming what is missing;
 *  - initialized: keep status.addresses equal to the metadata (annotation changes propagate),
 *    keep the beta labels equal to the GA ones, and, as InstanceShutdown is always false, remove a
 *    shutdown taint from a Ready Node (InstanceExists is always true: a Node is never deleted);
 *  - every bad value: `Warning InvalidAnnotation` naming the key and the value.
 */
export function nodeOutcome(node: CcmNode, names: ProgramNames, reasons: { readonly invalid: string; readonly noAddress: string; readonly synced: string }): NodeOutcome {
  const name = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  const taints = node.spec?.taints ?? [];
  const tainted = taints.some((t) => t.key === Kube.uninitializedTaint);
  const md = instanceMetadata(node, names);
  const events: NodeEvent[] = md.problems.map((p) => ({ type: 'Warning', reason: reasons.invalid, message: `Invalid ${p.field} value ${JSON.stringify(p.value)}: ${p.reason}; the value is ignored`, when: 'now' }));
  const current = node.status?.addresses ?? [];

  if (tainted) {
    if (!md.ok) {
      events.push({ type: 'Warning', reason: reasons.noAddress, message: `Node stays tainted ${Kube.uninitializedTaint}: ${md.reason}`, when: 'now' });
      return { name, state: 'waiting', events, waitReason: md.reason };
    }
    const set: Record<string, string> = {};
    if (labels[Kube.instanceTypeLabel] !== md.instanceType) set[Kube.instanceTypeLabel] = md.instanceType;
    if (labels[Kube.betaInstanceTypeLabel] !== md.instanceType) set[Kube.betaInstanceTypeLabel] = md.instanceType;
    for (const [ga, beta, value] of [[Kube.zoneLabel, Kube.betaZoneLabel, md.zone], [Kube.regionLabel, Kube.betaRegionLabel, md.region]] as const) {
      if (value === '') continue;
      if (labels[ga] !== value) set[ga] = value;
      if (labels[beta] !== value) set[beta] = value;
    }
    events.push({ type: 'Normal', reason: reasons.synced, message: SYNCED_MESSAGE, when: 'afterUpdate' });
    return {
      name,
      state: 'initializing',
      source: md.source,
      ...(addressesEqual(md.addresses, current) ? {} : { addresses: md.addresses }),
      update: {
        labels: set,
        ...(node.spec?.providerID ? {} : { providerID: md.providerID }),
        taints: taints.filter((t) => t.key !== Kube.uninitializedTaint),
      },
      events,
    };
  }

  const set: Record<string, string> = {};
  for (const [ga, beta] of LABEL_PAIRS) {
    const v = labels[ga];
    if (v !== undefined && labels[beta] !== v) set[beta] = v;
  }
  const removeShutdown = !instanceShutdown(node) && isReady(node) && taints.some((t) => t.key === Kube.shutdownTaint);
  const update: NodeSpecUpdate | undefined =
    Object.keys(set).length > 0 || removeShutdown ? { labels: set, ...(removeShutdown ? { taints: taints.filter((t) => t.key !== Kube.shutdownTaint) } : {}) } : undefined;
  return {
    name,
    state: 'initialized',
    ...(md.ok ? { source: md.source } : {}),
    ...(md.ok && !addressesEqual(md.addresses, current) ? { addresses: md.addresses } : {}),
    ...(update ? { update } : {}),
    events,
  };
}
