import { type IP, ipInCIDR, parseCIDR, parseIP } from './ip.ts';
import { screenSnapshot } from './validate.ts';
import type { LabelSelector, NetpolSnapshot, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, Pod } from './types.ts';

/**
 * The reference oracle (spec section 7): does the Kubernetes NetworkPolicy API allow this *new*
 * connection? It is written straight from the API's semantics and shares no evaluation code with the
 * renderer (only the admission screen `screenSnapshot` of validate.ts: an invalid policy counts in its
 * fail-closed isolation form, other invalid objects do not exist), so renderer bugs show up as
 * disagreements.
 *
 * Endpoints are resolved by IP: an *actionable* pod (has that IP, not hostNetwork, not
 * Succeeded/Failed/Completed) is a pod endpoint; anything else (node addresses, hostNetwork pods,
 * external hosts, finished pods) is a bare IP, never isolated, matched only by ipBlocks or by empty
 * peer lists. A connection needs the source's egress and the destination's ingress.
 *
 * Two node-level behaviours that the API leaves to the implementation and that Portico keeps (D7) are
 * modelled too, each switchable:
 * - traffic from an address of the destination pod's own node is accepted (kubelet probes);
 * - traffic from a pod to its own node's addresses on the node-port range skips egress policy (the
 *   INPUT whitelist).
 * ICMP, established connections and loopback (a pod to itself, answered `allow`) are outside the
 * oracle.
 */

export type Verdict = 'allow' | 'deny';

/** One new connection. Both addresses must be of the same family. */
export interface Connection {
  readonly srcIP: string;
  readonly dstIP: string;
  readonly proto: 'TCP' | 'UDP' | 'SCTP';
  readonly dstPort: number;
}

export interface OracleOptions {
  /**
   * Accept traffic to a pod from addresses local to the pod's node (node addresses from the snapshot's
   * Node objects, plus {@link extraLocalAddresses}).
   * @default true
   */
  readonly nodeLocalAccept?: boolean;
  /** More addresses per node name that count as local (bridge gateway, other interfaces). */
  readonly extraLocalAddresses?: Readonly<Record<string, readonly string[]>>;
  /**
   * Node-port range exempt from egress policy when a pod connects to its own node's address; `null`
   * turns the exemption off.
   * @default '30000-32767'
   */
  readonly nodePortRange?: string | null;
}

type Labels = Readonly<Record<string, string>>;

interface PodEp {
  readonly pod: Pod;
  readonly ns: string;
  readonly labels: Labels;
  readonly node: string;
}

function podFamilyIP(pod: Pod, v6: boolean): IP | undefined {
  const list = (pod.status?.podIPs ?? []).map((x) => x.ip);
  if (list.length === 0 && pod.status?.podIP) list.push(pod.status.podIP);
  for (const s of list) {
    const ip = parseIP(String(s));
    if (ip && ip.v6 === v6) return ip;
  }
  return undefined;
}

function isActionable(pod: Pod): boolean {
  const phase = pod.status?.phase ?? '';
  return pod.spec?.hostNetwork !== true && phase !== 'Succeeded' && phase !== 'Failed' && phase !== 'Completed';
}

/** metav1.LabelSelector semantics, written independently of the renderer's compiled selectors. */
function matchesSelector(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (!(k in labels) || labels[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    if (e.operator === 'In' && !(present && values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && present && values.includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

function policyTypes(p: NetworkPolicy): string[] {
  const t = p.spec.policyTypes ?? [];
  if (t.length > 0) return [...t];
  return (p.spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

interface Prepared {
  readonly nsLabels: Map<string, Labels>;
  /** Valid policies per namespace. */
  readonly policiesByNs: Map<string, NetworkPolicy[]>;
  /** `4|6/<address value>` -> actionable pod (the first by namespace/name when several share an IP). */
  readonly pods: Map<string, PodEp>;
  /** node -> local address keys. */
  readonly local: Map<string, Set<string>>;
}

/** Indexes of a snapshot, cached per snapshot object (and options object) since evaluation is repeated. */
const cache = new WeakMap<NetpolSnapshot, WeakMap<OracleOptions, Prepared>>();

function prepare(input: NetpolSnapshot, options: OracleOptions): Prepared {
  let byOpts = cache.get(input);
  if (!byOpts) cache.set(input, (byOpts = new WeakMap()));
  const hit = byOpts.get(options);
  if (hit) return hit;
  const snapshot = screenSnapshot(input).snapshot;
  const nsLabels = new Map<string, Labels>();
  for (const n of snapshot.namespaces) nsLabels.set(n.metadata.name, n.metadata.labels ?? {});
  const policiesByNs = new Map<string, NetworkPolicy[]>();
  for (const p of snapshot.networkPolicies) {
    const ns = p.metadata.namespace ?? 'default';
    const list = policiesByNs.get(ns) ?? [];
    list.push(p);
    policiesByNs.set(ns, list);
  }
  const pods = new Map<string, PodEp>();
  const sorted = snapshot.pods.filter(isActionable).sort((a, b) => {
    const ka = `${a.metadata.namespace ?? 'default'}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace ?? 'default'}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const pod of sorted) {
    for (const v6 of [false, true]) {
      const ip = podFamilyIP(pod, v6);
      if (!ip) continue;
      const k = `${v6 ? 6 : 4}/${ip.value}`;
      if (!pods.has(k)) {
        pods.set(k, { pod, ns: pod.metadata.namespace ?? 'default', labels: pod.metadata.labels ?? {}, node: pod.spec?.nodeName ?? '' });
      }
    }
  }
  const local = new Map<string, Set<string>>();
  const names = new Set([...(snapshot.nodes ?? []).map((n) => n.metadata.name), ...Object.keys(options.extraLocalAddresses ?? {})]);
  for (const name of names) {
    const n = snapshot.nodes?.find((x) => x.metadata.name === name);
    const addrs = [...(n?.status?.addresses ?? []).map((a) => a.address), ...(options.extraLocalAddresses?.[name] ?? [])];
    const set = new Set<string>();
    for (const a of addrs) {
      const ip = parseIP(a);
      if (ip) set.add(`${ip.v6 ? 6 : 4}/${ip.value}`);
    }
    local.set(name, set);
  }
  const out = { nsLabels, policiesByNs, pods, local };
  byOpts.set(options, out);
  return out;
}

const parsed = new Map<string, IP | undefined>();

function ipOf(s: string): IP | undefined {
  if (parsed.has(s)) return parsed.get(s);
  const ip = parseIP(s);
  if (parsed.size > 100_000) parsed.clear();
  parsed.set(s, ip);
  return ip;
}

const ipKey = (ip: IP): string => `${ip.v6 ? 6 : 4}/${ip.value}`;

/** peersMatch of spec 7: empty = everyone; ipBlock alone matches addresses; selectors match pods only. */
function peersMatch(idx: Prepared, peers: readonly NetworkPolicyPeer[] | null | undefined, policyNs: string, peerIP: IP, peerPod: PodEp | undefined): boolean {
  if (!peers || peers.length === 0) return true;
  for (const e of peers) {
    if (e.ipBlock && !e.podSelector && !e.namespaceSelector) {
      const cidr = parseCIDR(e.ipBlock.cidr);
      if (!cidr || cidr.v6 !== peerIP.v6 || !ipInCIDR(peerIP, cidr)) continue;
      const excepted = (e.ipBlock.except ?? []).some((x) => {
        const c = parseCIDR(x);
        return c !== undefined && ipInCIDR(peerIP, c);
      });
      if (!excepted) return true;
      continue;
    }
    if (!peerPod) continue;
    let nsOk: boolean;
    if (e.namespaceSelector == null) nsOk = peerPod.ns === policyNs;
    else {
      const labels = idx.nsLabels.get(peerPod.ns);
      nsOk = labels !== undefined && matchesSelector(e.namespaceSelector, labels);
    }
    const podOk = e.podSelector == null || matchesSelector(e.podSelector, peerPod.labels);
    if (nsOk && podOk) return true;
  }
  return false;
}

/** portsMatch of spec 7: named ports resolve on the destination pod's container ports. */
function portsMatch(ports: readonly NetworkPolicyPort[] | null | undefined, conn: Connection, destination: PodEp | undefined): boolean {
  if (!ports || ports.length === 0) return true;
  for (const pp of ports) {
    if ((pp.protocol ?? 'TCP') !== conn.proto) continue;
    if (pp.port == null) return true;
    if (typeof pp.port === 'number') {
      if (pp.endPort == null ? conn.dstPort === pp.port : pp.port <= conn.dstPort && conn.dstPort <= pp.endPort) return true;
    } else if (destination) {
      for (const c of destination.pod.spec?.containers ?? []) {
        for (const cp of c.ports ?? []) {
          if (cp.name === pp.port && (cp.protocol ?? 'TCP') === conn.proto && cp.containerPort === conn.dstPort) return true;
        }
      }
    }
  }
  return false;
}

/** directionAllowed of spec 7: not isolated, or some rule of some selecting policy matches. */
function directionAllowed(
  idx: Prepared,
  dir: 'Ingress' | 'Egress',
  subject: PodEp,
  peerIP: IP,
  peerPod: PodEp | undefined,
  conn: Connection,
): boolean {
  let isolated = false;
  const destination = dir === 'Egress' ? peerPod : subject;
  for (const p of idx.policiesByNs.get(subject.ns) ?? []) {
    if (!matchesSelector(p.spec.podSelector ?? {}, subject.labels) || !policyTypes(p).includes(dir)) continue;
    isolated = true;
    const ns = p.metadata.namespace ?? 'default';
    if (dir === 'Ingress') {
      for (const r of p.spec.ingress ?? []) if (portsMatch(r.ports, conn, destination) && peersMatch(idx, r.from, ns, peerIP, peerPod)) return true;
    } else {
      for (const r of p.spec.egress ?? []) if (portsMatch(r.ports, conn, destination) && peersMatch(idx, r.to, ns, peerIP, peerPod)) return true;
    }
  }
  return !isolated;
}

const NO_OPTIONS: OracleOptions = Object.freeze({});

/** Evaluates one new connection under NetworkPolicy semantics. */
export function evaluate(snapshot: NetpolSnapshot, conn: Connection, options: OracleOptions = NO_OPTIONS): Verdict {
  const src = ipOf(conn.srcIP);
  const dst = ipOf(conn.dstIP);
  if (!src || !dst) throw new Error(`evaluate: unparseable address in ${JSON.stringify(conn)}`);
  if (src.v6 !== dst.v6) throw new Error(`evaluate: mixed address families in ${JSON.stringify(conn)}`);
  const idx = prepare(snapshot, options);
  const srcPod = idx.pods.get(ipKey(src));
  const dstPod = idx.pods.get(ipKey(dst));
  if (srcPod && dstPod && srcPod.pod === dstPod.pod) return 'allow';
  const localTo = (node: string, ip: IP): boolean => idx.local.get(node)?.has(ipKey(ip)) ?? false;

  if (srcPod) {
    const range = options.nodePortRange === undefined ? '30000-32767' : options.nodePortRange;
    const m = range === null ? null : /^(\d+)[:-](\d+)$/.exec(range);
    const nodePortExempt = m !== null && localTo(srcPod.node, dst) && conn.dstPort >= Number(m[1]) && conn.dstPort <= Number(m[2]);
    if (!nodePortExempt && !directionAllowed(idx, 'Egress', srcPod, dst, dstPod, conn)) return 'deny';
  }
  if (dstPod) {
    const nodeLocal = (options.nodeLocalAccept ?? true) && localTo(dstPod.node, src);
    if (!nodeLocal && !directionAllowed(idx, 'Ingress', dstPod, src, srcPod, conn)) return 'deny';
  }
  return 'allow';
}
