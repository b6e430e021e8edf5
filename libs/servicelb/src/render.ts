import { stringify } from 'yaml';
import type { Reconciliation, ServiceLBConfig } from './api.ts';
import { canonical } from './canonical.ts';
import { reconcile, snapshotFromObjects } from './reconcile.ts';

/** Options of {@link renderServiceLB}. */
export interface RenderOptions {
  /**
   * Time written as `lastTransitionTime` of a condition whose status changes (the core reads no
   * clock). The `render` command passes the current time or a fixed one.
   * @default '1970-01-01T00:00:00Z'
   */
  readonly now?: string;
}

/** The time {@link renderServiceLB} uses when none is given. */
export const RENDER_EPOCH = '1970-01-01T00:00:00Z';

/**
 * One YAML document, canonical key order, no line folding. Written with YAML 1.1 quoting, so strings
 * that a YAML 1.1 reader (Go's sigs.k8s.io/yaml, kubectl) would take for booleans, numbers or
 * timestamps (`"on"`, `"0755"`, `"1970-01-01T00:00:00Z"`) are quoted; YAML 1.2 readers agree.
 */
export function toYamlDocument(obj: unknown): string {
  return stringify(canonical(obj), { version: '1.1', lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}

/** A multi-document YAML stream (`---` before every document but the first; empty string for none). */
export function toYamlStream(objects: readonly unknown[]): string {
  return objects.map(toYamlDocument).join('---\n');
}

/**
 * The objects `render` prints for a reconciliation: every DaemonSet that should exist (sorted by
 * name), then, for every Service whose status ServiceLB writes, a Service carrying only
 * apiVersion/kind/metadata (name, namespace) and the desired status (sorted by namespace/name).
 */
export function renderedObjects(result: Reconciliation): unknown[] {
  const statuses = result.services
    .filter((o) => o.status.action === 'patch' || o.status.action === 'unchanged')
    .map((o) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: o.name, namespace: o.namespace },
      status: o.status.action === 'none' ? {} : o.status.status,
    }));
  return [...result.daemonSets, ...statuses];
}

/**
 * `render --snapshot FILE...` in one call: takes the parsed snapshot objects (any kinds, v1 Lists
 * flattened, any order), reconciles them and prints the DaemonSets and Service statuses as one
 * multi-document YAML stream. Same objects in any order → same bytes.
 */
export function renderServiceLB(objects: readonly unknown[], config: ServiceLBConfig, options: RenderOptions = {}): string {
  return toYamlStream(renderedObjects(reconcile(snapshotFromObjects(objects), config, options.now ?? RENDER_EPOCH)));
}

/**
 * A YAML summary of everything else the core decided (per Service: state, detail, DaemonSet action,
 * status action, events, problems; plus orphans) — what the shell would do besides applying objects.
 * Used by the golden tests and handy for `render` debugging.
 */
export function renderOutcomes(result: Reconciliation): string {
  return toYamlDocument({
    orphans: result.orphans,
    services: result.services.map((o) => ({
      key: o.key,
      state: o.state,
      detail: o.detail,
      daemonSet: o.daemonSet.action === 'apply' ? `apply ${o.daemonSet.daemonSet.metadata?.name}` : o.daemonSet.action === 'none' ? 'none' : `${o.daemonSet.action} ${o.daemonSet.name}`,
      status: o.status.action,
      events: o.events.map((e) => `${e.when} ${e.type} ${e.reason}: ${e.message}`),
      ...(o.problems.length > 0 ? { problems: o.problems.map((p) => `${p.field}=${JSON.stringify(p.value)}: ${p.reason}`) } : {}),
      ...(o.staleDaemonSets.length > 0 ? { staleDaemonSets: o.staleDaemonSets } : {}),
    })),
  });
}
