import { Kube } from '@portico/labels';
import { sourceRanges as computeSourceRanges, type IPFamily } from '@portico/ip-selection';
import type { Problem } from './api.ts';
import type { Service } from './types.ts';

export type SourceRangesResult =
  | { readonly ok: true; readonly ranges: readonly string[]; readonly value: string }
  | { readonly ok: false; readonly problem: Problem };

/** The Service's IP families that are real families (unknown strings dropped), in order. */
export function serviceIPFamilies(svc: Service): IPFamily[] {
  return (svc.spec?.ipFamilies ?? []).filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6');
}

/**
 * The `SRC_RANGES` value of a Service (K3s §5.6), computed by @portico/ip-selection `sourceRanges`:
 * `spec.loadBalancerSourceRanges` if non-empty, else the annotation
 * `service.beta.kubernetes.io/load-balancer-source-ranges`, else `0.0.0.0/0`; each entry trimmed,
 * parsed and normalised (`10.0.0.1/8` → `10.0.0.0/8`), duplicates collapsed; `,::/0` appended when
 * the result is exactly `0.0.0.0/0` and the Service has an IPv6 family.
 *
 * Portico fix (§10.15): sorted (IPv4 before IPv6, by network address, then prefix), where K3s joins
 * a Go map in random order and so can roll the DaemonSet for nothing.
 *
 * A bad entry is one {@link Problem} naming the field (`spec.loadBalancerSourceRanges` or the
 * annotation), its whole value, and every bad entry with the reason.
 */
export function sourceRanges(svc: Service): SourceRangesResult {
  const spec = svc.spec?.loadBalancerSourceRanges ?? [];
  const annotation = svc.metadata?.annotations?.[Kube.sourceRangesAnnotation];
  const r = computeSourceRanges({ loadBalancerSourceRanges: spec, ...(annotation !== undefined ? { annotation } : {}), ipFamilies: serviceIPFamilies(svc) });
  if (r.ok) return { ok: true, ranges: r.ranges, value: r.ranges.join(',') };
  const fromSpec = spec.length > 0;
  return {
    ok: false,
    problem: {
      field: fromSpec ? 'spec.loadBalancerSourceRanges' : `annotation ${Kube.sourceRangesAnnotation}`,
      value: fromSpec ? spec.join(',') : (annotation ?? ''),
      reason: r.issues.map((i) => `invalid CIDR address ${JSON.stringify(i.value)}: ${i.reason}`).join('; '),
    },
  };
}
