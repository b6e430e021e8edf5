// ListWatch: a list-watch cache (an informer) that never silently stops.
//
// Semantics (docs/kube.md, "List-watch"):
//  - LIST in pages (`limit`, `continue`) from the most recent resourceVersion, then WATCH from the
//    list's resourceVersion with bookmarks, a jittered server-side timeout and an inactivity timeout.
//  - Every event, and every bookmark, advances the resourceVersion; a watch that ends (server
//    timeout, dropped connection, inactivity) resumes from it without relisting.
//  - 410 Gone (HTTP answer or in-stream ERROR event) → relist, and the relist is diffed against the
//    cache: consumers get `add`/`update` for what changed and `delete` (finalStateUnknown) for what
//    vanished while the watch was down. No delete is lost.
//  - Any other error → log, wait with capped exponential backoff plus jitter, retry. Forever, until
//    stop().

import { Backoff, type BackoffOptions, jittered } from './backoff.ts';
import type { KubeClient } from './client.ts';
import { type Clock, sleep } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { GoneError, isGone, KubeApiError, KubeTimeoutError } from './errors.ts';
import { type KubeLogger, silentLogger } from './logger.ts';
import type { ResourceType } from './resources.ts';
import { type KubeObject, objectKey, type Status } from './types.ts';

/** What a ListWatch tells its consumers. `old` is the cached state before the change. */
export type ChangeEvent<T extends KubeObject> =
  | { readonly type: 'add'; readonly object: T }
  | { readonly type: 'update'; readonly object: T; readonly old: T }
  /**
   * `object` is the last state known: the DELETED event's object, or, when the delete was only
   * noticed by a relist (`finalStateUnknown: true`), the last cached state.
   */
  | { readonly type: 'delete'; readonly object: T; readonly finalStateUnknown: boolean };

export type ChangeHandler<T extends KubeObject> = (event: ChangeEvent<T>) => void;

/** Why a LIST ran. */
export type ListReason = 'initial' | 'gone' | 'error';
/** Why a watch was (re)started. */
export type WatchEndReason = 'closed' | 'gone' | 'inactivity' | 'error';

/** Hooks for metrics; see `createKubeMetrics` for a prom-client implementation. Every hook is optional. */
export interface ListWatchMetrics {
  /** A complete (all pages) LIST finished. */
  list?(info: { readonly name: string; readonly reason: ListReason; readonly pages: number; readonly items: number; readonly durationMs: number }): void;
  /** A watch ended and will be restarted (after backoff for `error`). */
  watchRestart?(info: { readonly name: string; readonly reason: WatchEndReason }): void;
  /** One change delivered to consumers, or a bookmark. */
  event?(info: { readonly name: string; readonly type: ChangeEvent<KubeObject>['type'] | 'bookmark' }): void;
  /** Objects in the cache after a change. */
  cacheSize?(info: { readonly name: string; readonly size: number }): void;
}

/** Options of a ListWatch. */
export interface ListWatchOptions<T extends KubeObject> {
  /** Name in logs and metrics. @default the resource plural (plus namespace) */
  readonly name?: string;
  /** Watch one namespace only. @default all namespaces */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** LIST page size. @default 500 */
  readonly pageSize?: number;
  /** Base of the server-side watch timeout; each watch uses base × (1 + random()), as client-go. @default 300 */
  readonly watchTimeoutSeconds?: number;
  /** No byte on the watch for this long → reconnect (from the last resourceVersion). @default 120000 */
  readonly inactivityTimeoutMs?: number;
  /** Applied to every object before caching, e.g. `stripManagedFields`. Must not throw. */
  readonly transform?: (obj: T) => T;
  /** Restart backoff after errors. @default { initialMs: 800, maxMs: 30000, factor: 2, jitter: 1 } */
  readonly backoff?: BackoffOptions;
  /** A watch that ends cleanly sooner than this with no event counts as a failure (backs off). @default 1000 */
  readonly minWatchDurationMs?: number;
  readonly clock?: Clock;
  /** Randomness for jitter. @default Math.random */
  readonly random?: () => number;
  readonly logger?: KubeLogger;
  readonly metrics?: ListWatchMetrics;
}

/** Counters kept by every ListWatch (also useful in tests). */
export interface ListWatchStats {
  /** Complete LISTs (initial one included). */
  lists: number;
  /** LIST requests (pages). */
  pages: number;
  /** LISTs after the initial one. */
  relists: number;
  /** Watch connections opened. */
  watches: number;
  /** Watches that ended and were restarted, by reason. */
  watchRestarts: Record<WatchEndReason, number>;
  /** Changes delivered (add + update + delete). */
  events: number;
  bookmarks: number;
}

/**
 * A cache of one resource type (optionally one namespace / selector), kept current by list+watch.
 * Handlers run synchronously, in order, after the cache already reflects the change; a handler that
 * throws is logged and does not disturb the cache or other handlers. Handlers should only enqueue
 * work (STYLE rule 7).
 */
export class ListWatch<T extends KubeObject> {
  readonly name: string;
  readonly resource: ResourceType;
  readonly stats: ListWatchStats = {
    lists: 0,
    pages: 0,
    relists: 0,
    watches: 0,
    watchRestarts: { closed: 0, gone: 0, inactivity: 0, error: 0 },
    events: 0,
    bookmarks: 0,
  };

  readonly #client: KubeClient;
  readonly #opts: ListWatchOptions<T>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: KubeLogger;
  readonly #backoff: Backoff;
  readonly #cache = new Map<string, T>(); // namespace/name -> object
  readonly #handlers = new Set<ChangeHandler<T>>();
  #rv = '';
  #synced = false;
  #syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #stop: AbortController | undefined;
  #running: Promise<void> | undefined;
  #goneInARow = 0; // 410s with no event delivered in between

  constructor(client: KubeClient, resource: ResourceType, opts: ListWatchOptions<T> = {}) {
    this.#client = client;
    this.resource = resource;
    this.#opts = opts;
    this.name = opts.name ?? (opts.namespace ? `${resource.plural}/${opts.namespace}` : resource.plural);
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? silentLogger;
    this.#backoff = new Backoff(opts.backoff, this.#random);
  }

  /** Starts listing and watching in the background. Calling it twice is a no-op. */
  start(): this {
    if (this.#running) return this;
    this.#stop = new AbortController();
    this.#running = this.#run(this.#stop.signal);
    return this;
  }

  /**
   * Stops the watch (closing its connection) and waits for the loop to end. The cache stays
   * readable; a later start() relists and reports the difference.
   */
  async stop(): Promise<void> {
    if (!this.#stop) return;
    this.#stop.abort(new Error(`list-watch ${this.name} stopped`));
    await this.#running;
    this.#stop = undefined;
    this.#running = undefined;
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w.reject(new Error(`list-watch ${this.name} stopped before it synced`));
  }

  /** Subscribes to changes; returns the unsubscribe function. Subscribe before start() to see the initial adds. */
  onChange(handler: ChangeHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => void this.#handlers.delete(handler);
  }

  /** True once the first complete LIST is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves when synced; rejects after `timeoutMs` (naming the resource) or when stopped. */
  waitForSync(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (e: unknown) => {
          cleanup();
          reject(e);
        },
      };
      const timer =
        opts.timeoutMs !== undefined
          ? this.#clock.setTimeout(() => waiter.reject(new KubeTimeoutError(`list-watch ${this.name}: not synced after ${opts.timeoutMs} ms`)), opts.timeoutMs)
          : undefined;
      const onAbort = (): void => waiter.reject(opts.signal?.reason);
      const cleanup = (): void => {
        if (timer) this.#clock.clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(waiter);
    });
  }

  /** The cached object; for cluster-scoped resources pass `undefined` (or '') as namespace. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.#cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** By cache key (`namespace/name` or `name`). */
  getByKey(key: string): T | undefined {
    return this.#cache.get(key);
  }

  /** Cached objects, optionally of one namespace, sorted by key (deterministic). */
  list(namespace?: string): T[] {
    const keys = [...this.#cache.keys()].sort();
    const out: T[] = [];
    for (const k of keys) {
      const o = this.#cache.get(k)!;
      if (namespace === undefined || o.metadata?.namespace === namespace) out.push(o);
    }
    return out;
  }

  /** Sorted cache keys. */
  keys(): string[] {
    return [...this.#cache.keys()].sort();
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The resourceVersion the next watch resumes from (last list, event or bookmark). */
  get resourceVersion(): string {
    return this.#rv;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let listReason: ListReason = 'initial';
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.#relist(listReason, signal);
          needList = false;
        }
        const ended = await this.#watchOnce(signal);
        this.#restarted(ended);
      } catch (err) {
        if (signal.aborted) break;
        const listing = needList; // did the list fail, or the watch?
        if (!listing && isGone(err)) {
          // The resourceVersion we hold was compacted away: relist. The first time at once; if
          // the watch after that relist also gets 410 without delivering anything, back off like
          // any error, so a misbehaving server cannot cause a relist storm.
          this.#log.info({ event: 'watchGone', lw: this.name, rv: this.#rv }, 'resourceVersion too old; relisting');
          this.#restarted('gone');
          needList = true;
          listReason = 'gone';
          this.#rv = '';
          if (this.#goneInARow++ === 0) continue;
        } else if (!listing && err instanceof KubeTimeoutError) {
          // Inactivity: the connection is probably half-open. Resume at once from the last
          // resourceVersion; the server is not known to be in trouble, so no backoff.
          this.#log.info({ event: 'watchInactive', lw: this.name, rv: this.#rv }, 'no data on the watch; reconnecting');
          this.#restarted('inactivity');
          continue;
        } else if (!listing) {
          this.#restarted('error');
        }
        const delay = this.#backoff.next();
        this.#log.warn(
          { event: listing ? 'listFailed' : 'watchFailed', lw: this.name, err, retryInMs: delay, failures: this.#backoff.failures },
          listing ? 'list failed; retrying' : 'watch failed; restarting',
        );
        try {
          await sleep(this.#clock, delay, signal);
        } catch {
          break;
        }
      }
    }
  }

  #restarted(reason: WatchEndReason): void {
    this.stats.watchRestarts[reason]++;
    this.#opts.metrics?.watchRestart?.({ name: this.name, reason });
  }

  /** Lists every page and replaces the cache, emitting the difference. */
  async #relist(reason: ListReason, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    const pageSize = this.#opts.pageSize ?? 500;
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    let pages = 0;
    for (;;) {
      let page;
      try {
        page = await this.#client.list<T>(this.resource, {
          namespace: this.#opts.namespace,
          labelSelector: this.#opts.labelSelector,
          fieldSelector: this.#opts.fieldSelector,
          limit: pageSize,
          continue: cont,
          signal,
        });
      } catch (err) {
        if (cont && isGone(err)) {
          // The continue token expired mid-list (compaction): start over from a fresh snapshot.
          this.#log.info({ event: 'listContinueExpired', lw: this.name, pages }, 'continue token expired; listing again');
          fresh.clear();
          cont = undefined;
          continue;
        }
        throw err;
      }
      pages++;
      this.stats.pages++;
      for (const item of page.items ?? []) {
        const obj = this.#transform(withKind(item, this.resource));
        fresh.set(objectKey(obj), obj);
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
      if (!cont) break;
    }
    this.stats.lists++;
    if (reason !== 'initial') this.stats.relists++;
    this.#opts.metrics?.list?.({ name: this.name, reason, pages, items: fresh.size, durationMs: this.#clock.now() - started });
    this.#log.debug({ event: 'listed', lw: this.name, reason, pages, items: fresh.size, rv }, 'listed');

    // Swap first, then notify, so handlers already see the new state in the cache.
    const changes: ChangeEvent<T>[] = [];
    for (const [key, old] of this.#cache) {
      if (!fresh.has(key)) changes.push({ type: 'delete', object: old, finalStateUnknown: true });
    }
    for (const [key, obj] of fresh) {
      const old = this.#cache.get(key);
      if (!old) changes.push({ type: 'add', object: obj });
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changes.push({ type: 'update', object: obj, old });
    }
    this.#cache.clear();
    for (const [k, v] of fresh) this.#cache.set(k, v);
    this.#rv = rv;
    changes.sort((a, b) => (objectKey(a.object) < objectKey(b.object) ? -1 : objectKey(a.object) > objectKey(b.object) ? 1 : 0));
    for (const c of changes) this.#emit(c);
    this.#opts.metrics?.cacheSize?.({ name: this.name, size: this.#cache.size });
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w.resolve();
    }
  }

  /** One watch connection; returns why it ended normally, throws on errors (GoneError for 410). */
  async #watchOnce(signal: AbortSignal): Promise<WatchEndReason> {
    const started = this.#clock.now();
    let received = 0;
    this.stats.watches++;
    const timeoutSeconds = Math.floor(jittered(this.#opts.watchTimeoutSeconds ?? 300, 1, this.#random));
    const stream = this.#client.watch<T>(this.resource, {
      namespace: this.#opts.namespace,
      labelSelector: this.#opts.labelSelector,
      fieldSelector: this.#opts.fieldSelector,
      resourceVersion: this.#rv,
      allowWatchBookmarks: true,
      timeoutSeconds,
      inactivityTimeoutMs: this.#opts.inactivityTimeoutMs ?? 120_000,
      signal,
    });
    for await (const ev of stream) {
      received++;
      if (ev.type !== 'ERROR') this.#goneInARow = 0;
      switch (ev.type) {
        case 'ADDED':
        case 'MODIFIED':
        case 'DELETED':
          this.#apply(ev.type, this.#transform(withKind(ev.object, this.resource)));
          break;
        case 'BOOKMARK': {
          const rv = ev.object?.metadata?.resourceVersion;
          if (rv) this.#rv = rv;
          this.stats.bookmarks++;
          this.#opts.metrics?.event?.({ name: this.name, type: 'bookmark' });
          break;
        }
        case 'ERROR':
          throw statusError(ev.object, `watch ${this.name}`);
        default:
          this.#log.warn({ event: 'watchUnknownEvent', lw: this.name, type: (ev as { type: string }).type }, 'unknown watch event type; ignored');
      }
      if (this.#clock.now() - started >= this.#backoff.resetAfterMs) this.#backoff.reset();
    }
    if (signal.aborted) return 'closed';
    const lasted = this.#clock.now() - started;
    if (received === 0 && lasted < (this.#opts.minWatchDurationMs ?? 1000)) {
      throw new Error(`watch ${this.name} closed after ${lasted} ms without any event`);
    }
    this.#backoff.reset();
    return 'closed';
  }

  #apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = objectKey(obj);
    const rv = obj.metadata?.resourceVersion;
    const old = this.#cache.get(key);
    if (type === 'DELETED') {
      this.#cache.delete(key);
      if (rv) this.#rv = rv;
      this.#emit({ type: 'delete', object: obj, finalStateUnknown: false });
    } else {
      this.#cache.set(key, obj);
      if (rv) this.#rv = rv;
      if (!old) this.#emit({ type: 'add', object: obj });
      else if (old.metadata?.resourceVersion !== rv) this.#emit({ type: 'update', object: obj, old });
    }
    this.#opts.metrics?.cacheSize?.({ name: this.name, size: this.#cache.size });
  }

  #emit(ev: ChangeEvent<T>): void {
    this.stats.events++;
    this.#opts.metrics?.event?.({ name: this.name, type: ev.type });
    for (const h of this.#handlers) {
      try {
        h(ev);
      } catch (err) {
        this.#log.error({ event: 'handlerFailed', lw: this.name, err, bug: true }, 'list-watch handler threw');
      }
    }
  }

  #transform(obj: T): T {
    const t = this.#opts.transform;
    if (!t) return obj;
    try {
      return t(obj);
    } catch (err) {
      this.#log.error({ event: 'transformFailed', lw: this.name, err, bug: true }, 'transform threw; caching the object as is');
      return obj;
    }
  }
}

/** A `transform` that drops `metadata.managedFields` (often half of an object's size). */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata?.managedFields) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** List items come without apiVersion/kind; fill them in so cached objects are self-describing. */
function withKind<T extends KubeObject>(obj: T, res: ResourceType): T {
  if (obj.kind && obj.apiVersion) return obj;
  return { ...obj, apiVersion: obj.apiVersion ?? (res.group ? `${res.group}/${res.version}` : res.version), kind: obj.kind ?? res.kind };
}

/** Turns an in-stream ERROR Status into the typed error (code 410 → GoneError). */
function statusError(st: Status, what: string): KubeApiError {
  const code = st?.code ?? 500;
  const reason = st?.reason ?? (code === 410 ? 'Expired' : 'InternalError');
  const msg = st?.message ?? 'watch ERROR event';
  if (code === 410) return new GoneError(410, reason, msg, st, what);
  return new KubeApiError(code, reason, msg, st, what);
}
