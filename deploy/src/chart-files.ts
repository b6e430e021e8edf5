// The chart's generated files, and where each comes from. The chart must not hold a second,
// hand-edited copy of anything the apps own (RBAC proven by their T2 tests, CRDs): those files are
// copied byte for byte, and the dashboard is rendered from deploy/src/dashboard.ts.
//   write:  node --import tsx deploy/src/sync-chart-files.ts
//   check:  node --import tsx deploy/src/sync-chart-files.ts --check   (the unit tests do the same)
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderDashboard } from './dashboard.ts';

export const REPO = join(import.meta.dirname, '..', '..');
export const CHART_DIR = join(REPO, 'deploy', 'helm', 'portico');

/** Components whose RBAC the chart renders, by app name (apps/<app>/rbac.yaml). */
export const RBAC_APPS = ['servicelb-controller', 'ccm', 'netpol-agent', 'addon-manager'] as const;

/**
 * RBAC of the chart's uninstall hooks (templates/uninstall-cleanup.yaml), by hook name (its
 * ServiceAccount is portico-<hook>): each is the app's own file for its cleanup command, proven by
 * deploy/test/t2/hooks-rbac.test.ts, copied to files/rbac/<hook>.yaml like the apps' rbac.yaml.
 */
export const HOOK_RBAC: Readonly<Record<string, string>> = {
  'servicelb-cleanup': 'apps/servicelb-controller/rbac-cleanup.yaml',
  'addon-manager-cleanup': 'apps/addon-manager/rbac-cleanup-charts.yaml',
  'addon-manager-addons-cleanup': 'apps/addon-manager/rbac-cleanup-addons.yaml',
  'netpol-cleanup': 'apps/netpol-agent/rbac-cleanup.yaml',
};

export interface ChartFile {
  /** Path inside the chart. */
  readonly path: string;
  /** Path in the repository it is copied from, or the generator that renders it. */
  readonly from: string;
  readonly content: string;
}

/** Every generated chart file with the content it must have. Apps without rbac.yaml yet are left out. */
export function expectedChartFiles(repo = REPO): ChartFile[] {
  const files: ChartFile[] = [];
  for (const app of RBAC_APPS) {
    const from = `apps/${app}/rbac.yaml`;
    if (existsSync(join(repo, from))) files.push({ path: `files/rbac/${app}.yaml`, from, content: readFileSync(join(repo, from), 'utf8') });
  }
  for (const [hook, from] of Object.entries(HOOK_RBAC)) {
    if (existsSync(join(repo, from))) files.push({ path: `files/rbac/${hook}.yaml`, from, content: readFileSync(join(repo, from), 'utf8') });
  }
  // The CRDs addon-manager serves (Addon, HelmChart, HelmChartConfig): Helm installs crds/ first.
  const crdDir = 'apps/addon-manager/crds';
  if (existsSync(join(repo, crdDir))) {
    for (const name of readdirSync(join(repo, crdDir)).filter((n) => n.endsWith('.yaml')).sort()) {
      files.push({ path: `crds/${name}`, from: `${crdDir}/${name}`, content: readFileSync(join(repo, crdDir, name), 'utf8') });
    }
  }
  files.push({ path: 'files/dashboards/portico.json', from: 'deploy/src/dashboard.ts', content: renderDashboard() });
  return files;
}

/** Chart directories that hold only generated files. */
const GENERATED_DIRS = ['files/rbac', 'files/dashboards', 'crds'];

/**
 * The generated files whose content differs from (or is missing in) the chart directory, and files
 * in the generated directories that no source produces any more (`from` is then empty).
 */
export function staleChartFiles(chartDir = CHART_DIR, repo = REPO): ChartFile[] {
  const expected = expectedChartFiles(repo);
  const stale = expected.filter((f) => {
    const p = join(chartDir, f.path);
    return !existsSync(p) || readFileSync(p, 'utf8') !== f.content;
  });
  const known = new Set(expected.map((f) => f.path));
  for (const dir of GENERATED_DIRS) {
    if (!existsSync(join(chartDir, dir))) continue;
    for (const name of readdirSync(join(chartDir, dir))) {
      if (!known.has(`${dir}/${name}`)) stale.push({ path: `${dir}/${name}`, from: '', content: '' });
    }
  }
  return stale;
}
