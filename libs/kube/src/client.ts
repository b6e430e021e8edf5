// KubeClient: the one interface Portico's shells use to talk to the API server, and RestKubeClient,
// its implementation over an HttpTransport.
//
// Design choice: generic REST by ResourceType instead of client-node's generated per-kind API
// classes. One code path serves every kind (the add-on manager applies arbitrary kinds), request
// bodies and answers are the server's JSON unchanged (no Date conversion), and the same code is
// exercised in unit tests through FakeKube's in-memory transport.

import { type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import { apiErrorFrom, KubeApiError, KubeTimeoutError, KubeTransportError } from './errors.ts';
import { groupVersionPath, resourcePath, staticResourceFor, type ResourceType } from './resources.ts';
import { NdjsonDecoder, readText, type HttpMethod, type HttpTransport } from './transport.ts';
import type { KubeObject, ObjectKey, ObjectList, WatchEvent } from './types.ts';

/** Selectors and scoping shared by list and watch. */
export interface SelectOptions {
  /** Only this namespace; omitted = all namespaces (or a cluster-scoped resource). */
  readonly namespace?: string;
  /** e.g. `app=web,tier!=db`. */
  readonly labelSelector?: string;
  /** e.g. `spec.nodeName=node-1`. */
  readonly fieldSelector?: string;
}

/** One LIST request. */
export interface ListOptions extends SelectOptions {
  /** Page size; the answer carries `metadata.continue` when more pages exist. */
  readonly limit?: number;
  /** Continue token from the previous page. */
  readonly continue?: string;
  /** `''`/omitted = most recent (quorum read); `'0'` = any (may be served from the watch cache). */
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  readonly signal?: AbortSignal;
}

/** One WATCH request. */
export interface WatchOptions extends SelectOptions {
  /** Start after this resourceVersion (from a LIST or the last event/bookmark). */
  readonly resourceVersion?: string;
  /** Ask for BOOKMARK events (they advance the resourceVersion of quiet watches). @default true */
  readonly allowWatchBookmarks?: boolean;
  /** Server-side end of the watch. */
  readonly timeoutSeconds?: number;
  /**
   * No byte for this long ends the watch with a KubeTimeoutError (catches half-open connections).
   * 0 disables. @default 0 here; ListWatch sets its own.
   */
  readonly inactivityTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Options of a server-side apply. */
export interface ApplyOptions {
  /** Field manager that owns what this apply sets, e.g. `portico-servicelb`. Required by the API. */
  readonly fieldManager: string;
  /** Take over fields owned by other managers instead of failing with ApplyConflictError. @default false */
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** Apply to a subresource, e.g. `status`. */
  readonly subresource?: 'status';
  /** Skip the apiVersion/kind lookup. */
  readonly resource?: ResourceType;
  readonly signal?: AbortSignal;
}

/** Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch, apply. */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export const patchContentTypes: Readonly<Record<PatchType, string>> = Object.freeze({
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
});

export interface PatchOptions {
  readonly type: PatchType;
  readonly fieldManager?: string;
  /** Only with type `apply`. */
  readonly force?: boolean;
  readonly subresource?: string;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

export interface WriteOptions {
  readonly fieldManager?: string;
  readonly dryRun?: boolean;
  readonly subresource?: string;
  readonly signal?: AbortSignal;
}

export interface DeleteOptions {
  /** Delete only if the object still has this resourceVersion / uid (409 otherwise). */
  readonly preconditions?: { readonly resourceVersion?: string; readonly uid?: string };
  readonly propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  readonly gracePeriodSeconds?: number;
  readonly signal?: AbortSignal;
}

/** A raw request through the client's auth and error mapping (TokenRequest, discovery, ...). */
export interface RawRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  /** Serialised as JSON unless it is a string. */
  readonly body?: unknown;
  /** @default application/json */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/**
 * Talks to one API server as one identity. All methods throw typed errors (errors.ts): KubeApiError
 * and its subclasses for HTTP answers, KubeTimeoutError, KubeTransportError.
 */
export interface KubeClient {
  /** Server address, for logs. */
  readonly server: string;
  /** Resolves apiVersion+kind to a REST resource: the static table, else API discovery (cached). */
  resource(apiVersion: string, kind: string): Promise<ResourceType>;
  get<T extends KubeObject>(res: ResourceType, key: ObjectKey, opts?: { signal?: AbortSignal }): Promise<T>;
  /** One LIST request (one page when `limit` is set). */
  list<T extends KubeObject>(res: ResourceType, opts?: ListOptions): Promise<ObjectList<T>>;
  /** Every page of a LIST (`limit` = page size, default 500), concatenated. */
  listAll<T extends KubeObject>(res: ResourceType, opts?: Omit<ListOptions, 'continue'>): Promise<{ items: T[]; resourceVersion: string; pages: number }>;
  /**
   * A WATCH stream. Iterate it with `for await`; breaking out (or aborting `signal`) closes the
   * connection. The stream ends normally when the server closes it (timeoutSeconds); it throws on
   * HTTP errors before the stream (GoneError for 410), transport errors, a line that is not JSON and
   * inactivity. In-stream ERROR events are yielded as events, not thrown.
   */
  watch<T extends KubeObject>(res: ResourceType, opts?: WatchOptions): AsyncIterable<WatchEvent<T>>;
  create<T extends KubeObject>(res: ResourceType, obj: T, opts?: WriteOptions & { namespace?: string }): Promise<T>;
  /** PUT: the object's `metadata.resourceVersion` is the optimistic-concurrency precondition (409 ConflictError when stale). */
  replace<T extends KubeObject>(res: ResourceType, obj: T, opts?: WriteOptions): Promise<T>;
  patch<T extends KubeObject>(res: ResourceType, key: ObjectKey, patch: unknown, opts: PatchOptions): Promise<T>;
  /** Server-side apply of a whole (partial) object; the resource comes from its apiVersion/kind. */
  apply<T extends KubeObject>(obj: T, opts: ApplyOptions): Promise<T>;
  delete(res: ResourceType, key: ObjectKey, opts?: DeleteOptions): Promise<void>;
  /** Escape hatch for endpoints without a helper; answers are parsed as JSON. */
  request<R = unknown>(req: RawRequest): Promise<R>;
}

/** Settings of RestKubeClient. */
export interface RestKubeClientOptions {
  /** Timeout of each non-watch request. @default 30000 */
  readonly requestTimeoutMs?: number;
  /** @default realClock */
  readonly clock?: Clock;
}

/** KubeClient over an HttpTransport: URL building, JSON, typed errors, timeouts, watch decoding. */
export class RestKubeClient implements KubeClient {
  readonly #transport: HttpTransport;
  readonly #clock: Clock;
  readonly #requestTimeoutMs: number;
  readonly #discovered = new Map<string, Promise<ResourceType[]>>();

  constructor(transport: HttpTransport, opts: RestKubeClientOptions = {}) {
    this.#transport = transport;
    this.#clock = opts.clock ?? realClock;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  get server(): string {
    return this.#transport.server;
  }

  /** Closes pooled connections of the transport. */
  close(): void {
    this.#transport.close?.();
  }

  async resource(apiVersion: string, kind: string): Promise<ResourceType> {
    const known = staticResourceFor(apiVersion, kind);
    if (known) return known;
    const slash = apiVersion.indexOf('/');
    const gv = { group: slash < 0 ? '' : apiVersion.slice(0, slash), version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1) };
    let pending = this.#discovered.get(apiVersion);
    if (!pending) {
      pending = this.request<{ resources?: { name: string; kind: string; namespaced: boolean }[] }>({ method: 'GET', path: groupVersionPath(gv) }).then((list) =>
        (list.resources ?? [])
          .filter((x) => !x.name.includes('/'))
          .map((x) => Object.freeze({ ...gv, plural: x.name, kind: x.kind, namespaced: x.namespaced })),
      );
      this.#discovered.set(apiVersion, pending);
      pending.catch(() => this.#discovered.delete(apiVersion));
    }
    const found = (await pending).find((x) => x.kind === kind);
    if (!found) throw new Error(`the server has no resource for apiVersion ${apiVersion} kind ${kind}`);
    return found;
  }

  async get<T extends KubeObject>(res: ResourceType, key: ObjectKey, opts: { signal?: AbortSignal } = {}): Promise<T> {
    return this.request<T>({ method: 'GET', path: resourcePath(res, key), signal: opts.signal });
  }

  async list<T extends KubeObject>(res: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>({
      method: 'GET',
      path: resourcePath(res, { namespace: opts.namespace }),
      query: {
        labelSelector: opts.labelSelector || undefined,
        fieldSelector: opts.fieldSelector || undefined,
        limit: opts.limit,
        continue: opts.continue || undefined,
        resourceVersion: opts.resourceVersion,
        resourceVersionMatch: opts.resourceVersionMatch,
      },
      signal: opts.signal,
    });
  }

  async listAll<T extends KubeObject>(res: ResourceType, opts: Omit<ListOptions, 'continue'> = {}): Promise<{ items: T[]; resourceVersion: string; pages: number }> {
    const items: T[] = [];
    let cont: string | undefined;
    let pages = 0;
    let rv = '';
    do {
      const page = await this.list<T>(res, { ...opts, limit: opts.limit ?? 500, continue: cont, resourceVersion: cont ? undefined : opts.resourceVersion });
      pages++;
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    return { items, resourceVersion: rv, pages };
  }

  async *watch<T extends KubeObject>(res: ResourceType, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const controller = new AbortController();
    const onOuterAbort = (): void => controller.abort(opts.signal?.reason);
    if (opts.signal?.aborted) return;
    opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const inactivity = opts.inactivityTimeoutMs ?? 0;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const arm = (): void => {
      if (inactivity <= 0) return;
      if (timer) this.#clock.clearTimeout(timer);
      timer = this.#clock.setTimeout(() => controller.abort(new KubeTimeoutError(`watch ${res.plural}: no data for ${inactivity} ms`)), inactivity);
    };
    const path = resourcePath(res, { namespace: opts.namespace });
    const what = `GET ${path}?watch`;
    try {
      arm();
      const resp = await this.#send(
        {
          method: 'GET',
          path,
          query: {
            watch: 1,
            resourceVersion: opts.resourceVersion || undefined,
            allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
            timeoutSeconds: opts.timeoutSeconds,
            labelSelector: opts.labelSelector || undefined,
            fieldSelector: opts.fieldSelector || undefined,
          },
          headers: { Accept: 'application/json' },
          signal: controller.signal,
        },
        what,
      );
      if (resp.status !== 200) throw apiErrorFrom(resp.status, await this.#readBody(resp.body, controller.signal, what), what);
      const decoder = new NdjsonDecoder();
      try {
        for await (const chunk of resp.body) {
          arm();
          for (const line of decoder.push(chunk)) yield parseWatchLine<T>(line, what);
        }
      } catch (err) {
        throw this.#mapAbort(err, controller.signal, what);
      }
      const last = decoder.end();
      if (last !== undefined) yield parseWatchLine<T>(last, what);
    } finally {
      if (timer) this.#clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onOuterAbort);
      controller.abort(new Error('watch closed'));
    }
  }

  async create<T extends KubeObject>(res: ResourceType, obj: T, opts: WriteOptions & { namespace?: string } = {}): Promise<T> {
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.request<T>({
      method: 'POST',
      path: resourcePath(res, { namespace: res.namespaced ? requireNs(res, namespace) : undefined }),
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
      body: obj,
      signal: opts.signal,
    });
  }

  async replace<T extends KubeObject>(res: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`replace ${res.kind}: object has no metadata.name`);
    return this.request<T>({
      method: 'PUT',
      path: resourcePath(res, { namespace: obj.metadata?.namespace, name, subresource: opts.subresource }),
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
      body: obj,
      signal: opts.signal,
    });
  }

  async patch<T extends KubeObject>(res: ResourceType, key: ObjectKey, patch: unknown, opts: PatchOptions): Promise<T> {
    if (opts.type === 'apply' && !opts.fieldManager) throw new Error(`apply ${res.kind} ${key.name}: fieldManager is required`);
    return this.request<T>(
      {
        method: 'PATCH',
        path: resourcePath(res, { ...key, subresource: opts.subresource }),
        query: {
          fieldManager: opts.fieldManager,
          force: opts.type === 'apply' && opts.force ? true : undefined,
          dryRun: opts.dryRun ? 'All' : undefined,
        },
        body: patch,
        contentType: patchContentTypes[opts.type],
        signal: opts.signal,
      },
      opts.type === 'apply',
    );
  }

  async apply<T extends KubeObject>(obj: T, opts: ApplyOptions): Promise<T> {
    const { apiVersion, kind } = obj;
    const name = obj.metadata?.name;
    if (!apiVersion || !kind || !name) throw new Error('apply: the object needs apiVersion, kind and metadata.name');
    const res = opts.resource ?? (await this.resource(apiVersion, kind));
    const namespace = res.namespaced ? requireNs(res, obj.metadata?.namespace) : undefined;
    return this.patch<T>(res, { namespace, name }, obj, {
      type: 'apply',
      fieldManager: opts.fieldManager,
      force: opts.force,
      dryRun: opts.dryRun,
      subresource: opts.subresource,
      signal: opts.signal,
    });
  }

  async delete(res: ResourceType, key: ObjectKey, opts: DeleteOptions = {}): Promise<void> {
    const body =
      opts.preconditions || opts.propagationPolicy || opts.gracePeriodSeconds !== undefined
        ? { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: opts.preconditions, propagationPolicy: opts.propagationPolicy, gracePeriodSeconds: opts.gracePeriodSeconds }
        : undefined;
    await this.request({ method: 'DELETE', path: resourcePath(res, key), body, signal: opts.signal });
  }

  async request<R = unknown>(req: RawRequest, isApply = false): Promise<R> {
    const what = `${req.method} ${req.path}`;
    const controller = new AbortController();
    const onOuterAbort = (): void => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (req.signal?.aborted) controller.abort(req.signal.reason);
    const timer = this.#clock.setTimeout(
      () => controller.abort(new KubeTimeoutError(`${what}: no answer within ${this.#requestTimeoutMs} ms`)),
      this.#requestTimeoutMs,
    );
    try {
      const headers: Record<string, string> = { Accept: 'application/json' };
      let body: string | undefined;
      if (req.body !== undefined) {
        body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
        headers['Content-Type'] = req.contentType ?? 'application/json';
      }
      const resp = await this.#send({ method: req.method, path: req.path, query: req.query, headers, body, signal: controller.signal }, what);
      const text = await this.#readBody(resp.body, controller.signal, what);
      if (resp.status < 200 || resp.status > 299) throw apiErrorFrom(resp.status, text, what, isApply);
      if (text === '') return undefined as R;
      try {
        return JSON.parse(text) as R;
      } catch (err) {
        throw new KubeTransportError(`${what}: answer is not JSON: ${text.slice(0, 200)}`, { cause: err });
      }
    } finally {
      this.#clock.clearTimeout(timer);
      req.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  async #send(req: Parameters<HttpTransport['request']>[0], what: string): ReturnType<HttpTransport['request']> {
    try {
      return await this.#transport.request(req);
    } catch (err) {
      throw this.#mapAbort(err, req.signal, what);
    }
  }

  async #readBody(body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, what: string): Promise<string> {
    try {
      return await readText(body);
    } catch (err) {
      throw this.#mapAbort(err, signal, what);
    }
  }

  /** Turns an abort into its reason (KubeTimeoutError, or the caller's reason) and other failures into KubeTransportError. */
  #mapAbort(err: unknown, signal: AbortSignal | undefined, what: string): unknown {
    if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : err;
    if (err instanceof KubeApiError || err instanceof KubeTimeoutError || err instanceof KubeTransportError) return err;
    const msg = err instanceof Error ? err.message : String(err);
    return new KubeTransportError(`${what}: ${msg}`, { cause: err });
  }
}

function requireNs(res: ResourceType, namespace: string | undefined): string {
  if (!namespace) throw new Error(`${res.kind}: metadata.namespace is required for a namespaced resource`);
  return namespace;
}

function parseWatchLine<T extends KubeObject>(line: string, what: string): WatchEvent<T> {
  let ev: unknown;
  try {
    ev = JSON.parse(line);
  } catch (err) {
    throw new KubeTransportError(`${what}: watch line is not JSON: ${line.slice(0, 200)}`, { cause: err });
  }
  const type = (ev as { type?: unknown })?.type;
  const object = (ev as { object?: unknown })?.object;
  if (typeof type !== 'string' || !object || typeof object !== 'object') {
    throw new KubeTransportError(`${what}: watch line is not an event: ${line.slice(0, 200)}`);
  }
  return ev as WatchEvent<T>;
}
