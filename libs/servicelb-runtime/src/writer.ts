// Every write the ServiceLB controller makes to the API server, in one place: what verb, which
// resource, and how "nothing to do" is told apart from "done". RBAC (apps/servicelb-controller/rbac.yaml,
// and the ServiceLB part of apps/ccm/rbac.yaml) grants exactly the verbs used here; docs/servicelb.md
// ("Controller", RBAC) lists them.
//
//  DaemonSets        server-side apply (PATCH, field manager FIELD_MANAGER, force), DELETE;
//                    a PUT only to repair a DaemonSet with fields another manager owns (below)
//  Service           JSON merge PATCH of metadata.finalizers, with the cached resourceVersion as
//                    precondition (409 when the Service changed meanwhile: the key is retried)
//  Service status    server-side apply of the status subresource (force): the ingress list (atomic)
//                    and Portico's condition (the conditions list is a map keyed by type, so other
//                    controllers' conditions stay); a merge PATCH clears an ingress another manager
//                    (K3s, before a migration) still owns after our apply
//  Namespace, svclb ServiceAccount   GET, then CREATE when missing (startup)
//
// A DaemonSet apply is skipped when this exact object was applied to the DaemonSet's current
// generation; that keeps pod and status churn free of API calls. The controller only asks for a
// status write or a finalizer change when the Service (as of our own last write, see controller.ts)
// differs, so a restart changes nothing: no new resourceVersion, no Event.

import {
  addFinalizer,
  deleteIfExists,
  isConflict,
  isNotFound,
  removeFinalizer,
  Resources,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '@portico/kube';
import { Kube, ServiceLB } from '@portico/labels';
import { ingressEqual, type DaemonSet, type DesiredServiceStatus, type Service } from '@portico/servicelb';
import type { ControllerMetrics } from './metrics.ts';
import { countedWrite } from '@portico/service-kit';

/** What an apply did. `changed`: the object was created or its spec/labels changed. */
export interface ApplyResult {
  readonly changed: boolean;
  /** The call was skipped: this exact object was already applied to the current generation. */
  readonly skipped: boolean;
  /** A PUT was needed after the apply (fields owned by another manager contradicted ours). */
  readonly repaired: boolean;
}

interface AppliedMemo {
  /** The desired object's JSON. */
  readonly json: string;
  /** generation and resourceVersion of the DaemonSet after our write. */
  readonly generation: number | undefined;
  readonly resourceVersion: string | undefined;
  /** resourceVersion of the cached object the write was based on (the cache may still show it). */
  readonly before: string | undefined;
}

/** Whether `labels` has every entry of `want`. */
export function labelsCover(labels: Readonly<Record<string, string>> | undefined, want: Readonly<Record<string, string>> | undefined): boolean {
  for (const [k, v] of Object.entries(want ?? {})) if (labels?.[k] !== v) return false;
  return true;
}

/**
 * The first path where `live` does not say what `desired` says, or undefined when it does. `live`
 * may carry extra fields (API defaults), with these exceptions, which are ours whole: the pod
 * template's nodeSelector must have exactly the desired keys, priorityClassName, initContainers and
 * securityContext.sysctls must be absent when not desired, and every list must have the desired
 * length (extra containers, env entries or tolerations count as a difference).
 */
export function daemonSetDifference(desired: unknown, live: unknown, path = ''): string | undefined {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return path || '.';
    for (let i = 0; i < desired.length; i++) {
      const d = daemonSetDifference(desired[i], live[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return path || '.';
    const dl = desired as Record<string, unknown>;
    const ll = live as Record<string, unknown>;
    for (const k of Object.keys(dl)) {
      const d = daemonSetDifference(dl[k], ll[k], `${path}.${k}`);
      if (d) return d;
    }
    if (path === '.spec.template.spec') {
      for (const k of ['nodeSelector', 'priorityClassName', 'initContainers']) if (dl[k] === undefined && ll[k] !== undefined) return `${path}.${k}`;
    }
    if (path === '.spec.template.spec.nodeSelector' && Object.keys(ll).length !== Object.keys(dl).length) return path;
    if (path === '.spec.template.spec.securityContext' && dl['sysctls'] === undefined && ll['sysctls'] !== undefined) return `${path}.sysctls`;
    return undefined;
  }
  return desired === live ? undefined : path || '.';
}

/** The API writes of the controller, with their bookkeeping. */
export class Writer {
  readonly #client: KubeClient;
  readonly #fieldManager: string;
  readonly #metrics: ControllerMetrics;
  readonly #applied = new Map<string, AppliedMemo>(); // DaemonSet name -> last apply

  constructor(client: KubeClient, fieldManager: string, metrics: ControllerMetrics) {
    this.#client = client;
    this.#fieldManager = fieldManager;
    this.#metrics = metrics;
  }

  #write<T>(verb: string, resource: string, call: () => Promise<T>): Promise<T> {
    // A 404 on delete is not a failure of the write path; everything else is counted.
    return countedWrite((v, r, ok) => this.#metrics.countWrite(v, r, ok), verb, resource, call, (err) => verb === 'delete' && isNotFound(err));
  }

  /** Creates the LB namespace when it does not exist. Returns whether it was created. */
  async ensureNamespace(name: string, signal?: AbortSignal): Promise<boolean> {
    return this.#ensure(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, signal);
  }

  /** Creates the `svclb` ServiceAccount in the LB namespace when it does not exist (K3s `ensureServiceLBServiceAccount`). */
  async ensureServiceAccount(namespace: string, signal?: AbortSignal): Promise<boolean> {
    return this.#ensure(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: ServiceLB.serviceAccountName, namespace } }, signal);
  }

  async #ensure(res: ResourceType, obj: KubeObject, signal?: AbortSignal): Promise<boolean> {
    const key = { namespace: obj.metadata?.namespace, name: obj.metadata!.name! };
    try {
      await this.#client.get(res, key, { signal });
      return false;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.#write('create', res.plural, () => this.#client.create(res, obj, { fieldManager: this.#fieldManager, signal }));
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // created meanwhile (AlreadyExists)
      throw err;
    }
  }

  /**
   * Adds a finalizer to a Service unless present. Returns the Service as updated (or `svc`), so
   * later writes of the same reconcile carry the new resourceVersion.
   */
  async addFinalizer(svc: Service, finalizer: string): Promise<Service> {
    if ((svc.metadata?.finalizers ?? []).includes(finalizer)) return svc;
    return this.#write('patch', 'services', () => addFinalizer(this.#client, Resources.Service, svc as Service & KubeObject, finalizer, { fieldManager: this.#fieldManager }));
  }

  /** Removes a finalizer from a Service if present. A Service that is gone (404) needs nothing. */
  async removeFinalizer(svc: Service, finalizer: string): Promise<Service | undefined> {
    if (!(svc.metadata?.finalizers ?? []).includes(finalizer)) return svc;
    try {
      return await this.#write('patch', 'services', () => removeFinalizer(this.#client, Resources.Service, svc as Service & KubeObject, finalizer, { fieldManager: this.#fieldManager }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Server-side applies a DaemonSet (force: ServiceLB owns these objects). Skipped when this exact
   * object was applied before and the DaemonSet has not changed since (same generation and labels),
   * so pod and status churn cost no API call; after a restart the first apply of each DaemonSet is
   * a no-op on the server (no new resourceVersion). If the result still contradicts the desired
   * object (a DaemonSet created by K3s, whose leftover fields belong to K3s's manager), it is
   * repaired with one PUT of the desired spec.
   */
  async applyDaemonSet(desired: DaemonSet, live: DaemonSet | undefined, signal?: AbortSignal): Promise<ApplyResult> {
    const name = desired.metadata?.name ?? '';
    const json = JSON.stringify(desired);
    const memo = this.#applied.get(name);
    const liveMeta = live?.metadata;
    const labelsOk = labelsCover(liveMeta?.labels, desired.metadata?.labels);
    if (
      memo &&
      live &&
      memo.json === json &&
      labelsOk &&
      (liveMeta?.resourceVersion === memo.resourceVersion || liveMeta?.resourceVersion === memo.before || liveMeta?.generation === memo.generation)
    ) {
      return { changed: false, skipped: true, repaired: false };
    }
    let result = await this.#write('apply', 'daemonsets', () =>
      this.#client.apply<DaemonSet & KubeObject>(desired as DaemonSet & KubeObject, { fieldManager: this.#fieldManager, force: true, resource: Resources.DaemonSet, signal }),
    );
    let repaired = false;
    const diff = daemonSetDifference(desired, result);
    if (diff !== undefined) {
      const base = result as DaemonSet & KubeObject;
      const { managedFields: _managed, ...meta } = base.metadata ?? {};
      const fixed = {
        ...base,
        metadata: { ...meta, labels: { ...meta.labels, ...desired.metadata?.labels } },
        spec: { ...(base.spec as object), ...(desired.spec as object) },
      } as DaemonSet & KubeObject;
      result = await this.#write('update', 'daemonsets', () => this.#client.replace(Resources.DaemonSet, fixed, { fieldManager: this.#fieldManager, signal }));
      repaired = true;
    }
    const after = result.metadata;
    this.#applied.set(name, { json, generation: after?.generation, resourceVersion: after?.resourceVersion, before: liveMeta?.resourceVersion });
    const changed = !live || repaired || after?.generation !== liveMeta?.generation || !labelsOk;
    return { changed, skipped: false, repaired };
  }

  /** Whether `resourceVersion` of DaemonSet `name` is the result of our last apply (its watch echo). */
  isOwnApply(name: string, resourceVersion: string | undefined): boolean {
    return resourceVersion !== undefined && this.#applied.get(name)?.resourceVersion === resourceVersion;
  }

  /** Deletes a DaemonSet of the LB namespace; returns whether something was deleted (false on 404). */
  async deleteDaemonSet(namespace: string, name: string, signal?: AbortSignal): Promise<boolean> {
    this.#applied.delete(name);
    // No DeleteOptions: apps/v1 already deletes a DaemonSet's pods in the background.
    return this.#write('delete', 'daemonsets', () => deleteIfExists(this.#client, Resources.DaemonSet, { namespace, name }, { signal }));
  }

  /**
   * Writes the Service status to `desired` (server-side apply of the status subresource). Returns
   * the Service as written, or undefined when the Service is gone (404).
   */
  async writeStatus(svc: Service, desired: DesiredServiceStatus, signal?: AbortSignal): Promise<Service | undefined> {
    const namespace = svc.metadata?.namespace;
    const name = svc.metadata?.name ?? '';
    const body = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, status: desired } as KubeObject;
    let updated: Service & KubeObject;
    try {
      updated = await this.#write('apply', 'services/status', () =>
        this.#client.apply<Service & KubeObject>(body, { fieldManager: this.#fieldManager, force: true, subresource: 'status', resource: Resources.Service, signal }),
      );
      const want = desired.loadBalancer.ingress ?? [];
      if (want.length === 0 && !ingressEqual(updated.status?.loadBalancer?.ingress, want)) {
        // Another manager still owns the ingress we asked to clear (e.g. K3s wrote it): clear it anyway.
        updated = await this.#write('patch', 'services/status', () =>
          this.#client.patch<Service & KubeObject>(Resources.Service, { namespace, name }, { status: { loadBalancer: { ingress: null } } }, {
            type: 'merge',
            subresource: 'status',
            fieldManager: this.#fieldManager,
            signal,
          }),
        );
      }
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return updated;
  }
}

/** The cleanup finalizer ServiceLB adds and removes (upstream service controller's). */
export const CLEANUP_FINALIZER = Kube.loadBalancerCleanupFinalizer;
