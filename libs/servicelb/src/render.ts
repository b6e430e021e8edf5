import { stringify } from 'yaml';
import type { Reconciliation, ServiceLBConfig, ServiceOutcome } from './api.ts';
import { canonical } from './canonical.ts';
import { reconcile, snapshotFromObjects } from './reconcile.ts';
import { objectProblemText } from './validate.ts';

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
  return streamText(yamlDocuments(objects));
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
 * What {@link renderServiceLB} gives: the YAML documents, or (when any object is invalid) the
 * problems and no document.
 */
export interface RenderResult {
  /**
   * The documents of the multi-document YAML stream (join them with `---\n`; {@link streamText}
   * does). Each is made when iterated, so a caller that writes them one by one never holds the
   * whole output. Empty when `problems` is not empty.
   */
  readonly documents: Iterable<string>;
  /** One line per invalid field of an invalid object (`Service ns/name: spec.ports[0].port: ...`), sorted. */
  readonly problems: readonly string[];
}

/** Documents made lazily from `objects`, each time the result is iterated. */
export function yamlDocuments(objects: readonly unknown[]): Iterable<string> {
  return {
    *[Symbol.iterator]() {
      for (const o of objects) yield toYamlDocument(o);
    },
  };
}

/** The documents as one multi-document YAML stream (what `render` prints). */
export function streamText(documents: Iterable<string>): string {
  return [...documents].join('---\n');
}

/**
 * `render --snapshot FILE...` in one call: takes the parsed snapshot objects (any kinds, v1 Lists
 * flattened, any order), reconciles them and gives the DaemonSets and Service statuses as the
 * documents of one multi-document YAML stream. Same objects in any order → same bytes. When an
 * object fails validation, nothing is rendered: the result holds one line per problem instead (exit 2).
 */
export function renderServiceLB(objects: readonly unknown[], config: ServiceLBConfig, options: RenderOptions = {}): RenderResult {
  const result = reconcile(snapshotFromObjects(objects), config, options.now ?? RENDER_EPOCH);
  if (result.problems.length > 0) return { documents: [], problems: result.problems.map(objectProblemText) };
  return { documents: yamlDocuments(renderedObjects(result)), problems: [] };
}

/** The finalizer writes of an outcome, in order: `remove X`, `add X`, `remove X (last)`. */
function finalizerWrites(o: ServiceOutcome): string[] {
  return [...o.finalizers.removeFirst.map((f) => `remove ${f}`), ...o.finalizers.add.map((f) => `add ${f}`), ...o.finalizers.removeLast.map((f) => `remove ${f} (last)`)];
}

/**
 * A YAML summary of everything else the core decided (per Service: state, detail, DaemonSet action,
 * status action, events, problems, finalizer writes; plus orphans) — what the shell would do besides applying objects.
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
      ...(finalizerWrites(o).length > 0 ? { finalizers: finalizerWrites(o) } : {}),
    })),
  });
}
