// The Addon loop (K3s's deploy controller, spec §3, with Portico's fixes B1, B3, B4, B5, B7, B15):
// each pass walks --manifests-dir, decides per file (pure core: @portico/addon), and applies,
// prunes, disables or removes through ObjectSetWriter. Only the leader runs passes.

import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isNotFound, type KubeClient, type KubeObject, type ResourceType } from '@portico/kube';
import { sleep, type Clock } from '@portico/runner';
import { realClock } from '@portico/runner/adapter';
import {
  addonObject,
  AddonApi,
  AddonReason,
  checksum,
  disabledAddons,
  gvksOf,
  needsApply,
  parseGvksAnnotation,
  parseManifest,
  planPass,
  PorticoAddon,
  refString,
  type GVK,
  type ManifestObject,
} from '@portico/addon';
import type { Logger } from '@portico/service-kit';
import type { CoreConfig } from './config.ts';
import { removeFile, walkManifests } from './fswalk.ts';
import type { AddonMetrics, FileState } from './metrics.ts';
import { ObjectSetWriter, type ObjectFailure } from './objectset-writer.ts';

export const AddonResource: ResourceType = Object.freeze({ group: AddonApi.group, version: AddonApi.version, plural: AddonApi.plural, kind: AddonApi.kind, namespaced: true });

/** An Addon as read from the API. */
export interface AddonObj extends KubeObject {
  spec?: { source?: string; checksum?: string };
  status?: { observedChecksum?: string; conditions?: { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[] };
}

export interface EventSink {
  event(obj: KubeObject | { kind: string; namespace?: string; name: string; apiVersion?: string; uid?: string }, type: 'Normal' | 'Warning', reason: string, message: string): void;
  flush(): Promise<void>;
}

export interface AddonControllerOptions {
  readonly client: KubeClient;
  readonly core: CoreConfig;
  readonly log: Logger;
  readonly events: EventSink;
  readonly metrics: AddonMetrics;
  readonly pollIntervalMs: number;
  readonly onSourceRemoved: 'prune' | 'orphan';
  readonly sourceRemovedGraceMs: number;
  readonly forceUserManifests: boolean;
  /** Relative paths of the packaged files (applied with force, spec §8.2). */
  readonly packagedPaths: ReadonlySet<string>;
  readonly clock?: Clock;
}

interface FileMemory {
  checksum?: string;
  failed?: boolean;
}

const errMsg = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class AddonController {
  readonly #o: AddonControllerOptions;
  readonly #clock: Clock;
  readonly #writer: ObjectSetWriter;
  readonly #memory = new Map<string, FileMemory>();
  #passes = 0;
  #lastPassOk = false;

  constructor(o: AddonControllerOptions) {
    this.#o = o;
    this.#clock = o.clock ?? realClock;
    this.#writer = new ObjectSetWriter(o.client, o.log, PorticoAddon.fieldManager);
  }

  get passes(): number {
    return this.#passes;
  }

  get lastPassOk(): boolean {
    return this.#lastPassOk;
  }

  /** Runs passes every poll interval until `signal` aborts. */
  async lead(signal: AbortSignal): Promise<void> {
    // A new term starts from a forced pass, as K3s's first pass after start (spec §3.4).
    this.#memory.clear();
    while (!signal.aborted) {
      const t0 = this.#clock.now();
      let ok = false;
      try {
        ok = await this.pass(signal);
      } catch (err) {
        this.#o.log.error({ event: 'passFailed', err }, 'directory pass failed');
      }
      this.#lastPassOk = ok;
      this.#passes++;
      this.#o.metrics.observePass(ok, (this.#clock.now() - t0) / 1000);
      await sleep(this.#clock, this.#o.pollIntervalMs, signal).catch(() => undefined);
    }
  }

  /**
   * One pass over the directory. Returns false when any file failed. Stops between files once
   * `signal` aborts (leadership lost), so a former leader writes at most one more file.
   */
  async pass(signal?: AbortSignal): Promise<boolean> {
    const { core, log } = this.#o;
    const root = core.manifestsDir;
    const files = await walkManifests(root);
    const addons = (await this.#o.client.listAll<AddonObj>(AddonResource, { namespace: AddonApi.namespace })).items;
    const byName = new Map(addons.map((a) => [a.metadata!.name!, a]));
    const relOf = (a: AddonObj): string | undefined => {
      const src = a.spec?.source;
      if (!src || !src.startsWith(`${root}/`)) return undefined;
      return relative(root, src);
    };
    const mine = (a: AddonObj): boolean => a.metadata?.annotations?.[PorticoAddon.rootAnnotation] === root;
    const existingSources = new Map<string, string>();
    for (const a of addons) {
      const rel = relOf(a);
      if (rel !== undefined) existingSources.set(a.metadata!.name!, rel);
    }
    const plan = planPass(files, { disables: core.disables, naming: core.naming, existingSources });
    const present = new Set(files.map((f) => f.relPath));
    const counts = new Map<FileState, number>();
    const count = (s: FileState): void => void counts.set(s, (counts.get(s) ?? 0) + 1);
    let ok = true;
    const handled = new Set<string>();

    for (const d of plan) {
      if (signal?.aborted) return false;
      switch (d.action) {
        case 'ignore':
          if (d.why === 'skip-marker') count('skipped');
          break;
        case 'disable': {
          handled.add(d.addon);
          count('disabled');
          let fileKinds: GVK[] = [];
          try {
            const parsed = parseManifest(await readFile(join(root, d.relPath), 'utf8'));
            if (parsed.ok) fileKinds = gvksOf(parsed.objects);
          } catch {
            // K3s: read/parse errors of a disabled file are reported and otherwise ignored.
          }
          if (!(await this.#remove(d.addon, byName.get(d.addon), fileKinds, `disabled by --disable ${d.matched}`, join(root, d.relPath)))) ok = false;
          if (d.unlink) await removeFile(root, d.relPath);
          break;
        }
        case 'duplicate': {
          count('duplicate');
          ok = false;
          const msg = `Refusing manifest at "${join(root, d.relPath)}": Addon ${d.addon} already belongs to "${join(root, d.heldBy)}"`;
          log.warn({ event: 'duplicateAddonName', file: d.relPath, addon: d.addon, heldBy: d.heldBy }, msg);
          this.#o.events.event(byName.get(d.addon) ?? addonRef(d.addon), 'Warning', AddonReason.duplicateName, msg);
          break;
        }
        case 'bad-name': {
          count('failed');
          ok = false;
          log.warn({ event: 'badAddonName', file: d.relPath, addon: d.addon }, `file name gives no valid Addon name: ${d.addon}`);
          break;
        }
        case 'manifest': {
          handled.add(d.addon);
          const existing = byName.get(d.addon);
          const r = await this.#applyFile(d.relPath, d.addon, existing);
          if (r === 'failed') ok = false;
          count(r === 'failed' ? 'failed' : 'applied');
          break;
        }
      }
    }

    // Disabled names with no file (spec B3): the Addon and its whole inventory go.
    const disabledWithoutFile = disabledAddons(
      addons.filter((a) => !handled.has(a.metadata!.name!) && (mine(a) || core.disables.has(a.metadata!.name!))).map((a) => ({ name: a.metadata!.name!, relSource: relOf(a) })),
      core.disables,
    );
    for (const name of disabledWithoutFile) {
      if (signal?.aborted) return false;
      handled.add(name);
      if (!(await this.#remove(name, byName.get(name), [], 'disabled by --disable', byName.get(name)?.spec?.source ?? name))) ok = false;
    }

    // Sources that vanished (spec §3.7, B1).
    if (this.#o.onSourceRemoved === 'prune') {
      for (const a of addons) {
        if (signal?.aborted) return false;
        const name = a.metadata!.name!;
        const rel = relOf(a);
        if (handled.has(name) || !mine(a) || rel === undefined || present.has(rel)) continue;
        if (!(await this.#sourceRemoved(a, rel))) ok = false;
      }
    }
    this.#o.metrics.setFiles(counts);
    return ok;
  }

  async #applyFile(relPath: string, name: string, existing: AddonObj | undefined): Promise<'applied' | 'unchanged' | 'failed'> {
    const { core, log, events } = this.#o;
    const path = join(core.manifestsDir, relPath);
    const mem = this.#memory.get(relPath);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      this.#memory.set(relPath, { ...mem, failed: true });
      const msg = `Reading manifest at "${path}" failed: ${errMsg(err)}`;
      log.warn({ event: 'readFailed', file: relPath, err }, msg);
      events.event(existing ?? addonRef(name), 'Warning', AddonReason.readFailed, msg);
      return 'failed';
    }
    const sum = checksum(bytes);
    const wasMissing = existing?.metadata?.annotations?.[PorticoAddon.sourceMissingAnnotation] !== undefined;
    if (!needsApply(mem, sum) && !wasMissing && existing) return 'unchanged';

    const remembered = parseGvksAnnotation(existing?.metadata?.annotations?.[AddonApi.gvksAnnotation]).gvks;
    const parsed = parseManifest(bytes.toString('utf8'));
    if (!parsed.ok) {
      const p = parsed.problems[0]!;
      const msg = `${p.reason === AddonReason.parseFailed ? 'Parsing' : 'Validating'} manifest at "${path}" failed: document ${p.document}: ${p.message}`;
      const addon = await this.#writeAddon(name, path, existing?.spec?.checksum, remembered, existing);
      events.event(addon ?? addonRef(name), 'Warning', p.reason, msg);
      log.warn({ event: 'parseFailed', file: relPath, reason: p.reason, problems: parsed.problems }, msg);
      await this.#writeStatus(addon, existing, sum, false, p.reason, msg);
      this.#memory.set(relPath, { checksum: mem?.checksum, failed: true });
      this.#o.metrics.countApply(false);
      return 'failed';
    }
    const fileKinds = gvksOf(parsed.objects);
    // Record the union of kinds before applying, so a crash mid-apply still searches them (B2).
    const addon = await this.#writeAddon(name, path, existing?.spec?.checksum, unionKinds(fileKinds, remembered), existing);
    const target = addon ?? addonRef(name);
    events.event(target, 'Normal', AddonReason.applying, `Applying manifest at "${path}"`);
    log.info({ event: 'applying', file: relPath, addon: name, objects: parsed.objects.length }, `applying manifest ${relPath}`);
    const force = this.#o.packagedPaths.has(relPath) || this.#o.forceUserManifests;
    const result = await this.#writer.apply(name, parsed.objects as ManifestObject[], fileKinds, remembered, { force });
    for (const k of result.droppedKinds) {
      events.event(target, 'Warning', AddonReason.unknownKind, `Kind ${k} is not served; not searched for objects to prune`);
    }
    this.#o.metrics.countPruned(result.pruned.length);
    if (result.failures.length > 0) {
      const msg = `Applying manifest at "${path}" failed: ${describeFailures(result.failures)}`;
      events.event(target, 'Warning', AddonReason.applyFailed, msg);
      log.warn({ event: 'applyFailed', file: relPath, addon: name, failures: result.failures }, msg);
      await this.#writeStatus(addon, existing, sum, false, AddonReason.applyFailed, msg);
      this.#memory.set(relPath, { checksum: mem?.checksum, failed: true });
      this.#o.metrics.countApply(false);
      return 'failed';
    }
    const done = await this.#writeAddon(name, path, sum, fileKinds, addon ?? existing);
    await this.#writeStatus(done, addon ?? existing, sum, true, AddonReason.applied, `Applied ${result.applied} objects, pruned ${result.pruned.length}${result.kept.length > 0 ? `, kept ${result.kept.length} labelled prune=false` : ''}`);
    events.event(done ?? target, 'Normal', AddonReason.applied, `Applied manifest at "${path}"`);
    log.info(
      { event: 'applied', file: relPath, addon: name, objects: result.applied, pruned: result.pruned.map(refString), kept: result.kept.map(refString), adopted: result.adopted, checksum: sum },
      `applied manifest ${relPath}`,
    );
    this.#memory.set(relPath, { checksum: sum, failed: false });
    this.#o.metrics.countApply(true);
    return 'applied';
  }

  /** Empty apply of Addon `name`'s set over every kind it or its file knew, then the Addon goes. */
  async #remove(name: string, existing: AddonObj | undefined, fileKinds: readonly GVK[], why: string, source: string): Promise<boolean> {
    const { log, events } = this.#o;
    const remembered = parseGvksAnnotation(existing?.metadata?.annotations?.[AddonApi.gvksAnnotation]).gvks;
    const kinds = unionKinds(fileKinds, remembered);
    const target = existing ?? addonRef(name);
    const r = await this.#writer.prune(name, [], kinds);
    this.#o.metrics.countPruned(r.pruned.length);
    if (r.failures.length > 0) {
      const msg = `Deleting manifest at "${source}" failed: ${describeFailures(r.failures)}`;
      log.warn({ event: 'removeFailed', addon: name, failures: r.failures }, msg);
      events.event(target, 'Warning', AddonReason.applyFailed, msg);
      return false;
    }
    if (existing || r.pruned.length > 0) {
      events.event(target, 'Normal', AddonReason.deleting, `Deleting manifest at "${source}" (${why})`);
      log.info({ event: 'removed', addon: name, why, pruned: r.pruned.map(refString), kept: r.kept.map(refString) }, `removed Addon ${name}: ${why}`);
    }
    if (existing) {
      try {
        await this.#o.client.delete(AddonResource, { namespace: AddonApi.namespace, name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return true;
  }

  async #sourceRemoved(a: AddonObj, rel: string): Promise<boolean> {
    const name = a.metadata!.name!;
    const since = a.metadata?.annotations?.[PorticoAddon.sourceMissingAnnotation];
    const now = this.#clock.now();
    this.#memory.delete(rel);
    if (since === undefined) {
      const msg = `Manifest at "${a.spec?.source}" was removed; its objects will be deleted in ${Math.round(this.#o.sourceRemovedGraceMs / 1000)}s unless it comes back`;
      const kinds = parseGvksAnnotation(a.metadata?.annotations?.[AddonApi.gvksAnnotation]).gvks;
      await this.#writeAddon(name, a.spec!.source!, a.spec?.checksum, kinds, a, new Date(now).toISOString());
      this.#o.events.event(a, 'Warning', AddonReason.sourceRemoved, msg);
      this.#o.log.warn({ event: 'sourceRemoved', addon: name, file: rel }, msg);
      return true;
    }
    const t = Date.parse(since);
    if (Number.isNaN(t) || now - t < this.#o.sourceRemovedGraceMs) return true;
    return this.#remove(name, a, [], 'its file was removed', a.spec!.source!);
  }

  /** Server-side applies the Addon (spec, inventory annotations); returns the object, or undefined on failure. */
  async #writeAddon(name: string, source: string, sum: string | undefined, gvks: readonly GVK[], existing: AddonObj | undefined, missingSince?: string): Promise<AddonObj | undefined> {
    const obj = addonObject({ name, source, checksum: sum, gvks, naming: this.#o.core.naming, root: this.#o.core.manifestsDir }) as AddonObj;
    if (missingSince) obj.metadata!.annotations![PorticoAddon.sourceMissingAnnotation] = missingSince;
    try {
      return await this.#o.client.apply<AddonObj>(obj, { fieldManager: PorticoAddon.fieldManager, force: true, resource: AddonResource });
    } catch (err) {
      this.#o.log.error({ event: 'addonWriteFailed', addon: name, err }, `cannot write Addon ${name}`);
      return existing;
    }
  }

  async #writeStatus(addon: AddonObj | undefined, previous: AddonObj | undefined, sum: string, ok: boolean, reason: string, message: string): Promise<void> {
    if (!addon?.metadata?.name) return;
    const status = ok ? 'True' : 'False';
    const prev = previous?.status?.conditions?.find((c) => c.type === 'Applied');
    const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : new Date(this.#clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await this.#o.client.apply(
        {
          apiVersion: AddonApi.apiVersion,
          kind: AddonApi.kind,
          metadata: { name: addon.metadata.name, namespace: AddonApi.namespace },
          status: { observedChecksum: sum, conditions: [{ type: 'Applied', status, reason, message: message.slice(0, 32_000), lastTransitionTime, observedGeneration: addon.metadata.generation }] },
        } as KubeObject,
        { fieldManager: PorticoAddon.fieldManager, force: true, subresource: 'status', resource: AddonResource },
      );
    } catch (err) {
      this.#o.log.warn({ event: 'statusWriteFailed', addon: addon.metadata.name, err }, 'cannot write Addon status');
    }
  }
}

function addonRef(name: string): { kind: string; apiVersion: string; namespace: string; name: string } {
  return { kind: AddonApi.kind, apiVersion: AddonApi.apiVersion, namespace: AddonApi.namespace, name };
}

function unionKinds(a: readonly GVK[], b: readonly GVK[]): GVK[] {
  const seen = new Set<string>();
  const out: GVK[] = [];
  for (const g of [...a, ...b]) {
    const k = `${g.group}/${g.version}/${g.kind}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(g);
    }
  }
  return out;
}

function describeFailures(f: readonly ObjectFailure[]): string {
  return f.map((x) => `${x.what}: ${x.message}`).join('; ');
}
