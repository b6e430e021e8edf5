// The metrics addon-manager defines (STYLE rule 11). docs/addon-manager.md lists the same names;
// metrics.test.ts checks both directions.

import { Counter, Gauge, Histogram, metricName, type Registry } from '@portico/service-kit';

export const MetricNames = Object.freeze({
  passes: metricName('portico_addon_passes_total'),
  passDuration: metricName('portico_addon_pass_duration_seconds'),
  manifests: metricName('portico_addon_manifest_applies_total'),
  files: metricName('portico_addon_files'),
  pruned: metricName('portico_addon_pruned_objects_total'),
  helmReconciles: metricName('portico_addon_helm_reconciles_total'),
  helmJobs: metricName('portico_addon_helm_jobs_created_total'),
  leader: metricName('portico_addon_leader'),
});

export type FileState = 'applied' | 'failed' | 'skipped' | 'disabled' | 'duplicate';
const FILE_STATES: readonly FileState[] = ['applied', 'failed', 'skipped', 'disabled', 'duplicate'];

export interface AddonMetrics {
  observePass(ok: boolean, seconds: number): void;
  countApply(ok: boolean): void;
  setFiles(counts: ReadonlyMap<FileState, number>): void;
  countPruned(n: number): void;
  countHelmReconcile(ok: boolean): void;
  countHelmJob(kind: 'install' | 'delete'): void;
  setLeader(isLeader: boolean): void;
}

export function createAddonMetrics(registry: Registry): AddonMetrics {
  const registers = [registry];
  const passes = new Counter({ name: MetricNames.passes, help: 'Directory passes, by result (ok: every file applied or unchanged; error: a file failed)', labelNames: ['result'], registers });
  const duration = new Histogram({ name: MetricNames.passDuration, help: 'Time of one directory pass', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
  const applies = new Counter({ name: MetricNames.manifests, help: 'Manifest files applied, by result (ok or error)', labelNames: ['result'], registers });
  const files = new Gauge({ name: MetricNames.files, help: 'Manifest files by state as of the last pass', labelNames: ['state'], registers });
  const pruned = new Counter({ name: MetricNames.pruned, help: 'Objects deleted because they left their file, their file was disabled or removed', registers });
  const helm = new Counter({ name: MetricNames.helmReconciles, help: 'HelmChart reconciles, by result', labelNames: ['result'], registers });
  const jobs = new Counter({ name: MetricNames.helmJobs, help: 'HelmChart Jobs created, by kind (install or delete)', labelNames: ['kind'], registers });
  const leader = new Gauge({ name: MetricNames.leader, help: '1 while this process leads (or runs without leader election), else 0', registers });
  for (const r of ['ok', 'error']) {
    passes.labels(r).inc(0);
    applies.labels(r).inc(0);
    helm.labels(r).inc(0);
  }
  for (const k of ['install', 'delete']) jobs.labels(k).inc(0);
  for (const s of FILE_STATES) files.labels(s).set(0);
  pruned.inc(0);
  leader.set(0);
  return {
    observePass(ok, seconds) {
      passes.labels(ok ? 'ok' : 'error').inc();
      duration.observe(seconds);
    },
    countApply(ok) {
      applies.labels(ok ? 'ok' : 'error').inc();
    },
    setFiles(counts) {
      for (const s of FILE_STATES) files.labels(s).set(counts.get(s) ?? 0);
    },
    countPruned(n) {
      pruned.inc(n);
    },
    countHelmReconcile(ok) {
      helm.labels(ok ? 'ok' : 'error').inc();
    },
    countHelmJob(kind) {
      jobs.labels(kind).inc();
    },
    setLeader(isLeader) {
      leader.set(isLeader ? 1 : 0);
    },
  };
}
