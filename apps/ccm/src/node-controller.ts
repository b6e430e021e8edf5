// ccm's node controller: a Node cache → a queue of Node names → the pure core (instances.ts) →
// writes (node-writer.ts), as the upstream cloud-node and cloud-node-lifecycle controllers do for
// K3s (spec §8.3). Caches run in every replica; the queue and the writes only while leading.
//
// Per Node: status.addresses first (when they differ), then one PUT with the provider ID, the
// labels and the taint removal, then `Normal Synced`. A tainted Node with no usable address stays
// tainted, gets `Warning NoUsableAddress` (when its reason changes) and is retried with the queue's
// exponential backoff (5 ms doubling to 5 min), as well as at once when the Node changes. Every
// Node is reconciled again every --node-status-update-frequency (K3s: 1 min), which keeps addresses
// current even if a watch event was missed; annotation changes propagate at once through the watch.

import { defaultControllerRateLimiter, isConflict, ListWatch, Resources, stripManagedFields, WorkQueue, type KubeClient, type KubeMetrics } from '@portico/kube';
import { type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { EventReason, programNames, type ProgramNames } from '@portico/labels';
import type { Logger, Readiness } from '@portico/service-kit';
import type { EventSink } from '@portico/servicelb-runtime';
import { validateNode } from '@portico/servicelb';
import { nodeOutcome, type NodeOutcome, type NodeState } from './instances.ts';
import type { CcmMetrics } from './metrics.ts';
import { NodeWriter, type KubeNode } from './node-writer.ts';

export interface NodeControllerOptions {
  readonly client: KubeClient;
  readonly program: string;
  readonly log: Logger;
  readonly metrics: CcmMetrics;
  /** Events on Nodes (component `cloud-node-controller`). */
  readonly events: EventSink;
  readonly fieldManager: string;
  /** Re-reconcile every Node this often; 0 disables. @default 60000 */
  readonly resyncPeriodMs?: number;
  /** Nodes reconciled concurrently. @default 2 */
  readonly workers?: number;
  readonly kubeMetrics?: KubeMetrics;
  readonly clock?: Clock;
}

/** Longest pause between retries of one Node. */
export const RETRY_MAX_MS = 300_000;

const REASONS = { invalid: EventReason.InvalidAnnotation, noAddress: EventReason.NoUsableAddress, synced: EventReason.Synced } as const;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Whether a Node update can change ccm's verdict (heartbeats and condition times do not). */
export function nodeChangeMatters(old: KubeNode, node: KubeNode): boolean {
  const ready = (n: KubeNode): boolean => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return (
    !same(old.metadata?.labels, node.metadata?.labels) ||
    !same(old.metadata?.annotations, node.metadata?.annotations) ||
    !same(old.spec?.taints, node.spec?.taints) ||
    (old.spec?.providerID ?? '') !== (node.spec?.providerID ?? '') ||
    !same(old.status?.addresses, node.status?.addresses) ||
    ready(old) !== ready(node)
  );
}

export class NodeController {
  readonly nodes: ListWatch<KubeNode>;
  readonly writer: NodeWriter;
  readonly #o: NodeControllerOptions;
  readonly #names: ProgramNames;
  readonly #clock: Clock;
  #queue: WorkQueue<string> | undefined;
  readonly #states = new Map<string, NodeState>(); // node -> state of its last reconcile
  readonly #warned = new Map<string, string>(); // node -> the Warning messages last emitted
  /**
   * Node -> what our own writes returned: the resourceVersions they were based on and produced, and
   * the latest object. While the cache still shows one of those versions, the Node is judged on the
   * latest object instead (our write has not come back through the watch yet), so a write is never
   * repeated against a stale cache. Any other version makes the cache authoritative again.
   */
  readonly #written = new Map<string, { rvs: string[]; latest: KubeNode }>();
  #leading = false;

  constructor(o: NodeControllerOptions) {
    this.#o = o;
    this.#names = programNames(o.program);
    this.#clock = o.clock ?? realClock;
    this.writer = new NodeWriter(o.client, o.fieldManager, o.metrics);
    this.nodes = new ListWatch<KubeNode>(o.client, Resources.Node, {
      name: 'ccm-nodes',
      transform: stripManagedFields,
      clock: o.clock,
      logger: o.log,
      metrics: o.kubeMetrics?.listWatch,
    });
    this.nodes.onChange((ev) => {
      const name = ev.object.metadata?.name ?? '';
      if (ev.type === 'delete') {
        this.#forget(name);
        return;
      }
      if (ev.type === 'update' && !nodeChangeMatters(ev.old, ev.object)) return;
      this.#queue?.add(name);
    });
  }

  start(): void {
    this.nodes.start();
  }

  async stop(): Promise<void> {
    await this.nodes.stop();
  }

  readiness(): Readiness {
    return this.nodes.hasSynced() ? { ready: true } : { ready: false, reason: 'caches not synced: ccm-nodes' };
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** True when nothing is queued or in flight (retries waiting for their delay do not count). */
  get idle(): boolean {
    return !this.#queue || (this.#queue.length === 0 && this.#queue.processing === 0);
  }

  stateOf(name: string): NodeState | undefined {
    return this.#states.get(name);
  }

  #forget(name: string): void {
    this.#warned.delete(name);
    this.#written.delete(name);
    if (this.#states.delete(name)) this.#publishStates();
  }

  #publishStates(): void {
    const counts = new Map<NodeState, number>();
    for (const s of this.#states.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
    this.#o.metrics.setNodeStates(counts);
  }

  #enqueueAll(): void {
    for (const n of this.nodes.list()) this.#queue?.add(n.metadata?.name ?? '');
  }

  /** The leader's work until `signal` aborts: reconcile every Node, then changes and resyncs. */
  async lead(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const queue = new WorkQueue<string>({
      name: 'ccm-nodes',
      clock: this.#o.clock,
      // Per Node 5 ms doubling to 5 min (a Node waiting for an address is retried at least that often).
      rateLimiter: defaultControllerRateLimiter<string>({ clock: this.#o.clock, maxMs: RETRY_MAX_MS }),
      metrics: this.#o.kubeMetrics?.workQueue,
    });
    const stop = (): void => queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    let resync: ReturnType<Clock['setTimeout']> | undefined;
    this.#leading = true;
    this.#o.metrics.setLeader(true);
    this.#o.log.info({ event: 'leading', work: 'nodes' }, 'started leading: initializing Nodes');
    try {
      await this.nodes.waitForSync({ signal });
      this.#queue = queue;
      this.#enqueueAll();
      const period = this.#o.resyncPeriodMs ?? 60_000;
      if (period > 0) {
        const tick = (): void => {
          this.#enqueueAll();
          resync = this.#clock.setTimeout(tick, period);
        };
        resync = this.#clock.setTimeout(tick, period);
      }
      const worker = async (): Promise<void> => {
        for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
          const started = this.#clock.now();
          try {
            if (signal.aborted) continue;
            const waiting = await this.#sync(key, signal);
            if (waiting) queue.addRateLimited(key);
            else queue.forget(key);
            this.#o.metrics.observeSync('success', (this.#clock.now() - started) / 1000);
          } catch (err) {
            this.#o.metrics.observeSync('error', (this.#clock.now() - started) / 1000);
            if (!signal.aborted) {
              // A 409 means the Node changed since it was read: the retry reads it again.
              if (isConflict(err)) this.#o.log.debug({ event: 'nodeConflict', node: key }, 'node changed meanwhile; reconciling again');
              else this.#o.log.warn({ event: 'nodeSyncFailed', node: key, err, retries: queue.numRequeues(key) }, 'node reconcile failed; will retry');
              queue.addRateLimited(key);
            }
          } finally {
            queue.done(key);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, this.#o.workers ?? 2) }, worker));
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      if (resync) this.#clock.clearTimeout(resync);
      signal.removeEventListener('abort', stop);
      queue.shutDown();
      this.#queue = undefined;
      this.#leading = false;
      this.#o.metrics.setLeader(false);
      this.#o.log.info({ event: 'notLeading', work: 'nodes' }, 'stopped leading: node initialization idle');
    }
  }

  /** Records a write of ours (see #written). */
  #noteWrite(name: string, before: KubeNode, after: KubeNode): void {
    const { managedFields: _m, ...metadata } = after.metadata ?? {};
    const latest = { ...after, apiVersion: 'v1', kind: 'Node', metadata } as KubeNode;
    const rvs = [...(this.#written.get(name)?.rvs ?? []), before.metadata?.resourceVersion ?? '', metadata.resourceVersion ?? ''].filter((v) => v !== '').slice(-8);
    this.#written.set(name, { rvs, latest });
  }

  /** Reconciles one Node. Returns true when it waits for an address (retry with backoff). Throws to retry. */
  async #sync(name: string, signal: AbortSignal): Promise<boolean> {
    const fromCache = this.nodes.getByKey(name);
    if (!fromCache || fromCache.metadata?.deletionTimestamp) {
      this.#forget(name);
      return false;
    }
    const own = this.#written.get(name);
    const cached = own && own.rvs.includes(fromCache.metadata?.resourceVersion ?? '') ? own.latest : fromCache;
    if (own && cached === fromCache) this.#written.delete(name);
    const log = this.#o.log.child({ node: name });
    const invalid = validateNode(cached);
    if (invalid.length > 0) {
      // Never written from: what the Node has stays as it is (the API server would not store such a
      // Node; this guards against a cache or a conversion handing over something else).
      const message = `${invalid.map((p) => `${p.field}: ${JSON.stringify(p.value)}: ${p.message}`).join('; ')}; the Node is left unchanged`;
      const warnKey = `${EventReason.InvalidNode}:${message}`;
      if (warnKey !== (this.#warned.get(name) ?? '')) {
        this.#warned.set(name, warnKey);
        this.#o.events.event(cached, 'Warning', EventReason.InvalidNode, message);
        log.warn({ event: 'invalidNode', problems: invalid }, 'invalid Node: left unchanged');
      }
      return false;
    }
    const outcome = nodeOutcome(cached, this.#names, REASONS);
    const warnings = outcome.events.filter((e) => e.when === 'now');
    const warnKey = warnings.map((e) => `${e.reason}:${e.message}`).join('\n');
    if (warnKey !== (this.#warned.get(name) ?? '')) {
      for (const e of warnings) this.#o.events.event(cached, e.type, e.reason, e.message);
      if (warnKey === '') this.#warned.delete(name);
      else this.#warned.set(name, warnKey);
      if (outcome.state === 'waiting') log.warn({ event: 'nodeWaiting', reason: outcome.waitReason }, 'node stays uninitialized: no usable address');
    }
    let base: KubeNode = cached;
    if (outcome.addresses) {
      const written = await this.writer.writeAddresses(base, outcome.addresses, signal);
      if (!written) return false;
      this.#noteWrite(name, base, written);
      base = written;
      log.info({ event: 'addressesUpdated', source: outcome.source, addresses: outcome.addresses }, 'updated status.addresses');
    }
    if (outcome.update) {
      const updated = await this.writer.updateSpec(base, outcome.update, signal);
      if (!updated) return false;
      this.#noteWrite(name, base, updated);
      if (outcome.state === 'initializing') {
        const created = Date.parse(cached.metadata?.creationTimestamp ?? '');
        this.#o.metrics.initialized(Number.isNaN(created) ? 0 : (this.#clock.now() - created) / 1000);
        log.info({ event: 'nodeInitialized', source: outcome.source, providerID: updated.spec?.providerID, labels: outcome.update.labels }, 'initialized the node (uninitialized taint removed)');
      } else {
        log.info({ event: 'nodeUpdated', labels: outcome.update.labels, taintsChanged: outcome.update.taints !== undefined }, 'updated node labels/taints');
      }
      for (const e of outcome.events) if (e.when === 'afterUpdate') this.#o.events.event(updated, e.type, e.reason, e.message);
    }
    const state: NodeState = outcome.state === 'initializing' ? 'initialized' : outcome.state;
    if (this.#states.get(name) !== state) {
      this.#states.set(name, state);
      this.#publishStates();
    }
    return outcome.state === 'waiting';
  }
}

export type { NodeOutcome };
