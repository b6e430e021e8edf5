import { type CIDR, type IP, maskOf, parseCIDR, parseIP } from './ip.ts';
import type { BuiltinChain, Chain, DesiredState, Family, FamilyState, IpSet, Rule } from './types.ts';

/**
 * A rule simulator: walks a rendered {@link FamilyState} the way netfilter would for one packet, so
 * the renderer can be checked against the oracle without a kernel. It models what Portico's rules
 * use: `-s/-d` CIDRs, protocols, `--dport` ranges, multiport, ICMP types, physdev-is-bridged,
 * addrtype LOCAL, conntrack state, packet marks (`--set-xmark`), jumps/RETURN/ACCEPT/DROP/REJECT,
 * NFLOG (no verdict; `limit` is taken as not exceeded), and ipsets: `hash:ip` exact membership,
 * `hash:net` most-specific-prefix lookup where a `nomatch` entry makes the lookup fail.
 *
 * Only Portico's rules are modelled in the built-in chains; a packet that leaves them without a
 * verdict gets `continue` (the rest of the built-in chain and its policy decide, taken as accept by
 * {@link simulateConnection}).
 */

export interface SimPacket {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'ipv6-icmp';
  readonly dport?: number;
  readonly icmpType?: number;
  /** @default 'NEW' */
  readonly ctState?: 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';
  /** Crossing a Linux bridge with br_netfilter (physdev matches). @default false */
  readonly bridged?: boolean;
  /** Initial packet mark. @default 0 */
  readonly mark?: number;
}

export interface SimResult {
  readonly verdict: 'accept' | 'drop' | 'reject' | 'continue';
  readonly mark: number;
  /** `chain#ruleIndex target` for every rule that matched, in order. */
  readonly trace: readonly string[];
}

interface CompiledSet {
  readonly type: IpSet['type'];
  readonly ips: Set<bigint>;
  /** prefix length -> network value -> nomatch, longest prefixes first. */
  readonly nets: [number, Map<bigint, boolean>][];
  readonly v6: boolean;
}

interface CompiledState {
  readonly chains: Map<string, Chain>;
  readonly sets: Map<string, CompiledSet>;
  readonly cidrs: Map<string, CIDR & { mask: bigint }>;
  /** Portico's rules of each built-in chain: the `first` ones, then the `after-last-kube` ones. */
  readonly builtin: Readonly<Record<BuiltinChain, readonly Rule[]>>;
}

const compiled = new WeakMap<FamilyState, CompiledState>();

function compileSet(s: IpSet): CompiledSet {
  const v6 = s.family === 'inet6';
  const ips = new Set<bigint>();
  const byPrefix = new Map<number, Map<bigint, boolean>>();
  for (const e of s.entries) {
    if (s.type === 'hash:ip') {
      const ip = parseIP(e.addr);
      if (!ip || ip.v6 !== v6) throw new Error(`set ${s.name}: bad hash:ip entry ${e.addr}`);
      ips.add(ip.value);
      continue;
    }
    const c = e.addr.includes('/') ? parseCIDR(e.addr) : ((ip) => (ip ? { v6: ip.v6, value: ip.value, prefix: ip.v6 ? 128 : 32 } : undefined))(parseIP(e.addr));
    if (!c || c.v6 !== v6) throw new Error(`set ${s.name}: bad hash:net entry ${e.addr}`);
    if (c.prefix === 0) throw new Error(`set ${s.name}: hash:net cannot hold a /0 (${e.addr})`);
    let m = byPrefix.get(c.prefix);
    if (!m) byPrefix.set(c.prefix, (m = new Map()));
    m.set(c.value, e.nomatch === true);
  }
  return { type: s.type, ips, nets: [...byPrefix.entries()].sort((a, b) => b[0] - a[0]), v6 };
}

function compile(state: FamilyState): CompiledState {
  let c = compiled.get(state);
  if (!c) {
    c = {
      chains: new Map(state.chains.map((ch) => [ch.name, ch])),
      sets: new Map(state.ipsets.map((s) => [s.name, compileSet(s)])),
      cidrs: new Map(),
      builtin: Object.fromEntries(
        (['INPUT', 'FORWARD', 'OUTPUT'] as const).map((hook) => [
          hook,
          [
            ...state.builtinRules.filter((b) => b.chain === hook && b.placement === 'first').map((b) => b.rule),
            ...state.builtinRules.filter((b) => b.chain === hook && b.placement === 'after-last-kube').map((b) => b.rule),
          ],
        ]),
      ) as Record<BuiltinChain, Rule[]>,
    };
    compiled.set(state, c);
  }
  return c;
}

function setContains(set: CompiledSet, ip: IP): boolean {
  if (ip.v6 !== set.v6) return false;
  if (set.type === 'hash:ip') return set.ips.has(ip.value);
  const bits = ip.v6 ? 128n : 32n;
  for (const [prefix, nets] of set.nets) {
    const shift = bits - BigInt(prefix);
    const net = (ip.value >> shift) << shift;
    const nomatch = nets.get(net);
    if (nomatch !== undefined) return !nomatch;
  }
  return false;
}

interface Ctx {
  readonly st: CompiledState;
  readonly src: IP;
  readonly dst: IP;
  readonly pkt: SimPacket;
  readonly local: ReadonlySet<string>;
  mark: number;
  readonly trace: string[];
  depth: number;
}

function cidrOf(ctx: Ctx, s: string): CIDR & { mask: bigint } {
  let c = ctx.st.cidrs.get(s);
  if (!c) {
    const p = parseCIDR(s);
    if (!p) throw new Error(`simulate: bad address ${s}`);
    c = { ...p, mask: maskOf(p.v6, p.prefix) };
    ctx.st.cidrs.set(s, c);
  }
  return c;
}

function inCidr(ip: IP, c: CIDR & { mask: bigint }): boolean {
  return ip.v6 === c.v6 && (ip.value & c.mask) === c.value;
}

const parsed = new Map<string, IP | undefined>();

/** parseIP with a bounded cache: simulations repeat the same few addresses many times. */
function ipOf(s: string): IP | undefined {
  if (parsed.has(s)) return parsed.get(s);
  const ip = parseIP(s);
  if (parsed.size > 100_000) parsed.clear();
  parsed.set(s, ip);
  return ip;
}

const ipKey = (ip: IP): string => `${ip.v6 ? 6 : 4}/${ip.value}`;

function isLocal(ctx: Ctx, ip: IP): boolean {
  return ctx.local.has(ipKey(ip));
}

const localCache = new WeakMap<readonly string[], ReadonlySet<string>>();

function localSet(addresses: readonly string[]): ReadonlySet<string> {
  let s = localCache.get(addresses);
  if (!s) {
    s = new Set(addresses.map((a) => parseIP(a)).filter((a): a is IP => a !== undefined).map(ipKey));
    localCache.set(addresses, s);
  }
  return s;
}

function matches(ctx: Ctx, r: Rule): boolean {
  const p = ctx.pkt;
  if (r.source !== undefined && !inCidr(ctx.src, cidrOf(ctx, r.source))) return false;
  if (r.destination !== undefined && !inCidr(ctx.dst, cidrOf(ctx, r.destination))) return false;
  if (r.protocol !== undefined && r.protocol !== p.proto) return false;
  if (r.physdevIsBridged && !p.bridged) return false;
  if (r.addrType) {
    const local = isLocal(ctx, r.addrType.dir === 'src' ? ctx.src : ctx.dst);
    if (local === (r.addrType.negate === true)) return false;
  }
  if (r.ctState && !r.ctState.includes(p.ctState ?? 'NEW')) return false;
  for (const s of r.sets ?? []) {
    const set = ctx.st.sets.get(s.set);
    if (!set) throw new Error(`simulate: rule references missing set ${s.set}`);
    const hit = setContains(set, s.dir === 'src' ? ctx.src : ctx.dst);
    if (hit === (s.negate === true)) return false;
  }
  if (r.dport) {
    if (r.protocol === undefined || p.dport === undefined) return false;
    const to = r.dport.to ?? r.dport.from;
    if (p.dport < r.dport.from || p.dport > to) return false;
  }
  if (r.multiportDports) {
    if (r.protocol === undefined || p.dport === undefined) return false;
    if (p.dport < r.multiportDports.from || p.dport > r.multiportDports.to) return false;
  }
  if (r.icmpType !== undefined && p.icmpType !== r.icmpType) return false;
  if (r.mark) {
    const hit = (ctx.mark & r.mark.mask) === r.mark.value;
    if (hit === (r.mark.negate === true)) return false;
  }
  return true;
}

type Outcome = 'accept' | 'drop' | 'reject' | 'return';

function runRules(ctx: Ctx, chainName: string, rules: readonly Rule[]): Outcome {
  if (++ctx.depth > 64) throw new Error(`simulate: jump depth exceeded at ${chainName}`);
  try {
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (!matches(ctx, r)) continue;
      const t = r.target;
      ctx.trace.push(`${chainName}#${i + 1} ${t.kind === 'jump' ? t.chain : t.kind}`);
      switch (t.kind) {
        case 'ACCEPT':
          return 'accept';
        case 'DROP':
          return 'drop';
        case 'REJECT':
          return 'reject';
        case 'RETURN':
          return 'return';
        case 'MARK':
          ctx.mark = ((ctx.mark & ~t.mask) ^ t.value) >>> 0;
          break;
        case 'NFLOG':
          break;
        case 'jump': {
          const sub = ctx.st.chains.get(t.chain);
          if (!sub) throw new Error(`simulate: ${chainName} jumps to missing chain ${t.chain}`);
          const o = runRules(ctx, t.chain, sub.rules);
          if (o !== 'return') return o;
          break;
        }
      }
    }
    return 'return';
  } finally {
    ctx.depth--;
  }
}

/**
 * Runs one packet through Portico's rules of a built-in chain (`hook`) of one node.
 * `localAddresses` are the node's own addresses (addrtype LOCAL).
 */
export function simulatePacket(state: FamilyState, hook: BuiltinChain, packet: SimPacket, localAddresses: readonly string[]): SimResult {
  const src = ipOf(packet.src);
  const dst = ipOf(packet.dst);
  if (!src || !dst) throw new Error(`simulate: bad packet addresses ${packet.src} -> ${packet.dst}`);
  const ctx: Ctx = {
    st: compile(state),
    src,
    dst,
    pkt: packet,
    local: localSet(localAddresses),
    mark: packet.mark ?? 0,
    trace: [],
    depth: 0,
  };
  const o = runRules(ctx, hook, ctx.st.builtin[hook]);
  return { verdict: o === 'return' ? 'continue' : o, mark: ctx.mark, trace: ctx.trace };
}

/** A node of a simulated cluster. */
export interface SimNode {
  readonly name: string;
  /** Addresses local to the node (node addresses, bridge gateway): sources/destinations on the host. */
  readonly localAddresses: readonly string[];
  /** IPs of the (non-hostNetwork) pods this node hosts. */
  readonly podIPs: readonly string[];
  /** What the renderer produced for this node. */
  readonly state: DesiredState;
}

export interface SimConnectionResult {
  readonly verdict: 'allow' | 'deny';
  /** Each traversal of a node's filter hooks, in path order. */
  readonly hops: readonly { node: string; hook: BuiltinChain; result: SimResult }[];
}

interface Placement {
  readonly node: SimNode;
  readonly kind: 'pod' | 'host';
}

const placementCache = new WeakMap<readonly SimNode[], Map<string, Placement>>();

/** address key -> where it lives; pod addresses win over host addresses. */
function placementOf(nodes: readonly SimNode[]): Map<string, Placement> {
  let m = placementCache.get(nodes);
  if (!m) {
    m = new Map();
    for (const kind of ['pod', 'host'] as const) {
      for (const node of nodes) {
        for (const a of kind === 'pod' ? node.podIPs : node.localAddresses) {
          const ip = parseIP(a);
          if (ip && !m.has(ipKey(ip))) m.set(ipKey(ip), { node, kind });
        }
      }
    }
    placementCache.set(nodes, m);
  }
  return m;
}

/**
 * Follows the first packet of a new connection through a cluster: the source node's hook (FORWARD
 * for a pod, OUTPUT for the host, INPUT when the destination is the node itself) and then the
 * destination node's hook when it is another node (FORWARD to a pod, INPUT to the host). Pods on one
 * node talk through one FORWARD traversal that meets both pod chains. Allowed when no hop drops or
 * rejects. Addresses that belong to no node are external.
 */
export function simulateConnection(
  nodes: readonly SimNode[],
  conn: { srcIP: string; dstIP: string; proto: 'TCP' | 'UDP' | 'SCTP'; dstPort: number; bridged?: boolean },
): SimConnectionResult {
  const v6 = conn.srcIP.includes(':');
  const family: Family = v6 ? 'IPv6' : 'IPv4';
  const placement = placementOf(nodes);
  const where = (ip: string): Placement | undefined => {
    const p = ipOf(ip);
    return p ? placement.get(ipKey(p)) : undefined;
  };
  const src = where(conn.srcIP);
  const dst = where(conn.dstIP);
  const steps: { node: SimNode; hook: BuiltinChain }[] = [];
  if (src) {
    if (dst && dst.node === src.node && dst.kind === 'host') {
      if (src.kind === 'host') steps.push({ node: src.node, hook: 'OUTPUT' });
      steps.push({ node: src.node, hook: 'INPUT' });
    } else {
      steps.push({ node: src.node, hook: src.kind === 'pod' ? 'FORWARD' : 'OUTPUT' });
    }
  }
  if (dst && (!src || dst.node !== src.node)) steps.push({ node: dst.node, hook: dst.kind === 'pod' ? 'FORWARD' : 'INPUT' });

  const packet: SimPacket = {
    src: conn.srcIP,
    dst: conn.dstIP,
    proto: conn.proto === 'TCP' ? 'tcp' : conn.proto === 'UDP' ? 'udp' : 'sctp',
    dport: conn.dstPort,
    ctState: 'NEW',
    bridged: conn.bridged ?? false,
  };
  const hops: { node: string; hook: BuiltinChain; result: SimResult }[] = [];
  let verdict: 'allow' | 'deny' = 'allow';
  for (const s of steps) {
    const fs = s.node.state.families.find((f) => f.family === family);
    if (!fs) continue; // family not enabled on that node: nothing filters it
    const result = simulatePacket(fs, s.hook, packet, s.node.localAddresses);
    hops.push({ node: s.node.name, hook: s.hook, result });
    if (result.verdict === 'drop' || result.verdict === 'reject') {
      verdict = 'deny';
      break;
    }
  }
  return { verdict, hops };
}
