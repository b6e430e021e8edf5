import { readFileSync, writeFileSync } from 'node:fs';
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

/** Writes a sysctl by dotted name; throws (with the path and the system's reason) when it cannot. */
export type SysctlWriter = (name: string, value: string) => void;

/** The real writer: `/proc/sys/<name with dots as slashes>` (needs a writable /proc/sys: a privileged container). */
export function procSysctlWriter(root = '/proc/sys'): SysctlWriter {
  return (name, value) => writeFileSync(`${root}/${name.replaceAll('.', '/')}`, `${value}\n`);
}

/** One family's result of enableForwarding. */
export interface ForwardingResult {
  readonly family: IPFamily;
  readonly sysctl: string;
  readonly ok: boolean;
  /** Why it failed: the write error, or what the sysctl read back. */
  readonly reason?: string;
}

/**
 * Turns on forwarding for `families` in the current network namespace: writes `1` to each
 * family's sysctl and reads it back (`--forwarding-mode=init-container`, the init container of a
 * svclb pod). Every family is tried, even after a failure, so the log names every problem.
 */
export function enableForwarding(families: readonly IPFamily[], read: SysctlReader, write: SysctlWriter): ForwardingResult[] {
  return families.map((family) => {
    const sysctl = forwardingSysctl(family);
    try {
      write(sysctl, '1');
    } catch (err) {
      return { family, sysctl, ok: false, reason: `cannot write: ${err instanceof Error ? err.message : String(err)}` };
    }
    const value = read(sysctl);
    return value === '1' ? { family, sysctl, ok: true } : { family, sysctl, ok: false, reason: `reads ${value === undefined ? 'nothing (missing)' : JSON.stringify(value)} after writing 1` };
  });
}
