import { compareIP, parseIP, type IPAddress, type IPFamily } from './ip.ts';

/**
 * Which node addresses become a LoadBalancer Service's `status.loadBalancer.ingress`
 * (servicelb-ccm spec §6 steps 3-5), given the `status.addresses` of the nodes that run a Ready
 * svclb pod.
 *
 * Two behaviours, chosen with {@link IngressAddressOptions.externalPrecedence}:
 *
 * - `'per-family'` (**Portico default**, the fix for spec §10 item 7): for each family separately,
 *   the ExternalIPs of that family when any selected node has one, else the InternalIPs of that
 *   family. An IPv6 ExternalIP no longer wipes out every IPv4 InternalIP.
 * - `'global'` (K3s): if any selected node has any ExternalIP (of any family) the candidates are
 *   all ExternalIPs, else all InternalIPs; then the family filter. With an IPv6-only ExternalIP on
 *   one node and an IPv4-only Service the result is empty, as in K3s.
 *
 * Within a family the addresses are de-duplicated and sorted, and families are concatenated in
 * `spec.ipFamilies` order (families not listed are dropped; empty ipFamilies gives nothing).
 * Sorting is {@link IngressAddressOptions.sort}: `'numeric'` (Portico default: `10.0.0.9` before
 * `10.0.0.10`, output in canonical text) or `'lexicographic'` (K3s's `sort.Strings`: `10.0.0.10`
 * before `10.0.0.9`, output exactly as written on the Node). Both are deterministic.
 *
 * Address types other than ExternalIP and InternalIP are ignored; strings that are not addresses
 * are dropped (K3s drops them in the family filter). IPv4-mapped IPv6 addresses count as IPv4.
 */

/** One entry of a Node's `status.addresses`. */
export interface NodeAddress {
  /** `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS`, `ExternalDNS`. */
  readonly type: string;
  readonly address: string;
}

export type ExternalPrecedence = 'per-family' | 'global';
export type AddressSort = 'numeric' | 'lexicographic';

export interface IngressAddressOptions {
  /** The Service's `spec.ipFamilies`, in order. */
  readonly ipFamilies: readonly IPFamily[];
  /** How ExternalIPs take precedence over InternalIPs. @default 'per-family' */
  readonly externalPrecedence?: ExternalPrecedence;
  /** How addresses are sorted within a family. @default 'numeric' */
  readonly sort?: AddressSort;
}

interface Candidate {
  readonly raw: string;
  readonly ip: IPAddress;
}

/**
 * Splits address strings by family, de-duplicates, sorts, and concatenates in `ipFamilies`
 * order (K3s `filterByIPFamily`). Unparseable strings are dropped.
 */
export function filterByIPFamily(ips: readonly string[], ipFamilies: readonly IPFamily[], sort: AddressSort = 'numeric'): string[] {
  const candidates: Candidate[] = [];
  for (const raw of ips) {
    const ip = parseIP(raw);
    if (ip) candidates.push({ raw, ip });
  }
  return orderByFamily(candidates, ipFamilies, sort);
}

function orderByFamily(candidates: readonly Candidate[], ipFamilies: readonly IPFamily[], sort: AddressSort): string[] {
  const out: string[] = [];
  const seenFamilies = new Set<IPFamily>();
  for (const family of ipFamilies) {
    if (seenFamilies.has(family)) continue;
    seenFamilies.add(family);
    const ofFamily = candidates.filter((c) => c.ip.family === family);
    if (sort === 'lexicographic') {
      const unique = [...new Set(ofFamily.map((c) => c.raw))];
      // Byte order on UTF-16 code units, as Go's sort.Strings on these ASCII strings.
      unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      out.push(...unique);
    } else {
      const byText = new Map<string, IPAddress>(); // canonical text -> address
      for (const c of ofFamily) byText.set(c.ip.text, c.ip);
      out.push(...[...byText.values()].sort(compareIP).map((ip) => ip.text));
    }
  }
  return out;
}

/**
 * The ingress addresses for the given nodes (each element is one node's `status.addresses`).
 * See the module comment for the rules.
 */
export function ingressAddresses(nodes: readonly (readonly NodeAddress[])[], opts: IngressAddressOptions): string[] {
  const external: Candidate[] = [];
  const internal: Candidate[] = [];
  for (const addresses of nodes) {
    for (const a of addresses) {
      if (a.type !== 'ExternalIP' && a.type !== 'InternalIP') continue;
      const ip = parseIP(a.address);
      if (!ip) continue;
      (a.type === 'ExternalIP' ? external : internal).push({ raw: a.address, ip });
    }
  }
  const sort = opts.sort ?? 'numeric';
  if ((opts.externalPrecedence ?? 'per-family') === 'global') {
    return orderByFamily(external.length > 0 ? external : internal, opts.ipFamilies, sort);
  }
  const chosen: Candidate[] = [];
  for (const family of ['IPv4', 'IPv6'] as const) {
    const ext = external.filter((c) => c.ip.family === family);
    chosen.push(...(ext.length > 0 ? ext : internal.filter((c) => c.ip.family === family)));
  }
  return orderByFamily(chosen, opts.ipFamilies, sort);
}
