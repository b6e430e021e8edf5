// What the AddOn loop does with each file of a directory pass (spec §3.2, §3.8, §3.9, B5, B7).
// Pure: the shell walks the directory and hands in relative paths; nothing here touches a disk.

import { AddonApi, MANIFEST_EXTENSIONS } from './constants.ts';
import { addonName, isValidObjectName, type NamingRule } from './names.ts';

/** One file found by the walk. `relPath` uses `/` and is relative to the manifests directory. */
export interface ScannedFile {
  readonly relPath: string;
  /** Reached through a symlinked directory: never unlinked on disable (K3s). */
  readonly viaSymlinkDir?: boolean;
}

export type FileDecision =
  | { readonly action: 'disable'; readonly relPath: string; readonly addon: string; readonly matched: string; readonly unlink: boolean }
  | { readonly action: 'ignore'; readonly relPath: string; readonly why: 'dotfile' | 'extension' | 'skip-marker' }
  | { readonly action: 'manifest'; readonly relPath: string; readonly addon: string }
  | { readonly action: 'duplicate'; readonly relPath: string; readonly addon: string; readonly heldBy: string }
  | { readonly action: 'bad-name'; readonly relPath: string; readonly addon: string };

/** The file's extension (`.yaml`), lower-cased; `''` when none. */
export function extensionOf(relPath: string): string {
  const slash = relPath.lastIndexOf('/');
  const dot = relPath.lastIndexOf('.');
  return dot > slash + 1 ? relPath.slice(dot).toLowerCase() : '';
}

export function isManifestExtension(relPath: string): boolean {
  return MANIFEST_EXTENSIONS.includes(extensionOf(relPath));
}

/**
 * The `--disable` entry that disables `relPath`, if any (spec §3.9): a leading directory of the
 * path (`a`, `a/b`, … ; any file type), or, for YAML/JSON files, the path without its last
 * extension (`traefik.yaml` → `traefik`; `traefik-config.yaml` is not matched).
 */
export function disabledBy(relPath: string, disables: ReadonlySet<string>): string | undefined {
  const parts = relPath.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (disables.has(dir)) return dir;
  }
  if (isManifestExtension(relPath)) {
    const ext = extensionOf(relPath);
    const stem = relPath.slice(0, relPath.length - ext.length);
    if (disables.has(stem)) return stem;
  }
  return undefined;
}

/** Normalises `--disable` values: comma lists, repeated flags, blanks and trailing `/` dropped. */
export function disableSet(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    for (const part of v.split(',')) {
      const s = part.trim().replace(/\/+$/, '').replace(/^\.\//, '');
      if (s !== '') out.add(s);
    }
  }
  return out;
}

/**
 * Classifies every file of one pass, in sorted path order. `existingSources` maps Addon names to
 * the relative path of the file that owns them today (from the cluster): when two files map to one
 * name, that file keeps it; otherwise the first in sorted order does, and the others are refused.
 */
export function planPass(
  files: readonly ScannedFile[],
  opts: { readonly disables: ReadonlySet<string>; readonly naming: NamingRule; readonly existingSources?: ReadonlyMap<string, string> },
): FileDecision[] {
  const sorted = [...files].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  const present = new Set(sorted.map((f) => f.relPath));
  const decisions: FileDecision[] = [];
  const byName = new Map<string, string[]>();
  for (const f of sorted) {
    const name = addonName(f.relPath, opts.naming);
    const matched = disabledBy(f.relPath, opts.disables);
    if (matched !== undefined) {
      decisions.push({ action: 'disable', relPath: f.relPath, addon: name, matched, unlink: !f.viaSymlinkDir });
      continue;
    }
    if (f.relPath.split('/').some((p) => p.startsWith('.'))) {
      decisions.push({ action: 'ignore', relPath: f.relPath, why: 'dotfile' });
      continue;
    }
    if (present.has(`${f.relPath}${AddonApi.skipSuffix}`)) {
      decisions.push({ action: 'ignore', relPath: f.relPath, why: 'skip-marker' });
      continue;
    }
    if (!isManifestExtension(f.relPath)) {
      decisions.push({ action: 'ignore', relPath: f.relPath, why: 'extension' });
      continue;
    }
    if (!isValidObjectName(name)) {
      decisions.push({ action: 'bad-name', relPath: f.relPath, addon: name });
      continue;
    }
    const list = byName.get(name) ?? [];
    list.push(f.relPath);
    byName.set(name, list);
    decisions.push({ action: 'manifest', relPath: f.relPath, addon: name });
  }
  const holder = new Map<string, string>();
  for (const [name, paths] of byName) {
    const owner = opts.existingSources?.get(name);
    holder.set(name, owner !== undefined && paths.includes(owner) ? owner : paths[0]!);
  }
  return decisions.map((d) => {
    if (d.action !== 'manifest') return d;
    const h = holder.get(d.addon)!;
    return h === d.relPath ? d : { action: 'duplicate', relPath: d.relPath, addon: d.addon, heldBy: h };
  });
}

/**
 * Whether a file must be applied this pass: never applied by this process (the first pass is
 * forced, so hand edits are restored at restart as in K3s), last attempt failed, or the content
 * differs from the last successful apply. Decided by content (spec §8.1), never by mtime.
 */
export function needsApply(prev: { readonly checksum?: string; readonly failed?: boolean } | undefined, checksum: string): boolean {
  if (!prev || prev.failed || prev.checksum === undefined) return true;
  return prev.checksum !== checksum;
}

/**
 * Addons that belong to a disabled name even though no file is there (spec B3: disable does not
 * need the file): those named exactly as a disabled entry, or whose source lies under a disabled
 * directory (relative paths).
 */
export function disabledAddons(addons: readonly { readonly name: string; readonly relSource: string | undefined }[], disables: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const a of addons) {
    if (disables.has(a.name) || (a.relSource !== undefined && disabledBy(a.relSource, disables) !== undefined)) out.push(a.name);
  }
  return out.sort();
}
