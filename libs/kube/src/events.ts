// EventRecorder: core/v1 Events for what a user acts on (STYLE rule 12), with client-go's
// correlator behaviour:
//  - Aggregation: an event identical to a recent one (same involved object, type, reason, message,
//    source) bumps `count` and `lastTimestamp` of the existing Event (merge patch) instead of
//    creating a new one. The aggregation cache is an LRU of `cacheSize` entries.
//  - Spam filter: a token bucket per involved object and source (burst 25, one token per 5 minutes,
//    client-go's defaults); events over the budget are dropped and logged at debug level.
//  - Never throws into the caller: `event()` is synchronous and fire-and-forget; writes run in
//    order in the background and failures are logged. `flush()` waits for pending writes.
//  - Retries (as client-go's recorder does, up to 12 tries): a write that failed because the API
//    server was out of reach (refused, reset, timed out, 429, 503, 504: a restart, an overload) is
//    tried again later, 1 s after the first failure, doubling to 10 s between tries, with its
//    original timestamp; other refusals are final. Without this an Event written while the API
//    server restarts was lost for good, as the condition it goes with was already written (the T2
//    API-server restart campaign found it). A retry waits on a timer, not in the write queue, so
//    `flush()` (shutdown) does not wait for it.
//
// core/v1 is used (not events.k8s.io/v1) because `kubectl describe` and `kubectl get events` show
// it everywhere, and K3s's ServiceLB reasons are emitted the same way.

import type { KubeClient } from './client.ts';
import { type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { isNamespaceTerminating, isNotFound, KubeApiError, KubeTimeoutError, KubeTransportError } from './errors.ts';
import { type KubeLogger, silentLogger } from './logger.ts';
import { Resources } from './resources.ts';
import type { KubeObject } from './types.ts';

export type EventType = 'Normal' | 'Warning';

/** The object an event is about (core/v1 ObjectReference). */
export interface InvolvedObject {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** A core/v1 Event as the recorder writes it. */
export interface CoreEvent extends KubeObject {
  involvedObject: InvolvedObject;
  reason: string;
  message: string;
  type: EventType;
  source: { component: string; host?: string };
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  reportingComponent: string;
  reportingInstance: string;
}

/** Metrics hooks of the recorder. */
export interface EventRecorderMetrics {
  /** One event handled: written new, aggregated into an existing one, dropped by the spam filter, or failed. */
  event?(info: { readonly reason: string; readonly outcome: 'created' | 'aggregated' | 'dropped' | 'failed' }): void;
}

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** `source.component` / `reportingComponent`, e.g. `portico-servicelb`. */
  readonly component: string;
  /** `source.host` (node name), for per-node agents. */
  readonly host?: string;
  /** `reportingInstance`. @default host ?? component */
  readonly instance?: string;
  /** Aggregation LRU size. @default 4096 */
  readonly cacheSize?: number;
  /** Tries per Event when the API server is out of reach. @default 12 (client-go's) */
  readonly maxTries?: number;
  /** Wait before the first retry; doubles, up to 10 times this. @default 1000 */
  readonly retryBaseMs?: number;
  /** Spam filter burst per object. @default 25 */
  readonly spamBurst?: number;
  /** Spam filter refill: one token per this many ms. @default 300000 */
  readonly spamRefillMs?: number;
  readonly clock?: Clock;
  readonly logger?: KubeLogger;
  readonly metrics?: EventRecorderMetrics;
}

interface Aggregate {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
}

/** Kubernetes `metav1.Time`: RFC 3339 with whole seconds. */
function kubeTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The API server was out of reach or overloaded: worth trying again. */
function retryable(err: unknown): boolean {
  return err instanceof KubeTransportError || err instanceof KubeTimeoutError || (err instanceof KubeApiError && [429, 503, 504].includes(err.status));
}

/** Turns an object or an explicit reference into an ObjectReference. */
export function involvedObjectOf(obj: KubeObject | InvolvedObject): InvolvedObject {
  if ('metadata' in obj && obj.metadata) {
    const m = obj.metadata;
    if (!obj.kind || !m.name) throw new Error('event: the involved object needs kind and metadata.name');
    return { apiVersion: obj.apiVersion, kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
  }
  return obj as InvolvedObject;
}

export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #clock: Clock;
  readonly #log: KubeLogger;
  readonly #aggregates = new Map<string, Aggregate>(); // correlation key -> written Event (LRU order)
  readonly #buckets = new Map<string, { tokens: number; last: number }>(); // object key -> spam bucket
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(opts: EventRecorderOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? silentLogger;
  }

  /**
   * Records an event about `obj`. Returns at once; never throws (bad input is logged as a bug).
   * Cluster-scoped objects (Nodes) get their events in the `default` namespace, as client-go does.
   */
  event(obj: KubeObject | InvolvedObject, type: EventType, reason: string, message: string): void {
    let ref: InvolvedObject;
    try {
      ref = involvedObjectOf(obj);
    } catch (err) {
      this.#log.error({ event: 'eventInvalid', reason, err, bug: true }, 'event not recorded');
      return;
    }
    const now = this.#clock.now();
    const objKey = [this.#o.component, this.#o.host ?? '', ref.kind, ref.namespace ?? '', ref.name, ref.uid ?? '', ref.apiVersion ?? ''].join('\u0000');
    if (!this.#allow(objKey, now)) {
      this.#log.debug({ event: 'eventDropped', reason, obj: { kind: ref.kind, ns: ref.namespace, name: ref.name } }, 'event dropped by the spam filter');
      this.#o.metrics?.event?.({ reason, outcome: 'dropped' });
      return;
    }
    const key = [objKey, type, reason, message].join('\u0000');
    this.#chain = this.#chain.then(() => this.#write(key, ref, type, reason, message, now));
  }

  /** Waits until every event recorded so far was written (or failed and was logged). */
  flush(): Promise<void> {
    return this.#chain;
  }

  #allow(objKey: string, now: number): boolean {
    const burst = this.#o.spamBurst ?? 25;
    const refill = this.#o.spamRefillMs ?? 300_000;
    const b = this.#buckets.get(objKey) ?? { tokens: burst, last: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.last) / refill);
    b.last = now;
    this.#buckets.delete(objKey);
    this.#buckets.set(objKey, b);
    if (this.#buckets.size > (this.#o.cacheSize ?? 4096)) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  async #write(key: string, ref: InvolvedObject, type: EventType, reason: string, message: string, now: number, attempt = 1): Promise<void> {
    const { client, component, host } = this.#o;
    const ts = kubeTime(now);
    const agg = this.#aggregates.get(key);
    try {
      if (agg) {
        try {
          await client.patch(Resources.Event, { namespace: agg.namespace, name: agg.name }, { count: agg.count + 1, lastTimestamp: ts }, { type: 'merge' });
          agg.count++;
          this.#touch(key, agg);
          this.#o.metrics?.event?.({ reason, outcome: 'aggregated' });
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.#aggregates.delete(key); // expired (events have a TTL): write a fresh one
        }
      }
      const namespace = ref.namespace || 'default';
      const name = `${ref.name}.${(now * 1000 + (this.#seq++ % 1000)).toString(16)}`;
      const ev: CoreEvent = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: ref,
        reason,
        message,
        type,
        source: host ? { component, host } : { component },
        count: 1,
        firstTimestamp: ts,
        lastTimestamp: ts,
        reportingComponent: component,
        reportingInstance: this.#o.instance ?? host ?? component,
      };
      await client.create(Resources.Event, ev);
      this.#touch(key, { namespace, name, count: 1, firstTimestamp: ts });
      this.#o.metrics?.event?.({ reason, outcome: 'created' });
    } catch (err) {
      if (isNamespaceTerminating(err)) {
        // Expected while a namespace is deleted (its objects' cleanup is reported there); client-go
        // drops these quietly too.
        this.#o.metrics?.event?.({ reason, outcome: 'dropped' });
        this.#log.debug({ event: 'eventDropped', why: 'namespaceTerminating', reason, obj: { kind: ref.kind, ns: ref.namespace, name: ref.name } }, 'event dropped: its namespace is being deleted');
        return;
      }
      const obj = { kind: ref.kind, ns: ref.namespace, name: ref.name };
      if (retryable(err) && attempt < (this.#o.maxTries ?? 12)) {
        const base = this.#o.retryBaseMs ?? 1000;
        const inMs = Math.min(base * 10, base * 2 ** (attempt - 1));
        this.#log.info({ event: 'eventWriteRetry', reason, obj, attempt, inMs, err }, 'writing an Event failed; will retry');
        const timer = this.#clock.setTimeout(() => {
          this.#chain = this.#chain.then(() => this.#write(key, ref, type, reason, message, now, attempt + 1));
        }, inMs);
        (timer as { unref?: () => void }).unref?.();
        return;
      }
      this.#o.metrics?.event?.({ reason, outcome: 'failed' });
      this.#log.warn({ event: 'eventWriteFailed', reason, obj, attempts: attempt, err }, 'writing an Event failed');
    }
  }

  #touch(key: string, agg: Aggregate): void {
    this.#aggregates.delete(key);
    this.#aggregates.set(key, agg);
    if (this.#aggregates.size > (this.#o.cacheSize ?? 4096)) this.#aggregates.delete(this.#aggregates.keys().next().value!);
  }
}
