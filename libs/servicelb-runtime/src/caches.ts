// The list-watch caches the ServiceLB controller keeps, and the snapshot it hands to the core.
//
// What is watched, and why (spec §3.3 plus Portico fixes):
//  - Services, all namespaces: the controller drives DaemonSets from Service events itself (K3s gets
//    them from the upstream service controller).
//  - Nodes: allow-list mode, pools, exclusion, taints and addresses (ingress refresh on address
//    changes is the Portico fix of §10.8).
//  - svclb Pods in the LB namespace, selected by the svcname+svcnamespace labels: ingress and the
//    hostPort diagnosis.
//  - svclb DaemonSets in the LB namespace, same labels: drift (manual edits, deletions) and stale
//    DaemonSets are noticed at once (Portico fix of §10.11: K3s does not watch them for drift).
//  - EndpointSlices, all namespaces, labelled kubernetes.io/service-name: only while some
//    LoadBalancer Service ServiceLB serves has externalTrafficPolicy Local (the only user of them);
//    started on demand and stopped when no such Service is left. Cached slices are stripped to the
//    fields the Local filter reads.
//
// Every cached object loses metadata.managedFields; Nodes and EndpointSlices are reduced further.

import { ListWatch, Resources, stripManagedFields, type KubeClient, type KubeLogger, type KubeObject, type ListWatchMetrics } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { Kube, type ProgramNames } from '@portico/labels';
import type { DaemonSet, EndpointSlice, Node, Pod, Service, ServiceLBSnapshot } from '@portico/servicelb';

/** What a cache change means to the controller; the controller maps it to queue keys. */
export type CacheEvent =
  | { readonly kind: 'service'; readonly type: 'add' | 'update' | 'delete'; readonly object: Service; readonly old?: Service }
  | { readonly kind: 'node'; readonly type: 'add' | 'update' | 'delete'; readonly object: Node; readonly old?: Node }
  | { readonly kind: 'pod'; readonly type: 'add' | 'update' | 'delete'; readonly object: Pod; readonly old?: Pod }
  | { readonly kind: 'daemonSet'; readonly type: 'add' | 'update' | 'delete'; readonly object: DaemonSet; readonly old?: DaemonSet }
  | { readonly kind: 'endpointSlice'; readonly type: 'add' | 'update' | 'delete'; readonly object: EndpointSlice; readonly old?: EndpointSlice }
  /** The EndpointSlice cache (re)started and finished its first LIST. */
  | { readonly kind: 'endpointSlicesSynced' };

export interface CachesOptions {
  readonly client: KubeClient;
  /** The LB namespace. */
  readonly namespace: string;
  readonly names: ProgramNames;
  readonly log: KubeLogger;
  readonly clock?: Clock;
  readonly metrics?: ListWatchMetrics;
  /** Called after the cache reflects each change (synchronously; should only enqueue). */
  readonly onEvent: (ev: CacheEvent) => void;
}

/** A core object type as cached (libs/kube's KubeObject and the core's plain-JSON shape at once). */
type K<T> = T & KubeObject;

/** A Node reduced to what ServiceLB reads: metadata, taints, unschedulable, addresses. */
export function slimNode(node: K<Node>): K<Node> {
  const n = stripManagedFields(node);
  return {
    apiVersion: n.apiVersion,
    kind: n.kind,
    metadata: n.metadata,
    spec: { taints: n.spec?.taints, unschedulable: n.spec?.unschedulable },
    status: { addresses: n.status?.addresses },
  };
}

/** An EndpointSlice reduced to what the Local-policy filter reads (no addresses, ports or hints). */
export function slimEndpointSlice(slice: K<EndpointSlice>): K<EndpointSlice> {
  const s = stripManagedFields(slice);
  const m = s.metadata ?? {};
  return {
    apiVersion: s.apiVersion,
    kind: s.kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, labels: m.labels },
    addressType: s.addressType,
    endpoints: (s.endpoints ?? []).map((e) => ({
      conditions: { ready: e.conditions?.ready ?? null },
      nodeName: e.nodeName ?? null,
      targetRef: e.targetRef ? { kind: e.targetRef.kind } : null,
    })),
  };
}

/** The controller's caches. `version` changes whenever any cached object changes. */
export class Caches {
  readonly services: ListWatch<Service & KubeObject>;
  readonly nodes: ListWatch<Node & KubeObject>;
  readonly pods: ListWatch<Pod & KubeObject>;
  readonly daemonSets: ListWatch<DaemonSet & KubeObject>;
  #endpointSlices: ListWatch<EndpointSlice & KubeObject> | undefined;
  #version = 0;
  readonly #o: CachesOptions;

  constructor(o: CachesOptions) {
    this.#o = o;
    const common = { clock: o.clock, logger: o.log, metrics: o.metrics };
    const svclbSelector = `${o.names.svcNameLabel},${o.names.svcNamespaceLabel}`;
    this.services = new ListWatch<Service & KubeObject>(o.client, Resources.Service, { ...common, name: 'services', transform: stripManagedFields });
    this.nodes = new ListWatch<Node & KubeObject>(o.client, Resources.Node, { ...common, name: 'nodes', transform: slimNode });
    this.pods = new ListWatch<Pod & KubeObject>(o.client, Resources.Pod, { ...common, name: 'svclb-pods', namespace: o.namespace, labelSelector: svclbSelector, transform: stripManagedFields });
    this.daemonSets = new ListWatch<DaemonSet & KubeObject>(o.client, Resources.DaemonSet, {
      ...common,
      name: 'svclb-daemonsets',
      namespace: o.namespace,
      labelSelector: svclbSelector,
      transform: stripManagedFields,
    });
    this.services.onChange((ev) => this.#changed({ kind: 'service', type: ev.type, object: ev.object, old: ev.type === 'update' ? ev.old : undefined }));
    this.nodes.onChange((ev) => this.#changed({ kind: 'node', type: ev.type, object: ev.object, old: ev.type === 'update' ? ev.old : undefined }));
    this.pods.onChange((ev) => this.#changed({ kind: 'pod', type: ev.type, object: ev.object, old: ev.type === 'update' ? ev.old : undefined }));
    this.daemonSets.onChange((ev) => this.#changed({ kind: 'daemonSet', type: ev.type, object: ev.object, old: ev.type === 'update' ? ev.old : undefined }));
  }

  #changed(ev: CacheEvent): void {
    this.#version++;
    this.#o.onEvent(ev);
  }

  /** Starts the four permanent caches. */
  start(): void {
    for (const lw of this.#permanent()) lw.start();
  }

  /** Stops every cache (the contents stay readable). */
  async stop(): Promise<void> {
    await Promise.all([...this.#permanent(), ...(this.#endpointSlices ? [this.#endpointSlices] : [])].map((lw) => lw.stop()));
  }

  /** Resolves when the four permanent caches have synced. */
  async waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all(this.#permanent().map((lw) => lw.waitForSync(opts)));
  }

  /** Whether the permanent caches have synced (readiness). */
  hasSynced(): boolean {
    return this.#permanent().every((lw) => lw.hasSynced());
  }

  /** Names of the permanent caches not synced yet (for /readyz). */
  notSynced(): string[] {
    return this.#permanent()
      .filter((lw) => !lw.hasSynced())
      .map((lw) => lw.name);
  }

  #permanent(): ListWatch<KubeObject>[] {
    return [this.services, this.nodes, this.pods, this.daemonSets] as ListWatch<KubeObject>[];
  }

  /** Bumped on every cache change: an index built at version v is current while version === v. */
  get version(): number {
    return this.#version;
  }

  /** Whether the EndpointSlice cache is running. */
  get endpointSlicesRunning(): boolean {
    return this.#endpointSlices !== undefined;
  }

  /** Whether the EndpointSlice cache is running and has synced (Local Services wait for it). */
  endpointSlicesSynced(): boolean {
    return this.#endpointSlices?.hasSynced() ?? false;
  }

  /**
   * Starts or stops the EndpointSlice cache. Starting emits `endpointSlicesSynced` after its first
   * LIST, so the controller can reconcile the Local Services that waited for it.
   */
  setEndpointSlicesNeeded(needed: boolean): void {
    if (needed && !this.#endpointSlices) {
      const o = this.#o;
      const lw = new ListWatch<EndpointSlice & KubeObject>(o.client, Resources.EndpointSlice, {
        clock: o.clock,
        logger: o.log,
        metrics: o.metrics,
        name: 'endpointslices',
        labelSelector: Kube.serviceNameLabel,
        transform: slimEndpointSlice,
      });
      lw.onChange((ev) => this.#changed({ kind: 'endpointSlice', type: ev.type, object: ev.object, old: ev.type === 'update' ? ev.old : undefined }));
      this.#endpointSlices = lw;
      lw.start();
      lw.waitForSync().then(
        () => {
          if (this.#endpointSlices === lw) this.#changed({ kind: 'endpointSlicesSynced' });
        },
        () => undefined, // stopped before it synced
      );
      o.log.info({ event: 'endpointSlicesWatchStarted' }, 'watching EndpointSlices (a LoadBalancer Service has externalTrafficPolicy Local)');
    } else if (!needed && this.#endpointSlices) {
      const lw = this.#endpointSlices;
      this.#endpointSlices = undefined;
      this.#version++;
      void lw.stop();
      this.#o.log.info({ event: 'endpointSlicesWatchStopped' }, 'stopped watching EndpointSlices (no LoadBalancer Service with externalTrafficPolicy Local)');
    }
  }

  /** The core's input: everything cached now (lists sorted by key, so the index is deterministic). */
  snapshot(): ServiceLBSnapshot {
    return {
      services: this.services.list(),
      nodes: this.nodes.list(),
      pods: this.pods.list(),
      endpointSlices: this.#endpointSlices?.list() ?? [],
      daemonSets: this.daemonSets.list(),
    };
  }
}
