import { compareBytes, formatIPBytes, parseIPResult, type IPAddress, type IPFamily, type ParseResult } from './ip.ts';

/**
 * A CIDR block, normalized to its network address (`10.0.0.1/8` → `10.0.0.0/8`, like Go's
 * `net.ParseCIDR` + `IPNet.String()`, which is how K3s keys source ranges).
 *
 * An IPv4-mapped IPv6 block (`::ffff:10.0.0.0/104`) is an **IPv4** block (`10.0.0.0/8`), again as
 * Go prints it. A mapped address with a prefix shorter than /96 would cover more than the mapped
 * range, and Go then prints nonsense, so Portico rejects it.
 */
export interface CIDR {
  readonly family: IPFamily;
  /** Network address: 4 or 16 bytes with the host bits cleared. */
  readonly bytes: Uint8Array;
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = out[i]! & ((0xff00 >> bitsHere) & 0xff);
  }
  return out;
}

function makeCIDR(family: IPFamily, bytes: Uint8Array, prefix: number): CIDR {
  const net = maskBytes(bytes, prefix);
  return Object.freeze({ family, bytes: net, prefix, text: `${formatIPBytes(net)}/${prefix}` });
}

/** Parses and normalizes a CIDR, explaining a failure. No whitespace is trimmed. */
export function parseCIDRResult(text: string): ParseResult<CIDR> {
  if (text.length === 0) return { ok: false, reason: 'empty' };
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, reason: 'missing "/prefix"' };
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = parseIPResult(addrText);
  if (!ip.ok) return { ok: false, reason: ip.reason };
  if (!/^[0-9]{1,3}$/.test(prefixText)) return { ok: false, reason: `prefix ${JSON.stringify(prefixText)} is not a decimal number` };
  let prefix = Number(prefixText);
  const addr = ip.value;
  if (addr.mapped) {
    // Written as IPv6 text: the prefix counts IPv6 bits.
    if (prefix > 128) return { ok: false, reason: `prefix /${prefix} is longer than 128` };
    if (prefix < 96) return { ok: false, reason: `an IPv4-mapped IPv6 prefix must be /96 or longer, not /${prefix}` };
    prefix -= 96;
  }
  const max = addr.family === 'IPv4' ? 32 : 128;
  if (prefix > max) return { ok: false, reason: `prefix /${prefix} is longer than ${max}` };
  return { ok: true, value: makeCIDR(addr.family, addr.bytes, prefix) };
}

/** Parses and normalizes a CIDR; `undefined` when it is not one. */
export function parseCIDR(text: string): CIDR | undefined {
  const r = parseCIDRResult(text);
  return r.ok ? r.value : undefined;
}

/** Canonical text of a CIDR (`10.0.0.1/8` → `10.0.0.0/8`, `2001:DB8::1/32` → `2001:db8::/32`). */
export function normalizeCIDR(text: string): string | undefined {
  return parseCIDR(text)?.text;
}

/** True when `ip` lies in `cidr` (families must match; a mapped address is IPv4). */
export function cidrContains(cidr: CIDR, ip: IPAddress): boolean {
  if (cidr.family !== ip.family) return false;
  return compareBytes(maskBytes(ip.bytes, cidr.prefix), cidr.bytes) === 0;
}

/** The single-address block of an address (`/32` or `/128`). */
export function hostCIDR(ip: IPAddress): CIDR {
  return makeCIDR(ip.family, ip.bytes, ip.family === 'IPv4' ? 32 : 128);
}

/** True for `0.0.0.0/0` and `::/0`. */
export function isAllAddresses(cidr: CIDR): boolean {
  return cidr.prefix === 0;
}

/** Portico's canonical CIDR order: IPv4 before IPv6, then by network address, then by prefix. */
export function compareCIDR(a: CIDR, b: CIDR): number {
  if (a.family !== b.family) return a.family === 'IPv4' ? -1 : 1;
  return compareBytes(a.bytes, b.bytes) || a.prefix - b.prefix;
}
