import { hashedName, Netpol } from '@portico/labels';
import { ipBlockEntries } from './cidrset.ts';
import {
  builtinJumps,
  clampComment,
  commonChain,
  defaultChain,
  MARK_MATCH,
  MARK_OK,
  markPair,
  positionedKubeRouter,
  protoOf,
  safeJoin,
  tailChain,
} from './chains.ts';
import { type ResolvedConfig, resolveConfig } from './config.ts';
import { pushAll } from './arrays.ts';
import { formatCIDR } from './ip.ts';
import { buildModel, type ModelCache, newModelCache, type PeerModel, type PodModel, type PolicyModel, type RuleModel, sortProblems } from './model.ts';
import {
  type Direction,
  localPodsSetName,
  namedPortSharedSetName,
  peerSetName,
  podChainName,
  policyChainName,
  STABLE_POD_VERSION,
  stablePolicyVersion,
  targetSetName,
} from './names.ts';
import { SelectionCache } from './selection.ts';
import { newScreenMemo, type ScreenMemo, screenSnapshot } from './validate.ts';
import type {
  BuiltinRule,
  Chain,
  DesiredState,
  Family,
  FamilyState,
  IpSet,
  IpSetEntry,
  NetpolConfig,
  NetpolSnapshot,
  Problem,
  Rule,
  SetMatch,
} from './types.ts';

export { checkNetpolConfig, parseNodePortRange } from './config.ts';

/**
 * The renderer: snapshot + config -> desired ipsets and chains per family (spec section 2, with the
 * D1-D6, D10, D11 fixes and Portico's D13/D14; see docs/netpol.md).
 *
 * Output per family:
 * - `KUBE-ROUTER-INPUT|FORWARD|OUTPUT`: INPUT whitelist (service CIDRs, local node ports), the per-pod
 *   jumps sorted by pod, then the jump to `KUBE-NWPLCY-TAIL` and the ACCEPT on 0x20000.
 * - `KUBE-NWPLCY-COMMON`, `KUBE-NWPLCY-DEFAULT`, `KUBE-NWPLCY-TAIL`: fixed helpers.
 * - One chain per policy *and direction* (D1): ingress chains are entered with `-d podIP`, egress
 *   chains with `-s podIP`, so a policy's ingress rules never see its targets' egress packets.
 * - One `KUBE-POD-FW-*` chain per local actionable pod with an address of the family.
 *
 * Sets: policy target sets hold only the *local* targets (they are consulted only in chains that
 * local pods' chains jump to); peer sets hold matching pods cluster-wide; ipBlock sets hold the exact
 * union of the rule's blocks (D3); named ports match through shared per-(name, protocol, number) sets
 * (D4, D5). A rule whose peers select no pod still gets its (empty) set, so pod churn changes set
 * members, not iptables rules.
 */

// ---------------------------------------------------------------------------------------------
// Names with collision handling (D14)
// ---------------------------------------------------------------------------------------------

interface Claim {
  readonly logical: string;
  readonly name: string;
  readonly alternative: () => string;
  readonly object: Problem['object'];
  /** What the claim returned when the output was built. */
  readonly got: string;
}

/**
 * kube-router hashes plain concatenations (`ns + name + ...`), so `a`/`bc` and `ab`/`c` (both valid
 * names) hash alike. The registry hands out kube-router's name and, when another object of this
 * render already holds it, a name hashed from a `/`-separated input (no kube-router input contains
 * `/`, because Kubernetes names cannot), and reports `NameCollision`. Objects are registered in sorted
 * order, so the outcome is deterministic.
 */
class NameRegistry {
  private readonly owner = new Map<string, string>();
  private readonly problems: Problem[];
  constructor(problems: Problem[]) {
    this.problems = problems;
  }

  claim(logical: string, name: string, alternative: () => string, object: Problem['object']): string {
    const held = this.owner.get(name);
    if (held === undefined || held === logical) {
      this.owner.set(name, logical);
      return name;
    }
    const alt = alternative();
    this.owner.set(alt, logical);
    this.problems.push({
      reason: 'NameCollision',
      severity: 'warning',
      ...(object ? { object } : {}),
      field: 'metadata.name',
      value: name,
      message: `kube-router's name ${name} is already used by ${held.split('|')[1]}; using ${alt} instead`,
    });
    return alt;
  }
}

// ---------------------------------------------------------------------------------------------
// Policy chains and sets
// ---------------------------------------------------------------------------------------------

interface DirectionOutput {
  readonly chain: string;
  /** Local targets with an address of the family. */
  readonly targets: readonly PodModel[];
}

interface PolicyOutput {
  readonly chains: Chain[];
  readonly sets: IpSet[];
  readonly ingress?: DirectionOutput;
  readonly egress?: DirectionOutput;
  /** Shared named-port sets the rules reference: `name/PROTO|port`. */
  readonly namedRefs: string[];
  readonly claims: Claim[];
  readonly problems: Problem[];
  /** The selection results this output was built from (identity-compared for reuse). */
  readonly deps: readonly unknown[];
  /** The part of `deps` the chains' rules depend on (named-port resolutions). */
  readonly ruleDeps: readonly unknown[];
}

function setFamily(f: Family): 'inet' | 'inet6' {
  return f === 'IPv6' ? 'inet6' : 'inet';
}

function isBlock(p: PeerModel): p is Extract<PeerModel, { kind: 'ipBlock' }> {
  return p.kind === 'ipBlock';
}

function rulesOf(pol: PolicyModel, dir: Direction): readonly RuleModel[] {
  if (dir === 'ingress') return pol.ingress ? pol.ingressRules : [];
  return pol.egress ? pol.egressRules : [];
}

/** Everything a policy's output depends on besides the policy itself, in a fixed order. */
function gatherDeps(sel: SelectionCache, pol: PolicyModel): unknown[] {
  const deps: unknown[] = [sel.podsIn(pol.namespace, pol.podSelector)];
  for (const dir of ['ingress', 'egress'] as const) {
    for (const r of rulesOf(pol, dir)) {
      deps.push(r.selectorPeers.length > 0 ? sel.peerPods(r.selectorPeers, pol.namespace, r.selectorPeersKey) : null);
      for (const np of r.namedPorts) deps.push(sel.namedPorts(np));
    }
  }
  return deps;
}

interface RenderCtx {
  readonly cfg: ResolvedConfig;
  readonly sel: SelectionCache;
  readonly family: Family;
  /** Memo of pure name functions (hashing is a large part of rebuilding a policy). */
  readonly memo: (key: string, compute: () => string) => string;
}

/**
 * Builds a policy's chains and sets. With `prev` (this policy's previous output for the same family
 * and config), parts whose inputs did not change are returned *as the previous objects*: the chains
 * when the claimed names and named-port resolutions are the same (a policy's rules never depend on
 * which pods its selectors match, only on set names), and each set whose entries array is the same.
 * A pod joining a peer set then changes one set object and nothing else, so the apply engine can
 * skip every other object by identity.
 */
function buildPolicy(ctx: RenderCtx, pol: PolicyModel, deps: readonly unknown[], names: NameRegistry, prev?: PolicyOutput): PolicyOutput {
  const { family, sel, cfg, memo } = ctx;
  const sets: IpSet[] = [];
  const chains: Chain[] = [];
  const claims: Claim[] = [];
  const problems: Problem[] = [];
  const namedRefs = new Set<string>();
  const obj = { kind: 'NetworkPolicy', namespace: pol.namespace, name: pol.name };
  const claim = (logical: string, name: string, alternative: () => string): string => {
    const got = names.claim(logical, name, alternative, obj);
    claims.push({ logical, name, alternative, object: obj, got });
    return got;
  };
  const altSet = (prefix: string, ...parts: (string | number)[]): (() => string) => () =>
    hashedName(family === 'IPv6' ? Netpol.ipv6SetPrefix + prefix : prefix, [pol.namespace, pol.name, ...parts.map(String), family].join('/'));
  const addSet = (name: string, type: IpSet['type'], entries: IpSetEntry[]): void => {
    sets.push({ name, type, family: setFamily(family), entries });
  };

  let d = 0;
  /** Indices in `deps` of the named-port resolutions (the only deps the rules depend on). */
  const namedDepIndex = new Set<number>();
  const allTargets = deps[d++] as PodModel[];
  const localTargets = allTargets.filter((p) => p.nodeName === cfg.nodeName && p.ips[family] !== undefined);
  const out: { ingress?: DirectionOutput; egress?: DirectionOutput } = {};

  for (const dir of ['ingress', 'egress'] as const) {
    if (dir === 'ingress' ? !pol.ingress : !pol.egress) continue;
    const version = stablePolicyVersion(dir);
    const chainName = claim(`chain|${pol.key}|${dir}|${family}`, memo(`chain|${pol.key}|${dir}|${family}`, () => policyChainName(pol.namespace, pol.name, version, family)), () =>
      hashedName(Netpol.policyChainPrefix, [pol.namespace, pol.name, version, family].join('/')),
    );
    const targetPrefix = dir === 'ingress' ? Netpol.dstSetPrefix : Netpol.srcSetPrefix;
    const peerPrefix = dir === 'ingress' ? Netpol.srcSetPrefix : Netpol.dstSetPrefix;
    const targetSet = claim(`set|${pol.key}|${dir}-targets|${family}`, memo(`tset|${pol.key}|${dir}|${family}`, () => targetSetName(pol.namespace, pol.name, dir, family)), altSet(targetPrefix));
    addSet(targetSet, 'hash:ip', sel.entriesFor(targetSet, localTargets, family));
    const peerDir = dir === 'ingress' ? 'src' : 'dst';
    const target: SetMatch = { set: targetSet, dir: dir === 'ingress' ? 'dst' : 'src' };
    const rules: Rule[] = [];

    for (const r of rulesOf(pol, dir)) {
      const peerPods = deps[d++] as PodModel[] | null;
      const named = r.namedPorts.map((np) => {
        namedDepIndex.add(d);
        return { np, ports: deps[d++] as number[] };
      });

      // The rule's peers in this family: any, selected pods, ipBlocks.
      type Peer = { kind: 'any' } | { kind: 'pods' | 'cidr'; set: string };
      const peers: Peer[] = [];
      if (r.peers === null) peers.push({ kind: 'any' });
      else {
        if (peerPods !== null) {
          const name = claim(
            `set|${pol.key}|${dir}${r.index}-pod|${family}`,
            memo(`pset|${pol.key}|${dir}|${r.index}|pod|${family}`, () => peerSetName(pol.namespace, pol.name, dir, r.index, 'pod', family)),
            altSet(peerPrefix, `${dir}rule`, r.index, 'pod'),
          );
          addSet(name, 'hash:ip', sel.entriesFor(name, peerPods, family));
          peers.push({ kind: 'pods', set: name });
        }
        const blocks = r.peers.filter(isBlock);
        for (const b of blocks) {
          if (!cfg.families.includes(b.family)) {
            problems.push({
              reason: 'IPBlockFamilyDisabled',
              severity: 'warning',
              object: obj,
              field: `spec.${dir}[${r.index}]`,
              value: formatCIDR(b.cidr),
              message: `${b.family} is not enabled on this node; the ipBlock is ignored`,
            });
          }
        }
        const mine = blocks.filter((b) => b.family === family);
        if (mine.length > 0) {
          const entries = ipBlockEntries(mine);
          if (entries.some((e) => !e.nomatch)) {
            const name = claim(
              `set|${pol.key}|${dir}${r.index}-ipblock|${family}`,
              memo(`pset|${pol.key}|${dir}|${r.index}|ipblock|${family}`, () => peerSetName(pol.namespace, pol.name, dir, r.index, 'ipblock', family)),
              altSet(peerPrefix, `${dir}rule`, r.index, 'ipblock'),
            );
            addSet(name, 'hash:net', entries);
            peers.push({ kind: 'cidr', set: name });
          }
        }
      }

      const comment = (p: Peer, np: boolean): string => clampComment(`${pol.key} ${dir} ${p.kind}${np ? ' np' : ''}`);
      const peerMatch = (p: Peer): SetMatch[] => (p.kind === 'any' ? [] : [{ set: p.set, dir: peerDir }]);
      const ordered = (m: SetMatch[]): SetMatch[] => [...m.filter((x) => x.dir === 'src'), ...m.filter((x) => x.dir === 'dst')];

      if (r.ports === null) {
        for (const p of peers) pushAll(rules, markPair({ comment: comment(p, false), sets: ordered([...peerMatch(p), target]) }));
        continue;
      }
      // Numeric and protocol-only entries, de-duplicated, in spec order.
      const seen = new Set<string>();
      const numeric: Pick<Rule, 'protocol' | 'dport'>[] = [];
      for (const port of r.ports) {
        if (port.named !== undefined) continue;
        const m: Pick<Rule, 'protocol' | 'dport'> =
          port.port === undefined
            ? { protocol: protoOf(port.protocol) }
            : { protocol: protoOf(port.protocol), dport: port.endPort !== undefined ? { from: port.port, to: port.endPort } : { from: port.port } };
        const k = `${m.protocol}:${m.dport?.from ?? ''}:${m.dport?.to ?? ''}`;
        if (!seen.has(k)) {
          seen.add(k);
          numeric.push(m);
        }
      }
      for (const p of peers) {
        for (const m of numeric) pushAll(rules, markPair({ comment: comment(p, false), sets: ordered([...peerMatch(p), target]), ...m }));
        // Named ports: the destination must expose the name with that number (D2, D4, D5). A name no pod
        // exposes yields no rule, so a rule of only unresolvable names allows nothing.
        for (const { np, ports } of named) {
          const [name, proto] = np.split('/') as [string, 'TCP' | 'UDP' | 'SCTP'];
          for (const port of ports) {
            const shared = namedPortSharedSetName(name, proto, port, family);
            namedRefs.add(`${np}|${port}`);
            pushAll(
              rules,
              markPair({
                comment: comment(p, true),
                sets: ordered([...peerMatch(p), target, { set: shared, dir: 'dst' }]),
                protocol: protoOf(proto),
                dport: { from: port },
              }),
            );
          }
        }
      }
    }
    if (cfg.nflog.perPolicy) {
      rules.push({
        comment: 'rule to log dropped traffic',
        mark: { value: MARK_MATCH, mask: MARK_MATCH, negate: true },
        limit: { rate: pol.nflogLimit ?? cfg.nflog.limit, burst: pol.nflogBurst ?? cfg.nflog.burst },
        target: { kind: 'NFLOG', group: cfg.nflog.group, prefix: `DROP by policy ${safeJoin(pol.namespace, pol.name)}` },
      });
    }
    chains.push({ name: chainName, rules });
    out[dir] = { chain: chainName, targets: localTargets };
  }
  const ruleDeps = deps.filter((_, i) => namedDepIndex.has(i));
  let keptChains = chains;
  if (prev && sameDeps(prev.ruleDeps, ruleDeps) && prev.chains.length === chains.length && sameClaims(prev.claims, claims)) keptChains = prev.chains;
  const prevSets = new Map((prev?.sets ?? []).map((s) => [s.name, s]));
  const keptSets = sets.map((s) => {
    const p = prevSets.get(s.name);
    return p && p.type === s.type && sameEntryList(p.entries, s.entries) ? p : s;
  });
  return { chains: keptChains, sets: keptSets, ...out, namedRefs: [...namedRefs].sort(), claims, problems, deps, ruleDeps };
}

/** Same entries; pod sets keep their entries array when unchanged, ipBlock sets are small. */
function sameEntryList(a: readonly IpSetEntry[], b: readonly IpSetEntry[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.addr !== b[i]!.addr || (a[i]!.nomatch === true) !== (b[i]!.nomatch === true)) return false;
  return true;
}

function sameClaims(a: readonly Claim[], b: readonly Claim[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.logical !== b[i]!.logical || a[i]!.got !== b[i]!.got) return false;
  return true;
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Pod chains
// ---------------------------------------------------------------------------------------------

interface PodJumps {
  ingress: { policy: PolicyModel; chain: string }[];
  egress: { policy: PolicyModel; chain: string }[];
}

function podChain(cfg: ResolvedConfig, pod: PodModel, name: string, host: string, jumps: PodJumps | undefined): Chain {
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

// ---------------------------------------------------------------------------------------------
// Family rendering
// ---------------------------------------------------------------------------------------------

const BUILTIN_ORDER = { INPUT: 0, FORWARD: 1, OUTPUT: 2 } as const;

/** The last rules of the top-level chains (constants, so unchanged chains keep their identity). */
const TAIL_JUMP: Rule = {
  comment: 'rule to explicitly handle traffic for network policies ACCEPT/REJECT decision',
  target: { kind: 'jump', chain: Netpol.tailChain },
};
const ACCEPT_OK: Rule = {
  comment: 'rule to explicitly ACCEPT traffic that comply to network policies',
  mark: { value: MARK_OK, mask: MARK_OK },
  target: { kind: 'ACCEPT' },
};

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Cross-render state of a renderer; a fresh one per {@link renderNetpol} call. */
class RenderCache {
  readonly screen: ScreenMemo;
  constructor(keepLastGood: boolean) {
    this.screen = newScreenMemo(keepLastGood);
  }
  readonly model: ModelCache = newModelCache();
  readonly sel = new SelectionCache();
  /** policy -> `family|config key` -> output. */
  readonly policies = new WeakMap<PolicyModel, Map<string, PolicyOutput>>();
  /** pod -> `family|config key` -> its chain and jump rules. */
  readonly pods = new WeakMap<PodModel, Map<string, PodMemo>>();
  /** `family|config key|chain` -> the top-level chain of the previous render. */
  readonly top = new Map<string, Chain>();
  /** pod key -> kube-router pod chain name (hashing is the costly part of pod chains). */
  podChainNames = new Map<string, string>();
  readonly fixed = new Map<string, FixedParts>();
  /** Memo of pure name functions whose inputs repeat every render. */
  readonly names = new Map<string, string>();
  /** Set name -> the node-level set (shared named-port sets, local pods) of the previous render. */
  private readonly nodeSets = new Map<string, IpSet>();
  /** Returns the previous object of a node-level set when its entries are the same array. */
  keepSet(s: IpSet): IpSet {
    const prev = this.nodeSets.get(s.name);
    if (prev && prev.entries === s.entries && prev.type === s.type && prev.family === s.family) return prev;
    if (this.nodeSets.size > 50_000) this.nodeSets.clear();
    this.nodeSets.set(s.name, s);
    return s;
  }
  memoName(key: string, compute: () => string): string {
    let v = this.names.get(key);
    if (v === undefined) {
      if (this.names.size > 50_000) this.names.clear();
      this.names.set(key, (v = compute()));
    }
    return v;
  }
}

interface PodMemo {
  /** Everything the pod's rules depend on besides the pod model and config. */
  readonly id: string;
  readonly chain: Chain;
  readonly forward: readonly Rule[];
  readonly output: readonly Rule[];
  readonly input: Rule;
}

interface FixedParts {
  readonly whitelist: Rule[];
  readonly helpers: Chain[];
  readonly builtinRules: BuiltinRule[];
}

/** The parts that depend only on the config and family (memoized: they need hashing). */
function fixedParts(cache: RenderCache, cfg: ResolvedConfig, family: Family): FixedParts {
  const key = JSON.stringify([family, cfg.serviceCIDRs[family], cfg.nodePorts, cfg.podCIDRs[family], cfg.defaultDeny, cfg.acceptPlacement]);
  const hit = cache.fixed.get(key);
  if (hit) return hit;
  const input: Rule[] = [];
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

  const builtinRules: BuiltinRule[] = builtinJumps();
  if (cfg.acceptPlacement === 'after-kube-rules') {
    for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'] as const) {
      builtinRules.push({
        chain,
        placement: 'after-last-kube',
        rule: {
          comment: Netpol.k3sForkAcceptComment,
          mark: { value: MARK_OK, mask: MARK_OK },
          target: { kind: 'ACCEPT' },
        },
      });
    }
  }
  builtinRules.sort((a, b) => BUILTIN_ORDER[a.chain] - BUILTIN_ORDER[b.chain] || (a.placement === b.placement ? 0 : a.placement === 'first' ? -1 : 1));
  const out: FixedParts = { whitelist: input, helpers: [commonChain(family), defaultChain(), tailChain(cfg, family)], builtinRules };
  if (cache.fixed.size > 16) cache.fixed.clear();
  cache.fixed.set(key, out);
  return out;
}

function renderFamily(
  cache: RenderCache,
  policies: readonly PolicyModel[],
  local: readonly PodModel[],
  cfg: ResolvedConfig,
  cfgKey: string,
  family: Family,
  problems: Problem[],
): FamilyState {
  const names = new NameRegistry(problems);
  const ctx: RenderCtx = { cfg, sel: cache.sel, family, memo: (k, f) => cache.memoName(k, f) };
  const sets: IpSet[] = [];
  const policyChains: Chain[] = [];
  const jumpsByPod = new Map<PodModel, PodJumps>();
  const namedRefs = new Set<string>();
  const memoKey = `${family}|${cfgKey}`;

  for (const pol of policies) {
    const deps = gatherDeps(cache.sel, pol);
    let memo = cache.policies.get(pol);
    if (!memo) cache.policies.set(pol, (memo = new Map()));
    let out = memo.get(memoKey);
    if (out && sameDeps(out.deps, deps) && out.claims.every((c) => names.claim(c.logical, c.name, c.alternative, c.object) === c.got)) {
      pushAll(problems, out.problems);
    } else {
      out = buildPolicy(ctx, pol, deps, names, out);
      memo.set(memoKey, out);
      pushAll(problems, out.problems);
    }
    pushAll(sets, out.sets);
    pushAll(policyChains, out.chains);
    for (const r of out.namedRefs) namedRefs.add(r);
    for (const dir of ['ingress', 'egress'] as const) {
      const d = out[dir];
      if (!d) continue;
      for (const t of d.targets) {
        let j = jumpsByPod.get(t);
        if (!j) jumpsByPod.set(t, (j = { ingress: [], egress: [] }));
        j[dir].push({ policy: pol, chain: d.chain });
      }
    }
  }

  // Shared named-port sets referenced by the policies of this family.
  for (const ref of [...namedRefs].sort()) {
    const [np, port] = ref.split('|') as [string, string];
    const [name, proto] = np.split('/') as [string, string];
    const setName = cache.memoName(`shared|${ref}|${family}`, () => namedPortSharedSetName(name, proto, Number(port), family));
    sets.push(cache.keepSet({ name: setName, type: 'hash:ip', family: setFamily(family), entries: cache.sel.entriesFor(setName, cache.sel.namedPortPods(np, Number(port)), family) }));
  }

  const localPods = local.filter((p) => p.ips[family] !== undefined);
  const podChains: Chain[] = [];
  const input: Rule[] = [];
  const forward: Rule[] = [];
  const output: Rule[] = [];

  const fixed = fixedParts(cache, cfg, family);
  pushAll(input, fixed.whitelist);

  const chainNames = new Map<string, string>();
  for (const pod of localPods) {
    const kr = cache.podChainNames.get(pod.key) ?? podChainName(pod.namespace, pod.name, STABLE_POD_VERSION);
    chainNames.set(pod.key, kr);
    const chain = names.claim(
      `podchain|${pod.key}`,
      kr,
      () => hashedName(Netpol.podChainPrefix, [pod.namespace, pod.name, STABLE_POD_VERSION].join('/')),
      { kind: 'Pod', namespace: pod.namespace, name: pod.name },
    );
    const host = family === 'IPv4' ? `${pod.ips[family]}/32` : `${pod.ips[family]}/128`;
    const jumps = jumpsByPod.get(pod);
    // A pod's chain and its jumps are reused as the same objects while the pod model, its chain name
    // and the policy chains it jumps to are unchanged (the apply engine skips them by identity).
    const memoId = [memoKey, chain, host, ...(jumps?.ingress ?? []).map((j) => `i ${j.policy.key} ${j.chain}`), ...(jumps?.egress ?? []).map((j) => `e ${j.policy.key} ${j.chain}`)].join('\n');
    let byCfg = cache.pods.get(pod);
    if (!byCfg) cache.pods.set(pod, (byCfg = new Map()));
    let pm = byCfg.get(memoKey);
    if (!pm || pm.id !== memoId) {
      const jump = { kind: 'jump', chain } as const;
      const inC = clampComment(`${pod.key} in`);
      const outC = clampComment(`${pod.key} out`);
      pm = {
        id: memoId,
        chain: podChain(cfg, pod, chain, host, jumps),
        forward: [
          { destination: host, comment: inC, target: jump },
          { destination: host, physdevIsBridged: true, comment: inC, target: jump },
          { source: host, comment: outC, target: jump },
          { source: host, physdevIsBridged: true, comment: outC, target: jump },
        ],
        output: [
          { destination: host, comment: inC, target: jump },
          { source: host, comment: outC, target: jump },
        ],
        input: { source: host, comment: outC, target: jump },
      };
      byCfg.set(memoKey, pm);
    }
    podChains.push(pm.chain);
    pushAll(forward, pm.forward);
    pushAll(output, pm.output);
    input.push(pm.input);
  }

  cache.podChainNames = chainNames;

  for (const list of [input, forward, output]) {
    list.push(TAIL_JUMP);
    if (cfg.acceptPlacement === 'chain-end') list.push(ACCEPT_OK);
  }

  if (cfg.defaultDeny) {
    sets.push(cache.keepSet({ name: localPodsSetName(family), type: 'hash:ip', family: setFamily(family), entries: cache.sel.entriesFor(localPodsSetName(family), localPods, family) }));
  }

  sets.sort(byName);
  for (let i = 1; i < sets.length; i++) {
    if (sets[i]!.name === sets[i - 1]!.name) throw new Error(`netpol render: set ${sets[i]!.name} rendered twice (bug)`);
  }
  // The top-level chains keep their identity while every rule in them is the same object.
  const top = [
    { name: Netpol.inputChain, rules: input },
    { name: Netpol.forwardChain, rules: forward },
    { name: Netpol.outputChain, rules: output },
  ].map((c) => {
    const k = `${memoKey}|${c.name}`;
    const prev = cache.top.get(k);
    if (prev && sameDeps(prev.rules, c.rules)) return prev;
    cache.top.set(k, c);
    return c;
  });
  return {
    family,
    ipsets: sets,
    chains: [
      ...top,
      ...fixed.helpers,
      ...policyChains.sort(byName),
      ...podChains.sort(byName),
    ],
    builtinRules: fixed.builtinRules,
  };
}

function render(cache: RenderCache, input: NetpolSnapshot, config: NetpolConfig): DesiredState {
  // Every object passes validation first (validate.ts): invalid ones are reported and replaced by
  // their fail-closed stand-in, so nothing below sees a wrong shape.
  const screened = screenSnapshot(input, cache.screen);
  const snapshot = screened.snapshot;
  const problems: Problem[] = screened.problems;
  const cfg = resolveConfig(config, snapshot, problems);
  const model = buildModel(snapshot, cache.model);
  pushAll(problems, model.problems);
  cache.sel.begin(model);
  const cfgKey = JSON.stringify([cfg.nodeName, cfg.families, cfg.nflog]);
  const local = cache.sel.actionable.filter((p) => p.nodeName === cfg.nodeName);
  const families = cfg.families.map((family) => renderFamily(cache, model.policies, local, cfg, cfgKey, family, problems));
  cache.sel.end();
  return { families, problems: sortProblems(problems) };
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * Renders the desired ipsets and filter chains of one node. Pure and deterministic: the output
 * depends only on the content of `snapshot` and `config`, not on array order, and names are stable
 * across calls (see names.ts). Invalid input is reported in `problems`, never thrown, and fails
 * closed (validate.ts): an invalid policy is enforced in its isolation form, other invalid objects
 * are left out, so no invalid object makes the output more permissive than the snapshot without it.
 */
export function renderNetpol(snapshot: NetpolSnapshot, config: NetpolConfig): DesiredState {
  return render(new RenderCache(false), snapshot, config);
}

/**
 * A long-lived renderer for the agent's syncs. `render` returns exactly what {@link renderNetpol}
 * returns for the same input (a tested property), but reuses work between calls:
 * - pods and policies are normalized once per object (informer caches hand out the same object
 *   until it changes, so identity is the cache key);
 * - selector results of namespaces whose pods did not change are reused;
 * - a policy whose own object and selection results are unchanged reuses its rendered chains and
 *   sets, *as the same objects*. The apply engine can therefore skip unchanged sets and chains by
 *   identity (`prev === next`) before comparing content.
 * One difference on invalid input: an object that turns invalid keeps its last valid version in
 * force (what was enforced before the bad update stays), where {@link renderNetpol}, which has no
 * history, uses the fail-closed stand-in (validate.ts).
 * Snapshot objects must be treated as immutable (as informer caches treat them): an object changed
 * in place, rather than replaced, is not noticed. Not safe for concurrent use; one per agent.
 */
export class NetpolRenderer {
  private cache = new RenderCache(true);

  render(snapshot: NetpolSnapshot, config: NetpolConfig): DesiredState {
    return render(this.cache, snapshot, config);
  }

  /** Drops every cached result (the next render works like {@link renderNetpol}). */
  reset(): void {
    this.cache = new RenderCache(true);
  }
}
