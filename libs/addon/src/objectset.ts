// The object set of one Addon: the desired objects with their markers, the kinds to search when
// pruning, and which live objects to delete (spec §2.3, §3.5, §8.2, B2, B4).

import { AddonApi, ApplySet, Wrangler } from './constants.ts';
import type { ManifestObject } from './manifest.ts';
import { applySetId, gvkOf, gvkString, groupKindString, splitApiVersion, wranglerSetHash, type GVK } from './names.ts';

/** Identity of one member: group, kind, namespace, name (versions do not matter). */
export interface ObjectRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  readonly name: string;
}

export function refKey(r: ObjectRef): string {
  return `${r.group}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
}

export function refString(r: ObjectRef): string {
  const gk = groupKindString(r);
  return r.namespace ? `${gk} ${r.namespace}/${r.name}` : `${gk} ${r.name}`;
}

/** The markers of an Addon's members: wrangler's (K3s-compatible) and the ApplySet label. */
export function setMarkers(addon: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [Wrangler.hash]: wranglerSetHash(addon), [ApplySet.partOf]: applySetId(addon) },
    annotations: {
      [Wrangler.id]: '',
      [Wrangler.ownerGvk]: Wrangler.addonOwnerGvk,
      [Wrangler.ownerName]: addon,
      [Wrangler.ownerNamespace]: AddonApi.namespace,
    },
  };
}

/** Label selectors that find an Addon's members: wrangler's hash (K3s-created) and the ApplySet label. */
export function memberSelectors(addon: string): string[] {
  return [`${Wrangler.hash}=${wranglerSetHash(addon)}`, `${ApplySet.partOf}=${applySetId(addon)}`];
}

const SERVER_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds'];

/**
 * The object to server-side apply: namespace defaulted to `default` for namespaced kinds, removed
 * for cluster-scoped ones (K3s), server-set metadata dropped, markers added. `applied` (wrangler's
 * last-applied copy) is never written (spec §8.2).
 */
export function desiredObject(obj: ManifestObject, addon: string, namespaced: boolean): ManifestObject {
  const markers = setMarkers(addon);
  const meta: ManifestObject['metadata'] = { ...obj.metadata };
  for (const f of SERVER_FIELDS) delete meta[f];
  if (namespaced) meta.namespace = meta.namespace || 'default';
  else delete meta.namespace;
  meta.labels = { ...(meta.labels ?? {}), ...markers.labels };
  const annotations = { ...(meta.annotations ?? {}), ...markers.annotations };
  delete annotations[Wrangler.applied];
  meta.annotations = annotations;
  const out: ManifestObject = { ...obj, metadata: meta };
  delete out['status'];
  return out;
}

export function refOf(obj: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } }): ObjectRef {
  return { group: splitApiVersion(obj.apiVersion ?? '').group, kind: obj.kind ?? '', namespace: obj.metadata?.namespace || undefined, name: obj.metadata?.name ?? '' };
}

/**
 * Removes later duplicates of the same group/kind/namespace/name: the later document wins (wrangler
 * keeps the last one), at the position of the first.
 */
export function dedupe(objects: readonly ManifestObject[]): ManifestObject[] {
  const index = new Map<string, number>();
  const out: ManifestObject[] = [];
  for (const o of objects) {
    const k = refKey(refOf(o));
    const i = index.get(k);
    if (i === undefined) {
      index.set(k, out.length);
      out.push(o);
    } else out[i] = o;
  }
  return out;
}

/**
 * Kinds to search when pruning: the file's kinds in order of appearance, then remembered kinds
 * (the Addon's annotation) not in the file, sorted by GVK string. Kinds are compared by group and
 * kind, so a version change of a kind is not searched twice.
 */
export function pruneKinds(fileKinds: readonly GVK[], remembered: readonly GVK[]): GVK[] {
  const seen = new Set<string>();
  const out: GVK[] = [];
  for (const g of fileKinds) {
    const k = groupKindString(g);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(g);
    }
  }
  const rest = remembered.filter((g) => !seen.has(groupKindString(g))).sort((a, b) => (gvkString(a) < gvkString(b) ? -1 : 1));
  for (const g of rest) {
    const k = groupKindString(g);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(g);
    }
  }
  return out;
}

/** A live member found by a selector. */
export interface LiveMember {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string; uid?: string };
}

export interface PruneDecision {
  readonly remove: ObjectRef[];
  /** Not desired, but labelled `objectset.rio.cattle.io/prune: "false"`. */
  readonly kept: ObjectRef[];
}

/**
 * Which live members to delete: those not desired, not already being deleted, and not labelled
 * `prune: "false"`. Sorted by ref for a stable order.
 */
export function pruneDecision(desired: readonly ObjectRef[], live: readonly LiveMember[]): PruneDecision {
  const want = new Set(desired.map(refKey));
  const remove: ObjectRef[] = [];
  const kept: ObjectRef[] = [];
  const seen = new Set<string>();
  for (const obj of live) {
    const ref = refOf(obj);
    const key = refKey(ref);
    if (want.has(key) || seen.has(key)) continue;
    seen.add(key);
    if (obj.metadata?.deletionTimestamp) continue;
    if (obj.metadata?.labels?.[Wrangler.prune] === 'false') kept.push(ref);
    else remove.push(ref);
  }
  const cmp = (a: ObjectRef, b: ObjectRef): number => (refKey(a) < refKey(b) ? -1 : 1);
  return { remove: remove.sort(cmp), kept: kept.sort(cmp) };
}

/** The Addon object (spec and inventory annotations) the shell applies for one file. */
export function addonObject(opts: {
  readonly name: string;
  readonly source: string;
  readonly checksum?: string;
  readonly gvks: readonly GVK[];
  readonly naming: string;
  readonly root: string;
}): Record<string, unknown> {
  const gks = [...new Set(opts.gvks.map(groupKindString))].sort();
  const spec: Record<string, string> = { source: opts.source };
  if (opts.checksum !== undefined) spec['checksum'] = opts.checksum;
  return {
    apiVersion: AddonApi.apiVersion,
    kind: AddonApi.kind,
    metadata: {
      name: opts.name,
      namespace: AddonApi.namespace,
      labels: { [ApplySet.id]: applySetId(opts.name) },
      annotations: {
        [AddonApi.gvksAnnotation]: [...new Set(opts.gvks.map(gvkString))].join(';'),
        [ApplySet.tooling]: ApplySet.porticoTooling,
        [ApplySet.containsGroupKinds]: gks.join(','),
        'addon.portico.io/naming': opts.naming,
        'addon.portico.io/manifests-dir': opts.root,
      },
    },
    spec,
  };
}

export { gvkOf };
