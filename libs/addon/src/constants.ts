// Every K3s-compatible name the add-on manager reads or writes (spec §2), in one place.

/** The `k3s.cattle.io/v1` Addon type and the AddOn loop's strings (spec §2.1, §2.2). */
export const AddonApi = Object.freeze({
  group: 'k3s.cattle.io',
  version: 'v1',
  apiVersion: 'k3s.cattle.io/v1',
  kind: 'Addon',
  plural: 'addons',
  /** K3s keeps every Addon in kube-system. */
  namespace: 'kube-system',
  /** `;`-joined GVKs in Go form, e.g. `/v1, Kind=ConfigMap;apps/v1, Kind=Deployment`. */
  gvksAnnotation: 'addon.k3s.cattle.io/gvks',
  /** K3s's Event source component of the AddOn loop. */
  eventComponent: 'deploy',
  skipSuffix: '.skip',
});

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

/** wrangler object-set markers (spec §2.3). */
export const Wrangler = Object.freeze({
  id: 'objectset.rio.cattle.io/id',
  ownerGvk: 'objectset.rio.cattle.io/owner-gvk',
  ownerName: 'objectset.rio.cattle.io/owner-name',
  ownerNamespace: 'objectset.rio.cattle.io/owner-namespace',
  applied: 'objectset.rio.cattle.io/applied',
  hash: 'objectset.rio.cattle.io/hash',
  prune: 'objectset.rio.cattle.io/prune',
  /** `gvk.String()` of the Addon type, as wrangler writes it. */
  addonOwnerGvk: 'k3s.cattle.io/v1, Kind=Addon',
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
