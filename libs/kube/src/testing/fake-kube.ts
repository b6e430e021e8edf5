// FakeKube: an in-memory Kubernetes API server behind the HttpTransport seam, for unit tests.
//
// `fake.client` is a real RestKubeClient, so code under test runs its production paths (URL
// building, JSON, typed errors, watch decoding, ListWatch) against a store that behaves like the API
// server where Portico depends on it:
//  - resourceVersions increase on every write; an unchanged write (e.g. re-apply) does not bump it;
//  - LIST with label/field selectors, `limit`/`continue` pagination (token expires on compaction);
//  - WATCH: synthetic ADDED events for rv ''/'0', replay from a given rv, selector-aware
//    ADDED/MODIFIED/DELETED, bookmarks on `bookmark()`, server timeout (`timeoutSeconds`, on the
//    injected clock), `compact()` → ERROR 410 in open watches and for old rvs, `dropWatches()` to
//    simulate an API server restart;
//  - create (AlreadyExists, generateName), replace (resourceVersion precondition → 409), merge and
//    JSON patches (resourceVersion in a merge patch is a precondition), delete (preconditions,
//    finalizers → deletionTimestamp, namespace deletion cascades), status subresource;
//  - server-side apply with field ownership per manager: conflicts (409 with FieldManagerConflict
//    causes) unless `force`, removal of fields a manager stopped applying, managedFields entries.
//
// Known simplifications (documented in docs/kube.md): lists are atomic in apply (no list-map merge
// keys), strategic merge patch behaves as a merge patch, there is no admission (objects may be
// created in namespaces that do not exist), no defaulting and no validation beyond names.
// Everything is recorded (`requests`, `applies`, `patches`) and failures can be injected (`failNext`).

import { parse as parseYaml } from 'yaml';
import { RestKubeClient } from '../client.ts';
import { type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import type { PatchType } from '../client.ts';
import { apiVersionOf, type ResourceType, Resources, staticResourceFor } from '../resources.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelRequirement } from '../selectors.ts';
import type { HttpMethod, HttpRequest, HttpResponse, HttpTransport } from '../transport.ts';
import type { KubeObject, ManagedFieldsEntry, ObjectMeta, Status } from '../types.ts';

/** A request as FakeKube received it. */
export interface RecordedRequest {
  readonly method: HttpMethod;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string | undefined;
  /** Parsed JSON (or YAML) body, when there was one. */
  readonly body: unknown;
}

/** A server-side apply FakeKube served. */
export interface RecordedApply {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly fieldManager: string;
  readonly force: boolean;
  readonly subresource: string | undefined;
  readonly object: KubeObject;
}

/** A non-apply PATCH FakeKube served. */
export interface RecordedPatch {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly type: Exclude<PatchType, 'apply'>;
  readonly patch: unknown;
  readonly subresource: string | undefined;
  readonly fieldManager: string | undefined;
}

/** An injected failure: the next `times` requests matching method/path answer `status`. */
export interface FailureRule {
  readonly method?: HttpMethod;
  /** Substring of, or pattern for, the request path (query string excluded). */
  readonly path?: string | RegExp;
  /** Only watch requests (`?watch=1`), or only non-watch requests. */
  readonly watch?: boolean;
  /** @default 1 */
  readonly times?: number;
  readonly status: number;
  /** Status.reason. @default derived from status */
  readonly reason?: string;
  readonly message?: string;
  /** Status.details (e.g. causes), as the API server sends them. */
  readonly details?: Status['details'];
}

export interface FakeKubeOptions {
  /** Clock for timestamps and watch timeouts. @default realClock */
  readonly clock?: Clock;
  /** Resources beyond the static table (CRDs), served and discoverable. */
  readonly resources?: readonly ResourceType[];
  /** First resourceVersion. @default 1000 */
  readonly initialResourceVersion?: number;
}

/** Kinds whose `status` is a subresource: main writes keep the live status, /status writes only change status. */
const STATUS_SUBRESOURCE_KINDS = new Set(['Service', 'Node', 'Pod', 'DaemonSet', 'Deployment', 'Namespace', 'CustomResourceDefinition']);

interface Stored {
  res: ResourceType;
  obj: KubeObject;
  /** manager -> { operation, subresource, leaf paths it owns } */
  owners: Map<string, { operation: 'Apply' | 'Update'; subresource: string | undefined; paths: Set<string>; time: string }>;
}

interface HistoryEntry {
  rv: number;
  res: ResourceType;
  old: KubeObject | undefined;
  cur: KubeObject | undefined;
}

interface Watcher {
  res: ResourceType;
  namespace: string | undefined;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  bookmarks: boolean;
  pipe: Pipe;
  timer: ReturnType<Clock['setTimeout']> | undefined;
}

class HttpFailure extends Error {
  readonly status: number;
  readonly reason: string;
  readonly details: Status['details'] | undefined;
  constructor(status: number, reason: string, message: string, details?: Status['details']) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

/** An async byte stream fed by push(); ends with end() or fail(). */
class Pipe implements AsyncIterable<Uint8Array> {
  #queue: Uint8Array[] = [];
  #ended = false;
  #error: unknown;
  #wake: (() => void) | undefined;
  onClose: (() => void) | undefined;

  push(line: string): void {
    if (this.#ended) return;
    this.#queue.push(Buffer.from(line));
    this.#notify();
  }
  end(): void {
    this.#ended = true;
    this.#notify();
  }
  fail(err: unknown): void {
    if (this.#ended) return;
    this.#error = err;
    this.#ended = true;
    this.#notify();
  }
  get ended(): boolean {
    return this.#ended;
  }
  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        if (this.#queue.length > 0) {
          yield this.#queue.shift()!;
          continue;
        }
        if (this.#error !== undefined) throw this.#error;
        if (this.#ended) return;
        await new Promise<void>((r) => (this.#wake = r));
      }
    } finally {
      this.#ended = true;
      this.onClose?.();
    }
  }
}

function once(text: string): AsyncIterable<Uint8Array> {
  return (async function* () {
    if (text !== '') yield Buffer.from(text);
  })();
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyObject(v: unknown): boolean {
  return isObj(v) && Object.keys(v).length === 0;
}

/** Fields that are not owned by anyone in SSA bookkeeping. */
const UNOWNED = new Set(['apiVersion', 'kind', 'metadata.name', 'metadata.namespace', 'metadata.resourceVersion', 'metadata.managedFields', 'metadata.uid', 'metadata.creationTimestamp', 'metadata.generation']);

/** Leaf paths (primitives, arrays and empty objects) of an object, joined with \u0000-free dots. */
function leafPaths(v: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (isObj(v) && Object.keys(v).length > 0) {
    for (const [k, c] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (!UNOWNED.has(p)) leafPaths(c, p, out);
    }
  } else if (prefix) out.set(prefix, v);
  return out;
}

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const seg of path.split('.')) cur = isObj(cur) ? cur[seg] : undefined;
  return cur;
}

function deletePath(obj: Record<string, unknown>, path: string): void {
  const segs = path.split('.');
  const parents: Record<string, unknown>[] = [];
  let cur: unknown = obj;
  for (const seg of segs.slice(0, -1)) {
    if (!isObj(cur)) return;
    parents.push(cur);
    cur = cur[seg];
  }
  if (!isObj(cur)) return;
  delete cur[segs[segs.length - 1]!];
  // prune now-empty parents
  for (let i = segs.length - 2; i >= 0; i--) {
    const parent = parents[i]!;
    const child = parent[segs[i]!];
    if (isObj(child) && Object.keys(child).length === 0) delete parent[segs[i]!];
    else break;
  }
}

/** Recursive merge for apply: objects merge, everything else replaces. */
function mergeInto(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    if (isObj(v) && isObj(target[k])) mergeInto(target[k] as Record<string, unknown>, v);
    else target[k] = clone(v);
  }
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test). */
function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new HttpFailure(400, 'BadRequest', 'json patch must be an array of operations');
  let root = clone(doc);
  const parse = (ptr: string): string[] => {
    if (ptr === '') return [];
    if (!ptr.startsWith('/')) throw new HttpFailure(422, 'Invalid', `invalid JSON pointer ${ptr}`);
    return ptr
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const resolve = (segs: string[]): { parent: unknown; key: string } => {
    let cur: unknown = root;
    for (const s of segs.slice(0, -1)) {
      cur = Array.isArray(cur) ? cur[Number(s)] : isObj(cur) ? cur[s] : undefined;
      if (cur === undefined) throw new HttpFailure(422, 'Invalid', `path /${segs.join('/')} does not exist`);
    }
    return { parent: cur, key: segs[segs.length - 1]! };
  };
  const read = (segs: string[]): unknown => {
    let cur: unknown = root;
    for (const s of segs) cur = Array.isArray(cur) ? cur[Number(s)] : isObj(cur) ? cur[s] : undefined;
    return cur;
  };
  const add = (segs: string[], value: unknown): void => {
    if (segs.length === 0) {
      root = clone(value);
      return;
    }
    const { parent, key } = resolve(segs);
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!(i >= 0 && i <= parent.length)) throw new HttpFailure(422, 'Invalid', `index ${key} out of range`);
      parent.splice(i, 0, clone(value));
    } else if (isObj(parent)) parent[key] = clone(value);
    else throw new HttpFailure(422, 'Invalid', `cannot add at /${segs.join('/')}`);
  };
  const remove = (segs: string[]): void => {
    const { parent, key } = resolve(segs);
    if (Array.isArray(parent) && Number(key) < parent.length) parent.splice(Number(key), 1);
    else if (isObj(parent) && key in parent) delete parent[key];
    else throw new HttpFailure(422, 'Invalid', `path /${segs.join('/')} does not exist`);
  };
  for (const op of ops as { op: string; path: string; from?: string; value?: unknown }[]) {
    const segs = parse(op.path);
    switch (op.op) {
      case 'add':
        add(segs, op.value);
        break;
      case 'remove':
        remove(segs);
        break;
      case 'replace':
        remove(segs);
        add(segs, op.value);
        break;
      case 'move': {
        const from = parse(op.from ?? '');
        const v = read(from);
        remove(from);
        add(segs, v);
        break;
      }
      case 'copy':
        add(segs, read(parse(op.from ?? '')));
        break;
      case 'test':
        if (!deepEqual(read(segs), op.value)) throw new HttpFailure(422, 'Invalid', `test operation failed at ${op.path}`);
        break;
      default:
        throw new HttpFailure(400, 'BadRequest', `unknown json patch op ${op.op}`);
    }
  }
  return root;
}

/** Nested `f:` map of paths, like the server's FieldsV1. */
function fieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of [...paths].sort()) {
    let cur = out;
    for (const seg of p.split('.')) cur = (cur[`f:${seg}`] ??= {}) as Record<string, unknown>;
  }
  return out;
}

/**
 * An in-memory API server for unit tests. Create one per test; use `fake.client` as the
 * KubeClient under test, `put`/`remove` to act as another writer, and the recorders to assert.
 */
export class FakeKube {
  readonly transport: HttpTransport;
  readonly client: RestKubeClient;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Every server-side apply served (successful or not). */
  readonly applies: RecordedApply[] = [];
  /** Every merge/json/strategic patch served (successful or not). */
  readonly patches: RecordedPatch[] = [];

  readonly #clock: Clock;
  readonly #resources: ResourceType[];
  readonly #store = new Map<string, Stored>(); // group/plural/namespace/name -> object
  #rv: number;
  #compactedRv = 0;
  #history: HistoryEntry[] = [];
  readonly #watchers = new Set<Watcher>();
  #failures: (FailureRule & { left: number })[] = [];
  #uid = 0;

  constructor(opts: FakeKubeOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#resources = [...(Object.values(Resources) as ResourceType[]), ...(opts.resources ?? [])];
    this.#rv = opts.initialResourceVersion ?? 1000;
    this.transport = { server: 'fake://kube', request: (req) => this.#handle(req) };
    this.client = new RestKubeClient(this.transport, { clock: this.#clock });
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Watch connections currently open. */
  get openWatches(): number {
    return this.#watchers.size;
  }

  /** LIST requests served so far (each page counts). */
  get listRequests(): number {
    return this.requests.filter((r) => r.method === 'GET' && !('watch' in r.query) && this.#isCollection(r.path)).length;
  }

  /** WATCH requests served so far. */
  get watchRequests(): number {
    return this.requests.filter((r) => r.method === 'GET' && r.query['watch'] !== undefined).length;
  }

  /**
   * Creates or replaces objects directly, as another writer would (no recording, no failure
   * injection); watches see ADDED/MODIFIED. The resource comes from apiVersion/kind. Returns the
   * stored copies (with uid, resourceVersion, creationTimestamp).
   */
  put<T extends KubeObject>(...objs: T[]): T[] {
    return objs.map((o) => {
      const res = this.#resourceOf(o);
      const meta = o.metadata ?? {};
      if (!meta.name) throw new Error('FakeKube.put: metadata.name is required');
      const key = this.#key(res, meta.namespace, meta.name);
      const prev = this.#store.get(key);
      const next = clone(o);
      next.apiVersion = apiVersionOf(res);
      next.kind = res.kind;
      return clone(this.#write(res, key, prev, next, 'fake-kube', undefined)) as T;
    });
  }

  /** Deletes an object directly (ignoring finalizers); watches see DELETED. Returns whether it existed. */
  remove(res: ResourceType, key: { namespace?: string; name: string }): boolean {
    const k = this.#key(res, key.namespace, key.name);
    const prev = this.#store.get(k);
    if (!prev) return false;
    this.#erase(k, prev);
    return true;
  }

  /** A copy of a stored object, or undefined. */
  get<T extends KubeObject = KubeObject>(res: ResourceType, key: { namespace?: string; name: string }): T | undefined {
    return clone(this.#store.get(this.#key(res, key.namespace, key.name))?.obj) as T | undefined;
  }

  /** Copies of the stored objects of a resource, optionally of one namespace, sorted by namespace/name. */
  list<T extends KubeObject = KubeObject>(res: ResourceType, namespace?: string): T[] {
    return this.#select(res, namespace, [], []).map((s) => clone(s.obj) as T);
  }

  /** core/v1 Events in the store (what an EventRecorder wrote). */
  events(namespace?: string): KubeObject[] {
    return this.list(Resources.Event, namespace);
  }

  /** Makes the next matching request(s) fail. Rules are checked in the order added. */
  failNext(rule: FailureRule): void {
    this.#failures.push({ ...rule, left: rule.times ?? 1 });
  }

  /**
   * Compacts history at the current resourceVersion: open watches receive an ERROR event with code
   * 410 and end; later watches from an older resourceVersion get the same; continue tokens from
   * before expire (410).
   */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    for (const w of [...this.#watchers]) {
      w.pipe.push(`${JSON.stringify({ type: 'ERROR', object: this.#status(410, 'Expired', 'too old resource version (compacted)') })}\n`);
      this.#closeWatch(w);
    }
  }

  /** Ends every open watch cleanly, as an API server restart does. */
  dropWatches(): void {
    for (const w of [...this.#watchers]) this.#closeWatch(w);
  }

  /** Ends every open watch with a transport error (connection reset). */
  breakWatches(message = 'connection reset by fake'): void {
    for (const w of [...this.#watchers]) {
      this.#watchers.delete(w);
      if (w.timer) this.#clock.clearTimeout(w.timer);
      w.pipe.fail(new Error(message));
    }
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watch that allows bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      const obj = { apiVersion: apiVersionOf(w.res), kind: w.res.kind, metadata: { resourceVersion: this.resourceVersion } };
      w.pipe.push(`${JSON.stringify({ type: 'BOOKMARK', object: obj })}\n`);
    }
  }

  // ---- HTTP handling -------------------------------------------------------------------------

  async #handle(req: HttpRequest): Promise<HttpResponse> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query[k] = String(v);
    const contentType = req.headers?.['Content-Type'];
    let body: unknown;
    if (req.body !== undefined && req.body !== '') {
      try {
        body = JSON.parse(req.body);
      } catch {
        try {
          body = parseYaml(req.body);
        } catch {
          body = req.body;
        }
      }
    }
    this.requests.push({ method: req.method, path: req.path, query, contentType, body });
    const isWatch = query['watch'] === '1' || query['watch'] === 'true';
    try {
      if (req.signal?.aborted) throw req.signal.reason;
      const rule = this.#failures.find((f) => f.left > 0 && (!f.method || f.method === req.method) && (f.watch === undefined || f.watch === isWatch) && matchPath(f.path, req.path));
      if (rule) {
        rule.left--;
        this.#failures = this.#failures.filter((f) => f.left > 0);
        throw new HttpFailure(rule.status, rule.reason ?? defaultReason(rule.status), rule.message ?? `injected failure ${rule.status}`, rule.details);
      }
      if (isWatch) return this.#watch(req, query);
      const result = this.#route(req.method, req.path, query, body, contentType);
      return { status: result.status, headers: { 'content-type': 'application/json' }, body: once(JSON.stringify(result.body)) };
    } catch (err) {
      if (err instanceof HttpFailure) {
        const st = this.#status(err.status, err.reason, err.message, err.details);
        return { status: err.status, headers: { 'content-type': 'application/json' }, body: once(JSON.stringify(st)) };
      }
      throw err;
    }
  }

  #status(code: number, reason: string, message: string, details?: Status['details']): Status {
    return { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, ...(details ? { details } : {}) };
  }

  #isCollection(path: string): boolean {
    try {
      const p = this.#parsePath(path);
      return p !== 'discovery' && p.name === undefined;
    } catch {
      return false;
    }
  }

  #parsePath(path: string): 'discovery' | { res: ResourceType; namespace?: string; name?: string; sub?: string } {
    const segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1]!;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 3) {
      group = segs[1]!;
      version = segs[2]!;
      rest = segs.slice(3);
    } else throw new HttpFailure(404, 'NotFound', `the server could not find the requested resource (${path})`);
    if (rest.length === 0) return 'discovery';
    const find = (plural: string, namespaced: boolean): ResourceType | undefined =>
      this.#resources.find((r) => r.group === group && r.version === version && r.plural === plural && r.namespaced === namespaced);
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const res = find(rest[2]!, true);
      if (res) return { res, namespace: rest[1], name: rest[3], sub: rest[4] };
    }
    const res = find(rest[0]!, false) ?? (rest.length === 1 ? find(rest[0]!, true) : undefined);
    if (!res) throw new HttpFailure(404, 'NotFound', `the server could not find the requested resource (${path})`);
    return { res, name: rest[1], sub: rest[2] };
  }

  #route(method: HttpMethod, path: string, query: Record<string, string>, body: unknown, contentType: string | undefined): { status: number; body: unknown } {
    const p = this.#parsePath(path);
    if (p === 'discovery') {
      if (method !== 'GET') throw new HttpFailure(405, 'MethodNotAllowed', 'method not allowed');
      const segs = path.split('/').filter((s) => s !== '');
      const gv = segs[0] === 'api' ? segs[1]! : `${segs[1]}/${segs[2]}`;
      const resources = this.#resources
        .filter((r) => apiVersionOf(r) === gv)
        .map((r) => ({ name: r.plural, kind: r.kind, namespaced: r.namespaced, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }));
      if (resources.length === 0) throw new HttpFailure(404, 'NotFound', `no resources in ${gv}`);
      return { status: 200, body: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources } };
    }
    const { res, namespace, name, sub } = p;
    if (sub !== undefined && sub !== 'status') throw new HttpFailure(404, 'NotFound', `FakeKube does not serve subresource ${sub}`);
    if (name === undefined) {
      if (method === 'GET') return { status: 200, body: this.#list(res, namespace, query) };
      if (method === 'POST') return { status: 201, body: this.#create(res, namespace, body, query) };
      throw new HttpFailure(405, 'MethodNotAllowed', `${method} on a collection is not supported by FakeKube`);
    }
    const key = this.#key(res, namespace, name);
    switch (method) {
      case 'GET': {
        const s = this.#store.get(key);
        if (!s) throw this.#notFound(res, name);
        return { status: 200, body: s.obj };
      }
      case 'PUT':
        return { status: 200, body: this.#replace(res, key, namespace, name, sub, body, query) };
      case 'PATCH':
        return { status: 200, body: this.#patch(res, key, namespace, name, sub, body, query, contentType) };
      case 'DELETE':
        return { status: 200, body: this.#delete(res, key, name, body) };
      default:
        throw new HttpFailure(405, 'MethodNotAllowed', `${method} not supported`);
    }
  }

  #notFound(res: ResourceType, name: string): HttpFailure {
    return new HttpFailure(404, 'NotFound', `${res.plural}${res.group ? `.${res.group}` : ''} "${name}" not found`, { name, group: res.group, kind: res.plural });
  }

  #list(res: ResourceType, namespace: string | undefined, query: Record<string, string>): unknown {
    const labels = this.#parseSel(parseLabelSelector, query['labelSelector']);
    const fields = this.#parseSel(parseFieldSelector, query['fieldSelector']);
    let all = this.#select(res, namespace, labels, fields);
    let snapshotRv = this.#rv;
    if (query['continue']) {
      let token: { rv: number; after: string };
      try {
        token = JSON.parse(Buffer.from(query['continue'], 'base64url').toString('utf8')) as { rv: number; after: string };
      } catch {
        throw new HttpFailure(400, 'BadRequest', 'invalid continue token');
      }
      if (token.rv < this.#compactedRv) throw new HttpFailure(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.');
      snapshotRv = token.rv;
      all = all.filter((s) => this.#sortKey(s) > token.after);
    }
    const limit = query['limit'] ? Number(query['limit']) : 0;
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = limit > 0 && all.length > limit;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshotRv) };
    if (more) {
      metadata['continue'] = Buffer.from(JSON.stringify({ rv: snapshotRv, after: this.#sortKey(page[page.length - 1]!) })).toString('base64url');
      metadata['remainingItemCount'] = all.length - limit;
    }
    return {
      apiVersion: apiVersionOf(res),
      kind: `${res.kind}List`,
      metadata,
      items: page.map((s) => {
        const { apiVersion: _a, kind: _k, ...rest } = s.obj;
        return rest;
      }),
    };
  }

  #parseSel<R>(parse: (s: string) => R[], sel: string | undefined): R[] {
    if (!sel) return [];
    try {
      return parse(sel);
    } catch (err) {
      throw new HttpFailure(400, 'BadRequest', err instanceof Error ? err.message : String(err));
    }
  }

  #select(res: ResourceType, namespace: string | undefined, labels: LabelRequirement[], fields: FieldRequirement[]): Stored[] {
    const out: Stored[] = [];
    for (const s of this.#store.values()) {
      if (s.res !== res && !(s.res.group === res.group && s.res.plural === res.plural)) continue;
      if (namespace && s.obj.metadata?.namespace !== namespace) continue;
      if (!matchesLabels(labels, s.obj.metadata?.labels) || !matchesFields(fields, s.obj)) continue;
      out.push(s);
    }
    return out.sort((a, b) => (this.#sortKey(a) < this.#sortKey(b) ? -1 : 1));
  }

  #sortKey(s: Stored): string {
    return `${s.obj.metadata?.namespace ?? ''}/${s.obj.metadata?.name ?? ''}`;
  }

  #watch(req: HttpRequest, query: Record<string, string>): HttpResponse {
    const p = this.#parsePath(req.path);
    if (p === 'discovery' || p.name !== undefined) throw new HttpFailure(405, 'MethodNotAllowed', 'watch needs a collection path');
    const w: Watcher = {
      res: p.res,
      namespace: p.namespace,
      labels: this.#parseSel(parseLabelSelector, query['labelSelector']),
      fields: this.#parseSel(parseFieldSelector, query['fieldSelector']),
      bookmarks: query['allowWatchBookmarks'] === 'true',
      pipe: new Pipe(),
      timer: undefined,
    };
    const rvParam = query['resourceVersion'] ?? '';
    if (rvParam === '' || rvParam === '0') {
      for (const s of this.#select(w.res, w.namespace, w.labels, w.fields)) w.pipe.push(`${JSON.stringify({ type: 'ADDED', object: s.obj })}\n`);
    } else {
      const from = Number(rvParam);
      if (!Number.isFinite(from)) throw new HttpFailure(400, 'BadRequest', `invalid resourceVersion ${rvParam}`);
      if (from < this.#compactedRv) {
        // As the watch cache does: 200, then one ERROR event, then the end of the stream.
        w.pipe.push(`${JSON.stringify({ type: 'ERROR', object: this.#status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`) })}\n`);
        w.pipe.end();
        return { status: 200, headers: { 'content-type': 'application/json' }, body: w.pipe };
      }
      for (const h of this.#history) if (h.rv > from) this.#deliver(w, h);
    }
    this.#watchers.add(w);
    w.pipe.onClose = () => this.#closeWatch(w);
    const timeout = Number(query['timeoutSeconds'] ?? 0);
    if (timeout > 0) w.timer = this.#clock.setTimeout(() => this.#closeWatch(w), timeout * 1000);
    req.signal?.addEventListener('abort', () => {
      this.#watchers.delete(w);
      if (w.timer) this.#clock.clearTimeout(w.timer);
      w.pipe.fail(req.signal?.reason ?? new Error('aborted'));
    });
    return { status: 200, headers: { 'content-type': 'application/json' }, body: w.pipe };
  }

  #closeWatch(w: Watcher): void {
    this.#watchers.delete(w);
    if (w.timer) this.#clock.clearTimeout(w.timer);
    w.timer = undefined;
    w.pipe.end();
  }

  #matches(w: Watcher, o: KubeObject | undefined): boolean {
    if (!o) return false;
    if (w.namespace && o.metadata?.namespace !== w.namespace) return false;
    return matchesLabels(w.labels, o.metadata?.labels) && matchesFields(w.fields, o);
  }

  #deliver(w: Watcher, h: HistoryEntry): void {
    if (h.res.group !== w.res.group || h.res.plural !== w.res.plural) return;
    const was = this.#matches(w, h.old);
    const is = this.#matches(w, h.cur);
    let type: string | undefined;
    let obj: KubeObject | undefined;
    if (is) {
      type = was ? 'MODIFIED' : 'ADDED';
      obj = h.cur;
    } else if (was) {
      type = 'DELETED';
      // An object leaving the selection is reported with its new state (if any), as the server does.
      obj = h.cur ?? { ...h.old, metadata: { ...h.old!.metadata, resourceVersion: String(h.rv) } };
    }
    if (type) w.pipe.push(`${JSON.stringify({ type, object: obj })}\n`);
  }

  #key(res: ResourceType, namespace: string | undefined, name: string): string {
    return `${res.group}/${res.plural}/${res.namespaced ? (namespace ?? '') : ''}/${name}`;
  }

  #resourceOf(o: KubeObject): ResourceType {
    const res = o.apiVersion && o.kind ? (staticResourceFor(o.apiVersion, o.kind) ?? this.#resources.find((r) => r.kind === o.kind && apiVersionOf(r) === o.apiVersion)) : undefined;
    if (!res) throw new Error(`FakeKube: unknown apiVersion/kind ${o.apiVersion}/${o.kind}; pass it in options.resources`);
    return res;
  }

  /** Stores `next` (a fresh copy) if it differs from prev; emits the watch event; tracks ownership of changed leaves. */
  #write(res: ResourceType, key: string, prev: Stored | undefined, next: KubeObject, manager: string, subresource: string | undefined, owners?: Stored['owners']): KubeObject {
    const meta = (next.metadata ??= {}) as ObjectMeta;
    if (prev) {
      const pm = prev.obj.metadata!;
      meta.uid = pm.uid;
      meta.creationTimestamp = pm.creationTimestamp;
      meta.resourceVersion = pm.resourceVersion;
      meta.generation = pm.generation;
      if (pm.deletionTimestamp) meta.deletionTimestamp = pm.deletionTimestamp;
    } else {
      meta.uid = `00000000-0000-4000-8000-${String(++this.#uid).padStart(12, '0')}`;
      meta.creationTimestamp = new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
      meta.generation = 1;
    }
    const newOwners = owners ?? this.#updateOwners(prev, next, manager, subresource);
    meta.managedFields = this.#managedFields(res, newOwners);
    if (prev && deepEqual(stripVolatile(prev.obj), stripVolatile(next)) && deepEqual(ownershipOf(prev.obj), ownershipOf(next))) return prev.obj; // no-op write
    if (prev && !deepEqual((prev.obj as { spec?: unknown }).spec, (next as { spec?: unknown }).spec)) meta.generation = (pm(prev).generation ?? 1) + 1;
    // A deleting object whose last finalizer went away is gone.
    if (prev && meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      this.#erase(key, prev);
      return next;
    }
    meta.resourceVersion = String(++this.#rv);
    const stored: Stored = { res, obj: next, owners: newOwners };
    this.#store.set(key, stored);
    this.#record(res, prev?.obj, next);
    return next;
  }

  #erase(key: string, prev: Stored): void {
    this.#store.delete(key);
    const rv = ++this.#rv;
    const gone = clone(prev.obj);
    gone.metadata!.resourceVersion = String(rv);
    this.#record(prev.res, prev.obj, undefined, gone);
    // Namespace deletion cascades to everything in it.
    if (prev.res.kind === 'Namespace' && prev.res.group === '') {
      const ns = prev.obj.metadata!.name!;
      for (const [k, s] of [...this.#store]) if (s.res.namespaced && s.obj.metadata?.namespace === ns) this.#erase(k, s);
    }
  }

  #record(res: ResourceType, old: KubeObject | undefined, cur: KubeObject | undefined, deletedAs?: KubeObject): void {
    const h: HistoryEntry = { rv: this.#rv, res, old, cur };
    this.#history.push(h);
    for (const w of this.#watchers) {
      if (!cur && deletedAs) {
        if (h.res.group === w.res.group && h.res.plural === w.res.plural && this.#matches(w, old)) w.pipe.push(`${JSON.stringify({ type: 'DELETED', object: deletedAs })}\n`);
      } else this.#deliver(w, h);
    }
  }

  /** Non-apply writes: the writer takes over every leaf it changed. */
  #updateOwners(prev: Stored | undefined, next: KubeObject, manager: string, subresource: string | undefined): Stored['owners'] {
    const owners = new Map<string, { operation: 'Apply' | 'Update'; subresource: string | undefined; paths: Set<string>; time: string }>();
    for (const [m, o] of prev?.owners ?? []) owners.set(m, { ...o, paths: new Set(o.paths) });
    const before = leafPaths(prev?.obj ?? {});
    const after = leafPaths(next);
    const changed: string[] = [];
    for (const [p, v] of after) if (!before.has(p) || !deepEqual(before.get(p), v)) changed.push(p);
    for (const p of before.keys()) if (!after.has(p)) for (const o of owners.values()) o.paths.delete(p);
    if (changed.length > 0) {
      for (const [m, o] of owners) if (m !== manager) for (const p of changed) o.paths.delete(p);
      const mine = owners.get(manager) ?? { operation: 'Update' as const, subresource, paths: new Set<string>(), time: '' };
      for (const p of changed) mine.paths.add(p);
      mine.time = this.#now();
      owners.set(manager, mine);
    }
    for (const [m, o] of owners) if (o.paths.size === 0) owners.delete(m);
    return owners;
  }

  #managedFields(res: ResourceType, owners: Stored['owners']): ManagedFieldsEntry[] | undefined {
    const entries = [...owners.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([manager, o]) => ({
        manager,
        operation: o.operation,
        apiVersion: apiVersionOf(res),
        time: o.time,
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsV1(o.paths),
        ...(o.subresource ? { subresource: o.subresource } : {}),
      }));
    return entries.length > 0 ? entries : undefined;
  }

  #now(): string {
    return new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #create(res: ResourceType, namespace: string | undefined, body: unknown, query: Record<string, string>): KubeObject {
    if (!isObj(body)) throw new HttpFailure(400, 'BadRequest', 'body must be an object');
    const obj = clone(body) as KubeObject;
    const meta = (obj.metadata ??= {});
    if (res.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) throw new HttpFailure(400, 'BadRequest', 'the namespace of the object does not match the namespace on the request');
      meta.namespace = namespace ?? meta.namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${(++this.#uid).toString(36).padStart(5, '0')}`;
    if (!meta.name) throw new HttpFailure(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    const key = this.#key(res, meta.namespace, meta.name);
    if (this.#store.has(key)) throw new HttpFailure(409, 'AlreadyExists', `${res.plural} "${meta.name}" already exists`, { name: meta.name, kind: res.plural });
    if (query['dryRun']) return obj;
    delete meta.resourceVersion;
    return this.#write(res, key, undefined, obj, query['fieldManager'] ?? 'fake-kube', undefined);
  }

  #checkRv(res: ResourceType, name: string, prev: Stored, rv: string | undefined): void {
    if (rv && rv !== prev.obj.metadata?.resourceVersion) {
      throw new HttpFailure(409, 'Conflict', `Operation cannot be fulfilled on ${res.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`, {
        name,
        kind: res.plural,
      });
    }
  }

  /** Merges the result of a main/status write into what may change for that endpoint. */
  #scoped(res: ResourceType, prev: KubeObject, result: KubeObject, sub: string | undefined): KubeObject {
    if (!STATUS_SUBRESOURCE_KINDS.has(res.kind)) return result;
    const out = clone(sub === 'status' ? prev : result) as KubeObject & { status?: unknown };
    if (sub === 'status') out.status = clone((result as { status?: unknown }).status);
    else {
      const prevStatus = (prev as { status?: unknown }).status;
      if (prevStatus === undefined) delete out.status;
      else out.status = clone(prevStatus);
    }
    return out;
  }

  #replace(res: ResourceType, key: string, namespace: string | undefined, name: string, sub: string | undefined, body: unknown, query: Record<string, string>): KubeObject {
    if (!isObj(body)) throw new HttpFailure(400, 'BadRequest', 'body must be an object');
    const prev = this.#store.get(key);
    if (!prev) throw this.#notFound(res, name);
    const obj = clone(body) as KubeObject;
    if (obj.metadata?.name !== name) throw new HttpFailure(400, 'BadRequest', 'the name of the object does not match the name on the URL');
    this.#checkRv(res, name, prev, obj.metadata?.resourceVersion);
    obj.apiVersion = apiVersionOf(res);
    obj.kind = res.kind;
    if (res.namespaced) obj.metadata!.namespace = namespace;
    const next = this.#scoped(res, prev.obj, obj, sub);
    if (query['dryRun']) return next;
    return this.#write(res, key, prev, next, query['fieldManager'] ?? 'fake-kube', sub);
  }

  #patch(res: ResourceType, key: string, namespace: string | undefined, name: string, sub: string | undefined, body: unknown, query: Record<string, string>, contentType: string | undefined): KubeObject {
    const prev = this.#store.get(key);
    const ct = (contentType ?? '').split(';')[0]!.trim();
    if (ct === 'application/apply-patch+yaml') return this.#apply(res, key, namespace, name, sub, body, query, prev);
    const type = ct === 'application/merge-patch+json' ? 'merge' : ct === 'application/json-patch+json' ? 'json' : ct === 'application/strategic-merge-patch+json' ? 'strategic' : undefined;
    if (!type) throw new HttpFailure(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})`);
    this.patches.push({ resource: res, namespace, name, type, patch: clone(body), subresource: sub, fieldManager: query['fieldManager'] });
    if (!prev) throw this.#notFound(res, name);
    let result: KubeObject;
    if (type === 'json') result = jsonPatch(prev.obj, body) as KubeObject;
    else {
      const rv = isObj(body) && isObj(body['metadata']) ? (body['metadata']['resourceVersion'] as string | undefined) : undefined;
      this.#checkRv(res, name, prev, rv);
      result = mergePatch(prev.obj, body) as KubeObject;
    }
    if (result.metadata?.name !== name) throw new HttpFailure(422, 'Invalid', 'metadata.name cannot be changed by a patch');
    const next = this.#scoped(res, prev.obj, result, sub);
    if (query['dryRun']) return next;
    return this.#write(res, key, prev, next, query['fieldManager'] ?? 'fake-kube', sub);
  }

  #apply(res: ResourceType, key: string, namespace: string | undefined, name: string, sub: string | undefined, body: unknown, query: Record<string, string>, prev: Stored | undefined): KubeObject {
    const manager = query['fieldManager'];
    const force = query['force'] === 'true';
    if (!isObj(body)) throw new HttpFailure(400, 'BadRequest', 'apply body must be an object');
    this.applies.push({ resource: res, namespace, name, fieldManager: manager ?? '', force, subresource: sub, object: clone(body) as KubeObject });
    if (!manager) throw new HttpFailure(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const applied = clone(body) as KubeObject & Record<string, unknown>;
    if (applied.apiVersion !== apiVersionOf(res) || applied.kind !== res.kind) {
      throw new HttpFailure(400, 'BadRequest', `apply: object apiVersion/kind ${applied.apiVersion}/${applied.kind} does not match ${apiVersionOf(res)}/${res.kind}`);
    }
    if (applied.metadata?.name !== name) throw new HttpFailure(400, 'BadRequest', 'apply: metadata.name does not match the URL');
    if (!prev && sub === 'status') throw this.#notFound(res, name);
    if (prev) this.#checkRv(res, name, prev, applied.metadata?.resourceVersion);
    // Which part of the object this endpoint may set.
    if (STATUS_SUBRESOURCE_KINDS.has(res.kind)) {
      if (sub === 'status') for (const k of Object.keys(applied)) if (!['apiVersion', 'kind', 'metadata', 'status'].includes(k)) delete applied[k];
      if (sub !== 'status') delete applied['status'];
    }
    const appliedLeaves = leafPaths(applied);
    const live = clone(prev?.obj ?? { apiVersion: apiVersionOf(res), kind: res.kind, metadata: { name, ...(res.namespaced ? { namespace } : {}) } }) as Record<string, unknown>;
    const owners = new Map<string, { operation: 'Apply' | 'Update'; subresource: string | undefined; paths: Set<string>; time: string }>();
    for (const [m, o] of prev?.owners ?? []) owners.set(m, { ...o, paths: new Set(o.paths) });
    // Conflicts: another manager owns a field (or a parent/child of it) this apply sets to a different value.
    const conflicts: { type: string; message: string; field: string }[] = [];
    for (const [p, v] of appliedLeaves) {
      if (deepEqual(getPath(live, p), v)) continue;
      if (isEmptyObject(v) && isObj(getPath(live, p))) continue; // `data: {}` merges nothing, conflicts with nothing
      for (const [m, o] of owners) {
        if (m === manager) continue;
        for (const q of o.paths) {
          if (q === p || q.startsWith(`${p}.`) || p.startsWith(`${q}.`)) {
            conflicts.push({ type: 'FieldManagerConflict', message: `conflict with "${m}"${o.subresource ? ` with subresource "${o.subresource}"` : ''}: .${q}`, field: `.${q}` });
          }
        }
      }
    }
    if (conflicts.length > 0 && !force) {
      conflicts.sort((a, b) => (a.field < b.field ? -1 : 1));
      throw new HttpFailure(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.map((c) => c.message).join(', ')}`, {
        causes: conflicts,
      });
    }
    // Fields this manager applied before and no longer applies, and nobody else owns, are removed.
    const mine = owners.get(manager);
    if (mine) {
      for (const p of mine.paths) {
        if (appliedLeaves.has(p)) continue;
        const sharedWith = [...owners].some(([m, o]) => m !== manager && [...o.paths].some((q) => q === p || q.startsWith(`${p}.`)));
        if (!sharedWith) deletePath(live, p);
      }
    }
    const { metadata: appliedMeta, ...appliedRest } = applied;
    mergeInto(live, appliedRest);
    const liveMeta = live['metadata'] as Record<string, unknown>;
    const { resourceVersion: _rv, managedFields: _mf, ...metaRest } = (appliedMeta ?? {}) as Record<string, unknown>;
    mergeInto(liveMeta, metaRest);
    // Ownership: this manager owns exactly what it applied; forced fields leave other managers.
    for (const [m, o] of owners) {
      if (m === manager) continue;
      for (const p of appliedLeaves.keys()) {
        for (const q of [...o.paths]) {
          // A field whose value this apply changed (a forced conflict) moves to this manager;
          // one applied with the same value becomes shared.
          const overlaps = !isEmptyObject(appliedLeaves.get(p)) && (q === p || q.startsWith(`${p}.`) || p.startsWith(`${q}.`));
          if (overlaps && !deepEqual(getPath(prev?.obj, q), getPath(live, q))) o.paths.delete(q);
        }
      }
      if (o.paths.size === 0) owners.delete(m);
    }
    owners.set(manager, { operation: 'Apply', subresource: sub, paths: new Set(appliedLeaves.keys()), time: this.#now() });
    if (query['dryRun']) return live as KubeObject;
    return this.#write(res, key, prev, live as KubeObject, manager, sub, owners);
  }

  #delete(res: ResourceType, key: string, name: string, body: unknown): unknown {
    const prev = this.#store.get(key);
    if (!prev) throw this.#notFound(res, name);
    const pre = isObj(body) && isObj(body['preconditions']) ? (body['preconditions'] as { resourceVersion?: string; uid?: string }) : {};
    if (pre.uid && pre.uid !== prev.obj.metadata?.uid) {
      throw new HttpFailure(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${prev.obj.metadata?.uid}`);
    }
    this.#checkRv(res, name, prev, pre.resourceVersion);
    if ((prev.obj.metadata?.finalizers ?? []).length > 0) {
      if (prev.obj.metadata?.deletionTimestamp) return prev.obj;
      const next = clone(prev.obj);
      next.metadata!.deletionTimestamp = this.#now();
      return this.#write(res, key, prev, next, 'fake-kube', undefined, prev.owners);
    }
    this.#erase(key, prev);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: res.plural } };
  }
}

function pm(s: Stored): ObjectMeta {
  return s.obj.metadata ?? {};
}

/** Fields that never count as a change by themselves. */
function stripVolatile(o: KubeObject): unknown {
  const { metadata, ...rest } = o;
  const { resourceVersion: _r, managedFields: _m, generation: _g, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}

/** managedFields without timestamps: who owns what. */
function ownershipOf(o: KubeObject): unknown {
  return (o.metadata?.managedFields ?? []).map(({ time: _t, ...rest }) => rest);
}

function matchPath(p: string | RegExp | undefined, path: string): boolean {
  if (p === undefined) return true;
  return typeof p === 'string' ? path.includes(p) : p.test(path);
}

function defaultReason(status: number): string {
  return (
    ({ 400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 409: 'Conflict', 410: 'Expired', 422: 'Invalid', 429: 'TooManyRequests', 500: 'InternalError', 503: 'ServiceUnavailable' } as Record<number, string>)[status] ??
    'InternalError'
  );
}
