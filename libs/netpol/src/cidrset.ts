import { type CIDR, cidrWithin, familyBits, formatCIDR, formatIP } from './ip.ts';
import type { IpSetEntry } from './types.ts';

/**
 * ipBlock peers as the content of one `hash:net` set (the D3 fix).
 *
 * kube-router adds every peer's `cidr` and, as `nomatch`, every `except` to one set. hash:net decides
 * by the most specific matching prefix, so one peer's `except` can cancel another peer's broader CIDR
 * (`[10.42.0.0/16 except 10.42.0.0/24, 10.42.0.0/23]` then denies 10.42.0.x). Portico computes the
 * union of (cidr minus except) first and writes entries whose most-specific-prefix reading is exactly
 * that union:
 *
 * - Let P be every prefix that occurs (cidrs and excepts). All addresses whose most specific prefix in
 *   P is p are inside exactly the prefixes of P that contain p, so membership in the union is a
 *   property of p: member(p) = some peer has cidr ⊇ p and no except of that peer contains p.
 * - Emit p (plain when a member, `nomatch` when not) only when its membership differs from the nearest
 *   enclosing prefix of P (or from "not in the set" at the top). What is left reads back exactly.
 *
 * A `/0` cannot be stored in hash:net; it is split into its two `/1` halves, for IPv6 too (kube-router
 * approximates `::/0` by `2000::/3` + `fd00::/8`, deviation D6).
 */
export interface IpBlockPeer {
  readonly cidr: CIDR;
  readonly except: readonly CIDR[];
}

function splitZero(c: CIDR): CIDR[] {
  if (c.prefix > 0) return [c];
  const top = 1n << BigInt(familyBits(c.v6) - 1);
  return [
    { v6: c.v6, value: 0n, prefix: 1 },
    { v6: c.v6, value: top, prefix: 1 },
  ];
}

const keyOf = (c: CIDR): string => `${c.value.toString(16)}/${c.prefix}`;

/** hash:net entries for the union of the peers (all of one family), sorted by address then prefix. */
export function ipBlockEntries(peers: readonly IpBlockPeer[]): IpSetEntry[] {
  const expanded = peers.map((p) => ({ cidrs: splitZero(p.cidr), except: p.except.flatMap(splitZero) }));
  const prefixes = new Map<string, CIDR>();
  for (const p of expanded) for (const c of [...p.cidrs, ...p.except]) prefixes.set(keyOf(c), c);
  const all = [...prefixes.values()].sort((a, b) => a.prefix - b.prefix || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  const member = (p: CIDR): boolean =>
    expanded.some((peer) => peer.cidrs.some((c) => cidrWithin(p, c)) && !peer.except.some((e) => cidrWithin(p, e)));
  const out: { c: CIDR; nomatch: boolean }[] = [];
  for (const p of all) {
    // Nearest enclosing prefix: the longest strictly shorter prefix of P that contains p.
    let parent: CIDR | undefined;
    for (const q of all) {
      if (q.prefix >= p.prefix) break;
      if (cidrWithin(p, q)) parent = q;
    }
    const status = member(p);
    const parentStatus = parent ? member(parent) : false;
    if (status !== parentStatus) out.push({ c: p, nomatch: !status });
  }
  out.sort((a, b) => (a.c.value < b.c.value ? -1 : a.c.value > b.c.value ? 1 : a.c.prefix - b.c.prefix));
  return out.map(({ c, nomatch }) => {
    const addr = c.prefix === familyBits(c.v6) ? formatIP(c) : formatCIDR(c);
    return nomatch ? { addr, nomatch: true } : { addr };
  });
}
