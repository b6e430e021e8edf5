import { readFileSync } from 'node:fs';
import { ForwardingSysctl } from '@portico/labels';
import type { IPFamily } from '@portico/ip-selection';

/**
 * The per-family forwarding sysctls a svclb pod sets (`net.ipv4.ip_forward`,
 * `net.ipv6.conf.all.forwarding`), read from /proc/sys of the current network namespace.
 */

/** Reads a sysctl by dotted name; `undefined` when it does not exist (e.g. IPv6 disabled). */
export type SysctlReader = (name: string) => string | undefined;

/** The real reader: `/proc/sys/<name with dots as slashes>`, trimmed. */
export function procSysctl(root = '/proc/sys'): SysctlReader {
  return (name) => {
    try {
      return readFileSync(`${root}/${name.replaceAll('.', '/')}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
}

/** The sysctl that must read `1` for a family to be forwarded. */
export function forwardingSysctl(family: IPFamily): string {
  return ForwardingSysctl[family];
}
