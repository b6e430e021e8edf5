// Plain-JSON shapes of Kubernetes objects as libs/kube hands them around.
//
// libs/kube speaks raw JSON to the API server (see docs/kube.md, "Why raw HTTP"), so objects are
// exactly what the server sent: timestamps are RFC 3339 strings, not Date objects. That is why these
// types are ours and not client-node's generated models (which deserialise timestamps to Date).
// Callers narrow with their own interfaces: `client.get<MyService>(Resources.Service, ...)`.

/** `metadata.ownerReferences[]`. */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** One entry of `metadata.managedFields` (server-side apply bookkeeping). */
export interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: 'Apply' | 'Update';
  readonly apiVersion?: string;
  readonly time?: string;
  readonly fieldsType?: string;
  readonly fieldsV1?: unknown;
  readonly subresource?: string;
}

/** The subset of ObjectMeta libs/kube reads or writes; other fields pass through untouched. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

/**
 * Any Kubernetes object. Kind-specific fields (`spec`, `status`, `data`, ...) are not typed here;
 * extend this interface for the kinds you handle.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** A `metav1.Status` as returned in error bodies and in watch ERROR events. */
export interface Status {
  kind?: 'Status';
  apiVersion?: string;
  status?: 'Success' | 'Failure';
  message?: string;
  /** Machine-readable reason, e.g. `NotFound`, `Conflict`, `Forbidden`, `Expired`, `Gone`. */
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { /** The cause (Go `StatusCause.Type`, JSON `reason`). */ reason?: string; type?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
  metadata?: { resourceVersion?: string; continue?: string };
}

/** A list as returned by one LIST request (one page when `limit` is set). */
export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** Identifies one object: its resource type plus name (and namespace when namespaced). */
export interface ObjectKey {
  readonly namespace?: string;
  readonly name: string;
}

/**
 * A watch event as the API server streams it (one JSON line per event). `BOOKMARK` objects carry
 * only `metadata.resourceVersion`; `ERROR` objects are a Status (code 410 means "resourceVersion too
 * old", i.e. relist).
 */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: KubeObject }
  | { readonly type: 'ERROR'; readonly object: Status };

/** Cache key of an object: `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a cache key made by `objectKey` back into namespace and name. */
export function splitObjectKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
