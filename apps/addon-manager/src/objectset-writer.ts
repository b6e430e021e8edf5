// Applies and prunes one Addon's object set against the API server (server-side apply, the
// selectors of both marker schemes, background deletion). Used by the Addon loop for files,
// disables and removed sources.

import {
  ApplyConflictError,
  isNotFound,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '@portico/kube';
import {
  apiVersionOfGvk,
  dedupe,
  desiredObject,
  gvkString,
  memberSelectors,
  pruneDecision,
  pruneKinds,
  refOf,
  refString,
  Wrangler,
  wranglerSetHash,
  type GVK,
  type LiveMember,
  type ManifestObject,
  type ObjectRef,
} from '@portico/addon';
import type { Logger } from '@portico/service-kit';

/** One object that could not be applied (or one kind that could not be searched). */
export interface ObjectFailure {
  readonly what: string;
  readonly message: string;
  /** The kind is not served (spec B4). */
  readonly unknownKind?: boolean;
}

export interface SetResult {
  readonly applied: number;
  readonly failures: ObjectFailure[];
  readonly pruned: ObjectRef[];
  readonly kept: ObjectRef[];
  /** Kinds dropped from the prune list because the server does not serve them. */
  readonly droppedKinds: string[];
  /** Objects that carried K3s's markers and were taken over with force (spec §8.2). */
  readonly adopted: string[];
}

const errMsg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class ObjectSetWriter {
  readonly #client: KubeClient;
  readonly #log: Logger;
  readonly #fieldManager: string;

  constructor(client: KubeClient, log: Logger, fieldManager: string) {
    this.#client = client;
    this.#log = log;
    this.#fieldManager = fieldManager;
  }

  /**
   * Applies `objects` as Addon `addon`'s set; prunes members of `fileKinds` ∪ `remembered` that are
   * not desired, only when every object applied (nothing destructive after a partial failure).
   */
  async apply(addon: string, objects: readonly ManifestObject[], fileKinds: readonly GVK[], remembered: readonly GVK[], opts: { force: boolean }): Promise<SetResult> {
    const failures: ObjectFailure[] = [];
    const adopted: string[] = [];
    const desiredRefs: ObjectRef[] = [];
    let applied = 0;
    for (const obj of dedupe(objects)) {
      const what = `${obj.apiVersion} ${obj.kind} ${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name}`;
      let res: ResourceType;
      try {
        res = await this.#client.resource(obj.apiVersion, obj.kind);
      } catch (err) {
        failures.push({ what, message: `kind not served by the API server (${errMsg(err)})`, unknownKind: true });
        continue;
      }
      const desired = desiredObject(obj, addon, res.namespaced);
      desiredRefs.push(refOf(desired));
      try {
        await this.#applyOne(desired, res, opts.force, addon, adopted);
        applied++;
      } catch (err) {
        failures.push({ what, message: errMsg(err) });
      }
    }
    if (failures.length > 0) return { applied, failures, pruned: [], kept: [], droppedKinds: [], adopted };
    const p = await this.prune(addon, desiredRefs, pruneKinds(fileKinds, remembered));
    return { applied, failures: p.failures, pruned: p.pruned, kept: p.kept, droppedKinds: p.droppedKinds, adopted };
  }

  async #applyOne(desired: ManifestObject, res: ResourceType, force: boolean, addon: string, adopted: string[]): Promise<void> {
    try {
      await this.#client.apply(desired as KubeObject, { fieldManager: this.#fieldManager, force, resource: res });
    } catch (err) {
      if (!(err instanceof ApplyConflictError) || force) throw err;
      // Objects K3s created (wrangler markers with our hash) are owned by Update managers: take
      // them over once (spec §8.2, §7.23). Anything else stays a conflict for the user to solve.
      const live = await this.#client.get<KubeObject>(res, { namespace: desired.metadata.namespace, name: desired.metadata.name! });
      if (live.metadata?.labels?.[Wrangler.hash] !== wranglerSetHash(addon)) throw err;
      await this.#client.apply(desired as KubeObject, { fieldManager: this.#fieldManager, force: true, resource: res });
      adopted.push(refString(refOf(desired)));
      this.#log.info({ event: 'adopted', addon, object: refString(refOf(desired)), managers: err.managers }, 'took over an object K3s created');
    }
  }

  /** Deletes every member of `kinds` not in `desired` (an empty `desired` removes the whole set). */
  async prune(addon: string, desired: readonly ObjectRef[], kinds: readonly GVK[]): Promise<{ pruned: ObjectRef[]; kept: ObjectRef[]; droppedKinds: string[]; failures: ObjectFailure[] }> {
    const live: LiveMember[] = [];
    const resources = new Map<string, ResourceType>();
    const droppedKinds: string[] = [];
    const failures: ObjectFailure[] = [];
    for (const g of kinds) {
      let res: ResourceType;
      try {
        res = await this.#client.resource(apiVersionOfGvk(g), g.kind);
      } catch {
        droppedKinds.push(gvkString(g));
        continue;
      }
      resources.set(`${g.group}/${g.kind}`, res);
      for (const sel of memberSelectors(addon)) {
        try {
          const list = await this.#client.listAll<KubeObject>(res, { labelSelector: sel });
          for (const item of list.items) live.push({ ...item, apiVersion: apiVersionOfGvk(g), kind: g.kind });
        } catch (err) {
          if (isNotFound(err)) {
            droppedKinds.push(gvkString(g));
            break;
          }
          failures.push({ what: `list ${gvkString(g)}`, message: errMsg(err) });
        }
      }
    }
    if (failures.length > 0) return { pruned: [], kept: [], droppedKinds, failures };
    const decision = pruneDecision(desired, live);
    const pruned: ObjectRef[] = [];
    for (const ref of decision.remove) {
      const res = resources.get(`${ref.group}/${ref.kind}`)!;
      try {
        await this.#client.delete(res, { namespace: ref.namespace, name: ref.name }, { propagationPolicy: 'Background' });
        pruned.push(ref);
        this.#log.info({ event: 'pruned', addon, object: refString(ref) }, 'deleted an object that left its Addon');
      } catch (err) {
        if (isNotFound(err)) continue;
        failures.push({ what: `delete ${refString(ref)}`, message: errMsg(err) });
      }
    }
    return { pruned, kept: decision.kept, droppedKinds, failures };
  }
}
