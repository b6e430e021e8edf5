/**
 * Minimal IP and CIDR arithmetic for the core (no I/O): parsing, canonical text (RFC 5952 for IPv6,
 * as ipset and iptables print it), containment and masking. Addresses are bigints so both families
 * share one code path.
 */
import { formatIPv6Groups } from '@portico/ip-selection';

export interface IP {
  readonly v6: boolean;
  readonly value: bigint;
}

export interface CIDR {
  readonly v6: boolean;
  /** Network address (host bits cleared). */
  readonly value: bigint;
  readonly prefix: number;
}

const bits = (v6: boolean): number => (v6 ? 128 : 32);

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    if (p.length > 1 && p.startsWith('0')) return undefined; // Go's ParseIP rejects leading zeros
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined;
  let head = s;
  let tailV4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.split('::');
  if (dbl.length > 2) return undefined;
  const parseGroups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    for (const g of t.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(dbl[0]!);
  const right = dbl.length === 2 ? parseGroups(dbl[1]!) : [];
  if (!left || !right) return undefined;
  let groups: number[];
  if (dbl.length === 2) {
    const missing = 8 - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    groups = left;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  if (tailV4 !== undefined) v = (v & ~0xffffffffn) | tailV4;
  return v;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseIP(s: string): IP | undefined {
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { v6: true, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { v6: false, value: v };
}

/** Parses `addr/prefix` (host bits are cleared, as Go's `net.ParseCIDR` does); undefined when invalid. */
export function parseCIDR(s: string): CIDR | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bits(ip.v6)) return undefined;
  return { v6: ip.v6, value: ip.value & maskOf(ip.v6, prefix), prefix };
}

/** The network mask of a prefix length. */
export function maskOf(v6: boolean, prefix: number): bigint {
  const b = BigInt(bits(v6));
  const all = (1n << b) - 1n;
  return prefix === 0 ? 0n : (all >> (b - BigInt(prefix))) << (b - BigInt(prefix));
}

/** Canonical text: dotted quad, or RFC 5952 (lower case, longest zero run of >= 2 groups compressed). */
export function formatIP(ip: IP): string {
  if (!ip.v6) {
    const v = Number(ip.value);
    return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((ip.value >> BigInt(i * 16)) & 0xffffn));
  return formatIPv6Groups(groups);
}

/** `network/prefix` in canonical form. */
export function formatCIDR(c: CIDR): string {
  return `${formatIP(c)}/${c.prefix}`;
}

/** A host address as a CIDR with the full prefix (`/32`, `/128`), as iptables-save prints `-s`/`-d`. */
export function hostCIDR(ip: IP): string {
  return `${formatIP(ip)}/${bits(ip.v6)}`;
}

/** True when `ip` lies in `cidr` (families must agree). */
export function ipInCIDR(ip: IP, cidr: CIDR): boolean {
  return ip.v6 === cidr.v6 && (ip.value & maskOf(cidr.v6, cidr.prefix)) === cidr.value;
}

/** True when `inner` lies within `outer` (equal counts). */
export function cidrWithin(inner: CIDR, outer: CIDR): boolean {
  return inner.v6 === outer.v6 && inner.prefix >= outer.prefix && (inner.value & maskOf(outer.v6, outer.prefix)) === outer.value;
}

/** Canonical text of an address string, or undefined when it does not parse. */
export function canonicalIP(s: string): string | undefined {
  const ip = parseIP(s);
  return ip ? formatIP(ip) : undefined;
}

/** Maximum prefix length of a family. */
export function familyBits(v6: boolean): number {
  return bits(v6);
}
