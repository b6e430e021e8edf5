import { hashedName, Netpol } from '@portico/labels';
import { ipBlockEntries } from './cidrset.ts';
import { formatCIDR, hostCIDR, parseCIDR, parseIP } from './ip.ts';
import {
  buildModel,
  type ClusterModel,
  type PeerModel,
  type PodModel,
  type PolicyModel,
  type Protocol,
  type RuleModel,
  type Selector,
  sortProblems,
} from './model.ts';
import {
  type Direction,
  localPodsSetName,
  namedPortSetName,
  peerSetName,
  podChainName,
  policyChainName,
  positionedRuleId,
  STABLE_POD_VERSION,
  stablePolicyVersion,
  targetSetName,
} from './names.ts';
import {
  type AcceptPlacement,
  type BuiltinRule,
  type Chain,
  type DesiredState,
  type Family,
  FAMILIES,
  type FamilyState,
  type IpSet,
  type IpSetEntry,
  type NetpolConfig,
  type NetpolSnapshot,
  type Problem,
  type Rule,
  type RuleProtocol,
} from './types.ts';

/**
 * The renderer: snapshot + config -> desired ipsets and chains per family (spec section 2, with the
 * D1-D6, D10, D11 fixes and Portico's additions D13/D14; see docs/netpol.md).
 *
 * Shape of the output, per family:
 * - `KUBE-ROUTER-INPUT|FORWARD|OUTPUT`: INPUT whitelist (service CIDRs, local node ports), then the
 *   per-pod jumps sorted by pod, then the jump to `KUBE-NWPLCY-TAIL` and the ACCEPT on 0x20000.
 * - `KUBE-NWPLCY-COMMON`, `KUBE-NWPLCY-DEFAULT`, `KUBE-NWPLCY-TAIL`: fixed helpers.
 * - One chain per policy *and direction* (D1): ingress chains are entered with `-d podIP`, egress
 *   chains with `-s podIP`, so a policy's ingress rules can never admit an egress packet.
 * - One `KUBE-POD-FW-*` chain per local actionable pod with an address of the family.
 * - Rules inside policy chains depend only on the policies and on named-port resolution; pod churn
 *   mostly changes set members only, which the apply engine swaps without touching iptables.
 *
 * Sets. Policy target sets hold only the *local* targets: they are only consulted inside chains that
 * local pods' chains jump to. Peer sets and named-port sets hold matching pods cluster-wide.
 */

// ---------------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------------

interface ResolvedConfig {
  readonly nodeName: string;
  readonly families: readonly Family[];
  readonly serviceCIDRs: Readonly<Record<Family, readonly string[]>>;
  readonly nodePorts: { from: number; to: number } | undefined;
  readonly podCIDRs: Readonly<Record<Family, readonly string[]>>;
  readonly defaultDeny: boolean;
  readonly acceptPlacement: AcceptPlacement;
  readonly nflog: { enabled: boolean; perPolicy: boolean; group: number; limit: string; burst: number };
}

const DEFAULT_SERVICE_CIDRS = ['10.43.0.0/16'];
const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** Parses `a-b` or `a:b` (a < b, both 1-65535), as kube-router validates `--service-node-port-range`. */
export function parseNodePortRange(s: string): { from: number; to: number } | undefined {
  const m = /^(\d+)[:-](\d+)$/.exec(s.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || to > 65535 || from >= to) return undefined;
  return { from, to };
}

/**
 * Checks a config the shell built from flags: one problem per bad value, naming the field. The shell
 * turns these into exit code 2 (STYLE rule 10); {@link renderNetpol} reports and skips them too.
 */
export function checkNetpolConfig(config: NetpolConfig): Problem[] {
  const out: Problem[] = [];
  const bad = (field: string, value: string, message: string): void => {
    out.push({ reason: 'InvalidAddress', severity: 'error', field, value, message });
  };
  if (!config.nodeName) bad('nodeName', '', 'must be set');
  for (const f of config.families ?? []) if (!FAMILIES.includes(f)) bad('families', String(f), 'must be IPv4 or IPv6');
  if (config.families && config.families.length === 0) bad('families', '[]', 'must enable at least one family');
  (config.serviceCIDRs ?? []).forEach((c, i) => {
    if (!parseCIDR(c)) bad(`serviceCIDRs[${i}]`, c, 'must be a CIDR');
  });
  (config.podCIDRs ?? []).forEach((c, i) => {
    if (!parseCIDR(c)) bad(`podCIDRs[${i}]`, c, 'must be a CIDR');
  });
  if (config.nodePortRange !== undefined && !parseNodePortRange(config.nodePortRange)) {
    bad('nodePortRange', config.nodePortRange, 'must be <low>-<high> or <low>:<high> with low < high, within 1-65535');
  }
  const n = config.nflog;
  if (n?.group !== undefined && (!Number.isInteger(n.group) || n.group < 0 || n.group > 65535)) bad('nflog.group', String(n.group), 'must be 0-65535');
  if (n?.limit !== undefined && !/^\d+\/(second|minute|hour|day)$/.test(n.limit)) bad('nflog.limit', n.limit, 'must be <n>/<second|minute|hour|day>');
  if (n?.burst !== undefined && (!Number.isInteger(n.burst) || n.burst < 1)) bad('nflog.burst', String(n.burst), 'must be a positive integer');
  return out;
}

function splitByFamily(cidrs: readonly string[]): Record<Family, string[]> {
  const out: Record<Family, string[]> = { IPv4: [], IPv6: [] };
  for (const c of cidrs) {
    const p = parseCIDR(c.trim());
    if (!p) continue;
    const s = formatCIDR(p);
    const list = out[p.v6 ? 'IPv6' : 'IPv4'];
    if (!list.includes(s)) list.push(s);
  }
  return out;
}

function resolveConfig(config: NetpolConfig, snapshot: NetpolSnapshot, problems: Problem[]): ResolvedConfig {
  problems.push(...checkNetpolConfig(config));
  const families = FAMILIES.filter((f) => (config.families ?? ['IPv4']).includes(f));
  let podCIDRs = config.podCIDRs;
  if (podCIDRs === undefined) {
    const node = (snapshot.nodes ?? []).find((n) => n.metadata.name === config.nodeName);
    if (!node) {
      if (config.defaultDeny) {
        problems.push({
          reason: 'NodeNotFound',
          severity: 'warning',
          object: { kind: 'Node', name: config.nodeName },
          field: 'nodeName',
          value: config.nodeName,
          message: 'the node is not in the snapshot, so its pod CIDRs are unknown; default-deny rules are rendered without CIDRs',
        });
      }
      podCIDRs = [];
    } else {
      const ann = node.metadata.annotations?.[Netpol.podCIDRsAnnotation];
      podCIDRs = ann
        ? ann.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
        : node.spec?.podCIDRs?.length
          ? node.spec.podCIDRs
          : node.spec?.podCIDR
            ? [node.spec.podCIDR]
            : [];
      podCIDRs.forEach((c, i) => {
        if (!parseCIDR(c.trim())) {
          problems.push({
            reason: 'InvalidAddress',
            severity: 'warning',
            object: { kind: 'Node', name: node.metadata.name },
            field: ann ? `metadata.annotations.${Netpol.podCIDRsAnnotation}` : `spec.podCIDRs[${i}]`,
            value: c,
            message: 'pod CIDR does not parse; it is ignored',
          });
        }
      });
    }
  }
  const pods = splitByFamily(podCIDRs);
  if (config.defaultDeny) {
    for (const f of families) {
      if (pods[f].length === 0) {
        problems.push({
          reason: 'MissingPodCIDR',
          severity: 'warning',
          object: { kind: 'Node', name: config.nodeName },
          field: 'podCIDRs',
          value: f,
          message: `no ${f} pod CIDR for this node: the default-deny TAIL rules of ${f} only accept policy-checked traffic`,
        });
      }
    }
  }
  const n = config.nflog ?? {};
  return {
    nodeName: config.nodeName,
    families,
    serviceCIDRs: splitByFamily(config.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS),
    nodePorts: parseNodePortRange(config.nodePortRange ?? DEFAULT_NODE_PORT_RANGE),
    podCIDRs: pods,
    defaultDeny: config.defaultDeny ?? false,
    acceptPlacement: config.acceptPlacement ?? 'chain-end',
    nflog: {
      enabled: n.enabled ?? true,
      perPolicy: n.perPolicy ?? false,
      group: n.group ?? Netpol.nflogGroup,
      limit: n.limit ?? '10/minute',
      burst: n.burst ?? 10,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Names with collision handling (D14)
// ---------------------------------------------------------------------------------------------

/**
 * kube-router hashes plain concatenations (`ns + name + ...`), so `a`/`bc` and `ab`/`c` (both valid
 * names) hash alike. The registry hands out kube-router's name and, when that name is already held by
 * another object in this render, a name hashed from a `/`-separated input (which no kube-router
 * input can equal, because Kubernetes names contain no `/`), and reports `NameCollision`. Objects are
 * registered in sorted order, so the outcome is deterministic.
 */
class NameRegistry {
  private readonly owner = new Map<string, string>();
  private readonly problems: Problem[];
  constructor(problems: Problem[]) {
    this.problems = problems;
  }

  claim(logicalKey: string, name: string, alternative: () => string, object: Problem['object']): string {
    const held = this.owner.get(name);
    if (held === undefined || held === logicalKey) {
      this.owner.set(name, logicalKey);
      return name;
    }
    const alt = alternative();
    this.owner.set(alt, logicalKey);
    this.problems.push({
      reason: 'NameCollision',
      severity: 'warning',
      ...(object ? { object } : {}),
      field: 'metadata.name',
      value: name,
      message: `kube-router's name ${name} is already used by ${held.split('|').slice(1).join(' ')}; using ${alt} instead`,
    });
    return alt;
  }
}

// ---------------------------------------------------------------------------------------------
// Selection
// ---------------------------------------------------------------------------------------------

/** Memoized selector evaluation over the model (one per render). */
class Selection {
  private readonly byNamespace = new Map<string, PodModel[]>(); // ns -> actionable pods
  private readonly nsMemo = new Map<string, string[]>(); // nsSelector key -> namespaces
  private readonly podMemo = new Map<string, PodModel[]>(); // ns \0 podSelector key -> pods
  readonly actionable: PodModel[];
  readonly model: ClusterModel;

  constructor(model: ClusterModel) {
    this.model = model;
    this.actionable = model.pods.filter((p) => p.actionable);
    for (const p of this.actionable) {
      const list = this.byNamespace.get(p.namespace);
      if (list) list.push(p);
      else this.byNamespace.set(p.namespace, [p]);
    }
  }

  /** Namespaces (existing Namespace objects) whose labels match. */
  namespaces(sel: Selector): string[] {
    let out = this.nsMemo.get(sel.key);
    if (!out) {
      out = [...this.model.namespaces.entries()].filter(([, labels]) => sel.matches(labels)).map(([n]) => n).sort();
      this.nsMemo.set(sel.key, out);
    }
    return out;
  }

  /** Actionable pods of `ns` matching `sel` (null: all), sorted by key. */
  podsIn(ns: string, sel: Selector | null): PodModel[] {
    const all = this.byNamespace.get(ns) ?? [];
    if (sel === null || sel.all) return all;
    const k = `${ns}\u0000${sel.key}`;
    let out = this.podMemo.get(k);
    if (!out) {
      out = all.filter((p) => sel.matches(p.labels));
      this.podMemo.set(k, out);
    }
    return out;
  }

  /** Pods selected by a selector peer of a policy in `policyNs`. */
  peerPods(peer: Extract<PeerModel, { kind: 'selector' }>, policyNs: string): PodModel[] {
    if (peer.namespaceSelector === null) return this.podsIn(policyNs, peer.podSelector);
    const out: PodModel[] = [];
    for (const ns of this.namespaces(peer.namespaceSelector)) out.push(...this.podsIn(ns, peer.podSelector));
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Rule builders
// ---------------------------------------------------------------------------------------------

const MARK_MATCH = Netpol.markPolicyMatch;
const MARK_OK = Netpol.markNetpolOk;

function protoOf(p: Protocol): RuleProtocol {
  return p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : 'sctp';
}

/** kube-router's comment hygiene: no control characters, at most 120 bytes. */
export function clampComment(s: string): string {
  // eslint-disable-next-line no-control-regex
  let out = s.replace(/[\u0000-\u001f\u007f]/g, '');
  const enc = new TextEncoder();
  while (enc.encode(out).length > 120) out = out.slice(0, -1);
  return out;
}

/** Shortens `ns/name` for an NFLOG prefix (k3s fork `safeJoin`, at most 48 characters). */
export function safeJoin(ns: string, name: string): string {
  if (ns.length + name.length < 48) return `${ns}/${name}`;
  if (ns.length >= 24 && name.length >= 24) return `${ns.slice(0, 23)}/${name.slice(0, 23)}`;
  const budget = 47;
  return ns.length >= name.length ? `${ns.slice(0, budget - name.length)}/${name}` : `${ns}/${name.slice(0, budget - ns.length)}`;
}

/** A policy rule pair: `<match> MARK 0x10000` then `<match> -m mark 0x10000 RETURN` (spec 2.3). */
function markPair(match: Omit<Rule, 'target'>): Rule[] {
  return [
    { ...match, target: { kind: 'MARK', value: MARK_MATCH, mask: MARK_MATCH } },
    { ...match, mark: { value: MARK_MATCH, mask: MARK_MATCH }, target: { kind: 'RETURN' } },
  ];
}

interface PortMatch {
  readonly protocol?: RuleProtocol;
  readonly dport?: { from: number; to?: number };
}

/** Numeric (and protocol-only) port entries of a rule, de-duplicated, in spec order. */
function numericPorts(rule: RuleModel): PortMatch[] {
  const out: PortMatch[] = [];
  const seen = new Set<string>();
  for (const p of rule.ports ?? []) {
    if (p.named !== undefined) continue;
    const m: PortMatch =
      p.port === undefined
        ? { protocol: protoOf(p.protocol) }
        : { protocol: protoOf(p.protocol), dport: p.endPort !== undefined ? { from: p.port, to: p.endPort } : { from: p.port } };
    const k = `${m.protocol}:${m.dport?.from ?? ''}:${m.dport?.to ?? ''}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(m);
    }
  }
  return out;
}

interface NamedGroup {
  readonly protocol: Protocol;
  readonly port: number;
  /** Destination pod IPs (this family) exposing one of the rule's names with this protocol and number. */
  readonly ips: string[];
}

/** Resolves a rule's named ports on candidate destination pods: (protocol, number) -> pods. */
function resolveNamed(rule: RuleModel, candidates: readonly PodModel[], family: Family): NamedGroup[] {
  const named = (rule.ports ?? []).filter((p) => p.named !== undefined);
  if (named.length === 0) return [];
  const groups = new Map<string, { protocol: Protocol; port: number; ips: Set<string> }>();
  for (const pod of candidates) {
    const ip = pod.ips[family];
    if (ip === undefined) continue;
    for (const p of named) {
      for (const port of pod.namedPorts.get(`${p.named}/${p.protocol}`) ?? []) {
        const k = `${p.protocol}/${String(port).padStart(5, '0')}`;
        let g = groups.get(k);
        if (!g) groups.set(k, (g = { protocol: p.protocol, port, ips: new Set() }));
        g.ips.add(ip);
      }
    }
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => ({ protocol: g.protocol, port: g.port, ips: [...g.ips] }));
}

/** Sorted unique hash:ip entries. */
function ipEntries(ips: Iterable<string>): IpSetEntry[] {
  return [...new Set(ips)].sort(compareAddr).map((addr) => ({ addr }));
}

/** Orders addresses numerically (IPv4 and IPv6 are never mixed in one set). */
function compareAddr(a: string, b: string): number {
  const x = parseIP(a);
  const y = parseIP(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x.value < y.value ? -1 : x.value > y.value ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Per-policy rendering
// ---------------------------------------------------------------------------------------------

interface PolicyOutput {
  readonly chains: Chain[];
  readonly sets: IpSet[];
  /** Local target pod keys per direction, and the chain to jump to. */
  readonly ingress?: { chain: string; targets: PodModel[] };
  readonly egress?: { chain: string; targets: PodModel[] };
}

interface RenderCtx {
  readonly cfg: ResolvedConfig;
  readonly sel: Selection;
  readonly names: NameRegistry;
  readonly family: Family;
  readonly problems: Problem[];
}

function setFamily(f: Family): 'inet' | 'inet6' {
  return f === 'IPv6' ? 'inet6' : 'inet';
}

function policyObject(p: PolicyModel): Problem['object'] {
  return { kind: 'NetworkPolicy', namespace: p.namespace, name: p.name };
}

function renderPolicy(ctx: RenderCtx, pol: PolicyModel): PolicyOutput {
  const { family, sel, names } = ctx;
  const sets: IpSet[] = [];
  const chains: Chain[] = [];
  const obj = policyObject(pol);
  const allTargets = sel.podsIn(pol.namespace, pol.podSelector).filter((p) => p.ips[family] !== undefined);
  const localTargets = allTargets.filter((p) => p.nodeName === ctx.cfg.nodeName);

  const setName = (logical: string, kr: string, alt: string): string => names.claim(`set|${pol.key}|${logical}|${family}`, kr, () => alt, obj);
  const alt = (prefix: string, ...parts: (string | number)[]): string =>
    hashedName(family === 'IPv6' ? Netpol.ipv6SetPrefix + prefix : prefix, [pol.namespace, pol.name, ...parts.map(String), family].join('/'));
  const addSet = (name: string, type: IpSet['type'], entries: IpSetEntry[]): void => {
    sets.push({ name, type, family: setFamily(family), entries });
  };

  const out: { ingress?: PolicyOutput['ingress']; egress?: PolicyOutput['egress'] } = {};

  for (const dir of ['ingress', 'egress'] as const satisfies readonly Direction[]) {
    if (dir === 'ingress' ? !pol.ingress : !pol.egress) continue;
    const version = stablePolicyVersion(dir);
    const chainName = names.claim(
      `chain|${pol.key}|${dir}|${family}`,
      policyChainName(pol.namespace, pol.name, version, family),
      () => hashedName(Netpol.policyChainPrefix, [pol.namespace, pol.name, version, family].join('/')),
      obj,
    );
    const targetSet = setName(
      `${dir}-targets`,
      targetSetName(pol.namespace, pol.name, dir, family),
      alt(dir === 'ingress' ? Netpol.dstSetPrefix : Netpol.srcSetPrefix),
    );
    addSet(targetSet, 'hash:ip', ipEntries(localTargets.map((p) => p.ips[family]!)));
    const rules: Rule[] = [];
    const rulesOf = dir === 'ingress' ? pol.ingressRules : pol.egressRules;
    const peerDir = dir === 'ingress' ? 'src' : 'dst';
    const targetDir = dir === 'ingress' ? 'dst' : 'src';

    for (const r of rulesOf) {
      // Peers of this family: selector-matched pods (cluster-wide) and ipBlocks.
      type Peer = { kind: 'any' } | { kind: 'pods' | 'cidr'; set: string };
      const peers: Peer[] = [];
      let peerPods: PodModel[] = [];
      const blocks = (r.peers ?? []).filter((p): p is Extract<PeerModel, { kind: 'ipBlock' }> => p.kind === 'ipBlock');
      if (r.peers === null) {
        peers.push({ kind: 'any' });
      } else {
        const selectors = r.peers.filter((p): p is Extract<PeerModel, { kind: 'selector' }> => p.kind === 'selector');
        if (selectors.length > 0) {
          const seen = new Set<string>();
          for (const s of selectors) {
            for (const p of sel.peerPods(s, pol.namespace)) {
              if (p.ips[family] === undefined || seen.has(p.key)) continue;
              seen.add(p.key);
              peerPods.push(p);
            }
          }
          const name = setName(`${dir}${r.index}-pod`, peerSetName(pol.namespace, pol.name, dir, r.index, 'pod', family), alt(dir === 'ingress' ? Netpol.srcSetPrefix : Netpol.dstSetPrefix, `${dir}rule`, r.index, 'pod'));
          addSet(name, 'hash:ip', ipEntries(peerPods.map((p) => p.ips[family]!)));
          peers.push({ kind: 'pods', set: name });
        }
        const fam = blocks.filter((b) => b.family === family);
        for (const b of blocks) {
          if (!ctx.cfg.families.includes(b.family)) {
            ctx.problems.push({
              reason: 'IPBlockFamilyDisabled',
              severity: 'warning',
              object: obj,
              field: `spec.${dir}[${r.index}]`,
              value: formatCIDR(b.cidr),
              message: `${b.family} is not enabled on this node; the ipBlock is ignored`,
            });
          }
        }
        if (fam.length > 0) {
          const entries = ipBlockEntries(fam);
          if (entries.some((e) => !e.nomatch)) {
            const name = setName(`${dir}${r.index}-ipblock`, peerSetName(pol.namespace, pol.name, dir, r.index, 'ipblock', family), alt(dir === 'ingress' ? Netpol.srcSetPrefix : Netpol.dstSetPrefix, `${dir}rule`, r.index, 'ipblock'));
            addSet(name, 'hash:net', entries);
            peers.push({ kind: 'cidr', set: name });
          }
        }
      }

      const numeric = numericPorts(r);
      // Named ports resolve on the destination pod: the target for ingress; for egress every pod the
      // rule's peers reach (selected pods, and pods inside its ipBlocks: D4), or every pod (D5).
      let groups: NamedGroup[] = [];
      if ((r.ports ?? []).some((p) => p.named !== undefined)) {
        let candidates: readonly PodModel[];
        if (dir === 'ingress') candidates = localTargets;
        else if (r.peers === null) candidates = sel.actionable;
        else {
          const keys = new Set(peerPods.map((p) => p.key));
          const inBlocks = blocks.length
            ? sel.actionable.filter((p) => {
                const ip = p.ips[family];
                if (ip === undefined || keys.has(p.key)) return false;
                const a = parseIP(ip)!;
                return blocks.some((b) => b.family === family && ipInBlock(a, b));
              })
            : [];
          candidates = [...peerPods, ...inBlocks];
        }
        groups = resolveNamed(r, candidates, family);
      }
      // D2: a non-empty `ports` that resolves to nothing allows nothing.
      if (r.ports !== null && numeric.length === 0 && groups.length === 0) continue;

      const kindOf = (p: Peer): string => (p.kind === 'any' ? 'any' : p.kind === 'pods' ? 'pods' : 'cidr');
      const comment = (p: Peer, np: boolean): string => clampComment(`${pol.key} ${dir} ${kindOf(p)}${np ? ' np' : ''}`);
      const peerMatch = (p: Peer): { set: string; dir: 'src' | 'dst' }[] => (p.kind === 'any' ? [] : [{ set: p.set, dir: peerDir }]);

      if (r.ports === null) {
        for (const p of peers) rules.push(...markPair({ comment: comment(p, false), sets: orderSets([...peerMatch(p), { set: targetSet, dir: targetDir }]) }));
        continue;
      }
      for (const p of peers) {
        for (const m of numeric) {
          rules.push(...markPair({ comment: comment(p, false), sets: orderSets([...peerMatch(p), { set: targetSet, dir: targetDir }]), ...portFields(m) }));
        }
      }
      groups.forEach((g, j) => {
        const name = setName(
          `${dir}${r.index}-named${j}`,
          namedPortSetName(pol.namespace, pol.name, dir, r.index, j, family),
          alt(Netpol.dstSetPrefix, `${dir}rule`, r.index, j, 'namedport'),
        );
        addSet(name, 'hash:ip', ipEntries(g.ips));
        const m: PortMatch = { protocol: protoOf(g.protocol), dport: { from: g.port } };
        if (dir === 'ingress') {
          for (const p of peers) rules.push(...markPair({ comment: comment(p, true), sets: orderSets([...peerMatch(p), { set: name, dir: 'dst' }]), ...portFields(m) }));
        } else {
          // The named-port set already holds only destinations the peers allow.
          const p: Peer = r.peers === null ? { kind: 'any' } : { kind: 'pods', set: name };
          rules.push(...markPair({ comment: comment(p, true), sets: [{ set: targetSet, dir: 'src' }, { set: name, dir: 'dst' }], ...portFields(m) }));
        }
      });
    }
    if (ctx.cfg.nflog.perPolicy) {
      rules.push({
        comment: 'rule to log dropped traffic',
        mark: { value: MARK_MATCH, mask: MARK_MATCH, negate: true },
        limit: { rate: pol.nflogLimit ?? ctx.cfg.nflog.limit, burst: pol.nflogBurst ?? ctx.cfg.nflog.burst },
        target: { kind: 'NFLOG', group: ctx.cfg.nflog.group, prefix: `DROP by policy ${safeJoin(pol.namespace, pol.name)}` },
      });
    }
    chains.push({ name: chainName, rules });
    out[dir] = { chain: chainName, targets: localTargets };
  }
  return { chains, sets, ...out };
}

/** Source-set match before destination-set match (kube-router's order). */
function orderSets(sets: { set: string; dir: 'src' | 'dst' }[]): { set: string; dir: 'src' | 'dst' }[] {
  return [...sets.filter((s) => s.dir === 'src'), ...sets.filter((s) => s.dir === 'dst')];
}

function portFields(m: PortMatch): Pick<Rule, 'protocol' | 'dport'> {
  const out: { protocol?: RuleProtocol; dport?: { from: number; to?: number } } = {};
  if (m.protocol) out.protocol = m.protocol;
  if (m.dport) out.dport = m.dport;
  return out;
}

function ipInBlock(a: { v6: boolean; value: bigint }, b: Extract<PeerModel, { kind: 'ipBlock' }>): boolean {
  const inside = (c: { v6: boolean; value: bigint; prefix: number }): boolean => {
    if (c.v6 !== a.v6) return false;
    const bits = a.v6 ? 128n : 32n;
    const shift = bits - BigInt(c.prefix);
    return a.value >> shift === c.value >> shift;
  };
  return inside(b.cidr) && !b.except.some(inside);
}

// ---------------------------------------------------------------------------------------------
// Fixed chains
// ---------------------------------------------------------------------------------------------

function commonChain(family: Family): Chain {
  const icmp: [number, string][] =
    family === 'IPv4'
      ? [
          [8, 'allow icmp echo requests'],
          [3, 'allow icmp destination unreachable messages'],
          [11, 'allow icmp time exceeded messages'],
        ]
      : [
          [128, 'allow icmp echo requests'],
          [1, 'allow icmp destination unreachable messages'],
          [3, 'allow icmp time exceeded messages'],
          [135, 'allow icmp neighbor solicitation messages'],
          [136, 'allow icmp neighbor advertisement messages'],
          [129, 'allow icmp echo reply messages'],
        ];
  const protocol: RuleProtocol = family === 'IPv4' ? 'icmp' : 'ipv6-icmp';
  return {
    name: Netpol.commonChain,
    rules: [
      { comment: 'rule to drop invalid state for pod', ctState: ['INVALID'], target: { kind: 'DROP' } },
      { comment: 'rule for stateful firewall for pod', ctState: ['RELATED', 'ESTABLISHED'], target: { kind: 'ACCEPT' } },
      ...icmp.map(([type, comment]): Rule => ({ protocol, comment, icmpType: type, target: { kind: 'ACCEPT' } })),
    ],
  };
}

function defaultChain(): Chain {
  return {
    name: Netpol.defaultChain,
    rules: [{ comment: 'rule to mark traffic matching a network policy', target: { kind: 'MARK', value: MARK_MATCH, mask: MARK_MATCH } }],
  };
}

/**
 * KUBE-NWPLCY-TAIL (spec 2.2). With default-deny, traffic of this node's pod CIDRs that no pod chain
 * passed is rejected, except traffic from or to the node's own addresses inside those CIDRs (the
 * bridge gateway; kube-router rejects it, D13). With `after-kube-rules` placement the netpol-ok rule
 * RETURNs so the built-in ACCEPT after the KUBE rules decides.
 */
function tailChain(cfg: ResolvedConfig, family: Family): Chain {
  const okTarget: Rule['target'] = cfg.acceptPlacement === 'chain-end' ? { kind: 'ACCEPT' } : { kind: 'RETURN' };
  const ok: Rule = { comment: 'accept netpol-ok', mark: { value: MARK_OK, mask: MARK_OK }, target: okTarget };
  if (!cfg.defaultDeny) return { name: Netpol.tailChain, rules: [ok] };
  const set = localPodsSetName(family);
  const rules: Rule[] = [];
  for (const cidr of cfg.podCIDRs[family]) {
    const c = 'reject unprogrammed local pod (default-deny)';
    rules.push({ source: cidr, comment: c, addrType: { dir: 'src', type: 'LOCAL', negate: true }, sets: [{ set, dir: 'src', negate: true }], target: { kind: 'REJECT' } });
    rules.push({ destination: cidr, comment: c, addrType: { dir: 'dst', type: 'LOCAL', negate: true }, sets: [{ set, dir: 'dst', negate: true }], target: { kind: 'REJECT' } });
  }
  rules.push(ok);
  for (const cidr of cfg.podCIDRs[family]) {
    const c = 'reject pre-netpol (default-deny)';
    rules.push({ source: cidr, comment: c, addrType: { dir: 'src', type: 'LOCAL', negate: true }, target: { kind: 'REJECT' } });
    rules.push({ destination: cidr, comment: c, addrType: { dir: 'dst', type: 'LOCAL', negate: true }, target: { kind: 'REJECT' } });
  }
  return { name: Netpol.tailChain, rules };
}

/** kube-router builds positioned rules with the comment first; the ID hashes that argument order. */
function positionedKubeRouter(chain: string, args: string[], rule: Rule): Rule {
  return { ...rule, comment: `${rule.comment} - ${positionedRuleId(chain, args)}` };
}

function builtinJumps(): BuiltinRule[] {
  const jumps: [BuiltinRule['chain'], string][] = [
    ['INPUT', Netpol.inputChain],
    ['FORWARD', Netpol.forwardChain],
    ['OUTPUT', Netpol.outputChain],
  ];
  return jumps.map(([chain, target]) => ({
    chain,
    placement: 'first' as const,
    rule: positionedKubeRouter(chain, ['-m', 'comment', '--comment', Netpol.jumpCommentPrefix, '-j', target], {
      comment: Netpol.jumpCommentPrefix,
      target: { kind: 'jump', chain: target },
    }),
  }));
}

// ---------------------------------------------------------------------------------------------
// Family rendering
// ---------------------------------------------------------------------------------------------

interface PodJumps {
  ingress: { policy: PolicyModel; chain: string }[];
  egress: { policy: PolicyModel; chain: string }[];
}

function podChain(cfg: ResolvedConfig, pod: PodModel, name: string, ip: string, jumps: PodJumps | undefined): Chain {
  const host = hostCIDR(parseIP(ip)!);
  const rules: Rule[] = [
    { comment: 'common netpol rules', target: { kind: 'jump', chain: Netpol.commonChain } },
    { destination: host, comment: 'from local node', addrType: { dir: 'src', type: 'LOCAL' }, target: { kind: 'ACCEPT' } },
  ];
  const ingress = jumps?.ingress ?? [];
  const egress = jumps?.egress ?? [];
  if (egress.length === 0) rules.push({ source: host, comment: 'default egress', target: { kind: 'jump', chain: Netpol.defaultChain } });
  if (ingress.length === 0) rules.push({ destination: host, comment: 'default ingress', target: { kind: 'jump', chain: Netpol.defaultChain } });
  for (const j of ingress) rules.push({ destination: host, comment: clampComment(`${j.policy.key} policy`), target: { kind: 'jump', chain: j.chain } });
  for (const j of egress) rules.push({ source: host, comment: clampComment(`${j.policy.key} policy`), target: { kind: 'jump', chain: j.chain } });
  const notMatched = { value: MARK_MATCH, mask: MARK_MATCH, negate: true };
  if (cfg.nflog.enabled) {
    rules.push({
      comment: clampComment(`${pod.key} log-drop`),
      mark: notMatched,
      limit: { rate: cfg.nflog.limit, burst: cfg.nflog.burst },
      target: { kind: 'NFLOG', group: cfg.nflog.group },
    });
  }
  rules.push({ comment: clampComment(`${pod.key} reject`), mark: notMatched, target: { kind: 'REJECT' } });
  rules.push({ target: { kind: 'MARK', value: 0, mask: MARK_MATCH } });
  rules.push({ comment: 'set netpol-ok mark', target: { kind: 'MARK', value: MARK_OK, mask: MARK_OK } });
  return { name, rules };
}

function renderFamily(model: ClusterModel, sel: Selection, cfg: ResolvedConfig, family: Family, problems: Problem[], names: NameRegistry): FamilyState {
  const ctx: RenderCtx = { cfg, sel, names, family, problems };
  const sets: IpSet[] = [];
  const policyChains: Chain[] = [];
  const jumpsByPod = new Map<string, PodJumps>();
  for (const pol of model.policies) {
    const out = renderPolicy(ctx, pol);
    sets.push(...out.sets);
    policyChains.push(...out.chains);
    for (const dir of ['ingress', 'egress'] as const) {
      const d = out[dir];
      if (!d) continue;
      for (const t of d.targets) {
        let j = jumpsByPod.get(t.key);
        if (!j) jumpsByPod.set(t.key, (j = { ingress: [], egress: [] }));
        j[dir].push({ policy: pol, chain: d.chain });
      }
    }
  }

  const localPods = sel.actionable.filter((p) => p.nodeName === cfg.nodeName && p.ips[family] !== undefined);
  const podChains: Chain[] = [];
  const input: Rule[] = [];
  const forward: Rule[] = [];
  const output: Rule[] = [];

  // INPUT whitelist: service CIDRs and local node ports RETURN before any pod jump (spec 2.1).
  for (const cidr of cfg.serviceCIDRs[family]) {
    const comment = 'allow traffic to primary/secondary cluster IP range';
    input.push(
      positionedKubeRouter(Netpol.inputChain, ['-m', 'comment', '--comment', comment, '-d', cidr, '-j', 'RETURN'], {
        destination: cidr,
        comment,
        target: { kind: 'RETURN' },
      }),
    );
  }
  if (cfg.nodePorts) {
    const range = `${cfg.nodePorts.from}:${cfg.nodePorts.to}`;
    for (const proto of ['tcp', 'udp', 'sctp'] as const) {
      const comment = `allow LOCAL ${proto.toUpperCase()} traffic to node ports`;
      const args = ['-p', proto, '-m', 'comment', '--comment', comment, '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', 'multiport', '--dports', range, '-j', 'RETURN'];
      input.push(
        positionedKubeRouter(Netpol.inputChain, args, {
          protocol: proto,
          comment,
          addrType: { dir: 'dst', type: 'LOCAL' },
          multiportDports: cfg.nodePorts,
          target: { kind: 'RETURN' },
        }),
      );
    }
  }

  const localIPs: string[] = [];
  for (const pod of localPods) {
    const ip = pod.ips[family]!;
    localIPs.push(ip);
    const chain = names.claim(
      `podchain|${pod.key}`,
      podChainName(pod.namespace, pod.name, STABLE_POD_VERSION),
      () => hashedName(Netpol.podChainPrefix, [pod.namespace, pod.name, STABLE_POD_VERSION].join('/')),
      { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    );
    podChains.push(podChain(cfg, pod, chain, ip, jumpsByPod.get(pod.key)));
    const host = hostCIDR(parseIP(ip)!);
    const jump = { kind: 'jump', chain } as const;
    const inC = clampComment(`${pod.key} in`);
    const outC = clampComment(`${pod.key} out`);
    forward.push(
      { destination: host, comment: inC, target: jump },
      { destination: host, physdevIsBridged: true, comment: inC, target: jump },
      { source: host, comment: outC, target: jump },
      { source: host, physdevIsBridged: true, comment: outC, target: jump },
    );
    output.push({ destination: host, comment: inC, target: jump }, { source: host, comment: outC, target: jump });
    input.push({ source: host, comment: outC, target: jump });
  }

  const tailJump: Rule = {
    comment: 'rule to explicitly handle traffic for network policies ACCEPT/REJECT decision',
    target: { kind: 'jump', chain: Netpol.tailChain },
  };
  const acceptOk: Rule = {
    comment: 'rule to explicitly ACCEPT traffic that comply to network policies',
    mark: { value: MARK_OK, mask: MARK_OK },
    target: { kind: 'ACCEPT' },
  };
  for (const list of [input, forward, output]) {
    list.push(tailJump);
    if (cfg.acceptPlacement === 'chain-end') list.push(acceptOk);
  }

  if (cfg.defaultDeny) {
    sets.push({ name: localPodsSetName(family), type: 'hash:ip', family: setFamily(family), entries: ipEntries(localIPs) });
  }

  const builtinRules = builtinJumps();
  if (cfg.acceptPlacement === 'after-kube-rules') {
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'] as const) {
      builtinRules.push({
        chain,
        placement: 'after-last-kube',
        rule: {
          comment: 'KUBE-ROUTER rule to explicitly ACCEPT traffic that comply to network policies',
          mark: { value: MARK_OK, mask: MARK_OK },
          target: { kind: 'ACCEPT' },
        },
      });
    }
  }
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    family,
    ipsets: sets.sort(byName),
    chains: [
      { name: Netpol.inputChain, rules: input },
      { name: Netpol.forwardChain, rules: forward },
      { name: Netpol.outputChain, rules: output },
      commonChain(family),
      defaultChain(),
      tailChain(cfg, family),
      ...policyChains.sort(byName),
      ...podChains.sort(byName),
    ],
    builtinRules: builtinRules.sort((a, b) => BUILTIN_ORDER[a.chain] - BUILTIN_ORDER[b.chain] || (a.placement === b.placement ? 0 : a.placement === 'first' ? -1 : 1)),
  };
}

const BUILTIN_ORDER = { INPUT: 0, FORWARD: 1, OUTPUT: 2 } as const;

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * Renders the desired ipsets and filter chains of one node. Pure and deterministic: the output
 * depends only on the content of `snapshot` and `config`, not on array order, and names are stable
 * across calls (see names.ts). Invalid input is reported in `problems` and skipped, never thrown.
 */
export function renderNetpol(snapshot: NetpolSnapshot, config: NetpolConfig): DesiredState {
  const problems: Problem[] = [];
  const cfg = resolveConfig(config, snapshot, problems);
  const model = buildModel(snapshot);
  problems.push(...model.problems);
  const sel = new Selection(model);
  const families: FamilyState[] = [];
  for (const family of cfg.families) families.push(renderFamily(model, sel, cfg, family, problems, new NameRegistry(problems)));
  return { families, problems: sortProblems(problems) };
}

/**
 * A renderer object for the long-running agent. `render` returns exactly what {@link renderNetpol}
 * returns for the same input.
 */
export class NetpolRenderer {
  render(snapshot: NetpolSnapshot, config: NetpolConfig): DesiredState {
    return renderNetpol(snapshot, config);
  }
}
