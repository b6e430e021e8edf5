import { Kube } from '@portico/labels';
import { compareCIDR, parseCIDRResult, type CIDR } from './cidr.ts';
import type { IPFamily } from './ip.ts';

/**
 * `SRC_RANGES` of a svclb container (servicelb-ccm spec §5.6), the way K3s computes it with
 * `servicehelper.GetLoadBalancerSourceRanges`, with one fix: the result is **sorted** (K3s joins a
 * Go map, so its order changes between runs and can roll the DaemonSet for nothing, §10 item 15).
 *
 * 1. `spec.loadBalancerSourceRanges` when non-empty (each entry trimmed), and then the annotation
 *    is ignored; else the annotation `service.beta.kubernetes.io/load-balancer-source-ranges`
 *    (trimmed, split on commas, each element trimmed); else `0.0.0.0/0`.
 * 2. Each entry is parsed as a CIDR and normalized (`10.0.0.1/8` → `10.0.0.0/8`); duplicates
 *    collapse. Any bad entry (an empty element from a stray comma included) is an error.
 * 3. Sorted: IPv4 before IPv6, by network address, then by prefix length.
 * 4. If the Service has an IPv6 family and the result is exactly `0.0.0.0/0`, `::/0` is appended.
 *    User-given ranges are never extended (a user's `0.0.0.0/0` alone is extended too, as in K3s,
 *    because after normalization it is indistinguishable from the default).
 */
export interface SourceRangesInput {
  /** `spec.loadBalancerSourceRanges`. @default [] */
  readonly loadBalancerSourceRanges?: readonly string[];
  /** The value of the `service.beta.kubernetes.io/load-balancer-source-ranges` annotation, if any. */
  readonly annotation?: string;
  /** `spec.ipFamilies`, used only for the `::/0` rule. @default [] */
  readonly ipFamilies?: readonly IPFamily[];
}

/** One bad entry: where it came from, its text, and why it is bad. */
export interface SourceRangeIssue {
  /** `spec.loadBalancerSourceRanges[2]` or `metadata.annotations[service.beta…][1]`. */
  readonly field: string;
  readonly value: string;
  readonly reason: string;
}

export type SourceRangesResult =
  | { readonly ok: true; readonly ranges: readonly string[]; readonly cidrs: readonly CIDR[] }
  | { readonly ok: false; readonly issues: readonly SourceRangeIssue[] };

/** The annotation K3s falls back to (`Kube.sourceRangesAnnotation` of @portico/labels). */
export const SOURCE_RANGES_ANNOTATION: string = Kube.sourceRangesAnnotation;

/** The default when neither the spec nor the annotation gives a range. */
export const DEFAULT_SOURCE_RANGE = '0.0.0.0/0';

/**
 * Sorts and de-duplicates parsed CIDRs in Portico's canonical order. Exposed for callers (such as
 * lb-forwarder) that get their ranges from elsewhere but want the same order.
 */
export function sortCIDRs(cidrs: Iterable<CIDR>): CIDR[] {
  const byText = new Map<string, CIDR>(); // canonical text -> block
  for (const c of cidrs) byText.set(c.text, c);
  return [...byText.values()].sort(compareCIDR);
}

/** Computes the source ranges of a Service (see {@link SourceRangesInput}); never throws. */
export function sourceRanges(input: SourceRangesInput): SourceRangesResult {
  const spec = input.loadBalancerSourceRanges ?? [];
  let entries: { field: string; text: string }[];
  if (spec.length > 0) {
    entries = spec.map((s, i) => ({ field: `spec.loadBalancerSourceRanges[${i}]`, text: s.trim() }));
  } else {
    const ann = (input.annotation ?? '').trim();
    if (ann === '') {
      entries = [{ field: 'default', text: DEFAULT_SOURCE_RANGE }];
    } else {
      entries = ann.split(',').map((s, i) => ({ field: `metadata.annotations[${SOURCE_RANGES_ANNOTATION}][${i}]`, text: s.trim() }));
    }
  }
  const issues: SourceRangeIssue[] = [];
  const parsed: CIDR[] = [];
  for (const e of entries) {
    const r = parseCIDRResult(e.text);
    if (r.ok) parsed.push(r.value);
    else issues.push({ field: e.field, value: e.text, reason: `not a CIDR: ${r.reason}` });
  }
  if (issues.length > 0) return { ok: false, issues };
  const cidrs = sortCIDRs(parsed);
  const ranges = cidrs.map((c) => c.text);
  if ((input.ipFamilies ?? []).includes('IPv6') && ranges.length === 1 && ranges[0] === DEFAULT_SOURCE_RANGE) {
    const all6 = parseCIDRResult('::/0');
    if (!all6.ok) throw new Error('bug: ::/0 does not parse');
    return { ok: true, ranges: [...ranges, all6.value.text], cidrs: [...cidrs, all6.value] };
  }
  return { ok: true, ranges, cidrs };
}

/** `SRC_RANGES` as the svclb container gets it: {@link sourceRanges} joined with `,`. */
export function sourceRangesEnv(input: SourceRangesInput): { readonly ok: true; readonly value: string } | { readonly ok: false; readonly issues: readonly SourceRangeIssue[] } {
  const r = sourceRanges(input);
  return r.ok ? { ok: true, value: r.ranges.join(',') } : r;
}
