// `addon-manager render --manifests-dir DIR [--snapshot FILE...]`: what one pass would do, with no
// cluster access. Reads the directory (plus the packaged components as if staged, unless
// --stage-packaged=false) and an optional snapshot of the cluster (Addons, their live members,
// CRDs for scopes), and prints a YAML stream: every object that would be applied, with its
// markers, preceded by a comment naming its Addon; `# prune:` comments for objects that would be
// deleted; `# ignore:`/`# refuse:`/`# error:` comments for the other files.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  AddonApi,
  chartDisposition,
  Helm,
  installDecision,
  isSupportedHelmVersion,
  jobNames,
  latestRelease,
  renderHelmJob,
  type HelmChart,
  type HelmChartConfig,
  type LiveJob,
  checksum,
  customResourceProblems,
  dedupe,
  desiredObject,
  disabledAddons,
  gvksOf,
  memberSelectors,
  parseGvksAnnotation,
  parseManifest,
  planPass,
  pruneDecision,
  pruneKinds,
  refOf,
  refString,
  splitApiVersion,
  stagePlan,
  type GVK,
  type LiveMember,
  type ScannedFile,
} from '@portico/addon';
import { loadSnapshot, SnapshotError, staticResourceFor, type KubeObject, type StdinSource } from '@portico/kube';
import { ExitCode, type CommandContext } from '@portico/service-kit';
import { coreConfigFrom, type CoreConfig } from './config.ts';
import { walkManifests } from './fswalk.ts';
import { PACKAGED_TEMPLATES } from './packaged.generated.ts';

/** Cluster-scoped kinds render knows without a cluster (besides libs/kube's table and snapshot CRDs). */
const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'scheduling.k8s.io/PriorityClass',
  'apiregistration.k8s.io/APIService',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
]);

interface Crd extends KubeObject {
  spec?: { group?: string; scope?: string; names?: { kind?: string } };
}

/** Whether a kind is namespaced, from the snapshot's CRDs, libs/kube's table, or the list above. */
export function scopeResolver(snapshot: readonly KubeObject[]): (apiVersion: string, kind: string) => boolean {
  const crdScope = new Map<string, boolean>();
  for (const o of snapshot) {
    if (o.kind !== 'CustomResourceDefinition') continue;
    const c = o as Crd;
    if (c.spec?.group && c.spec.names?.kind) crdScope.set(`${c.spec.group}/${c.spec.names.kind}`, c.spec.scope !== 'Cluster');
  }
  return (apiVersion, kind) => {
    const known = staticResourceFor(apiVersion, kind);
    if (known) return known.namespaced;
    const group = splitApiVersion(apiVersion).group;
    const crd = crdScope.get(`${group}/${kind}`);
    if (crd !== undefined) return crd;
    return !CLUSTER_SCOPED.has(`${group}/${kind}`);
  };
}

/** The render of one directory state against a snapshot; pure apart from reading `files`' texts via `read`. */
export async function renderPass(core: CoreConfig, files: readonly ScannedFile[], read: (rel: string) => Promise<string>, snapshot: readonly KubeObject[]): Promise<string> {
  const namespaced = scopeResolver(snapshot);
  const addons = snapshot.filter((o) => o.kind === AddonApi.kind && o.apiVersion === AddonApi.apiVersion && o.metadata?.namespace === AddonApi.namespace) as (KubeObject & { spec?: { source?: string } })[];
  const byName = new Map(addons.map((a) => [a.metadata!.name!, a]));
  const members = (name: string): LiveMember[] => {
    const [hashSel, partSel] = memberSelectors(name).map((s) => s.split('='));
    return snapshot.filter((o) => o.metadata?.labels?.[hashSel![0]!] === hashSel![1] || o.metadata?.labels?.[partSel![0]!] === partSel![1]);
  };
  const remembered = (name: string): GVK[] => parseGvksAnnotation(byName.get(name)?.metadata?.annotations?.[AddonApi.gvksAnnotation]).gvks;
  const pruneLines = (name: string, desired: ReturnType<typeof refOf>[], kinds: readonly GVK[]): string[] => {
    const wanted = new Set(kinds.map((k) => `${k.group}/${k.kind}`));
    const live = members(name).filter((m) => wanted.has(`${splitApiVersion(m.apiVersion ?? '').group}/${m.kind}`));
    const d = pruneDecision(desired, live);
    return [...d.remove.map((r) => `# prune: ${refString(r)} (Addon ${name})`), ...d.kept.map((r) => `# keep: ${refString(r)} (Addon ${name}, labelled prune=false)`)];
  };
  const rootPrefix = `${core.manifestsDir}/`;
  const existingSources = new Map<string, string>();
  for (const a of addons) if (a.spec?.source?.startsWith(rootPrefix)) existingSources.set(a.metadata!.name!, a.spec.source.slice(rootPrefix.length));
  const out: string[] = [];
  const handled = new Set<string>();
  const appliedCharts: KubeObject[] = [];
  for (const d of planPass(files, { disables: core.disables, naming: core.naming, existingSources })) {
    const path = join(core.manifestsDir, d.relPath);
    if (d.action === 'ignore') {
      out.push(`# ignore: ${path} (${d.why})`);
      continue;
    }
    if (d.action === 'duplicate') {
      out.push(`# refuse: ${path}: Addon ${d.addon} already belongs to ${join(core.manifestsDir, d.heldBy)}`);
      continue;
    }
    if (d.action === 'bad-name') {
      out.push(`# refuse: ${path}: ${JSON.stringify(d.addon)} is not a valid Addon name`);
      continue;
    }
    handled.add(d.addon);
    const text = await read(d.relPath);
    const parsed = parseManifest(text);
    if (d.action === 'disable') {
      const kinds = [...(parsed.ok ? gvksOf(parsed.objects) : []), ...remembered(d.addon)];
      out.push(`# disable: ${path} (--disable ${d.matched}): file ${d.unlink ? 'removed' : 'kept (symlinked directory)'}, Addon ${d.addon} deleted`, ...pruneLines(d.addon, [], pruneKinds(kinds, [])));
      continue;
    }
    if (!parsed.ok) {
      for (const p of parsed.problems) out.push(`# error: ${path}: ${p.reason}: document ${p.document}: ${p.message}`);
      continue;
    }
    const desired = dedupe(parsed.objects).map((o) => desiredObject(o, d.addon, namespaced(o.apiVersion, o.kind)));
    out.push(`# Addon ${AddonApi.namespace}/${d.addon}: ${path} (sha256 ${checksum(text)}), ${desired.length} objects`);
    for (const o of desired) out.push(`---\n${stringify(o, { sortMapEntries: true }).trimEnd()}`);
    appliedCharts.push(...desired.filter((o) => o.kind === Helm.chartKind && o.apiVersion === Helm.apiVersion));
    out.push(...pruneLines(d.addon, desired.map(refOf), pruneKinds(gvksOf(parsed.objects), remembered(d.addon))));
  }
  const orphanedDisabled = disabledAddons(
    addons.filter((a) => !handled.has(a.metadata!.name!)).map((a) => ({ name: a.metadata!.name!, relSource: a.spec?.source?.startsWith(rootPrefix) ? a.spec.source.slice(rootPrefix.length) : undefined })),
    core.disables,
  );
  for (const name of orphanedDisabled) out.push(`# disable: Addon ${name} (no file), deleted`, ...pruneLines(name, [], pruneKinds(remembered(name), [])));
  out.push(...renderHelmJobs(core, [...appliedCharts, ...snapshot.filter((o) => o.kind === Helm.chartKind && o.apiVersion === Helm.apiVersion)] as HelmChart[], snapshot));
  return `${out.join('\n')}\n`;
}

/**
 * The install Jobs the HelmChart loop would create: for charts from the manifests (as applied) and
 * from the snapshot (a manifest's version wins), against the snapshot's HelmChartConfigs, release
 * Secrets and Jobs.
 */
function renderHelmJobs(core: CoreConfig, charts: readonly HelmChart[], snapshot: readonly KubeObject[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const settings = { image: core.helmJobImage, jobClusterRole: core.jobClusterRole, apiserverPort: core.apiserverPort };
  for (const chart of charts) {
    const ns = chart.metadata?.namespace ?? 'default';
    const name = chart.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const d = chartDisposition(chart, core.controllerName);
    if (d.action === 'ignore') {
      out.push(`# helm: HelmChart ${key} ignored: ${d.why}`);
      continue;
    }
    if (!isSupportedHelmVersion(chart)) {
      out.push(`# helm: HelmChart ${key}: unsupported helmVersion ${chart.spec?.helmVersion}; no Job`);
      continue;
    }
    const target = chart.spec?.targetNamespace || ns;
    const config = snapshot.find((o) => o.kind === Helm.configKind && o.metadata?.namespace === ns && o.metadata?.name === name) as HelmChartConfig | undefined;
    const release = latestRelease(snapshot.filter((o) => (o.kind === 'Secret' || o.kind === 'ConfigMap') && o.metadata?.namespace === target && o.metadata?.labels?.['owner'] === 'helm' && o.metadata?.labels?.['name'] === name));
    const objs = renderHelmJob({ ...chart, metadata: { ...chart.metadata, namespace: ns } }, config, settings, { kind: 'install', expectedRevision: release?.revision ?? 0 });
    const live = snapshot.find((o) => o.kind === 'Job' && o.metadata?.namespace === ns && o.metadata?.name === jobNames(name).install) as LiveJob | undefined;
    const decision = installDecision(live, release, objs.hash);
    if (!decision.run) {
      out.push(`# helm: HelmChart ${key}: no Job (${decision.why})`);
      continue;
    }
    out.push(`# helm: HelmChart ${key}: Job ${ns}/${objs.job.metadata.name} (${decision.why})`);
    for (const o of [objs.valuesSecret, objs.contentConfigMap, objs.serviceAccount, objs.clusterRoleBinding, objs.job]) if (o) out.push(`---\n${stringify(o, { sortMapEntries: true }).trimEnd()}`);
  }
  return out;
}

export async function runRender(ctx: CommandContext, name: string, stdin?: StdinSource): Promise<number> {
  const { values, positionals, io } = ctx;
  const snapshots = [...((values['snapshot'] as readonly string[] | undefined) ?? []), ...positionals];
  const core = coreConfigFrom(values);
  if (!core.ok) {
    for (const i of core.issues) io.stderr.write(`${name} render: invalid ${i.field}: ${JSON.stringify(i.value)}: ${i.reason}\n`);
    return ExitCode.usage;
  }
  let objects: KubeObject[] = [];
  if (snapshots.length > 0) {
    try {
      objects = [...(await loadSnapshot(snapshots, stdin ? { stdin } : {})).objects];
    } catch (err) {
      if (err instanceof SnapshotError) {
        for (const p of err.problems) io.stderr.write(`${name} render: ${p}\n`);
        return ExitCode.usage;
      }
      throw err;
    }
  }
  // The snapshot's Addons, HelmCharts and HelmChartConfigs are read as the cluster holds them: one
  // the API server would reject stops the render (a manifest's own are refused with its file below).
  const invalid = customResourceProblems(objects);
  if (invalid.length > 0) {
    for (const p of invalid) io.stderr.write(`${name} render: ${p}\n`);
    io.stderr.write(`${name} render: ${invalid.length === 1 ? '1 problem' : `${invalid.length} problems`} in the snapshot; nothing rendered\n`);
    return ExitCode.usage;
  }
  const root = core.config.manifestsDir;
  let files: ScannedFile[];
  try {
    files = await walkManifests(root);
  } catch (err) {
    io.stderr.write(`${name} render: invalid --manifests-dir / PORTICO_MANIFESTS_DIR: ${JSON.stringify(root)}: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  const staged = new Map<string, string>();
  if (core.config.stagePackaged) {
    for (const f of stagePlan(PACKAGED_TEMPLATES, core.config.template, core.config.disables).write) staged.set(f.relPath, f.text);
    const onDisk = new Set(files.map((f) => f.relPath));
    for (const rel of staged.keys()) if (!onDisk.has(rel)) files.push({ relPath: rel });
  }
  const read = async (rel: string): Promise<string> => staged.get(rel) ?? (await readFile(join(root, rel), 'utf8'));
  io.stdout.write(await renderPass(core.config, files, read, objects));
  return ExitCode.ok;
}

