import { Netpol } from '@portico/labels';
import { limitBurstProblem, type LimitUnit, limitRateProblem } from './config.ts';
import { pushAll } from './arrays.ts';
import { type CIDR, formatIP, parseCIDR, parseIP } from './ip.ts';
import type {
  Family,
  LabelSelector,
  NetpolSnapshot,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Pod,
  Problem,
} from './types.ts';

/**
 * The normalized model the renderer works on: objects validated as the API server would validate
 * them, defaults applied (policyTypes, protocol TCP, namespace `default`), selectors compiled, pod
 * addresses parsed per family. Everything sorted by namespace/name.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/** A compiled label selector. `key` is canonical (equal selectors have equal keys). */
export interface Selector {
  readonly key: string;
  /** True for `{}`: matches every label set. */
  readonly all: boolean;
  matches(labels: Readonly<Record<string, string>>): boolean;
}

export interface PodModel {
  readonly namespace: string;
  readonly name: string;
  /** `namespace/name`. */
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly nodeName: string;
  /** Canonical address per family (first `status.podIPs` entry of that family, else `status.podIP`). */
  readonly ips: Readonly<Partial<Record<Family, string>>>;
  /** Numeric value of each address, for sorting set entries. */
  readonly ipValues: Readonly<Partial<Record<Family, bigint>>>;
  /**
   * Can be selected and be a peer: has an IP, is not hostNetwork, is not finished
   * (Succeeded/Failed/Completed). Terminating pods that still run count.
   */
  readonly actionable: boolean;
  /** `name/PROTO` -> container port numbers (sorted). */
  readonly namedPorts: ReadonlyMap<string, readonly number[]>;
}

export interface PortModel {
  readonly protocol: Protocol;
  /** Numeric port; absent with `named` absent means every port of the protocol. */
  readonly port?: number;
  readonly endPort?: number;
  /** Named port (IANA service name), resolved on destination pods. */
  readonly named?: string;
}

export type PeerModel =
  | { readonly kind: 'ipBlock'; readonly family: Family; readonly cidr: CIDR; readonly except: readonly CIDR[] }
  | {
      readonly kind: 'selector';
      /** null: the policy's own namespace. */
      readonly namespaceSelector: Selector | null;
      /** null: every pod (of the selected namespaces). */
      readonly podSelector: Selector | null;
    };

export interface RuleModel {
  readonly index: number;
  /** null: every peer (the field was absent or empty). */
  readonly peers: readonly PeerModel[] | null;
  /** null: every port and protocol (absent or empty). */
  readonly ports: readonly PortModel[] | null;
  /** The selector peers (precomputed for the renderer's per-render queries). */
  readonly selectorPeers: readonly Extract<PeerModel, { kind: 'selector' }>[];
  /** Canonical key of `selectorPeers` as evaluated from the policy's namespace. */
  readonly selectorPeersKey: string;
  /** Distinct named ports, `name/PROTO`, in spec order. */
  readonly namedPorts: readonly string[];
}

export interface PolicyModel {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  readonly podSelector: Selector;
  readonly ingress: boolean;
  readonly egress: boolean;
  readonly ingressRules: readonly RuleModel[];
  readonly egressRules: readonly RuleModel[];
  /** Per-policy NFLOG limit from the k3s annotations (defaults when absent or invalid). */
  readonly nflogLimit: string | undefined;
  readonly nflogBurst: number | undefined;
}

export interface ClusterModel {
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Sorted by key. */
  readonly pods: readonly PodModel[];
  /** Valid policies, sorted by key. */
  readonly policies: readonly PolicyModel[];
  readonly problems: Problem[];
}

// ---------------------------------------------------------------------------------------------
// Label selectors (validation lives in validate.ts)
// ---------------------------------------------------------------------------------------------

/** Compiles a (valid) selector. `null`/absent compiles as `{}`. */
export function compileSelector(sel: LabelSelector | null | undefined): Selector {
  const labels = Object.entries(sel?.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const exprs = (sel?.matchExpressions ?? [])
    .map((e) => ({ key: e.key, op: e.operator, values: [...new Set(e.values ?? [])].sort() }))
    .sort((a, b) => {
      const ka = `${a.key}\u0000${a.op}\u0000${a.values.join('\u0000')}`;
      const kb = `${b.key}\u0000${b.op}\u0000${b.values.join('\u0000')}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  const key = JSON.stringify([labels, exprs.map((e) => [e.key, e.op, e.values])]);
  const all = labels.length === 0 && exprs.length === 0;
  const valueSets = exprs.map((e) => new Set(e.values));
  return {
    key,
    all,
    matches(l) {
      for (const [k, v] of labels) if (l[k] !== v) return false;
      for (let i = 0; i < exprs.length; i++) {
        const e = exprs[i]!;
        const has = Object.prototype.hasOwnProperty.call(l, e.key);
        switch (e.op) {
          case 'In':
            if (!has || !valueSets[i]!.has(l[e.key]!)) return false;
            break;
          case 'NotIn':
            if (has && valueSets[i]!.has(l[e.key]!)) return false;
            break;
          case 'Exists':
            if (!has) return false;
            break;
          case 'DoesNotExist':
            if (has) return false;
            break;
          default:
            return false;
        }
      }
      return true;
    },
  };
}

/** `metav1.LabelSelector` semantics: matchLabels AND every expression; `{}` matches everything. */
export function selectorMatches(sel: LabelSelector | null | undefined, labels: Readonly<Record<string, string>>): boolean {
  return compileSelector(sel).matches(labels);
}

/**
 * The policy types as stored by the API server: `spec.policyTypes` when non-empty, else `[Ingress]`
 * plus `Egress` when `spec.egress` is non-empty (D11: kube-router treats an empty list as ingress-only).
 */
export function effectivePolicyTypes(policy: NetworkPolicy): { ingress: boolean; egress: boolean } {
  const types = policy.spec?.policyTypes ?? [];
  if (types.length > 0) return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
  return { ingress: true, egress: (policy.spec?.egress ?? []).length > 0 };
}

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

const FINISHED_PHASES = new Set(['Succeeded', 'Failed', 'Completed']);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Parses a pod's addresses: the first `status.podIPs` entry of each family, else `status.podIP`. */
function podAddresses(pod: Pod, problems: Problem[], key: { namespace: string; name: string }): Partial<Record<Family, string>> {
  const ips: Partial<Record<Family, string>> = {};
  const list = (pod.status?.podIPs ?? []).map((x) => x.ip);
  if (list.length === 0 && pod.status?.podIP) list.push(pod.status.podIP);
  list.forEach((s, i) => {
    const ip = parseIP(String(s));
    if (!ip) {
      problems.push({
        reason: 'InvalidAddress',
        severity: 'warning',
        object: { kind: 'Pod', namespace: key.namespace, name: key.name },
        field: pod.status?.podIPs?.length ? `status.podIPs[${i}].ip` : 'status.podIP',
        value: String(s),
        message: 'pod IP does not parse; the address is ignored',
      });
      return;
    }
    const fam: Family = ip.v6 ? 'IPv6' : 'IPv4';
    if (ips[fam] === undefined) ips[fam] = formatIP(ip);
  });
  return ips;
}

export function normalizePod(pod: Pod, problems: Problem[]): PodModel {
  const namespace = pod.metadata.namespace ?? 'default';
  const name = pod.metadata.name;
  const ips = podAddresses(pod, problems, { namespace, name });
  const ipValues: Partial<Record<Family, bigint>> = {};
  for (const f of ['IPv4', 'IPv6'] as const) if (ips[f] !== undefined) ipValues[f] = parseIP(ips[f])!.value;
  const hostNetwork = pod.spec?.hostNetwork === true;
  const finished = FINISHED_PHASES.has(String(pod.status?.phase ?? ''));
  const named = new Map<string, number[]>();
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.name) continue;
      const k = `${p.name}/${String(p.protocol ?? 'TCP').toUpperCase()}`;
      const list = named.get(k) ?? [];
      if (!list.includes(p.containerPort)) list.push(p.containerPort);
      named.set(k, list);
    }
  }
  for (const list of named.values()) list.sort((a, b) => a - b);
  return {
    namespace,
    name,
    key: `${namespace}/${name}`,
    labels: pod.metadata.labels ?? {},
    nodeName: pod.spec?.nodeName ?? '',
    ips,
    ipValues,
    actionable: !hostNetwork && !finished && (ips.IPv4 !== undefined || ips.IPv6 !== undefined),
    namedPorts: named,
  };
}

function normalizePort(p: NetworkPolicyPort): PortModel {
  const protocol = (p.protocol ?? 'TCP') as Protocol;
  if (typeof p.port === 'string') return { protocol, named: p.port };
  if (typeof p.port === 'number') {
    return p.endPort != null && p.endPort > p.port ? { protocol, port: p.port, endPort: p.endPort } : { protocol, port: p.port };
  }
  return { protocol };
}

function normalizePeer(peer: NetworkPolicyPeer): PeerModel {
  if (peer.ipBlock) {
    const cidr = parseCIDR(peer.ipBlock.cidr)!;
    return {
      kind: 'ipBlock',
      family: cidr.v6 ? 'IPv6' : 'IPv4',
      cidr,
      except: (peer.ipBlock.except ?? []).map((x) => parseCIDR(x)!),
    };
  }
  return {
    kind: 'selector',
    namespaceSelector: peer.namespaceSelector != null ? compileSelector(peer.namespaceSelector) : null,
    podSelector: peer.podSelector != null ? compileSelector(peer.podSelector) : null,
  };
}

/** Parses the k3s per-policy NFLOG annotations; invalid values are reported and dropped. */
function nflogAnnotations(policy: NetworkPolicy, problems: Problem[]): { limit?: string; burst?: number } {
  const ann = policy.metadata.annotations ?? {};
  const out: { limit?: string; burst?: number } = {};
  const object = { kind: 'NetworkPolicy', namespace: policy.metadata.namespace ?? 'default', name: policy.metadata.name };
  const rawLimit = ann[Netpol.nflogLimitAnnotation];
  // Values iptables would refuse count as invalid too (spec 2.5: a warning and the default): one such
  // rule would make every iptables-restore of the family fail, on every node.
  if (rawLimit !== undefined) {
    const m = /^(\d+)(?:\/(second|minute|hour|day|s|m|h|d))?$/.exec(rawLimit.trim());
    const unit = m ? (({ s: 'second', m: 'minute', h: 'hour', d: 'day' } as Record<string, LimitUnit>)[m[2] ?? ''] ?? (m[2] as LimitUnit | undefined) ?? 'second') : 'second';
    const why = m ? limitRateProblem(Number(m[1]), unit) : 'want <n>[/second|minute|hour|day] (or /s|m|h|d)';
    if (m && !why) out.limit = `${Number(m[1])}/${unit}`;
    else {
      problems.push({
        reason: 'InvalidNflogAnnotation',
        severity: 'warning',
        object,
        field: `metadata.annotations.${Netpol.nflogLimitAnnotation}`,
        value: rawLimit,
        message: `${why}; the default limit is used`,
      });
    }
  }
  const rawBurst = ann[Netpol.nflogLimitBurstAnnotation];
  if (rawBurst !== undefined) {
    const why = /^\d+$/.test(rawBurst.trim()) ? limitBurstProblem(Number(rawBurst)) : 'want a positive integer';
    if (!why) out.burst = Number(rawBurst);
    else {
      problems.push({
        reason: 'InvalidNflogAnnotation',
        severity: 'warning',
        object,
        field: `metadata.annotations.${Netpol.nflogLimitBurstAnnotation}`,
        value: rawBurst,
        message: `${why}; the default burst is used`,
      });
    }
  }
  return out;
}

/** Normalizes one (valid: see validate.ts) policy. */
export function normalizePolicy(policy: NetworkPolicy, problems: Problem[]): PolicyModel {
  const namespace = policy.metadata.namespace ?? 'default';
  const name = policy.metadata.name;
  const types = effectivePolicyTypes(policy);
  const spec = policy.spec ?? {};
  const rule = (peers: readonly NetworkPolicyPeer[] | null | undefined, ports: readonly NetworkPolicyPort[] | null | undefined, index: number): RuleModel => {
    const peerModels = peers && peers.length > 0 ? peers.map(normalizePeer) : null;
    const portModels = ports && ports.length > 0 ? ports.map(normalizePort) : null;
    const selectorPeers = (peerModels ?? []).filter((p): p is Extract<PeerModel, { kind: 'selector' }> => p.kind === 'selector');
    const named: string[] = [];
    for (const p of portModels ?? []) {
      if (p.named === undefined) continue;
      const k = `${p.named}/${p.protocol}`;
      if (!named.includes(k)) named.push(k);
    }
    return {
      index,
      peers: peerModels,
      ports: portModels,
      selectorPeers,
      selectorPeersKey: selectorPeers.map((p) => `${p.namespaceSelector === null ? namespace : p.namespaceSelector.key}|${p.podSelector?.key ?? '*'}`).join('||'),
      namedPorts: named,
    };
  };
  const nflog = nflogAnnotations(policy, problems);
  return {
    namespace,
    name,
    key: `${namespace}/${name}`,
    podSelector: compileSelector(spec.podSelector),
    ingress: types.ingress,
    egress: types.egress,
    ingressRules: types.ingress ? (spec.ingress ?? []).map((r, i) => rule(r.from, r.ports, i)) : [],
    egressRules: types.egress ? (spec.egress ?? []).map((r, i) => rule(r.to, r.ports, i)) : [],
    nflogLimit: nflog.limit,
    nflogBurst: nflog.burst,
  };
}

/** Keeps one object per namespace/name (the greatest by uid, then by content), reporting duplicates. */
function dedupe<T extends { metadata: { name: string; namespace?: string; uid?: string } }>(
  items: readonly T[],
  kind: string,
  namespaced: boolean,
  problems: Problem[],
): readonly T[] {
  const keys = new Set<string>();
  for (const it of items) keys.add(namespaced ? `${it.metadata.namespace ?? 'default'}/${it.metadata.name}` : it.metadata.name);
  if (keys.size === items.length) return items; // the common case: no duplicates
  const byKey = new Map<string, T[]>();
  for (const it of items) {
    const k = namespaced ? `${it.metadata.namespace ?? 'default'}/${it.metadata.name}` : it.metadata.name;
    const list = byKey.get(k);
    if (list) list.push(it);
    else byKey.set(k, [it]);
  }
  const out: T[] = [];
  for (const [k, list] of byKey) {
    if (list.length === 1) {
      out.push(list[0]!);
      continue;
    }
    const ranked = list.map((it) => ({ it, uid: it.metadata.uid ?? '', json: JSON.stringify(it) }));
    ranked.sort((a, b) => cmp(a.uid, b.uid) || cmp(a.json, b.json));
    out.push(ranked[ranked.length - 1]!.it);
    const slash = k.indexOf('/');
    problems.push({
      reason: 'DuplicateObject',
      severity: 'warning',
      object: namespaced ? { kind, namespace: k.slice(0, slash), name: k.slice(slash + 1) } : { kind, name: k },
      field: 'metadata.name',
      value: k,
      message: `${list.length} objects share this name; the one with the greatest uid is used`,
    });
  }
  return out;
}

/**
 * Per-object normalization results kept between renders by a long-lived renderer: informer caches
 * hand out the same object until it changes, so object identity is a safe cache key.
 */
export interface ModelCache {
  readonly pods: WeakMap<Pod, { model: PodModel; problems: Problem[] }>;
  readonly policies: WeakMap<NetworkPolicy, { model: PolicyModel; problems: Problem[] }>;
  /** The previous pod list, to patch instead of re-sorting when only a few pods were replaced. */
  lastPods?: PodsMemo;
}

interface PodsMemo {
  readonly input: readonly Pod[];
  /** `input` as a set (identity), to find what a later list added and removed. */
  readonly inputSet: ReadonlySet<Pod>;
  readonly sorted: PodModel[];
  /** Pods whose normalization reported problems. */
  readonly withProblems: Map<string, Problem[]>;
  /** Actionable pods sharing an address with an earlier pod (DuplicateAddress warnings). */
  readonly duplicates: readonly Problem[];
  /**
   * `family address` -> how many actionable pods hold it. Owned by the newest memo: a patch updates
   * it in place (the previous memo is dropped), after every check that could abandon the patch.
   */
  readonly owners: Map<string, number>;
}

export function newModelCache(): ModelCache {
  return { pods: new WeakMap(), policies: new WeakMap() };
}

function podHit(cache: ModelCache, p: Pod): { model: PodModel; problems: Problem[] } {
  let hit = cache.pods.get(p);
  if (!hit) {
    const own: Problem[] = [];
    hit = { model: normalizePod(p, own), problems: own };
    cache.pods.set(p, hit);
  }
  return hit;
}

/** Index of the pod with `key` in a list sorted by key, or where it would be inserted (as ~index). */
function findKey(sorted: readonly PodModel[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const k = sorted[mid]!.key;
    if (k === key) return mid;
    if (k < key) lo = mid + 1;
    else hi = mid;
  }
  return ~lo;
}

function addressesOf(m: PodModel): string[] {
  if (!m.actionable) return [];
  const out: string[] = [];
  for (const f of ['IPv4', 'IPv6'] as const) if (m.ips[f] !== undefined) out.push(`${f} ${m.ips[f]}`);
  return out;
}

function ownersOf(sorted: readonly PodModel[]): Map<string, number> {
  const owners = new Map<string, number>();
  for (const m of sorted) for (const a of addressesOf(m)) owners.set(a, (owners.get(a) ?? 0) + 1);
  return owners;
}

/**
 * The agent's common case: the previous pod list with a few pods added, removed or replaced by
 * newer versions (an informer cache between two syncs). Patches the previous sorted list (binary
 * search, no re-sort, no pass over every pod but the identity comparison) in place of dedupe +
 * sort + the address scan; undefined when the change is of another kind: many pods changed, two
 * objects for one pod, or an address that more than one pod holds before or after the change
 * (which the full path reports as DuplicateAddress).
 */
function patchPods(cache: ModelCache, input: readonly Pod[]): PodsMemo | undefined {
  const prev = cache.lastPods;
  if (!prev) return undefined;
  const inputSet = new Set(input);
  if (inputSet.size !== input.length) return undefined; // one object listed twice
  const gone: Pod[] = [];
  for (const p of prev.input) if (!inputSet.has(p) && gone.push(p) > 256) return undefined;
  const came: Pod[] = [];
  for (const p of input) if (!prev.inputSet.has(p) && came.push(p) > 256) return undefined;
  if (gone.length === 0 && came.length === 0) return { ...prev, input, inputSet };
  const goneModels: PodModel[] = [];
  for (const p of gone) {
    const hit = cache.pods.get(p);
    if (!hit) return undefined;
    goneModels.push(hit.model);
  }
  const goneKeys = new Set(goneModels.map((m) => m.key));
  const cameHits = came.map((p) => podHit(cache, p));
  const cameKeys = new Set<string>();
  for (const { model } of cameHits) {
    // Two objects for one pod (in this change, or next to one that stays): the full path dedupes.
    if (cameKeys.has(model.key) || (!goneKeys.has(model.key) && findKey(prev.sorted, model.key) >= 0)) return undefined;
    cameKeys.add(model.key);
  }
  const delta = new Map<string, number>();
  for (const m of goneModels) for (const a of addressesOf(m)) delta.set(a, (delta.get(a) ?? 0) - 1);
  for (const { model } of cameHits) for (const a of addressesOf(model)) delta.set(a, (delta.get(a) ?? 0) + 1);
  for (const [a, d] of delta) {
    const before = prev.owners.get(a) ?? 0;
    if (before > 1 || before + d > 1) return undefined;
  }
  // Nothing below abandons the patch.
  const sorted = prev.sorted.slice();
  const withProblems = new Map(prev.withProblems);
  for (const m of goneModels) {
    const i = findKey(sorted, m.key);
    if (i >= 0) sorted.splice(i, 1);
    withProblems.delete(m.key);
  }
  for (const { model, problems } of cameHits) {
    sorted.splice(~findKey(sorted, model.key), 0, model);
    if (problems.length > 0) withProblems.set(model.key, problems);
  }
  for (const [a, d] of delta) {
    const n = (prev.owners.get(a) ?? 0) + d;
    if (n > 0) prev.owners.set(a, n);
    else prev.owners.delete(a);
  }
  return { input, inputSet, sorted, withProblems, duplicates: prev.duplicates, owners: prev.owners };
}

/**
 * Warnings for actionable pods whose address an earlier pod (by namespace/name) already has. Two pods
 * with one IP is a CNI or snapshot error: the pod chains of both match the address and peer sets hold
 * it once, so which policy governs it is not what a user would expect.
 */
function duplicateAddresses(sorted: readonly PodModel[]): Problem[] {
  const out: Problem[] = [];
  for (const fam of ['IPv4', 'IPv6'] as const) {
    const first = new Map<string, string>(); // address -> pod key
    for (const p of sorted) {
      const ip = p.ips[fam];
      if (!p.actionable || ip === undefined) continue;
      const owner = first.get(ip);
      if (owner === undefined) first.set(ip, p.key);
      else {
        out.push({
          reason: 'DuplicateAddress',
          severity: 'warning',
          object: { kind: 'Pod', namespace: p.namespace, name: p.name },
          field: 'status.podIPs',
          value: ip,
          message: `pod ${owner} has the same address: enforcement for this address is ambiguous (rules of both pods match it, peer sets hold it once); fix the pod addresses`,
        });
      }
    }
  }
  return out;
}

/** Builds the normalized model of a snapshot (order-independent; objects validated by validate.ts). */
export function buildModel(snapshot: NetpolSnapshot, cache: ModelCache = newModelCache()): ClusterModel {
  const problems: Problem[] = [];
  const namespaces = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of dedupe(snapshot.namespaces ?? [], 'Namespace', false, problems)) {
    namespaces.set(ns.metadata.name, ns.metadata.labels ?? {});
  }
  const input = snapshot.pods ?? [];
  let memo = patchPods(cache, input);
  if (!memo) {
    const dedupProblems: Problem[] = [];
    const unique = dedupe(input, 'Pod', true, dedupProblems);
    const sorted: PodModel[] = [];
    const withProblems = new Map<string, Problem[]>();
    for (const p of unique) {
      const hit = podHit(cache, p);
      sorted.push(hit.model);
      if (hit.problems.length > 0) withProblems.set(hit.model.key, hit.problems);
    }
    sorted.sort((a, b) => cmp(a.key, b.key));
    pushAll(problems, dedupProblems);
    // A list with duplicates is never patched (the winner could change).
    const kept = dedupProblems.length > 0 ? [] : input;
    memo = { input: kept, inputSet: new Set(kept), sorted, withProblems, duplicates: duplicateAddresses(sorted), owners: ownersOf(sorted) };
  }
  cache.lastPods = memo;
  const pods = memo.sorted;
  for (const list of memo.withProblems.values()) pushAll(problems, list);
  pushAll(problems, memo.duplicates);
  const policies: PolicyModel[] = [];
  for (const p of dedupe(snapshot.networkPolicies ?? [], 'NetworkPolicy', true, problems)) {
    let hit = cache.policies.get(p);
    if (!hit) {
      const own: Problem[] = [];
      hit = { model: normalizePolicy(p, own), problems: own };
      cache.policies.set(p, hit);
    }
    policies.push(hit.model);
    pushAll(problems, hit.problems);
  }
  policies.sort((a, b) => cmp(a.key, b.key));
  return { namespaces, pods, policies, problems };
}

/** Sorts problems by object, field, then message (deterministic output). */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  const k = (p: Problem): string =>
    [p.object?.kind ?? '', p.object?.namespace ?? '', p.object?.name ?? '', p.field, p.reason, p.value, p.message].join('\u0000');
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    const key = k(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out.sort((a, b) => cmp(k(a), k(b)));
}
