// Small helpers controllers need on top of KubeClient: finalizers with resourceVersion
// preconditions, get-or-undefined, delete-if-present.

import type { KubeClient } from './client.ts';
import { isNotFound } from './errors.ts';
import type { ResourceType } from './resources.ts';
import type { KubeObject, ObjectKey } from './types.ts';

function keyOf(obj: KubeObject): ObjectKey {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return { namespace: obj.metadata?.namespace, name };
}

/**
 * Adds `finalizer` to `obj` unless present. The merge patch carries `obj`'s resourceVersion, so it
 * fails with ConflictError (409) when the object changed since `obj` was read: re-read and retry
 * (usually by requeueing the key). Returns the updated object, or `obj` when nothing changed.
 */
export async function addFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceType, obj: T, finalizer: string, opts: { fieldManager?: string } = {}): Promise<T> {
  const current = obj.metadata?.finalizers ?? [];
  if (current.includes(finalizer)) return obj;
  return client.patch<T>(res, keyOf(obj), { metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers: [...current, finalizer] } }, { type: 'merge', fieldManager: opts.fieldManager });
}

/** Removes `finalizer` from `obj` if present; same precondition semantics as addFinalizer. */
export async function removeFinalizer<T extends KubeObject>(client: KubeClient, res: ResourceType, obj: T, finalizer: string, opts: { fieldManager?: string } = {}): Promise<T> {
  const current = obj.metadata?.finalizers ?? [];
  if (!current.includes(finalizer)) return obj;
  const rest = current.filter((f) => f !== finalizer);
  // `null` deletes the list in a merge patch; an empty list would be kept as [] by some servers.
  return client.patch<T>(res, keyOf(obj), { metadata: { resourceVersion: obj.metadata?.resourceVersion, finalizers: rest.length > 0 ? rest : null } }, { type: 'merge', fieldManager: opts.fieldManager });
}

/** GET that answers `undefined` for 404 instead of throwing. */
export async function getOrUndefined<T extends KubeObject>(client: KubeClient, res: ResourceType, key: ObjectKey): Promise<T | undefined> {
  try {
    return await client.get<T>(res, key);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** DELETE that treats 404 as success; returns whether something was deleted. */
export async function deleteIfExists(client: KubeClient, res: ResourceType, key: ObjectKey, opts?: Parameters<KubeClient['delete']>[2]): Promise<boolean> {
  try {
    await client.delete(res, key, opts);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
