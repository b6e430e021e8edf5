import type { ClusterModel, PeerModel, PodModel, Selector } from './model.ts';
import type { Family, IpSetEntry } from './types.ts';

/**
 * Selector evaluation whose results keep their identity across renders.
 *
 * Results are memoized per namespace; a render drops only the memos of namespaces whose pod list
 * changed. A recomputed result that equals the previous one element by element is replaced by the
 * previous array, and composite results (several namespaces, several peers) are rebuilt only when one
 * of their parts changed identity. Unchanged results therefore stay the same objects from one render
 * to the next, which lets render.ts reuse a policy's output when all its inputs are the same objects.
 *
 * A fresh instance gives the same results, only slower: output never depends on the cache.
 */

type Labels = Readonly<Record<string, string>>;

export type SelectorPeer = Extract<PeerModel, { kind: 'selector' }>;

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function labelsKey(l: Labels): string {
  return JSON.stringify(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const byKey = (a: PodModel, b: PodModel): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** A composite result and the parts it was built from. */
interface Composite<T> {
  parts: readonly (readonly unknown[])[];
  value: T[];
  used: boolean;
}

/** name/PROTO -> port -> pods, for one namespace. */
type NamedIndex = Map<string, Map<number, PodModel[]>>;

export class SelectionCache {
  /** ns -> actionable pods (sorted by key) of the previous render. */
  private prevByNs = new Map<string, PodModel[]>();
  private prevNsKey = '';
  private prevNsLabels: Map<string, Labels> | undefined;
  /** ns -> selector key -> pods (valid while the namespace is unchanged). */
  private podsInMemo = new Map<string, Map<string, PodModel[]>>();
  /** ns -> selector key -> last result, kept across invalidation to preserve identity. */
  private podsInPrev = new Map<string, Map<string, PodModel[]>>();
  private nsMemo = new Map<string, string[]>();
  private nsPrev = new Map<string, string[]>();
  private composites = new Map<string, Composite<unknown>>();
  private namedByNs = new Map<string, NamedIndex>();
  private readonly entryByKey = new Map<string, { pods: readonly PodModel[]; entries: IpSetEntry[]; used: boolean }>();
  /** entries -> the last entries it was compared with, and the answer. */
  private readonly entryCompare = new WeakMap<IpSetEntry[], { other: IpSetEntry[]; same: boolean }>();
  private readonly entryMemo = new WeakMap<readonly PodModel[], Partial<Record<Family, IpSetEntry[]>>>();

  // Per render:
  /** Query key -> result, for queries many policies repeat (peer lists, named ports). */
  private renderMemo = new Map<string, unknown>();
  private model!: ClusterModel;
  private byNs = new Map<string, PodModel[]>();
  private nsOrder: string[] = [];
  /** All actionable pods, sorted by key. */
  actionable: PodModel[] = [];
  private prevActionable: PodModel[] | undefined;

  /** Starts a render: finds the namespaces whose pods changed and drops their memos. */
  begin(model: ClusterModel): void {
    this.model = model;
    this.renderMemo = new Map();
    const byNs = new Map<string, PodModel[]>();
    const actionable: PodModel[] = [];
    for (const p of model.pods) {
      if (!p.actionable) continue;
      actionable.push(p);
      const list = byNs.get(p.namespace);
      if (list) list.push(p);
      else byNs.set(p.namespace, [p]);
    }
    for (const ns of new Set([...byNs.keys(), ...this.prevByNs.keys()])) {
      const now = byNs.get(ns);
      const before = this.prevByNs.get(ns);
      if (now && before && sameItems(now, before)) {
        byNs.set(ns, before); // keep identity
        continue;
      }
      this.podsInMemo.delete(ns);
      this.namedByNs.delete(ns);
      if (!now) this.podsInPrev.delete(ns);
    }
    // Namespace labels: the label objects keep their identity while a Namespace is unchanged.
    let sameNs = this.prevNsLabels !== undefined && this.prevNsLabels.size === model.namespaces.size;
    if (sameNs) for (const [n, l] of model.namespaces) if (this.prevNsLabels!.get(n) !== l) sameNs = false;
    if (!sameNs) {
      const nsKey = [...model.namespaces.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([n, l]) => `${n}=${labelsKey(l)}`)
        .join('\n');
      if (nsKey !== this.prevNsKey) this.nsMemo.clear();
      this.prevNsKey = nsKey;
      this.prevNsLabels = new Map(model.namespaces);
    }
    this.prevByNs = byNs;
    this.byNs = byNs;
    this.nsOrder = [...byNs.keys()].sort();
    for (const c of this.composites.values()) c.used = false;
    this.actionable = this.prevActionable && sameItems(this.prevActionable, actionable) ? this.prevActionable : actionable;
    this.prevActionable = this.actionable;
  }

  /** Forgets composite results this render did not use (bounded memory). */
  end(): void {
    for (const [k, c] of this.composites) if (!c.used) this.composites.delete(k);
    for (const [k, e] of this.entryByKey) {
      if (!e.used) this.entryByKey.delete(k);
      e.used = false;
    }
  }

  /** Returns the cached composite when its parts are the same objects, else rebuilds it. */
  private composite<T>(key: string, parts: readonly (readonly unknown[])[], build: (parts: readonly (readonly unknown[])[]) => T[]): T[] {
    const c = this.composites.get(key) as Composite<T> | undefined;
    if (c && sameItems(c.parts, parts)) {
      c.used = true;
      return c.value;
    }
    let value = build(parts);
    if (c && sameItems(c.value, value)) value = c.value;
    this.composites.set(key, { parts, value, used: true });
    return value;
  }

  /** Namespaces (existing Namespace objects) whose labels match, sorted. */
  namespaces(sel: Selector): string[] {
    let out = this.nsMemo.get(sel.key);
    if (!out) {
      out = [...this.model.namespaces.entries()]
        .filter(([, labels]) => sel.matches(labels))
        .map(([n]) => n)
        .sort();
      const prev = this.nsPrev.get(sel.key);
      if (prev && sameItems(prev, out)) out = prev;
      this.nsPrev.set(sel.key, out);
      this.nsMemo.set(sel.key, out);
    }
    return out;
  }

  /** Actionable pods of `ns` matching `sel` (null: all), sorted by key. */
  podsIn(ns: string, sel: Selector | null): PodModel[] {
    const all = this.byNs.get(ns);
    if (!all) return EMPTY;
    if (sel === null || sel.all) return all;
    let memo = this.podsInMemo.get(ns);
    if (!memo) this.podsInMemo.set(ns, (memo = new Map()));
    let out = memo.get(sel.key);
    if (!out) {
      out = all.filter((p) => sel.matches(p.labels));
      let prevs = this.podsInPrev.get(ns);
      if (!prevs) this.podsInPrev.set(ns, (prevs = new Map()));
      const prev = prevs.get(sel.key);
      if (prev && sameItems(prev, out)) out = prev;
      prevs.set(sel.key, out);
      memo.set(sel.key, out);
    }
    return out;
  }

  /**
   * The pods a rule's selector peers select, for a policy in `policyNs` (union, sorted by key): a peer
   * without namespaceSelector means the policy's namespace; with one, the matching namespaces.
   * `peersKey` identifies the peer list as evaluated from `policyNs` (RuleModel.selectorPeersKey).
   */
  peerPods(peers: readonly SelectorPeer[], policyNs: string, peersKey: string): PodModel[] {
    const key = `peers|${peersKey}`;
    const memo = this.renderMemo.get(key) as PodModel[] | undefined;
    if (memo) return memo;
    const parts: PodModel[][] = [];
    for (const p of peers) {
      if (p.namespaceSelector === null) parts.push(this.podsIn(policyNs, p.podSelector));
      else for (const ns of this.namespaces(p.namespaceSelector)) parts.push(this.podsIn(ns, p.podSelector));
    }
    const out = parts.length === 1 ? parts[0]! : this.peerUnion(key, parts, peers.length > 1);
    this.renderMemo.set(key, out);
    return out;
  }

  private peerUnion(key: string, parts: PodModel[][], sort: boolean): PodModel[] {
    return this.composite(key, parts, (ps) => {
      const seen = new Set<PodModel>();
      const out: PodModel[] = [];
      for (const part of ps) {
        for (const p of part as PodModel[]) {
          if (seen.has(p)) continue;
          seen.add(p);
          out.push(p);
        }
      }
      return sort ? out.sort(byKey) : out;
    });
  }

  private namedIndexOf(ns: string): NamedIndex {
    let idx = this.namedByNs.get(ns);
    if (!idx) {
      idx = new Map();
      for (const p of this.byNs.get(ns) ?? []) {
        for (const [nameProto, ports] of p.namedPorts) {
          let byPort = idx.get(nameProto);
          if (!byPort) idx.set(nameProto, (byPort = new Map()));
          for (const port of ports) {
            const list = byPort.get(port);
            if (list) list.push(p);
            else byPort.set(port, [p]);
          }
        }
      }
      this.namedByNs.set(ns, idx);
    }
    return idx;
  }

  /** Actionable pods exposing `name/PROTO` as `port`, sorted by key. */
  namedPortPods(nameProto: string, port: number): PodModel[] {
    const parts = this.nsOrder.map((ns) => this.namedIndexOf(ns).get(nameProto)?.get(port) ?? EMPTY);
    return this.composite(`namedpods|${nameProto}|${port}`, parts, (ps) => ps.flat() as PodModel[]);
  }

  /** Port numbers that some actionable pod exposes under `name/PROTO`, ascending. */
  namedPorts(nameProto: string): number[] {
    const memo = this.renderMemo.get(`named|${nameProto}`) as number[] | undefined;
    if (memo) return memo;
    const out = this.namedPortsUncached(nameProto);
    this.renderMemo.set(`named|${nameProto}`, out);
    return out;
  }

  private namedPortsUncached(nameProto: string): number[] {
    const parts = this.nsOrder.map((ns) => this.namedIndexOf(ns).get(nameProto) ?? EMPTY_MAP);
    const key = `named|${nameProto}`;
    // Parts are maps; their identity changes only when a namespace's index was rebuilt.
    const c = this.composites.get(key) as Composite<number> | undefined;
    if (c && sameItems(c.parts as unknown as unknown[], parts)) {
      c.used = true;
      return c.value;
    }
    const set = new Set<number>();
    for (const m of parts) for (const port of m.keys()) set.add(port);
    let value = [...set].sort((a, b) => a - b);
    if (c && sameItems(c.value, value)) value = c.value;
    this.composites.set(key, { parts: parts as unknown as (readonly unknown[])[], value, used: true });
    return value;
  }

  /**
   * {@link entries}, also memoized under a stable key (a set name): when the pods changed identity but
   * not their addresses (a relabelled pod that stays selected), the previous entries are returned.
   */
  entriesFor(key: string, pods: readonly PodModel[], family: Family): IpSetEntry[] {
    const prev = this.entryByKey.get(key);
    if (prev && prev.pods === pods) {
      prev.used = true;
      return prev.entries;
    }
    // Many sets hold the same pods (every "all namespaces" peer): the entries of one pods array are
    // computed once, and the comparison with one previous entries array is made once.
    let entries = this.entries(pods, family);
    if (prev && prev.entries !== entries && this.sameEntries(prev.entries, entries)) entries = prev.entries;
    this.entryByKey.set(key, { pods, entries, used: true });
    return entries;
  }

  /** Element-wise equality of two entry lists, memoized per pair (both arrays are immutable). */
  private sameEntries(a: IpSetEntry[], b: IpSetEntry[]): boolean {
    const memo = this.entryCompare.get(a);
    if (memo && memo.other === b) return memo.same;
    let same = a.length === b.length;
    for (let i = 0; same && i < a.length; i++) if (a[i]!.addr !== b[i]!.addr || (a[i]!.nomatch === true) !== (b[i]!.nomatch === true)) same = false;
    this.entryCompare.set(a, { other: b, same });
    return same;
  }

  /** hash:ip entries of the pods' addresses of a family, sorted numerically (memoized per array). */
  entries(pods: readonly PodModel[], family: Family): IpSetEntry[] {
    let m = this.entryMemo.get(pods);
    if (!m) this.entryMemo.set(pods, (m = {}));
    let out = m[family];
    if (!out) {
      // IPv4 values fit a double exactly, and number comparisons are much cheaper than bigint ones.
      const vals: { v: bigint | number; addr: string }[] = [];
      const seen = new Set<string>();
      for (const p of pods) {
        const addr = p.ips[family];
        if (addr === undefined || seen.has(addr)) continue;
        seen.add(addr);
        const v = p.ipValues[family]!;
        vals.push({ v: family === 'IPv4' ? Number(v) : v, addr });
      }
      if (family === 'IPv4') vals.sort((a, b) => (a.v as number) - (b.v as number));
      else vals.sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0));
      out = vals.map(({ addr }) => ({ addr }));
      m[family] = out;
    }
    return out;
  }
}

const EMPTY: PodModel[] = [];
const EMPTY_MAP: ReadonlyMap<number, PodModel[]> = new Map();
