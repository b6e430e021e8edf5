// Writes (or with --check, verifies) the chart's generated files: see chart-files.ts.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CHART_DIR, staleChartFiles } from './chart-files.ts';

const check = process.argv.includes('--check');
const stale = staleChartFiles();
for (const f of stale) {
  if (check) {
    process.stderr.write(`sync-chart-files: deploy/helm/portico/${f.path} ${f.from ? `is not current with ${f.from}` : 'has no source any more'}\n`);
    continue;
  }
  const dest = join(CHART_DIR, f.path);
  if (!f.from) {
    rmSync(dest);
    process.stdout.write(`sync-chart-files: removed deploy/helm/portico/${f.path} (no source)\n`);
    continue;
  }
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, f.content);
  process.stdout.write(`sync-chart-files: wrote deploy/helm/portico/${f.path} from ${f.from}\n`);
}
if (check && stale.length > 0) {
  process.stderr.write('sync-chart-files: run `node --import tsx deploy/src/sync-chart-files.ts` and commit the result\n');
  process.exitCode = 1;
}
