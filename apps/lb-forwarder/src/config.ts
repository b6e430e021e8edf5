import { KlipperEnv } from '@portico/labels';
import { parseCIDRResult, parseIPResult, sortCIDRs, type CIDR, type IPAddress } from '@portico/ip-selection';

/**
 * The klipper-lb environment, read unchanged (servicelb-ccm spec §5.4, §7.2), validated in one
 * pass that reports every problem with the variable and its value. Pure.
 *
 * | variable     | meaning                                                     | Portico check |
 * |--------------|-------------------------------------------------------------|---------------|
 * | `SRC_PORT`   | the hostPort = Service port the pod receives on             | 1-65535 |
 * | `SRC_RANGES` | comma-separated CIDRs allowed to reach the Service          | each a CIDR; at least one |
 * | `DEST_PROTO` | `TCP`, `UDP` or `SCTP` (any case, as iptables lower-cases)  | one of those |
 * | `DEST_PORT`  | Service port (Cluster) or node port (Local)                 | 1-65535; **0 refused** |
 * | `DEST_IPS`   | comma-separated ClusterIPs (Cluster) or host IPs (Local)    | each an IP; at least one |
 *
 * Deviations from klipper-lb, which passes everything to iptables unchecked and crash-loops on
 * what iptables refuses:
 * - `DEST_PORT=0` (ETP Local with `allocateLoadBalancerNodePorts: false`, spec §10 item 17) is
 *   refused with exit 2: there is no node port to forward to, and klipper-lb would install a DNAT
 *   to port 0 that silently black-holes traffic.
 * - An empty or missing `SRC_RANGES` is refused: K3s always sets it (`0.0.0.0/0` by default), and
 *   klipper-lb would then install only the DROP rules.
 * - Source ranges are normalized, de-duplicated and sorted (IPv4 first, numerically).
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export const PROTOCOLS: readonly Protocol[] = Object.freeze(['TCP', 'UDP', 'SCTP'] as const);

export interface ForwarderConfig {
  readonly srcPort: number;
  readonly destPort: number;
  readonly protocol: Protocol;
  /** Sorted, de-duplicated, normalized. */
  readonly srcRanges: readonly CIDR[];
  /** In `DEST_IPS` order, duplicates removed. */
  readonly destIPs: readonly IPAddress[];
}

/** A bad input: the variable, its value, and why. */
export interface ConfigIssue {
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

export type ConfigResult = { readonly ok: true; readonly config: ForwarderConfig } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

type Env = Readonly<Record<string, string | undefined>>;

function parsePort(env: Env, name: string, issues: ConfigIssue[]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    issues.push({ field: name, value: raw ?? '', reason: 'is required (a port number 1-65535)' });
    return undefined;
  }
  const t = raw.trim();
  if (!/^[0-9]+$/.test(t)) {
    issues.push({ field: name, value: raw, reason: 'must be a port number 1-65535' });
    return undefined;
  }
  const n = Number(t);
  if (n === 0 && name === KlipperEnv.destPort) {
    issues.push({
      field: name,
      value: raw,
      reason: 'port 0 cannot be forwarded to: a Service with externalTrafficPolicy Local and allocateLoadBalancerNodePorts false has no node port (see docs/lb-forwarder.md)',
    });
    return undefined;
  }
  if (n < 1 || n > 65535) {
    issues.push({ field: name, value: raw, reason: 'must be a port number 1-65535' });
    return undefined;
  }
  return n;
}

/** Splits a comma-separated variable; `undefined` when it is missing or blank. */
function listOf(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((s) => s.trim());
}

/** Validates the klipper-lb environment; never throws. */
export function parseForwarderEnv(env: Env): ConfigResult {
  const issues: ConfigIssue[] = [];
  const srcPort = parsePort(env, KlipperEnv.srcPort, issues);

  const rawRanges = env[KlipperEnv.srcRanges];
  const rangeTexts = listOf(rawRanges);
  const ranges: CIDR[] = [];
  if (!rangeTexts) {
    issues.push({ field: KlipperEnv.srcRanges, value: rawRanges ?? '', reason: 'is required: comma-separated CIDRs allowed to connect (K3s sets 0.0.0.0/0 by default)' });
  } else {
    for (const t of rangeTexts) {
      const r = parseCIDRResult(t);
      if (r.ok) ranges.push(r.value);
      else issues.push({ field: KlipperEnv.srcRanges, value: t, reason: `not a CIDR: ${r.reason}` });
    }
  }

  const rawProto = env[KlipperEnv.destProto];
  const proto = (rawProto ?? '').trim().toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(proto)) {
    issues.push({ field: KlipperEnv.destProto, value: rawProto ?? '', reason: `must be one of ${PROTOCOLS.join(', ')}` });
  }

  const destPort = parsePort(env, KlipperEnv.destPort, issues);

  const rawIPs = env[KlipperEnv.destIPs];
  const ipTexts = listOf(rawIPs);
  const destIPs: IPAddress[] = [];
  if (!ipTexts) {
    issues.push({ field: KlipperEnv.destIPs, value: rawIPs ?? '', reason: 'is required: comma-separated IPs to forward to (ClusterIPs, or host IPs for a Local Service)' });
  } else {
    const seen = new Set<string>();
    for (const t of ipTexts) {
      const r = parseIPResult(t);
      if (!r.ok) {
        issues.push({ field: KlipperEnv.destIPs, value: t, reason: `not an IP address: ${r.reason}` });
        continue;
      }
      if (seen.has(r.value.text)) continue;
      seen.add(r.value.text);
      destIPs.push(r.value);
    }
  }

  if (issues.length > 0 || srcPort === undefined || destPort === undefined) return { ok: false, issues };
  return { ok: true, config: Object.freeze({ srcPort, destPort, protocol: proto as Protocol, srcRanges: Object.freeze(sortCIDRs(ranges)), destIPs: Object.freeze(destIPs) }) };
}

