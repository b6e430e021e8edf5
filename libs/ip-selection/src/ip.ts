/**
 * IP address parsing, classification and canonical text, written without `node:net` so that the
 * library stays a pure core (no I/O, no platform quirks).
 *
 * Compatibility decisions (K3s is Go; these follow Go's `net` and `k8s.io/utils/net`):
 *
 * - **IPv4 octets with leading zeros** (`010.001.002.003`) are read as **decimal**, the way
 *   `k8s.io/utils/net.ParseIPSloppy` does (and what Kubernetes still accepts on objects stored
 *   before stricter validation). They are never read as octal.
 * - **IPv4-mapped IPv6** (`::ffff:1.2.3.4`, also `::ffff:102:304`, any text whose 16 bytes lie in
 *   `::ffff:0:0/96`) is classified as **IPv4**, exactly like Go's `net.IP.To4() != nil`, which is what
 *   K3s's `utilsnet.IsIPv4String` uses when it splits node addresses by family. Its canonical text
 *   is the dotted IPv4 form (`1.2.3.4`), as Go's `net.IP.String()` prints it. {@link IPAddress.mapped}
 *   records that the input was written that way.
 * - **IPv4-compatible IPv6** (`::1.2.3.4`, deprecated) is plain IPv6; canonical text `::102:304`.
 * - **Zones** (`fe80::1%eth0`) and brackets (`[::1]`) are rejected: neither is an address.
 * - Canonical IPv6 text follows RFC 5952: lower case, no leading zeros, the longest run (first on a
 *   tie) of two or more zero groups compressed to `::`.
 */

/** An IP family, spelled as Kubernetes spells `spec.ipFamilies`. */
export type IPFamily = 'IPv4' | 'IPv6';

/** The IP families in Portico's canonical order (IPv4 first). */
export const IP_FAMILIES: readonly IPFamily[] = Object.freeze(['IPv4', 'IPv6'] as const);

/** A parsed address. Immutable. */
export interface IPAddress {
  readonly family: IPFamily;
  /** 4 bytes for IPv4 (including mapped addresses), 16 for IPv6. */
  readonly bytes: Uint8Array;
  /** The input was IPv6 text of an IPv4-mapped address (`::ffff:a.b.c.d`); family is IPv4. */
  readonly mapped: boolean;
  /** Canonical text: dotted quad for IPv4, RFC 5952 for IPv6. */
  readonly text: string;
}

/** Outcome of a parse that can explain a failure. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function parseIPv4Bytes(s: string): Uint8Array | string {
  const parts = s.split('.');
  if (parts.length !== 4) return 'an IPv4 address has 4 dot-separated octets';
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^[0-9]{1,3}$/.test(p)) return `octet ${JSON.stringify(p)} is not a decimal number of 1-3 digits`;
    const v = Number(p);
    if (v > 255) return `octet ${p} is larger than 255`;
    out[i] = v;
  }
  return out;
}

function parseIPv6Bytes(s: string): Uint8Array | string {
  if (s.includes('%')) return 'zones (%...) are not allowed';
  if (s.startsWith('[') || s.endsWith(']')) return 'brackets are not part of an address';
  let head = s;
  let v4tail: Uint8Array | undefined;
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const b = parseIPv4Bytes(tail);
    if (typeof b === 'string') return `embedded IPv4 part: ${b}`;
    v4tail = b;
    // Stand-in for the two groups the dotted part occupies; keeps "::1.2.3.4" well formed.
    head = s.slice(0, lastColon + 1) + '0:0';
  }
  const dbl = head.indexOf('::');
  if (dbl >= 0 && head.indexOf('::', dbl + 1) >= 0) return '"::" may appear only once';
  const groupsOf = (part: string): string[] | string => {
    if (part === '') return [];
    const g = part.split(':');
    for (const x of g) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(x)) return `group ${JSON.stringify(x)} is not 1-4 hex digits`;
    }
    return g;
  };
  let groups: string[];
  if (dbl >= 0) {
    const left = groupsOf(head.slice(0, dbl));
    if (typeof left === 'string') return left;
    const right = groupsOf(head.slice(dbl + 2));
    if (typeof right === 'string') return right;
    if (left.length + right.length > 7) return 'too many groups around "::"';
    groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  } else {
    const all = groupsOf(head);
    if (typeof all === 'string') return all;
    if (all.length !== 8) return `an IPv6 address without "::" has 8 groups, not ${all.length}`;
    groups = all;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  if (v4tail) out.set(v4tail, 12);
  return out;
}

/** True when 16 bytes lie in `::ffff:0:0/96` (IPv4-mapped). */
export function isV4MappedBytes(b: Uint8Array): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function formatV4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function formatV6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  return formatIPv6Groups(groups);
}

/**
 * RFC 5952 text of eight 16-bit groups: lower-case hex, the longest run of two or more zero groups
 * compressed to `::`, the first run winning a tie (section 4.2.3).
 */
export function formatIPv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of address bytes (4 or 16); mapped 16-byte addresses print as dotted IPv4. */
export function formatIPBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatV4(bytes);
  if (bytes.length !== 16) throw new Error(`bug: an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return isV4MappedBytes(bytes) ? formatV4(bytes.subarray(12)) : formatV6(bytes);
}

function makeAddress(bytes16or4: Uint8Array, fromV6Text: boolean): IPAddress {
  if (bytes16or4.length === 16 && isV4MappedBytes(bytes16or4)) {
    const v4 = bytes16or4.slice(12);
    return Object.freeze({ family: 'IPv4', bytes: v4, mapped: fromV6Text, text: formatV4(v4) });
  }
  const family: IPFamily = bytes16or4.length === 4 ? 'IPv4' : 'IPv6';
  return Object.freeze({ family, bytes: bytes16or4, mapped: false, text: formatIPBytes(bytes16or4) });
}

/**
 * Parses an IPv4 or IPv6 address, explaining a failure. Surrounding whitespace is not trimmed
 * (callers that split lists trim first), so `" 1.2.3.4"` is an error.
 */
export function parseIPResult(text: string): ParseResult<IPAddress> {
  if (text.length === 0) return { ok: false, reason: 'empty' };
  if (text.trim() !== text) return { ok: false, reason: 'has surrounding whitespace' };
  if (text.includes(':')) {
    const b = parseIPv6Bytes(text);
    if (typeof b === 'string') return { ok: false, reason: `not an IPv6 address: ${b}` };
    return { ok: true, value: makeAddress(b, true) };
  }
  const b = parseIPv4Bytes(text);
  if (typeof b === 'string') return { ok: false, reason: `not an IPv4 address: ${b}` };
  return { ok: true, value: makeAddress(b, false) };
}

/** Parses an IPv4 or IPv6 address; `undefined` when it is neither. */
export function parseIP(text: string): IPAddress | undefined {
  const r = parseIPResult(text);
  return r.ok ? r.value : undefined;
}

/** The family of an address (IPv4-mapped counts as IPv4, as in K3s); `undefined` if it does not parse. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/** Canonical text of an address (`::FFFF:1.2.3.4` → `1.2.3.4`, `2001:DB8:0:0::1` → `2001:db8::1`). */
export function canonicalIP(text: string): string | undefined {
  return parseIP(text)?.text;
}

/** Compares byte arrays of equal length numerically. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Portico's canonical address order: IPv4 before IPv6, then numerically. */
export function compareIP(a: IPAddress, b: IPAddress): number {
  if (a.family !== b.family) return a.family === 'IPv4' ? -1 : 1;
  return compareBytes(a.bytes, b.bytes);
}
