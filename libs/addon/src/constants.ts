// The add-on manager's names (spec §2). The K3s ones (AddonApi, Wrangler) live in libs/labels and
// are re-exported here.

export { AddonApi, Wrangler } from '@portico/labels';

/** Portico's own keys on Addons and applied objects. */
export const PorticoAddon = Object.freeze({
  /** Field manager of every server-side apply of manifest objects. */
  fieldManager: 'portico-addon-manager',
  /** On an Addon: the naming rule that produced its name (`k3s` or `path`). */
  namingAnnotation: 'addon.portico.io/naming',
  /** On an Addon: the manifests directory it came from, so another instance's Addons are left alone. */
  rootAnnotation: 'addon.portico.io/manifests-dir',
  /** On an Addon: when its source file was first seen missing (RFC 3339). */
  sourceMissingAnnotation: 'addon.portico.io/source-missing-since',
});


/** kubectl ApplySet keys (KEP-3659), used for Portico's inventory (spec §8.2). */
export const ApplySet = Object.freeze({
  id: 'applyset.kubernetes.io/id',
  partOf: 'applyset.kubernetes.io/part-of',
  tooling: 'applyset.kubernetes.io/tooling',
  /** Value of `tooling` on the Addons addon-manager writes (how its cleanup tells them apart). */
  porticoTooling: 'portico-addon-manager/v1',
  containsGroupKinds: 'applyset.kubernetes.io/contains-group-kinds',
});

/** Event reasons of the AddOn loop: K3s's (spec §2.2) plus Portico's additions. */
export const AddonReason = Object.freeze({
  applying: 'ApplyingManifest',
  applied: 'AppliedManifest',
  deleting: 'DeletingManifest',
  readFailed: 'ReadManifestFailed',
  parseFailed: 'ParseManifestFailed',
  validateFailed: 'ValidateManifestFailed',
  applyFailed: 'ApplyManifestFailed',
  /** Portico: a second file maps to an Addon name another file already holds (spec B5). */
  duplicateName: 'DuplicateAddonName',
  /** Portico: the source file vanished; objects go after the grace period (spec B1). */
  sourceRemoved: 'SourceRemoved',
  /** Portico: a kind the server does not serve was dropped from the prune list (spec B4). */
  unknownKind: 'UnknownKind',
});

/** File extensions the AddOn loop reads (case-insensitive). */
export const MANIFEST_EXTENSIONS: readonly string[] = Object.freeze(['.yaml', '.yml', '.json']);

/** `--disable` names K3s knows (DisableItems plus `runtimes`); any other manifest name works too. */
export const PACKAGED_DISABLE_NAMES: readonly string[] = Object.freeze(['coredns', 'servicelb', 'traefik', 'local-storage', 'metrics-server', 'runtimes']);
