// The ServiceLB controller loop: caches → queue of Service keys → core → API writes.
//
// Shape (DESIGN.md "thin shell", STYLE rule 7): cache handlers only map a change to the Service
// keys it affects and queue them; workers take keys, ask the pure core (@portico/servicelb) for the
// verdict of each against an index of the caches, and carry it out. The index is rebuilt only when
// a cache changed since it was built. Deciding on a slightly stale index is safe: every change after
// the build queues the affected keys again, so they are reconciled once more on a newer index.
//
// Per Service key, in this order (K3s parity first, Portico fixes noted):
//  1. the legacy finalizer `svccontroller.<program>.cattle.io/daemonset` is removed where found;
//  2. a Service that wants a load balancer (type LoadBalancer, no loadBalancerClass, not being
//     deleted) gets the cleanup finalizer `service.kubernetes.io/load-balancer-cleanup` first;
//  3. stale svclb DaemonSets of the key (Service gone, or re-created with another UID) are deleted;
//  4. the DaemonSet plan: server-side apply | keep (invalid annotation: last good state stays) |
//     delete;
//  5. the status plan: strategic-merge patch of the status only when it differs (ipMode VIP written,
//     so the stored status compares equal and there is no patch loop, spec §6 caveat);
//  6. cleanup (being deleted, or type changed away from LoadBalancer): once the DaemonSet is gone and
//     the status cleared, the cleanup finalizer is removed, so a Service is never left stuck;
//  7. Events as the core says, each only when its write happened (see EventTiming).
// Services with spec.loadBalancerClass are never written to: no finalizer, no DaemonSet, no status.
//
// Only the leader writes. Caches run in every replica (a standby takes over warm); the queue exists
// only while leading, so a standby is idle but ready.

import { Backoff, isConflict, WorkQueue, type KubeClient, type KubeMetrics, type KubeObject } from '@portico/kube';
import { sleep, type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { EventReason, Kube, programNames, type ProgramNames } from '@portico/labels';
import type { Logger, Readiness } from '@portico/service-kit';
import {
  buildIndex,
  deletedDaemonSetEvent,
  isPodReady,
  needsCleanup,
  needsDaemonSetUpdate,
  needsEndpointSlices,
  reconcileKey,
  wantsLoadBalancer,
  type DaemonSet,
  type Node,
  type Pod,
  type Service,
  type ServiceEvent,
  type ServiceLBConfig,
  type ServiceLBIndex,
  type ServiceOutcome,
  type ServiceState,
} from '@portico/servicelb';
import { Caches, type CacheEvent } from './caches.ts';
import type { ControllerMetrics } from './metrics.ts';
import { CLEANUP_FINALIZER, Writer } from './writer.ts';

/** Where the controller records Kubernetes Events (libs/kube's EventRecorder, or a test recorder). */
export interface EventSink {
  event(obj: KubeObject | { kind: string; apiVersion?: string; namespace?: string; name: string; uid?: string }, type: 'Normal' | 'Warning', reason: string, message: string): void;
  flush(): Promise<void>;
}

export interface ControllerOptions {
  readonly client: KubeClient;
  readonly core: ServiceLBConfig;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly events: EventSink;
  /** Field manager of every write. */
  readonly fieldManager: string;
  /** Keys reconciled concurrently (one key is never reconciled twice at once). @default 4 */
  readonly workers?: number;
  /** Re-queue every served Service this often; 0 disables. @default 600000 */
  readonly resyncPeriodMs?: number;
  readonly kubeMetrics?: KubeMetrics;
  readonly clock?: Clock;
}

/** Whether a Service is anything ServiceLB might have to act on. */
function isRelevant(svc: Service, names: ProgramNames): boolean {
  const finalizers = svc.metadata?.finalizers ?? [];
  return svc.spec?.type === 'LoadBalancer' || finalizers.includes(CLEANUP_FINALIZER) || finalizers.includes(names.legacyFinalizer);
}

function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Whether a Node change can change any Service's DaemonSet or ingress. */
export function nodeChangeMatters(old: Node, node: Node): boolean {
  return (
    !same(old.metadata?.labels, node.metadata?.labels) ||
    !same(old.spec?.taints, node.spec?.taints) ||
    (old.spec?.unschedulable ?? false) !== (node.spec?.unschedulable ?? false) ||
    !same(old.status?.addresses, node.status?.addresses) ||
    (old.metadata?.deletionTimestamp ?? '') !== (node.metadata?.deletionTimestamp ?? '')
  );
}

/** Whether a svclb Pod update can change the ingress or the hostPort diagnosis. */
export function podChangeMatters(old: Pod, pod: Pod): boolean {
  const ready = (p: Pod): boolean => isPodReady(p);
  return (
    (old.spec?.nodeName ?? '') !== (pod.spec?.nodeName ?? '') ||
    (old.status?.podIP ?? '') !== (pod.status?.podIP ?? '') ||
    (old.status?.phase ?? '') !== (pod.status?.phase ?? '') ||
    ready(old) !== ready(pod) ||
    (old.metadata?.deletionTimestamp ?? '') !== (pod.metadata?.deletionTimestamp ?? '') ||
    !same(old.metadata?.labels, pod.metadata?.labels)
  );
}

/** Whether a svclb pod has hostPorts on a node now, or had them before this update (scheduling, deletion). */
export function holdsOrHeldHostPorts(pod: Pod, old?: Pod): boolean {
  const holds = (p: Pod | undefined): boolean => !!p?.spec?.nodeName && (p.spec.containers ?? []).some((c) => (c.ports ?? []).some((port) => (port.hostPort ?? 0) > 0));
  return holds(pod) || holds(old);
}

/** Whether a Service update needs a reconcile (upstream predicates plus what Portico also owns). */
export function serviceChangeMatters(old: Service, svc: Service, names: ProgramNames): boolean {
  if (!isRelevant(old, names) && !isRelevant(svc, names)) return false;
  return (
    needsDaemonSetUpdate(old, svc, names) ||
    needsCleanup(svc) ||
    (old.spec?.type ?? '') !== (svc.spec?.type ?? '') ||
    (old.metadata?.deletionTimestamp ?? '') !== (svc.metadata?.deletionTimestamp ?? '') ||
    !same(old.metadata?.finalizers, svc.metadata?.finalizers) ||
    !same(old.status, svc.status) ||
    !same(old.metadata?.labels, svc.metadata?.labels)
  );
}

/** The ServiceLB controller: caches always, queue and writes while leading. */
export class ServiceLBController {
  readonly caches: Caches;
  readonly writer: Writer;
  readonly #o: ControllerOptions;
  readonly #names: ProgramNames;
  readonly #clock: Clock;
  readonly #log: Logger;
  #queue: WorkQueue<string> | undefined;
  #index: { version: string; index: ServiceLBIndex } | undefined;
  readonly #states = new Map<string, ServiceState>(); // Service key -> state of its last reconcile
  readonly #invalidLogged = new Map<string, string>(); // Service key -> the problems last logged
  readonly #counts = new Map<ServiceState, number>(); // state -> Services in it
  readonly #served = new Set<string>(); // keys of Services that want a load balancer
  readonly #local = new Set<string>(); // ... of those, with externalTrafficPolicy Local
  /**
   * Service key -> what our own writes to that Service returned: the resourceVersions they were based
   * on and produced, and the latest object. While the cache still shows one of those versions, the
   * core sees the latest object instead (our writes have not come back through the watch yet), so it
   * neither repeats a write nor reports a transition twice. Any other version (someone else wrote)
   * makes the cache authoritative again.
   */
  readonly #written = new Map<string, { rvs: string[]; latest: Service }>();
  #writtenVersion = 0;
  #leading = false;

  constructor(o: ControllerOptions) {
    this.#o = o;
    this.#names = programNames(o.core.program);
    this.#clock = o.clock ?? realClock;
    this.#log = o.log;
    this.writer = new Writer(o.client, o.fieldManager, o.metrics);
    this.caches = new Caches({
      client: o.client,
      namespace: o.core.namespace,
      names: this.#names,
      log: o.log,
      clock: o.clock,
      metrics: o.kubeMetrics?.listWatch,
      onEvent: (ev) => this.#onCacheEvent(ev),
    });
  }

  /** Starts the caches (every replica, leader or not). */
  start(): void {
    this.caches.start();
  }

  /** Stops the caches. Call after lead() has returned. */
  async stop(): Promise<void> {
    await this.caches.stop();
  }

  /** Ready once the caches have synced; a standby (not leader) is ready too, just idle. */
  readiness(): Readiness {
    const missing = this.caches.notSynced();
    return missing.length === 0 ? { ready: true } : { ready: false, reason: `caches not synced: ${missing.join(', ')}` };
  }

  /** Whether this process currently runs the leader's work. */
  get leading(): boolean {
    return this.#leading;
  }

  /** True when nothing is queued or being reconciled (retries waiting for their delay do not count). */
  get idle(): boolean {
    return !this.#queue || (this.#queue.length === 0 && this.#queue.processing === 0);
  }

  /** Keys waiting in the queue (0 when not leading). */
  get queueDepth(): number {
    return this.#queue?.length ?? 0;
  }

  // ---- cache events → keys ------------------------------------------------------------------

  #enqueue(key: string): void {
    if (!this.#queue) return;
    this.#queue.add(key);
    this.#o.metrics.setQueueDepth(this.#queue.length);
  }

  #enqueueServed(): void {
    for (const key of this.#served) this.#enqueue(key);
  }

  /** Queues the Services whose last verdict a hostPort change can alter (no node could serve them, or their pods are not Ready). */
  #enqueueWaitingForPorts(except: string): void {
    for (const [key, state] of this.#states) if (key !== except && (state === 'noEligibleNodes' || state === 'pending')) this.#enqueue(key);
  }

  #trackService(svc: Service | undefined, key: string): void {
    if (svc && wantsLoadBalancer(svc) && !svc.metadata?.deletionTimestamp) {
      this.#served.add(key);
      if (needsEndpointSlices(svc)) this.#local.add(key);
      else this.#local.delete(key);
    } else {
      this.#served.delete(key);
      this.#local.delete(key);
    }
    this.caches.setEndpointSlicesNeeded(this.#local.size > 0);
  }

  #onCacheEvent(ev: CacheEvent): void {
    const names = this.#names;
    switch (ev.kind) {
      case 'service': {
        const key = keyOf(ev.object);
        if (ev.type === 'delete') this.#written.delete(key);
        this.#trackService(ev.type === 'delete' ? undefined : ev.object, key);
        if (ev.type === 'add') {
          if (isRelevant(ev.object, names)) this.#enqueue(key);
        } else if (ev.type === 'delete') {
          if (isRelevant(ev.object, names) || this.#states.has(key)) this.#enqueue(key);
        } else if (this.#isOwnWrite(key, ev.object)) {
          // The echo of our own write: the index already shows it (see #written).
        } else if (serviceChangeMatters(ev.old!, ev.object, names)) {
          this.#enqueue(key);
        }
        return;
      }
      case 'node':
        if (ev.type !== 'update' || nodeChangeMatters(ev.old!, ev.object)) this.#enqueueServed();
        return;
      case 'pod':
      case 'daemonSet': {
        const labels = ev.object.metadata?.labels ?? {};
        const name = labels[names.svcNameLabel];
        const namespace = labels[names.svcNamespaceLabel];
        if (name === undefined || namespace === undefined) return;
        if (ev.kind === 'daemonSet' && ev.type === 'update') {
          const o = ev.old!.metadata;
          const n = ev.object.metadata;
          // DaemonSet status churn (numberReady, ...) does not change what we own; nor does our own apply.
          if (o?.generation === n?.generation && same(o?.labels, n?.labels) && (o?.deletionTimestamp ?? '') === (n?.deletionTimestamp ?? '')) return;
          if (this.writer.isOwnApply(n?.name ?? '', n?.resourceVersion)) return;
        }
        if (ev.kind === 'pod') {
          // An unscheduled pod counts for nothing (no ingress, no hostPort held).
          if (ev.type !== 'update' && !(ev.object as Pod).spec?.nodeName) return;
          if (ev.type === 'update' && !podChangeMatters(ev.old! as Pod, ev.object as Pod)) return;
          // The pod holds (or held) hostPorts on its node: Services that could not get a node, or
          // wait for their pods, may be decided differently now (a port freed or taken).
          if (holdsOrHeldHostPorts(ev.object as Pod, ev.type === 'update' ? (ev.old as Pod) : undefined)) this.#enqueueWaitingForPorts(`${namespace}/${name}`);
        }
        // A DaemonSet add is always queued, our own creation included: a reconcile that ran before the
        // cache had it (e.g. the Service turned ClusterIP right after the apply) must see it to delete it.
        this.#enqueue(`${namespace}/${name}`);
        return;
      }
      case 'endpointSlice': {
        const svcName = ev.object.metadata?.labels?.[Kube.serviceNameLabel];
        const key = `${ev.object.metadata?.namespace ?? ''}/${svcName ?? ''}`;
        if (svcName && this.#local.has(key)) this.#enqueue(key);
        return;
      }
      case 'endpointSlicesSynced':
        for (const key of this.#local) this.#enqueue(key);
        return;
    }
  }

  // ---- leading ------------------------------------------------------------------------------

  /**
   * The leader's work, until `signal` aborts: wait for the caches, ensure the LB namespace and the
   * `svclb` ServiceAccount, queue every Service that may need work (which also removes legacy
   * finalizers and stale DaemonSets), then reconcile keys until the signal aborts. Resolves once
   * every in-flight reconcile has finished; in-flight API calls are aborted with the signal.
   */
  async lead(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const queue = new WorkQueue<string>({
      name: 'servicelb',
      clock: this.#o.clock,
      metrics: {
        ...this.#o.kubeMetrics?.workQueue,
        depth: (i) => {
          this.#o.kubeMetrics?.workQueue.depth?.(i);
          this.#o.metrics.setQueueDepth(i.depth);
        },
      },
    });
    const stopQueue = (): void => queue.shutDown();
    signal.addEventListener('abort', stopQueue, { once: true });
    let resync: ReturnType<Clock['setTimeout']> | undefined;
    this.#leading = true;
    this.#o.metrics.setLeader(true);
    this.#log.info({ event: 'leading' }, 'started leading: reconciling LoadBalancer Services');
    try {
      await this.caches.waitForSync({ signal });
      // One attempt first, so a fresh cluster gets its namespace before the first apply; if it
      // fails (API trouble, RBAC), reconciling starts anyway and their failures show up as Events on
      // the Services, while the prerequisites are retried in the background.
      if (!(await this.#ensurePrerequisites(signal, 1))) void this.#ensurePrerequisites(signal, Number.POSITIVE_INFINITY);
      this.#queue = queue;
      this.#enqueueAll();
      const period = this.#o.resyncPeriodMs ?? 600_000;
      if (period > 0) {
        const tick = (): void => {
          this.#log.debug({ event: 'resync' }, 'periodic resync');
          this.#enqueueAll();
          resync = this.#clock.setTimeout(tick, period);
        };
        resync = this.#clock.setTimeout(tick, period);
      }
      await this.#runWorkers(queue, signal);
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      if (resync) this.#clock.clearTimeout(resync);
      signal.removeEventListener('abort', stopQueue);
      queue.shutDown();
      this.#queue = undefined;
      this.#leading = false;
      this.#o.metrics.setLeader(false);
      this.#o.metrics.setQueueDepth(0);
      this.#log.info({ event: 'notLeading' }, 'stopped leading: idle');
    }
  }

  /** Every key that may need work: Services of type LoadBalancer or with one of our finalizers, and owners of svclb DaemonSets. */
  #enqueueAll(): void {
    for (const svc of this.caches.services.list()) if (isRelevant(svc, this.#names)) this.#enqueue(keyOf(svc));
    for (const ds of this.caches.daemonSets.list()) {
      const labels = ds.metadata?.labels ?? {};
      const name = labels[this.#names.svcNameLabel];
      const namespace = labels[this.#names.svcNamespaceLabel];
      if (name !== undefined && namespace !== undefined) this.#enqueue(`${namespace}/${name}`);
    }
  }

  /**
   * Creates the LB namespace and the svclb ServiceAccount when missing, in up to `attempts` tries
   * with backoff. Returns whether it succeeded; false after the last failed try or when aborted.
   */
  async #ensurePrerequisites(signal: AbortSignal, attempts: number): Promise<boolean> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
    const ns = this.#o.core.namespace;
    for (let attempt = 1; ; attempt++) {
      try {
        if (await this.writer.ensureNamespace(ns, signal)) this.#log.info({ event: 'namespaceCreated', obj: { kind: 'Namespace', name: ns } }, 'created the LB namespace');
        if (await this.writer.ensureServiceAccount(ns, signal)) {
          this.#log.info({ event: 'serviceAccountCreated', obj: { kind: 'ServiceAccount', ns, name: 'svclb' } }, 'created the svclb ServiceAccount');
        }
        return true;
      } catch (err) {
        if (signal.aborted) return false;
        const last = attempt >= attempts;
        const delay = backoff.next();
        this.#log.error({ op: 'ensurePrerequisites', err, ...(last ? {} : { retryInMs: delay }) }, 'cannot ensure the LB namespace and the svclb ServiceAccount');
        if (last) return false;
        try {
          await sleep(this.#clock, delay, signal);
        } catch {
          return false;
        }
      }
    }
  }

  /** The index of the caches (with our own writes overlaid), rebuilt only when something changed since the last build. */
  #currentIndex(): ServiceLBIndex {
    const version = `${this.caches.version}/${this.#writtenVersion}`;
    if (this.#index?.version !== version) {
      const snapshot = this.caches.snapshot();
      const services = snapshot.services.map((svc) => {
        const key = keyOf(svc);
        const w = this.#written.get(key);
        if (!w) return svc;
        if (w.rvs.includes(svc.metadata?.resourceVersion ?? '')) return w.latest;
        this.#written.delete(key); // the cache moved past our writes: it is authoritative again
        return svc;
      });
      this.#index = { version, index: buildIndex({ ...snapshot, services }, this.#o.core) };
    }
    return this.#index.index;
  }

  /** Whether a cached Service version is one our own writes produced (or were based on). */
  #isOwnWrite(key: string, svc: Service): boolean {
    const rv = svc.metadata?.resourceVersion;
    return rv !== undefined && (this.#written.get(key)?.rvs.includes(rv) ?? false);
  }

  /** Records the Service a write of ours returned (see #written). */
  #noteWrite(key: string, before: Service, after: Service | undefined): Service | undefined {
    if (!after) return after;
    const { managedFields: _m, ...metadata } = (after as KubeObject).metadata ?? {};
    const latest = { ...after, apiVersion: 'v1', kind: 'Service', metadata } as Service;
    const rvs = [...(this.#written.get(key)?.rvs ?? []), before.metadata?.resourceVersion ?? '', metadata.resourceVersion ?? ''].filter((v) => v !== '').slice(-16);
    this.#written.set(key, { rvs, latest });
    this.#writtenVersion++;
    return latest;
  }

  async #runWorkers(queue: WorkQueue<string>, signal: AbortSignal): Promise<void> {
    const worker = async (): Promise<void> => {
      for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
        if (signal.aborted) {
          queue.done(key);
          continue;
        }
        const started = this.#clock.now();
        try {
          await this.#sync(key, signal);
          queue.forget(key);
          this.#o.metrics.observeReconcile('success', (this.#clock.now() - started) / 1000);
        } catch (err) {
          this.#o.metrics.observeReconcile('error', (this.#clock.now() - started) / 1000);
          if (!signal.aborted) {
            this.#log.warn({ event: 'reconcileFailed', svc: key, err, retries: queue.numRequeues(key) }, 'reconcile failed; will retry');
            this.#reportFailure(key, err);
            queue.addRateLimited(key);
          }
        } finally {
          queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.#o.workers ?? 4) }, worker));
  }

  /**
   * `Warning SyncLoadBalancerFailed "Error syncing load balancer: <err>"` on the Service, the event
   * K3s's upstream service controller emits when an ensure fails (spec §4.2). Not for 409 Conflict
   * (a stale cache; the retry succeeds) nor for Services ServiceLB does not serve.
   */
  #reportFailure(key: string, err: unknown): void {
    if (isConflict(err)) return;
    const svc = this.caches.services.getByKey(key);
    if (!svc || svc.spec?.loadBalancerClass) return;
    const message = err instanceof Error ? err.message : String(err);
    this.#o.events.event(svc, 'Warning', EventReason.SyncLoadBalancerFailed, `Error syncing load balancer: ${message}`);
  }

  /** Reconciles one Service key (see the file comment for the steps). Throws to retry. */
  async #sync(key: string, signal: AbortSignal): Promise<void> {
    const index = this.#currentIndex();
    const svc = index.servicesByKey.get(key);
    if (svc && needsEndpointSlices(svc) && !this.caches.endpointSlicesSynced()) {
      // Local policy needs the EndpointSlice cache; the key is queued again when it has synced.
      // The same predicate decides #local (whose keys that sync queues), so a key that waits here
      // is always queued again. A Service being deleted never waits: its cleanup reads no endpoints.
      this.#local.add(key);
      this.caches.setEndpointSlicesNeeded(true);
      this.#log.debug({ event: 'waitingForEndpointSlices', svc: key }, 'waiting for the EndpointSlice cache');
      return;
    }
    const now = new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const outcome = reconcileKey(index, key, now);
    const log = this.#log.child({ svc: key });
    const lbNamespace = this.#o.core.namespace;
    const w = this.writer;

    // 1 + 2: finalizers, as the core planned them. `current` follows our own writes, so the next
    // precondition is fresh.
    let current = svc;
    for (const finalizer of outcome.finalizers.removeFirst) {
      if (!current) break;
      current = this.#noteWrite(key, current, await w.removeFinalizer(current, finalizer));
      log.info({ event: 'legacyFinalizerRemoved', finalizer }, 'removed the legacy ServiceLB finalizer');
    }
    for (const finalizer of outcome.finalizers.add) {
      if (!current) break;
      current = this.#noteWrite(key, current, await w.addFinalizer(current, finalizer));
      log.info({ event: 'finalizerAdded', finalizer }, 'added the load-balancer cleanup finalizer');
    }

    // 3 + 4: DaemonSets.
    const deleted = new Set<string>();
    for (const name of outcome.staleDaemonSets) {
      if (await w.deleteDaemonSet(lbNamespace, name, signal)) {
        deleted.add(name);
        log.info({ event: 'daemonSetDeleted', obj: { kind: 'DaemonSet', ns: lbNamespace, name }, why: 'stale' }, 'deleted a stale svclb DaemonSet');
      }
    }
    let applied = false;
    const plan = outcome.daemonSet;
    if (plan.action === 'apply') {
      const name = plan.daemonSet.metadata?.name ?? '';
      const live = index.existingDaemonSets.get(name) ?? (this.caches.daemonSets.get(lbNamespace, name) as DaemonSet | undefined);
      const r = await w.applyDaemonSet(plan.daemonSet, live, signal);
      applied = r.changed;
      if (r.changed) log.info({ event: 'daemonSetApplied', obj: { kind: 'DaemonSet', ns: lbNamespace, name }, created: !live, repaired: r.repaired }, 'applied the svclb DaemonSet');
    } else if (plan.action === 'delete') {
      if (await w.deleteDaemonSet(lbNamespace, plan.name, signal)) {
        deleted.add(plan.name);
        log.info({ event: 'daemonSetDeleted', obj: { kind: 'DaemonSet', ns: lbNamespace, name: plan.name }, why: outcome.state }, 'deleted the svclb DaemonSet');
      }
    } else if (plan.action === 'keep') {
      // The user is told by the InvalidAnnotation / InvalidService Event and condition (once per change), not by every reconcile.
      log.debug({ event: 'daemonSetKept', obj: { kind: 'DaemonSet', ns: lbNamespace, name: plan.name }, problems: outcome.problems }, 'invalid Service configuration; keeping the last applied DaemonSet');
    }
    this.#logInvalid(key, outcome, log);

    const involved = svc
      ? (svc as KubeObject)
      : { apiVersion: 'v1', kind: 'Service', namespace: outcome.namespace, name: outcome.name };
    const emit = (e: ServiceEvent): void => this.#o.events.event(involved, e.type, e.reason, e.message);
    // The Events that go with a new condition (InvalidAnnotation, InvalidService, NoEligibleNodes)
    // are written before the condition: the core emits them only when the condition changes, so a
    // leader killed between the status write and the Event write left the Event lost for good (the
    // T2 leader-kill campaign found it). Written first, a kill in between repeats it at worst.
    const first = current && outcome.status.action === 'patch' ? outcome.events.filter((e) => e.when === 'now') : [];
    if (first.length > 0) {
      for (const e of first) emit(e);
      await this.#o.events.flush();
    }

    // 5: status.
    let patched = false;
    if (current && outcome.status.action === 'patch') {
      const written = await w.writeStatus(current, outcome.status.status, signal);
      if (written) {
        patched = true;
        current = this.#noteWrite(key, current, written);
      }
      if (patched) log.info({ event: 'statusPatched', state: outcome.state, ingress: (outcome.status.status.loadBalancer.ingress ?? []).map((i) => i.ip) }, 'patched the Service status');
    }

    // 6: cleanup finalizer, once nothing of ours is left (the core's plan).
    for (const finalizer of outcome.finalizers.removeLast) {
      if (!current) break;
      current = this.#noteWrite(key, current, await w.removeFinalizer(current, finalizer));
      log.info({ event: 'finalizerRemoved', finalizer }, 'removed the load-balancer cleanup finalizer');
    }

    // 7: events.
    const deletions = new Map([...deleted].map((n) => [deletedDaemonSetEvent(lbNamespace, n).message, deletedDaemonSetEvent(lbNamespace, n)]));
    for (const e of outcome.events) {
      const due =
        (e.when === 'now' && !first.includes(e)) ||
        (e.when === 'afterApply' && applied) ||
        (e.when === 'afterStatusPatch' && patched) ||
        (e.when === 'afterDelete' && deletions.delete(e.message));
      if (due) emit(e);
    }
    // Deletions the core did not announce (stale DaemonSets of a Service re-created under the same name).
    for (const e of deletions.values()) emit(e);

    this.#recordState(key, svc, outcome);
  }

  /** One warning log line per Service whose problems changed (an invalid Service is reconciled on every resync). */
  #logInvalid(key: string, outcome: ServiceOutcome, log: Logger): void {
    const text = outcome.state === 'invalid' ? outcome.detail : '';
    if ((this.#invalidLogged.get(key) ?? '') === text) return;
    if (text === '') {
      this.#invalidLogged.delete(key);
      return;
    }
    this.#invalidLogged.set(key, text);
    log.warn({ event: 'invalidService', problems: outcome.problems, daemonSet: outcome.daemonSet.action }, `invalid Service: ${text}`);
  }

  /** Keeps the per-state counts behind `portico_servicelb_services{state}`. */
  #recordState(key: string, svc: Service | undefined, outcome: ServiceOutcome): void {
    const before = this.#states.get(key);
    let after: ServiceState | undefined = outcome.state;
    if (!svc || (outcome.state === 'ignored' && svc.spec?.type !== 'LoadBalancer')) after = undefined;
    if (before === after) return;
    if (before) this.#counts.set(before, (this.#counts.get(before) ?? 1) - 1);
    if (after) {
      this.#states.set(key, after);
      this.#counts.set(after, (this.#counts.get(after) ?? 0) + 1);
    } else {
      this.#states.delete(key);
    }
    this.#o.metrics.setServiceStates(this.#counts);
  }

  /** State of each Service as of its last reconcile (for tests and debugging). */
  stateOf(key: string): ServiceState | undefined {
    return this.#states.get(key);
  }
}
