// K3s add-on names (k3s-io/k3s pkg/deploy, rancher/wrangler objectset, k3s-io/helm-controller):
// the Addon type, wrangler's object-set markers and the HelmChart types and keys that libs/addon
// and addon-manager read and write (STYLE rule 13: compatibility names live in libs/labels).

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

/** HelmChart / HelmChartConfig names (k3s-io/helm-controller; read and written). */
export const Helm = Object.freeze({
  group: 'helm.cattle.io',
  version: 'v1',
  apiVersion: 'helm.cattle.io/v1',
  chartKind: 'HelmChart',
  chartPlural: 'helmcharts',
  configKind: 'HelmChartConfig',
  configPlural: 'helmchartconfigs',
  managedBy: 'helmcharts.cattle.io/managed-by',
  unmanaged: 'helmcharts.helm.cattle.io/unmanaged',
  chartUrl: 'helm.cattle.io/chart-url',
  configHash: 'helmcharts.helm.cattle.io/configHash',
  chartLabel: 'helmcharts.helm.cattle.io/chart',
  finalizer: 'wrangler.cattle.io/on-helm-chart-remove',
  valuesSecretType: 'helmcharts.helm.cattle.io/values',
  releaseSecretType: 'helm.sh/release.v1',
  /** Portico (spec B12): any change of this annotation's value re-runs the Job. */
  redeployAnnotation: 'helmcharts.helm.cattle.io/redeploy',
  defaultBackoffLimit: 1000,
  stableRepoUrl: 'https://charts.helm.sh/stable/',
});
