import { Netpol } from '@portico/labels';
import { pushAll } from './arrays.ts';
import { formatCIDR, parseCIDR } from './ip.ts';
import { type AcceptPlacement, type Family, FAMILIES, type NetpolConfig, type NetpolSnapshot, type Problem } from './types.ts';

/** The renderer's config with defaults applied and addresses split per family. */
export interface ResolvedConfig {
  readonly nodeName: string;
  readonly families: readonly Family[];
  readonly serviceCIDRs: Readonly<Record<Family, readonly string[]>>;
  readonly nodePorts: { from: number; to: number } | undefined;
  readonly podCIDRs: Readonly<Record<Family, readonly string[]>>;
  readonly defaultDeny: boolean;
  readonly acceptPlacement: AcceptPlacement;
  readonly nflog: { enabled: boolean; perPolicy: boolean; group: number; limit: string; burst: number };
}

const DEFAULT_SERVICE_CIDRS = ['10.43.0.0/16'];
const DEFAULT_NODE_PORT_RANGE = '30000-32767';

/** Parses `a-b` or `a:b` (a < b, both 1-65535), as kube-router validates `--service-node-port-range`. */
export function parseNodePortRange(s: string): { from: number; to: number } | undefined {
  const m = /^(\d+)[:-](\d+)$/.exec(s.trim());
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (from < 1 || to > 65535 || from >= to) return undefined;
  return { from, to };
}

/** Seconds per unit of an iptables `limit` rate. */
export const LIMIT_UNIT_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86400 } as const;
export type LimitUnit = keyof typeof LIMIT_UNIT_SECONDS;

/** The largest `--limit-burst` iptables accepts (libxt_limit: "out of range (0-10000)"). */
export const NFLOG_MAX_BURST = 10000;

/**
 * Why iptables' `limit` match would refuse the rate `<n>/<unit>`, or undefined when it takes it.
 * libxt_limit stores a rate as the integer 10000 * seconds-per-unit / n and refuses 0 with "Rate too
 * fast", so n may be at most 10000 per second: 10000/second, 600000/minute, 36000000/hour,
 * 864000000/day (checked against iptables 1.8.9, nf_tables and legacy share the parser).
 */
export function limitRateProblem(n: number, unit: LimitUnit): string | undefined {
  if (!Number.isSafeInteger(n) || n < 1) return 'the rate must be a positive integer';
  const max = 10000 * LIMIT_UNIT_SECONDS[unit];
  return n > max ? `iptables rejects more than 10000/second ("Rate too fast"): at most ${max}/${unit}` : undefined;
}

/** Why iptables would refuse (or Portico does not take) a `--limit-burst`, or undefined. */
export function limitBurstProblem(burst: number): string | undefined {
  if (!Number.isSafeInteger(burst) || burst < 1) return 'must be a positive integer';
  return burst > NFLOG_MAX_BURST ? `iptables accepts at most ${NFLOG_MAX_BURST}` : undefined;
}

/**
 * Checks a config the shell built from flags: one problem per bad value, naming the field. The shell
 * turns these into exit code 2 (STYLE rule 10); {@link renderNetpol} reports and skips them too.
 */
export function checkNetpolConfig(config: NetpolConfig): Problem[] {
  const out: Problem[] = [];
  const bad = (field: string, value: string, message: string): void => {
    out.push({ reason: 'InvalidConfig', severity: 'error', field, value, message });
  };
  if (!config.nodeName) bad('nodeName', '', 'must be set');
  for (const f of config.families ?? []) if (!FAMILIES.includes(f)) bad('families', String(f), 'must be IPv4 or IPv6');
  if (config.families && config.families.length === 0) bad('families', '[]', 'must enable at least one family');
  (config.serviceCIDRs ?? []).forEach((c, i) => {
    const cidr = parseCIDR(c);
    if (!cidr) bad(`serviceCIDRs[${i}]`, c, 'must be a CIDR');
    // Traffic to a service range skips policy in INPUT: a /0 would exempt every address of its family
    // from policy, silently. No cluster has such a service range; refuse it (fail closed).
    else if (cidr.prefix === 0) bad(`serviceCIDRs[${i}]`, c, 'a /0 service range would exempt all traffic of its family from policy; give the cluster service CIDR');
  });
  (config.podCIDRs ?? []).forEach((c, i) => {
    if (!parseCIDR(c)) bad(`podCIDRs[${i}]`, c, 'must be a CIDR');
  });
  if (config.nodePortRange !== undefined && !parseNodePortRange(config.nodePortRange)) {
    bad('nodePortRange', config.nodePortRange, 'must be <low>-<high> or <low>:<high> with low < high, within 1-65535');
  }
  const n = config.nflog;
  if (n?.group !== undefined && (!Number.isInteger(n.group) || n.group < 0 || n.group > 65535)) bad('nflog.group', String(n.group), 'must be 0-65535');
  if (n?.limit !== undefined) {
    const m = /^(\d+)\/(second|minute|hour|day)$/.exec(n.limit);
    const why = m ? limitRateProblem(Number(m[1]), m[2] as LimitUnit) : 'must be <n>/<second|minute|hour|day>';
    if (why) bad('nflog.limit', n.limit, why);
  }
  if (n?.burst !== undefined) {
    const why = limitBurstProblem(n.burst);
    if (why) bad('nflog.burst', String(n.burst), why);
  }
  return out;
}

function splitByFamily(cidrs: readonly string[]): Record<Family, string[]> {
  const out: Record<Family, string[]> = { IPv4: [], IPv6: [] };
  for (const c of cidrs) {
    const p = parseCIDR(c.trim());
    if (!p) continue;
    const s = formatCIDR(p);
    const list = out[p.v6 ? 'IPv6' : 'IPv4'];
    if (!list.includes(s)) list.push(s);
  }
  return out;
}

export function resolveConfig(config: NetpolConfig, snapshot: NetpolSnapshot, problems: Problem[]): ResolvedConfig {
  pushAll(problems, checkNetpolConfig(config));
  const families = FAMILIES.filter((f) => (config.families ?? ['IPv4']).includes(f));
  let podCIDRs = config.podCIDRs;
  if (podCIDRs === undefined) {
    const node = (snapshot.nodes ?? []).find((n) => n.metadata.name === config.nodeName);
    if (!node) {
      if (config.defaultDeny) {
        problems.push({
          reason: 'NodeNotFound',
          severity: 'warning',
          object: { kind: 'Node', name: config.nodeName },
          field: 'nodeName',
          value: config.nodeName,
          message: 'the node is not in the snapshot, so its pod CIDRs are unknown; default-deny rules are rendered without CIDRs',
        });
      }
      podCIDRs = [];
    } else {
      const ann = node.metadata.annotations?.[Netpol.podCIDRsAnnotation];
      podCIDRs = ann
        ? ann.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
        : node.spec?.podCIDRs?.length
          ? node.spec.podCIDRs
          : node.spec?.podCIDR
            ? [node.spec.podCIDR]
            : [];
      podCIDRs.forEach((c, i) => {
        if (!parseCIDR(c.trim())) {
          problems.push({
            reason: 'InvalidAddress',
            severity: 'warning',
            object: { kind: 'Node', name: node.metadata.name },
            field: ann ? `metadata.annotations.${Netpol.podCIDRsAnnotation}` : `spec.podCIDRs[${i}]`,
            value: c,
            message: 'pod CIDR does not parse; it is ignored',
          });
        }
      });
    }
  }
  const pods = splitByFamily(podCIDRs);
  if (config.defaultDeny) {
    for (const f of families) {
      if (pods[f].length === 0) {
        problems.push({
          reason: 'MissingPodCIDR',
          severity: 'warning',
          object: { kind: 'Node', name: config.nodeName },
          field: 'podCIDRs',
          value: f,
          message: `no ${f} pod CIDR for this node: the default-deny TAIL rules of ${f} only accept policy-checked traffic`,
        });
      }
    }
  }
  const n = config.nflog ?? {};
  return {
    nodeName: config.nodeName,
    families,
    serviceCIDRs: splitByFamily(config.serviceCIDRs ?? DEFAULT_SERVICE_CIDRS),
    nodePorts: parseNodePortRange(config.nodePortRange ?? DEFAULT_NODE_PORT_RANGE),
    podCIDRs: pods,
    defaultDeny: config.defaultDeny ?? false,
    acceptPlacement: config.acceptPlacement ?? 'chain-end',
    nflog: {
      enabled: n.enabled ?? true,
      perPolicy: n.perPolicy ?? false,
      group: n.group ?? Netpol.nflogGroup,
      limit: n.limit ?? '10/minute',
      burst: n.burst ?? 10,
    },
  };
}
